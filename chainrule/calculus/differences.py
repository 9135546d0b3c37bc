"""Numerical derivatives by finite differences, and how to choose the step.

A difference quotient makes two errors that pull the step h in opposite
directions:

* truncation: the Taylor terms the quotient drops, ≈ C·h^p (p = 1 for forward
  and backward differences, p = 2 for central ones);
* rounding: f is known only to about ε·|f| (ε = machine epsilon), and dividing
  the difference of two such values by h amplifies that to ≈ D/h, D ≈ ε·|f|.

The total error E(h) ≈ C h^p + D/h is smallest at h* = (D / (p C))^{1/(p+1)}:
about √ε·scale (≈ 1e-8) for forward differences, giving ≈ √ε accuracy (8 digits),
and ε^{1/3}·scale (≈ 6e-6) for central ones, giving ≈ ε^{2/3} (10–11 digits).
Smaller steps are *worse*, not better. Richardson extrapolation cancels the
leading truncation terms instead of shrinking h, and reaches ≈ 13 digits.

The functions take ``f`` mapping a float (or a NumPy array, elementwise) to a
float (or array); a chainrule Tensor result is accepted too.
"""
from collections import namedtuple

import numpy

from chainrule.core.tensor import Tensor

RichardsonResult = namedtuple("RichardsonResult", ["derivative", "error", "table"])
StepSearchResult = namedtuple("StepSearchResult", ["step", "steps", "errors"])

_EPS = float(numpy.finfo(numpy.float64).eps)
_ORDER = {"forward": 1, "backward": 1, "central": 2}


def _evaluate(f, x):
    """f(x) as a float64 array (accepts float, array or Tensor results)."""
    value = f(x)
    if isinstance(value, Tensor):
        value = value.detach().array
    return numpy.asarray(value, dtype=numpy.float64)


def _points(x):
    return numpy.asarray(x, dtype=numpy.float64)


def _scalar_or_array(value):
    """A float for a single point, the array otherwise."""
    return float(value) if numpy.ndim(value) == 0 else value


def _check_method(method, op_name):
    if method not in _ORDER:
        raise ValueError(f"{op_name}: method must be 'forward', 'backward' or 'central', got {method!r}")


def optimal_step(method="central", x=0.0, *, truncation_constant=None, rounding_constant=None, eps=_EPS):
    """The step h* minimizing the error model E(h) = C·h^p + D/h of a difference quotient.

    Setting E'(h) = p C h^{p−1} − D/h² = 0 gives h* = (D / (p C))^{1/(p+1)}, with
    p = 1 for 'forward'/'backward' and p = 2 for 'central'. With the constants
    given (C = |f''|/2 and D = 2ε|f| for forward differences; C = |f'''|/6 and
    D = ε|f| for central ones) this is the theoretical optimum. Without them it
    is the rule of thumb that assumes f and its derivatives are of the size of
    f near x: h* = ε^{1/(p+1)} · max(|x|, 1).

    Example:
        >>> from chainrule.calculus import optimal_step
        >>> f"{optimal_step('forward'):.1e}", f"{optimal_step('central'):.1e}"
        ('1.5e-08', '6.1e-06')
    """
    _check_method(method, "optimal_step")
    p = _ORDER[method]
    if truncation_constant is None or rounding_constant is None:
        return eps ** (1.0 / (p + 1)) * max(abs(float(x)), 1.0)
    if truncation_constant <= 0 or rounding_constant <= 0:
        raise ValueError(
            f"optimal_step: the constants must be positive, got C = {truncation_constant}, D = {rounding_constant}; "
            "C = 0 means the formula is exact for f and any step works"
        )
    return (rounding_constant / (p * truncation_constant)) ** (1.0 / (p + 1))


def _default_step(method, x):
    return optimal_step(method) * numpy.maximum(numpy.abs(x), 1.0)


def forward_difference(f, x, h=None):
    """f'(x) ≈ (f(x + h) − f(x)) / h.   Error ≈ h|f''|/2 + 2ε|f|/h, best h ≈ √ε·max(|x|, 1).

    Example:
        >>> import math
        >>> from chainrule.calculus import forward_difference
        >>> abs(forward_difference(math.exp, 0.0) - 1.0) < 1e-7
        True
    """
    x = _points(x)
    h = _default_step("forward", x) if h is None else h
    # (x + h) − x is the step actually taken once x + h is rounded: dividing by it removes one error.
    step = (x + h) - x
    return _scalar_or_array((_evaluate(f, x + step) - _evaluate(f, x)) / step)


def backward_difference(f, x, h=None):
    """f'(x) ≈ (f(x) − f(x − h)) / h.   Same error model as the forward difference.

    Example:
        >>> import math
        >>> from chainrule.calculus import backward_difference
        >>> abs(backward_difference(math.exp, 0.0) - 1.0) < 1e-7
        True
    """
    x = _points(x)
    h = _default_step("backward", x) if h is None else h
    step = x - (x - h)
    return _scalar_or_array((_evaluate(f, x) - _evaluate(f, x - step)) / step)


def central_difference(f, x, h=None):
    """f'(x) ≈ (f(x + h) − f(x − h)) / 2h.   Error ≈ h²|f'''|/6 + ε|f|/h, best h ≈ ε^{1/3}·max(|x|, 1).

    The even Taylor terms cancel between the two sides, so truncation is O(h²).

    Example:
        >>> import math
        >>> from chainrule.calculus import central_difference
        >>> abs(central_difference(math.sin, 0.0) - 1.0) < 1e-10
        True
    """
    x = _points(x)
    h = _default_step("central", x) if h is None else h
    step = (x + h) - x
    return _scalar_or_array((_evaluate(f, x + step) - _evaluate(f, x - step)) / (2 * step))


def richardson_derivative(f, x, h=0.1, levels=6, ratio=2.0):
    """f'(x) by Richardson extrapolation of central differences (Ridders' method).

    Central differences D(h) = f' + c₁h² + c₂h⁴ + … are computed at h, h/r, h/r², …;
    combining neighbours as
        R[i][j] = R[i][j−1] + (R[i][j−1] − R[i−1][j−1]) / (r^{2j} − 1)
    cancels one more even power of h per column. The estimate is the entry whose
    difference from its neighbours is smallest; that difference is the error
    estimate. Returns ``(derivative, error, table)``.

    Example:
        >>> import math
        >>> from chainrule.calculus import richardson_derivative
        >>> result = richardson_derivative(math.exp, 1.0)
        >>> abs(result.derivative - math.e) < 1e-12
        True
    """
    if levels < 2:
        raise ValueError(f"richardson_derivative: levels must be at least 2, got {levels}")
    if ratio <= 1:
        raise ValueError(f"richardson_derivative: ratio must be > 1 (the step shrinks by it each level), got {ratio}")
    x = _points(x)
    table = [[None] * levels for _ in range(levels)]
    best, best_error = None, numpy.full(x.shape, numpy.inf)
    for i in range(levels):
        table[i][0] = central_difference(f, x, h / ratio ** i)
        for j in range(1, i + 1):
            factor = ratio ** (2 * j)
            table[i][j] = table[i][j - 1] + (table[i][j - 1] - table[i - 1][j - 1]) / (factor - 1)
            error = numpy.maximum(numpy.abs(table[i][j] - table[i][j - 1]), numpy.abs(table[i][j] - table[i - 1][j - 1]))
            better = error < best_error
            best = table[i][j] if best is None else numpy.where(better, table[i][j], best)
            best_error = numpy.where(better, error, best_error)
    return RichardsonResult(_scalar_or_array(best), _scalar_or_array(best_error), table)


def find_best_step(f, x, method="central", *, exact=None, steps=None):
    """Search for the step with the smallest actual error: the empirical side of ``optimal_step``.

    Evaluates the ``method`` difference at each step in ``steps`` (default
    10⁻¹…10⁻¹⁴, 53 steps) and measures its error against ``exact`` (the true
    derivative) or, if not given, against a Richardson estimate, which is about
    1000× more accurate than the best plain difference. The errors trace the
    V shape of C·h^p + D/h: truncation on the right, rounding on the left.
    Returns ``(step, steps, errors)``.

    Example:
        >>> import math
        >>> from chainrule.calculus import find_best_step
        >>> result = find_best_step(math.sin, 1.0, exact=math.cos(1.0))
        >>> 1e-7 < result.step < 1e-4
        True
    """
    _check_method(method, "find_best_step")
    if steps is None:
        steps = numpy.logspace(-1, -14, 53)
    steps = numpy.asarray(steps, dtype=numpy.float64)
    if exact is None:
        exact = richardson_derivative(f, x).derivative
    difference = {"forward": forward_difference, "backward": backward_difference, "central": central_difference}[method]
    errors = numpy.array([abs(float(difference(f, x, h)) - exact) for h in steps])
    return StepSearchResult(float(steps[int(numpy.argmin(errors))]), steps, errors)


def numerical_gradient(f, x, h=None):
    """∇f(x) of f: ℝⁿ → ℝ by central differences, one coordinate at a time (2n evaluations).

    Example:
        >>> import numpy as np
        >>> from chainrule.calculus import numerical_gradient
        >>> np.round(numerical_gradient(lambda v: v[0] ** 2 + 3 * v[1], np.array([1.0, 2.0])), 6)
        array([2., 3.])
    """
    x = numpy.array(x, dtype=numpy.float64)
    if x.ndim != 1:
        raise ValueError(f"numerical_gradient: x must be a 1-D array (a point of ℝⁿ), got shape {x.shape}")
    gradient = numpy.empty_like(x)
    for i in range(x.size):
        step = _default_step("central", x[i]) if h is None else h
        forward, backward = x.copy(), x.copy()
        forward[i] += step
        backward[i] -= step
        value = (float(_evaluate(f, forward)) - float(_evaluate(f, backward))) / (forward[i] - backward[i])
        gradient[i] = value
    return gradient


__all__ = [
    "optimal_step", "forward_difference", "backward_difference", "central_difference",
    "richardson_derivative", "find_best_step", "numerical_gradient",
]
