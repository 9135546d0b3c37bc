"""Lab softmax: temperature limits, the Jacobian diag(s) − ssᵀ, and the naive formula overflowing where
the shifted one does not."""
import numpy
import pytest
import scipy.special

import chainrule.lab
from chainrule.lab.softmax import LOGITS
from lab_helpers import assert_figures


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return chainrule.lab.run("softmax", tmp_path_factory.mktemp("softmax"))


def test_temperature_sweeps_one_hot_to_uniform(lab):
    assert_figures(lab)
    z = numpy.array(LOGITS)
    for t, p in zip(lab.data["temperatures"], lab.data["probabilities"]):
        numpy.testing.assert_allclose(p, scipy.special.softmax(z / t), rtol=1e-12, atol=1e-300)
    assert lab.data["probabilities"][0, 0] > 1 - 1e-8                     # T = 0.05: one-hot on the largest z
    assert abs(lab.data["entropies"][-1] - numpy.log(len(z))) < 1e-3      # T = 50: nearly uniform
    assert numpy.all(numpy.diff(lab.data["entropies"]) > 0)               # entropy grows with T


def test_the_jacobian_is_diag_s_minus_s_s_transpose(lab):
    s = scipy.special.softmax(numpy.array(LOGITS))
    numpy.testing.assert_allclose(lab.data["jacobian"], numpy.diag(s) - numpy.outer(s, s), atol=1e-15)
    numpy.testing.assert_allclose(lab.data["jacobian"].sum(1), 0, atol=1e-15)


def test_log_sum_exp_naive_overflows_and_stable_does_not(lab):
    scales, naive, stable = lab.data["scales"], lab.data["naive"], lab.data["stable"]
    rows = scales[:, None] * numpy.array([1.0, 0.5, 0.0])
    numpy.testing.assert_allclose(stable, scipy.special.logsumexp(rows, axis=1), rtol=1e-14)
    overflowing = scales > numpy.log(numpy.finfo(float).max)
    assert numpy.all(numpy.isinf(naive[overflowing])) and numpy.all(numpy.isfinite(naive[~overflowing]))
    assert numpy.isnan(lab.data["naive_probabilities"][overflowing, 0]).all()
    numpy.testing.assert_allclose(lab.data["stable_probabilities"], scipy.special.softmax(rows, axis=1), atol=1e-15)
    assert 709 < lab.numbers["overflow_scale"] < 713
