"""Weight initialization: fill a tensor in place with draws whose scale keeps signals steady through depth.

Every function draws from ``generator`` (the default one, seeded by
``chainrule.manual_seed``, when None), so a seed fixes a model's initial weights.

The scale rules: a layer ``y = W x`` with ``fan_in`` inputs of unit variance has
``Var(y) = fan_in · Var(W)``. Keeping the variance at 1 forward (``fan_in``) or
backward (``fan_out``), and correcting for what the nonlinearity does to it
(``gain``), gives the Xavier/Glorot and Kaiming/He rules below.
"""
import math

from chainrule.core.grad_mode import no_grad
from chainrule.core.random import default_generator


def calculate_gain(nonlinearity, param=None):
    r"""The factor ``gain`` by which a nonlinearity's output scale is corrected.

    linear, conv, sigmoid: 1; tanh: 5/3; relu: √2; leaky_relu with slope a: √(2/(1+a²)); selu: 3/4.

    Example:
        >>> import chainrule.nn as nn
        >>> round(nn.init.calculate_gain("relu"), 4)
        1.4142
    """
    linear_like = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                   "conv_transpose3d", "sigmoid", "identity")
    if nonlinearity in linear_like:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of "
        "linear, conv1d, conv2d, sigmoid, tanh, relu, leaky_relu, selu"
    )


def _calculate_fan_in_and_fan_out(tensor):
    """fan_in = in_features × kernel size, fan_out = out_features × kernel size (dims 1 and 0)."""
    if tensor.ndim < 2:
        raise ValueError(
            f"init: fan in and fan out need a tensor with at least 2 dimensions, got shape {tensor.shape}"
        )
    receptive_field = 1
    for size in tensor.shape[2:]:
        receptive_field *= size
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _generator(generator):
    return generator if generator is not None else default_generator()


@no_grad()
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    r"""Fill with draws from U(a, b): density :math:`1/(b - a)` on [a, b], mean (a+b)/2, std :math:`(b-a)/\sqrt{12}`.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> w = nn.init.uniform_(cr.empty(3, 4), -0.1, 0.1)
        >>> bool((w.abs() <= 0.1).all())
        True
    """
    tensor.array[...] = _generator(generator).uniform(tensor.shape, a, b, tensor.dtype, tensor.xp)
    return tensor


@no_grad()
def normal_(tensor, mean=0.0, std=1.0, generator=None):
    r"""Fill with draws from N(mean, std²): density :math:`\frac{1}{\sigma\sqrt{2\pi}} e^{-(w-\mu)^2/(2\sigma^2)}`.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> w = nn.init.normal_(cr.empty(100, 100), 0.0, 0.02)
        >>> round(float(w.std()), 3)
        0.02
    """
    tensor.array[...] = _generator(generator).normal(tensor.shape, mean, std, tensor.dtype, tensor.xp)
    return tensor


@no_grad()
def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    r"""Fill with N(mean, std²) draws restricted to [a, b] (by inverting the normal CDF of uniform draws).

    :math:`w = \mu + \sigma\,\Phi^{-1}(u)`, :math:`u \sim U(\Phi(\frac{a-\mu}{\sigma}), \Phi(\frac{b-\mu}{\sigma}))`;
    a and b are absolute bounds (not in units of std), as in PyTorch.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> w = nn.init.trunc_normal_(cr.empty(1000), std=0.02, a=-0.04, b=0.04)
        >>> bool(w.abs().max() <= 0.04)
        True
    """
    from scipy.special import ndtr, ndtri  # the normal CDF and its inverse (SciPy: imported when first used)

    low, high = ndtr((a - mean) / std), ndtr((b - mean) / std)
    uniform = _generator(generator).uniform(tensor.shape, low, high, "float64")
    values = ndtri(uniform) * std + mean
    tensor.array[...] = tensor.xp.asarray(values.clip(a, b).astype(tensor.dtype))
    return tensor


@no_grad()
def constant_(tensor, val):
    """Fill with the constant ``val``: w = val everywhere.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.init.constant_(cr.empty(2, 3), 0.5)
        tensor([[0.5, 0.5, 0.5],
                [0.5, 0.5, 0.5]])
    """
    tensor.array[...] = val
    return tensor


def zeros_(tensor):
    """Fill with zeros: w = 0.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.init.zeros_(cr.empty(3))
        tensor([0., 0., 0.])
    """
    return constant_(tensor, 0.0)


def ones_(tensor):
    """Fill with ones: w = 1.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.init.ones_(cr.empty(3))
        tensor([1., 1., 1.])
    """
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    r"""Glorot: U(−b, b) with :math:`b = \text{gain}\sqrt{6 / (\text{fan\_in} + \text{fan\_out})}`.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> w = nn.init.xavier_uniform_(cr.empty(3, 5))
        >>> bool((w.abs() <= (6 / 8) ** 0.5).all())
        True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    r"""Glorot: N(0, σ²) with :math:`\sigma = \text{gain}\sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> w = nn.init.xavier_normal_(cr.empty(200, 300))   # σ = √(2/500) = 0.0632
        >>> round(float(w.std()), 2)
        0.06
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    r"""He: U(−b, b) with :math:`b = \text{gain}\sqrt{3 / \text{fan}}` (fan = fan_in or fan_out).

    ``a`` is the negative slope of the leaky ReLU that follows (it sets the gain).
    ``nn.Linear`` uses ``a=√5``, which gives ``b = 1/√fan_in``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> w = nn.init.kaiming_uniform_(cr.empty(4, 9), nonlinearity="relu")
        >>> bool((w.abs() <= (6 / 9) ** 0.5).all())
        True
    """
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    r"""He: N(0, σ²) with :math:`\sigma = \text{gain} / \sqrt{\text{fan}}` (fan = fan_in or fan_out, by ``mode``).

    ``a`` is the negative slope of the leaky ReLU that follows (it sets the gain).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> w = nn.init.kaiming_normal_(cr.empty(100, 200), nonlinearity="relu")   # σ = √2/√200 = 0.1
        >>> round(float(w.std()), 2)
        0.1
    """
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


@no_grad()
def orthogonal_(tensor, gain=1.0, generator=None):
    r"""Fill with a (semi-)orthogonal matrix times ``gain``: :math:`W W^\top = \text{gain}^2 I` (or :math:`W^\top W`).

    Draws a Gaussian matrix, takes its QR factorization, and fixes the signs of
    Q's columns by R's diagonal so that Q is uniformly (Haar) distributed.
    Dimensions after the first are flattened.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> w = nn.init.orthogonal_(cr.empty(3, 5, dtype=cr.float64))
        >>> bool(cr.allclose(w @ w.T, cr.eye(3, dtype=cr.float64), atol=1e-10))
        True
    """
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got shape {tensor.shape}")
    xp = tensor.xp
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    gaussian = xp.asarray(_generator(generator).normal((rows, cols), 0.0, 1.0, "float64", xp))
    if rows < cols:
        gaussian = gaussian.T
    q, r = xp.linalg.qr(gaussian)
    q = q * xp.sign(xp.diagonal(r))
    if rows < cols:
        q = q.T
    tensor.array[...] = (gain * q).reshape(tensor.shape).astype(tensor.dtype)
    return tensor
