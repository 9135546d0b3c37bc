"""Elementwise primitives of one input: y = f(x), so ∂L/∂x = ∂L/∂y · f'(x).

Each derivative is written with tensor ops (so it can be differentiated again)
and, where it is cheaper, in terms of the output y (e.g. exp' = y).
"""
import math

from chainrule.backends import special_module
from chainrule.core.primitive import Primitive, apply


class Neg(Primitive):
    name = "neg"
    formula = r"y = -x"
    derivatives = (r"\bar{x} = -\bar{y}",)

    @staticmethod
    def forward(xp, x):
        return xp.negative(x)

    @staticmethod
    def grad_x(g, out, x):
        return -g

    vjps = (grad_x,)


class Exp(Primitive):
    name = "exp"
    formula = r"y = e^{x}"
    derivatives = (r"\bar{x} = \bar{y}\, e^{x} = \bar{y}\, y",)

    @staticmethod
    def forward(xp, x):
        return xp.exp(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * out

    vjps = (grad_x,)


class Log(Primitive):
    name = "log"
    formula = r"y = \ln x"
    derivatives = (r"\bar{x} = \bar{y} / x",)

    @staticmethod
    def forward(xp, x):
        return xp.log(x)

    @staticmethod
    def grad_x(g, out, x):
        return g / x

    vjps = (grad_x,)


class Log1p(Primitive):
    name = "log1p"
    formula = r"y = \ln(1 + x)"
    derivatives = (r"\bar{x} = \bar{y} / (1 + x)",)

    @staticmethod
    def forward(xp, x):
        return xp.log1p(x)

    @staticmethod
    def grad_x(g, out, x):
        return g / (x + 1)

    vjps = (grad_x,)


class Expm1(Primitive):
    name = "expm1"
    formula = r"y = e^{x} - 1"
    derivatives = (r"\bar{x} = \bar{y}\, e^{x} = \bar{y}\,(y + 1)",)

    @staticmethod
    def forward(xp, x):
        return xp.expm1(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * (out + 1)

    vjps = (grad_x,)


class Sqrt(Primitive):
    name = "sqrt"
    formula = r"y = \sqrt{x}"
    derivatives = (r"\bar{x} = \bar{y} / (2\sqrt{x}) = \bar{y} / (2y)",)

    @staticmethod
    def forward(xp, x):
        return xp.sqrt(x)

    @staticmethod
    def grad_x(g, out, x):
        return g / (out * 2)

    vjps = (grad_x,)


class Abs(Primitive):
    name = "abs"
    formula = r"y = |x|"
    derivatives = (r"\bar{x} = \bar{y}\,\operatorname{sign}(x)",)

    @staticmethod
    def forward(xp, x):
        return xp.abs(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * sign(x)

    vjps = (grad_x,)


class Sin(Primitive):
    name = "sin"
    formula = r"y = \sin x"
    derivatives = (r"\bar{x} = \bar{y} \cos x",)

    @staticmethod
    def forward(xp, x):
        return xp.sin(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * cos(x)

    vjps = (grad_x,)


class Cos(Primitive):
    name = "cos"
    formula = r"y = \cos x"
    derivatives = (r"\bar{x} = -\bar{y} \sin x",)

    @staticmethod
    def forward(xp, x):
        return xp.cos(x)

    @staticmethod
    def grad_x(g, out, x):
        return -(g * sin(x))

    vjps = (grad_x,)


class Tan(Primitive):
    name = "tan"
    formula = r"y = \tan x"
    derivatives = (r"\bar{x} = \bar{y}\,(1 + y^2)",)

    @staticmethod
    def forward(xp, x):
        return xp.tan(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * (out * out + 1)

    vjps = (grad_x,)


class Asin(Primitive):
    name = "asin"
    formula = r"y = \arcsin x"
    derivatives = (r"\bar{x} = \bar{y} / \sqrt{1 - x^2}",)

    @staticmethod
    def forward(xp, x):
        return xp.arcsin(x)

    @staticmethod
    def grad_x(g, out, x):
        return g / sqrt(1 - x * x)

    vjps = (grad_x,)


class Acos(Primitive):
    name = "acos"
    formula = r"y = \arccos x"
    derivatives = (r"\bar{x} = -\bar{y} / \sqrt{1 - x^2}",)

    @staticmethod
    def forward(xp, x):
        return xp.arccos(x)

    @staticmethod
    def grad_x(g, out, x):
        return -(g / sqrt(1 - x * x))

    vjps = (grad_x,)


class Atan(Primitive):
    name = "atan"
    formula = r"y = \arctan x"
    derivatives = (r"\bar{x} = \bar{y} / (1 + x^2)",)

    @staticmethod
    def forward(xp, x):
        return xp.arctan(x)

    @staticmethod
    def grad_x(g, out, x):
        return g / (x * x + 1)

    vjps = (grad_x,)


class Sinh(Primitive):
    name = "sinh"
    formula = r"y = \sinh x"
    derivatives = (r"\bar{x} = \bar{y} \cosh x",)

    @staticmethod
    def forward(xp, x):
        return xp.sinh(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * cosh(x)

    vjps = (grad_x,)


class Cosh(Primitive):
    name = "cosh"
    formula = r"y = \cosh x"
    derivatives = (r"\bar{x} = \bar{y} \sinh x",)

    @staticmethod
    def forward(xp, x):
        return xp.cosh(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * sinh(x)

    vjps = (grad_x,)


class Tanh(Primitive):
    name = "tanh"
    formula = r"y = \tanh x"
    derivatives = (r"\bar{x} = \bar{y}\,(1 - y^2)",)

    @staticmethod
    def forward(xp, x):
        return xp.tanh(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * (1 - out * out)

    vjps = (grad_x,)


class Sigmoid(Primitive):
    name = "sigmoid"
    formula = r"y = \sigma(x) = \frac{1}{1 + e^{-x}}"
    derivatives = (r"\bar{x} = \bar{y}\, y (1 - y)",)

    @staticmethod
    def forward(xp, x):
        # σ(x) = exp(-log(1 + e^{-x})); logaddexp never overflows, so ±1e4 and ±inf are exact.
        return xp.exp(-xp.logaddexp(0, -x)).astype(x.dtype, copy=False)

    @staticmethod
    def grad_x(g, out, x):
        return g * out * (1 - out)

    vjps = (grad_x,)


class Softplus(Primitive):
    name = "softplus"
    formula = r"y = \ln(1 + e^{x})"
    derivatives = (r"\bar{x} = \bar{y}\, \sigma(x)",)

    @staticmethod
    def forward(xp, x):
        return xp.logaddexp(0, x).astype(x.dtype, copy=False)

    @staticmethod
    def grad_x(g, out, x):
        return g * sigmoid(x)

    vjps = (grad_x,)


class Relu(Primitive):
    name = "relu"
    formula = r"y = \max(x, 0)"
    derivatives = (r"\bar{x} = \bar{y}\,[x > 0]",)

    @staticmethod
    def forward(xp, x):
        return xp.maximum(x, 0).astype(x.dtype, copy=False)

    @staticmethod
    def grad_x(g, out, x):
        return g * (x > 0)  # float × bool: one pass, no cast

    vjps = (grad_x,)


class Erf(Primitive):
    name = "erf"
    formula = r"y = \operatorname{erf}(x) = \frac{2}{\sqrt{\pi}}\int_0^x e^{-t^2}\,dt"
    derivatives = (r"\bar{x} = \bar{y}\,\frac{2}{\sqrt{\pi}} e^{-x^2}",)

    @staticmethod
    def forward(xp, x):
        return special_module(xp).erf(x).astype(x.dtype, copy=False)

    @staticmethod
    def grad_x(g, out, x):
        return g * exp(-(x * x)) * (2 / math.sqrt(math.pi))

    vjps = (grad_x,)


class Erfinv(Primitive):
    name = "erfinv"
    formula = r"y = \operatorname{erf}^{-1}(x)"
    derivatives = (r"\bar{x} = \bar{y}\,\frac{\sqrt{\pi}}{2} e^{y^2}",)

    @staticmethod
    def forward(xp, x):
        return special_module(xp).erfinv(x).astype(x.dtype, copy=False)

    @staticmethod
    def grad_x(g, out, x):
        return g * exp(out * out) * (math.sqrt(math.pi) / 2)

    vjps = (grad_x,)


class Lgamma(Primitive):
    name = "lgamma"
    formula = r"y = \ln|\Gamma(x)|"
    derivatives = (r"\bar{x} = \bar{y}\,\psi(x)",)

    @staticmethod
    def forward(xp, x):
        return special_module(xp).gammaln(x).astype(x.dtype, copy=False)

    @staticmethod
    def grad_x(g, out, x):
        return g * digamma(x)

    vjps = (grad_x,)


class Polygamma(Primitive):
    name = "polygamma"
    formula = r"y = \psi^{(n)}(x) = \frac{d^{n+1}}{dx^{n+1}} \ln\Gamma(x)"
    derivatives = (r"\bar{x} = \bar{y}\,\psi^{(n+1)}(x)",)

    @staticmethod
    def forward(xp, x, n):
        special = special_module(xp)
        value = special.digamma(x) if n == 0 else special.polygamma(n, x)
        return value.astype(x.dtype, copy=False)

    @staticmethod
    def grad_x(g, out, x, n):
        return g * polygamma(n + 1, x)

    vjps = (grad_x,)


class PiecewiseConstant(Primitive):
    """sign, floor, ceil, round, trunc: flat almost everywhere, so their derivative is 0 (as in PyTorch)."""

    name = "piecewise_constant"
    formula = r"y = f(x),\ f \in \{\operatorname{sign}, \lfloor\cdot\rfloor, \lceil\cdot\rceil, \operatorname{round}, \operatorname{trunc}\}"
    derivatives = (r"\bar{x} = 0 \text{ (f is flat between its jumps)}",)

    @staticmethod
    def forward(xp, x, function):
        return getattr(xp, function)(x)

    @staticmethod
    def grad_x(g, out, x, function):
        return g * 0

    vjps = (grad_x,)


def _float_input(x, op_name):
    from chainrule.core import dtypes
    from chainrule.ops.convert import as_tensor
    x = as_tensor(x)
    if x.dtype.kind in "iub":
        x = x.to(dtypes.get_default_dtype())
    return x


def neg(x):
    """−x."""
    return apply(Neg, x)


def exp(x):
    """eˣ, elementwise. Example: ``cr.exp(cr.tensor([0.0]))`` is ``tensor([1.])``."""
    return apply(Exp, _float_input(x, "exp"))


def log(x):
    """Natural logarithm ln x, elementwise (−inf at 0, nan below)."""
    return apply(Log, _float_input(x, "log"))


def log2(x):
    """log₂ x = ln x / ln 2."""
    return log(x) / math.log(2)


def log10(x):
    """log₁₀ x = ln x / ln 10."""
    return log(x) / math.log(10)


def log1p(x):
    """ln(1 + x), accurate for small x."""
    return apply(Log1p, _float_input(x, "log1p"))


def expm1(x):
    """eˣ − 1, accurate for small x."""
    return apply(Expm1, _float_input(x, "expm1"))


def sqrt(x):
    """√x, elementwise."""
    return apply(Sqrt, _float_input(x, "sqrt"))


def rsqrt(x):
    """1/√x."""
    return 1 / sqrt(x)


def square(x):
    """x²."""
    return x * x


def reciprocal(x):
    """1/x."""
    return 1 / _float_input(x, "reciprocal")


def abs(x):
    """|x|, with derivative sign(x) (0 at 0, as in PyTorch)."""
    return apply(Abs, x)


def sin(x):
    """sin x."""
    return apply(Sin, _float_input(x, "sin"))


def cos(x):
    """cos x."""
    return apply(Cos, _float_input(x, "cos"))


def tan(x):
    """tan x."""
    return apply(Tan, _float_input(x, "tan"))


def asin(x):
    """arcsin x."""
    return apply(Asin, _float_input(x, "asin"))


def acos(x):
    """arccos x."""
    return apply(Acos, _float_input(x, "acos"))


def atan(x):
    """arctan x."""
    return apply(Atan, _float_input(x, "atan"))


def sinh(x):
    """sinh x."""
    return apply(Sinh, _float_input(x, "sinh"))


def cosh(x):
    """cosh x."""
    return apply(Cosh, _float_input(x, "cosh"))


def tanh(x):
    """tanh x = (eˣ − e⁻ˣ)/(eˣ + e⁻ˣ); derivative 1 − tanh²x."""
    return apply(Tanh, _float_input(x, "tanh"))


def sigmoid(x):
    """σ(x) = 1/(1 + e⁻ˣ), computed without overflow; derivative σ(x)(1 − σ(x)).

    Example:
        >>> import chainrule as cr
        >>> cr.sigmoid(cr.tensor([-1e4, 0.0, 1e4]))
        tensor([0. , 0.5, 1. ])
    """
    return apply(Sigmoid, _float_input(x, "sigmoid"))


def softplus(x):
    """ln(1 + eˣ), computed as logaddexp(0, x) so it never overflows; derivative σ(x)."""
    return apply(Softplus, _float_input(x, "softplus"))


def relu(x):
    """max(x, 0); derivative [x > 0] (0 at 0, as in PyTorch)."""
    return apply(Relu, x)


def erf(x):
    """The error function erf(x) = 2/√π ∫₀ˣ e^{−t²} dt."""
    return apply(Erf, _float_input(x, "erf"))


def erfinv(x):
    """The inverse of erf on (−1, 1)."""
    return apply(Erfinv, _float_input(x, "erfinv"))


def lgamma(x):
    """ln|Γ(x)|; derivative ψ(x), the digamma function."""
    return apply(Lgamma, _float_input(x, "lgamma"))


def digamma(x):
    """ψ(x) = d/dx ln Γ(x)."""
    return apply(Polygamma, _float_input(x, "digamma"), n=0)


def polygamma(n, x):
    """ψ⁽ⁿ⁾(x), the (n+1)-th derivative of ln Γ(x)."""
    return apply(Polygamma, _float_input(x, "polygamma"), n=int(n))


def sign(x):
    """sign(x) ∈ {−1, 0, 1}; derivative 0."""
    return apply(PiecewiseConstant, x, function="sign")


def floor(x):
    """⌊x⌋; derivative 0."""
    return apply(PiecewiseConstant, x, function="floor")


def ceil(x):
    """⌈x⌉; derivative 0."""
    return apply(PiecewiseConstant, x, function="ceil")


def round(x):
    """x rounded half to even (as PyTorch and NumPy do); derivative 0."""
    return apply(PiecewiseConstant, x, function="round")


def trunc(x):
    """x rounded toward zero; derivative 0."""
    return apply(PiecewiseConstant, x, function="trunc")
