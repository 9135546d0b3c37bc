"""Lab information: the coin's entropy curve, H(p, q) = H(p) + KL(p ‖ q), and cross-entropy minimised at the MLE."""
import numpy
import pytest
import scipy.stats

import chainrule.lab
from chainrule.lab.information import MODELS, TRUE_P
from lab_helpers import assert_figures


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return chainrule.lab.run("information", tmp_path_factory.mktemp("information"))


def test_entropy_and_the_decomposition(lab):
    assert_figures(lab)
    p_grid, curve = lab.data["p_grid"], lab.data["coin_entropy"]
    numpy.testing.assert_allclose(curve, [scipy.stats.entropy([p, 1 - p], base=2) for p in p_grid], atol=1e-12)
    assert p_grid[numpy.argmax(curve)] == 0.5 and lab.numbers["fair_coin_bits"] == 1.0 and curve[0] == curve[-1] == 0
    entropy_p = scipy.stats.entropy(TRUE_P, base=2)
    assert abs(lab.numbers["entropy_p_bits"] - entropy_p) < 1e-12
    for name, q in MODELS.items():
        d = lab.numbers["decomposition"][name]
        assert abs(d["kl"] - scipy.stats.entropy(TRUE_P, q, base=2)) < 1e-12
        assert abs(d["cross_entropy"] - (entropy_p + d["kl"])) < 1e-12
    kls = [lab.numbers["decomposition"][name]["kl"] for name in MODELS]
    assert kls == sorted(kls) and kls[0] > 0          # the bars grow from the close model to the far one


def test_cross_entropy_is_maximum_likelihood(lab):
    flips, q_grid = lab.data["flips"], lab.data["q_grid"]
    by_hand = -numpy.mean(flips[None, :] * numpy.log(q_grid[:, None]) + (1 - flips[None, :]) * numpy.log(1 - q_grid[:, None]), 1)
    numpy.testing.assert_allclose(lab.data["nll"], by_hand, rtol=1e-12)
    numpy.testing.assert_allclose(lab.data["cross_entropy_curve"], by_hand, rtol=1e-12)
    empirical = flips.mean()
    assert abs(q_grid[numpy.argmin(by_hand)] - empirical) <= 0.01
    assert abs(lab.numbers["gradient_descent_q"] - empirical) < 1e-6
