"""Reading images for ``chainrule predict``: PNG files and .npy arrays, turned into MNIST-like 28×28 digits.

MNIST digits are light ink on a dark background with values in [0, 1]. A PNG of a
digit drawn dark on white is converted: colour → gray by luminance
(0.299 R + 0.587 G + 0.114 B, transparent pixels count as white paper), inverted when
its border is mostly light, and resized to 28×28 by linear interpolation.

Nothing a file claims is trusted before it is checked:

- PNGs are read with Pillow, PNG decoder only, with Pillow's decompression-bomb limit
  in force (its ``DecompressionBombWarning`` counts as an error too) and a stricter limit
  of our own, ``MAX_PIXELS``, checked from the header before a single pixel is decoded.
- .npy files are read without pickle, after their header's shape and dtype have been
  checked against the file's real length, so a header that lies allocates nothing.
- Pixel values must be finite and in 0..255 or 0..1 (``chainrule.data.pixels``).
"""
import math
import os
import pathlib
import warnings

import numpy

from chainrule.data.pixels import pixels_to_unit_range

SIDE = 28
# A digit ends as 28×28 pixels, so a large image adds nothing but memory. 4096×4096 (16.8 megapixels) still
# takes a 12-megapixel phone photo of a handwritten digit, and bounds the cost: reading a 4096×4096 RGBA PNG
# peaks at about 240 MiB (measured), where the 9000×9000 one of the issue took 4.4 GB through matplotlib.
# Pillow's own limit (89 megapixels warns, 179 refuses) is far looser.
MAX_PIXELS = 4096 * 4096
NPY_SHAPES_HELP = "expected (28, 28), (784,), (N, 28, 28), (N, 784) or (N, 1, 28, 28)"


def _resize(image, side=SIDE):
    if image.shape == (side, side):
        return image
    from scipy.ndimage import zoom

    if min(image.shape) < 2:
        raise ValueError(f"image of size {image.shape} is too small to resize to {side}x{side}")
    resized = zoom(image, (side / image.shape[0], side / image.shape[1]), order=1, grid_mode=True, mode="nearest")
    return resized[:side, :side]


def _mnist_like(gray):
    border = numpy.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.mean() > 0.5:  # dark ink on light paper: MNIST is the other way round
        gray = 1.0 - gray
    return _resize(gray)


def _check_pixel_count(path, size):
    width, height = size
    if width * height > MAX_PIXELS:
        raise ValueError(f"{path} is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels), more than the "
                         f"{MAX_PIXELS / 1e6:.1f} megapixels (4096x4096) a digit image may have; it is refused "
                         "before decoding. Shrink it first: the digit is read at 28x28 anyway")


def _claimed_size(path):
    """' (W×H pixels)' as the PNG header (IHDR, bytes 16-23) claims it, for an error message; '' if unreadable."""
    with open(path, "rb") as handle:
        head = handle.read(24)
    if len(head) < 24 or not head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ""
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    return f" ({width}x{height} pixels)"


def _gray_on_white(image):
    """A decoded Pillow image as float32 gray in [0, 1], transparent parts composited onto white paper."""
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit gray PNG
        return numpy.asarray(image, dtype=numpy.float32) / numpy.float32(65535.0)
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        gray = Image.new("L", image.size, 255)  # white paper
        gray.paste(rgba.convert("L"), mask=rgba.getchannel("A"))  # gray·α + 255·(1 − α)
    else:
        gray = image.convert("L")  # Pillow's luminance: 0.299 R + 0.587 G + 0.114 B
    return numpy.asarray(gray, dtype=numpy.float32) / numpy.float32(255.0)


def read_png(path):
    """One PNG file as a (1, 1, 28, 28) float32 array in [0, 1], light digit on dark background.

    Refused with a ``ValueError`` naming the file: anything Pillow's PNG decoder cannot read,
    an image over Pillow's decompression-bomb limit, and one over ``MAX_PIXELS``, the last
    two from the header alone, before any pixel is decoded.

    Example:
        >>> import numpy as np, os, tempfile
        >>> from PIL import Image
        >>> path = os.path.join(tempfile.mkdtemp(), "dot.png")
        >>> page = np.full((56, 56), 255, np.uint8); page[20:36, 20:36] = 0  # a dark square on white
        >>> Image.fromarray(page).save(path)
        >>> image = read_png(path)
        >>> image.shape, float(image[0, 0, 14, 14]), float(image[0, 0, 0, 0])
        ((1, 1, 28, 28), 1.0, 0.0)
    """
    from PIL import Image

    bomb = (Image.DecompressionBombError, Image.DecompressionBombWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # Pillow's warning level refuses too
        try:
            image = Image.open(path, formats=["PNG"])  # lazy: reads the header, decodes nothing yet
        except bomb as error:
            raise ValueError(f"{path} is refused as a decompression bomb{_claimed_size(path)}: {error} (a digit "
                             f"image may have at most {MAX_PIXELS:,} pixels)") from None
        except Exception as error:  # Pillow raises many types for a bad file
            raise ValueError(f"cannot read {path} as a PNG image ({' '.join(str(error).split())})") from None
        with image:
            _check_pixel_count(path, image.size)
            try:
                image.load()
                gray = _gray_on_white(image)
            except bomb as error:
                raise ValueError(f"{path} is refused as a decompression bomb: {error}") from None
            except Exception as error:
                raise ValueError(f"cannot read {path} as a PNG image ({' '.join(str(error).split())})") from None
    return _mnist_like(gray).astype(numpy.float32)[None, None]


def _npy_header(path, handle):
    """Shape and dtype from an open .npy file's header, checked against the file's real length."""
    try:
        version = numpy.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = numpy.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _, dtype = numpy.lib.format.read_array_header_2_0(handle)
        else:
            raise ValueError(f"format version {version[0]}.{version[1]} is not read here (1.0 and 2.0 are)")
    except ValueError as error:
        raise ValueError(f"cannot read {path} as a plain .npy array ({' '.join(str(error).split())})") from None
    if dtype.hasobject:
        raise ValueError(f"cannot read {path} as a plain .npy array: it holds Python objects (dtype {dtype}), "
                         "which would need pickle")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        raise ValueError(f"{path} must hold a plain numeric array (bool, integer or float), got dtype {dtype}")
    pixels = SIDE * SIDE
    if not (shape in ((SIDE, SIDE), (pixels,)) or (len(shape) == 2 and shape[1] == pixels)
            or (len(shape) == 3 and shape[1:] == (SIDE, SIDE)) or (len(shape) == 4 and shape[1:] == (1, SIDE, SIDE))):
        raise ValueError(f"{path} has shape {shape}; {NPY_SHAPES_HELP}")
    claimed = math.prod(shape) * dtype.itemsize  # Python integers: a lying shape cannot overflow
    actual = os.fstat(handle.fileno()).st_size - handle.tell()
    if claimed != actual:
        raise ValueError(f"{path}: its header claims shape {shape} of {dtype} ({claimed:,} bytes of data), but "
                         f"{actual:,} bytes follow the header; the file is truncated or its header is wrong")
    return shape, dtype


def read_npy(path):
    """A .npy file of one or many images: (28, 28), (784,), (N, 28, 28), (N, 784), (N, 1, 28, 28); 0-255 or 0-1.

    Read with ``allow_pickle=False`` after the header's shape and dtype have been checked
    against the file's length: an array of Python objects, a header that claims more (or
    less) data than the file holds, and pixels outside 0..255 or not finite are refused.

    Example:
        >>> import numpy as np, os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "two.npy")
        >>> np.save(path, np.zeros((2, 784), np.uint8))
        >>> read_npy(path).shape
        (2, 1, 28, 28)
    """
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    with handle:
        shape, _ = _npy_header(path, handle)
        handle.seek(0)
        try:
            array = numpy.load(handle, allow_pickle=False)
        except (ValueError, OSError) as error:
            raise ValueError(f"cannot read {path} as a plain .npy array ({' '.join(str(error).split())})") from None
    if array.size == 0:
        raise ValueError(f"{path} holds no images (shape {shape})")
    return pixels_to_unit_range(array, str(path)).reshape(-1, 1, SIDE, SIDE)


def read_images(path):
    """Images from a .png or .npy file as (N, 1, 28, 28) float32 in [0, 1].

    Example:
        >>> import numpy as np, os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "one.npy")
        >>> np.save(path, np.zeros((28, 28)))
        >>> read_images(path).shape
        (1, 1, 28, 28)
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return read_npy(path)
    if suffix == ".png":
        return read_png(path)
    raise ValueError(f"{path}: give a .png image or a .npy array")
