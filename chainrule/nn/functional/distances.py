"""Distances between vectors: p-norm scaling, cosine similarity, pairwise distance (reduced in float32 for float16 inputs)."""
from chainrule import ops
from chainrule.core.dtypes import promote_types
from chainrule.core.primitive import Check, composite
from chainrule.core.tensor import numpy_keywords
from chainrule.nn.functional._common import _in_float32


def normalize(input, p=2.0, dim=1, eps=1e-12):
    r"""Scale to unit p-norm along ``dim``: :math:`y = x / \max(\|x\|_p, \epsilon)`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.normalize(cr.tensor([[3.0, 4.0]]))
        tensor([[0.6, 0.8]])
    """
    x = _in_float32(input)
    return (x / ops.clamp(x.norm(p, dim, keepdim=True), min=eps)).to(input.dtype)


@numpy_keywords   # axis= for dim=, as torch.nn.functional.cosine_similarity (a native function) takes
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    r""":math:`\frac{x_1 \cdot x_2}{\max(\|x_1\|, \epsilon)\,\max(\|x_2\|, \epsilon)}` along ``dim`` (broadcasting).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.cosine_similarity(cr.tensor([[1.0, 0.0]]), cr.tensor([[1.0, 1.0]]))
        tensor([0.7071])
    """
    dtype = promote_types(x1.dtype, x2.dtype)
    shape = tuple(x1.xp.broadcast_shapes(x1.shape, x2.shape))   # broadcast first, as PyTorch: dim counts in it
    x1, x2 = _in_float32(ops.expand(x1, shape)), _in_float32(ops.expand(x2, shape))
    norm1 = ops.clamp(x1.norm(2, dim, keepdim=True), min=eps)
    norm2 = ops.clamp(x2.norm(2, dim, keepdim=True), min=eps)
    return ((x1 / norm1) * (x2 / norm2)).sum(dim).to(dtype)


@composite(Check("F.pairwise_distance", call=lambda lib, a, b: lib.nn.functional.pairwise_distance(a, b),
                 shapes=(((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 4)))),
           Check("F.pairwise_distance_p1", call=lambda lib, a, b: lib.nn.functional.pairwise_distance(a, b, 3.0,
                                                                                                      keepdim=True),
                 shapes=(((3, 4), (3, 4)),)))
def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    r""":math:`\|x_1 - x_2 + \epsilon\|_p` along the last dim (broadcasting); ε keeps the norm's slope finite at 0.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.pairwise_distance(cr.tensor([[0.0, 0.0]]), cr.tensor([[3.0, 4.0]]), eps=0.0)
        tensor([5.])
    """
    return ops.norm(x1 - x2 + eps, p, -1, keepdim)
