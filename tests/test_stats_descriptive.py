"""Descriptive statistics against NumPy and SciPy on data drawn by hypothesis, with gradient checks."""

import numpy as np
import pytest
import scipy.stats as ss
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import stats
from chainrule.func import gradcheck
from chainrule.stats import (
    covariance, histogram, kurtosis, mean, median, pearson_correlation, quantile, rankdata, skewness,
    spearman_correlation, std, variance,
)

finite = st.floats(-100, 100, allow_nan=False, allow_infinity=False)


def samples(min_size=5, max_size=30):
    return st.lists(finite, min_size=min_size, max_size=max_size).map(np.array).filter(lambda a: np.ptp(a) > 1e-3)


@settings(max_examples=30, deadline=None)
@given(x=samples(), q=st.lists(st.floats(0, 1), min_size=1, max_size=4))
def test_moments_and_quantiles_match_numpy_and_scipy(x, q):
    as_tensor = cr.tensor(x, dtype=cr.float64)
    for data in (x, list(x), as_tensor):  # arrays, lists and tensors are all accepted
        assert mean(data).item() == pytest.approx(x.mean(), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(variance(x).item(), x.var(ddof=1), rtol=1e-10)
    np.testing.assert_allclose(variance(x, correction=0).item(), x.var(), rtol=1e-10)
    np.testing.assert_allclose(std(x).item(), x.std(ddof=1), rtol=1e-10)
    np.testing.assert_allclose(quantile(x, q).array, np.quantile(x, q), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(median(as_tensor).item(), np.median(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(skewness(x).item(), ss.skew(x), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(skewness(x, bias=False).item(), ss.skew(x, bias=False), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(kurtosis(x).item(), ss.kurtosis(x), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(kurtosis(x, bias=False).item(), ss.kurtosis(x, bias=False), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(kurtosis(x, fisher=False).item(), ss.kurtosis(x, fisher=False), rtol=1e-7)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_association_matches_scipy(data):
    n = data.draw(st.integers(4, 25))
    x = np.array(data.draw(st.lists(st.integers(-20, 20), min_size=n, max_size=n)), dtype=float)  # integers: ties
    y = np.array(data.draw(st.lists(finite, min_size=n, max_size=n)))
    if np.ptp(x) == 0 or np.ptp(y) < 1e-3:
        return
    np.testing.assert_allclose(pearson_correlation(x, y).item(), ss.pearsonr(x, y).statistic, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(spearman_correlation(x, y).item(), ss.spearmanr(x, y).statistic, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rankdata(x), ss.rankdata(x))
    np.testing.assert_allclose(covariance(x, y).item(), np.cov(x, y)[0, 1], rtol=1e-9, atol=1e-9)
    matrix = np.stack([x, y, x * 0.5 - y], axis=1)
    np.testing.assert_allclose(covariance(matrix).array, np.cov(matrix, rowvar=False), rtol=1e-9, atol=1e-9)


@settings(max_examples=20, deadline=None)
@given(x=samples(1, 40), bins=st.integers(1, 12), density=st.booleans())
def test_histogram_matches_numpy(x, bins, density):
    counts, edges = histogram(x, bins=bins, density=density)
    expected_counts, expected_edges = np.histogram(x, bins=bins, density=density)
    np.testing.assert_allclose(edges.array, expected_edges, rtol=1e-12)
    np.testing.assert_allclose(counts.array, expected_counts, rtol=1e-10)
    inside_range = histogram(x, bins=bins, range=(-50.0, 50.0))[0].array
    np.testing.assert_allclose(inside_range, np.histogram(x, bins=bins, range=(-50.0, 50.0))[0])


def test_gradients_by_gradcheck_and_torch():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.normal(size=9), dtype=cr.float64, requires_grad=True)
    y = cr.tensor(rng.normal(size=9), dtype=cr.float64, requires_grad=True)
    matrix = cr.tensor(rng.normal(size=(6, 3)), dtype=cr.float64, requires_grad=True)
    assert gradcheck(lambda t: variance(t), (x,))
    assert gradcheck(lambda t: skewness(t, bias=False), (x,))
    assert gradcheck(lambda t: kurtosis(t), (x,))
    assert gradcheck(lambda t: quantile(t, [0.1, 0.5, 0.83]), (x,))
    assert gradcheck(lambda a, b: pearson_correlation(a, b), (x, y))
    assert gradcheck(lambda m: covariance(m), (matrix,))
    (quantile(x, 0.3) + pearson_correlation(x, y) + variance(x)).backward()
    tx, ty = torch.tensor(x.array, requires_grad=True), torch.tensor(y.array, requires_grad=True)
    (torch.quantile(tx, 0.3) + torch.corrcoef(torch.stack([tx, ty]))[0, 1] + tx.var()).backward()
    np.testing.assert_allclose(x.grad.array, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.grad.array, ty.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_works_along_other_axes_and_batches():
    data = np.arange(24, dtype=float).reshape(4, 6) ** 1.5
    np.testing.assert_allclose(quantile(data, [0.2, 0.9], dim=1).array, np.quantile(data, [0.2, 0.9], axis=1))
    np.testing.assert_allclose(skewness(data).array, ss.skew(data, axis=0), rtol=1e-9)
    np.testing.assert_allclose(variance(data, dim=1).array, data.var(axis=1, ddof=1), rtol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: quantile([1.0, 2.0], 1.5), r"quantile: q must lie in \[0, 1\], got 1.5"),
    (lambda: variance([1.0]), "variance: x needs at least 2 observations along axis 0, got 1"),
    (lambda: mean([1.0, float("nan")]), "mean: x contains NaN"),
    (lambda: pearson_correlation([1.0, 2.0, 3.0], [1.0, 2.0]), r"same shape, got \(3,\) and \(2,\)"),
    (lambda: pearson_correlation([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]), "constant"),
    (lambda: covariance([1.0, 2.0, 3.0]), "without y, x must be 2-D"),
    (lambda: histogram([1.0, 2.0], bins=0), "bins must be a positive integer"),
    (lambda: histogram([1.0, 2.0], range=(3.0, 1.0)), "low ≤ high"),
])
def test_bad_input_raises_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
