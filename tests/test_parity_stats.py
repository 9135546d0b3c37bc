"""SciPy's names in chainrule.stats give SciPy's numbers: pearsonr, spearmanr, kendalltau, ttest_ind."""
import numpy
import pytest
import scipy.stats
from hypothesis import given, settings, strategies as st

from chainrule import stats


def _samples(seed, n, ties):
    rng = numpy.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 0.5 * x + rng.normal(size=n)
    if ties:
        x, y = numpy.round(x * 2) / 2, numpy.round(y * 2) / 2
    return x, y


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(4, 60), ties=st.booleans(),
       alternative=st.sampled_from(["two-sided", "less", "greater"]))
def test_correlations_match_scipy(seed, n, ties, alternative):
    x, y = _samples(seed, n, ties)
    if numpy.ptp(x) == 0 or numpy.ptp(y) == 0:
        return
    for ours, theirs in [(stats.pearsonr, scipy.stats.pearsonr), (stats.spearmanr, scipy.stats.spearmanr),
                         (stats.kendalltau, scipy.stats.kendalltau)]:
        mine, reference = ours(x, y, alternative=alternative), theirs(x, y, alternative=alternative)
        numpy.testing.assert_allclose(mine.statistic, reference.statistic, rtol=1e-10, atol=1e-12)
        numpy.testing.assert_allclose(mine.pvalue, reference.pvalue, rtol=1e-7, atol=1e-12)
        statistic, pvalue = mine
        assert (statistic, pvalue) == (mine.statistic, mine.pvalue)


@pytest.mark.parametrize("n", [3, 10, 33, 34, 40])
def test_kendall_exact_and_asymptotic_regimes_match_scipy(n):
    rng = numpy.random.default_rng(n)
    x, y = rng.permutation(n), rng.permutation(n)
    for alternative in ("two-sided", "less", "greater"):
        for method in ("auto", "asymptotic") + (("exact",) if n <= 33 else ()):
            mine = stats.kendalltau(x, y, alternative=alternative, method=method)
            reference = scipy.stats.kendalltau(x, y, alternative=alternative, method=method)
            numpy.testing.assert_allclose(mine.pvalue, reference.pvalue, rtol=1e-9, atol=1e-14)
    assert stats.kendalltau(x, x).pvalue == pytest.approx(scipy.stats.kendalltau(x, x).pvalue)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10**6), sizes=st.tuples(st.integers(2, 30), st.integers(2, 30)), equal_var=st.booleans(),
       alternative=st.sampled_from(["two-sided", "less", "greater"]))
def test_ttest_ind_matches_scipy(seed, sizes, equal_var, alternative):
    rng = numpy.random.default_rng(seed)
    a, b = rng.normal(0.3, 1.0, sizes[0]), rng.normal(0.0, 2.5, sizes[1])
    mine = stats.ttest_ind(a, b, equal_var=equal_var, alternative=alternative)
    reference = scipy.stats.ttest_ind(a, b, equal_var=equal_var, alternative=alternative)
    numpy.testing.assert_allclose([mine.statistic, mine.pvalue, mine.df],
                                  [reference.statistic, reference.pvalue, reference.df], rtol=1e-9)
    assert mine.test.name == ("two-sample t test (pooled)" if equal_var else "Welch's t test")


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="kendalltau: x and y must be paired"):
        stats.kendalltau([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="kendalltau: x or y is constant"):
        stats.kendalltau([1, 1, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="exact p-value needs data without ties"):
        stats.kendalltau([1, 1, 2], [1, 2, 3], method="exact")
    with pytest.raises(ValueError, match="alternative"):
        stats.pearsonr([1, 2, 3], [1, 2, 4], alternative="bigger")
