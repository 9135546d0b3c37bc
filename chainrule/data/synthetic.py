"""Small synthetic data sets for the math labs, all drawn from a seed.

Classification sets return ``(X, y)``: X float32 (n_samples, n_features), y int64
(n_samples,) class labels 0..K−1, rows in a seeded random order. Regression sets
return ``(X, y)`` with X float32 (n_samples, n_features) and y float32 (n_samples,).
The same arguments and seed give bitwise the same arrays.
"""
import numbers

import numpy

from chainrule.core.random import Generator


def _rng(seed, where):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{where}: seed must be a non-negative integer, got {seed!r}")
    return Generator().manual_seed(int(seed)).numpy_generator


def _check_count(value, name, where, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{where}: {name} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


def _check_noise(noise, where):
    if not isinstance(noise, numbers.Real) or not numpy.isfinite(noise) or noise < 0:
        raise ValueError(f"{where}: noise must be a finite number ≥ 0, got {noise!r}")
    return float(noise)


def _per_class_counts(n_samples, n_classes):
    """n_samples split as evenly as possible: the first n_samples mod K classes get one extra."""
    base, extra = divmod(n_samples, n_classes)
    return [base + (k < extra) for k in range(n_classes)]


def _shuffled(features, labels, rng):
    order = rng.permutation(labels.shape[0])
    return features[order].astype(numpy.float32), labels[order].astype(numpy.int64)


def make_spirals(n_samples=300, n_classes=3, noise=0.2, seed=0):
    """K interleaved spiral arms in the plane, one per class (float32 X (n, 2), int64 y (n,)).

    Point i of arm k (of m points): radius rᵢ = i/(m−1) and angle
    tᵢ = 4(k + rᵢ) + noise·εᵢ with εᵢ ~ N(0, 1), at (r sin t, r cos t): each arm turns
    4 radians from the center outwards (the CS231n spirals). Not linearly separable.

    Example:
        >>> X, y = make_spirals(300, n_classes=3, noise=0.2, seed=0)
        >>> X.shape, X.dtype, y.dtype, sorted(set(y.tolist()))
        ((300, 2), dtype('float32'), dtype('int64'), [0, 1, 2])
    """
    n_samples = _check_count(n_samples, "n_samples", "make_spirals")
    n_classes = _check_count(n_classes, "n_classes", "make_spirals")
    noise, rng = _check_noise(noise, "make_spirals"), _rng(seed, "make_spirals")
    features, labels = [], []
    for label, count in enumerate(_per_class_counts(n_samples, n_classes)):
        radius = numpy.linspace(0.0, 1.0, count)
        angle = 4.0 * (label + radius) + noise * rng.standard_normal(count)
        features.append(numpy.stack([radius * numpy.sin(angle), radius * numpy.cos(angle)], axis=1))
        labels.append(numpy.full(count, label))
    return _shuffled(numpy.concatenate(features), numpy.concatenate(labels), rng)


def make_moons(n_samples=200, noise=0.1, seed=0):
    """Two interleaving half circles (float32 X (n, 2), int64 y (n,) in {0, 1}).

    Class 0: (cos t, sin t); class 1: (1 − cos t, 1/2 − sin t), t evenly spaced in
    [0, π]; then Gaussian noise with standard deviation ``noise`` on each coordinate.

    Example:
        >>> X, y = make_moons(100, noise=0.0, seed=0)
        >>> X.shape, int(y.sum())
        ((100, 2), 50)
    """
    n_samples = _check_count(n_samples, "n_samples", "make_moons")
    noise, rng = _check_noise(noise, "make_moons"), _rng(seed, "make_moons")
    outer_count, inner_count = _per_class_counts(n_samples, 2)
    outer = numpy.linspace(0.0, numpy.pi, outer_count)
    inner = numpy.linspace(0.0, numpy.pi, inner_count)
    features = numpy.concatenate([
        numpy.stack([numpy.cos(outer), numpy.sin(outer)], axis=1),
        numpy.stack([1.0 - numpy.cos(inner), 0.5 - numpy.sin(inner)], axis=1),
    ])
    features = features + noise * rng.standard_normal(features.shape)
    labels = numpy.concatenate([numpy.zeros(outer_count), numpy.ones(inner_count)])
    return _shuffled(features, labels, rng)


def make_circles(n_samples=200, noise=0.05, factor=0.5, seed=0):
    """Two concentric circles: class 0 of radius 1, class 1 of radius ``factor`` (float32 X (n, 2), int64 y).

    Angles are evenly spaced on [0, 2π); Gaussian noise of standard deviation
    ``noise`` is added to each coordinate.

    Example:
        >>> import numpy as np
        >>> X, y = make_circles(100, noise=0.0, factor=0.5, seed=0)
        >>> sorted(set(np.round(np.hypot(X[:, 0], X[:, 1]), 4).tolist()))
        [0.5, 1.0]
    """
    n_samples = _check_count(n_samples, "n_samples", "make_circles")
    noise, rng = _check_noise(noise, "make_circles"), _rng(seed, "make_circles")
    if not isinstance(factor, numbers.Real) or not 0 < factor < 1:
        raise ValueError(f"make_circles: factor (inner radius / outer radius) must be in (0, 1), got {factor!r}")
    features, labels = [], []
    for label, (count, radius) in enumerate(zip(_per_class_counts(n_samples, 2), (1.0, float(factor)))):
        angle = numpy.linspace(0.0, 2.0 * numpy.pi, count, endpoint=False)
        features.append(radius * numpy.stack([numpy.cos(angle), numpy.sin(angle)], axis=1))
        labels.append(numpy.full(count, label))
    features = numpy.concatenate(features)
    features = features + noise * rng.standard_normal(features.shape)
    return _shuffled(features, numpy.concatenate(labels), rng)


def make_blobs(n_samples=300, n_classes=3, n_features=2, cluster_std=1.0, centers=None, center_box=(-10.0, 10.0), seed=0):
    """Isotropic Gaussian clusters: x = μ_y + cluster_std·ε, ε ~ N(0, I) (float32 X (n, d), int64 y).

    ``centers`` is a (K, d) array of cluster means; when None, K = ``n_classes``
    centers are drawn uniformly from ``center_box`` in each coordinate. Samples are
    spread over the classes as evenly as possible.

    Example:
        >>> X, y = make_blobs(90, n_classes=3, n_features=2, cluster_std=0.5, seed=0)
        >>> X.shape, [int((y == k).sum()) for k in range(3)]
        ((90, 2), [30, 30, 30])
    """
    n_samples = _check_count(n_samples, "n_samples", "make_blobs")
    rng = _rng(seed, "make_blobs")
    if not isinstance(cluster_std, numbers.Real) or not numpy.isfinite(cluster_std) or cluster_std < 0:
        raise ValueError(f"make_blobs: cluster_std must be a finite number ≥ 0, got {cluster_std!r}")
    if centers is None:
        n_classes = _check_count(n_classes, "n_classes", "make_blobs")
        n_features = _check_count(n_features, "n_features", "make_blobs")
        low, high = center_box
        if not low < high:
            raise ValueError(f"make_blobs: center_box must be (low, high) with low < high, got {center_box!r}")
        centers = rng.uniform(low, high, size=(n_classes, n_features))
    else:
        centers = numpy.asarray(centers, dtype=numpy.float64)
        if centers.ndim != 2 or centers.shape[0] < 1:
            raise ValueError(f"make_blobs: centers must be a (K, d) array of cluster means, got shape {centers.shape}")
    counts = _per_class_counts(n_samples, centers.shape[0])
    labels = numpy.repeat(numpy.arange(centers.shape[0]), counts)
    features = centers[labels] + cluster_std * rng.standard_normal((n_samples, centers.shape[1]))
    return _shuffled(features, labels, rng)


def make_linear_regression(n_samples=100, n_features=1, noise=0.1, weights=None, bias=0.0, seed=0,
                           return_coefficients=False):
    """y = X·w + b + noise·ε, with X ~ N(0, I) and ε ~ N(0, 1) (float32 X (n, d), float32 y (n,)).

    ``weights`` (d,) defaults to a draw from N(0, 1) per feature. With
    ``return_coefficients=True`` returns (X, y, w, b) so a lab can compare the fit
    with the truth.

    Example:
        >>> import numpy as np
        >>> X, y = make_linear_regression(200, n_features=2, noise=0.0, weights=[2.0, -1.0], bias=0.5)
        >>> np.allclose(y, X @ np.array([2.0, -1.0]) + 0.5, atol=1e-5)
        True
    """
    n_samples = _check_count(n_samples, "n_samples", "make_linear_regression")
    noise, rng = _check_noise(noise, "make_linear_regression"), _rng(seed, "make_linear_regression")
    if weights is None:
        n_features = _check_count(n_features, "n_features", "make_linear_regression")
        weights = rng.standard_normal(n_features)
    else:
        weights = numpy.asarray(weights, dtype=numpy.float64).reshape(-1)
        if weights.size == 0:
            raise ValueError("make_linear_regression: weights is empty; give one weight per feature")
    features = rng.standard_normal((n_samples, weights.size))
    targets = features @ weights + float(bias) + noise * rng.standard_normal(n_samples)
    features, targets = features.astype(numpy.float32), targets.astype(numpy.float32)
    if return_coefficients:
        return features, targets, weights.astype(numpy.float32), numpy.float32(bias)
    return features, targets


def make_polynomial_regression(n_samples=100, coefficients=(1.0, -2.0, 0.5), noise=0.1, x_range=(-2.0, 2.0), seed=0):
    """y = Σₖ cₖ xᵏ + noise·ε, x uniform on ``x_range`` (float32 X (n, 1), float32 y (n,)).

    ``coefficients`` are c₀, c₁, … in increasing powers: (1, −2, 0.5) is 1 − 2x + x²/2.

    Example:
        >>> import numpy as np
        >>> X, y = make_polynomial_regression(50, coefficients=(0.0, 0.0, 1.0), noise=0.0)
        >>> np.allclose(y, X[:, 0] ** 2, atol=1e-5)
        True
    """
    n_samples = _check_count(n_samples, "n_samples", "make_polynomial_regression")
    noise, rng = _check_noise(noise, "make_polynomial_regression"), _rng(seed, "make_polynomial_regression")
    coefficients = numpy.asarray(coefficients, dtype=numpy.float64).reshape(-1)
    if coefficients.size == 0:
        raise ValueError("make_polynomial_regression: coefficients is empty; give c0, c1, ... e.g. (1.0, -2.0, 0.5)")
    low, high = x_range
    if not low < high:
        raise ValueError(f"make_polynomial_regression: x_range must be (low, high) with low < high, got {x_range!r}")
    x = rng.uniform(low, high, n_samples)
    targets = numpy.polynomial.polynomial.polyval(x, coefficients) + noise * rng.standard_normal(n_samples)
    return x[:, None].astype(numpy.float32), targets.astype(numpy.float32)
