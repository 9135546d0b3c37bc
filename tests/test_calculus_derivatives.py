"""Finite differences, the step-size trade-off, Richardson extrapolation and Taylor polynomials."""
import math

import numpy as np
import pytest
import scipy.differentiate
from hypothesis import given, settings, strategies as st

import chainrule as cr
from chainrule.calculus import (
    backward_difference, central_difference, find_best_step, forward_difference, numerical_gradient, optimal_step,
    richardson_derivative, taylor,
)

FAST = settings(max_examples=20, deadline=None)
EPS = np.finfo(np.float64).eps

# (name, f on floats/arrays, f', f'', f''') — the registry the difference tests sweep.
FUNCTIONS = [
    ("sin", np.sin, np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x)),
    ("exp", np.exp, np.exp, np.exp, np.exp),
    ("cubic", lambda x: x ** 3 - 2 * x, lambda x: 3 * x ** 2 - 2, lambda x: 6 * x, lambda x: 6.0 + 0 * x),
    ("atan", np.arctan, lambda x: 1 / (1 + x * x), lambda x: -2 * x / (1 + x * x) ** 2,
     lambda x: (6 * x * x - 2) / (1 + x * x) ** 3),
]
functions = st.sampled_from(FUNCTIONS)
points = st.floats(-2.0, 2.0)


@FAST
@given(functions, points)
def test_difference_quotients_reach_their_predicted_accuracy(function, x):
    _, f, df, _, _ = function
    exact = df(x)
    scale = max(1.0, abs(f(x)), abs(exact))
    assert abs(forward_difference(f, x) - exact) < 1e-6 * scale
    assert abs(backward_difference(f, x) - exact) < 1e-6 * scale
    assert abs(central_difference(f, x) - exact) < 1e-9 * scale
    result = richardson_derivative(f, x)
    assert abs(result.derivative - exact) < 1e-11 * scale
    assert result.error < 1e-8 * scale


@FAST
@given(functions, points)
def test_richardson_matches_scipy_differentiate(function, x):
    _, f, df, _, _ = function
    reference = scipy.differentiate.derivative(f, x).df
    assert richardson_derivative(f, x).derivative == pytest.approx(reference, rel=1e-9, abs=1e-10)


def test_differences_work_elementwise_on_arrays():
    x = np.linspace(-1, 1, 7)
    np.testing.assert_allclose(central_difference(np.sin, x), np.cos(x), atol=1e-10)
    np.testing.assert_allclose(richardson_derivative(np.exp, x).derivative, np.exp(x), rtol=1e-12)


@pytest.mark.parametrize("function", FUNCTIONS[:2], ids=lambda f: f[0])
def test_truncation_error_follows_c_h_to_the_p(function):
    # For large enough h truncation dominates: forward error ≈ |f''| h / 2, central ≈ |f'''| h² / 6.
    _, f, df, d2f, d3f = function
    x, h = 0.7, 1e-3
    forward_error = forward_difference(f, x, h) - df(x)
    central_error = central_difference(f, x, h) - df(x)
    assert forward_error == pytest.approx(d2f(x) * h / 2, rel=2e-3)
    assert central_error == pytest.approx(d3f(x) * h * h / 6, rel=2e-3)
    # Halving h halves the forward error (p = 1) and quarters the central one (p = 2).
    assert (forward_difference(f, x, h / 2) - df(x)) / forward_error == pytest.approx(0.5, rel=1e-2)
    assert (central_difference(f, x, h / 2) - df(x)) / central_error == pytest.approx(0.25, rel=1e-2)


def test_rounding_error_dominates_tiny_steps():
    # Shrinking h below the optimum makes things worse: error ≈ ε|f|/h.
    x = 1.0
    best = abs(central_difference(np.exp, x) - np.exp(x))
    tiny = abs(central_difference(np.exp, x, 1e-13) - np.exp(x))
    assert tiny > 100 * best
    assert tiny < 100 * EPS * np.exp(x) / 1e-13


def test_optimal_step_theory_agrees_with_the_empirical_search():
    x = 1.0
    f_value, d2, d3 = np.exp(x), np.exp(x), np.exp(x)
    forward_theory = optimal_step("forward", x, truncation_constant=d2 / 2, rounding_constant=2 * EPS * f_value)
    central_theory = optimal_step("central", x, truncation_constant=d3 / 6, rounding_constant=EPS * f_value)
    assert forward_theory == pytest.approx(2 * math.sqrt(EPS), rel=1e-12)          # √(4ε) for f = f''
    assert central_theory == pytest.approx((3 * EPS) ** (1 / 3), rel=1e-12)
    forward_search = find_best_step(np.exp, x, "forward", exact=np.exp(x))
    central_search = find_best_step(np.exp, x, "central", exact=np.exp(x))
    # The measured error curve is noisy (rounding is erratic), so agreement within ~1.5 decades.
    assert abs(math.log10(forward_search.step / forward_theory)) < 1.5
    assert abs(math.log10(central_search.step / central_theory)) < 1.5
    # ... and the error there is near the model's minimum C h*^p + D/h*.
    assert central_search.errors.min() < 10 * (d3 / 6 * central_theory ** 2 + EPS * f_value / central_theory)
    # Without constants: the rule of thumb ε^{1/(p+1)}·max(|x|, 1).
    assert optimal_step("central", 100.0) == pytest.approx(EPS ** (1 / 3) * 100)


def test_find_best_step_without_the_exact_derivative_uses_richardson():
    result = find_best_step(np.sin, 0.3)
    assert 1e-8 < result.step < 1e-3
    assert len(result.steps) == len(result.errors) == 53


@FAST
@given(st.lists(st.floats(-2, 2), min_size=1, max_size=5))
def test_numerical_gradient_matches_autodiff(values):
    def f(v):
        return float(np.sum(np.sin(v) * v ** 2) + np.prod(np.cos(v)))

    x = cr.tensor(values, dtype=cr.float64, requires_grad=True)
    ((x.sin() * x ** 2).sum() + x.cos().prod()).backward()
    np.testing.assert_allclose(numerical_gradient(f, np.array(values)), x.grad.array, atol=1e-8)


def test_difference_errors_name_the_function():
    with pytest.raises(ValueError, match="optimal_step: method must be"):
        optimal_step("sideways")
    with pytest.raises(ValueError, match="richardson_derivative: levels must be at least 2"):
        richardson_derivative(np.sin, 0.0, levels=1)
    with pytest.raises(ValueError, match=r"numerical_gradient: x must be a 1-D array .*\(2, 2\)"):
        numerical_gradient(np.sum, np.ones((2, 2)))


# ----- Taylor polynomials from autodiff -----------------------------------------------------------
@FAST
@given(st.floats(-2.0, 2.0), st.integers(0, 7))
def test_taylor_coefficients_of_exp_and_sin(x0, order):
    exp_poly = taylor(lambda x: x.exp(), x0, order)
    np.testing.assert_allclose(exp_poly.coefficients, [math.exp(x0) / math.factorial(k) for k in range(order + 1)], rtol=1e-12)
    sin_poly = taylor(lambda x: x.sin(), x0, order)
    cycle = [math.sin(x0), math.cos(x0), -math.sin(x0), -math.cos(x0)]
    expected = [cycle[k % 4] / math.factorial(k) for k in range(order + 1)]
    np.testing.assert_allclose(sin_poly.coefficients, expected, rtol=1e-12, atol=1e-15)


@FAST
@given(st.floats(0.3, 3.0), st.integers(1, 6))
def test_taylor_of_log_matches_the_series_and_richardson(x0, order):
    poly = taylor(lambda x: x.log(), x0, order)
    expected = [math.log(x0)] + [(-1) ** (k + 1) / (k * x0 ** k) for k in range(1, order + 1)]
    np.testing.assert_allclose(poly.coefficients, expected, rtol=1e-12)
    assert poly.derivatives[1] == pytest.approx(richardson_derivative(np.log, x0).derivative, rel=1e-10)


def test_taylor_of_a_polynomial_is_the_polynomial():
    poly = taylor(lambda x: 2 * x ** 3 - x + 5, 1.0, 6)
    # Around 1: 2(1+u)³ − (1+u) + 5 = 6 + 5u + 6u² + 2u³.
    np.testing.assert_allclose(poly.coefficients, [6, 5, 6, 2, 0, 0, 0], atol=1e-12)
    assert poly(3.0) == pytest.approx(2 * 27 - 3 + 5)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_taylor_remainder_shrinks_like_h_to_the_order_plus_one(order):
    x0 = 0.5
    poly = taylor(lambda x: x.exp() * x.cos(), x0, order + 1)          # c_{n+1} for the Lagrange check
    truncated = taylor(lambda x: x.exp() * x.cos(), x0, order)
    for h in (1e-1, 5e-2, 2.5e-2):
        remainder = truncated.remainder(x0 + h).item()
        # Rₙ(x0 + h) = c_{n+1} h^{n+1} + O(h^{n+2}).
        assert remainder / h ** (order + 1) == pytest.approx(poly.coefficients[-1], rel=5 * h, abs=1e-9)
    # And the callable agrees with f at the center, on floats, arrays and tensors alike.
    assert truncated(x0) == pytest.approx(math.exp(x0) * math.cos(x0))
    np.testing.assert_allclose(truncated(np.array([x0, x0])), math.exp(x0) * math.cos(x0))
    assert truncated(cr.tensor(x0, dtype=cr.float64)).item() == pytest.approx(math.exp(x0) * math.cos(x0))


def test_taylor_bad_input():
    with pytest.raises(ValueError, match="taylor: order must be a non-negative integer"):
        taylor(lambda x: x, 0.0, -1)
    with pytest.raises(ValueError, match="taylor: f must map a 0-d tensor to a scalar tensor"):
        taylor(lambda x: 3.0, 0.0, 2)
