"""Descriptive statistics: location, spread, shape, association and histograms.

Every function takes a tensor or anything NumPy can turn into an array (lists,
arrays; these become float64 tensors) and returns tensors. The moment-based
statistics and the quantiles are tensor expressions, so they are differentiable
in the data; ranks (Spearman) and histogram counts are piecewise constant and are
returned without a gradient.
"""
import numpy

from chainrule.core.tensor import Tensor
from chainrule.ops import movedim, sqrt

__all__ = [
    "as_data", "mean", "variance", "std", "quantile", "median", "skewness", "kurtosis", "covariance",
    "pearson_correlation", "spearman_correlation", "rankdata", "histogram",
]


def as_data(values, function, min_size=1, name="x"):
    """``values`` as a floating tensor (float64 unless it already is a float tensor), checked for size and NaN."""
    if not isinstance(values, Tensor):
        values = Tensor(numpy.asarray(values, dtype=numpy.float64))
    elif values.dtype.kind != "f":
        values = values.double()
    if values.ndim == 0:
        values = values.reshape((1,))
    if values.shape[0] < min_size:
        raise ValueError(f"{function}: {name} needs at least {min_size} observations along axis 0, got {values.shape[0]}")
    if bool(numpy.isnan(numpy.asarray(values.detach().__array__())).any()):
        raise ValueError(f"{function}: {name} contains NaN; drop or impute missing values first")
    return values


def mean(x, dim=0):
    r"""The sample mean x̄ = (1/n) Σᵢ xᵢ along ``dim``.

    Example:
        >>> from chainrule.stats import mean
        >>> mean([1.0, 2.0, 6.0]).item()
        3.0
    """
    return as_data(x, "mean").mean(dim)


def variance(x, dim=0, correction=1):
    r"""s² = Σᵢ (xᵢ − x̄)² / (n − correction); correction=1 is the unbiased estimate, 0 the MLE.

    Example:
        >>> from chainrule.stats import variance
        >>> variance([1.0, 2.0, 3.0, 4.0]).item()
        1.6666666666666667
    """
    x = as_data(x, "variance", min_size=correction + 1)
    centered = x - x.mean(dim, keepdim=True)
    return (centered * centered).sum(dim) / (x.shape[dim] - correction)


def std(x, dim=0, correction=1):
    """s = √s² (see ``variance``).

    Example:
        >>> from chainrule.stats import std
        >>> std([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], correction=0).item()
        2.0
    """
    return sqrt(variance(x, dim, correction))


def quantile(x, q, dim=0):
    r"""The q-quantile by linear interpolation between order statistics (NumPy's default "linear" method).

    With the sorted values x₍₀₎ ≤ … ≤ x₍ₙ₋₁₎ and h = (n − 1) q:
    Q(q) = x₍⌊h⌋₎ + (h − ⌊h⌋)(x₍⌊h⌋+1₎ − x₍⌊h⌋₎). Differentiable in x (the gradient
    flows to the two order statistics used). ``q`` may be a number or a sequence.

    Example:
        >>> from chainrule.stats import quantile
        >>> quantile([1.0, 2.0, 3.0, 4.0], [0.25, 0.5]).tolist()
        [1.75, 2.5]
    """
    x = as_data(x, "quantile")
    levels = numpy.asarray(q, dtype=numpy.float64)
    if ((levels < 0) | (levels > 1)).any() or numpy.isnan(levels).any():
        raise ValueError(f"quantile: q must lie in [0, 1], got {levels.tolist()!r}")
    moved = movedim(x, dim, -1)
    n = moved.shape[-1]
    order = numpy.argsort(numpy.asarray(moved.detach().__array__()), axis=-1, kind="stable")
    ordered = moved.gather(-1, Tensor(order))
    position = levels.reshape(-1) * (n - 1)
    below = numpy.floor(position).astype(numpy.int64)
    above = numpy.minimum(below + 1, n - 1)
    weight = Tensor((position - below).astype(ordered.dtype))
    low = ordered[..., Tensor(below)]
    high = ordered[..., Tensor(above)]
    result = low + weight * (high - low)
    result = movedim(result, -1, 0)
    return result.reshape(result.shape[1:]) if levels.ndim == 0 else result


def median(x, dim=0):
    """The 0.5-quantile: the middle order statistic (the mean of the middle two for even n).

    Example:
        >>> from chainrule.stats import median
        >>> median([3.0, 1.0, 4.0, 1.5]).item()
        2.25
    """
    return quantile(x, 0.5, dim)


def _central_moment(x, order, dim):
    centered = x - x.mean(dim, keepdim=True)
    return (centered ** order).mean(dim)


def skewness(x, dim=0, bias=True):
    r"""The sample skewness g₁ = m₃ / m₂^{3/2}, mₖ = (1/n) Σ (xᵢ − x̄)ᵏ.

    ``bias=False`` gives the adjusted Fisher-Pearson G₁ = g₁ √(n(n − 1)) / (n − 2).
    Matches scipy.stats.skew.

    Example:
        >>> from chainrule.stats import skewness
        >>> skewness([1.0, 2.0, 3.0]).item()
        0.0
    """
    x = as_data(x, "skewness", min_size=3 if not bias else 1)
    g1 = _central_moment(x, 3, dim) / _central_moment(x, 2, dim) ** 1.5
    if bias:
        return g1
    n = x.shape[dim]
    return g1 * ((n * (n - 1)) ** 0.5 / (n - 2))


def kurtosis(x, dim=0, fisher=True, bias=True):
    r"""The sample kurtosis g₂ = m₄ / m₂² (− 3 for the excess kurtosis when ``fisher``).

    ``bias=False`` gives G₂ = ((n + 1) g₂ + 6)(n − 1) / ((n − 2)(n − 3)) with g₂ the
    excess kurtosis. Matches scipy.stats.kurtosis.

    Example:
        >>> from chainrule.stats import kurtosis
        >>> round(kurtosis([1.0, 2.0, 3.0, 4.0]).item(), 4)
        -1.36
    """
    x = as_data(x, "kurtosis", min_size=4 if not bias else 1)
    excess = _central_moment(x, 4, dim) / _central_moment(x, 2, dim) ** 2 - 3
    if not bias:
        n = x.shape[dim]
        excess = ((n + 1) * excess + 6) * (n - 1) / ((n - 2) * (n - 3))
    return excess if fisher else excess + 3


def covariance(x, y=None, correction=1):
    r"""The sample covariance.

    With ``y``: cov(x, y) = Σᵢ (xᵢ − x̄)(yᵢ − ȳ) / (n − correction), a scalar per
    column. Without: ``x`` is (n observations, d variables) and the result is the
    d × d matrix C = (X − X̄)ᵀ(X − X̄) / (n − correction) (numpy.cov with rowvar=False).

    Example:
        >>> from chainrule.stats import covariance
        >>> covariance([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]).item()
        2.0
    """
    x = as_data(x, "covariance", min_size=correction + 1)
    if y is None:
        if x.ndim != 2:
            raise ValueError(f"covariance: without y, x must be 2-D (observations, variables), got shape {x.shape}")
        centered = x - x.mean(0, keepdim=True)
        return centered.mT.matmul(centered) / (x.shape[0] - correction)
    y = as_data(y, "covariance", min_size=correction + 1, name="y")
    _check_paired("covariance", x, y)
    return ((x - x.mean(0, keepdim=True)) * (y - y.mean(0, keepdim=True))).sum(0) / (x.shape[0] - correction)


def _check_paired(function, x, y):
    if x.shape != y.shape:
        raise ValueError(f"{function}: x and y must be paired observations of the same shape, got {x.shape} and {y.shape}")


def pearson_correlation(x, y):
    r"""Pearson's r = Σ(xᵢ − x̄)(yᵢ − ȳ) / √(Σ(xᵢ − x̄)² Σ(yᵢ − ȳ)²) ∈ [−1, 1], differentiable.

    Example:
        >>> from chainrule.stats import pearson_correlation
        >>> round(pearson_correlation([1.0, 2.0, 3.0], [1.0, 3.0, 2.0]).item(), 4)
        0.5
    """
    x = as_data(x, "pearson_correlation", min_size=2)
    y = as_data(y, "pearson_correlation", min_size=2, name="y")
    _check_paired("pearson_correlation", x, y)
    dx = x - x.mean(0, keepdim=True)
    dy = y - y.mean(0, keepdim=True)
    spread = (dx * dx).sum(0) * (dy * dy).sum(0)
    if bool((spread.detach().array == 0).any()):
        raise ValueError("pearson_correlation: x or y is constant, so the correlation is undefined (0/0)")
    return (dx * dy).sum(0) / sqrt(spread)


def rankdata(x):
    """Ranks 1..n along axis 0, ties sharing the average of their ranks (scipy.stats.rankdata's 'average').

    Returns a NumPy float64 array (ranks are not differentiable).

    Example:
        >>> from chainrule.stats import rankdata
        >>> rankdata([10.0, 30.0, 20.0, 20.0]).tolist()
        [1.0, 4.0, 2.5, 2.5]
    """
    values = numpy.asarray(x.detach().__array__() if isinstance(x, Tensor) else x, dtype=numpy.float64)
    order = numpy.argsort(values, axis=0, kind="stable")
    ranks = numpy.empty_like(values)
    sorted_values = numpy.take_along_axis(values, order, axis=0)
    for column in numpy.ndindex(values.shape[1:]):
        picker = (slice(None),) + column
        run_starts = numpy.r_[True, sorted_values[picker][1:] != sorted_values[picker][:-1]]
        run_id = numpy.cumsum(run_starts) - 1
        first_rank = numpy.flatnonzero(run_starts) + 1
        run_length = numpy.diff(numpy.r_[numpy.flatnonzero(run_starts), len(run_id)])
        average = first_rank + (run_length - 1) / 2
        ranks[(order[picker],) + column] = average[run_id]
    return ranks


def spearman_correlation(x, y):
    r"""Spearman's ρ: Pearson's r of the ranks (ties get average ranks). Not differentiable (ranks are flat).

    Example:
        >>> from chainrule.stats import spearman_correlation
        >>> spearman_correlation([1.0, 2.0, 3.0], [1.0, 8.0, 27.0]).item()   # monotone: ρ = 1
        1.0
    """
    x = as_data(x, "spearman_correlation", min_size=2)
    y = as_data(y, "spearman_correlation", min_size=2, name="y")
    _check_paired("spearman_correlation", x, y)
    return pearson_correlation(rankdata(x), rankdata(y))


def histogram(x, bins=10, range=None, density=False):
    r"""Counts of ``x`` in equal-width bins: returns (counts, edges), as numpy.histogram.

    Bin i holds edges[i] ≤ x < edges[i+1] (the last bin also includes its right
    edge). With ``density=True`` the heights are counts / (n · width), so the
    histogram integrates to 1 (an estimate of the density).

    Example:
        >>> from chainrule.stats import histogram
        >>> counts, edges = histogram([0.0, 0.5, 1.0, 1.5, 2.0], bins=2)
        >>> counts.tolist(), edges.tolist()
        ([2.0, 3.0], [0.0, 1.0, 2.0])
    """
    values = numpy.asarray(as_data(x, "histogram").detach().__array__()).ravel()
    if not isinstance(bins, int) or bins < 1:
        raise ValueError(f"histogram: bins must be a positive integer, got {bins!r}")
    low, high = (values.min(), values.max()) if range is None else range
    if not low <= high:
        raise ValueError(f"histogram: range must be (low, high) with low ≤ high, got {range!r}")
    if low == high:
        low, high = low - 0.5, high + 0.5
    edges = numpy.linspace(low, high, bins + 1)
    inside = (values >= low) & (values <= high)
    index = numpy.clip(numpy.searchsorted(edges, values[inside], side="right") - 1, 0, bins - 1)
    counts = numpy.bincount(index, minlength=bins).astype(numpy.float64)
    if density:
        counts = counts / (counts.sum() * numpy.diff(edges))
    return Tensor(counts), Tensor(edges)
