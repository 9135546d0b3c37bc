"""Transforms on NumPy image arrays: normalization and light, seeded augmentation.

Images are laid out (C, H, W) for one sample and (N, C, H, W) for a batch (any
leading axes before H, W work the same). Every transform has two doors:
``t(image, generator=None)`` for one sample and ``t.batch(images, generator=None)``
for a batch, where random transforms draw one independent setting per sample.
Randomness comes from ``generator`` when given (the DataLoader hands one per batch),
else from the generator the transform was built with, else the default generator;
the same seed gives bitwise the same augmentation.
"""
import numbers

import numpy

from chainrule.core import dtypes
from chainrule.core.random import Generator, default_generator
from chainrule.core.tensor import Tensor


class Transform:
    """The base class: override ``batch(images, generator)``; one sample is a batch of one."""

    def __call__(self, image, generator=None):
        return self.batch(numpy.asarray(image)[None], generator=generator)[0]

    def batch(self, images, generator=None):
        raise TypeError(f"{type(self).__name__} must define batch(images, generator=None)")


class RandomTransform(Transform):
    """A transform with its own optional generator (used when no generator is passed at call time)."""

    def __init__(self, generator=None):
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(f"{type(self).__name__}: generator must be a chainrule Generator, got {type(generator).__name__}")
        self.generator = generator

    def _generator(self, generator):
        return generator or self.generator or default_generator()


def _float_images(images, where, min_ndim=2):
    images = numpy.asarray(images)
    if images.ndim < min_ndim:
        raise ValueError(f"{where}: expected images with at least {min_ndim} axes (..., H, W), got shape {images.shape}")
    if images.dtype.kind != "f":
        raise TypeError(f"{where}: expected floating-point images, got {images.dtype}; convert first, e.g. "
                        "images.astype(np.float32) / 255")
    return images


class Normalize(Transform):
    """x ↦ (x − mean) / std, per channel (the axis −3) when mean and std are sequences.

    For the digits scaled to [0, 1] the usual values are mean 0.1307 and std 0.3081
    (MNIST's pixel mean and standard deviation).

    Example:
        >>> import numpy as np
        >>> Normalize(0.5, 0.25)(np.full((1, 2, 2), 1.0, dtype=np.float32))[0, 0, 0]
        np.float32(2.0)
    """

    def __init__(self, mean, std):
        self.mean = numpy.atleast_1d(numpy.asarray(mean, dtype=numpy.float64))
        self.std = numpy.atleast_1d(numpy.asarray(std, dtype=numpy.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1 or self.mean.size != self.std.size:
            raise ValueError(f"Normalize: mean and std must be numbers or equal-length per-channel lists, "
                             f"got mean {self.mean.tolist()} and std {self.std.tolist()}")
        if not (numpy.all(numpy.isfinite(self.mean)) and numpy.all(self.std > 0) and numpy.all(numpy.isfinite(self.std))):
            raise ValueError(f"Normalize: std must be positive and finite and mean finite, got mean {self.mean.tolist()} "
                             f"and std {self.std.tolist()}")

    def batch(self, images, generator=None):
        images = _float_images(images, "Normalize", min_ndim=1)
        mean, std = self.mean.astype(images.dtype), self.std.astype(images.dtype)
        if mean.size > 1:
            if images.ndim < 3 or images.shape[-3] != mean.size:
                raise ValueError(f"Normalize: {mean.size} channel means given, but the images of shape {images.shape} "
                                 f"have {images.shape[-3] if images.ndim >= 3 else 'no'} channels on axis -3")
            mean, std = mean[:, None, None], std[:, None, None]
        return (images - mean) / std

    def __call__(self, image, generator=None):
        normalized = self.batch(image)
        return Tensor(normalized) if isinstance(image, Tensor) else normalized   # a tensor in, a tensor out


class ToTensor(Transform):
    """Pixels as read from a file to a float32 image (C, H, W) in [0, 1], as torchvision's ``ToTensor``.

    Integer pixels (a PIL image, or an (H, W) / (H, W, C) array) are laid out height-width-channel
    as files hold them: they become (C, H, W), and uint8 values are divided by 255. Floating arrays
    are taken to be chainrule's layout already ((C, H, W), what ``DigitsDataset`` holds, or
    (H, W)) and are not rescaled, so ``Compose([ToTensor(), Normalize(...)])`` works on the bundled digits.
    One image comes back as a chainrule tensor; ``batch`` (the DataLoader's fast path) returns arrays.

    Example:
        >>> import numpy as np
        >>> ToTensor()(np.full((2, 3), 255, np.uint8))
        tensor([[[1., 1., 1.],
                 [1., 1., 1.]]])
        >>> ToTensor().batch(np.zeros((4, 28, 28, 3), np.uint8)).shape
        (4, 3, 28, 28)
    """

    def __call__(self, image, generator=None):
        return Tensor(self._convert(numpy.asarray(image), batched=False))

    def batch(self, images, generator=None):
        return self._convert(numpy.asarray(images), batched=True)

    @staticmethod
    def _convert(array, batched):
        lead = 1 if batched else 0
        if array.ndim not in (lead + 2, lead + 3):
            layouts = "(N, H, W), (N, H, W, C) pixels or (N, C, H, W)" if batched else "(H, W), (H, W, C) pixels or (C, H, W)"
            raise ValueError(f"ToTensor: expected images laid out {layouts}, got shape {array.shape}")
        if array.ndim == lead + 2:
            array = numpy.expand_dims(array, lead)                       # (H, W) → (1, H, W)
        elif array.dtype.kind in "uib":
            array = numpy.moveaxis(array, -1, lead)                      # file pixels (H, W, C) → (C, H, W)
        if array.dtype.kind not in "uibf":
            raise TypeError(f"ToTensor: expected numeric pixels, got {array.dtype}")
        scale = 255.0 if array.dtype == numpy.uint8 else 1.0
        converted = array.astype(dtypes.get_default_dtype())
        return converted / converted.dtype.type(scale) if scale != 1.0 else converted


class Compose(Transform):
    """Apply transforms in order; a generator given at call time is passed to each.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> augment = Compose([RandomShift(2), Normalize(0.1307, 0.3081)])
        >>> augment.batch(np.zeros((8, 1, 28, 28), np.float32), generator=cr.Generator().manual_seed(0)).shape
        (8, 1, 28, 28)
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for transform in self.transforms:
            if not isinstance(transform, Transform):
                raise TypeError(f"Compose: every step must be a Transform, got {transform!r}; wrap a plain function "
                                "as Lambda(fn)")

    def batch(self, images, generator=None):
        for transform in self.transforms:
            images = transform.batch(images, generator=generator)
        return images

    def __call__(self, image, generator=None):
        for transform in self.transforms:
            image = transform(image, generator=generator)
        return image


class Lambda(Transform):
    """Wrap a function of an array that works the same on one sample and on a batch (e.g. ``np.clip``).

    Both ``transform(image)`` and ``transform.batch(images)`` return ``function(x)``, unchanged.

    Example:
        >>> import numpy as np
        >>> from chainrule.data.transforms import Lambda
        >>> clip = Lambda(lambda x: np.clip(x, 0.0, 1.0))
        >>> clip(np.array([-0.5, 0.5, 2.0])).tolist(), float(clip.batch(np.full((4, 1, 2, 2), 3.0)).max())
        ([0.0, 0.5, 1.0], 1.0)
    """

    def __init__(self, function):
        if not callable(function):
            raise TypeError(f"Lambda: expected a function, got {function!r}")
        self.function = function

    def batch(self, images, generator=None):
        return self.function(images)

    def __call__(self, image, generator=None):
        return self.function(image)


def shift_images(images, row_shifts, column_shifts):
    """Move each image by whole pixels, filling with zeros: out[n, ..., y, x] = in[n, ..., y − dyₙ, x − dxₙ].

    ``images`` is (N, ..., H, W); ``row_shifts`` and ``column_shifts`` hold N integers
    (positive = down / right). Done with one zero pad and one fancy index for the batch.

    Example:
        >>> import numpy as np
        >>> shift_images(np.eye(3, dtype=np.float32)[None], [1], [0])[0]
        array([[0., 0., 0.],
               [1., 0., 0.],
               [0., 1., 0.]], dtype=float32)
    """
    images = _float_images(images, "shift_images", min_ndim=3)
    row_shifts = numpy.asarray(row_shifts, dtype=numpy.int64).reshape(-1)
    column_shifts = numpy.asarray(column_shifts, dtype=numpy.int64).reshape(-1)
    count, height, width = images.shape[0], images.shape[-2], images.shape[-1]
    if row_shifts.size != count or column_shifts.size != count:
        raise ValueError(f"shift_images: need one row and one column shift per image ({count}), got "
                         f"{row_shifts.size} and {column_shifts.size}")
    pad = int(max(numpy.abs(row_shifts).max(initial=0), numpy.abs(column_shifts).max(initial=0)))
    flat = images.reshape(count, -1, height, width)
    padded = numpy.pad(flat, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    rows = numpy.arange(height)[None, :] - row_shifts[:, None] + pad        # (N, H): source row in the padded image
    columns = numpy.arange(width)[None, :] - column_shifts[:, None] + pad   # (N, W)
    rows = numpy.clip(rows, 0, height + 2 * pad - 1)  # shifts beyond the image land in the zero padding
    columns = numpy.clip(columns, 0, width + 2 * pad - 1)
    batch_index = numpy.arange(count)[:, None, None]
    gathered = padded[batch_index, :, rows[:, :, None], columns[:, None, :]]  # (N, H, W, C): advanced axes first
    return numpy.moveaxis(gathered, -1, 1).reshape(images.shape)


def rotate_images(images, degrees):
    """Rotate each image about its center by degreesₙ (counter-clockwise as displayed), bilinear, zero fill.

    Output pixel p takes the input at q = c + R(−θ)(p − c), with c the center
    ((H−1)/2, (W−1)/2), interpolated bilinearly between the four pixels around q;
    pixels outside the image count as 0. This is ``scipy.ndimage.rotate(image, θ,
    reshape=False, order=1, mode='grid-constant')``, done for the whole batch at once.

    Example:
        >>> import numpy as np
        >>> image = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
        >>> np.allclose(rotate_images(image, [90.0])[0, 0], np.rot90(image[0, 0]))
        True
    """
    images = _float_images(images, "rotate_images", min_ndim=3)
    theta = numpy.deg2rad(numpy.asarray(degrees, dtype=numpy.float64).reshape(-1))
    count, height, width = images.shape[0], images.shape[-2], images.shape[-1]
    if theta.size != count:
        raise ValueError(f"rotate_images: need one angle per image ({count}), got {theta.size}")
    center_row, center_column = (height - 1) / 2.0, (width - 1) / 2.0
    out_rows = numpy.arange(height, dtype=numpy.float64)[:, None] - center_row     # (H, 1)
    out_columns = numpy.arange(width, dtype=numpy.float64)[None, :] - center_column  # (1, W)
    cos, sin = numpy.cos(theta)[:, None, None], numpy.sin(theta)[:, None, None]
    # With rows pointing down, a counter-clockwise turn on screen by θ sends the
    # output offset (r, c) back to the source offset (r·cosθ + c·sinθ, −r·sinθ + c·cosθ).
    source_rows = out_rows * cos + out_columns * sin + center_row       # (N, H, W)
    source_columns = -out_rows * sin + out_columns * cos + center_column

    pixels = images.reshape(count, -1, height * width)  # (N, C, H·W): gather by flat pixel number
    top, left = numpy.floor(source_rows), numpy.floor(source_columns)
    row_weight, column_weight = source_rows - top, source_columns - left
    top, left = top.astype(numpy.int64), left.astype(numpy.int64)
    result = numpy.zeros(pixels.shape, dtype=images.dtype)
    for row_offset, column_offset in ((0, 0), (0, 1), (1, 0), (1, 1)):
        rows, columns = top + row_offset, left + column_offset
        weight = (row_weight if row_offset else 1.0 - row_weight) * (column_weight if column_offset else 1.0 - column_weight)
        weight = weight * ((rows >= 0) & (rows < height) & (columns >= 0) & (columns < width))  # outside counts as 0
        pixel_numbers = numpy.clip(rows, 0, height - 1) * width + numpy.clip(columns, 0, width - 1)
        values = numpy.take_along_axis(pixels, pixel_numbers.reshape(count, 1, -1), axis=2)
        result += values * weight.reshape(count, 1, -1).astype(images.dtype)
    return result.reshape(images.shape)


class RandomShift(RandomTransform):
    """Shift each image by whole pixels dy, dx drawn uniformly from −max_shift..max_shift; zero fill.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> shift = RandomShift(2, generator=cr.Generator().manual_seed(0))
        >>> shift.batch(np.ones((4, 1, 28, 28), np.float32)).shape
        (4, 1, 28, 28)
    """

    def __init__(self, max_shift=2, generator=None):
        super().__init__(generator)
        if isinstance(max_shift, bool) or not isinstance(max_shift, numbers.Integral) or max_shift < 0:
            raise ValueError(f"RandomShift: max_shift must be a non-negative integer number of pixels, got {max_shift!r}")
        self.max_shift = int(max_shift)

    def batch(self, images, generator=None):
        images = _float_images(images, "RandomShift", min_ndim=3)
        shifts = self._generator(generator).integers(-self.max_shift, self.max_shift + 1, (2, images.shape[0]), numpy.int64)
        return shift_images(images, shifts[0], shifts[1])


class RandomRotation(RandomTransform):
    """Rotate each image by an angle drawn uniformly from [−max_degrees, max_degrees]; bilinear, zero fill.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> rotate = RandomRotation(10, generator=cr.Generator().manual_seed(0))
        >>> rotate(np.ones((1, 28, 28), np.float32)).shape
        (1, 28, 28)
    """

    def __init__(self, max_degrees=10.0, generator=None):
        super().__init__(generator)
        if not isinstance(max_degrees, numbers.Real) or not 0 <= max_degrees <= 180:
            raise ValueError(f"RandomRotation: max_degrees must be a number in [0, 180], got {max_degrees!r}")
        self.max_degrees = float(max_degrees)

    def batch(self, images, generator=None):
        images = _float_images(images, "RandomRotation", min_ndim=3)
        angles = self._generator(generator).uniform((images.shape[0],), -self.max_degrees, self.max_degrees, numpy.float64)
        return rotate_images(images, angles)
