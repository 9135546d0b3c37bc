"""Activation functions (ReLU and its family, GELU, SiLU, Mish, sigmoid, tanh, softmax) with PyTorch's names.

Each is composed from ops; its derivative, in the docstring, comes from the chain rule.
"""
import math
import warnings

from chainrule import ops
from chainrule.core.creation import zeros_like
from chainrule.core.primitive import Check, composite
from chainrule.core.tensor import Tensor
from chainrule.nn.functional._common import _in_float32

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu(input, inplace=False):
    r""":math:`\max(x, 0)`; derivative :math:`[x > 0]` (0 at x = 0, as PyTorch).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.relu(cr.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    return ops.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    r""":math:`x` for x > 0, :math:`a x` otherwise (a = ``negative_slope``); derivative 1 for x > 0, a otherwise.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.leaky_relu(cr.tensor([-2.0, 3.0]), 0.5)
        tensor([-1.,  3.])
    """
    return ops.where(input > 0, input, input * negative_slope)


def prelu(input, weight):
    r""":math:`x` for x > 0, :math:`a_c x` otherwise, with a learned slope per channel (dim 1) or one shared slope.

    Derivatives: :math:`\partial y/\partial x = [x > 0] + a_c [x \le 0]`, :math:`\partial y/\partial a_c = x [x \le 0]`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.prelu(cr.tensor([[-4.0, -4.0]]), cr.tensor([0.25, 0.5]))   # one slope per channel
        tensor([[-1., -2.]])
    """
    if weight.numel() != 1:
        channels = input.shape[1] if input.ndim >= 2 else input.shape[0]
        if weight.numel() != channels:
            raise ValueError(
                f"prelu: {weight.numel()} slopes do not match the {channels} channels of the input of shape {input.shape}"
            )
        if input.ndim >= 2:
            weight = weight.reshape((1, channels) + (1,) * (input.ndim - 2))
    return ops.where(input > 0, input, input * weight)


def elu(input, alpha=1.0, inplace=False):
    r""":math:`x` for x > 0, :math:`\alpha(e^x - 1)` otherwise; derivative 1 for x > 0, :math:`\alpha e^x` otherwise.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.elu(cr.tensor([-1.0, 2.0]))   # e⁻¹ − 1
        tensor([-0.6321,  2.    ])
    """
    # expm1 only sees x ≤ 0, so a large positive x cannot overflow into the unused branch (and its gradient).
    return ops.where(input > 0, input, alpha * ops.expm1(input.clamp(max=0.0)))


def selu(input, inplace=False):
    r""":math:`\lambda x` for x > 0, :math:`\lambda\alpha(e^x - 1)` otherwise (λ ≈ 1.0507, α ≈ 1.6733).

    Derivative: λ for x > 0, :math:`\lambda\alpha e^x` otherwise.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.selu(cr.tensor([0.0, 1.0]))
        tensor([0.    , 1.0507])
    """
    return _SELU_SCALE * elu(input, _SELU_ALPHA)


def gelu(input, approximate="none"):
    r""":math:`x\,\Phi(x) = \frac{x}{2}(1 + \operatorname{erf}(x/\sqrt2))`; 'tanh': :math:`\frac{x}{2}(1 + \tanh(\sqrt{2/\pi}(x + 0.044715x^3)))`.

    Derivative (exact form): :math:`\Phi(x) + x\,\varphi(x)`, φ the standard normal density.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.gelu(cr.tensor([0.0, 1.0]))   # Φ(1) = 0.8413
        tensor([0.    , 0.8413])
        >>> F.gelu(cr.tensor([0.0, 1.0]), approximate="tanh")
        tensor([0.    , 0.8412])
    """
    if approximate == "none":
        return 0.5 * input * (1.0 + ops.erf(input * (1.0 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (input + 0.044715 * input * input * input)
        return 0.5 * input * (1.0 + ops.tanh(inner))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input, inplace=False):
    r""":math:`x\,\sigma(x)`; derivative :math:`\sigma(x)(1 + x(1 - \sigma(x)))`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.silu(cr.tensor([0.0, 1.0]))   # σ(1)
        tensor([0.    , 0.7311])
    """
    return input * ops.sigmoid(input)


def mish(input, inplace=False):
    r""":math:`x \tanh(\operatorname{softplus}(x))`; derivative
    :math:`\tanh(\operatorname{sp}(x)) + x\,\sigma(x)(1 - \tanh^2(\operatorname{sp}(x)))`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.mish(cr.tensor([0.0, 1.0]))   # tanh(ln(1 + e))
        tensor([0.    , 0.8651])
    """
    return input * ops.tanh(ops.softplus(input))


def softplus(input, beta=1.0, threshold=20.0):
    r""":math:`\frac{1}{\beta}\ln(1 + e^{\beta x})`, and x itself where βx > threshold (where they agree to float precision).

    Derivative: :math:`\sigma(\beta x)` (1 where βx > threshold).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.softplus(cr.tensor([0.0, 30.0]))   # ln 2, and x past the threshold
        tensor([ 0.6931, 30.    ])
    """
    scaled = input * beta
    return ops.where(scaled > threshold, input, ops.softplus(scaled) / beta)


def sigmoid(input):
    r""":math:`\sigma(x) = 1 / (1 + e^{-x})`; derivative :math:`\sigma(x)(1 - \sigma(x))`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.sigmoid(cr.tensor([0.0, 1.0]))
        tensor([0.5   , 0.7311])
    """
    return ops.sigmoid(input)


def tanh(input):
    r""":math:`\tanh x = \frac{e^x - e^{-x}}{e^x + e^{-x}}`; derivative :math:`1 - \tanh^2 x`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.tanh(cr.tensor([0.0, 1.0]))
        tensor([0.    , 0.7616])
    """
    return ops.tanh(input)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    r""":math:`\min(\max(x, a), b)` (a = ``min_val``, b = ``max_val``); derivative [a < x < b] (0 at both bounds, as in PyTorch).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.hardtanh(cr.tensor([-2.0, 0.5, 2.0]))
        tensor([-1. ,  0.5,  1. ])
    """
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    # Not clamp alone: clamp passes the gradient at the bounds, PyTorch's hardtanh does not ([a < x < b]).
    inside = ops.logical_and(input > min_val, input < max_val)
    return ops.where(inside, input, ops.clamp(input, min_val, max_val).detach())


def relu6(input, inplace=False):
    r""":math:`\min(\max(x, 0), 6)`; derivative [0 < x < 6] (0 at both bounds, as in PyTorch).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.relu6(cr.tensor([-1.0, 3.0, 8.0]))
        tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0)


def _implicit_softmax_dim(name, ndim):
    """PyTorch's old choice when no dim is given (dim 0 for 0-, 1- and 3-d inputs, else 1), with its warning."""
    dim = 0 if ndim in (0, 1, 3) else 1
    warnings.warn(f"{name}: implicit dimension choice for {name} has been deprecated (in PyTorch too); it chose "
                  f"dim={dim}. Change the call to include dim={dim} as an argument.", UserWarning, stacklevel=3)
    return dim


def softmax(input, dim=None, dtype=None):
    r""":math:`\operatorname{softmax}(x)_i = e^{x_i - \operatorname{logsumexp}(x)}` along ``dim``.

    Derivative: :math:`\partial s_i / \partial x_j = s_i(\delta_{ij} - s_j)`. Without ``dim``,
    PyTorch's deprecated implicit choice is made (0 for 0-, 1- and 3-d inputs, else 1) with its
    warning; ``dtype`` casts the input first.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.softmax(cr.log(cr.tensor([1.0, 3.0])), dim=0)
        tensor([0.25, 0.75])
        >>> F.softmax(cr.tensor([1000.0, 0.0]), dim=0)   # no overflow
        tensor([1., 0.])
    """
    if dim is None:
        dim = _implicit_softmax_dim("softmax", input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    return ops.softmax(_in_float32(input), dim).to(input.dtype)


def log_softmax(input, dim=None, dtype=None):
    r""":math:`x_i - \operatorname{logsumexp}(x)` along ``dim`` (exact where softmax underflows).

    Derivative: :math:`\partial y_i / \partial x_j = \delta_{ij} - \operatorname{softmax}(x)_j`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.log_softmax(cr.zeros(4), dim=0)   # ln(1/4)
        tensor([-1.3863, -1.3863, -1.3863, -1.3863])
        >>> F.log_softmax(cr.tensor([1000.0, 0.0]), dim=0)   # softmax would give log 0 = −inf
        tensor([    0., -1000.])
    """
    if dim is None:
        dim = _implicit_softmax_dim("log_softmax", input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    return ops.log_softmax(_in_float32(input), dim).to(input.dtype)


# The rest of torch.nn.functional's activations, each composed from the ops above; the cards
# (``@composite``) send them through the registry's gradcheck and PyTorch comparison.
def _f(name):
    """The call of ``F.name`` in either library, for a card: ``lib`` is chainrule or torch."""
    return lambda lib, x, *arguments: getattr(lib.nn.functional, name)(x, *arguments)


@composite(Check("F.softmin", call=lambda lib, x: lib.nn.functional.softmin(x, dim=-1)))
def softmin(input, dim=None, dtype=None):
    r""":math:`\operatorname{softmin}(x)_i = e^{-x_i} / \sum_j e^{-x_j}`, the softmax of −x along ``dim``.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.softmin(cr.log(cr.tensor([1.0, 3.0])), dim=0)
        tensor([0.75, 0.25])
    """
    if dim is None:
        dim = _implicit_softmax_dim("softmin", input.ndim)
    return softmax(-input, dim, dtype)


@composite(Check("F.softsign", call=_f("softsign")))
def softsign(input):
    r""":math:`x / (1 + |x|)`; derivative :math:`1 / (1 + |x|)^2`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.softsign(cr.tensor([-3.0, 1.0]))
        tensor([-0.75,  0.5 ])
    """
    return input / (1 + ops.abs(input))


@composite(Check("F.tanhshrink", call=_f("tanhshrink")))
def tanhshrink(input):
    r""":math:`x - \tanh x`; derivative :math:`\tanh^2 x`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.tanhshrink(cr.tensor([0.0, 1.0]))
        tensor([0.    , 0.2384])
    """
    return input - ops.tanh(input)


@composite(Check("F.threshold", call=lambda lib, x: lib.nn.functional.threshold(x, 0.1, -2.0), domain="distinct"))
def threshold(input, threshold, value, inplace=False):
    r""":math:`x` where :math:`x > \theta`, else ``value``; derivative :math:`[x > \theta]`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.threshold(cr.tensor([-1.0, 0.5, 2.0]), 1.0, 0.0)
        tensor([0., 0., 2.])
    """
    return ops.where(input > threshold, input, value)


@composite(Check("F.hardshrink", call=lambda lib, x: lib.nn.functional.hardshrink(x, 0.3), domain="distinct"))
def hardshrink(input, lambd=0.5):
    r""":math:`x` where :math:`|x| > \lambda`, else 0; derivative :math:`[|x| > \lambda]`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.hardshrink(cr.tensor([-1.0, 0.2, 0.7]))
        tensor([-1. ,  0. ,  0.7])
    """
    return ops.where(ops.abs(input) > lambd, input, 0.0)


@composite(Check("F.softshrink", call=lambda lib, x: lib.nn.functional.softshrink(x, 0.3), domain="distinct"))
def softshrink(input, lambd=0.5):
    r""":math:`x - \lambda` above λ, :math:`x + \lambda` below −λ, 0 between; derivative :math:`[|x| > \lambda]`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.softshrink(cr.tensor([-1.0, 0.2, 0.75]))
        tensor([-0.5 ,  0.  ,  0.25])
    """
    return ops.where(input > lambd, input - lambd, ops.where(input < -lambd, input + lambd, 0.0))


# No card: PyTorch's backward multiplies by 1/6 rounded to float32 even in float64, which the registry's
# 1e-9 comparison would flag; tests/test_parity_nn_modules.py checks it (gradcheck, torch to 1e-7).
def hardsigmoid(input, inplace=False):
    r""":math:`\operatorname{ReLU6}(x + 3) / 6`: 0 below −3, 1 above 3, linear between; derivative :math:`[-3 < x < 3]/6`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.hardsigmoid(cr.tensor([-4.0, 0.0, 1.5]))
        tensor([0.  , 0.5 , 0.75])
    """
    return relu6(input + 3.0) / 6.0


@composite(Check("F.hardswish", call=lambda lib, x: lib.nn.functional.hardswish(x * 4), domain="distinct"))
def hardswish(input, inplace=False):
    r""":math:`x \cdot \operatorname{ReLU6}(x + 3) / 6`; derivative 0 below −3, :math:`(2x + 3)/6` between, 1 above 3.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.hardswish(cr.tensor([-4.0, 0.0, 1.5, 4.0]))
        tensor([-0.   ,  0.   ,  1.125,  4.   ])
    """
    return input * (relu6(input + 3.0) / 6.0)


@composite(Check("F.logsigmoid", call=_f("logsigmoid")),
           Check("F.logsigmoid_extreme", call=lambda lib, x: lib.nn.functional.logsigmoid(x * 1e3)))
def logsigmoid(input):
    r""":math:`\log \sigma(x) = -\operatorname{softplus}(-x)`, finite for any x; derivative :math:`1 - \sigma(x)`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.logsigmoid(cr.tensor([0.0, -1000.0]))
        tensor([-6.9315e-01, -1.0000e+03])
    """
    return -ops.softplus(-input)


@composite(Check("F.glu", call=lambda lib, x: lib.nn.functional.glu(x), shapes=(((3, 4),), ((2, 6),))),
           Check("F.glu_dim0", call=lambda lib, x: lib.nn.functional.glu(x, 0), shapes=(((4, 3),),)))
def glu(input, dim=-1):
    r"""Gated linear unit: split x in halves a, b along ``dim``; :math:`a \otimes \sigma(b)`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.glu(cr.tensor([2.0, 0.0]))              # a = 2, b = 0: 2 σ(0)
        tensor([1.])
    """
    if input.ndim == 0 or input.shape[dim] % 2:
        raise RuntimeError(f"glu: halving dim {dim} needs an even size there, got input shape {input.shape}")
    first, second = ops.chunk(input, 2, dim)
    return first * ops.sigmoid(second)


@composite(Check("F.celu", call=lambda lib, x: lib.nn.functional.celu(x, 0.5)))   # 1/α exact: torch takes it in float32
def celu(input, alpha=1.0, inplace=False):
    r""":math:`\max(0, x) + \min(0, \alpha(e^{x/\alpha} - 1))`; derivative 1 for x > 0, :math:`e^{x/\alpha}` otherwise.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.celu(cr.tensor([-1.0, 2.0]), alpha=2.0)
        tensor([-0.7869,  2.    ])
    """
    return ops.where(input > 0, input, alpha * ops.expm1(input / alpha))


# The in-place forms F.relu_(x), ...: the result written over x (refused where x requires grad, as x.relu_() is).
def relu_(input):
    """``F.relu`` written over ``input``.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> x = cr.tensor([-1.0, 2.0]); _ = F.relu_(x); x
        tensor([0., 2.])
    """
    return input.copy_(relu(input))


def elu_(input, alpha=1.0):
    """``F.elu`` written over ``input``.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.elu_(cr.tensor([0.0, 2.0]))
        tensor([0., 2.])
    """
    return input.copy_(elu(input, alpha))


def leaky_relu_(input, negative_slope=0.01):
    """``F.leaky_relu`` written over ``input``.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.leaky_relu_(cr.tensor([-2.0, 3.0]), 0.5)
        tensor([-1.,  3.])
    """
    return input.copy_(leaky_relu(input, negative_slope))


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """``F.hardtanh`` written over ``input``.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.hardtanh_(cr.tensor([-2.0, 0.5]))
        tensor([-1. ,  0.5])
    """
    return input.copy_(hardtanh(input, min_val, max_val))


def selu_(input):
    """``F.selu`` written over ``input``.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.selu_(cr.tensor([0.0, 1.0]))
        tensor([0.    , 1.0507])
    """
    return input.copy_(selu(input))


def celu_(input, alpha=1.0):
    """``F.celu`` written over ``input``.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.celu_(cr.tensor([0.0, 2.0]))
        tensor([0., 2.])
    """
    return input.copy_(celu(input, alpha))


def threshold_(input, threshold_value, value):
    """``F.threshold`` written over ``input``.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.threshold_(cr.tensor([0.5, 2.0]), 1.0, 0.0)
        tensor([0., 2.])
    """
    return input.copy_(threshold(input, threshold_value, value))


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1, generator=None):
    r"""A differentiable sample of a categorical: :math:`y = \operatorname{softmax}((\ell + g)/\tau)`, :math:`g = -\log E`, E ~ Exp(1).

    With ``hard`` the sample is the one-hot of the argmax in the forward pass and the soft y in the
    backward pass (straight-through: :math:`y_\text{hard} - \operatorname{sg}(y) + y`).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> _ = cr.manual_seed(0)
        >>> y = F.gumbel_softmax(cr.zeros(4, 3), hard=True)
        >>> y.sum(-1).tolist(), sorted(set(y.flatten().tolist()))
        ([1.0, 1.0, 1.0, 1.0], [0.0, 1.0])
    """
    from chainrule.core.random import default_generator
    draws = (generator or default_generator()).uniform(logits.shape, 0.0, 1.0, logits.dtype, logits.xp)
    gumbels = Tensor._wrap(-logits.xp.log(-logits.xp.log1p(-draws)))  # −log E with E = −log(1 − u) ~ Exp(1)
    soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return soft
    winner = soft.argmax(dim, keepdim=True)
    one_hot = zeros_like(soft).scatter_(dim % soft.ndim, winner, value=1.0)
    return one_hot - soft.detach() + soft
