"""Sequence limits (Aitken, Richardson), convergence order and rate, and Newton's methods against SciPy."""
import math

import numpy as np
import pytest
import scipy.optimize
from hypothesis import assume, given, settings, strategies as st

import chainrule as cr
from chainrule.calculus import (
    aitken, convergence_order, estimate_limit, newton_minimize, newton_root, richardson_limit, trapezoid,
)

FAST = settings(max_examples=15, deadline=None)
GOLDEN = (1 + math.sqrt(5)) / 2


# ----- limits --------------------------------------------------------------------------------
@FAST
@given(st.floats(-10, 10), st.floats(0.1, 5), st.floats(-0.9, 0.9).filter(lambda q: abs(q) > 0.05))
def test_aitken_is_exact_for_geometric_errors(limit, c, q):
    sequence = [limit + c * q ** n for n in range(6)]
    np.testing.assert_allclose(aitken(sequence), limit, atol=1e-9 * max(1, abs(limit)))
    assert estimate_limit(sequence).value == pytest.approx(limit, abs=1e-9 * max(1, abs(limit)))


@FAST
@given(st.floats(-5, 5), st.floats(-3, 3), st.floats(-3, 3), st.floats(0.05, 1.0))
def test_richardson_is_exact_for_polynomial_errors(limit, c1, c2, h):
    values = [limit + c1 * (h / 2 ** k) + c2 * (h / 2 ** k) ** 2 for k in range(4)]
    result = richardson_limit(values, ratio=2, order=1, step=1)
    assert result.value == pytest.approx(limit, abs=1e-10)


def test_romberg_is_richardson_on_the_trapezoid_rule():
    import scipy.integrate
    reference, _ = scipy.integrate.quad(lambda x: math.exp(-x * x), 0, 2)
    values = [trapezoid(lambda x: (-x * x).exp(), 0.0, 2.0, 2 ** k).item() for k in range(1, 7)]
    result = richardson_limit(values, ratio=2, order=2, step=2)
    assert abs(result.value - reference) < 1e-11
    assert abs(values[-1] - reference) > 1e-6             # the raw sequence (64 intervals) is far from it
    assert result.error < 1e-9


def test_estimate_limit_accelerates_slow_series():
    # Leibniz: 1 − 1/3 + 1/5 − … = π/4 with error ~ 1/n; Aitken repeated gets 8+ digits from 11 terms.
    leibniz = np.cumsum([(-1) ** k / (2 * k + 1) for k in range(11)])
    assert abs(4 * estimate_limit(leibniz).value - math.pi) < 1e-8
    assert abs(4 * leibniz[-1] - math.pi) > 0.05
    # Basel: Σ 1/k² with error ~ 1/n: Richardson on n = 8, 16, …, 256.
    sums = [sum(1 / k ** 2 for k in range(1, n + 1)) for n in (8, 16, 32, 64, 128, 256)]
    result = estimate_limit(sums, method="richardson", ratio=2, order=1)
    assert abs(result.value - math.pi ** 2 / 6) < 1e-10


# ----- order and rate of convergence -----------------------------------------------------------
def newton_sqrt2(steps=6):
    x = [1.0]
    for _ in range(steps):
        x.append(x[-1] - (x[-1] ** 2 - 2) / (2 * x[-1]))
    return x


def test_newton_converges_quadratically_with_rate_f2_over_2f1():
    estimate = convergence_order(newton_sqrt2(), limit=math.sqrt(2))
    assert estimate.order == pytest.approx(2.0, abs=0.05)
    assert estimate.rate == pytest.approx(1 / (2 * math.sqrt(2)), rel=0.05)   # |f''/(2f')| at √2
    without_limit = convergence_order(newton_sqrt2())
    assert without_limit.order == pytest.approx(2.0, abs=0.1)


def test_fixed_point_iteration_converges_linearly_with_rate_g_prime():
    x = [1.0]
    for _ in range(40):
        x.append(math.cos(x[-1]))
    root = scipy.optimize.brentq(lambda v: math.cos(v) - v, 0, 1)
    estimate = convergence_order(x, limit=root)
    assert estimate.order == pytest.approx(1.0, abs=0.02)
    assert estimate.rate == pytest.approx(math.sin(root), rel=0.02)            # |g'(x*)| = sin x*


def test_secant_method_converges_with_the_golden_ratio_order():
    # eₖ₊₁ ≈ C eₖ eₖ₋₁ gives order φ asymptotically; the three-point estimates wobble on the way.
    f = lambda v: v ** 3 - 2 * v - 5                      # noqa: E731  (Wallis's example)
    x = [1.5, 2.5]
    while f(x[-1]) != f(x[-2]):                          # stop once the iterates stop changing f
        x.append(x[-1] - f(x[-1]) * (x[-1] - x[-2]) / (f(x[-1]) - f(x[-2])))
    root = scipy.optimize.brentq(f, 2, 3)
    assert convergence_order(x, limit=root).order == pytest.approx(GOLDEN, abs=0.15)


def test_convergence_order_needs_enough_iterates():
    with pytest.raises(ValueError, match="convergence_order: need at least 3 errors above the rounding floor"):
        convergence_order([1.0, 1.0, 1.0], limit=1.0)


# ----- Newton's method for roots ----------------------------------------------------------------
def test_newton_root_scalar_matches_brentq():
    result = newton_root(lambda x: x.cos() - x, 1.0)
    assert result.converged and result.x.shape == ()
    assert result.x.item() == pytest.approx(scipy.optimize.brentq(lambda v: math.cos(v) - v, 0, 1), abs=1e-14)


@FAST
@given(st.floats(0.5, 3.0), st.floats(-0.9, 0.9), st.floats(-1.0, 1.0))
def test_newton_root_system_finds_the_circle_line_intersection(radius, fraction, start_height):
    # The circle x² + y² = r² meets the line y = x + s (|s|/√2 < r) where 2x² + 2sx + s² − r² = 0.
    shift = fraction * radius
    # The Jacobian [[2x, 2y], [-1, 1]] is singular where x + y = 0: a start at (r, -r) has no Newton step.
    assume(abs(radius + start_height) > 0.05)

    def system(v):
        return cr.stack([v[0] ** 2 + v[1] ** 2 - radius ** 2, v[1] - v[0] - shift])

    result = newton_root(system, [radius, start_height])
    assert result.converged and result.residual < 1e-11
    roots_x = np.roots([2.0, 2.0 * shift, shift ** 2 - radius ** 2])
    distances = [np.abs(result.x.array - [x, x + shift]).max() for x in roots_x]
    assert min(distances) < 1e-10


def test_newton_root_matches_fsolve_and_converges_quadratically():
    def system(v):
        return cr.stack([v[0].exp() - v[1] - 2, v[0] + v[1] ** 3 - 1])

    result = newton_root(system, [1.0, 0.5])
    root = scipy.optimize.fsolve(lambda v: [math.exp(v[0]) - v[1] - 2, v[0] + v[1] ** 3 - 1], [1.0, 0.5], xtol=1e-14)
    np.testing.assert_allclose(result.x.array, root, atol=1e-12)
    iterates = np.array([x.array for x in result.history])
    assert convergence_order(iterates, limit=root).order == pytest.approx(2.0, abs=0.3)


def test_newton_root_errors():
    with pytest.raises(ValueError, match=r"newton_root: the Jacobian is singular at iteration 1"):
        newton_root(lambda v: cr.stack([v[0] + v[1], 2 * v[0] + 2 * v[1] - 1]), [0.0, 0.0])
    with pytest.raises(ValueError, match=r"newton_root: F must map ℝⁿ to ℝⁿ .* x has 2 entries and F\(x\) has 1"):
        newton_root(lambda v: (v ** 2).sum().reshape(1), [1.0, 1.0])


# ----- Newton's method for minima ---------------------------------------------------------------
def test_newton_minimize_rosenbrock_matches_scipy():
    def rosenbrock(v):
        return (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2

    result = newton_minimize(rosenbrock, [-1.2, 1.0])
    reference = scipy.optimize.minimize(scipy.optimize.rosen, [-1.2, 1.0], jac=scipy.optimize.rosen_der,
                                        hess=scipy.optimize.rosen_hess, method="Newton-CG", tol=1e-12)
    assert result.converged
    np.testing.assert_allclose(result.x.array, reference.x, atol=1e-7)
    np.testing.assert_allclose(result.x.array, [1.0, 1.0], atol=1e-10)
    # Quadratic convergence: eₖ₊₁/eₖ² stays bounded over the last steps (the three-point order estimate
    # is still settling there, ≈ 1.6, because the error's direction keeps turning).
    estimate = convergence_order(np.array([x.array for x in result.history]), limit=[1.0, 1.0])
    last = estimate.errors[-4:]
    assert all(following / current ** 2 < 50 for current, following in zip(last, last[1:]))
    assert estimate.order > 1.5


@FAST
@given(st.integers(0, 2**32 - 1), st.integers(1, 5))
def test_newton_minimize_solves_a_quadratic_in_one_step(seed, n):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(n, n))
    a, b = m @ m.T + n * np.eye(n), rng.normal(size=n)
    a_t, b_t = cr.tensor(a, dtype=cr.float64), cr.tensor(b, dtype=cr.float64)
    result = newton_minimize(lambda x: 0.5 * (x * (a_t @ x)).sum() - (b_t * x).sum(), np.zeros(n))
    np.testing.assert_allclose(result.x.array, np.linalg.solve(a, b), atol=1e-10)
    assert result.iterations == 1 and result.converged


def test_line_search_keeps_newton_descending_where_pure_newton_climbs():
    # f(x) = x⁴/4 − x²/2 has a local maximum at 0 and minima at ±1; from x0 = 0.2 the Hessian is negative.
    def f(x):
        return x ** 4 / 4 - x ** 2 / 2

    pure = newton_minimize(f, 0.2, line_search=False)
    assert pure.x.item() == pytest.approx(0.0, abs=1e-10)        # a stationary point, not a minimum
    damped = newton_minimize(f, 0.2)
    assert abs(damped.x.item()) == pytest.approx(1.0, abs=1e-10)
    values = [f(x).item() for x in damped.history]
    assert all(later <= earlier + 1e-15 for earlier, later in zip(values, values[1:]))


def test_newton_minimize_errors():
    with pytest.raises(ValueError, match="newton_minimize: f must return a scalar Tensor"):
        newton_minimize(lambda v: v * 2, [1.0, 2.0])
    with pytest.raises(ValueError, match="newton_minimize: the Hessian is singular at iteration 1"):
        newton_minimize(lambda v: (v[0] + v[1]) ** 2 + v[0], [0.0, 0.0], line_search=False)
