"""Batch, layer and group normalization, as functions, on the fused ``Standardize`` primitive.

float16 inputs are standardized in float32 and returned in float16, as PyTorch does.
"""
from chainrule.core.primitive import apply
from chainrule.nn.functional._common import _check_tensor, _in_float32
from chainrule.nn.primitives import Standardize


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
