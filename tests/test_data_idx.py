"""IDX files: round trips for every type code, gzip, the standard folder layout, and clear errors on bad files."""
import gzip

import numpy as np
import pytest

from chainrule.data import load_idx_folder, read_idx, write_idx


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_every_type(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    array = (rng.random((3, 4, 5)) * 100 - (0 if dtype == "uint8" else 50)).astype(dtype)
    path = tmp_path / f"data-idx3{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    back[0, 0, 0] = 1  # a writable copy
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == (suffix == ".gz")


def test_header_bytes_are_the_documented_layout(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    write_idx(path, np.array([7, 2, 1], np.uint8))
    assert path.read_bytes() == bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 2, 1])
    path = tmp_path / "values-idx2"
    write_idx(path, np.array([[1, -2]], np.int16))
    assert path.read_bytes() == bytes([0, 0, 0x0B, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x01, 0xFF, 0xFE])


def test_round_trip_shapes_including_empty(tmp_path):
    for shape in [(0,), (1,), (2, 0, 3), (2, 1, 1, 2)]:
        array = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
        write_idx(tmp_path / "a", array)
        back = read_idx(tmp_path / "a")
        assert back.shape == shape
        np.testing.assert_array_equal(back, array)


def write_bytes(tmp_path, payload, name="bad-idx"):
    path = tmp_path / name
    path.write_bytes(payload)
    return path


def test_bad_magic_number(tmp_path):
    path = write_bytes(tmp_path, b"PK\x03\x04" + bytes(8))
    with pytest.raises(ValueError, match="read_idx: .*bad-idx has magic number 0x504b0304, which is not IDX"):
        read_idx(path)


def test_unknown_type_code(tmp_path):
    path = write_bytes(tmp_path, bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(ValueError, match="unknown IDX type code 0x0A; known codes: 0x08 uint8"):
        read_idx(path)


def test_zero_dimensions(tmp_path):
    with pytest.raises(ValueError, match="declares 0 dimensions"):
        read_idx(write_bytes(tmp_path, bytes([0, 0, 0x08, 0])))


def test_too_short_for_magic(tmp_path):
    with pytest.raises(ValueError, match="is 2 bytes long, too short"):
        read_idx(write_bytes(tmp_path, b"\x00\x00"))


def test_truncated_header(tmp_path):
    with pytest.raises(ValueError, match="truncated: its header declares 3 dimensions \\(16 header bytes\\) but the file has only 10"):
        read_idx(write_bytes(tmp_path, bytes([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0])))


@pytest.mark.parametrize("gzipped", [False, True])
def test_truncated_data(tmp_path, gzipped):
    path = tmp_path / ("images-idx3-ubyte" + (".gz" if gzipped else ""))
    write_idx(path, np.ones((4, 28, 28), np.uint8))
    raw = gzip.decompress(path.read_bytes()) if gzipped else path.read_bytes()
    cut = raw[:-100]
    path.write_bytes(gzip.compress(cut) if gzipped else cut)
    with pytest.raises(ValueError, match="truncated: the header promises shape \\(4, 28, 28\\) of uint8 \\(3136 bytes of data\\) but only 3036"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "labels-idx1-ubyte.gz"
    write_idx(path, np.arange(200, dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(ValueError, match="damaged or truncated gzip file"):
        read_idx(path)


def test_trailing_bytes(tmp_path):
    path = write_bytes(tmp_path, bytes([0, 0, 0x08, 1, 0, 0, 0, 2, 1, 2, 3]))
    with pytest.raises(ValueError, match="1 unexpected bytes after the data of shape \\(2,\\)"):
        read_idx(path)


def test_missing_file_and_unsupported_write(tmp_path):
    with pytest.raises(FileNotFoundError, match="read_idx: no file at"):
        read_idx(tmp_path / "nothing")
    with pytest.raises(TypeError, match="write_idx: IDX can't store int64"):
        write_idx(tmp_path / "x", np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "x", np.float32(1.0))


def make_mnist_folder(folder, gzipped, counts=(12, 5), kaggle_names=False):
    rng = np.random.default_rng(1)
    written = {}
    for prefix, count in zip(("train", "t10k"), counts):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, count, dtype=np.uint8)
        suffix = ".gz" if gzipped else ""
        dot = "." if kaggle_names else "-"
        write_idx(folder / f"{prefix}-images{dot}idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels{dot}idx1-ubyte{suffix}", labels)
        written[prefix] = (images, labels)
    return written


@pytest.mark.parametrize("gzipped", [False, True])
@pytest.mark.parametrize("kaggle_names", [False, True])
def test_load_idx_folder_both_splits(tmp_path, gzipped, kaggle_names):
    written = make_mnist_folder(tmp_path, gzipped, kaggle_names=kaggle_names)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = load_idx_folder(tmp_path, split)
        raw_images, raw_labels = written[prefix]
        assert images.shape == (len(raw_labels), 1, 28, 28) and images.dtype == np.float32
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(images[:, 0], raw_images.astype(np.float32) / 255)
        np.testing.assert_array_equal(labels, raw_labels)


def test_load_idx_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'val'"):
        load_idx_folder(tmp_path, "val")
    with pytest.raises(FileNotFoundError, match="no images file for split 't10k' in .* looked for t10k-images-idx3-ubyte"):
        load_idx_folder(tmp_path, "test")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_idx_folder(tmp_path / "absent", "test")
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="has 3 images but .*train-labels-idx1-ubyte has 4 labels"):
        load_idx_folder(tmp_path, "train")
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((3, 1), np.uint8))
    with pytest.raises(ValueError, match="should hold uint8 labels of shape \\(N,\\), got uint8 of shape \\(3, 1\\)"):
        load_idx_folder(tmp_path, "train")
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.float32))
    with pytest.raises(ValueError, match="should hold uint8 images of shape \\(N, H, W\\), got float32"):
        load_idx_folder(tmp_path, "train")
