"""IDX files: round trips for every type code, gzip, the standard folder layout, and clear errors on bad files."""
import gzip
import tracemalloc

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
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte has magic number 0x00000802 \\(uint8, 2 dimensions\\), but this file must "
                       "have 0x00000801 \\(uint8, 1 dimension\\)"):
        load_idx_folder(tmp_path, "train")
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.float32))
    with pytest.raises(ValueError, match="magic number 0x00000D03 \\(float32, 3 dimensions\\), but .* 0x00000803 \\(uint8, 3 dim"):
        load_idx_folder(tmp_path, "train")


# ----- sizes a header claims are checked before anything is allocated -----------------------------------
def test_a_header_claiming_a_billion_images_allocates_nothing(tmp_path):
    header = bytes([0, 0, 0x08, 3]) + np.array([10 ** 9, 28, 28], dtype=">u4").tobytes()
    path = write_bytes(tmp_path, header + bytes(784), name="train-images-idx3-ubyte")
    with pytest.raises(ValueError, match="claims shape \\(1000000000, 28, 28\\), 784,000,000,000 bytes .*MAX_IDX_BYTES"):
        read_idx(path)


def peak_memory_of_refusal(path, message):
    """The peak of Python-traced memory (NumPy's arrays included) while ``read_idx`` refuses ``path``."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=message):
            read_idx(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_lying_count_is_caught_in_memory_bounded_by_the_real_data(tmp_path, gzipped):
    header = bytes([0, 0, 0x08, 3]) + np.array([2_000_000, 28, 28], dtype=">u4").tobytes()  # 1.5 GB claimed
    payload = header + bytes(784 * 10)  # ten images really there
    path = write_bytes(tmp_path, gzip.compress(payload) if gzipped else payload, name="images-idx3-ubyte")
    peak = peak_memory_of_refusal(path, "truncated: the header promises shape \\(2000000, 28, 28\\)")
    assert peak < 20 * 2 ** 20  # the claim was 1.5 GB; what was allocated follows the 8 KB that were there


def test_trailing_bytes_in_a_gzip_stream(tmp_path):
    path = write_bytes(tmp_path, gzip.compress(bytes([0, 0, 0x08, 1, 0, 0, 0, 2, 1, 2, 3])), name="x.gz")
    with pytest.raises(ValueError, match="1 unexpected bytes after the data of shape \\(2,\\)"):
        read_idx(path)


def test_a_labels_file_under_the_images_name_says_so(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros(5, np.uint8))  # a labels file, misnamed
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte has magic number 0x00000801 \\(uint8, 1 dimension\\), "
                                         "but this file must have 0x00000803 \\(uint8, 3 dimensions\\)"):
        load_idx_folder(tmp_path, "test")


@pytest.mark.parametrize("shape, message", [((3, 0, 0), "declares images of 0x0 pixels \\(header fields rows and col"),
                                            ((3, 28, 0), "declares images of 28x0 pixels"),
                                            ((0, 28, 28), "holds 0 images \\(its header's count field is 0\\)")])
def test_empty_images_are_refused_by_name(tmp_path, shape, message):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros(shape, np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(shape[0], np.uint8))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte " + message):
        load_idx_folder(tmp_path, "train")


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    import chainrule.core.files

    path = tmp_path / "labels-idx1-ubyte.gz"
    write_idx(path, np.array([1, 2, 3], np.uint8))
    before = path.read_bytes()

    def crash(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(chainrule.core.files.os, "fsync", crash)  # fails after the bytes went to the temp file
    with pytest.raises(OSError, match="No space left"):
        write_idx(path, np.arange(100, dtype=np.uint8))
    assert path.read_bytes() == before and [entry.name for entry in tmp_path.iterdir()] == [path.name]


def test_a_gzip_bomb_is_refused_as_it_inflates(tmp_path, monkeypatch):
    import chainrule.data.idx as idx

    monkeypatch.setattr(idx, "_GZIP_RATIO_FROM", 1 << 20)  # the same rule from 1 MiB on, to keep the test small
    monkeypatch.setattr(idx, "_READ_CHUNK", 1 << 18)
    header = bytes([0, 0, 0x08, 3]) + np.array([20_000, 28, 28], dtype=">u4").tobytes()
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(header + bytes(20_000 * 784)))  # 15 MB of zeros in about 15 KB
    peak = peak_memory_of_refusal(path, "decompresses to more than 100 times its .* bytes .*gunzip")
    assert peak < 4 * 2 ** 20  # stopped within a few chunks, long before the 15 MB
