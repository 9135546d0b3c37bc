"""Transforms: Normalize, Compose, Lambda, RandomShift, RandomRotation (against SciPy), determinism, errors."""
import numpy as np
import pytest
import scipy.ndimage

import chainrule as cr
from chainrule.data.transforms import (
    Compose, Lambda, Normalize, RandomRotation, RandomShift, rotate_images, shift_images,
)


def random_images(count=6, channels=1, size=12, seed=0):
    return np.random.default_rng(seed).random((count, channels, size, size)).astype(np.float32)


def test_normalize_scalar_and_per_channel():
    images = random_images(4, channels=3)
    np.testing.assert_allclose(Normalize(0.5, 0.25).batch(images), (images - 0.5) / 0.25, rtol=1e-6)
    mean, std = [0.1, 0.2, 0.3], [1.0, 2.0, 4.0]
    out = Normalize(mean, std).batch(images)
    for channel in range(3):
        np.testing.assert_allclose(out[:, channel], (images[:, channel] - mean[channel]) / std[channel], rtol=1e-6)
    single = Normalize(mean, std)(images[0])
    np.testing.assert_array_equal(single, out[0])
    assert out.dtype == np.float32


def test_normalize_errors():
    with pytest.raises(ValueError, match="Normalize: std must be positive"):
        Normalize(0.0, 0.0)
    with pytest.raises(ValueError, match="equal-length"):
        Normalize([0.1, 0.2], [1.0])
    with pytest.raises(ValueError, match="3 channel means given.*shape \\(2, 1, 12, 12\\)"):
        Normalize([0.0] * 3, [1.0] * 3).batch(random_images(2))
    with pytest.raises(TypeError, match="Normalize: expected floating-point images, got uint8"):
        Normalize(0.0, 1.0).batch(np.zeros((1, 1, 4, 4), np.uint8))


def reference_shift(image, row_shift, column_shift):
    """Shift with np.roll, then zero the wrapped-around rows and columns."""
    out = np.roll(image, (row_shift, column_shift), axis=(-2, -1))
    if row_shift > 0:
        out[..., :row_shift, :] = 0
    elif row_shift < 0:
        out[..., row_shift:, :] = 0
    if column_shift > 0:
        out[..., :, :column_shift] = 0
    elif column_shift < 0:
        out[..., :, column_shift:] = 0
    return out


def test_shift_images_matches_roll_with_zero_fill():
    images = random_images(7, channels=2)
    rows, columns = [0, 1, -1, 3, -2, 13, -20], [0, -2, 2, 0, 5, 1, 0]
    out = shift_images(images, rows, columns)
    for index in range(7):
        np.testing.assert_array_equal(out[index], reference_shift(images[index], rows[index], columns[index]))


def test_rotate_images_matches_scipy_bilinear():
    images = random_images(4, channels=2, size=15).astype(np.float64)
    angles = [7.0, -12.5, 33.0, 180.0]
    out = rotate_images(images, angles)
    for index, angle in enumerate(angles):
        for channel in range(2):
            expected = scipy.ndimage.rotate(images[index, channel], angle, reshape=False, order=1,
                                            mode="grid-constant", cval=0.0)
            np.testing.assert_allclose(out[index, channel], expected, atol=1e-12)


def test_rotate_by_zero_is_identity_and_by_90_is_rot90():
    images = random_images(2, size=9)
    np.testing.assert_allclose(rotate_images(images, [0.0, 0.0]), images, atol=1e-6)
    np.testing.assert_allclose(rotate_images(images, [90.0, -90.0])[0, 0], np.rot90(images[0, 0]), atol=1e-5)
    np.testing.assert_allclose(rotate_images(images, [90.0, -90.0])[1, 0], np.rot90(images[1, 0], -1), atol=1e-5)
    assert rotate_images(images, [3.0, 4.0]).dtype == np.float32


@pytest.mark.parametrize("make", [lambda g: RandomShift(3, generator=g), lambda g: RandomRotation(15, generator=g)])
def test_random_transforms_are_deterministic_per_seed(make):
    images = random_images(16)
    first = make(cr.Generator().manual_seed(5)).batch(images)
    second = make(cr.Generator().manual_seed(5)).batch(images)
    other = make(cr.Generator().manual_seed(6)).batch(images)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    # a generator passed at call time wins over the transform's own
    passed = make(cr.Generator().manual_seed(99)).batch(images, generator=cr.Generator().manual_seed(5))
    np.testing.assert_array_equal(passed, first)


def test_random_shift_draws_one_shift_per_sample_within_range():
    image = np.zeros((1, 11, 11), np.float32)
    image[0, 5, 5] = 1.0  # a single lit pixel shows each sample's shift
    out = RandomShift(2, generator=cr.Generator().manual_seed(0)).batch(np.repeat(image[None], 200, axis=0))
    positions = np.array([np.argwhere(sample[0])[0] for sample in out]) - 5
    assert np.abs(positions).max() == 2
    assert len({tuple(p) for p in positions}) == 25  # all 5x5 shifts occur
    assert out.sum(axis=(1, 2, 3)).tolist() == [1.0] * 200


def test_random_rotation_angles_stay_within_range():
    image = np.zeros((1, 21, 21), np.float32)
    image[0, 10, 18] = 1.0  # a pixel 8 to the right of the center
    out = RandomRotation(20, generator=cr.Generator().manual_seed(1)).batch(np.repeat(image[None], 100, axis=0))
    rows, columns = np.meshgrid(np.arange(21) - 10, np.arange(21) - 10, indexing="ij")
    mass = out[:, 0].sum(axis=(1, 2))
    angles = np.degrees(np.arctan2(-(out[:, 0] * rows).sum(axis=(1, 2)) / mass, (out[:, 0] * columns).sum(axis=(1, 2)) / mass))
    assert np.abs(angles).max() <= 20.5
    assert angles.max() > 10 and angles.min() < -10  # both directions drawn


def test_single_sample_call_equals_batch_of_one():
    image = random_images(1)[0]
    shift = RandomShift(2)
    np.testing.assert_array_equal(shift(image, generator=cr.Generator().manual_seed(3)),
                                  shift.batch(image[None], generator=cr.Generator().manual_seed(3))[0])


def test_compose_passes_the_generator_to_every_step_in_order():
    images = random_images(8)
    pipeline = Compose([RandomShift(2), RandomRotation(10), Normalize(0.5, 2.0), Lambda(lambda x: x * 3)])
    out = pipeline.batch(images, generator=cr.Generator().manual_seed(4))
    generator = cr.Generator().manual_seed(4)
    expected = RandomShift(2).batch(images, generator=generator)
    expected = RandomRotation(10).batch(expected, generator=generator)
    expected = (expected - 0.5) / 2.0 * 3
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    single = pipeline(images[0], generator=cr.Generator().manual_seed(4))
    assert single.shape == images[0].shape


def test_transform_errors():
    with pytest.raises(TypeError, match="Compose: every step must be a Transform.*Lambda"):
        Compose([np.flipud])
    with pytest.raises(ValueError, match="RandomShift: max_shift must be a non-negative integer"):
        RandomShift(1.5)
    with pytest.raises(ValueError, match="RandomRotation: max_degrees must be a number in \\[0, 180\\]"):
        RandomRotation(270)
    with pytest.raises(TypeError, match="RandomShift: generator must be a chainrule Generator"):
        RandomShift(2, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="shift_images: need one row and one column shift per image \\(2\\)"):
        shift_images(random_images(2), [1], [1, 2])
    with pytest.raises(ValueError, match="rotate_images: expected images with at least 3 axes"):
        rotate_images(np.zeros((4, 4), np.float32), [1.0])
