"""Pixel values from outside (CSV cells, .npy arrays) checked and brought to [0, 1] in one place.

The accepted ranges, the same for every file format:

- every value finite (no NaN, no ±inf);
- every value in [0, 255];
- if the largest value is above 1 the scale is 0..255 and the values are divided by 255,
  otherwise they already are intensities in [0, 1].

Anything else (−50, 1e300, 2⁶²) is refused with the file and the offending range named,
instead of being clipped or rescaled into something that merely looks like an image.
"""
import numpy

PIXEL_RANGE_HELP = "pixels must be finite and lie in 0..255 (bytes) or 0..1 (intensities)"


def pixels_to_unit_range(values, where):
    r"""Check pixel values and return them as float32 in [0, 1]: :math:`x / 255` if :math:`\max x > 1`, else :math:`x`.

    ``values`` is a numeric array (bool, integer or float); ``where`` names the file (and
    field) for the error message. Raises ``ValueError`` for an empty array, a non-finite
    value or a value outside [0, 255], and ``TypeError`` for a non-numeric dtype.

    Example:
        >>> import numpy as np
        >>> pixels_to_unit_range(np.array([0, 51, 255], dtype=np.uint8), "a.npy").tolist()
        [0.0, 0.20000000298023224, 1.0]
        >>> pixels_to_unit_range(np.array([0.0, 0.5]), "b.npy").tolist()
        [0.0, 0.5]
        >>> try:
        ...     pixels_to_unit_range(np.array([-50.0, 3.0]), "c.npy")
        ... except ValueError as error:
        ...     print(str(error).split(";")[0])
        c.npy: pixel values run from -50 to 3
    """
    values = numpy.asarray(values)
    if values.dtype.kind not in "biuf":
        raise TypeError(f"{where}: pixels must be numbers, got dtype {values.dtype}")
    if values.size == 0:
        raise ValueError(f"{where} holds no pixel values")
    if values.dtype.kind == "f":
        bad = int(numpy.count_nonzero(~numpy.isfinite(values)))
        if bad:
            raise ValueError(f"{where} holds {bad} non-finite pixel value(s) (NaN or ±inf); {PIXEL_RANGE_HELP}")
    low, high = values.min(), values.max()  # in the file's own dtype: exact even for int64 values near 2**62
    if low < 0 or high > 255:
        raise ValueError(f"{where}: pixel values run from {low:g} to {high:g}; {PIXEL_RANGE_HELP}")
    unit = values.astype(numpy.float32)
    if high > 1:
        unit /= numpy.float32(255.0)
    return unit
