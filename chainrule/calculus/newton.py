"""Newton's method in several variables, with derivatives from autodiff.

Roots of F: ℝⁿ → ℝⁿ: linearize F(x + s) ≈ F(x) + J(x) s and solve for the zero,
    J(xₖ) sₖ = −F(xₖ),   xₖ₊₁ = xₖ + sₖ,
with J = ∂F/∂x from ``chainrule.func.jacobian``. Minima of f: ℝⁿ → ℝ: Newton on
∇f = 0, i.e. minimize the local quadratic model,
    H(xₖ) sₖ = −∇f(xₖ),
with H from ``chainrule.func.hessian``. Near a root with invertible J (a minimum
with positive definite H) the error squares at each step: quadratic
convergence, eₖ₊₁ ≈ μ eₖ² (check it with ``convergence_order(result.history)``).
"""
from collections import namedtuple

from chainrule.core import dtypes
from chainrule.core.tensor import Tensor, tensor
from chainrule.func import grad, hessian, jacobian
from chainrule.linalg.solvers import solve

NewtonResult = namedtuple("NewtonResult", ["x", "converged", "iterations", "history", "residual"])

_STALLED = 1e-15  # a step this small relative to ‖x‖ is lost to rounding: further iterations cannot help


def _start_point(x0, op_name):
    x = x0.detach().to(dtypes.float64) if isinstance(x0, Tensor) else tensor(x0, dtype=dtypes.float64)
    scalar = x.ndim == 0
    x = x.reshape(-1)
    if x.ndim != 1:
        raise ValueError(f"{op_name}: x0 must be a number or a 1-D vector, got shape {tuple(x0.shape)}")
    return x, scalar


def _vector_function(function, scalar, op_name, n):
    """Call ``function`` on a vector, adapting scalar problems, and check the output shape."""
    def wrapped(x):
        value = function(x.reshape(()) if scalar else x)
        if not isinstance(value, Tensor):
            raise TypeError(f"{op_name}: the function must return a Tensor built from chainrule ops, got {type(value).__name__}")
        return value.reshape(-1)
    return wrapped


def _norm(t):
    return float((t.array ** 2).sum() ** 0.5)


def _newton_step(matrix, rhs, op_name, what, iteration, x):
    try:
        return solve(matrix, rhs)
    except ValueError as error:
        raise ValueError(
            f"{op_name}: the {what} is singular at iteration {iteration} (x = {x.array.tolist()}), so the Newton "
            f"step is undefined; start from another x0 ({error})"
        ) from None


def newton_root(F, x0, *, tol=1e-12, max_iterations=50):
    """A root of F: ℝⁿ → ℝⁿ (a number or vector x with F(x) = 0) by Newton's method.

        J(xₖ) sₖ = −F(xₖ),  xₖ₊₁ = xₖ + sₖ,  J = ∂F/∂x (chainrule.func.jacobian)

    Stops when ‖F(x)‖ ≤ tol or ‖s‖ ≤ tol·(1 + ‖x‖). ``F`` maps a float64 tensor
    of x0's shape (0-d for a scalar problem) to a tensor of the same size.
    Converges quadratically from a good start; may diverge from a bad one.
    Returns ``(x, converged, iterations, history, residual)``, history being the
    list of iterates (tensors) and residual ‖F(x)‖.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.calculus import newton_root
        >>> circle_and_line = lambda v: cr.stack([v[0] ** 2 + v[1] ** 2 - 1, v[0] - v[1]])
        >>> newton_root(circle_and_line, [1.0, 0.0]).x          # (1/√2, 1/√2)
        tensor([0.7071, 0.7071], dtype=float64)
    """
    x, scalar = _start_point(x0, "newton_root")
    function = _vector_function(F, scalar, "newton_root", x.shape[0])
    value = function(x)
    if value.shape[0] != x.shape[0]:
        raise ValueError(
            f"newton_root: F must map ℝⁿ to ℝⁿ (a square system), but x has {x.shape[0]} entries and F(x) has "
            f"{value.shape[0]}; for over- or under-determined systems use least squares (chainrule.linalg.lstsq)"
        )
    history, iteration = [x], 0
    for iteration in range(1, max_iterations + 1):
        if _norm(value) <= tol:
            iteration -= 1
            break
        jacobian_matrix = jacobian(function)(x).detach()
        step = _newton_step(jacobian_matrix, -value.detach(), "newton_root", "Jacobian", iteration, x)
        x = x + step
        history.append(x)
        value = function(x)
        if _norm(step) <= tol * (1 + _norm(x)):
            break
    # A Newton step of size s means F is about J·s from zero: a tiny last step is convergence too
    # (the residual itself may not get below rounding when F's values are large).
    last_step_tiny = len(history) > 1 and _norm(history[-1] - history[-2]) <= tol * (1 + _norm(x))
    converged = _norm(value) <= tol or last_step_tiny
    result_x = x.reshape(()) if scalar else x
    return NewtonResult(result_x, converged, iteration, history, _norm(value))


def newton_minimize(f, x0, *, tol=1e-10, max_iterations=100, line_search=True):
    """A minimizer of f: ℝⁿ → ℝ by Newton's method on ∇f = 0.

        H(xₖ) sₖ = −∇f(xₖ)   (H = chainrule.func.hessian(f), ∇f = chainrule.func.grad(f))

    Pure Newton (``line_search=False``) jumps to the stationary point of the
    local quadratic model: a maximum or saddle as readily as a minimum. With
    ``line_search=True`` a step that is not a descent direction is replaced by
    −∇f, and the step is halved until f decreases enough (Armijo:
    f(x + t s) ≤ f(x) + 10⁻⁴ t ∇fᵀs); near a minimum the full step is taken and
    convergence is quadratic. Stops when ‖∇f‖ ≤ tol. Returns
    ``(x, converged, iterations, history, residual)`` with residual ‖∇f(x)‖.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.calculus import newton_minimize
        >>> rosenbrock = lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2
        >>> newton_minimize(rosenbrock, [-1.2, 1.0]).x
        tensor([1., 1.], dtype=float64)
    """
    x, scalar = _start_point(x0, "newton_minimize")

    def objective(v):
        value = f(v.reshape(()) if scalar else v)
        if not isinstance(value, Tensor) or value.numel() != 1:
            got = value.shape if isinstance(value, Tensor) else type(value).__name__
            raise ValueError(f"newton_minimize: f must return a scalar Tensor, got {got}")
        return value.reshape(())

    history, iteration = [x], 0
    gradient = grad(objective)(x).detach()
    for iteration in range(1, max_iterations + 1):
        if _norm(gradient) <= tol:
            iteration -= 1
            break
        hessian_matrix = hessian(objective)(x).detach()
        step = _newton_step(hessian_matrix, -gradient, "newton_minimize", "Hessian", iteration, x)
        if line_search:
            step = _backtrack(objective, x, gradient, step)
        x = x + step
        history.append(x)
        gradient = grad(objective)(x).detach()
        if _norm(step) <= _STALLED * (1 + _norm(x)):
            break  # the step no longer changes x in floating point
    converged = _norm(gradient) <= tol
    result_x = x.reshape(()) if scalar else x
    return NewtonResult(result_x, converged, iteration, history, _norm(gradient))


def _backtrack(objective, x, gradient, step):
    """Armijo backtracking along the Newton step (or along −∇f if that step does not descend)."""
    slope = float((gradient * step).sum().item())
    if slope >= 0:
        step, slope = -gradient, -float((gradient * gradient).sum().item())
    value = float(objective(x).item())
    t = 1.0
    for _ in range(60):
        if float(objective(x + t * step).item()) <= value + 1e-4 * t * slope:
            break
        t *= 0.5
    return t * step
