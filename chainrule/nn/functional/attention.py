"""Scaled dot-product attention as a function, ``softmax(Q Kᵀ · scale + M) V`` (``nn.MultiheadAttention`` runs it).

The additive mask M is 0 where a query may look and −∞ where it may not. The softmax is
shifted by the row maximum (via logsumexp), so large scores never overflow, and a query
row that may look at no key at all (every entry −∞) gets all-zero weights, output 0 and
zero gradients, as PyTorch's ``scaled_dot_product_attention`` gives.
"""
import math

import numpy

from chainrule import ops
from chainrule.core.tensor import Tensor
from chainrule.nn.functional.activations import softmax
from chainrule.nn.functional.linear import dropout


def _attention_weights(scores):
    """softmax over the last dim, with rows that are entirely −∞ (nothing to attend to) set to 0.

    Such a row would give −∞ − (−∞) = NaN. Its scores are replaced by zeros before the
    softmax (so no NaN enters the graph, forward or backward) and its weights by zeros
    after it (so the row contributes nothing and receives zero gradient). F.softmax normalizes
    float16 scores in float32, so a long row's sum cannot overflow.
    """
    row_max = scores.xp.max(scores.array, axis=-1, keepdims=True)
    nothing_to_attend = row_max == -numpy.inf
    if not nothing_to_attend.any():
        return softmax(scores, dim=-1)
    nothing_to_attend = Tensor(nothing_to_attend)
    weights = softmax(ops.where(nothing_to_attend, 0.0, scores), dim=-1)
    return ops.where(nothing_to_attend, 0.0, weights)


def _as_additive_mask(mask, dtype, true_means, name):
    """A float mask to add to the scores. Boolean masks become 0 / −∞.

    ``true_means`` is "attend" for scaled_dot_product_attention (PyTorch's convention there)
    and "ignore" for MultiheadAttention's masks (PyTorch's convention there).
    """
    if mask.dtype == numpy.bool_:
        blocked = mask if true_means == "ignore" else ops.logical_not(mask)
        return ops.where(blocked, -math.inf, Tensor(mask.xp.zeros((), dtype=dtype)))
    if not mask.is_floating_point():
        raise TypeError(f"{name}: a mask must be bool or floating point, got dtype {mask.dtype}")
    return mask.to(dtype)


def _causal_mask(query_length, key_length, xp):
    """True where query i may look at key j: j ≤ i (PyTorch's top-left aligned causal mask)."""
    return Tensor(xp.tril(xp.ones((query_length, key_length), dtype=bool)))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    r"""softmax(Q Kᵀ · scale + M) V, as ``torch.nn.functional.scaled_dot_product_attention``.

    Shapes: query (..., L, E), key (..., S, E), value (..., S, Eᵥ) → (..., L, Eᵥ), with the
    leading (batch, head) dims broadcasting. ``scale`` defaults to 1/√E.

    * ``attn_mask`` broadcastable to (..., L, S): boolean (True = **may attend**) or float
      (added to the scores, so −∞ blocks);
    * ``is_causal=True``: query i attends to keys 0..i only (no ``attn_mask`` then);
    * ``dropout_p``: dropout on the attention weights (always applied when > 0, as torch does:
      pass 0.0 at evaluation time).

    .. math:: \mathrm{out} = \operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt{E}} + M\right) V

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> q = k = v = cr.ones(2, 4, 8)
        >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
        (2, 4, 8)
    """
    name = "scaled_dot_product_attention"
    for label, tensor in (("query", query), ("key", key), ("value", value)):
        if not isinstance(tensor, Tensor) or tensor.ndim < 2:
            shape = tensor.shape if isinstance(tensor, Tensor) else type(tensor).__name__
            raise ValueError(
                f"{name}: {label} must be a tensor with at least 2 dims (..., length, features), got {shape}"
            )
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(
            f"{name}: query and key must have the same feature size (last dim) to be compared, "
            f"got query {query.shape} and key {key.shape}"
        )
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"{name}: key and value must have the same length (second-to-last dim), one value per key; "
            f"got key {key.shape} and value {value.shape}"
        )
    if is_causal and attn_mask is not None:
        raise ValueError(f"{name}: pass either attn_mask or is_causal=True, not both (is_causal builds its own mask)")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{name}: dropout_p must be in [0, 1], got {dropout_p}")
    query_length, key_length = query.shape[-2], key.shape[-2]
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    if is_causal:
        attn_mask = _causal_mask(query_length, key_length, query.xp)
    additive_mask = None
    if attn_mask is not None:
        _check_mask_broadcasts(attn_mask, query.shape[:-2] + (query_length, key_length), name, "attn_mask")
        additive_mask = _as_additive_mask(attn_mask, query.dtype, "attend", name)
    output, _ = _attend(query, key, value, additive_mask, scale, dropout_p)
    return output


def _check_mask_broadcasts(mask, scores_shape, name, label):
    try:
        numpy.broadcast_shapes(tuple(mask.shape), tuple(scores_shape))
    except ValueError:
        raise ValueError(
            f"{name}: {label} of shape {mask.shape} does not broadcast to the attention scores' shape "
            f"{tuple(scores_shape)} (..., query length, key length)"
        ) from None


def _attend(query, key, value, additive_mask, scale, dropout_p):
    """The core: (weights v, weights) with weights = dropout(softmax(q kᵀ · scale + mask))."""
    scores = (query * scale) @ key.mT
    if additive_mask is not None:
        scores = scores + additive_mask
    weights = _attention_weights(scores)
    if dropout_p > 0:
        weights = dropout(weights, p=dropout_p, training=True)
    return weights @ value, weights
