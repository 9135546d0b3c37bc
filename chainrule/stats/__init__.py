"""Statistics: describe data, and decide honestly whether a difference is real.

    descriptive.py   mean, variance, std, quantile, median, skewness, kurtosis, covariance,
                     pearson_correlation, spearman_correlation, histogram (tensors; moments and
                     quantiles are differentiable)
    inference.py     confidence intervals (t, bootstrap) and tests (t tests, χ², Mann-Whitney U,
                     permutation, McNemar, correlation), each returning a ``TestResult`` with the
                     statistic, the p-value and an effect size
    scipy_names.py   SciPy's names: pearsonr, spearmanr, kendalltau, ttest_ind(equal_var=)

Inputs may be tensors, NumPy arrays or lists. Resampling (bootstrap, permutation)
draws from chainrule's seeded generators, so a seed fixes the result.

    >>> from chainrule.stats import ttest_independent
    >>> result = ttest_independent([5.1, 4.8, 5.6, 5.0], [4.1, 4.4, 3.9, 4.6])
    >>> result.pvalue < 0.05, result.effect_size_name
    (True, "Cohen's d")
"""
from chainrule.stats.descriptive import (
    covariance, histogram, kurtosis, mean, median, pearson_correlation, quantile, rankdata, skewness,
    spearman_correlation, std, variance,
)
from chainrule.stats.inference import (
    ConfidenceInterval, TestResult, bootstrap_confidence_interval, chi_square_goodness_of_fit,
    chi_square_independence, correlation_test, mann_whitney_u, mcnemar_test, permutation_test, t_confidence_interval,
    ttest_independent, ttest_one_sample, ttest_paired, welch_ttest,
)
from chainrule.stats.scipy_names import SciPyResult, kendalltau, pearsonr, spearmanr, ttest_ind

__all__ = [
    "mean", "variance", "std", "quantile", "median", "skewness", "kurtosis", "covariance", "pearson_correlation",
    "spearman_correlation", "rankdata", "histogram",
    "TestResult", "ConfidenceInterval", "t_confidence_interval", "bootstrap_confidence_interval",
    "ttest_one_sample", "ttest_independent", "welch_ttest", "ttest_paired", "chi_square_goodness_of_fit",
    "chi_square_independence", "mann_whitney_u", "permutation_test", "mcnemar_test", "correlation_test",
    "SciPyResult", "pearsonr", "spearmanr", "kendalltau", "ttest_ind",
]
