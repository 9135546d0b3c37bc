"""Quadrature rules against SciPy, their convergence orders, error estimates and gradients."""
import math

import numpy as np
import pytest
import scipy.integrate
from hypothesis import given, settings, strategies as st

import chainrule as cr
from chainrule.calculus import (
    adaptive_quadrature, gauss_legendre, gauss_legendre_nodes, monte_carlo, simpson, trapezoid,
)
from chainrule.func import gradcheck

FAST = settings(max_examples=15, deadline=None)
seeds = st.integers(0, 2**32 - 1)
intervals = st.tuples(st.floats(-3, 1), st.floats(0.1, 4)).map(lambda p: (p[0], p[0] + p[1]))


def t(value, requires_grad=False):
    return cr.tensor(value, dtype=cr.float64, requires_grad=requires_grad)


def wave(a, b):
    """An integrand family f(x) = exp(−a x²) cos(b x), for tensors (ours) and floats (SciPy)."""
    return (lambda x: (-a * x * x).exp() * (b * x).cos()), (lambda x: math.exp(-a * x * x) * math.cos(b * x))


@FAST
@given(intervals, st.integers(1, 40), seeds)
def test_trapezoid_and_simpson_match_scipy_on_the_same_samples(interval, half_n, seed):
    low, high = interval
    coefficients = np.random.default_rng(seed).normal(size=5)
    n = 2 * half_n
    x = np.linspace(low, high, n + 1)
    y = np.polyval(coefficients, x) + np.sin(3 * x)

    def f(nodes):
        return sum(float(c) * nodes ** (4 - i) for i, c in enumerate(coefficients)) + (3 * nodes).sin()

    assert trapezoid(f, low, high, n).item() == pytest.approx(scipy.integrate.trapezoid(y, x=x), rel=1e-10, abs=1e-12)
    assert simpson(f, low, high, n).item() == pytest.approx(scipy.integrate.simpson(y, x=x), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("rule, order", [(trapezoid, 2), (simpson, 4)])
def test_composite_rules_converge_at_their_order(rule, order):
    exact = 1 - math.cos(2.0)                                   # ∫₀² sin
    errors = [abs(rule(lambda x: x.sin(), 0.0, 2.0, n).item() - exact) for n in (8, 16, 32)]
    for coarse, fine in zip(errors, errors[1:]):
        assert coarse / fine == pytest.approx(2 ** order, rel=0.02)


@pytest.mark.parametrize("n", [1, 2, 5, 12])
def test_gauss_legendre_nodes_match_numpy_leggauss(n):
    nodes, weights = gauss_legendre_nodes(n)
    expected_nodes, expected_weights = np.polynomial.legendre.leggauss(n)
    np.testing.assert_allclose(nodes, expected_nodes, atol=1e-14)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-14)


@FAST
@given(st.integers(1, 10), intervals, seeds)
def test_gauss_legendre_is_exact_to_degree_2n_minus_1_and_matches_fixed_quad(n, interval, seed):
    low, high = interval
    coefficients = np.random.default_rng(seed).normal(size=2 * n)            # degree 2n − 1
    exact = np.polyval(np.polyint(coefficients), high) - np.polyval(np.polyint(coefficients), low)

    def f(x):
        return sum(float(c) * x ** (2 * n - 1 - i) for i, c in enumerate(coefficients))

    assert gauss_legendre(f, low, high, n).item() == pytest.approx(exact, rel=1e-10, abs=1e-10)
    reference, _ = scipy.integrate.fixed_quad(lambda x: np.polyval(coefficients, x), low, high, n=n)
    assert gauss_legendre(f, low, high, n).item() == pytest.approx(reference, rel=1e-10, abs=1e-10)


@FAST
@given(st.floats(0.1, 5.0), st.floats(0.0, 20.0), intervals)
def test_adaptive_quadrature_matches_scipy_quad_with_an_honest_error_estimate(a, b, interval):
    low, high = interval
    ours, theirs = wave(a, b)
    result = adaptive_quadrature(ours, low, high, tol=1e-11, rtol=1e-11)
    reference, reference_error = scipy.integrate.quad(theirs, low, high, epsabs=1e-13, epsrel=1e-13, limit=200)
    actual_error = abs(result.value.item() - reference)
    assert actual_error <= result.error + 10 * reference_error + 1e-14      # the estimate bounds the error
    assert actual_error < 1e-10


@pytest.mark.parametrize(
    "ours, theirs, low, high",
    [
        (lambda x: (-x * x).exp(), lambda x: math.exp(-x * x), -math.inf, math.inf),
        (lambda x: 1 / (1 + x * x), lambda x: 1 / (1 + x * x), 0.0, math.inf),
        (lambda x: x.exp(), math.exp, -math.inf, 0.0),
        (lambda x: x.sqrt(), math.sqrt, 0.0, 1.0),                    # derivative singular at 0
        (lambda x: (x.abs() - 0.3).abs(), lambda x: abs(abs(x) - 0.3), -1.0, 1.0),   # kinks
    ],
)
def test_adaptive_quadrature_hard_integrands_and_infinite_limits(ours, theirs, low, high):
    result = adaptive_quadrature(ours, low, high)
    reference, _ = scipy.integrate.quad(theirs, low, high, epsabs=1e-13, epsrel=1e-13, limit=200)
    assert result.value.item() == pytest.approx(reference, rel=1e-9, abs=1e-10)
    assert result.intervals >= 1 and result.evaluations == 15 * (2 * result.intervals - 1)


def test_adaptive_quadrature_reversed_and_empty_ranges():
    forward = adaptive_quadrature(lambda x: x.exp(), 0.0, 1.0).value.item()
    assert adaptive_quadrature(lambda x: x.exp(), 1.0, 0.0).value.item() == pytest.approx(-forward)
    assert adaptive_quadrature(lambda x: x.exp(), 2.0, 2.0).value.item() == 0.0


def test_gradients_flow_to_integrand_parameters():
    # d/da ∫₀¹ e^{−a x} dx = −∫₀¹ x e^{−a x} dx = (e^{−a}(a + 1) − 1)/a².
    a = 1.7
    expected = (math.exp(-a) * (a + 1) - 1) / a ** 2
    for integrate in (
        lambda f: trapezoid(f, 0.0, 1.0, 2000),
        lambda f: simpson(f, 0.0, 1.0, 200),
        lambda f: gauss_legendre(f, 0.0, 1.0, 12),
        lambda f: adaptive_quadrature(f, 0.0, 1.0).value,
    ):
        parameter = t(a, requires_grad=True)
        integrate(lambda x: (-parameter * x).exp()).backward()
        assert parameter.grad.item() == pytest.approx(expected, rel=1e-6)


def test_gradcheck_through_quadrature_including_the_limits():
    # Tensor limits move the nodes: ∂/∂b ∫ₐᵇ f = f(b) and ∂/∂a = −f(a) (Leibniz).
    def integral(scale, low, high):
        return gauss_legendre(lambda x: (scale * x).sin() * x, low, high, 20)

    inputs = (t(1.3, True), t(0.2, True), t(1.5, True))
    assert gradcheck(integral, inputs)
    scale, low, high = inputs
    integral(scale, low, high).backward()
    assert high.grad.item() == pytest.approx(math.sin(1.3 * 1.5) * 1.5, rel=1e-10)
    assert low.grad.item() == pytest.approx(-math.sin(1.3 * 0.2) * 0.2, rel=1e-10)
    assert gradcheck(lambda s: simpson(lambda x: (s * x).exp(), 0.0, 1.0, 20), (t(0.4, True),))


def test_monte_carlo_estimate_standard_error_and_reproducibility():
    def f(x):
        return x[:, 0] * x[:, 1] ** 2 + (x[:, 2]).cos()

    low, high = [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]
    reference, _ = scipy.integrate.nquad(lambda x, y, z: x * y * y + math.cos(z), [[0, 1], [0, 2], [0, 1]])
    results = [monte_carlo(f, low, high, n, generator=cr.Generator().manual_seed(3)) for n in (4000, 16000)]
    for result in results:
        assert abs(result.value.item() - reference) < 4 * result.standard_error.item()
    # The standard error falls like 1/√N: four times the samples, half the error.
    assert results[0].standard_error.item() / results[1].standard_error.item() == pytest.approx(2.0, rel=0.1)
    again = monte_carlo(f, low, high, 4000, generator=cr.Generator().manual_seed(3))
    assert again.value.item() == results[0].value.item()


def test_monte_carlo_is_differentiable_in_the_integrand_parameters():
    # d/dk ∫₀¹ e^{kx} dx estimated with the same samples = mean of x e^{kx}: check against autodiff of the estimate.
    k = t(0.5, requires_grad=True)
    result = monte_carlo(lambda x: (k * x).exp(), 0.0, 1.0, 20000, generator=cr.Generator().manual_seed(0))
    result.value.backward()
    exact = (math.exp(0.5) * (0.5 - 1) + 1) / 0.25
    assert abs(k.grad.item() - exact) < 0.02


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: simpson(lambda x: x, 0.0, 1.0, 3), "simpson: Simpson's rule needs an even number of intervals"),
        (lambda: trapezoid(lambda x: x, 0.0, 1.0, 0), "trapezoid: the number of intervals n must be a positive integer"),
        (lambda: trapezoid(lambda x: x.sum(), 0.0, 1.0, 4), r"trapezoid: the integrand returned shape \(\)"),
        (lambda: gauss_legendre(lambda x: 1.0, 0.0, 1.0), "gauss_legendre: the integrand must return a Tensor"),
        (lambda: adaptive_quadrature(lambda x: x, t(0.0), 1.0), "adaptive_quadrature: the limits must be Python floats"),
        (lambda: monte_carlo(lambda x: x, [0.0], [1.0, 2.0]), "monte_carlo: low and high must be"),
        (lambda: monte_carlo(lambda x: x, 1.0, 0.0), "monte_carlo: need high > low"),
        (lambda: monte_carlo(lambda x: x.sum(), 0.0, 1.0, 10), r"monte_carlo: f must return a Tensor of shape \(10,\)"),
    ],
)
def test_integration_errors_name_the_function(call, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        call()
