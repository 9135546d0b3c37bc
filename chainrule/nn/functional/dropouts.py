"""Dropout's variants: channel dropout of 1-D and 3-D feature maps, and alpha dropout (SELU's).

``dropout`` and ``dropout2d`` are in linear.py; these follow them. Each mask is drawn from
``generator`` (the seeded default if None), and each is the identity when not ``training``.
"""
from chainrule.core.random import default_generator
from chainrule.core.tensor import Tensor
from chainrule.nn.functional._common import _check_tensor

# SELU's negative saturation value −λα: alpha dropout sets dropped units to it, so a SELU network keeps
# zero mean and unit variance through the dropout (Klambauer et al., 2017).
_SELU_SATURATION = -1.7580993408473766


def _check_probability(p, name):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: probability p must be in [0, 1], got {p}")


def _channel_dropout(input, p, training, generator, spatial, name):
    _check_tensor(input, name)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(f"{name}: expected a {spatial + 1}-D (unbatched) or {spatial + 2}-D input, got shape "
                         f"{input.shape}")
    _check_probability(p, name)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    channels = 1 if input.ndim == spatial + 1 else 2       # (C, ...) unbatched, or (N, C, ...)
    mask_shape = input.shape[:channels] + (1,) * (input.ndim - channels)
    keep = (generator or default_generator()).bernoulli(mask_shape, 1.0 - p, input.dtype, input.xp)
    return input * Tensor._wrap(keep / input.xp.asarray(1.0 - p, dtype=input.dtype))


def dropout1d(input, p=0.5, training=True, inplace=False, generator=None):
    r"""Channel dropout of (N, C, L) or unbatched (C, L): :math:`y_{n,c} = x_{n,c}\, m_{n,c}/(1-p)`, one mask per channel.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> _ = cr.manual_seed(0)
        >>> y = F.dropout1d(cr.ones(2, 4, 5), p=0.5)
        >>> bool((y.amax(2) == y.amin(2)).all())      # each channel all 0 or all 2
        True
    """
    return _channel_dropout(input, p, training, generator, 1, "dropout1d")


def dropout3d(input, p=0.5, training=True, inplace=False, generator=None):
    r"""Channel dropout of (N, C, D, H, W) or unbatched (C, D, H, W): one mask per channel, kept ones scaled by 1/(1−p).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.dropout3d(cr.ones(1, 2, 2, 2, 2), training=False).shape
        (1, 2, 2, 2, 2)
    """
    return _channel_dropout(input, p, training, generator, 3, "dropout3d")


def _alpha_dropout(input, p, training, generator, per_channel, name):
    _check_tensor(input, name)
    _check_probability(p, name)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    mask_shape = input.shape[:2] + (1,) * (input.ndim - 2) if per_channel else input.shape
    keep = Tensor._wrap((generator or default_generator()).bernoulli(mask_shape, 1.0 - p, input.dtype, input.xp))
    # The affine map a·(·) + b that restores mean 0 and variance 1 after the dropped units become −λα.
    scale = ((1 - p) * (1 + p * _SELU_SATURATION ** 2)) ** -0.5
    shift = -scale * _SELU_SATURATION * p
    return (input * keep + (1 - keep) * _SELU_SATURATION) * scale + shift


def alpha_dropout(input, p=0.5, training=False, inplace=False, generator=None):
    r"""Dropout for SELU networks: dropped units become :math:`-\lambda\alpha`, then :math:`y = a\,(\cdot) + b` with
    :math:`a = ((1-p)(1 + p\lambda^2\alpha^2))^{-1/2}`, :math:`b = a\lambda\alpha p`, keeping mean 0 and variance 1.

    Note PyTorch's default here: ``training=False`` (the identity unless asked).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> _ = cr.manual_seed(0)
        >>> y = F.alpha_dropout(cr.randn(20000), 0.2, training=True)
        >>> abs(float(y.mean())) < 0.05 and abs(float(y.std()) - 1) < 0.05
        True
    """
    return _alpha_dropout(input, p, training, generator, False, "alpha_dropout")


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False, generator=None):
    r"""Alpha dropout of whole channels (dim 1): one mask per (sample, channel), the same affine map as ``alpha_dropout``.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> _ = cr.manual_seed(0)
        >>> y = F.feature_alpha_dropout(cr.zeros(2, 6, 4), 0.5, training=True)
        >>> bool((y.amax(2) == y.amin(2)).all())
        True
    """
    return _alpha_dropout(input, p, training, generator, True, "feature_alpha_dropout")
