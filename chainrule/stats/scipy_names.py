"""SciPy's names for chainrule's tests: ``pearsonr``, ``spearmanr``, ``kendalltau``, ``ttest_ind``.

Each returns what SciPy returns in shape: a pair ``(statistic, pvalue)`` that unpacks as
``r, p = pearsonr(x, y)`` and also answers ``.statistic``, ``.pvalue`` (and ``.df`` where the
reference distribution has one); ``.test`` holds chainrule's full ``TestResult`` (effect size,
alternative). The numbers are SciPy's (tests/test_parity_stats.py compares them).
"""
import math

import numpy

from chainrule.stats.inference import (
    TestResult, _check_alternative, _normal_pvalue, _sample, correlation_test, ttest_independent, welch_ttest,
)

__all__ = ["SciPyResult", "kendalltau", "pearsonr", "spearmanr", "ttest_ind"]


class SciPyResult(tuple):
    """``(statistic, pvalue)`` as SciPy's result objects unpack, with ``.statistic``, ``.pvalue``, ``.df``, ``.test``.

    Example:
        >>> from chainrule.stats import pearsonr
        >>> r, p = pearsonr([1, 2, 3, 4], [1, 3, 2, 4])
        >>> round(r, 4), round(p, 4)
        (0.8, 0.2)
    """

    def __new__(cls, test):
        result = super().__new__(cls, (test.statistic, test.pvalue))
        result.test = test
        return result

    @property
    def statistic(self):
        return self[0]

    @property
    def pvalue(self):
        return self[1]

    @property
    def df(self):
        return self.test.df

    @property
    def correlation(self):
        return self[0]

    def __repr__(self):
        return f"SciPyResult(statistic={self[0]!r}, pvalue={self[1]!r})"


def pearsonr(x, y, *, alternative="two-sided"):
    """Pearson's r and the p-value of H₀: ρ = 0, as ``scipy.stats.pearsonr``.

    r = Σ(xᵢ − x̄)(yᵢ − ȳ) / √(Σ(xᵢ − x̄)² Σ(yᵢ − ȳ)²); t = r √((n − 2)/(1 − r²)) ~ t(n − 2).

    Example:
        >>> from chainrule.stats import pearsonr
        >>> round(pearsonr([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]).statistic, 4)
        0.8
    """
    return SciPyResult(correlation_test(x, y, "pearson", alternative))


def spearmanr(a, b, *, alternative="two-sided"):
    """Spearman's ρ (Pearson's r of the ranks, ties averaged) and its t-approximation p-value, as SciPy.

    Example:
        >>> from chainrule.stats import spearmanr
        >>> rho, p = spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])
        >>> round(rho, 4)
        0.8208
    """
    return SciPyResult(correlation_test(a, b, "spearman", alternative))


def _tie_counts(values):
    """Σ t(t−1)/2, Σ t(t−1)(t−2), Σ t(t−1)(2t+5) over the groups of t equal values (SciPy's tie terms)."""
    _, counts = numpy.unique(values, return_counts=True)
    counts = [int(c) for c in counts if c > 1]
    return (sum(c * (c - 1) // 2 for c in counts), sum(c * (c - 1) * (c - 2) for c in counts),
            sum(c * (c - 1) * (2 * c + 5) for c in counts))


def _inversion_counts(n):
    """How many permutations of n items have k inversions, k = 0..n(n−1)/2 (Mahonian numbers, exact integers)."""
    counts = [1]
    for size in range(2, n + 1):
        longer = [0] * (len(counts) + size - 1)
        for k, ways in enumerate(counts):
            for extra in range(size):
                longer[k + extra] += ways
        counts = longer
    return counts


def kendalltau(x, y, *, alternative="two-sided", method="auto"):
    """Kendall's τ-b and its p-value, as ``scipy.stats.kendalltau``.

    τ_b = (C − D) / √((n₀ − n₁)(n₀ − n₂)): C, D the concordant and discordant pairs, n₀ = n(n−1)/2,
    n₁, n₂ the pairs tied in x, in y. The p-value is exact (the distribution of inversions) without
    ties when n ≤ 33 (``method='auto'``), else from the normal approximation with SciPy's tie-corrected variance.

    Example:
        >>> from chainrule.stats import kendalltau
        >>> tau, p = kendalltau([1, 2, 3, 4, 5], [3, 1, 2, 5, 4])
        >>> round(tau, 4), round(p, 4)
        (0.4, 0.4833)
    """
    _check_alternative("kendalltau", alternative)
    if method not in ("auto", "exact", "asymptotic"):
        raise ValueError(f"kendalltau: method must be 'auto', 'exact' or 'asymptotic', got {method!r}")
    x, y = _sample(x, "kendalltau", min_size=2), _sample(y, "kendalltau", "y", min_size=2)
    if x.size != y.size:
        raise ValueError(f"kendalltau: x and y must be paired (the same length), got {x.size} and {y.size}")
    n = x.size
    total = n * (n - 1) // 2
    score = discordant = 0                      # score = C − D over all pairs; ties count 0
    for i in range(n - 1):
        product = numpy.sign(x[i + 1:] - x[i]) * numpy.sign(y[i + 1:] - y[i])
        score += int(product.sum())
        discordant += int((product < 0).sum())
    x_ties, x_t2, x_t5 = _tie_counts(x)
    y_ties, y_t2, y_t5 = _tie_counts(y)
    if x_ties == total or y_ties == total:
        raise ValueError("kendalltau: x or y is constant, so τ is undefined")
    tau = max(-1.0, min(1.0, score / math.sqrt(total - x_ties) / math.sqrt(total - y_ties)))
    tied = x_ties or y_ties
    if method == "exact" and tied:
        raise ValueError("kendalltau: the exact p-value needs data without ties; use method='asymptotic'")
    if method == "exact" or (method == "auto" and not tied and (n <= 33 or min(discordant, total - discordant) <= 1)):
        counts = _inversion_counts(n)
        below = lambda k: sum(counts[:k + 1]) / math.factorial(n)      # P(D ≤ k) under H₀  # noqa: E731
        if alternative == "greater":
            pvalue = below(discordant)
        elif alternative == "less":
            pvalue = below(total - discordant)
        else:
            pvalue = min(1.0, 2 * below(min(discordant, total - discordant)))
        used = "exact"
    else:
        pairs = n * (n - 1.0)
        variance = ((pairs * (2 * n + 5) - x_t5 - y_t5) / 18 + 2 * x_ties * y_ties / pairs
                    + x_t2 * y_t2 / (9 * pairs * (n - 2)))
        pvalue = _normal_pvalue(score / math.sqrt(variance), alternative)
        used = "asymptotic"
    return SciPyResult(TestResult("Kendall's tau-b", float(tau), float(pvalue), float(tau), "τ-b", math.nan,
                                  alternative, {"method": used, "concordant_minus_discordant": score}))


def ttest_ind(a, b, *, equal_var=True, alternative="two-sided"):
    """The two-sample t test of SciPy's name: pooled variance (``equal_var=True``) or Welch's (``False``).

    Example:
        >>> from chainrule.stats import ttest_ind
        >>> t, p = ttest_ind([5.1, 4.8, 5.6, 5.0], [4.1, 4.4, 3.9, 4.6, 4.0], equal_var=False)
        >>> round(t, 4), round(p, 4)
        (4.3148, 0.005)
    """
    test = ttest_independent(a, b, alternative) if equal_var else welch_ttest(a, b, alternative)
    return SciPyResult(test)
