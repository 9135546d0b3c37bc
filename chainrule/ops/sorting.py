"""Sorting: ``sort``, ``argsort`` and ``topk``, composed so that gradients flow.

The order is found on the raw values (it is piecewise constant, so it has no derivative);
the values are then *gathered* in that order, and ``gather``'s rule sends each output's
gradient back to the element it came from:

    y = gather(x, dim, π),   x̄ = scatter_add(0, dim, π, ȳ)   (π: the sorting permutation)

Ties keep their original order (a stable sort); NaN sorts as the largest value, as in PyTorch.
"""
import collections

from chainrule.core.tensor import Tensor, tensor
from chainrule.ops.indexing import gather
from chainrule.ops.shape import movedim

SortResult = collections.namedtuple("SortResult", ["values", "indices"])
TopkResult = collections.namedtuple("TopkResult", ["values", "indices"])
SortResult.__doc__ = """What ``sort`` returns: ``values`` (differentiable) and the ``indices`` they came from.

    Example:
        >>> import chainrule as cr
        >>> cr.sort(cr.tensor([3.0, 1.0, 2.0]))
        SortResult(values=tensor([1., 2., 3.]), indices=tensor([1, 2, 0]))
    """
TopkResult.__doc__ = """What ``topk`` returns: the k ``values`` (differentiable) and their ``indices``.

    Example:
        >>> import chainrule as cr
        >>> cr.topk(cr.tensor([3.0, 1.0, 2.0]), 2)
        TopkResult(values=tensor([3., 2.]), indices=tensor([0, 2]))
    """


def _as_tensor(x):
    return x if isinstance(x, Tensor) else tensor(x)


def _check_dim(x, dim, op_name):
    rank = max(x.ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"{op_name}: dim {dim} is out of range for a tensor of shape {x.shape} "
                         f"(expected -{rank} <= dim < {rank})")
    return dim % rank


def argsort(x, dim=-1, descending=False, stable=False):
    """The indices that sort ``x`` along ``dim`` (ascending unless ``descending``); ties keep their order.

    Example:
        >>> import chainrule as cr
        >>> cr.argsort(cr.tensor([3.0, 1.0, 2.0])), cr.argsort(cr.tensor([3.0, 1.0, 2.0]), descending=True)
        (tensor([1, 2, 0]), tensor([0, 2, 1]))
    """
    x = _as_tensor(x)
    if x.ndim == 0:
        return Tensor._wrap(x.xp.zeros((), dtype="int64"))
    dim = _check_dim(x, dim, "argsort")
    xp, values = x.xp, x.array
    if descending:
        # Sort the negated key so ties stay in order; NaN (largest in PyTorch's order) goes first.
        if values.dtype.kind in "biu":
            key = ~values.astype("int64") if values.dtype.kind == "b" else ~values   # ~v = −v − 1: order reversed, no overflow
        else:
            key = xp.where(xp.isnan(values), -xp.inf, -values)
    else:
        key = values
    return Tensor._wrap(xp.argsort(key, axis=dim, kind="stable").astype("int64"))


def sort(x, dim=-1, descending=False, stable=False):
    """``(values, indices)``: ``x`` sorted along ``dim``, and where each value came from.

    values = gather(x, dim, indices), so the gradient goes back to the sorted elements.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([3.0, 1.0, 2.0], requires_grad=True)
        >>> values, indices = cr.sort(x)
        >>> values, indices
        (tensor([1., 2., 3.], grad_fn=<gather>), tensor([1, 2, 0]))
        >>> (values * cr.tensor([1.0, 10.0, 100.0])).sum().backward(); x.grad
        tensor([100.,   1.,  10.])
    """
    x = _as_tensor(x)
    indices = argsort(x, dim, descending, stable)
    if x.ndim == 0:
        return SortResult(x.clone(), indices)
    return SortResult(gather(x, dim, indices), indices)


def topk(x, k, dim=-1, largest=True, sorted=True):
    """``(values, indices)`` of the ``k`` largest (or smallest) elements along ``dim``, largest first.

    The values are gathered, so their gradient goes back to the chosen elements (zero elsewhere).

    Example:
        >>> import chainrule as cr
        >>> cr.topk(cr.tensor([1.0, 5.0, 3.0, 4.0]), 2)
        TopkResult(values=tensor([5., 4.]), indices=tensor([1, 3]))
    """
    x = _as_tensor(x)
    dim = _check_dim(x, dim, "topk")
    size = x.shape[dim] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= size:
        raise RuntimeError(f"topk: k ({k!r}) must be an integer in 0..{size}, the size of dim {dim} "
                           f"of the input of shape {x.shape}")
    order = argsort(x, dim, descending=largest)
    if x.ndim == 0:
        return TopkResult(x.clone(), order)
    indices = movedim(movedim(order, dim, -1)[..., :k], -1, dim)
    return TopkResult(gather(x, dim, indices), indices)


__all__ = ["SortResult", "TopkResult", "argsort", "sort", "topk"]
