"""Batch, layer, group and instance normalization, as functions, on the fused ``Standardize`` primitive (training-mode
batch norm with an affine on its own ``BatchNorm`` primitive); RMS norm.

float16 inputs are standardized in float32 and returned in float16, as PyTorch does.
"""
import math

import numpy

from chainrule import ops
from chainrule.core.grad_mode import no_grad
from chainrule.core.primitive import Check, apply, composite
from chainrule.core.tensor import Tensor
from chainrule.nn.functional._common import _check_tensor, _in_float32
from chainrule.nn.primitives import BatchNorm, Standardize


def _statistics(x, axes):
    """Mean and biased variance of x's data over ``axes`` (kept), as raw arrays: constants for Standardize."""
    mean = x.array.mean(axis=axes, keepdims=True)
    centered = x.array - mean
    return mean, (centered * centered).mean(axis=axes, keepdims=True)


def standardize(input, dim, eps=1e-5):
    r"""Zero mean and unit variance over ``dim``: :math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}` (one fused primitive).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> y = F.standardize(cr.randn(4, 100), dim=1)
        >>> bool(y.mean(1).abs().max() < 1e-5)
        True
    """
    axes = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = tuple(sorted(a % input.ndim for a in axes))
    x = _in_float32(input)
    return apply(Standardize, x, axes=axes, eps=eps, statistics=_statistics(x, axes)).to(input.dtype)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    r"""Normalize each channel (dim 1) by batch statistics: :math:`y = \gamma \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}} + \beta`.

    Training: μ_B, σ²_B are the batch mean and (biased) variance over all dims but 1,
    and the running estimates move toward them in place:
    running ← (1 − momentum)·running + momentum·batch (the variance entered unbiased).
    Evaluation: the running estimates are used instead.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> y = F.batch_norm(cr.randn(8, 3), None, None, training=True)
        >>> bool(y.mean(0).abs().max() < 1e-5)
        True
    """
    name = "batch_norm"
    _check_tensor(input, name)
    if input.ndim < 2:
        raise ValueError(f"{name}: expected an input with at least 2 dims (N, C, ...), got shape {input.shape}")
    channels = input.shape[1]
    for what, tensor in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                         ("bias", bias)):
        if tensor is not None and tuple(tensor.shape) != (channels,):
            raise ValueError(
                f"{name}: {what} has shape {tensor.shape} but the input of shape {input.shape} has {channels} channels"
            )
    axes = (0,) + tuple(range(2, input.ndim))
    shape = (1, channels) + (1,) * (input.ndim - 2)
    x = _in_float32(input)
    if training:
        count = input.numel() // channels
        if count <= 1:
            raise ValueError(
                f"{name}: expected more than 1 value per channel when training, got input shape {input.shape}"
            )
        mean, var = _statistics(x, axes)
        if running_mean is not None:
            running_mean.array[...] = (1 - momentum) * running_mean.array + momentum * mean.reshape(channels)
        if running_var is not None:
            unbiased = var.reshape(channels) * (count / (count - 1))
            running_var.array[...] = (1 - momentum) * running_var.array + momentum * unbiased
        if weight is not None and bias is not None and weight.dtype == x.dtype == bias.dtype:
            # One op for standardize, ×γ and +β: the graph keeps x and y, not three full-size arrays.
            return apply(BatchNorm, x, weight, bias, axes=axes, eps=eps, statistics=(mean, var)).to(input.dtype)
        out = apply(Standardize, x, axes=axes, eps=eps, statistics=(mean, var))
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{name}: evaluation mode needs running_mean and running_var")
        # Evaluation: a fixed affine map of x (the running estimates are constants).
        out = (x - running_mean.reshape(shape)) * (running_var.reshape(shape) + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out.to(input.dtype)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    r"""Normalize over the last dims ``normalized_shape``: :math:`y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \gamma + \beta`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.layer_norm(cr.randn(2, 5), (5,)).shape
        (2, 5)
    """
    name = "layer_norm"
    _check_tensor(input, name)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    count = len(normalized_shape)
    if tuple(input.shape[input.ndim - count:]) != normalized_shape or count > input.ndim:
        raise ValueError(
            f"{name}: the input of shape {input.shape} must end with normalized_shape {normalized_shape}"
        )
    axes = tuple(range(input.ndim - count, input.ndim))
    x = _in_float32(input)
    out = apply(Standardize, x, axes=axes, eps=eps, statistics=_statistics(x, axes))
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out.to(input.dtype)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    r"""Normalize over groups of channels (and all spatial dims), per sample, then scale and shift each channel.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.group_norm(cr.randn(2, 4, 3, 3), 2).shape
        (2, 4, 3, 3)
    """
    name = "group_norm"
    _check_tensor(input, name)
    if input.ndim < 2:
        raise ValueError(f"{name}: expected an input with at least 2 dims (N, C, ...), got shape {input.shape}")
    batch, channels = input.shape[:2]
    if channels % num_groups:
        raise ValueError(f"{name}: {channels} channels (input shape {input.shape}) are not divisible into {num_groups} groups")
    grouped = _in_float32(input).reshape(batch, num_groups, -1)
    out = apply(Standardize, grouped, axes=(2,), eps=eps, statistics=_statistics(grouped, (2,))).reshape(input.shape)
    shape = (1, channels) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out.to(input.dtype)


@composite(Check("F.rms_norm", call=lambda lib, x, w: lib.nn.functional.rms_norm(x, (4,), w, eps=1e-6),
                 shapes=(((3, 4), (4,)), ((2, 3, 4), (4,)))),
           Check("F.rms_norm_no_weight", call=lambda lib, x: lib.nn.functional.rms_norm(x, (3, 4)),
                 shapes=(((2, 3, 4),),)))
def rms_norm(input, normalized_shape, weight=None, eps=None):
    r"""Scale by the root mean square over the last dims: :math:`y = \gamma\, x / \sqrt{\overline{x^2} + \epsilon}`.

    ``eps`` defaults to the machine epsilon of the input's dtype, as in PyTorch. No mean is
    subtracted (LayerNorm subtracts it), which is why LLaMA-style models use it.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.rms_norm(cr.tensor([[3.0, 4.0]]), (2,), eps=0.0)     # rms = √12.5
        tensor([[0.8485, 1.1314]])
    """
    _check_tensor(input, "rms_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise ValueError(f"rms_norm: normalized_shape {shape} must match the last dims of the input (shape {input.shape})")
    x = _in_float32(input)
    if eps is None:
        eps = float(numpy.finfo(input.dtype).eps)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    out = x * ops.rsqrt((x * x).mean(axes, keepdim=True) + eps)
    if weight is not None:
        out = out * weight
    return out.to(input.dtype)


@composite(Check("F.instance_norm", call=lambda lib, x, w, b: lib.nn.functional.instance_norm(x, weight=w, bias=b),
                 shapes=(((2, 3, 4, 5), (3,), (3,)), ((2, 3, 6), (3,), (3,)))))
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    r"""Normalize each channel of each sample over its spatial dims: :math:`y = \gamma \frac{x - \mu_{nc}}{\sqrt{\sigma_{nc}^2 + \epsilon}} + \beta`.

    With running estimates given and ``use_input_stats``, they move toward the batch average of
    the per-instance statistics (the variance entered unbiased), as in PyTorch; with
    ``use_input_stats=False`` the running estimates are used instead.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> y = F.instance_norm(cr.randn(2, 3, 8))
        >>> bool(y.mean(-1).abs().max() < 1e-5)
        True
    """
    name = "instance_norm"
    _check_tensor(input, name)
    if input.ndim < 3:
        raise ValueError(f"{name}: expected (N, C, spatial...) with at least 3 dims, got shape {input.shape}")
    channels = input.shape[1]
    shape = (1, channels) + (1,) * (input.ndim - 2)
    axes = tuple(range(2, input.ndim))
    x = _in_float32(input)
    if use_input_stats:
        out = apply(Standardize, x, axes=axes, eps=eps, statistics=_statistics(x, axes))
        if running_mean is not None or running_var is not None:
            count = math.prod(input.shape[2:])
            means, variances = _statistics(x, axes)
            with no_grad():
                if running_mean is not None:
                    running_mean.mul_(1 - momentum).add_(Tensor(means.mean(axis=0).reshape(channels)), alpha=momentum)
                if running_var is not None:
                    unbiased = variances.mean(axis=0).reshape(channels) * count / max(count - 1, 1)
                    running_var.mul_(1 - momentum).add_(Tensor(unbiased), alpha=momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{name}: use_input_stats=False needs running_mean and running_var")
        out = (x - running_mean.reshape(shape)) * ops.rsqrt(running_var.reshape(shape) + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out.to(input.dtype)


@composite(Check("F.local_response_norm", call=lambda lib, x: lib.nn.functional.local_response_norm(x, 3),
                 shapes=(((2, 5, 3),), ((1, 4, 2, 3),))),
           Check("F.local_response_norm_even",
                 call=lambda lib, x: lib.nn.functional.local_response_norm(x, 2, alpha=0.5, beta=0.5, k=2.0),
                 shapes=(((2, 5, 3),),)))
def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    r"""AlexNet's normalization across neighbouring channels:
    :math:`y_c = x_c \big/ \left(k + \frac{\alpha}{n}\sum_{c' \in \text{window}(c)} x_{c'}^2\right)^{\beta}`,
    the window the ``size`` = n channels around c (zeros beyond the edges, counted in n, as in PyTorch).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.local_response_norm(cr.ones(1, 3, 1), size=3, alpha=3.0, beta=1.0, k=0.0)[0, :, 0]   # 1/(2 or 3)
        tensor([0.5   , 0.3333, 0.5   ])
    """
    _check_tensor(input, "local_response_norm")
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected (N, C, ...) with at least 3 dims, got shape {input.shape}")
    squares = ops.movedim(input * input, 1, -1)                      # channels last, to pad and slide along
    padded = ops.pad(squares, (size // 2, (size - 1) // 2))
    channels = input.shape[1]
    window_sum = padded[..., 0:channels]
    for shift in range(1, size):
        window_sum = window_sum + padded[..., shift:shift + channels]
    scale = ops.movedim(window_sum, -1, 1) * (alpha / size) + k
    return input / scale ** beta
