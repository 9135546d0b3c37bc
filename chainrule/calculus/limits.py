"""Limits of sequences and the speed of convergence of iterative methods.

Acceleration: a sequence whose error has a known form can be pushed to its limit
faster than it gets there itself.

* Aitken's Δ²: for geometric errors xₙ ≈ L + c qⁿ, three terms determine L:
  L ≈ xₙ − (Δxₙ)²/Δ²xₙ (exact when the error is exactly geometric).
* Richardson: for A(h) = L + c₁h^{p₁} + c₂h^{p₂} + … sampled at h, h/r, h/r², …,
  combining neighbours cancels one error term per column (Romberg integration is
  Richardson on the trapezoid rule, p = 2, 4, 6, …).

Convergence: with errors eₖ = ‖xₖ − x*‖, a method converges with order q and
rate μ when eₖ₊₁ ≈ μ eₖ^q (q = 1, μ < 1: linear; q = 2: quadratic, as Newton's
method; q = (1+√5)/2 for the secant method). Then
    q ≈ log(eₖ₊₁/eₖ) / log(eₖ/eₖ₋₁),   μ ≈ eₖ₊₁ / eₖ^q.
"""
import math
from collections import namedtuple

from chainrule.backends import numpy_module
from chainrule.core.tensor import Tensor

LimitEstimate = namedtuple("LimitEstimate", ["value", "error", "table"])
ConvergenceEstimate = namedtuple("ConvergenceEstimate", ["order", "rate", "orders", "errors"])

_EPS = 2.220446049250313e-16


def _as_array(values, op_name, min_length):
    xp = numpy_module()
    if isinstance(values, Tensor):
        values = values.detach().array
    array = xp.asarray(values, dtype=xp.float64)
    if array.ndim == 0 or array.shape[0] < min_length:
        raise ValueError(f"{op_name}: need a sequence of at least {min_length} terms, got shape {array.shape}")
    return array


def aitken(sequence):
    """Aitken's Δ² transform: x'ₙ = xₙ − (xₙ₊₁ − xₙ)² / (xₙ₊₂ − 2xₙ₊₁ + xₙ).

    Returns a sequence two terms shorter that converges faster when the error is
    close to geometric (linear convergence). Where the second difference is 0 the
    sequence has already stopped changing and xₙ₊₂ is kept.

    Example:
        >>> from chainrule.calculus import aitken
        >>> aitken([1 + 0.5 ** n for n in range(5)]).tolist()     # errors exactly geometric
        [1.0, 1.0, 1.0]
    """
    x = _as_array(sequence, "aitken", 3)
    xp = numpy_module()
    first = x[1:-1] - x[:-2]
    second = x[2:] - 2 * x[1:-1] + x[:-2]
    safe = xp.where(second == 0, 1.0, second)
    return xp.where(second == 0, x[2:], x[:-2] - first * first / safe)


def richardson_limit(values, ratio=2.0, order=1, step=1):
    """Richardson extrapolation of A(h) → L from values at h, h/r, h/r², ….

    Assumes A(h) = L + c₀h^{p₀} + c₁h^{p₁} + … with pⱼ = order + j·step, and
    builds the table
        R[i][j] = R[i][j−1] + (R[i][j−1] − R[i−1][j−1]) / (r^{pⱼ₋₁} − 1).
    For a sequence sₙ with error ~ c/n, sample n, 2n, 4n, … (h = 1/n, order = 1);
    for the trapezoid rule use order = 2, step = 2 (Romberg). Returns
    ``(value, error, table)``: the last diagonal entry and its difference from
    the previous one.

    Example:
        >>> from chainrule.calculus import richardson_limit
        >>> s = [sum(1 / k ** 2 for k in range(1, n + 1)) for n in (8, 16, 32, 64, 128)]
        >>> round(richardson_limit(s).value, 8)     # π²/6 = 1.64493407
        1.64493407
    """
    x = _as_array(values, "richardson_limit", 2)
    if ratio <= 1:
        raise ValueError(f"richardson_limit: ratio must be > 1 (h shrinks by it at each term), got {ratio}")
    levels = x.shape[0]
    table = [[float(x[i])] for i in range(levels)]
    for i in range(1, levels):
        for j in range(1, i + 1):
            factor = ratio ** (order + (j - 1) * step)
            table[i].append(table[i][j - 1] + (table[i][j - 1] - table[i - 1][j - 1]) / (factor - 1))
    value = table[-1][-1]
    error = abs(value - table[-2][-1])
    return LimitEstimate(value, error, table)


def estimate_limit(sequence, method="aitken", **options):
    """The limit of a convergent sequence, accelerated by ``method``.

    'aitken': Aitken's Δ² applied repeatedly (each pass needs 3 more terms)
    while it keeps at least 3 terms; good for linearly (geometrically)
    converging sequences. 'richardson': ``richardson_limit(sequence, **options)``
    for terms sampled at h, h/2, h/4, … with power-law errors. Returns
    ``(value, error, table)`` where error is the change made by the last step.

    Example:
        >>> import math
        >>> from chainrule.calculus import estimate_limit
        >>> partial_sums = [sum((-1) ** k / (2 * k + 1) for k in range(n)) for n in range(1, 12)]
        >>> abs(4 * estimate_limit(partial_sums).value - math.pi) < 1e-8    # Leibniz series for π/4
        True
    """
    if method == "richardson":
        return richardson_limit(sequence, **options)
    if method != "aitken":
        raise ValueError(f"estimate_limit: method must be 'aitken' or 'richardson', got {method!r}")
    if options:
        raise TypeError(f"estimate_limit: method 'aitken' takes no options, got {sorted(options)}")
    current = _as_array(sequence, "estimate_limit", 3)
    table = [current]
    while current.shape[0] >= 3:
        current = aitken(current)
        table.append(current)
    last, before = table[-1], table[-2]
    value = float(last[-1])
    error = abs(value - float(before[-1]))
    return LimitEstimate(value, error, table)


def convergence_order(iterates, limit=None):
    """The order q and rate μ of convergence (eₖ₊₁ ≈ μ eₖ^q) of a method from its iterates.

    ``iterates``: a sequence of numbers or vectors x₀, x₁, …; the error is
    eₖ = ‖xₖ − limit‖, or ‖xₖ₊₁ − xₖ‖ if ``limit`` is None (the step size, which
    has the same order asymptotically). Errors at the rounding floor (below
    1000·eps·max(1, ‖x‖)) are dropped. Each triple gives
    qₖ = log(eₖ₊₁/eₖ)/log(eₖ/eₖ₋₁); ``order`` is the last (most asymptotic) one
    and ``rate`` = eₖ₊₁/eₖ^q from the last pair. Returns
    ``(order, rate, orders, errors)``. The estimates settle only asymptotically:
    look at ``orders`` to see them settle (they wobble for methods such as the
    secant method, whose error depends on the two previous ones).

    Example:
        >>> import math
        >>> from chainrule.calculus import convergence_order
        >>> x = [1.0]
        >>> for _ in range(5):
        ...     x.append(x[-1] - (x[-1] ** 2 - 2) / (2 * x[-1]))      # Newton for √2
        >>> round(convergence_order(x, limit=math.sqrt(2)).order)
        2
    """
    xp = numpy_module()
    points = _as_array(iterates, "convergence_order", 3)
    points = points.reshape(points.shape[0], -1)
    if limit is None:
        errors = xp.linalg.norm(points[1:] - points[:-1], axis=1)
        scale = float(xp.abs(points).max())
    else:
        target = xp.asarray(limit.detach().array if isinstance(limit, Tensor) else limit, dtype=xp.float64).reshape(-1)
        errors = xp.linalg.norm(points - target, axis=1)
        scale = float(xp.abs(target).max())
    floor = 1000 * _EPS * max(1.0, scale)
    usable = [float(e) for e in errors if e > floor]
    # Keep the leading run of usable errors: past the floor the digits are rounding noise.
    if len(usable) < 3:
        raise ValueError(
            f"convergence_order: need at least 3 errors above the rounding floor {floor:.1e}, got {len(usable)} "
            f"(errors: {[f'{e:.1e}' for e in errors]}); pass more early iterates"
        )
    orders = []
    for previous, current, following in zip(usable, usable[1:], usable[2:]):
        if current == previous:
            continue
        orders.append(math.log(following / current) / math.log(current / previous))
    if not orders:
        raise ValueError("convergence_order: the errors do not change; the iteration is not converging")
    order = orders[-1]
    rate = usable[-1] / usable[-2] ** order
    return ConvergenceEstimate(order, rate, orders, usable)
