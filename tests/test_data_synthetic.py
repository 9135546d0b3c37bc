"""Synthetic sets: shapes and dtypes, seeded determinism, the geometry each promises, and argument errors."""
import numpy as np
import pytest

from chainrule.data import (
    make_blobs, make_circles, make_linear_regression, make_moons, make_polynomial_regression, make_spirals,
)

CLASSIFICATION = [
    (make_spirals, {"n_samples": 301, "n_classes": 4}, 4),
    (make_moons, {"n_samples": 201}, 2),
    (make_circles, {"n_samples": 201}, 2),
    (make_blobs, {"n_samples": 301, "n_classes": 5, "n_features": 3}, 5),
]


@pytest.mark.parametrize("make, kwargs, n_classes", CLASSIFICATION)
def test_classification_sets_shapes_dtypes_balance_and_seeds(make, kwargs, n_classes):
    X, y = make(**kwargs, seed=7)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert X.shape[0] == y.shape[0] == kwargs["n_samples"] and X.ndim == 2
    counts = np.bincount(y, minlength=n_classes)
    assert counts.size == n_classes and counts.max() - counts.min() <= 1
    again_X, again_y = make(**kwargs, seed=7)
    np.testing.assert_array_equal(X, again_X)
    np.testing.assert_array_equal(y, again_y)
    other_X, _ = make(**kwargs, seed=8)
    assert not np.array_equal(X, other_X)
    assert y[: n_classes * 3].tolist() != sorted(y[: n_classes * 3].tolist())  # rows come shuffled


def test_spirals_radius_and_arm_angle():
    X, y = make_spirals(300, n_classes=3, noise=0.0, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.min() >= 0 and radius.max() == pytest.approx(1.0, abs=1e-6)
    # without noise, angle t = 4(k + r) exactly: check via (sin t, cos t) = X / r
    for label in range(3):
        arm = (y == label) & (radius > 1e-3)
        angle = 4.0 * (label + radius[arm])
        np.testing.assert_allclose(X[arm, 0], radius[arm] * np.sin(angle), atol=1e-5)
        np.testing.assert_allclose(X[arm, 1], radius[arm] * np.cos(angle), atol=1e-5)


def test_moons_lie_on_their_half_circles_without_noise():
    X, y = make_moons(100, noise=0.0, seed=0)
    outer, inner = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0, atol=1e-6)
    assert outer[:, 1].min() >= -1e-6
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1.0, inner[:, 1] - 0.5), 1.0, atol=1e-6)
    assert inner[:, 1].max() <= 0.5 + 1e-6


def test_circles_radii_and_noise_scale():
    X, y = make_circles(400, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(radius[y == 1], 0.3, atol=1e-6)
    clean, _ = make_circles(4000, noise=0.0, seed=1)
    noisy, _ = make_circles(4000, noise=0.05, seed=1)
    # the same seed draws the same noise directions and the same shuffle, so row i is the same point
    assert np.std(noisy - clean) == pytest.approx(0.05, rel=0.05)


def test_blobs_cluster_around_their_centers():
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X, y = make_blobs(3000, centers=centers, cluster_std=0.5, seed=0)
    for label in range(3):
        np.testing.assert_allclose(X[y == label].mean(axis=0), centers[label], atol=0.06)
        np.testing.assert_allclose(X[y == label].std(axis=0), 0.5, atol=0.04)
    drawn_X, drawn_y = make_blobs(300, n_classes=4, n_features=3, center_box=(-5, 5), seed=0)
    for label in range(4):
        assert np.all(np.abs(drawn_X[drawn_y == label].mean(axis=0)) < 5.5)


def test_linear_regression_recovers_its_coefficients():
    X, y, weights, bias = make_linear_regression(2000, n_features=3, noise=0.1, bias=1.5, seed=0, return_coefficients=True)
    assert X.dtype == y.dtype == np.float32 and X.shape == (2000, 3) and y.shape == (2000,)
    design = np.hstack([X, np.ones((2000, 1), np.float32)]).astype(np.float64)
    fit, *_ = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)
    np.testing.assert_allclose(fit[:3], weights, atol=0.01)
    assert fit[3] == pytest.approx(1.5, abs=0.01)
    residual = y - design @ fit
    assert np.std(residual) == pytest.approx(0.1, rel=0.1)
    same = make_linear_regression(2000, n_features=3, noise=0.1, bias=1.5, seed=0)
    np.testing.assert_array_equal(same[1], y)


def test_polynomial_regression_recovers_its_coefficients():
    X, y = make_polynomial_regression(1000, coefficients=(1.0, -2.0, 0.5), noise=0.05, x_range=(-2, 2), seed=3)
    assert X.shape == (1000, 1) and X.dtype == y.dtype == np.float32
    assert X.min() >= -2 and X.max() <= 2
    fit = np.polynomial.polynomial.polyfit(X[:, 0].astype(np.float64), y.astype(np.float64), 2)
    np.testing.assert_allclose(fit, [1.0, -2.0, 0.5], atol=0.02)


@pytest.mark.parametrize("call, message", [
    (lambda: make_spirals(0), "make_spirals: n_samples must be an integer ≥ 1, got 0"),
    (lambda: make_spirals(10, n_classes=2.5), "make_spirals: n_classes must be an integer"),
    (lambda: make_moons(10, noise=-1), "make_moons: noise must be a finite number ≥ 0, got -1"),
    (lambda: make_circles(10, factor=1.5), "make_circles: factor .* must be in \\(0, 1\\), got 1.5"),
    (lambda: make_blobs(10, centers=np.zeros(3)), "make_blobs: centers must be a \\(K, d\\) array"),
    (lambda: make_blobs(10, center_box=(1, 0)), "make_blobs: center_box must be \\(low, high\\)"),
    (lambda: make_linear_regression(10, seed=-1), "make_linear_regression: seed must be a non-negative integer"),
    (lambda: make_polynomial_regression(10, coefficients=()), "make_polynomial_regression: coefficients is empty"),
    (lambda: make_polynomial_regression(10, x_range=(2, -2)), "x_range must be \\(low, high\\) with low < high"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
