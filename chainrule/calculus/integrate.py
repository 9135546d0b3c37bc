"""Definite integrals: Newton–Cotes rules, Gauss–Legendre, adaptive Gauss–Kronrod, Monte Carlo.

Every rule is a weighted sum of integrand values, ∫ₐᵇ f ≈ Σᵢ wᵢ f(xᵢ), computed
with tensor ops: the integrand ``f`` receives a 1-D Tensor of nodes and returns
a Tensor of values, so gradients flow to any parameter ``f`` closes over, and to
the limits ``a`` and ``b`` when they are tensors (the nodes depend on them).

    rule            error for smooth f                          exact for degree
    trapezoid       −(b−a) h² f''(ξ)/12                         1
    simpson         −(b−a) h⁴ f⁗(ξ)/180                         3
    gauss_legendre  ∝ f⁽²ⁿ⁾(ξ) (b−a)^{2n+1} (n!)⁴/((2n+1)((2n)!)³)  2n − 1
"""
import math
from collections import namedtuple

from chainrule.backends import numpy_module
from chainrule.core import dtypes
from chainrule.core.random import default_generator
from chainrule.core.tensor import Tensor
from chainrule.core.convert import as_tensor

QuadratureResult = namedtuple("QuadratureResult", ["value", "error", "evaluations", "intervals"])
MonteCarloResult = namedtuple("MonteCarloResult", ["value", "standard_error"])

# QUADPACK's 15-point Kronrod rule and its embedded 7-point Gauss rule (Piessens et al. 1983,
# routine QK15): nodes on [0, 1] of [−1, 1] (the rule is symmetric), largest first.
_KRONROD_NODES = (
    0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
    0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
    0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
    0.207784955007898467600689403773245, 0.0,
)
_KRONROD_WEIGHTS = (
    0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
    0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
    0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
    0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
)
# The Gauss points are every other Kronrod node (indices 1, 3, 5, 7).
_GAUSS7_WEIGHTS = (
    0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
    0.381830050505118944950369775488975, 0.417959183673469387755102040816327,
)


def _limits(a, b, op_name):
    """a and b as float64 tensors (kept in the graph if they are tensors that require grad)."""
    a = as_tensor(a).to(dtypes.float64) if isinstance(a, Tensor) else Tensor._wrap(_float64_array(a))
    b = as_tensor(b).to(dtypes.float64) if isinstance(b, Tensor) else Tensor._wrap(_float64_array(b))
    if a.numel() != 1 or b.numel() != 1:
        raise ValueError(f"{op_name}: the limits a and b must be scalars, got shapes {a.shape} and {b.shape}")
    return a.reshape(()), b.reshape(())


def _float64_array(value):
    xp = numpy_module()
    return xp.asarray(value, dtype=xp.float64)


def _values(f, nodes, op_name):
    values = f(nodes)
    if not isinstance(values, Tensor):
        raise TypeError(
            f"{op_name}: the integrand must return a Tensor (use chainrule ops inside f, e.g. x.sin()), "
            f"got {type(values).__name__}"
        )
    if tuple(values.shape) != tuple(nodes.shape):
        raise ValueError(
            f"{op_name}: the integrand returned shape {values.shape} for nodes of shape {nodes.shape}; "
            "it must act elementwise on the 1-D tensor of nodes"
        )
    return values


def _check_intervals(n, op_name, even=False):
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{op_name}: the number of intervals n must be a positive integer, got {n!r}")
    if even and n % 2:
        raise ValueError(f"{op_name}: Simpson's rule needs an even number of intervals, got n = {n}; use n = {n + 1}")


def _uniform_nodes(a, b, n):
    fractions = Tensor._wrap(a.xp.linspace(0.0, 1.0, n + 1))
    return a + (b - a) * fractions


def trapezoid(f, a, b, n=100):
    """∫ₐᵇ f(x) dx by the composite trapezoidal rule on n equal intervals.

        T = h (f₀/2 + f₁ + … + f_{n−1} + fₙ/2),   h = (b − a)/n,
    error −(b − a) h² f''(ξ)/12: halving h divides the error by 4.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.calculus import trapezoid
        >>> round(trapezoid(lambda x: x ** 2, 0.0, 1.0, n=1000).item(), 6)    # 1/3 + h²/6
        0.333334
    """
    _check_intervals(n, "trapezoid")
    a, b = _limits(a, b, "trapezoid")
    values = _values(f, _uniform_nodes(a, b, n), "trapezoid")
    h = (b - a) / n
    return h * (values.sum() - 0.5 * (values[0] + values[-1]))


def simpson(f, a, b, n=100):
    """∫ₐᵇ f(x) dx by the composite Simpson rule (n even): parabolas through point triples.

        S = h/3 (f₀ + 4f₁ + 2f₂ + 4f₃ + … + 4f_{n−1} + fₙ),
    error −(b − a) h⁴ f⁗(ξ)/180: exact for cubics; halving h divides the error by 16.

    Example:
        >>> from chainrule.calculus import simpson
        >>> simpson(lambda x: x ** 3, 0.0, 2.0, n=2).item()
        4.0
    """
    _check_intervals(n, "simpson", even=True)
    a, b = _limits(a, b, "simpson")
    values = _values(f, _uniform_nodes(a, b, n), "simpson")
    xp = a.xp
    weights = xp.ones(n + 1)
    weights[1:-1:2] = 4.0
    weights[2:-1:2] = 2.0
    h = (b - a) / n
    return h / 3 * (values * Tensor._wrap(weights)).sum()


def gauss_legendre_nodes(n, xp=None):
    """Nodes xᵢ and weights wᵢ of the n-point Gauss–Legendre rule on [−1, 1] (Golub–Welsch).

    The nodes are the eigenvalues of the symmetric tridiagonal Jacobi matrix of
    the Legendre recurrence, with off-diagonal βₖ = k/√(4k² − 1); the weights are
    2·(first component of each unit eigenvector)² (Golub & Welsch 1969).

    Example:
        >>> from chainrule.calculus import gauss_legendre_nodes
        >>> nodes, weights = gauss_legendre_nodes(2)
        >>> [round(v, 6) for v in nodes.tolist()], [round(w, 12) for w in weights.tolist()]
        ([-0.57735, 0.57735], [1.0, 1.0])
    """
    if xp is None:
        xp = numpy_module()
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"gauss_legendre_nodes: n must be a positive integer, got {n!r}")
    k = xp.arange(1, n, dtype=xp.float64)
    beta = k / xp.sqrt(4 * k * k - 1)
    jacobi = xp.diag(beta, 1) + xp.diag(beta, -1)
    nodes, vectors = xp.linalg.eigh(jacobi)
    weights = 2 * vectors[0] ** 2
    return nodes, weights


def gauss_legendre(f, a, b, n=10):
    """∫ₐᵇ f(x) dx by n-point Gauss–Legendre quadrature: exact for polynomials of degree ≤ 2n − 1.

    ∫ₐᵇ f ≈ (b − a)/2 · Σᵢ wᵢ f((a + b)/2 + (b − a)/2 · xᵢ), with the nodes xᵢ the
    roots of the Legendre polynomial Pₙ. For analytic f the error falls
    exponentially in n.

    Example:
        >>> import math
        >>> from chainrule.calculus import gauss_legendre
        >>> abs(gauss_legendre(lambda x: x.cos(), 0.0, math.pi / 2, n=8).item() - 1.0) < 1e-12
        True
    """
    a, b = _limits(a, b, "gauss_legendre")
    nodes, weights = gauss_legendre_nodes(n, a.xp)
    half_width = (b - a) / 2
    points = (a + b) / 2 + half_width * Tensor._wrap(nodes)
    return half_width * (Tensor._wrap(weights) * _values(f, points, "gauss_legendre")).sum()


def _kronrod_rule(xp):
    """The 15 nodes on [−1, 1] with their Kronrod and (zero-padded) Gauss weights."""
    positive = xp.asarray(_KRONROD_NODES[:-1])
    nodes = xp.concatenate([-positive, xp.zeros(1), positive[::-1]])
    kronrod_half = xp.asarray(_KRONROD_WEIGHTS[:-1])
    kronrod = xp.concatenate([kronrod_half, xp.asarray(_KRONROD_WEIGHTS[-1:]), kronrod_half[::-1]])
    gauss_half = xp.zeros(7)
    gauss_half[1::2] = xp.asarray(_GAUSS7_WEIGHTS[:-1])
    gauss = xp.concatenate([gauss_half, xp.asarray(_GAUSS7_WEIGHTS[-1:]), gauss_half[::-1]])
    return nodes, kronrod, gauss


def _finite_interval(f, a, b):
    """Map an infinite range onto a finite one by substitution (a, b floats, possibly ±inf).

    [a, ∞): x = a + t/(1 − t), t ∈ [0, 1), dx = dt/(1 − t)²;  (−∞, b]: x = b − t/(1 − t);
    (−∞, ∞): x = t/(1 − t²), t ∈ (−1, 1), dx = (1 + t²)/(1 − t²)² dt.
    The Kronrod nodes are interior, so the singular endpoint is never evaluated.
    """
    if math.isinf(a) and math.isinf(b):
        def g(t):
            return f(t / (1 - t * t)) * (1 + t * t) / (1 - t * t) ** 2
        return g, -1.0, 1.0
    if math.isinf(b):
        def g(t):
            return f(a + t / (1 - t)) / (1 - t) ** 2
        return g, 0.0, 1.0
    if math.isinf(a):
        def g(t):
            return f(b - t / (1 - t)) / (1 - t) ** 2
        return g, 0.0, 1.0
    return f, a, b


def adaptive_quadrature(f, a, b, *, tol=1e-10, rtol=1e-10, max_intervals=500):
    """∫ₐᵇ f(x) dx with an error estimate, by adaptive Gauss–Kronrod (7/15) bisection.

    On each interval the 15-point Kronrod rule K and its embedded 7-point Gauss
    rule G share the nodes; |K − G| estimates the error of the cruder G, so it is
    a safe (usually pessimistic) bound for K (QUADPACK, Piessens et al. 1983).
    The interval with the largest estimate is bisected until the total estimate
    is ≤ max(tol, rtol·|value|) or ``max_intervals`` is reached. Infinite limits
    (±math.inf) are mapped to a finite range by substitution. Returns
    ``(value, error, evaluations, intervals)``; ``value`` is a Tensor that
    carries gradients to parameters of f.

    Example:
        >>> import math
        >>> from chainrule.calculus import adaptive_quadrature
        >>> result = adaptive_quadrature(lambda x: (-x * x).exp(), -math.inf, math.inf)
        >>> abs(result.value.item() - math.sqrt(math.pi)) < 1e-9, result.error < 1e-8
        (True, True)
    """
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        raise TypeError(
            "adaptive_quadrature: the limits must be Python floats (the bisection depends on them); "
            "for gradients with respect to a limit use ∂/∂b ∫ₐᵇ f = f(b), or gauss_legendre with tensor limits"
        )
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        raise ValueError(f"adaptive_quadrature: the limits must be numbers, got a = {a}, b = {b}")
    if a == b:
        return QuadratureResult(Tensor._wrap(_float64_array(0.0)), 0.0, 0, 0)
    if a > b:
        result = adaptive_quadrature(f, b, a, tol=tol, rtol=rtol, max_intervals=max_intervals)
        return result._replace(value=-result.value)
    integrand, low, high = _finite_interval(f, a, b)
    xp = numpy_module()
    nodes, kronrod, gauss = _kronrod_rule(xp)

    def estimate(intervals):
        """K and |K − G| on each interval, with one call of f on all their nodes."""
        lows = xp.asarray([lo for lo, _ in intervals])
        highs = xp.asarray([hi for _, hi in intervals])
        centers, half_widths = (lows + highs) / 2, (highs - lows) / 2
        points = (centers[:, None] + half_widths[:, None] * nodes[None, :]).reshape(-1)
        values = _values(integrand, Tensor._wrap(points), "adaptive_quadrature").reshape(len(intervals), 15)
        scale = Tensor._wrap(half_widths[:, None])
        kronrod_values = (values * Tensor._wrap(kronrod) * scale).sum(dim=1)
        gauss_values = (values.detach() * Tensor._wrap(gauss) * scale).sum(dim=1)
        errors = xp.abs(kronrod_values.detach().array - gauss_values.array)
        return [kronrod_values[i] for i in range(len(intervals))], errors.tolist()

    intervals = [(low, high)]
    values, errors = estimate(intervals)
    evaluations = 15
    while True:
        total = sum(float(v.item()) for v in values)
        total_error = sum(errors)
        if total_error <= max(tol, rtol * abs(total)) or len(intervals) >= max_intervals:
            break
        worst = max(range(len(errors)), key=errors.__getitem__)
        lo, hi = intervals.pop(worst)
        values.pop(worst)
        errors.pop(worst)
        middle = (lo + hi) / 2
        halves = [(lo, middle), (middle, hi)]
        new_values, new_errors = estimate(halves)
        evaluations += 30
        intervals += halves
        values += new_values
        errors += new_errors
    value = values[0]
    for v in values[1:]:
        value = value + v
    return QuadratureResult(value, float(total_error), evaluations, len(intervals))


def monte_carlo(f, low, high, n_samples=10_000, *, generator=None):
    """∫ over the box [low, high] of f by Monte Carlo, with its standard error.

    With xᵢ uniform in the box of volume V,
        I ≈ V·mean f(xᵢ),   standard error = V·std f(xᵢ)/√N,
    which falls like 1/√N whatever the dimension (quadrature rules degrade
    exponentially with it). ``low`` and ``high`` are numbers (1-D: f gets a
    tensor of shape (N,)) or sequences of length d (f gets shape (N, d) and
    returns shape (N,)). Seeded by ``generator`` (a chainrule Generator).
    The value carries gradients to parameters of f.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.calculus import monte_carlo
        >>> result = monte_carlo(lambda x: x ** 2, 0.0, 1.0, 100_000, generator=cr.Generator().manual_seed(0))
        >>> abs(result.value.item() - 1 / 3) < 4 * result.standard_error.item()
        True
    """
    numpy = numpy_module()
    low_array, high_array = numpy.asarray(low, dtype=numpy.float64), numpy.asarray(high, dtype=numpy.float64)
    if low_array.shape != high_array.shape or low_array.ndim > 1:
        raise ValueError(
            f"monte_carlo: low and high must be two numbers or two sequences of the same length, got shapes "
            f"{low_array.shape} and {high_array.shape}"
        )
    if not (high_array > low_array).all():
        raise ValueError(f"monte_carlo: need high > low in every dimension, got low = {low}, high = {high}")
    if n_samples < 2:
        raise ValueError(f"monte_carlo: need at least 2 samples to estimate a standard error, got {n_samples}")
    generator = generator or default_generator()
    shape = (n_samples,) + low_array.shape
    uniform = generator.uniform(shape, 0.0, 1.0, numpy.float64)
    samples = Tensor._wrap(low_array + (high_array - low_array) * uniform)
    values = f(samples)
    if not isinstance(values, Tensor) or tuple(values.shape) != (n_samples,):
        got = values.shape if isinstance(values, Tensor) else type(values).__name__
        raise ValueError(f"monte_carlo: f must return a Tensor of shape ({n_samples},), one value per sample; got {got}")
    volume = float(numpy.prod(high_array - low_array))
    value = volume * values.mean()
    standard_error = volume * values.std() / math.sqrt(n_samples)
    return MonteCarloResult(value, standard_error)
