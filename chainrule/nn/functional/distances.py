"""Distances between vectors: p-norm scaling and cosine similarity (reduced in float32 for float16 inputs)."""
from chainrule import ops
from chainrule.core.dtypes import promote_types
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
    x1, x2 = _in_float32(x1), _in_float32(x2)
    norm1 = ops.clamp(x1.norm(2, dim, keepdim=True), min=eps)
    norm2 = ops.clamp(x2.norm(2, dim, keepdim=True), min=eps)
    return ((x1 / norm1) * (x2 / norm2)).sum(dim).to(dtype)
