"""Labs derivatives, taylor, integrals and limits: the numbers drawn are checked against the math."""
import math

import numpy
import pytest
import scipy.optimize

import chainrule.lab


@pytest.fixture(scope="module")
def labs(tmp_path_factory):
    out = tmp_path_factory.mktemp("calculus")
    return {topic: chainrule.lab.run(topic, out) for topic in ("derivatives", "taylor", "integrals", "limits")}


def test_derivatives_autodiff_is_exact_and_the_error_curve_is_a_v(labs):
    result = labs["derivatives"]
    x = result.data["x"]
    numpy.testing.assert_allclose(result.data["autodiff"], numpy.cos(x) * numpy.exp(numpy.sin(x)), rtol=1e-14, atol=1e-15)
    # f'' and f''' at x₀ = 1 by autodiff, against the formulas (c² − s)eˢ and c(c² − 3s − 1)eˢ.
    s, c = math.sin(1.0), math.cos(1.0)
    higher = result.numbers["higher_derivatives_at_x0"]
    assert abs(higher["f2"] - abs((c * c - s) * math.exp(s))) < 1e-13
    assert abs(higher["f3"] - abs(c * (c * c - 3 * s - 1) * math.exp(s))) < 1e-13
    # The central-difference error curve has its bottom within a decade of h* = (3ε|f|/|f'''|)^(1/3) ...
    eps = numpy.finfo(float).eps
    theory = (3 * eps * math.exp(s) / abs(c * (c * c - 3 * s - 1) * math.exp(s))) ** (1 / 3)
    assert abs(result.numbers["theoretical_best_step"]["central"] - theory) < 1e-12 * theory
    assert abs(math.log10(result.numbers["measured_best_step"]["central"] / theory)) < 1.0
    # ... and the forward one within two decades of 2√(ε|f|/|f''|), where rounding often cancels.
    forward = 2 * math.sqrt(eps * math.exp(s) / abs((c * c - s) * math.exp(s)))
    assert abs(math.log10(result.numbers["measured_best_step"]["forward"] / forward)) < 2.0
    errors = result.data["errors"]["central"]
    assert errors[0] > 1e4 * errors.min() and errors[-1] > 1e3 * errors.min()     # both arms of the V


def test_taylor_coefficients_and_remainder_slopes(labs):
    result = labs["taylor"]
    x0 = 0.5
    expected = [math.sin(x0 + k * math.pi / 2) / math.factorial(k) for k in range(8)]
    numpy.testing.assert_allclose(result.numbers["coefficients"], expected, rtol=1e-12, atol=1e-16)
    for order, slope in result.numbers["remainder_slopes"].items():
        assert abs(slope - (order + 1)) < 0.2, (order, slope)


def test_integrals_converge_at_their_rates(labs):
    result = labs["integrals"]
    assert abs(result.numbers["slopes"]["trapezoid"] + 2) < 0.05
    assert abs(result.numbers["slopes"]["Simpson"] + 4) < 0.15
    assert result.numbers["gauss_error_10_nodes"] < 1e-12
    errors = result.data["errors"]["trapezoid"]
    # Trapezoid on sin over [0, π]: error = 2 − (π/n) cot(π/2n) exactly.
    ns = result.data["ns"]
    numpy.testing.assert_allclose(errors, 2 - (numpy.pi / ns) / numpy.tan(numpy.pi / (2 * ns)), rtol=1e-6)
    assert abs(result.numbers["monte_carlo_slope"] + 0.5) < 0.12
    sigma = math.sqrt(math.pi ** 2 / 2 - 4)
    ratio = result.data["mc_rms"] / (sigma / numpy.sqrt(result.data["mc_ns"]))
    assert numpy.all((ratio > 0.5) & (ratio < 1.6))
    numpy.testing.assert_allclose(result.data["mc_predicted"], sigma / numpy.sqrt(result.data["mc_ns"]), rtol=0.05)


def test_limits_and_their_rates(labs):
    result = labs["limits"]
    root = scipy.optimize.brentq(lambda x: x - math.cos(x), 0, 1, xtol=1e-15)
    assert abs(result.numbers["fixed_point_limit"] - root) < 1e-9
    assert abs(result.numbers["fixed_point_order"] - 1) < 0.01
    assert abs(result.numbers["fixed_point_rate"] - math.sin(root)) < 2e-3
    assert abs(result.numbers["newton_order"] - 2) < 0.1
    assert abs(result.numbers["richardson_e"] - math.e) < 1e-8
    assert abs(result.numbers["last_compound_term"] - (1 + 1 / 128) ** 128) < 1e-14
