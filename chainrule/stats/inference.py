"""Statistical inference: confidence intervals and hypothesis tests, each with an effect size.

A test answers "could chance alone explain this difference?" with a p-value (the
probability, if the null hypothesis held, of a statistic at least as extreme as
the one observed) and says how big the difference is with an effect size, which,
unlike the p-value, does not grow with the sample. The statistics are computed
here; the reference distributions' tail probabilities (t, χ², normal, binomial)
come from scipy.stats.

Typical use, comparing two trained models honestly on one test set:

    >>> from chainrule.stats import mcnemar_test
    >>> result = mcnemar_test(correct_a=[1, 1, 1, 0, 1, 1, 1, 1], correct_b=[1, 0, 0, 0, 1, 0, 1, 0])
    >>> result.statistic, round(result.pvalue, 4)      # A alone right 4 times, B alone right 0 times
    (0.0, 0.125)
"""
import math
from dataclasses import dataclass, field

import numpy

from chainrule.core.random import default_generator
from chainrule.core.tensor import Tensor
from chainrule.stats.descriptive import rankdata



def _scipy_stats():
    """scipy.stats, imported on first use: importing it takes about a second, which ``import chainrule`` should not pay."""
    import scipy.stats
    return scipy.stats


__all__ = [
    "TestResult", "ConfidenceInterval", "t_confidence_interval", "bootstrap_confidence_interval",
    "ttest_one_sample", "ttest_independent", "ttest_paired", "welch_ttest", "chi_square_goodness_of_fit",
    "chi_square_independence", "mann_whitney_u", "permutation_test", "mcnemar_test", "correlation_test",
]

ALTERNATIVES = ("two-sided", "less", "greater")


@dataclass
class TestResult:
    """The outcome of a hypothesis test.

    ``pvalue`` = P(T at least as extreme as ``statistic`` | H₀), in the direction of ``alternative``;
    ``effect_size`` measures the effect on a scale that does not grow with n; ``str()`` sums it up.

    Example:
        >>> from chainrule.stats import ttest_one_sample
        >>> result = ttest_one_sample([5.1, 4.9, 5.3, 5.2], popmean=5.0)     # t = (x̄ − μ₀)/(s/√n)
        >>> round(result.statistic, 4), result.df, round(result.pvalue, 4), result.effect_size_name
        (1.4639, 3, 0.2394, "Cohen's d")
    """

    __test__ = False  # not a pytest test class, despite the name

    name: str                  # which test
    statistic: float           # the test statistic (t, χ², U, ...)
    pvalue: float              # P(a statistic at least this extreme | the null hypothesis)
    effect_size: float         # how large the effect is, independent of n
    effect_size_name: str      # which effect size (Cohen's d, Cramér's V, rank-biserial r, odds ratio, ...)
    df: float = math.nan       # degrees of freedom, where the reference distribution has them
    alternative: str = "two-sided"
    details: dict = field(default_factory=dict)

    def __str__(self):
        df = "" if math.isnan(self.df) else f", df = {self.df:.4g}"
        return (f"{self.name}: statistic = {self.statistic:.4g}{df}, p = {self.pvalue:.4g} ({self.alternative}), "
                f"{self.effect_size_name} = {self.effect_size:.4g}")


@dataclass
class ConfidenceInterval:
    """An interval estimate: ``low ≤ θ ≤ high`` with the stated confidence ``level``.

    The procedure covers the true θ with probability ``level``, P(low ≤ θ ≤ high) = level (exactly for
    the t interval on normal data, approximately otherwise); ``method`` names it ('t', 'bootstrap-bca', ...).

    Example:
        >>> from chainrule.stats import t_confidence_interval
        >>> ci = t_confidence_interval([4.0, 5.0, 6.0])                # x̄ ± t₀.₉₇₅,₂ · s/√n
        >>> ci.estimate, round(ci.low, 4), round(ci.high, 4), ci.level, ci.method
        (5.0, 2.5159, 7.4841, 0.95, 't')
    """

    estimate: float
    low: float
    high: float
    level: float
    method: str


# ----- input handling -----------------------------------------------------------------------------
def _sample(values, function, name="x", min_size=2):
    array = numpy.asarray(values.detach().__array__() if isinstance(values, Tensor) else values, dtype=numpy.float64)
    array = array.ravel()
    if array.size < min_size:
        raise ValueError(f"{function}: {name} needs at least {min_size} observations, got {array.size}")
    if not numpy.isfinite(array).all():
        raise ValueError(f"{function}: {name} contains NaN or infinite values; drop or impute them first")
    return array


def _check_alternative(function, alternative):
    if alternative not in ALTERNATIVES:
        raise ValueError(f"{function}: alternative must be one of {ALTERNATIVES}, got {alternative!r}")


def _check_level(function, level):
    if not 0 < level < 1:
        raise ValueError(f"{function}: level must be in (0, 1), e.g. 0.95, got {level!r}")


def _t_pvalue(t, df, alternative):
    """P-value of a t statistic under Student's t with ``df`` degrees of freedom."""
    if alternative == "less":
        return float(_scipy_stats().t.cdf(t, df))
    if alternative == "greater":
        return float(_scipy_stats().t.sf(t, df))
    return float(min(1.0, 2 * _scipy_stats().t.sf(abs(t), df)))


def _normal_pvalue(z, alternative):
    if alternative == "less":
        return float(_scipy_stats().norm.cdf(z))
    if alternative == "greater":
        return float(_scipy_stats().norm.sf(z))
    return float(min(1.0, 2 * _scipy_stats().norm.sf(abs(z))))


def _on_rows(statistic, *batches):
    """``statistic`` applied to each row of the 2-D ``batches``: one vectorized call when the statistic
    accepts ``axis=-1`` (NumPy's do), else one call per row."""
    try:
        values = numpy.asarray(statistic(*batches, axis=-1), dtype=numpy.float64)
        if values.shape == (batches[0].shape[0],):
            return values
    except TypeError:
        pass
    return numpy.array([float(statistic(*rows)) for rows in zip(*batches)], dtype=numpy.float64)


def _nonzero_spread(function, spread):
    if spread == 0:
        raise ValueError(f"{function}: the data have zero variance, so the t statistic is undefined (0/0)")


# ----- confidence intervals ------------------------------------------------------------------------
def t_confidence_interval(x, level=0.95):
    r"""Student-t interval for a mean: x̄ ± t_{(1+level)/2, n−1} · s/√n.

    Example:
        >>> from chainrule.stats import t_confidence_interval
        >>> ci = t_confidence_interval([4.0, 5.0, 6.0])
        >>> round(ci.low, 4), round(ci.high, 4)
        (2.5159, 7.4841)
    """
    _check_level("t_confidence_interval", level)
    x = _sample(x, "t_confidence_interval")
    n = x.size
    standard_error = x.std(ddof=1) / math.sqrt(n)
    half_width = _scipy_stats().t.ppf(0.5 + level / 2, n - 1) * standard_error
    return ConfidenceInterval(float(x.mean()), float(x.mean() - half_width), float(x.mean() + half_width), level, "t")


def bootstrap_confidence_interval(x, statistic=numpy.mean, level=0.95, n_resamples=9999, method="bca",
                                  generator=None):
    r"""Bootstrap interval for ``statistic(x)``: resample x with replacement, recompute, read off quantiles.

    θ̂*₁..θ̂*_B are the statistic on B resamples (drawn from chainrule's seeded
    ``generator``, so a seed fixes the interval). Methods:
      * "percentile": [q_{α/2}, q_{1−α/2}] of the θ̂*;
      * "basic": [2θ̂ − q_{1−α/2}, 2θ̂ − q_{α/2}];
      * "bca" (bias-corrected and accelerated, Efron 1987): percentile levels
        Φ(z₀ + (z₀ + z)/(1 − a(z₀ + z))) with bias z₀ = Φ⁻¹(#{θ̂* < θ̂}/B) and
        acceleration a from the jackknife, a = Σ(θ̄ − θ̂₍ᵢ₎)³ / (6 [Σ(θ̄ − θ̂₍ᵢ₎)²]^{3/2}).
    ``statistic`` maps a 1-D array to a number; one that accepts ``axis=-1`` (as NumPy's do) is
    evaluated on all resamples at once.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.stats import bootstrap_confidence_interval
        >>> ci = bootstrap_confidence_interval([2.1, 3.4, 1.9, 5.0, 4.2, 3.3], generator=cr.Generator().manual_seed(0))
        >>> ci.low < 3.32 < ci.high
        True
    """
    _check_level("bootstrap_confidence_interval", level)
    if method not in ("percentile", "basic", "bca"):
        raise ValueError(f"bootstrap_confidence_interval: method must be 'percentile', 'basic' or 'bca', got {method!r}")
    x = _sample(x, "bootstrap_confidence_interval")
    n = x.size
    generator = generator or default_generator()
    indices = generator.integers(0, n, (n_resamples, n), numpy.int64)
    replicates = _on_rows(statistic, x[indices])
    estimate = float(statistic(x))
    alpha = 1 - level
    if method == "percentile":
        low, high = numpy.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    elif method == "basic":
        upper_q, lower_q = numpy.quantile(replicates, [1 - alpha / 2, alpha / 2])
        low, high = 2 * estimate - upper_q, 2 * estimate - lower_q
    else:
        bias = _scipy_stats().norm.ppf(numpy.mean(replicates < estimate))
        leave_one_out = numpy.array([statistic(numpy.delete(x, i)) for i in range(n)], dtype=numpy.float64)
        deviations = leave_one_out.mean() - leave_one_out
        denominator = 6 * (deviations ** 2).sum() ** 1.5
        acceleration = (deviations ** 3).sum() / denominator if denominator > 0 else 0.0
        z = _scipy_stats().norm.ppf([alpha / 2, 1 - alpha / 2])
        adjusted = _scipy_stats().norm.cdf(bias + (bias + z) / (1 - acceleration * (bias + z)))
        if not numpy.isfinite(adjusted).all():
            raise ValueError(
                "bootstrap_confidence_interval: the BCa correction is undefined here (every resample gave the same "
                "side of the estimate); use method='percentile' or more varied data"
            )
        low, high = numpy.quantile(replicates, adjusted)
    return ConfidenceInterval(estimate, float(low), float(high), level, f"bootstrap-{method}")


# ----- t tests -----------------------------------------------------------------------------------------
def ttest_one_sample(x, popmean=0.0, alternative="two-sided"):
    r"""One-sample t test of H₀: E[X] = μ₀.

    t = (x̄ − μ₀) / (s/√n) with n − 1 degrees of freedom; effect size Cohen's d = (x̄ − μ₀)/s.

    Example:
        >>> from chainrule.stats import ttest_one_sample
        >>> round(ttest_one_sample([5.1, 4.9, 5.3, 5.2], popmean=5.0).statistic, 4)
        1.4639
    """
    _check_alternative("ttest_one_sample", alternative)
    x = _sample(x, "ttest_one_sample")
    s = x.std(ddof=1)
    _nonzero_spread("ttest_one_sample", s)
    t = (x.mean() - popmean) / (s / math.sqrt(x.size))
    df = x.size - 1
    return TestResult("one-sample t test", float(t), _t_pvalue(t, df, alternative),
                      float((x.mean() - popmean) / s), "Cohen's d", df, alternative,
                      {"mean": float(x.mean()), "standard_error": float(s / math.sqrt(x.size))})


def ttest_independent(x, y, alternative="two-sided"):
    r"""Two-sample t test with pooled variance (Student), H₀: E[X] = E[Y], equal variances assumed.

    s_p² = ((n₁ − 1)s₁² + (n₂ − 1)s₂²)/(n₁ + n₂ − 2),  t = (x̄ − ȳ)/(s_p √(1/n₁ + 1/n₂)),
    df = n₁ + n₂ − 2; effect size Cohen's d = (x̄ − ȳ)/s_p.

    Example:
        >>> from chainrule.stats import ttest_independent
        >>> round(ttest_independent([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]).statistic, 4)
        -3.6742
    """
    _check_alternative("ttest_independent", alternative)
    x, y = _sample(x, "ttest_independent"), _sample(y, "ttest_independent", "y")
    n1, n2 = x.size, y.size
    df = n1 + n2 - 2
    pooled = math.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / df)
    _nonzero_spread("ttest_independent", pooled)
    difference = x.mean() - y.mean()
    t = difference / (pooled * math.sqrt(1 / n1 + 1 / n2))
    return TestResult("two-sample t test (pooled)", float(t), _t_pvalue(t, df, alternative),
                      float(difference / pooled), "Cohen's d", df, alternative,
                      {"mean_difference": float(difference), "pooled_std": pooled})


def welch_ttest(x, y, alternative="two-sided"):
    r"""Welch's t test, H₀: E[X] = E[Y], without assuming equal variances.

    t = (x̄ − ȳ)/√(s₁²/n₁ + s₂²/n₂), with the Welch-Satterthwaite degrees of freedom
    ν = (s₁²/n₁ + s₂²/n₂)² / ((s₁²/n₁)²/(n₁ − 1) + (s₂²/n₂)²/(n₂ − 1));
    effect size Cohen's d with the average variance, (x̄ − ȳ)/√((s₁² + s₂²)/2).

    Example:
        >>> from chainrule.stats import welch_ttest
        >>> round(welch_ttest([1.0, 2.0, 3.0], [4.0, 6.0, 8.0]).df, 4)
        2.9412
    """
    _check_alternative("welch_ttest", alternative)
    x, y = _sample(x, "welch_ttest"), _sample(y, "welch_ttest", "y")
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    _nonzero_spread("welch_ttest", vx + vy)
    difference = x.mean() - y.mean()
    t = difference / math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx ** 2 / (x.size - 1) + vy ** 2 / (y.size - 1))
    d = difference / math.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
    return TestResult("Welch's t test", float(t), _t_pvalue(t, df, alternative), float(d), "Cohen's d (average variance)",
                      float(df), alternative, {"mean_difference": float(difference)})


def ttest_paired(x, y, alternative="two-sided"):
    r"""Paired t test, H₀: E[X − Y] = 0, for two measurements of the same units.

    With dᵢ = xᵢ − yᵢ: t = d̄/(s_d/√n), df = n − 1; effect size Cohen's d_z = d̄/s_d.

    Example:
        >>> from chainrule.stats import ttest_paired
        >>> round(ttest_paired([2.0, 3.0, 5.0], [1.0, 1.5, 3.0]).statistic, 4)
        5.1962
    """
    _check_alternative("ttest_paired", alternative)
    x, y = _sample(x, "ttest_paired"), _sample(y, "ttest_paired", "y")
    if x.size != y.size:
        raise ValueError(f"ttest_paired: x and y must be paired (the same length), got {x.size} and {y.size}")
    d = x - y
    s = d.std(ddof=1)
    _nonzero_spread("ttest_paired", s)
    t = d.mean() / (s / math.sqrt(d.size))
    return TestResult("paired t test", float(t), _t_pvalue(t, d.size - 1, alternative), float(d.mean() / s),
                      "Cohen's d_z", d.size - 1, alternative, {"mean_difference": float(d.mean())})


# ----- chi-square tests -----------------------------------------------------------------------------
def _counts(values, function, name, ndim):
    array = numpy.asarray(values.detach().__array__() if isinstance(values, Tensor) else values, dtype=numpy.float64)
    if array.ndim != ndim:
        raise ValueError(f"{function}: {name} must be {ndim}-D, got shape {array.shape}")
    if (array < 0).any() or not numpy.isfinite(array).all():
        raise ValueError(f"{function}: {name} must hold non-negative finite counts")
    return array


def chi_square_goodness_of_fit(observed, expected=None, ddof=0):
    r"""Pearson's χ² goodness-of-fit test, H₀: the counts follow the expected proportions.

    χ² = Σₖ (Oₖ − Eₖ)²/Eₖ with k − 1 − ddof degrees of freedom (ddof: parameters
    estimated from the data). ``expected`` holds counts or proportions (rescaled to
    the observed total); uniform if omitted. Effect size Cohen's w = √(χ²/n).

    Example:
        >>> from chainrule.stats import chi_square_goodness_of_fit
        >>> chi_square_goodness_of_fit([10, 20, 30]).statistic
        10.0
    """
    observed = _counts(observed, "chi_square_goodness_of_fit", "observed", 1)
    total = observed.sum()
    if observed.size < 2 or total <= 0:
        raise ValueError("chi_square_goodness_of_fit: need at least 2 categories and a positive total count")
    if expected is None:
        expected = numpy.full(observed.size, total / observed.size)
    else:
        expected = _counts(expected, "chi_square_goodness_of_fit", "expected", 1)
        if expected.shape != observed.shape:
            raise ValueError(
                f"chi_square_goodness_of_fit: observed and expected need the same number of categories, "
                f"got {observed.size} and {expected.size}"
            )
        if (expected == 0).any():
            raise ValueError("chi_square_goodness_of_fit: every expected count must be > 0 (merge empty categories)")
        expected = expected * (total / expected.sum())
    df = observed.size - 1 - ddof
    if df < 1:
        raise ValueError(f"chi_square_goodness_of_fit: {observed.size} categories with ddof={ddof} leave no degrees of freedom")
    statistic = float(((observed - expected) ** 2 / expected).sum())
    return TestResult("chi-square goodness of fit", statistic, float(_scipy_stats().chi2.sf(statistic, df)),
                      math.sqrt(statistic / total), "Cohen's w", df, "two-sided", {"expected": expected})


def chi_square_independence(table, correction=True):
    r"""Pearson's χ² test of independence for an r × c contingency table.

    Eᵢⱼ = (row i total)(column j total)/n, χ² = Σ (Oᵢⱼ − Eᵢⱼ)²/Eᵢⱼ with (r − 1)(c − 1)
    degrees of freedom. For a 2 × 2 table ``correction`` applies Yates' continuity
    correction, |O − E| → max(0, |O − E| − ½), as scipy.stats.chi2_contingency does.
    Effect size Cramér's V = √(χ²/(n (min(r, c) − 1))) from the uncorrected χ².

    Example:
        >>> from chainrule.stats import chi_square_independence
        >>> round(chi_square_independence([[10, 20], [20, 10]], correction=False).statistic, 4)
        6.6667
    """
    table = _counts(table, "chi_square_independence", "table", 2)
    if min(table.shape) < 2:
        raise ValueError(f"chi_square_independence: the table needs at least 2 rows and 2 columns, got shape {table.shape}")
    total = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / total
    if (expected == 0).any():
        raise ValueError("chi_square_independence: a row or column sums to 0; remove it first")
    df = (table.shape[0] - 1) * (table.shape[1] - 1)
    deviation = numpy.abs(table - expected)
    uncorrected = float((deviation ** 2 / expected).sum())
    if correction and df == 1:
        deviation = numpy.maximum(deviation - 0.5, 0.0)
    statistic = float((deviation ** 2 / expected).sum())
    cramers_v = math.sqrt(uncorrected / (total * (min(table.shape) - 1)))
    return TestResult("chi-square test of independence", statistic, float(_scipy_stats().chi2.sf(statistic, df)),
                      cramers_v, "Cramér's V", df, "two-sided", {"expected": expected})


# ----- rank and resampling tests ------------------------------------------------------------------
def _exact_u_distribution(n1, n2):
    """Counts of the Mann-Whitney U over all C(n1+n2, n1) arrangements, by the recursion
    c(u; m, n) = c(u − n; m − 1, n) + c(u; m, n − 1) (the largest value is an x or a y)."""
    table = {}
    for m in range(n1 + 1):
        for n in range(n2 + 1):
            counts = numpy.zeros(m * n + 1)
            if m == 0 or n == 0:
                counts[0] = 1
            else:
                counts[n:] += table[(m - 1, n)]
                counts[: (m * (n - 1)) + 1] += table[(m, n - 1)]
            table[(m, n)] = counts
    return table[(n1, n2)]


def mann_whitney_u(x, y, alternative="two-sided", method="auto"):
    r"""Mann-Whitney U (Wilcoxon rank-sum) test, H₀: X and Y have the same distribution.

    U₁ = R₁ − n₁(n₁ + 1)/2 with R₁ the sum of x's ranks in the pooled sample (ties
    averaged). "exact" counts all arrangements (no ties); "asymptotic" uses
    z = (U₁ − n₁n₂/2 ∓ ½)/σ_U with the tie-corrected σ_U² = n₁n₂/12 ((n + 1) − Σ(t³ − t)/(n(n − 1)));
    "auto" picks exact when both samples have at most 8 values and there are no ties
    (scipy.stats.mannwhitneyu's rule). Effect size: rank-biserial r = 2U₁/(n₁n₂) − 1.

    Example:
        >>> from chainrule.stats import mann_whitney_u
        >>> mann_whitney_u([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]).statistic
        0.0
    """
    _check_alternative("mann_whitney_u", alternative)
    if method not in ("auto", "exact", "asymptotic"):
        raise ValueError(f"mann_whitney_u: method must be 'auto', 'exact' or 'asymptotic', got {method!r}")
    x, y = _sample(x, "mann_whitney_u", min_size=1), _sample(y, "mann_whitney_u", "y", min_size=1)
    n1, n2 = x.size, y.size
    pooled = numpy.concatenate([x, y])
    ranks = rankdata(pooled)
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    _, tie_counts = numpy.unique(pooled, return_counts=True)
    has_ties = (tie_counts > 1).any()
    if method == "auto":
        method = "exact" if max(n1, n2) <= 8 and not has_ties else "asymptotic"
    if method == "exact":
        counts = _exact_u_distribution(n1, n2)
        probabilities = counts / counts.sum()
        at_most = probabilities[: int(math.floor(u1)) + 1].sum()
        at_least = probabilities[int(math.ceil(u1)):].sum()
        pvalue = {"less": at_most, "greater": at_least, "two-sided": min(1.0, 2 * min(at_most, at_least))}[alternative]
    else:
        n = n1 + n2
        tie_term = (tie_counts ** 3 - tie_counts).sum() / (n * (n - 1))
        sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term))
        if sigma == 0:
            raise ValueError("mann_whitney_u: all values are tied, so the test is undefined")
        centered = u1 - n1 * n2 / 2
        if alternative == "two-sided":
            z = (abs(centered) - 0.5) / sigma
            pvalue = min(1.0, 2 * _scipy_stats().norm.sf(z))
        elif alternative == "greater":
            pvalue = _scipy_stats().norm.sf((centered - 0.5) / sigma)
        else:
            pvalue = _scipy_stats().norm.cdf((centered + 0.5) / sigma)
    return TestResult("Mann-Whitney U test", u1, float(pvalue), 2 * u1 / (n1 * n2) - 1, "rank-biserial r",
                      math.nan, alternative, {"method": method, "common_language_effect": u1 / (n1 * n2)})


def _mean_difference(x, y, axis=-1):
    return numpy.mean(x, axis=axis) - numpy.mean(y, axis=axis)


def permutation_test(x, y, statistic=_mean_difference, n_resamples=9999, alternative="two-sided", paired=False,
                     generator=None):
    r"""A permutation test of H₀: the group labels (or, paired, the signs of the differences) are exchangeable.

    Unpaired: shuffle the pooled values between the two groups; paired: flip the
    sign of each difference xᵢ − yᵢ at random. With T the observed statistic and
    T*₁..T*_B the permuted ones, p = (1 + #{T* at least as extreme as T})/(B + 1),
    which is never 0 and is valid at any B. Draws come from the seeded ``generator``.
    ``statistic(x, y)`` defaults to the difference of means (for paired data it receives
    the signed differences and zeros); one that accepts ``axis=-1`` runs on all permutations at once. Effect size: Cohen's d (d_z when paired).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.stats import permutation_test
        >>> result = permutation_test([5.1, 6.2, 5.8, 6.5], [3.9, 4.4, 4.1, 5.0], generator=cr.Generator().manual_seed(0))
        >>> result.pvalue < 0.05
        True
    """
    _check_alternative("permutation_test", alternative)
    x, y = _sample(x, "permutation_test"), _sample(y, "permutation_test", "y")
    generator = generator or default_generator()
    if paired:
        if x.size != y.size:
            raise ValueError(f"permutation_test: paired samples must have the same length, got {x.size} and {y.size}")
        differences = x - y
        zeros = numpy.zeros_like(differences)
        observed = float(statistic(differences, zeros))
        signs = generator.integers(0, 2, (n_resamples, differences.size), numpy.float64) * 2 - 1
        permuted = _on_rows(statistic, signs * differences, numpy.zeros_like(signs))
        spread = differences.std(ddof=1)
        effect, effect_name = (differences.mean() / spread if spread > 0 else math.nan), "Cohen's d_z"
    else:
        pooled = numpy.concatenate([x, y])
        observed = float(statistic(x, y))
        orders = numpy.argsort(generator.uniform((n_resamples, pooled.size), 0.0, 1.0, numpy.float64), axis=-1)
        shuffled = pooled[orders]
        permuted = _on_rows(statistic, shuffled[:, :x.size], shuffled[:, x.size:])
        df = x.size + y.size - 2
        pooled_std = math.sqrt(((x.size - 1) * x.var(ddof=1) + (y.size - 1) * y.var(ddof=1)) / df)
        effect = (x.mean() - y.mean()) / pooled_std if pooled_std > 0 else math.nan
        effect_name = "Cohen's d"
    # A relative tolerance so that permutations equal to the observed statistic up to rounding count as "as extreme".
    tolerance = 1e-12 * max(1.0, abs(observed))
    if alternative == "greater":
        extreme = permuted >= observed - tolerance
    elif alternative == "less":
        extreme = permuted <= observed + tolerance
    else:
        extreme = numpy.abs(permuted) >= abs(observed) - tolerance
    pvalue = (extreme.sum() + 1) / (n_resamples + 1)
    return TestResult("permutation test" + (" (paired)" if paired else ""), observed, float(pvalue), float(effect),
                      effect_name, math.nan, alternative, {"n_resamples": n_resamples})


def mcnemar_test(table=None, correct_a=None, correct_b=None, exact=None, correction=True):
    r"""McNemar's test: do two classifiers, scored on the same test set, have the same error rate?

    Only the discordant items matter: b = #(A right, B wrong), c = #(A wrong, B right).
    Under H₀ each discordant item is a fair coin, so the exact p-value is the two-sided
    binomial tail 2·P(Bin(b + c, ½) ≤ min(b, c)); the asymptotic one uses
    χ² = (|b − c| − 1)²/(b + c) with 1 degree of freedom (without the −1 if not
    ``correction``). ``exact=None`` picks exact when b + c < 25. Give either the 2 × 2
    ``table`` [[both right, A only], [B only, both wrong]] or the per-item correctness
    vectors ``correct_a`` and ``correct_b`` (booleans or 0/1). Effect size: the odds ratio b/c.

    Example:
        >>> from chainrule.stats import mcnemar_test
        >>> round(mcnemar_test([[50, 15], [5, 30]]).pvalue, 4)
        0.0414
    """
    if table is not None and (correct_a is not None or correct_b is not None):
        raise ValueError("mcnemar_test: pass either table= or correct_a= and correct_b=, not both")
    if table is None:
        if correct_a is None or correct_b is None:
            raise ValueError("mcnemar_test: pass a 2 × 2 table, or both correct_a= and correct_b=")
        a = _sample(correct_a, "mcnemar_test", "correct_a", min_size=1)
        b = _sample(correct_b, "mcnemar_test", "correct_b", min_size=1)
        if a.size != b.size:
            raise ValueError(f"mcnemar_test: correct_a and correct_b must score the same items, got {a.size} and {b.size}")
        if not (numpy.isin(a, (0, 1)).all() and numpy.isin(b, (0, 1)).all()):
            raise ValueError("mcnemar_test: correct_a and correct_b must be booleans or 0/1 (was each item right?)")
        table = [[numpy.sum((a == 1) & (b == 1)), numpy.sum((a == 1) & (b == 0))],
                 [numpy.sum((a == 0) & (b == 1)), numpy.sum((a == 0) & (b == 0))]]
    table = _counts(table, "mcnemar_test", "table", 2)
    if table.shape != (2, 2):
        raise ValueError(f"mcnemar_test: the table must be 2 × 2, got shape {table.shape}")
    only_a, only_b = table[0, 1], table[1, 0]
    discordant = only_a + only_b
    if discordant == 0:
        raise ValueError("mcnemar_test: the two classifiers never disagree, so there is nothing to test")
    if exact is None:
        exact = discordant < 25
    if exact:
        statistic = float(min(only_a, only_b))
        pvalue = min(1.0, 2 * _scipy_stats().binom.cdf(statistic, discordant, 0.5))
        df = math.nan
    else:
        shift = 1.0 if correction else 0.0
        statistic = float(max(abs(only_a - only_b) - shift, 0.0) ** 2 / discordant)
        pvalue = _scipy_stats().chi2.sf(statistic, 1)
        df = 1
    odds_ratio = only_a / only_b if only_b > 0 else math.inf
    return TestResult("McNemar's test", statistic, float(pvalue), float(odds_ratio), "odds ratio (A only / B only)",
                      df, "two-sided", {"a_only_correct": float(only_a), "b_only_correct": float(only_b),
                                        "exact": bool(exact)})


def correlation_test(x, y, method="pearson", alternative="two-sided"):
    r"""Test H₀: no correlation, with Pearson's r or Spearman's ρ.

    t = r √((n − 2)/(1 − r²)) with n − 2 degrees of freedom (exact for Pearson under
    normality; the usual approximation for Spearman, as scipy.stats.spearmanr). The
    effect size is the correlation itself.

    Example:
        >>> from chainrule.stats import correlation_test
        >>> round(correlation_test([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]).statistic, 4)
        0.8
    """
    _check_alternative("correlation_test", alternative)
    if method not in ("pearson", "spearman"):
        raise ValueError(f"correlation_test: method must be 'pearson' or 'spearman', got {method!r}")
    x, y = _sample(x, "correlation_test", min_size=3), _sample(y, "correlation_test", "y", min_size=3)
    if x.size != y.size:
        raise ValueError(f"correlation_test: x and y must be paired (the same length), got {x.size} and {y.size}")
    if method == "spearman":
        x, y = rankdata(x), rankdata(y)
    dx, dy = x - x.mean(), y - y.mean()
    spread = math.sqrt((dx * dx).sum() * (dy * dy).sum())
    if spread == 0:
        raise ValueError("correlation_test: x or y is constant, so the correlation is undefined")
    r = float(numpy.clip((dx * dy).sum() / spread, -1.0, 1.0))
    df = x.size - 2
    if abs(r) == 1.0:
        pvalue = 0.0 if alternative == "two-sided" or (r > 0) == (alternative == "greater") else 1.0
    else:
        pvalue = _t_pvalue(r * math.sqrt(df / (1 - r * r)), df, alternative)
    name = "Pearson correlation test" if method == "pearson" else "Spearman correlation test"
    return TestResult(name, r, pvalue, r, "r" if method == "pearson" else "ρ", df, alternative)
