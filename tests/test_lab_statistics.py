"""Lab statistics: the shaded area is the test's p-value, the coverage is counted, and the model
comparison's McNemar table and bootstrap interval are what the predictions say."""
import numpy
import pytest
import scipy.stats

import chainrule.lab
from lab_helpers import assert_figures


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return chainrule.lab.run("statistics", tmp_path_factory.mktemp("statistics"))


def test_the_shaded_area_is_the_p_value(lab):
    assert_figures(lab)
    group_a, group_b = lab.data["groups"]
    reference = scipy.stats.ttest_ind(group_b, group_a)
    assert abs(lab.numbers["t"] - reference.statistic) < 1e-10 and abs(lab.numbers["pvalue"] - reference.pvalue) < 1e-10
    assert abs(lab.numbers["shaded_area"] - reference.pvalue) < 1e-5
    grid, density = lab.data["null"]
    numpy.testing.assert_allclose(density, scipy.stats.t(lab.numbers["df"]).pdf(grid), rtol=1e-6)


def test_confidence_intervals_are_counted(lab):
    samples, intervals, covers = lab.data["samples"], lab.data["intervals"], lab.data["covers"]
    for sample, ci in zip(samples[:5], intervals[:5]):
        low, high = scipy.stats.t.interval(0.95, len(sample) - 1, loc=sample.mean(), scale=scipy.stats.sem(sample))
        assert abs(ci.low - low) < 1e-10 and abs(ci.high - high) < 1e-10
    counted = sum(ci.low <= 2.0 <= ci.high for ci in intervals)
    assert lab.numbers["coverage"] == counted == int(covers.sum())
    assert scipy.stats.binomtest(counted, len(intervals), 0.95).pvalue > 0.01   # consistent with 95%
    assert f"{counted} of {len(intervals)} intervals cover μ" in open(lab.figures[1], encoding="utf-8").read()


def test_two_models_compared_on_paired_outcomes(lab):
    comparison = lab.data["comparison"]
    a, b = comparison["correct"]["linear"], comparison["correct"]["MLP 2-16-2"]
    table = comparison["table"]
    assert table.sum() == len(a) == len(comparison["y_test"])
    assert table[0, 1] == int(((a == 1) & (b == 0)).sum()) and table[1, 0] == int(((a == 0) & (b == 1)).sum())
    discordant = table[0, 1] + table[1, 0]
    chi2 = (abs(table[0, 1] - table[1, 0]) - 1) ** 2 / discordant
    assert abs(lab.numbers["mcnemar_pvalue"] - scipy.stats.chi2.sf(chi2, 1)) < 1e-12
    low, high = lab.numbers["difference_interval"]
    difference = b.mean() - a.mean()
    assert low < difference < high
    numpy.testing.assert_allclose([low, high], numpy.quantile(comparison["replicates"], [0.025, 0.975]), atol=1e-12)
    # The MLP is the better model on the moons, and both tests say the gap is real.
    assert difference > 0 and low > 0 and lab.numbers["mcnemar_pvalue"] < 1e-3
