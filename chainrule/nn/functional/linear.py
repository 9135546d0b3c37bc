"""The affine map, embedding lookup and dropout, as functions (``nn.Linear``, ``nn.Embedding``, ``nn.Dropout``)."""
import warnings

from chainrule import ops
from chainrule.core.primitive import apply
from chainrule.core.random import default_generator
from chainrule.core.tensor import Tensor
from chainrule.nn.functional._common import _check_tensor
from chainrule.nn.primitives import Affine


def linear(input, weight, bias=None):
    r"""Affine map :math:`y = x W^\top + b` over the last dim (W: out × in).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.linear(cr.ones(2, 3), cr.ones(4, 3), cr.zeros(4)).shape
        (2, 4)
    """
    _check_tensor(input, "linear")
    if input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: input of shape {input.shape} has {input.shape[-1] if input.ndim else 'no'} features in "
            f"its last dim, but the weight of shape {weight.shape} expects {weight.shape[-1]} (in_features)"
        )
    if (input.ndim == 1 or weight.ndim != 2 or input.dtype != weight.dtype
            or (bias is not None and (bias.ndim != 1 or bias.dtype != weight.dtype))):
        out = input @ weight.mT  # the unusual cases, composed
        return out if bias is None else out + bias
    return apply(Affine, input, weight) if bias is None else apply(Affine, input, weight, bias)


def embedding(input, weight, padding_idx=None):
    r"""Rows of ``weight`` picked by integer ``input``: :math:`y_{\dots} = W_{i_{\dots}}`.

    The row ``padding_idx`` (if given) gets no gradient.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.embedding(cr.tensor([[0, 2]]), cr.eye(3)).shape
        (1, 2, 3)
    """
    _check_tensor(input, "embedding")
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got {input.dtype}; use input.long()")
    rows = weight.shape[0]
    if input.numel() and (int(input.array.min()) < 0 or int(input.array.max()) >= rows):
        bad = int(input.array.max()) if int(input.array.max()) >= rows else int(input.array.min())
        raise IndexError(
            f"embedding: index {bad} is out of range for a table of {rows} rows "
            f"(weight shape {weight.shape}, indices shape {input.shape}); indices must be in [0, {rows})"
        )
    out = weight[input]
    if padding_idx is not None:
        if padding_idx < 0:
            padding_idx += rows
        is_padding = (input == padding_idx).unsqueeze(-1)
        out = ops.where(is_padding, weight.detach()[input], out)
    return out


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    r"""Zero each element with probability p and scale the rest by 1/(1−p): :math:`y = x\, m / (1-p)`, m ~ Bernoulli(1−p).

    The mask is drawn from ``generator`` (the seeded default if None); the expected
    value of y is x, so nothing needs rescaling at evaluation, where dropout is the identity.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.dropout(cr.ones(4), p=0.5, training=False)
        tensor([1., 1., 1., 1.])
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    generator = generator if generator is not None else default_generator()
    keep = generator.bernoulli(input.shape, 1.0 - p, input.dtype, input.xp)
    return input * Tensor._wrap(keep / input.xp.asarray(1.0 - p, dtype=input.dtype))


def dropout2d(input, p=0.5, training=True, inplace=False, generator=None):
    r"""Channel dropout: zero whole channels (dim 1) of an (N, C, H, W) input with probability p, scale by 1/(1−p).

    :math:`y_{n,c} = x_{n,c}\, m_{n,c} / (1-p)`, one :math:`m_{n,c} \sim \text{Bernoulli}(1-p)` per channel
    (a 3-D input is read as (N, C, L)). The identity when not ``training``.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> _ = cr.manual_seed(0)
        >>> y = F.dropout2d(cr.ones(2, 4, 3, 3), p=0.5)
        >>> bool((y.amax((2, 3)) == y.amin((2, 3))).all())   # each channel all 0 or all 2
        True
    """
    if input.ndim == 2:   # PyTorch's leniency (deprecated there): warn, and drop elements
        warnings.warn("dropout2d: Received a 2-D input to dropout2d, which is deprecated (in PyTorch too); it drops "
                      "single elements, as dropout does. Use dropout for 2-D inputs.", UserWarning, stacklevel=2)
        return dropout(input, p, training, generator=generator)
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-D or 4-D input, got shape {input.shape}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    generator = generator if generator is not None else default_generator()
    mask_shape = input.shape[:2] + (1,) * (input.ndim - 2)
    keep = generator.bernoulli(mask_shape, 1.0 - p, input.dtype, input.xp)
    return input * Tensor._wrap(keep / input.xp.asarray(1.0 - p, dtype=input.dtype))
