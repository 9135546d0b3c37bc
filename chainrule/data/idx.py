"""The IDX file format of MNIST and Fashion-MNIST, read and written without pickle.

An IDX file is a 4-byte magic number, the dimensions, then the values, all big-endian:

    bytes 0-1   0x00 0x00
    byte  2     the type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     the number of dimensions d
    then        d sizes, each an unsigned 32-bit integer
    then        size₁·…·size_d values of the type, row-major

Files may be gzipped (as distributed); gzip is detected from its own magic bytes.
With the full sets in a folder, ``load_idx_folder(folder, 'train')`` gives the same
layout as ``load_digits``: images (N, 1, 28, 28) float32 in [0, 1], labels int64.
"""
import gzip
import math
import os
import pathlib
import zlib

import numpy

from chainrule.core.files import atomic_write

IDX_TYPES = {
    0x08: numpy.dtype("u1"),
    0x09: numpy.dtype("i1"),
    0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"),
    0x0D: numpy.dtype(">f4"),
    0x0E: numpy.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
# The most data one IDX file may claim. The largest public IDX set, EMNIST ByClass, holds 550 MB of images;
# 2 GiB leaves room and still bounds what a lying header (or a gzip bomb) can make us allocate.
MAX_IDX_BYTES = 2 ** 31
_READ_CHUNK = 1 << 24  # a gzip stream is read 16 MiB at a time, so memory follows the data that really arrives
# Real image sets compress 2-10 times (MNIST about 5); deflate reaches about 1000 only on near-constant data. So a
# gzip stream that grows beyond 64 MiB and 100 times its file's size is refused as a bomb (gunzip it to read it).
_GZIP_MAX_RATIO, _GZIP_RATIO_FROM = 100, 1 << 26


def _magic_text(type_code, ndim):
    dtype = IDX_TYPES.get(type_code)
    kind = dtype.name if dtype is not None else "unknown type"
    return f"0x0000{type_code:02X}{ndim:02X} ({kind}, {ndim} dimension{'s' if ndim != 1 else ''})"


def _read_exactly(path, handle, count, compressed_size=None):
    """Up to ``count`` bytes from a stream, in chunks: what is allocated never exceeds what really arrives."""
    data = bytearray()
    while len(data) < count:
        chunk = handle.read(min(_READ_CHUNK, count - len(data)))
        if not chunk:
            break
        data += chunk
        if compressed_size is not None and _GZIP_RATIO_FROM < len(data) > _GZIP_MAX_RATIO * compressed_size:
            raise ValueError(f"read_idx: {path} decompresses to more than {_GZIP_MAX_RATIO} times its "
                             f"{compressed_size:,} bytes ({len(data):,} bytes so far), as a gzip bomb does; if the "
                             "file is genuine, decompress it yourself (gunzip) and read the plain file")
    return data


def _read_idx_stream(path, handle, file_size, magic=None, compressed_size=None):
    """The array of an open IDX stream; ``file_size`` is the real length (None for gzip: unknown until read)."""
    head = handle.read(4)
    if len(head) < 4:
        raise ValueError(f"read_idx: {path} is {len(head)} bytes long, too short for the 4-byte IDX magic number")
    if head[0] != 0 or head[1] != 0:
        raise ValueError(f"read_idx: {path} has magic number 0x{head.hex()}, which is not IDX "
                         "(IDX files start with two zero bytes, a type code and the number of dimensions)")
    type_code, ndim = head[2], head[3]
    if magic is not None and (type_code, ndim) != magic:
        raise ValueError(f"load_idx_folder: {path} has magic number {_magic_text(type_code, ndim)}, but this file "
                         f"must have {_magic_text(*magic)}; is it another file of the set under this name?")
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{code:02X} {dtype.name}" for code, dtype in IDX_TYPES.items())
        raise ValueError(f"read_idx: {path} has unknown IDX type code 0x{type_code:02X}; known codes: {known}")
    if ndim == 0:
        raise ValueError(f"read_idx: {path} declares 0 dimensions; an IDX array needs at least one")
    header_size = 4 + 4 * ndim
    sizes = handle.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise ValueError(f"read_idx: {path} is truncated: its header declares {ndim} dimensions "
                         f"({header_size} header bytes) but the file has only {4 + len(sizes)} bytes")
    shape = tuple(int(size) for size in numpy.frombuffer(sizes, dtype=">u4"))
    dtype = IDX_TYPES[type_code]
    expected = math.prod(shape) * dtype.itemsize  # Python integers: no overflow, whatever the header says
    if expected > MAX_IDX_BYTES:
        raise ValueError(f"read_idx: {path}: its header (magic {_magic_text(type_code, ndim)}) claims shape {shape}, "
                         f"{expected:,} bytes of data, more than the {MAX_IDX_BYTES:,} bytes (MAX_IDX_BYTES) an IDX "
                         "file may hold here; the header is wrong or the file is not IDX")
    actual = None if file_size is None else file_size - header_size
    if actual is None or actual == expected:
        data = _read_exactly(path, handle, expected, compressed_size)
        actual = len(data)
    if actual < expected:
        raise ValueError(f"read_idx: {path} is truncated: the header promises shape {shape} of {dtype.name} "
                         f"({expected} bytes of data) but only {actual} bytes follow; download it again "
                         f"(or, if the download is complete, its magic {_magic_text(type_code, ndim)} is wrong)")
    if actual > expected:
        raise ValueError(f"read_idx: {path} has {actual - expected} unexpected bytes after the data of shape {shape} "
                         f"({dtype.name}); the header does not match the contents")
    if file_size is None:
        extra = len(handle.read(1 << 20))
        if extra:
            raise ValueError(f"read_idx: {path} has {'at least ' if extra == 1 << 20 else ''}{extra} unexpected "
                             f"bytes after the data of shape {shape} ({dtype.name}); the header does not match the "
                             "contents")
    array = numpy.frombuffer(data, dtype=dtype).reshape(shape)  # data is a bytearray: the array is writable
    return array.astype(dtype.newbyteorder("="), copy=False)  # native order (a copy only when it must swap)


def _read_idx_checked(path, magic=None):
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"read_idx: no file at {path}")
    with open(path, "rb") as handle:
        if handle.read(2) != _GZIP_MAGIC:
            handle.seek(0)
            return _read_idx_stream(path, handle, os.fstat(handle.fileno()).st_size, magic)
        handle.seek(0)
        try:
            with gzip.GzipFile(fileobj=handle, mode="rb") as stream:
                return _read_idx_stream(path, stream, None, magic, os.fstat(handle.fileno()).st_size)
        except (EOFError, OSError, zlib.error) as error:
            raise ValueError(f"read_idx: {path} is a damaged or truncated gzip file ({error}); download it again") from None


def read_idx(path):
    """Read one IDX file (gzipped or not) into a NumPy array in native byte order.

    Checks the magic number, the type code, the dimensions and that the file holds
    exactly the values its header promises, before allocating for them: the claimed size
    is checked against the file's length (or, for gzip, read as it arrives) and may not
    exceed ``MAX_IDX_BYTES``. Raises ValueError naming the file otherwise.

    Example:
        >>> import numpy as np, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
        >>> write_idx(path, np.array([3, 1, 4], dtype=np.uint8))
        >>> read_idx(path)
        array([3, 1, 4], dtype=uint8)
    """
    return _read_idx_checked(path)


def write_idx(path, array):
    """Write ``array`` as an IDX file (gzipped when the name ends in .gz), atomically (temp file, fsync, rename).

    Supported dtypes: uint8, int8, int16, int32, float32, float64; 1 to 255 dimensions.

    Example:
        >>> import numpy as np, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "images-idx3-ubyte")
        >>> write_idx(path, np.zeros((2, 28, 28), dtype=np.uint8))
        >>> read_idx(path).shape
        (2, 28, 28)
    """
    path = pathlib.Path(path)
    array = numpy.asarray(array)
    codes = {dtype.newbyteorder("=").str[1:]: code for code, dtype in IDX_TYPES.items()}
    native = array.dtype.newbyteorder("=").str[1:]
    if native not in codes:
        raise TypeError(f"write_idx: IDX can't store {array.dtype}; use one of uint8, int8, int16, int32, float32, float64")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx: IDX stores 1 to 255 dimensions, got an array of shape {array.shape}")
    code = codes[native]
    header = bytes([0, 0, code, array.ndim]) + numpy.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + numpy.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    with atomic_write(path, "wb") as handle:
        handle.write(payload)


def _find_idx_file(folder, prefix, kind, rank):
    """The first existing spelling of e.g. train-images-idx3-ubyte[.gz] (also train-images.idx3-ubyte)."""
    names = [f"{prefix}-{kind}-idx{rank}-ubyte", f"{prefix}-{kind}.idx{rank}-ubyte"]
    candidates = [folder / (name + suffix) for name in names for suffix in ("", ".gz")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(candidate.name for candidate in candidates)
    raise FileNotFoundError(f"load_idx_folder: no {kind} file for split {prefix!r} in {folder}; looked for {tried}. "
                            "Put the MNIST or Fashion-MNIST IDX files there under their standard names")


def load_idx_folder(folder, split="train"):
    """Load a split of the full MNIST or Fashion-MNIST from a folder of IDX files.

    Looks for ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte`` (split 'train')
    or ``t10k-images-idx3-ubyte`` / ``t10k-labels-idx1-ubyte`` (split 'test'), each
    optionally ending in .gz. Returns images (N, 1, H, W) float32 = bytes / 255 and
    labels (N,) int64, like ``load_digits``.

    Example:
        >>> import numpy as np, tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> write_idx(os.path.join(folder, "t10k-images-idx3-ubyte.gz"), np.zeros((5, 28, 28), np.uint8))
        >>> write_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"), np.arange(5, dtype=np.uint8))
        >>> images, labels = load_idx_folder(folder, "test")
        >>> images.shape, labels.tolist()
        ((5, 1, 28, 28), [0, 1, 2, 3, 4])
    """
    prefixes = {"train": "train", "test": "t10k"}
    if split not in prefixes:
        raise ValueError(f"load_idx_folder: split must be 'train' or 'test', got {split!r}")
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"load_idx_folder: {folder} is not a folder")
    images_path = _find_idx_file(folder, prefixes[split], "images", 3)
    labels_path = _find_idx_file(folder, prefixes[split], "labels", 1)
    images = _read_idx_checked(images_path, magic=(0x08, 3))  # uint8 (count, rows, columns)
    labels = _read_idx_checked(labels_path, magic=(0x08, 1))  # uint8 (count,)
    count, rows, columns = images.shape
    if count == 0:
        raise ValueError(f"load_idx_folder: {images_path} holds 0 images (its header's count field is 0)")
    if rows == 0 or columns == 0:
        raise ValueError(f"load_idx_folder: {images_path} declares images of {rows}x{columns} pixels (header fields "
                         "rows and columns); an image needs at least 1x1")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"load_idx_folder: {images_path} has {images.shape[0]} images but {labels_path} has "
                         f"{labels.shape[0]} labels; the two files must belong together")
    return images[:, None, :, :].astype(numpy.float32) / numpy.float32(255.0), labels.astype(numpy.int64)
