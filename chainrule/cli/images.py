"""Reading images for ``chainrule predict``: PNG files and .npy arrays, turned into MNIST-like 28×28 digits.

MNIST digits are light ink on a dark background with values in [0, 1]. A PNG of a
digit drawn dark on white is converted: colour → gray by luminance
(0.299 R + 0.587 G + 0.114 B, transparent pixels count as white paper), inverted when
its border is mostly light, and resized to 28×28 by linear interpolation.
"""
import pathlib

import numpy

SIDE = 28


def _to_gray(image):
    image = numpy.asarray(image, dtype=numpy.float64)
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] in (3, 4):
        gray = image[..., :3] @ numpy.array([0.299, 0.587, 0.114])
        if image.shape[2] == 4:  # composite onto white paper
            alpha = image[..., 3]
            gray = gray * alpha + (1.0 - alpha)
        return gray
    if image.ndim == 3 and image.shape[2] in (1, 2):
        return image[..., 0]
    raise ValueError(f"an image must be gray (H, W) or colour (H, W, 3 or 4), got shape {image.shape}")


def _resize(image, side=SIDE):
    if image.shape == (side, side):
        return image
    from scipy.ndimage import zoom

    if min(image.shape) < 2:
        raise ValueError(f"image of size {image.shape} is too small to resize to {side}x{side}")
    resized = zoom(image, (side / image.shape[0], side / image.shape[1]), order=1, grid_mode=True, mode="nearest")
    return resized[:side, :side]


def _mnist_like(gray):
    gray = numpy.clip(gray, 0.0, 1.0)
    border = numpy.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.mean() > 0.5:  # dark ink on light paper: MNIST is the other way round
        gray = 1.0 - gray
    return _resize(gray)


def read_png(path):
    """One PNG file as a (1, 1, 28, 28) float32 array in [0, 1], light digit on dark background."""
    import matplotlib.image

    try:
        image = matplotlib.image.imread(str(path))
    except Exception as error:  # Pillow and matplotlib raise many types for a bad file
        raise ValueError(f"cannot read {path} as a PNG image ({' '.join(str(error).split())})") from None
    image = numpy.asarray(image, dtype=numpy.float64)
    if image.dtype.kind in "iu" or image.max() > 1.0:
        image = image / 255.0
    return _mnist_like(_to_gray(image)).astype(numpy.float32)[None, None]


def read_npy(path):
    """A .npy file of one or many images: (28, 28), (784,), (N, 28, 28), (N, 784), (N, 1, 28, 28); 0-255 or 0-1.

    Read with ``allow_pickle=False``: an array of Python objects is refused.
    """
    try:
        array = numpy.load(path, allow_pickle=False)
    except ValueError as error:
        raise ValueError(f"cannot read {path} as a plain .npy array ({' '.join(str(error).split())})") from None
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error}") from None
    if not isinstance(array, numpy.ndarray) or array.dtype.kind not in "biuf":
        raise ValueError(f"{path} must hold a numeric array, got {getattr(array, 'dtype', type(array))}")
    array = array.astype(numpy.float64)
    if array.size == 0 or not numpy.all(numpy.isfinite(array)):
        raise ValueError(f"{path} is empty or holds non-finite values")
    shape = array.shape
    pixels = SIDE * SIDE
    if shape in ((SIDE, SIDE), (pixels,)):
        array = array.reshape(1, SIDE, SIDE)
    elif len(shape) == 2 and shape[1] == pixels:
        array = array.reshape(-1, SIDE, SIDE)
    elif len(shape) == 3 and shape[1:] == (SIDE, SIDE):
        pass
    elif len(shape) == 4 and shape[1:] == (1, SIDE, SIDE):
        array = array[:, 0]
    else:
        raise ValueError(f"{path} has shape {shape}; expected (28, 28), (784,), (N, 28, 28), (N, 784) or "
                         "(N, 1, 28, 28)")
    if array.max() > 1.0:
        array = array / 255.0
    return numpy.clip(array, 0.0, 1.0).astype(numpy.float32)[:, None]


def read_images(path):
    """Images from a .png or .npy file as (N, 1, 28, 28) float32 in [0, 1]."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return read_npy(path)
    if suffix == ".png":
        return read_png(path)
    raise ValueError(f"{path}: give a .png image or a .npy array")
