"""Elementwise primitives of one input: y = f(x), so ∂L/∂x = ∂L/∂y · f'(x).

Each primitive is one card: the class (forward, derivative rule, formulas, the checks
the tests run) and, right below it, the public function with its docstring. Each
derivative is written with tensor ops (so it can be differentiated again) and, where
it is cheaper, in terms of the output y (e.g. exp' = y).
"""
import math

from chainrule.backends import special_module
from chainrule.core import dtypes
from chainrule.core.convert import as_tensor
from chainrule.core.grad_mode import is_grad_enabled
from chainrule.core.primitive import BINARY, Check, Primitive, apply, apply_binary, composite
from chainrule.core.tensor import Tensor

__all__ = [
    "neg", "exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "abs", "sin", "cos", "tan",
    "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "softplus", "relu", "erf", "erfinv", "lgamma",
    "digamma", "polygamma", "sign", "floor", "ceil", "round", "trunc", "square", "reciprocal",
]


def _float_input(x, op_name):
    if type(x) is Tensor and x.array.dtype.kind in "fc":
        return x   # the common case, answered without as_tensor's call and the dtype property's
    x = as_tensor(x)
    if x.dtype.kind in "iub":
        x = x.to(dtypes.get_default_dtype())
    return x


class Neg(Primitive):
    name = "neg"
    formula = r"y = -x"
    derivatives = (r"\bar{x} = -\bar{y}",)
    checks = (Check("neg"),)

    @staticmethod
    def forward(xp, x):
        return xp.negative(x)

    @staticmethod
    def grad_x(g, out, x):
        return -g

    vjps = (grad_x,)


def neg(x):
    """Negation, y = −x; dy/dx = −1.

    Example:
        >>> import chainrule as cr
        >>> cr.neg(cr.tensor([1.0, -2.5]))
        tensor([-1. ,  2.5])
    """
    return apply(Neg, x)


class Exp(Primitive):
    name = "exp"
    formula = r"y = e^{x}"
    derivatives = (r"\bar{x} = \bar{y}\, e^{x} = \bar{y}\, y",)
    checks = (Check("exp"),)

    @staticmethod
    def forward(xp, x):
        return xp.exp(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * out

    vjps = (grad_x,)


def exp(x):
    """eˣ, elementwise: y = eˣ; dy/dx = eˣ = y (the derivative is the output itself).

    Example:
        >>> import chainrule as cr
        >>> cr.exp(cr.tensor([0.0, 1.0]))
        tensor([1.    , 2.7183])
        >>> cr.func.grad(cr.exp)(cr.tensor(1.0))       # e¹
        tensor(2.7183)
    """
    return apply(Exp, _float_input(x, "exp"))


class Log(Primitive):
    name = "log"
    formula = r"y = \ln x"
    derivatives = (r"\bar{x} = \bar{y} / x",)
    checks = (Check("log", domain="positive"),)

    @staticmethod
    def forward(xp, x):
        return xp.log(x)

    @staticmethod
    def grad_x(g, out, x):
        return g / x

    vjps = (grad_x,)


def log(x):
    """Natural logarithm ln x, elementwise (−inf at 0, nan below); dy/dx = 1/x.

    Example:
        >>> import chainrule as cr
        >>> cr.log(cr.tensor([1.0, 0.0, -1.0]))
        tensor([  0., -inf,  nan])
        >>> cr.func.grad(cr.log)(cr.tensor(4.0))       # 1/4
        tensor(0.25)
    """
    return apply(Log, _float_input(x, "log"))


@composite(Check("log2", domain="positive"))
def log2(x):
    """log₂ x = ln x / ln 2; dy/dx = 1/(x ln 2).

    Example:
        >>> import chainrule as cr
        >>> cr.log2(cr.tensor([1.0, 2.0, 8.0]))
        tensor([0., 1., 3.])
    """
    return log(x) / math.log(2)


@composite(Check("log10", domain="positive"))
def log10(x):
    """log₁₀ x = ln x / ln 10; dy/dx = 1/(x ln 10).

    Example:
        >>> import chainrule as cr
        >>> cr.log10(cr.tensor([1.0, 10.0, 1000.0]))
        tensor([0., 1., 3.])
    """
    return log(x) / math.log(10)


class Log1p(Primitive):
    name = "log1p"
    formula = r"y = \ln(1 + x)"
    derivatives = (r"\bar{x} = \bar{y} / (1 + x)",)
    checks = (Check("log1p", domain="positive"),)

    @staticmethod
    def forward(xp, x):
        return xp.log1p(x)

    @staticmethod
    def grad_x(g, out, x):
        return g / (x + 1)

    vjps = (grad_x,)


def log1p(x):
    """ln(1 + x), accurate for small x; dy/dx = 1/(1 + x).

    Example:
        >>> import chainrule as cr
        >>> cr.log1p(cr.tensor([1e-10]))
        tensor([1.e-10])
        >>> cr.log(1 + cr.tensor([1e-10]))             # 1 + 1e-10 rounds to 1 in float32
        tensor([0.])
    """
    return apply(Log1p, _float_input(x, "log1p"))


class Expm1(Primitive):
    name = "expm1"
    formula = r"y = e^{x} - 1"
    derivatives = (r"\bar{x} = \bar{y}\, e^{x} = \bar{y}\,(y + 1)",)
    checks = (Check("expm1"),)

    @staticmethod
    def forward(xp, x):
        return xp.expm1(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * (out + 1)

    vjps = (grad_x,)


def expm1(x):
    """eˣ − 1, accurate for small x; dy/dx = eˣ = y + 1.

    Example:
        >>> import chainrule as cr
        >>> cr.expm1(cr.tensor([1e-10]))
        tensor([1.e-10])
        >>> cr.exp(cr.tensor([1e-10])) - 1             # e^(1e-10) rounds to 1 in float32
        tensor([0.])
    """
    return apply(Expm1, _float_input(x, "expm1"))


class Sqrt(Primitive):
    name = "sqrt"
    formula = r"y = \sqrt{x}"
    derivatives = (r"\bar{x} = \bar{y} / (2\sqrt{x}) = \bar{y} / (2y)",)
    checks = (Check("sqrt", domain="positive"),)

    @staticmethod
    def forward(xp, x):
        return xp.sqrt(x)

    @staticmethod
    def grad_x(g, out, x):
        return g / (out * 2)

    vjps = (grad_x,)


def sqrt(x):
    """√x, elementwise (nan for x < 0); dy/dx = 1/(2√x) = 1/(2y).

    Example:
        >>> import chainrule as cr
        >>> cr.sqrt(cr.tensor([4.0, 2.25]))
        tensor([2. , 1.5])
        >>> cr.func.grad(cr.sqrt)(cr.tensor(4.0))      # 1/(2·2)
        tensor(0.25)
    """
    return apply(Sqrt, _float_input(x, "sqrt"))


@composite(Check("rsqrt", domain="positive"))
def rsqrt(x):
    """1/√x = x^(−1/2); dy/dx = −½ x^(−3/2).

    Example:
        >>> import chainrule as cr
        >>> cr.rsqrt(cr.tensor([4.0, 0.25]))
        tensor([0.5, 2. ])
        >>> cr.func.grad(cr.rsqrt)(cr.tensor(4.0))     # −½ · 4^(−3/2)
        tensor(-0.0625)
    """
    return 1 / sqrt(x)


class Abs(Primitive):
    name = "abs"
    formula = r"y = |x|"
    derivatives = (r"\bar{x} = \bar{y}\,\operatorname{sign}(x)",)
    checks = (Check("abs", domain="nonzero"),)

    @staticmethod
    def forward(xp, x):
        return xp.abs(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * sign(x)

    vjps = (grad_x,)


def abs(x):
    """|x|, with derivative sign(x) (0 at 0, as in PyTorch): y = |x|; dy/dx = sign(x).

    Example:
        >>> import chainrule as cr
        >>> cr.abs(cr.tensor([-1.5, 0.0, 2.0]))
        tensor([1.5, 0. , 2. ])
        >>> cr.func.grad(lambda x: cr.abs(x).sum())(cr.tensor([-2.0, 0.0, 3.0]))
        tensor([-1.,  0.,  1.])
    """
    return apply(Abs, x)


class Sin(Primitive):
    name = "sin"
    formula = r"y = \sin x"
    derivatives = (r"\bar{x} = \bar{y} \cos x",)
    checks = (Check("sin"),)

    @staticmethod
    def forward(xp, x):
        return xp.sin(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * cos(x)

    vjps = (grad_x,)


def sin(x):
    """sin x (x in radians); dy/dx = cos x.

    Example:
        >>> import chainrule as cr, math
        >>> cr.sin(cr.tensor([0.0, math.pi / 2]))
        tensor([0., 1.])
        >>> cr.func.grad(cr.sin)(cr.tensor(0.0))       # cos 0
        tensor(1.)
    """
    return apply(Sin, _float_input(x, "sin"))


class Cos(Primitive):
    name = "cos"
    formula = r"y = \cos x"
    derivatives = (r"\bar{x} = -\bar{y} \sin x",)
    checks = (Check("cos"),)

    @staticmethod
    def forward(xp, x):
        return xp.cos(x)

    @staticmethod
    def grad_x(g, out, x):
        return -(g * sin(x))

    vjps = (grad_x,)


def cos(x):
    """cos x (x in radians); dy/dx = −sin x.

    Example:
        >>> import chainrule as cr, math
        >>> cr.cos(cr.tensor([0.0, math.pi]))
        tensor([ 1., -1.])
        >>> x = cr.tensor([0.5, 2.0])
        >>> cr.sin(x) ** 2 + cr.cos(x) ** 2
        tensor([1., 1.])
    """
    return apply(Cos, _float_input(x, "cos"))


class Tan(Primitive):
    name = "tan"
    formula = r"y = \tan x"
    derivatives = (r"\bar{x} = \bar{y}\,(1 + y^2)",)
    checks = (Check("tan", domain="unit"),)

    @staticmethod
    def forward(xp, x):
        return xp.tan(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * (out * out + 1)

    vjps = (grad_x,)


def tan(x):
    """tan x = sin x / cos x; dy/dx = 1 + tan²x = 1/cos²x.

    Example:
        >>> import chainrule as cr, math
        >>> cr.tan(cr.tensor([0.0, math.pi / 4]))
        tensor([0., 1.])
        >>> cr.func.grad(cr.tan)(cr.tensor(math.pi / 4))   # 1 + 1²
        tensor(2.)
    """
    return apply(Tan, _float_input(x, "tan"))


class Asin(Primitive):
    name = "asin"
    formula = r"y = \arcsin x"
    derivatives = (r"\bar{x} = \bar{y} / \sqrt{1 - x^2}",)
    checks = (Check("asin", domain="unit"),)

    @staticmethod
    def forward(xp, x):
        return xp.arcsin(x)

    @staticmethod
    def grad_x(g, out, x):
        return g / sqrt(1 - x * x)

    vjps = (grad_x,)


def asin(x):
    """arcsin x ∈ [−π/2, π/2], for x ∈ [−1, 1] (nan outside); dy/dx = 1/√(1 − x²).

    Example:
        >>> import chainrule as cr
        >>> cr.asin(cr.tensor([0.0, 0.5, 1.0]))        # 0, π/6, π/2
        tensor([0.    , 0.5236, 1.5708])
        >>> cr.func.grad(cr.asin)(cr.tensor(0.0))
        tensor(1.)
    """
    return apply(Asin, _float_input(x, "asin"))


class Acos(Primitive):
    name = "acos"
    formula = r"y = \arccos x"
    derivatives = (r"\bar{x} = -\bar{y} / \sqrt{1 - x^2}",)
    checks = (Check("acos", domain="unit"),)

    @staticmethod
    def forward(xp, x):
        return xp.arccos(x)

    @staticmethod
    def grad_x(g, out, x):
        return -(g / sqrt(1 - x * x))

    vjps = (grad_x,)


def acos(x):
    """arccos x ∈ [0, π], for x ∈ [−1, 1] (nan outside); dy/dx = −1/√(1 − x²).

    Example:
        >>> import chainrule as cr
        >>> cr.acos(cr.tensor([1.0, 0.0, -1.0]))       # 0, π/2, π
        tensor([0.    , 1.5708, 3.1416])
        >>> cr.func.grad(cr.acos)(cr.tensor(0.0))
        tensor(-1.)
    """
    return apply(Acos, _float_input(x, "acos"))


class Atan(Primitive):
    name = "atan"
    formula = r"y = \arctan x"
    derivatives = (r"\bar{x} = \bar{y} / (1 + x^2)",)
    checks = (Check("atan"),)

    @staticmethod
    def forward(xp, x):
        return xp.arctan(x)

    @staticmethod
    def grad_x(g, out, x):
        return g / (x * x + 1)

    vjps = (grad_x,)


def atan(x):
    """arctan x ∈ (−π/2, π/2); dy/dx = 1/(1 + x²).

    Example:
        >>> import chainrule as cr
        >>> cr.atan(cr.tensor([0.0, 1.0, float("inf")]))   # 0, π/4, π/2
        tensor([0.    , 0.7854, 1.5708])
        >>> cr.func.grad(cr.atan)(cr.tensor(1.0))      # 1/(1 + 1²)
        tensor(0.5)
    """
    return apply(Atan, _float_input(x, "atan"))


class Sinh(Primitive):
    name = "sinh"
    formula = r"y = \sinh x"
    derivatives = (r"\bar{x} = \bar{y} \cosh x",)
    checks = (Check("sinh"),)

    @staticmethod
    def forward(xp, x):
        return xp.sinh(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * cosh(x)

    vjps = (grad_x,)


def sinh(x):
    """sinh x = (eˣ − e⁻ˣ)/2; dy/dx = cosh x.

    Example:
        >>> import chainrule as cr
        >>> cr.sinh(cr.tensor([0.0, 1.0]))
        tensor([0.    , 1.1752])
        >>> cr.func.grad(cr.sinh)(cr.tensor(0.0))      # cosh 0
        tensor(1.)
    """
    return apply(Sinh, _float_input(x, "sinh"))


class Cosh(Primitive):
    name = "cosh"
    formula = r"y = \cosh x"
    derivatives = (r"\bar{x} = \bar{y} \sinh x",)
    checks = (Check("cosh"),)

    @staticmethod
    def forward(xp, x):
        return xp.cosh(x)

    @staticmethod
    def grad_x(g, out, x):
        return g * sinh(x)

    vjps = (grad_x,)


def cosh(x):
    """cosh x = (eˣ + e⁻ˣ)/2; dy/dx = sinh x.

    Example:
        >>> import chainrule as cr
        >>> cr.cosh(cr.tensor([0.0, 1.0]))
        tensor([1.    , 1.5431])
        >>> x = cr.tensor([0.5, 2.0])
        >>> cr.cosh(x) ** 2 - cr.sinh(x) ** 2
        tensor([1., 1.])
    """
    return apply(Cosh, _float_input(x, "cosh"))


class Tanh(Primitive):
    name = "tanh"
    formula = r"y = \tanh x"
    derivatives = (r"\bar{x} = \bar{y}\,(1 - y^2)",)
    checks = (Check("tanh"),)

    @staticmethod
    def forward(xp, x):
        return xp.tanh(x)

    @staticmethod
    def grad_x(g, out, x):
        return tanh_backward(g, out)   # ḡ (1 − y²) as one op, not three and a scalar

    vjps = (grad_x,)


def tanh(x):
    """tanh x = (eˣ − e⁻ˣ)/(eˣ + e⁻ˣ); derivative 1 − tanh²x.

    Example:
        >>> import chainrule as cr
        >>> cr.tanh(cr.tensor([0.0, 100.0, -100.0]))
        tensor([ 0.,  1., -1.])
        >>> cr.func.grad(cr.tanh)(cr.tensor(0.0))      # 1 − tanh²0
        tensor(1.)
    """
    return apply(Tanh, _float_input(x, "tanh"))


class TanhBackward(Primitive):
    """tanh's rule as one primitive (PyTorch's ``tanh_backward``): every tanh in a backward pass
    costs one op instead of three and a Python scalar; its own rules keep higher derivatives."""

    name = "tanh_backward"
    formula = r"z = g\,(1 - y^2)"
    derivatives = (r"\bar{g} = \bar{z}\,(1 - y^2)", r"\bar{y} = -2\,\bar{z}\, g\, y")
    checks = (Check("tanh_backward", call=lambda lib, g, y: tanh_backward(g, y), shapes=BINARY, domain="unit",
                    torch_call=lambda torch, g, y: torch.ops.aten.tanh_backward(g, y)),)

    @staticmethod
    def forward(xp, g, y):
        return g * (1 - y * y)

    @staticmethod
    def grad_g(gz, out, g, y):
        return tanh_backward(gz, y)

    @staticmethod
    def grad_y(gz, out, g, y):
        return gz * g * y * -2

    vjps = (grad_g, grad_y)


def tanh_backward(grad, output):
    """∂L/∂x of y = tanh x from ``grad`` = ∂L/∂y and ``output`` = y: z = g (1 − y²), with broadcasting.

    tanh's derivative rule calls it; ∂z/∂g = 1 − y², ∂z/∂y = −2 g y.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.ops.elementwise import tanh_backward
        >>> tanh_backward(cr.tensor([1.0, 2.0]), cr.tensor([0.0, 0.5]))    # g (1 − y²)
        tensor([1. , 1.5])
    """
    return apply_binary(TanhBackward, grad, output)


class Sigmoid(Primitive):
    name = "sigmoid"
    formula = r"y = \sigma(x) = \frac{1}{1 + e^{-x}}"
    derivatives = (r"\bar{x} = \bar{y}\, y (1 - y)",)
    checks = (Check("sigmoid"),)

    @staticmethod
    def forward(xp, x):
        # σ(x) = exp(-log(1 + e^{-x})); logaddexp never overflows, so ±1e4 and ±inf are exact.
        return xp.exp(-xp.logaddexp(0, -x)).astype(x.dtype, copy=False)

    @staticmethod
    def grad_x(g, out, x):
        return g * out * (1 - out)

    vjps = (grad_x,)


def sigmoid(x):
    """σ(x) = 1/(1 + e⁻ˣ), computed without overflow; derivative σ(x)(1 − σ(x)).

    Example:
        >>> import chainrule as cr
        >>> cr.sigmoid(cr.tensor([-1e4, 0.0, 1e4]))
        tensor([0. , 0.5, 1. ])
    """
    return apply(Sigmoid, _float_input(x, "sigmoid"))


class Softplus(Primitive):
    name = "softplus"
    formula = r"y = \ln(1 + e^{x})"
    derivatives = (r"\bar{x} = \bar{y}\, \sigma(x)",)
    checks = (Check("softplus", torch_call=lambda torch, x: torch.nn.functional.softplus(x)),)

    @staticmethod
    def forward(xp, x):
        return xp.logaddexp(0, x).astype(x.dtype, copy=False)

    @staticmethod
    def grad_x(g, out, x):
        return g * sigmoid(x)

    vjps = (grad_x,)


def softplus(x):
    """ln(1 + eˣ), computed as logaddexp(0, x) so it never overflows; derivative σ(x).

    Example:
        >>> import chainrule as cr
        >>> cr.softplus(cr.tensor([0.0, 1e4, -1e4]))   # ln 2, ≈x for large x, ≈0 for very negative x
        tensor([6.9315e-01, 1.0000e+04, 0.0000e+00])
        >>> cr.func.grad(cr.softplus)(cr.tensor(0.0))  # σ(0)
        tensor(0.5)
    """
    return apply(Softplus, _float_input(x, "softplus"))


def _max_with_zero(xp, x):
    """max(x, 0) elementwise, in x's memory layout, through NumPy's array-array loop.

    NumPy's maximum against a broadcast scalar takes a slow loop (0.30 ms at 64×16×28×28 float32,
    a third of PyTorch's speed) while against an array it takes the vectorised one (0.13 ms), with
    the same result at every value (NaN, ±0, ±inf). So x is viewed, in memory order, as rows of
    up to _ZERO_ROW numbers and compared with one broadcast row of zeros; a strided x that no
    axis order makes dense keeps the scalar form.
    """
    order = sorted(range(x.ndim), key=lambda axis: -x.strides[axis])
    dense = x.transpose(order)
    if x.size == 0 or x.ndim == 0 or not dense.flags.c_contiguous:
        return xp.maximum(x, 0).astype(x.dtype, copy=False)
    row = 1
    for size in reversed(dense.shape):
        if row * size > _ZERO_ROW:
            break
        row *= size
    out = xp.maximum(dense.reshape(-1, row), xp.zeros(row, dtype=x.dtype)).reshape(dense.shape)
    return out.transpose([order.index(axis) for axis in range(x.ndim)])   # back to x's axes, in x's layout


_ZERO_ROW = 8192


class Relu(Primitive):
    name = "relu"
    formula = r"y = \max(x, 0)"
    derivatives = (r"\bar{x} = \bar{y}\,[x > 0]",)
    checks = (Check("relu", domain="nonzero"),)

    @staticmethod
    def forward(xp, x):
        return _max_with_zero(xp, x)

    @staticmethod
    def grad_x(g, out, x):
        if not is_grad_enabled():
            # A plain backward (nothing recorded): the same multiply on raw arrays, without the two ops'
            # dispatch (40-60 µs each in the MLP step, measured; the same bits).
            return Tensor._wrap(g.array * (x.array > 0))
        return g * (x > 0)  # float × bool: one pass, no cast

    vjps = (grad_x,)


def relu(x):
    """max(x, 0); derivative [x > 0] (0 at 0, as in PyTorch).

    Example:
        >>> import chainrule as cr
        >>> cr.relu(cr.tensor([-1.0, 0.0, 2.0]))
        tensor([0., 0., 2.])
        >>> cr.func.grad(lambda x: cr.relu(x).sum())(cr.tensor([-1.0, 0.0, 2.0]))
        tensor([0., 0., 1.])
    """
    return apply(Relu, x)


class Erf(Primitive):
    name = "erf"
    formula = r"y = \operatorname{erf}(x) = \frac{2}{\sqrt{\pi}}\int_0^x e^{-t^2}\,dt"
    derivatives = (r"\bar{x} = \bar{y}\,\frac{2}{\sqrt{\pi}} e^{-x^2}",)
    checks = (Check("erf"),)

    @staticmethod
    def forward(xp, x):
        return special_module(xp).erf(x).astype(x.dtype, copy=False)

    @staticmethod
    def grad_x(g, out, x):
        return g * exp(-(x * x)) * (2 / math.sqrt(math.pi))

    vjps = (grad_x,)


def erf(x):
    """The error function erf(x) = 2/√π ∫₀ˣ e^{−t²} dt; derivative 2/√π · e^{−x²}.

    Example:
        >>> import chainrule as cr
        >>> cr.erf(cr.tensor([0.0, 0.5, float("inf")]))
        tensor([0.    , 0.5205, 1.    ])
        >>> cr.func.grad(cr.erf)(cr.tensor(0.0))       # 2/√π
        tensor(1.1284)
    """
    return apply(Erf, _float_input(x, "erf"))


class Erfinv(Primitive):
    name = "erfinv"
    formula = r"y = \operatorname{erf}^{-1}(x)"
    derivatives = (r"\bar{x} = \bar{y}\,\frac{\sqrt{\pi}}{2} e^{y^2}",)
    checks = (Check("erfinv", domain="unit"),)

    @staticmethod
    def forward(xp, x):
        return special_module(xp).erfinv(x).astype(x.dtype, copy=False)

    @staticmethod
    def grad_x(g, out, x):
        return g * exp(out * out) * (math.sqrt(math.pi) / 2)

    vjps = (grad_x,)


def erfinv(x):
    """The inverse of erf on (−1, 1) (±inf at ±1, nan outside): y = erf⁻¹(x); derivative √π/2 · e^{y²}.

    Example:
        >>> import chainrule as cr
        >>> cr.erfinv(cr.erf(cr.tensor([0.5, -0.25])))
        tensor([ 0.5 , -0.25])
        >>> cr.func.grad(cr.erfinv)(cr.tensor(0.0))    # √π/2
        tensor(0.8862)
    """
    return apply(Erfinv, _float_input(x, "erfinv"))


class Lgamma(Primitive):
    name = "lgamma"
    formula = r"y = \ln|\Gamma(x)|"
    derivatives = (r"\bar{x} = \bar{y}\,\psi(x)",)
    checks = (Check("lgamma", domain="positive"),)

    @staticmethod
    def forward(xp, x):
        return special_module(xp).gammaln(x).astype(x.dtype, copy=False)

    @staticmethod
    def grad_x(g, out, x):
        return g * digamma(x)

    vjps = (grad_x,)


def lgamma(x):
    """ln|Γ(x)| (+inf at the poles 0, −1, −2, …); derivative ψ(x), the digamma function.

    Example:
        >>> import chainrule as cr
        >>> cr.exp(cr.lgamma(cr.tensor([1.0, 2.0, 5.0])))   # Γ(n) = (n − 1)!
        tensor([ 1.,  1., 24.])
        >>> cr.func.grad(cr.lgamma)(cr.tensor(1.0))    # ψ(1) = −γ (Euler–Mascheroni)
        tensor(-0.5772)
    """
    return apply(Lgamma, _float_input(x, "lgamma"))


class Polygamma(Primitive):
    name = "polygamma"
    formula = r"y = \psi^{(n)}(x) = \frac{d^{n+1}}{dx^{n+1}} \ln\Gamma(x)"
    derivatives = (r"\bar{x} = \bar{y}\,\psi^{(n+1)}(x)",)
    # digamma is polygamma(0, x); for n ≥ 1 SciPy's ψ⁽ⁿ⁺¹⁾ and PyTorch's differ by about 1e-9.
    checks = (Check("digamma", domain="positive"),)

    @staticmethod
    def forward(xp, x, n):
        special = special_module(xp)
        value = special.digamma(x) if n == 0 else special.polygamma(n, x)
        return value.astype(x.dtype, copy=False)

    @staticmethod
    def grad_x(g, out, x, n):
        return g * polygamma(n + 1, x)

    vjps = (grad_x,)


def digamma(x):
    """ψ(x) = d/dx ln Γ(x) = Γ′(x)/Γ(x); derivative ψ⁽¹⁾(x) = polygamma(1, x).

    Example:
        >>> import chainrule as cr
        >>> cr.digamma(cr.tensor([1.0, 2.0]))          # −γ, and ψ(x + 1) = ψ(x) + 1/x
        tensor([-0.5772,  0.4228])
        >>> cr.func.grad(cr.digamma)(cr.tensor(1.0))   # ψ⁽¹⁾(1) = π²/6
        tensor(1.6449)
    """
    return apply(Polygamma, _float_input(x, "digamma"), n=0)


def polygamma(n, x):
    """ψ⁽ⁿ⁾(x), the (n+1)-th derivative of ln Γ(x), for an integer n ≥ 0 (n = 0 is digamma);
    derivative d/dx ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁺¹⁾(x).

    Example:
        >>> import chainrule as cr
        >>> cr.polygamma(1, cr.tensor([1.0]))          # ψ⁽¹⁾(1) = π²/6
        tensor([1.6449])
        >>> cr.func.grad(lambda x: cr.polygamma(1, x))(cr.tensor(1.0))   # ψ⁽²⁾(1) = −2ζ(3)
        tensor(-2.4041)
    """
    if isinstance(n, bool) or not float(n).is_integer() or n < 0:
        raise ValueError(f"polygamma: the order n must be an integer ≥ 0 (0 is digamma), got {n!r}")
    return apply(Polygamma, _float_input(x, "polygamma"), n=int(n))


class PiecewiseConstant(Primitive):
    """sign, floor, ceil, round, trunc: flat almost everywhere, so their derivative is 0 (as in PyTorch)."""

    name = "piecewise_constant"
    formula = r"y = f(x),\ f \in \{\operatorname{sign}, \lfloor\cdot\rfloor, \lceil\cdot\rceil, \operatorname{round}, \operatorname{trunc}\}"
    derivatives = (r"\bar{x} = 0 \text{ (f is flat between its jumps)}",)
    checks = (
        Check("sign", domain="nonzero"),
        Check("floor", domain="away_from_int"),
        Check("ceil", domain="away_from_int"),
        Check("round", domain="away_from_int"),
        Check("trunc", domain="away_from_int"),
    )

    @staticmethod
    def forward(xp, x, function):
        return getattr(xp, function)(x)

    @staticmethod
    def grad_x(g, out, x, function):
        return g * 0

    vjps = (grad_x,)


def sign(x):
    """sign(x) ∈ {−1, 0, 1}; derivative 0 (almost everywhere; 0 at the jump too, as in PyTorch).

    Example:
        >>> import chainrule as cr
        >>> cr.sign(cr.tensor([-2.0, 0.0, 3.0]))
        tensor([-1.,  0.,  1.])
        >>> cr.func.grad(cr.sign)(cr.tensor(2.0))
        tensor(0.)
    """
    return apply(PiecewiseConstant, x, function="sign")


def floor(x):
    """⌊x⌋, the largest integer ≤ x; derivative 0 (almost everywhere; 0 at the jumps too).

    Example:
        >>> import chainrule as cr
        >>> cr.floor(cr.tensor([-1.5, 1.5]))
        tensor([-2.,  1.])
        >>> cr.func.grad(lambda x: cr.floor(x).sum())(cr.tensor([-1.5, 1.5]))
        tensor([0., 0.])
    """
    return apply(PiecewiseConstant, x, function="floor")


def ceil(x):
    """⌈x⌉, the smallest integer ≥ x; derivative 0 (almost everywhere; 0 at the jumps too).

    Example:
        >>> import chainrule as cr
        >>> cr.ceil(cr.tensor([-1.5, 1.5]))
        tensor([-1.,  2.])
    """
    return apply(PiecewiseConstant, x, function="ceil")


def round(x):
    """x rounded half to even (as PyTorch and NumPy do); derivative 0 (almost everywhere; 0 at the jumps too).

    Example:
        >>> import chainrule as cr
        >>> cr.round(cr.tensor([0.5, 1.5, 2.5, -0.5]))
        tensor([ 0.,  2.,  2., -0.])
    """
    return apply(PiecewiseConstant, x, function="round")


def trunc(x):
    """x rounded toward zero, trunc(x) = sign(x)·⌊|x|⌋; derivative 0 (almost everywhere; 0 at the jumps too).

    Example:
        >>> import chainrule as cr
        >>> cr.trunc(cr.tensor([-1.7, 1.7]))
        tensor([-1.,  1.])
    """
    return apply(PiecewiseConstant, x, function="trunc")


# ----- composed from the primitives above (their derivatives come from the chain rule)


@composite(Check("square"))
def square(x):
    """x²; dy/dx = 2x. Keeps the input's dtype (integers stay integers).

    Example:
        >>> import chainrule as cr
        >>> cr.square(cr.tensor([-3.0, 0.5]))
        tensor([9.  , 0.25])
        >>> cr.func.grad(cr.square)(cr.tensor(3.0))    # 2·3
        tensor(6.)
    """
    return x * x


@composite(Check("reciprocal", domain="nonzero"))
def reciprocal(x):
    """1/x; dy/dx = −1/x². Integer inputs give floats (as in PyTorch).

    Example:
        >>> import chainrule as cr
        >>> cr.reciprocal(cr.tensor([2, 4]))
        tensor([0.5 , 0.25])
        >>> cr.func.grad(cr.reciprocal)(cr.tensor(2.0))    # −1/2²
        tensor(-0.25)
    """
    return 1 / _float_input(x, "reciprocal")
