"""Taylor polynomials from automatic differentiation.

    f(x) = Σ_{k=0}^{n} f⁽ᵏ⁾(x₀)/k! (x − x₀)ᵏ + Rₙ(x),   Rₙ(x) = f⁽ⁿ⁺¹⁾(ξ)/(n+1)! (x − x₀)ⁿ⁺¹

The derivatives f⁽ᵏ⁾(x₀) are exact (up to rounding): each is the gradient of the
previous one, taken with ``create_graph=True`` so that it can be differentiated
again. No step size is involved, unlike finite differences, whose error grows
quickly with the order.
"""
import math

from chainrule.core import autograd, dtypes
from chainrule.core.tensor import Tensor, tensor


class TaylorPolynomial:
    """p(x) = Σₖ cₖ (x − x₀)ᵏ with cₖ = f⁽ᵏ⁾(x₀)/k!, and its remainder against f.

    Attributes: ``coefficients`` (a list of floats c₀…cₙ), ``derivatives``
    (f⁽ᵏ⁾(x₀)), ``center`` (x₀), ``order`` (n), ``function`` (f).

    Example:
        >>> from chainrule.calculus import taylor
        >>> p = taylor(lambda x: x ** 3, 1.0, 3)        # x³ = 1 + 3(x − 1) + 3(x − 1)² + (x − 1)³
        >>> p.derivatives, p.coefficients, p.order
        ([1.0, 3.0, 6.0, 6.0], [1.0, 3.0, 3.0, 1.0], 3)
        >>> p(2.0), float(p.remainder(2.0))            # a cubic is its own cubic Taylor polynomial: R₃ = 0
        (8.0, 0.0)
    """

    def __init__(self, function, center, derivatives):
        self.function = function
        self.center = float(center)
        self.derivatives = list(derivatives)
        self.coefficients = [d / math.factorial(k) for k, d in enumerate(self.derivatives)]
        self.order = len(self.coefficients) - 1

    def __call__(self, x):
        """p(x) by Horner's rule; x may be a float, a NumPy array or a Tensor."""
        offset = x - self.center
        value = self.coefficients[-1] + 0 * offset
        for coefficient in reversed(self.coefficients[:-1]):
            value = value * offset + coefficient
        return value

    def remainder(self, x):
        """Rₙ(x) = f(x) − p(x), measured: it shrinks like |x − x₀|ⁿ⁺¹ near x₀."""
        if not isinstance(x, Tensor):
            x = tensor(x, dtype=dtypes.float64)
        value = self.function(x)
        return value - self(x)

    def __repr__(self):
        terms = " + ".join(f"{c:.6g}·(x − {self.center:g})^{k}" for k, c in enumerate(self.coefficients))
        return f"TaylorPolynomial({terms})"


def taylor(f, x0, order):
    """The Taylor polynomial of order ``order`` of a scalar function ``f`` at ``x0``, by autodiff.

    ``f`` maps a 0-d float64 Tensor to a 0-d Tensor using chainrule ops. The
    k-th derivative is the gradient of the (k−1)-th, recorded with
    ``create_graph=True`` (n backward passes for order n). A derivative that no
    longer depends on x (f a polynomial of lower degree) is 0 from then on.
    Returns a ``TaylorPolynomial``: call it like a function; its
    ``remainder(x)`` measures f(x) − p(x) (Lagrange: f⁽ⁿ⁺¹⁾(ξ)/(n+1)!·(x − x₀)ⁿ⁺¹).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.calculus import taylor
        >>> p = taylor(lambda x: x.exp(), 0.0, 4)
        >>> [round(c, 6) for c in p.coefficients]          # 1/k!
        [1.0, 1.0, 0.5, 0.166667, 0.041667]
        >>> round(p(0.1), 8), f"{p.remainder(0.1).item():.2e}"      # ≈ 0.1⁵/5!
        (1.10517083, '8.47e-08')
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"taylor: order must be a non-negative integer, got {order!r}")
    x = tensor(float(x0), dtype=dtypes.float64, requires_grad=True)
    value = f(x)
    if not isinstance(value, Tensor) or value.numel() != 1:
        shape = value.shape if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(
            f"taylor: f must map a 0-d tensor to a scalar tensor built from chainrule ops, got {shape}; "
            "use tensor methods (x.exp(), x.sin(), x ** 2) inside f"
        )
    derivatives = [float(value.item())]
    current = value
    for _ in range(order):
        if not current.requires_grad:
            derivatives.append(0.0)  # the previous derivative was constant in x
            continue
        (current,) = autograd.grad(current, x, create_graph=True, allow_unused=True)
        if current is None:
            current = tensor(0.0, dtype=dtypes.float64)
        derivatives.append(float(current.item()))
    return TaylorPolynomial(f, x0, derivatives)
