"""Confidence intervals and hypothesis tests against SciPy, on samples drawn by hypothesis."""
import math

import numpy as np
import pytest
import scipy.stats as ss
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.stats import (
    bootstrap_confidence_interval, chi_square_goodness_of_fit, chi_square_independence, correlation_test,
    mann_whitney_u, mcnemar_test, permutation_test, t_confidence_interval, ttest_independent, ttest_one_sample,
    ttest_paired, welch_ttest,
)

finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
alternatives = st.sampled_from(["two-sided", "less", "greater"])


def sample(min_size=3, max_size=25):
    return st.lists(finite, min_size=min_size, max_size=max_size).map(np.array).filter(lambda a: a.std() > 1e-2)


@settings(max_examples=25, deadline=None)
@given(x=sample(), y=sample(), mu=finite, alternative=alternatives)
def test_t_tests_match_scipy(x, y, mu, alternative):
    ours, theirs = ttest_one_sample(x, mu, alternative), ss.ttest_1samp(x, mu, alternative=alternative)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9) and ours.df == x.size - 1
    assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-8, abs=1e-300)
    assert ours.effect_size == pytest.approx((x.mean() - mu) / x.std(ddof=1), rel=1e-12)

    ours, theirs = ttest_independent(x, y, alternative), ss.ttest_ind(x, y, alternative=alternative)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9)
    assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-8, abs=1e-300)
    pooled = math.sqrt(((x.size - 1) * x.var(ddof=1) + (y.size - 1) * y.var(ddof=1)) / (x.size + y.size - 2))
    assert ours.effect_size == pytest.approx((x.mean() - y.mean()) / pooled, rel=1e-10)

    ours, theirs = welch_ttest(x, y, alternative), ss.ttest_ind(x, y, equal_var=False, alternative=alternative)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9)
    assert ours.df == pytest.approx(theirs.df, rel=1e-9)
    assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-8, abs=1e-300)

    n = min(x.size, y.size)
    if np.std(x[:n] - y[:n]) > 1e-2:
        ours, theirs = ttest_paired(x[:n], y[:n], alternative), ss.ttest_rel(x[:n], y[:n], alternative=alternative)
        assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9)
        assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-8, abs=1e-300)


@settings(max_examples=20, deadline=None)
@given(x=sample(), level=st.floats(0.5, 0.99))
def test_t_confidence_interval_matches_scipy(x, level):
    ours = t_confidence_interval(cr.tensor(x, dtype=cr.float64), level)
    low, high = ss.t.interval(level, x.size - 1, loc=x.mean(), scale=ss.sem(x))
    assert ours.low == pytest.approx(low, rel=1e-9, abs=1e-9) and ours.high == pytest.approx(high, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_bootstrap_interval_agrees_with_scipy_and_is_seeded(method):
    x = np.random.default_rng(0).gamma(2.0, 1.5, size=40)
    ours = bootstrap_confidence_interval(x, np.mean, 0.9, 20000, method, generator=cr.Generator().manual_seed(1))
    again = bootstrap_confidence_interval(x, np.mean, 0.9, 20000, method, generator=cr.Generator().manual_seed(1))
    assert (ours.low, ours.high) == (again.low, again.high)
    theirs = ss.bootstrap((x,), np.mean, confidence_level=0.9, n_resamples=20000, method=method,
                          rng=np.random.default_rng(2)).confidence_interval
    width = theirs.high - theirs.low
    # Two Monte Carlo estimates of the same interval: the ends agree to a few percent of its width.
    assert abs(ours.low - theirs.low) < 0.05 * width and abs(ours.high - theirs.high) < 0.05 * width
    median = bootstrap_confidence_interval(x, np.median, 0.9, 2000, method, generator=cr.Generator().manual_seed(1))
    assert median.low < np.median(x) < median.high


def test_resampling_accepts_statistics_without_an_axis_argument():
    """A chainrule statistic (or any one-row function) gives the same interval as its vectorized NumPy twin."""
    from chainrule.stats import median
    x = np.random.default_rng(5).normal(size=25)
    vectorized = bootstrap_confidence_interval(x, np.median, 0.9, 500, "bca", generator=cr.Generator().manual_seed(2))
    row_by_row = bootstrap_confidence_interval(x, median, 0.9, 500, "bca", generator=cr.Generator().manual_seed(2))
    assert (vectorized.low, vectorized.high) == pytest.approx((row_by_row.low, row_by_row.high), rel=1e-12)
    y = x + 0.8
    with_axis = permutation_test(x, y, n_resamples=300, generator=cr.Generator().manual_seed(3))
    without_axis = permutation_test(x, y, lambda a, b: a.mean() - b.mean(), n_resamples=300,
                                    generator=cr.Generator().manual_seed(3))
    assert with_axis.pvalue == without_axis.pvalue


def test_bootstrap_percentile_interval_covers_the_mean_about_as_often_as_promised():
    generator, hits = cr.Generator().manual_seed(3), 0
    rng = np.random.default_rng(4)
    for _ in range(200):
        x = rng.normal(1.0, 2.0, size=30)
        ci = bootstrap_confidence_interval(x, np.mean, 0.9, 400, "percentile", generator=generator)
        hits += ci.low <= 1.0 <= ci.high
    assert 0.80 <= hits / 200 <= 0.96  # nominal 0.9; the percentile interval runs a little narrow at n = 30


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_chi_square_tests_match_scipy(data):
    k = data.draw(st.integers(2, 6))
    observed = np.array(data.draw(st.lists(st.integers(0, 40), min_size=k, max_size=k)), dtype=float) + 1
    proportions = np.array(data.draw(st.lists(st.floats(0.1, 1.0), min_size=k, max_size=k)))
    expected = proportions / proportions.sum() * observed.sum()
    ours, theirs = chi_square_goodness_of_fit(observed, proportions), ss.chisquare(observed, expected)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9) and ours.df == k - 1
    assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-7, abs=1e-300)
    assert ours.effect_size == pytest.approx(math.sqrt(theirs.statistic / observed.sum()), rel=1e-9)
    assert chi_square_goodness_of_fit(observed).statistic == pytest.approx(ss.chisquare(observed).statistic, rel=1e-9)

    rows, cols = data.draw(st.integers(2, 4)), data.draw(st.integers(2, 4))
    table = np.array(data.draw(st.lists(st.integers(1, 30), min_size=rows * cols, max_size=rows * cols))).reshape(rows, cols)
    correction = data.draw(st.booleans())
    ours = chi_square_independence(cr.tensor(table), correction=correction)
    theirs = ss.chi2_contingency(table, correction=correction)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9, abs=1e-12) and ours.df == theirs.dof
    assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-7, abs=1e-300)
    assert ours.effect_size == pytest.approx(ss.contingency.association(table, method="cramer"), rel=1e-9, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), alternative=alternatives)
def test_mann_whitney_matches_scipy_exact_and_asymptotic(data, alternative):
    small = data.draw(st.booleans())
    sizes = (1, 8) if small else (9, 25)
    values = st.floats(-10, 10) if small else st.integers(-5, 5).map(float)  # the large case has ties
    x = np.array(data.draw(st.lists(values, min_size=sizes[0], max_size=sizes[1])))
    y = np.array(data.draw(st.lists(values, min_size=sizes[0], max_size=sizes[1])))
    pooled = np.concatenate([x, y])
    if np.ptp(pooled) == 0:
        return
    ours, theirs = mann_whitney_u(x, y, alternative), ss.mannwhitneyu(x, y, alternative=alternative)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12, abs=1e-12)
    assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-7, abs=1e-14)
    assert ours.effect_size == pytest.approx(2 * theirs.statistic / (x.size * y.size) - 1, rel=1e-12, abs=1e-12)
    for method in ("exact", "asymptotic"):
        if method == "exact" and np.unique(pooled).size < pooled.size:
            continue
        forced = mann_whitney_u(x, y, alternative, method=method)
        assert forced.pvalue == pytest.approx(ss.mannwhitneyu(x, y, alternative=alternative, method=method).pvalue,
                                              rel=1e-7, abs=1e-14)


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_permutation_test_agrees_with_scipy_exact_enumeration(alternative):
    x = np.array([4.1, 5.3, 6.0, 5.5, 4.9])
    y = np.array([3.8, 4.0, 5.1, 3.6, 4.4, 4.2])
    exact = ss.permutation_test((x, y), lambda a, b, axis: np.mean(a, axis=axis) - np.mean(b, axis=axis),
                                permutation_type="independent", alternative=alternative, n_resamples=np.inf).pvalue
    ours = permutation_test(x, y, n_resamples=20000, alternative=alternative, generator=cr.Generator().manual_seed(0))
    # A Monte Carlo p-value from 20000 shuffles has standard error √(p(1 − p)/20000) ≤ 0.0036.
    assert abs(ours.pvalue - exact) < 5 * math.sqrt(max(exact * (1 - exact), 1e-4) / 20000) + 1e-4
    assert ours.statistic == pytest.approx(x.mean() - y.mean())
    same = permutation_test(x, y, n_resamples=20000, alternative=alternative, generator=cr.Generator().manual_seed(0))
    assert same.pvalue == ours.pvalue

    d = x[:5] - y[:5]
    exact_paired = ss.permutation_test((x[:5], y[:5]), lambda a, b, axis: np.mean(a - b, axis=axis),
                                       permutation_type="samples", alternative=alternative, n_resamples=np.inf).pvalue
    paired = permutation_test(x[:5], y[:5], n_resamples=20000, alternative=alternative, paired=True,
                              generator=cr.Generator().manual_seed(1))
    assert abs(paired.pvalue - exact_paired) < 5 * math.sqrt(max(exact_paired * (1 - exact_paired), 1e-4) / 20000) + 1e-4
    assert paired.effect_size == pytest.approx(d.mean() / d.std(ddof=1))


@settings(max_examples=25, deadline=None)
@given(b=st.integers(0, 60), c=st.integers(0, 60), both=st.integers(0, 50), neither=st.integers(0, 50))
def test_mcnemar_matches_binomial_and_chi_square_references(b, c, both, neither):
    if b + c == 0:
        return
    ours = mcnemar_test([[both, b], [c, neither]], exact=True)
    assert ours.pvalue == pytest.approx(ss.binomtest(b, b + c, 0.5).pvalue, rel=1e-9)
    asymptotic = mcnemar_test([[both, b], [c, neither]], exact=False)
    assert asymptotic.statistic == pytest.approx(max(abs(b - c) - 1, 0) ** 2 / (b + c))
    assert asymptotic.pvalue == pytest.approx(ss.chi2.sf(asymptotic.statistic, 1), rel=1e-12)
    assert ours.effect_size == (b / c if c else math.inf)
    # The same test from per-item correctness vectors of two classifiers.
    correct_a = np.array([1] * both + [1] * b + [0] * c + [0] * neither)
    correct_b = np.array([1] * both + [0] * b + [1] * c + [0] * neither)
    from_vectors = mcnemar_test(correct_a=cr.tensor(correct_a), correct_b=correct_b.astype(bool), exact=True)
    assert from_vectors.pvalue == ours.pvalue and from_vectors.details["a_only_correct"] == b


@settings(max_examples=20, deadline=None)
@given(data=st.data(), alternative=alternatives)
def test_correlation_tests_match_scipy(data, alternative):
    n = data.draw(st.integers(4, 20))
    x = np.array(data.draw(st.lists(st.integers(-10, 10), min_size=n, max_size=n)), dtype=float)
    y = np.array(data.draw(st.lists(finite, min_size=n, max_size=n)))
    if np.ptp(x) == 0 or np.ptp(y) < 1e-3:
        return
    ours, theirs = correlation_test(x, y, "pearson", alternative), ss.pearsonr(x, y, alternative=alternative)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9, abs=1e-12)
    assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-6, abs=1e-12)
    ours, theirs = correlation_test(x, y, "spearman", alternative), ss.spearmanr(x, y, alternative=alternative)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9, abs=1e-12)
    assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-6, abs=1e-12)


def test_result_objects_read_well():
    result = ttest_independent([5.1, 4.8, 5.6, 5.0], [4.1, 4.4, 3.9, 4.6])
    text = str(result)
    assert text.startswith("two-sample t test (pooled): statistic = ") and "Cohen's d" in text and "df = 6" in text


@pytest.mark.parametrize("call, message", [
    (lambda: ttest_one_sample([1.0]), "ttest_one_sample: x needs at least 2 observations, got 1"),
    (lambda: ttest_one_sample([1.0, 1.0, 1.0]), "zero variance"),
    (lambda: ttest_independent([1.0, 2.0], [1.0, float("nan")]), "ttest_independent: y contains NaN"),
    (lambda: ttest_paired([1.0, 2.0, 3.0], [1.0, 2.0]), "must be paired .* got 3 and 2"),
    (lambda: welch_ttest([1.0, 2.0], [3.0, 4.0], alternative="bigger"), "alternative must be one of"),
    (lambda: t_confidence_interval([1.0, 2.0], level=95), r"level must be in \(0, 1\)"),
    (lambda: bootstrap_confidence_interval([1.0, 2.0], method="magic"), "method must be 'percentile'"),
    (lambda: chi_square_goodness_of_fit([5, 5], [1.0, 0.0]), "every expected count must be > 0"),
    (lambda: chi_square_goodness_of_fit([5, -1]), "non-negative finite counts"),
    (lambda: chi_square_independence([[1, 2, 3]]), "at least 2 rows and 2 columns"),
    (lambda: chi_square_independence([[0, 0], [1, 2]]), "a row or column sums to 0"),
    (lambda: mann_whitney_u([1.0, 1.0], [1.0, 1.0]), "all values are tied"),
    (lambda: permutation_test([1.0, 2.0], [1.0, 2.0, 3.0], paired=True), "same length"),
    (lambda: mcnemar_test([[5, 0], [0, 5]]), "never disagree"),
    (lambda: mcnemar_test(correct_a=[1, 0, 2], correct_b=[1, 0, 1]), "booleans or 0/1"),
    (lambda: mcnemar_test([[1, 2, 3], [4, 5, 6]]), r"must be 2 × 2, got shape \(2, 3\)"),
    (lambda: correlation_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], method="kendall"), "'pearson' or 'spearman'"),
])
def test_bad_input_raises_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
