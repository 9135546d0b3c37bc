"""PyTorch's ops that are short compositions of others: fused multiply-adds, interpolation, reshuffles.

``addmm`` is β·input + α·(mat1 @ mat2), ``lerp`` is input + w·(end − input), ``rot90`` is a flip
and a transpose, and so on: each is written here as that formula in chainrule's ops, so it
needs no derivative of its own (the chain rule composes those of its parts), and each card
(``@composite``) tells the tests to check it by float64 gradcheck and against PyTorch. The
comparisons at the end (``isclose``, ``equal``, ``count_nonzero``, ``nonzero``) return truth
values and indices, which carry no gradient, as in PyTorch.
"""
import builtins
import collections
import math

from chainrule.core import dtypes
from chainrule.core.convert import as_tensor, check_broadcast, normalize_dims
from chainrule.core.creation import ones_like
from chainrule.core.primitive import BINARY, Check, composite
from chainrule.core.tensor import Tensor
from chainrule.ops.binary import add, atan2, div, logaddexp, maximum, minimum, mul, pow, sub, where
from chainrule.ops.elementwise import abs, acos, asin, atan, exp, log, sign, sqrt, trunc
from chainrule.ops.indexing import clamp, diagonal as diagonal_of, gather, getitem, index_put_add, index_select
from chainrule.ops.logic import eq, ge, gt, isnan, le, lt, ne
from chainrule.ops.matmul import dot, matmul, mv, outer
from chainrule.ops.reduce import amax, amin, mean, norm, std, sum, var
from chainrule.ops.shape import cat, expand, flatten, flip, movedim, pad, repeat, squeeze, stack, transpose, unsqueeze
from chainrule.ops.sorting import argsort, sort

__all__ = [
    "lerp", "addmm", "addbmm", "baddbmm", "addmv", "addr", "addcmul", "addcdiv",
    "repeat_interleave", "narrow", "select", "take_along_dim", "tile", "rot90", "fliplr", "flipud", "diff",
    "masked_select", "xlogy", "hypot", "logit", "exp2", "deg2rad", "rad2deg", "frac", "dist",
    "swapdims", "swapaxes", "moveaxis", "ravel", "multiply", "subtract", "divide", "true_divide", "negative",
    "absolute", "arctan2", "isclose", "equal", "count_nonzero", "nonzero", "argwhere",
    "arcsin", "arccos", "arctan", "fix", "sgn", "greater", "greater_equal", "less", "less_equal", "not_equal", "ger",
    "broadcast_to", "clamp_min", "clamp_max", "positive", "detach", "broadcast_shapes", "broadcast_tensors",
    "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack", "row_stack", "dstack", "column_stack",
    "block_diag", "diag", "diagflat", "kron", "tensordot", "inner", "meshgrid", "cartesian_prod", "tril_indices",
    "triu_indices", "nansum", "nanmean", "std_mean", "var_mean", "aminmax", "fmax", "fmin", "logaddexp2",
    "float_power", "rsub", "vdot", "cdist", "pdist", "trapezoid", "trapz", "vander", "take", "median", "kthvalue",
    "msort", "isin", "isposinf", "isneginf", "signbit", "bucketize", "bincount", "unique", "histc", "nan_to_num",
    "scalar_tensor", "index_add", "index_copy", "index_fill",
]

TERNARY = (((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (4,)), ((), (2, 3), ()))


def _scaled_sum(beta, input, alpha, product):
    """β·input + α·product, skipping the multiplications by 1 (and input entirely when β = 0, as PyTorch
    does, so that nan or inf in input do not leak through 0·input)."""
    product = product if alpha == 1 else mul(product, alpha)
    if beta == 0:
        return product
    return add(input if beta == 1 else mul(input, beta), product)


@composite(Check("lerp", call=lambda lib, a, b, w: lib.lerp(a, b, w), shapes=TERNARY),
           Check("lerp_scalar", call=lambda lib, a, b: lib.lerp(a, b, 0.3), shapes=BINARY))
def lerp(input, end, weight):
    r"""Linear interpolation :math:`y = x + w\,(e - x)` (w = 0 gives ``input``, w = 1 gives ``end``).

    Example:
        >>> import chainrule as cr
        >>> cr.lerp(cr.tensor([0.0, 10.0]), cr.tensor([1.0, 20.0]), 0.5)
        tensor([ 0.5, 15. ])
    """
    return add(input, mul(weight, sub(end, input)))


@composite(Check("addmm", call=lambda lib, c, a, b: lib.addmm(c, a, b, beta=0.5, alpha=2.0),
                 shapes=(((3, 5), (3, 4), (4, 5)), ((5,), (3, 4), (4, 5)), ((), (2, 3), (3, 2)))))
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    r""":math:`\beta\,C + \alpha\,A B` for matrices A (n×k) and B (k×m), C broadcasting to n×m.

    Example:
        >>> import chainrule as cr
        >>> cr.addmm(cr.ones(2, 2), cr.eye(2), cr.tensor([[1.0, 2.0], [3.0, 4.0]]), alpha=10)
        tensor([[11., 21.],
                [31., 41.]])
    """
    _require_dims("addmm", {"mat1": mat1, "mat2": mat2}, 2)
    return _scaled_sum(beta, input, alpha, matmul(mat1, mat2))


@composite(Check("baddbmm", call=lambda lib, c, a, b: lib.baddbmm(c, a, b, beta=0.5, alpha=2.0),
                 shapes=(((2, 3, 5), (2, 3, 4), (2, 4, 5)), ((3, 5), (2, 3, 4), (2, 4, 5)))))
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    r""":math:`\beta\,C_b + \alpha\,A_b B_b` for each batch b of the (b×n×k) and (b×k×m) stacks.

    Example:
        >>> import chainrule as cr
        >>> cr.baddbmm(cr.zeros(3, 2, 2), cr.ones(3, 2, 4), cr.ones(3, 4, 2)).shape
        (3, 2, 2)
    """
    _require_dims("baddbmm", {"batch1": batch1, "batch2": batch2}, 3)
    return _scaled_sum(beta, input, alpha, matmul(batch1, batch2))


@composite(Check("addbmm", call=lambda lib, c, a, b: lib.addbmm(c, a, b, beta=0.5, alpha=2.0),
                 shapes=(((3, 5), (2, 3, 4), (2, 4, 5)),)))
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    r""":math:`\beta\,C + \alpha \sum_b A_b B_b`: the batch of products summed into one matrix.

    Example:
        >>> import chainrule as cr
        >>> cr.addbmm(cr.zeros(2, 2), cr.ones(3, 2, 4), cr.ones(3, 4, 2))
        tensor([[12., 12.],
                [12., 12.]])
    """
    _require_dims("addbmm", {"batch1": batch1, "batch2": batch2}, 3)
    return _scaled_sum(beta, input, alpha, sum(matmul(batch1, batch2), 0))


@composite(Check("addmv", call=lambda lib, c, a, v: lib.addmv(c, a, v, beta=0.5, alpha=2.0),
                 shapes=(((3,), (3, 4), (4,)), ((), (3, 4), (4,)))))
def addmv(input, mat, vec, *, beta=1, alpha=1):
    r""":math:`\beta\,c + \alpha\,A v` for a matrix A and a vector v.

    Example:
        >>> import chainrule as cr
        >>> cr.addmv(cr.ones(2), cr.eye(2), cr.tensor([3.0, 4.0]))
        tensor([4., 5.])
    """
    return _scaled_sum(beta, input, alpha, mv(mat, vec))


@composite(Check("addr", call=lambda lib, c, a, b: lib.addr(c, a, b, beta=0.5, alpha=2.0),
                 shapes=(((3, 4), (3,), (4,)), ((4,), (3,), (4,)))))
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    r""":math:`\beta\,C + \alpha\,u v^\top`: a rank-one update by the outer product of two vectors.

    Example:
        >>> import chainrule as cr
        >>> cr.addr(cr.zeros(2, 2), cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0]))
        tensor([[3., 4.],
                [6., 8.]])
    """
    return _scaled_sum(beta, input, alpha, outer(vec1, vec2))


@composite(Check("addcmul", call=lambda lib, a, b, c: lib.addcmul(a, b, c, value=0.5), shapes=TERNARY))
def addcmul(input, tensor1, tensor2, *, value=1):
    r""":math:`y = x + v\,t_1 t_2`, elementwise with broadcasting.

    Example:
        >>> import chainrule as cr
        >>> cr.addcmul(cr.ones(2), cr.tensor([2.0, 3.0]), cr.tensor([4.0, 5.0]), value=0.5)
        tensor([5. , 8.5])
    """
    return add(input, mul(value, mul(tensor1, tensor2)))


@composite(Check("addcdiv", call=lambda lib, a, b, c: lib.addcdiv(a, b, c, value=0.5), shapes=TERNARY,
                 domain="nonzero"))
def addcdiv(input, tensor1, tensor2, *, value=1):
    r""":math:`y = x + v\,t_1 / t_2`, elementwise with broadcasting (Adam's update has this shape).

    Example:
        >>> import chainrule as cr
        >>> cr.addcdiv(cr.ones(2), cr.tensor([2.0, 3.0]), cr.tensor([4.0, 6.0]), value=2)
        tensor([2., 2.])
    """
    return add(input, mul(value, tensor1 / tensor2))


def _require_dims(op_name, operands, ndim):
    for name, operand in operands.items():
        if as_tensor(operand).ndim != ndim:
            raise RuntimeError(f"{op_name}: {name} must be a {ndim}-D tensor, got shape {as_tensor(operand).shape}")


@composite(Check("repeat_interleave", call=lambda lib, x: lib.repeat_interleave(x, 2, dim=1), shapes=(((3, 4),),)),
           Check("repeat_interleave_counts", call=lambda lib, x: lib.repeat_interleave(x, lib.tensor([1, 0, 2]), dim=0),
                 shapes=(((3, 2),),)),
           Check("repeat_interleave_flat", call=lambda lib, x: lib.repeat_interleave(x, 3), shapes=(((2, 2),), ((),))))
def repeat_interleave(input, repeats, dim=None, *, output_size=None):
    r"""Repeat each element (each slice along ``dim``) :math:`r_i` times in place: [a, b] → [a, a, b, b].

    ``repeats`` is one count for all or a 1-D tensor of counts, one per slice; without ``dim``
    the input is flattened first. The gradient sums each copy's back into its source.

    Example:
        >>> import chainrule as cr
        >>> cr.repeat_interleave(cr.tensor([1.0, 2.0]), 2)
        tensor([1., 1., 2., 2.])
        >>> cr.repeat_interleave(cr.tensor([[1, 2], [3, 4]]), cr.tensor([1, 2]), dim=0)
        tensor([[1, 2],
                [3, 4],
                [3, 4]])
    """
    x = as_tensor(input)
    if dim is None:
        x, dim = flatten(x), 0
    dim = normalize_dims(dim, x.ndim, "repeat_interleave")[0]
    counts = repeats.array if isinstance(repeats, Tensor) else int(repeats)
    if isinstance(repeats, Tensor) and counts.ndim == 1 and counts.shape[0] not in (1, x.shape[dim]):
        raise RuntimeError(f"repeat_interleave: repeats has {counts.shape[0]} counts but dim {dim} of the input "
                           f"(shape {x.shape}) has {x.shape[dim]} slices; give one count per slice, or one for all")
    sources = x.xp.repeat(x.xp.arange(x.shape[dim]), counts)
    return index_select(x, dim, Tensor(sources))


@composite(Check("narrow", call=lambda lib, x: lib.narrow(x, 1, 1, 2), shapes=(((3, 4),),)))
def narrow(input, dim, start, length):
    r"""The slice :math:`x[\ldots, s : s + \ell, \ldots]` of ``length`` ℓ from ``start`` s along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.narrow(cr.arange(6).reshape(2, 3), 1, 1, 2)
        tensor([[1, 2],
                [4, 5]])
    """
    x = as_tensor(input)
    dim = normalize_dims(dim, x.ndim, "narrow")[0]
    start = int(start) % x.shape[dim] if int(start) < 0 else int(start)
    if start + length > x.shape[dim]:
        raise IndexError(f"narrow: start ({start}) + length ({length}) exceeds dim {dim} of size {x.shape[dim]}")
    return getitem(x, (slice(None),) * dim + (slice(start, start + length),))


@composite(Check("select", call=lambda lib, x: lib.select(x, 1, -1), shapes=(((3, 4),), ((2, 3, 4),))))
def select(input, dim, index):
    r"""The slice :math:`x[\ldots, i, \ldots]` at ``index`` i along ``dim``, which it removes.

    Example:
        >>> import chainrule as cr
        >>> cr.select(cr.arange(6).reshape(2, 3), 1, 0)
        tensor([0, 3])
    """
    x = as_tensor(input)
    dim = normalize_dims(dim, x.ndim, "select")[0]
    return getitem(x, (slice(None),) * dim + (int(index),))


@composite(Check("take_along_dim", call=lambda lib, x: lib.take_along_dim(x, lib.tensor([[0], [2], [1]]), dim=1),
                 shapes=(((3, 4),),)),
           Check("take_along_dim_flat", call=lambda lib, x: lib.take_along_dim(x, lib.tensor([5, 0, 5])),
                 shapes=(((3, 4),),)))
def take_along_dim(input, indices, dim=None):
    r""":math:`y_{\ldots i \ldots} = x_{\ldots\, \text{idx}_{\ldots i \ldots}\, \ldots}` along ``dim``, the other
    dims broadcasting (NumPy's ``take_along_axis``); without ``dim``, on the flattened input.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]])
        >>> cr.take_along_dim(x, x.argmax(dim=1, keepdim=True), dim=1)
        tensor([[30.],
                [60.]])
    """
    x, indices = as_tensor(input), as_tensor(indices)
    if dim is None:
        return gather(flatten(x), 0, flatten(indices))
    dim = normalize_dims(dim, x.ndim, "take_along_dim")[0]
    if indices.ndim != x.ndim:
        raise RuntimeError(f"take_along_dim: indices have {indices.ndim} dims but the input has {x.ndim} "
                           f"(shape {x.shape}); unsqueeze them to match")
    shape = [max(a, b) for a, b in zip(x.shape, indices.shape)]
    x_shape, index_shape = list(shape), list(shape)
    x_shape[dim], index_shape[dim] = x.shape[dim], indices.shape[dim]
    return gather(expand(x, tuple(x_shape)), dim, expand(indices, tuple(index_shape)))


@composite(Check("tile", call=lambda lib, x: lib.tile(x, (2,)), shapes=(((3, 2),),)),
           Check("tile_more_dims", call=lambda lib, x: lib.tile(x, (2, 1, 3)), shapes=(((3, 2),),)))
def tile(input, dims):
    r"""``input`` repeated ``dims[i]`` times along each dim; fewer ``dims`` than the input's are padded with
    ones on the left (``repeat`` needs them all).

    Example:
        >>> import chainrule as cr
        >>> cr.tile(cr.tensor([[1, 2]]), (2,))
        tensor([[1, 2, 1, 2]])
    """
    x = as_tensor(input)
    dims = tuple(dims)
    return repeat(x, (1,) * (x.ndim - len(dims)) + dims)


@composite(*(Check(f"rot90_{k}", call=lambda lib, x, k=k: lib.rot90(x, k, (0, 1)), shapes=(((3, 4),), ((2, 3, 4),)))
             for k in (1, 2, 3, -1)))
def rot90(input, k=1, dims=(0, 1)):
    r"""Rotate by k·90° in the plane of ``dims``, from the first dim towards the second (NumPy's ``rot90``).

    Example:
        >>> import chainrule as cr
        >>> cr.rot90(cr.tensor([[1, 2], [3, 4]]))
        tensor([[2, 4],
                [1, 3]])
    """
    x = as_tensor(input)
    if len(dims) != 2 or x.ndim < 2 or dims[0] % x.ndim == dims[1] % x.ndim:
        raise RuntimeError(f"rot90: dims must be two different dims of the input (shape {x.shape}), got {dims}")
    first, second = dims[0] % x.ndim, dims[1] % x.ndim
    k %= 4
    if k == 0:
        return x
    if k == 2:
        return flip(x, (first, second))
    if k == 1:
        return transpose(flip(x, (second,)), first, second)
    return flip(transpose(x, first, second), (second,))


@composite(Check("fliplr", shapes=(((3, 4),),)))
def fliplr(input):
    r"""Columns in reverse order, :math:`y_{i,j} = x_{i,\,n-1-j}` (dim 1).

    Example:
        >>> import chainrule as cr
        >>> cr.fliplr(cr.tensor([[1, 2, 3]]))
        tensor([[3, 2, 1]])
    """
    return flip(input, (1,))


@composite(Check("flipud", shapes=(((3, 4),), ((3,),))))
def flipud(input):
    r"""Rows in reverse order, :math:`y_{i} = x_{n-1-i}` (dim 0).

    Example:
        >>> import chainrule as cr
        >>> cr.flipud(cr.tensor([1, 2, 3]))
        tensor([3, 2, 1])
    """
    return flip(input, (0,))


@composite(Check("diff", call=lambda lib, x: lib.diff(x), shapes=(((3, 4),), ((5,),))),
           Check("diff_twice", call=lambda lib, x: lib.diff(x, n=2, dim=0), shapes=(((4, 3),),)),
           Check("diff_prepend", call=lambda lib, x, p: lib.diff(x, dim=1, prepend=p), shapes=(((3, 4), (3, 2)),)))
def diff(input, n=1, dim=-1, prepend=None, append=None):
    r"""Forward differences :math:`y_i = x_{i+1} - x_i` along ``dim``, ``n`` times (after joining
    ``prepend`` and ``append`` to the input along that dim).

    Example:
        >>> import chainrule as cr
        >>> cr.diff(cr.tensor([1, 4, 9, 16]))
        tensor([3, 5, 7])
    """
    x = as_tensor(input)
    dim = normalize_dims(dim, x.ndim, "diff")[0]
    pieces = [p for p in (prepend, x, append) if p is not None]
    if len(pieces) > 1:
        x = cat([as_tensor(p) for p in pieces], dim)
    before = (slice(None),) * dim
    for _ in range(n):
        x = sub(getitem(x, before + (slice(1, None),)), getitem(x, before + (slice(None, -1),)))
    return x


@composite(Check("masked_select", call=lambda lib, x: lib.masked_select(x, x > 0.1), shapes=(((3, 4),),)),
           Check("masked_select_broadcast", call=lambda lib, x: lib.masked_select(x, lib.tensor([True, False, True])),
                 shapes=(((2, 3),),)))
def masked_select(input, mask):
    r"""The elements of ``input`` where the boolean ``mask`` (broadcasting) is True, as a 1-D tensor.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1.0, -2.0], [-3.0, 4.0]])
        >>> cr.masked_select(x, x > 0)
        tensor([1., 4.])
    """
    x, mask = as_tensor(input), as_tensor(mask)
    if mask.dtype != dtypes.bool_:
        raise RuntimeError(f"masked_select: mask must be a bool tensor, got {mask.dtype}; compare first, e.g. x > 0")
    shape = tuple(x.xp.broadcast_shapes(x.shape, mask.shape))
    return getitem(expand(x, shape), expand(mask, shape).array)


@composite(Check("xlogy", call=lambda lib, x, y: lib.xlogy(x, y), shapes=BINARY, domain="positive"))
def xlogy(input, other):
    r""":math:`x \log y`, taken to be 0 where x = 0 (even where y = 0 or is nan), as entropy sums need.

    Example:
        >>> import chainrule as cr
        >>> cr.xlogy(cr.tensor([0.0, 2.0]), cr.tensor([0.0, 1.0]))
        tensor([0., 0.])
    """
    x, y = as_tensor(input), as_tensor(other)
    zero = eq(x, 0)
    return where(zero, 0.0, mul(x, log(where(zero, 1.0, y))))   # log(1) on the masked side: no nan to leak


@composite(Check("hypot", shapes=BINARY, domain="nonzero"))
def hypot(input, other):
    r""":math:`\sqrt{x^2 + y^2}`, elementwise with broadcasting.

    Example:
        >>> import chainrule as cr
        >>> cr.hypot(cr.tensor([3.0]), cr.tensor([4.0]))
        tensor([5.])
    """
    return sqrt(add(mul(input, input), mul(other, other)))


@composite(Check("logit", call=lambda lib, x: lib.logit(lib.sigmoid(x))),
           Check("logit_eps", call=lambda lib, x: lib.logit(lib.sigmoid(x), eps=0.2)))
def logit(input, eps=None):
    r"""The log-odds :math:`\log\frac{p}{1-p}`, the inverse of the sigmoid; with ``eps``, p is first clamped
    to [ε, 1 − ε].

    Example:
        >>> import chainrule as cr
        >>> cr.logit(cr.tensor([0.5, 0.75]))
        tensor([0.    , 1.0986])
    """
    p = as_tensor(input) if eps is None else clamp(input, eps, 1 - eps)
    return log(p / (1 - p))


@composite(Check("exp2"))
def exp2(input):
    r""":math:`2^x = e^{x \ln 2}`.

    Example:
        >>> import chainrule as cr
        >>> cr.exp2(cr.tensor([0.0, 3.0]))
        tensor([1., 8.])
    """
    return exp(mul(input, math.log(2.0)))


@composite(Check("deg2rad"))
def deg2rad(input):
    r"""Degrees to radians, :math:`x \pi / 180`.

    Example:
        >>> import chainrule as cr
        >>> cr.deg2rad(cr.tensor([180.0]))
        tensor([3.1416])
    """
    return mul(input, math.pi / 180.0)


@composite(Check("rad2deg"))
def rad2deg(input):
    r"""Radians to degrees, :math:`x \cdot 180 / \pi`.

    Example:
        >>> import chainrule as cr
        >>> cr.rad2deg(cr.tensor([3.141592653589793], dtype=cr.float64))
        tensor([180.], dtype=float64)
    """
    return mul(input, 180.0 / math.pi)


@composite(Check("frac", domain="away_from_int"))
def frac(input):
    r"""The fractional part with the sign of x, :math:`x - \operatorname{trunc}(x)`; its slope is 1.

    Example:
        >>> import chainrule as cr
        >>> cr.frac(cr.tensor([2.5, -1.25]))
        tensor([ 0.5 , -0.25])
    """
    return sub(input, trunc(input))


@composite(Check("dist", call=lambda lib, x, y: lib.dist(x, y), shapes=BINARY[:2], domain="distinct"),
           Check("dist_p1", call=lambda lib, x, y: lib.dist(x, y, 3), shapes=BINARY[:2], domain="distinct"))
def dist(input, other, p=2):
    r"""The p-norm of the difference, :math:`\|x - y\|_p` (broadcasting).

    Example:
        >>> import chainrule as cr
        >>> cr.dist(cr.tensor([0.0, 0.0]), cr.tensor([3.0, 4.0]))
        tensor(5.)
    """
    return norm(sub(input, other), p)


# PyTorch's other names for ops chainrule has (NumPy's spellings, mostly): each is the op itself.
def swapdims(input, dim0, dim1):
    """Another name for ``transpose(input, dim0, dim1)``.

    Example:
        >>> import chainrule as cr
        >>> cr.swapdims(cr.zeros(2, 3), 0, 1).shape
        (3, 2)
    """
    return transpose(input, dim0, dim1)


swapaxes = swapdims


def moveaxis(input, source, destination):
    """Another name for ``movedim``.

    Example:
        >>> import chainrule as cr
        >>> cr.moveaxis(cr.zeros(2, 3, 4), 0, -1).shape
        (3, 4, 2)
    """
    return movedim(input, source, destination)


def ravel(input):
    """The elements as a 1-D tensor, ``flatten(input)``.

    Example:
        >>> import chainrule as cr
        >>> cr.ravel(cr.tensor([[1, 2], [3, 4]]))
        tensor([1, 2, 3, 4])
    """
    return flatten(input)


def multiply(input, other):
    """Another name for ``mul``: x · y.

    Example:
        >>> import chainrule as cr
        >>> cr.multiply(cr.tensor([2.0]), 3)
        tensor([6.])
    """
    return mul(input, other)


def subtract(input, other, *, alpha=1):
    """Another name for ``sub``: x − α·y.

    Example:
        >>> import chainrule as cr
        >>> cr.subtract(cr.tensor([5.0]), cr.tensor([1.0]), alpha=2)
        tensor([3.])
    """
    return sub(input, other if alpha == 1 else mul(other, alpha))


def divide(input, other, *, rounding_mode=None):
    """Another name for ``div``: x / y (``rounding_mode`` 'trunc' or 'floor' as in ``div``).

    Example:
        >>> import chainrule as cr
        >>> cr.divide(cr.tensor([7.0]), 2, rounding_mode="floor")
        tensor([3.])
    """
    return div(input, other, rounding_mode=rounding_mode)


true_divide = divide


def negative(input):
    """Another name for ``neg``: −x.

    Example:
        >>> import chainrule as cr
        >>> cr.negative(cr.tensor([1.0, -2.0]))
        tensor([-1.,  2.])
    """
    return mul(input, -1)


def absolute(input):
    """Another name for ``abs``: |x|.

    Example:
        >>> import chainrule as cr
        >>> cr.absolute(cr.tensor([-1.5]))
        tensor([1.5])
    """
    return abs(input)


def arctan2(input, other):
    """Another name for ``atan2(input, other)``: the angle of the point (other, input).

    Example:
        >>> import chainrule as cr
        >>> cr.arctan2(cr.tensor([1.0]), cr.tensor([1.0]))
        tensor([0.7854])
    """
    return atan2(input, other)


# Truth values and indices (no gradient, as in PyTorch).
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    r"""Elementwise :math:`|x - y| \le \text{atol} + \text{rtol}\,|y|` (nan equal to nan only with ``equal_nan``).

    Example:
        >>> import chainrule as cr
        >>> cr.isclose(cr.tensor([1.0, 1.1]), cr.tensor([1.0 + 1e-9, 1.0]))
        tensor([ True, False])
    """
    x, y = as_tensor(input), as_tensor(other)
    close = le(abs(sub(x, y)).detach(), add(atol, mul(rtol, abs(y).detach())))
    close = close | eq(x, y)                      # equal infinities (inf − inf is nan)
    if equal_nan:
        close = close | (ne(x, x) & ne(y, y))
    return close


def equal(input, other):
    """True if the two tensors have the same shape and the same elements (a Python bool).

    Example:
        >>> import chainrule as cr
        >>> cr.equal(cr.tensor([1, 2]), cr.tensor([1, 2])), cr.equal(cr.tensor([1]), cr.tensor([1, 1]))
        (True, False)
    """
    x, y = as_tensor(input), as_tensor(other)
    return x.shape == y.shape and bool(eq(x, y).all())


def count_nonzero(input, dim=None):
    """How many elements are not zero, over ``dim`` (all if None).

    Example:
        >>> import chainrule as cr
        >>> cr.count_nonzero(cr.tensor([[0, 1], [2, 3]]), dim=0)
        tensor([1, 2])
    """
    return sum(ne(as_tensor(input), 0), dim)


def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, or with ``as_tuple`` one 1-D tensor per dim.

    Example:
        >>> import chainrule as cr
        >>> cr.nonzero(cr.tensor([[0, 1], [2, 0]]))
        tensor([[0, 1],
                [1, 0]])
    """
    x = as_tensor(input)
    found = x.xp.nonzero(x.array)
    if as_tuple:
        return tuple(Tensor(index.astype("int64")) for index in found)
    return Tensor(x.xp.stack(found, axis=-1).astype("int64") if found else x.xp.zeros((0, 0), dtype="int64"))


def argwhere(input):
    """The indices of the non-zero elements, an (n, ndim) int64 tensor (``nonzero``).

    Example:
        >>> import chainrule as cr
        >>> cr.argwhere(cr.tensor([0.0, 3.0, 0.0, 1.0]))
        tensor([[1],
                [3]])
    """
    return nonzero(input)


@composite(Check("tensor_unfold", call=lambda lib, x: x.unfold(1, 2, 1), shapes=(((3, 4),), ((2, 5, 3),))),
           Check("tensor_unfold_step", call=lambda lib, x: x.unfold(0, 2, 3), shapes=(((7, 2),),)))
def windows(input, dimension, size, step):
    r"""``Tensor.unfold``: every window of ``size`` elements along ``dimension``, ``step`` apart, the windows
    along that dim and their elements in a new last dim: :math:`y_{\ldots w \ldots, k} = x_{\ldots\, w s + k\, \ldots}`.

    (Not ``F.unfold``, which cuts an image into patches.) The gradient adds each window's back into place,
    so elements shared by overlapping windows collect from all of them.

    Example:
        >>> import chainrule as cr
        >>> cr.arange(5.0).unfold(0, 2, 2)
        tensor([[0., 1.],
                [2., 3.]])
    """
    x = as_tensor(input)
    dim = normalize_dims(dimension, x.ndim, "unfold")[0] if x.ndim else 0
    length = x.shape[dim] if x.ndim else 1
    if size > length or step < 1:
        raise RuntimeError(f"unfold: windows of size {size} (step {step}) need size <= {length}, the length of dim "
                           f"{dimension} (input shape {x.shape}), and step >= 1")
    count = (length - size) // step + 1
    xp = x.xp
    starts = xp.arange(count) * step
    positions = (starts[:, None] + xp.arange(size)[None, :]).reshape(-1)
    picked = index_select(x.reshape((1,)) if x.ndim == 0 else x, dim, Tensor(positions))
    shape = (x.shape[:dim] + (count, size) + x.shape[dim + 1:]) if x.ndim else (count, size)
    return movedim(picked.reshape(shape), dim + 1, -1)


# ----- more of torch's functions: other names, stacking, products, statistics ------------------------------
arcsin, arccos, arctan = asin, acos, atan
fix, sgn = trunc, sign
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
ger = outer
broadcast_to = expand


def clamp_min(input, min):
    """``clamp(input, min=min)``: :math:`\\max(x, m)`.

    Example:
        >>> import chainrule as cr
        >>> cr.clamp_min(cr.tensor([-1.0, 2.0]), 0.0)
        tensor([0., 2.])
    """
    return clamp(input, min=min)


def clamp_max(input, max):
    """``clamp(input, max=max)``: :math:`\\min(x, M)`.

    Example:
        >>> import chainrule as cr
        >>> cr.clamp_max(cr.tensor([-1.0, 2.0]), 0.0)
        tensor([-1.,  0.])
    """
    return clamp(input, max=max)


def positive(input):
    """``+x``: the input itself.

    Example:
        >>> import chainrule as cr
        >>> cr.positive(cr.tensor([-1.0]))
        tensor([-1.])
    """
    return as_tensor(input)


def detach(input):
    """``input.detach()``: the same values as a new leaf, without history.

    Example:
        >>> import chainrule as cr
        >>> cr.detach(cr.ones(1, requires_grad=True)).requires_grad
        False
    """
    return as_tensor(input).detach()


def broadcast_shapes(*shapes):
    """The shape that ``shapes`` broadcast to (NumPy's rule: compared from the right, equal or 1).

    Example:
        >>> import chainrule as cr
        >>> cr.broadcast_shapes((3, 1), (4,))
        (3, 4)
    """
    return tuple(check_broadcast("broadcast_shapes", *((s,) if isinstance(s, int) else tuple(s) for s in shapes)))


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape (views; gradients sum back).

    Example:
        >>> import chainrule as cr
        >>> [t.shape for t in cr.broadcast_tensors(cr.zeros(3, 1), cr.zeros(4))]
        [(3, 4), (3, 4)]
    """
    tensors = [as_tensor(t) for t in tensors]
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


def _at_least(tensors, ndim, where):
    results = []
    for t in tensors:
        t = as_tensor(t)
        while t.ndim < ndim:
            t = unsqueeze(t, where(t.ndim))
        results.append(t)
    return results


def atleast_1d(*tensors):
    """Each input with at least 1 dim (a 0-d tensor becomes shape (1,)).

    Example:
        >>> import chainrule as cr
        >>> cr.atleast_1d(cr.tensor(2.0)).shape
        (1,)
    """
    out = _at_least(tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors, 1,
                    lambda n: 0)
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*tensors):
    """Each input with at least 2 dims: 0-d → (1, 1), (n,) → (1, n).

    Example:
        >>> import chainrule as cr
        >>> cr.atleast_2d(cr.zeros(3)).shape
        (1, 3)
    """
    out = _at_least(tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors, 2,
                    lambda n: 0)
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*tensors):
    """Each input with at least 3 dims: (n,) → (1, n, 1), (m, n) → (m, n, 1), as NumPy and PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.atleast_3d(cr.zeros(2, 3)).shape
        (2, 3, 1)
    """
    sequence = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = []
    for t in sequence:
        t = as_tensor(t)
        if t.ndim == 0:
            t = t.reshape((1, 1, 1))
        elif t.ndim == 1:
            t = t.reshape((1, t.shape[0], 1))
        elif t.ndim == 2:
            t = unsqueeze(t, 2)
        out.append(t)
    return out[0] if len(out) == 1 else tuple(out)


@composite(Check("hstack", call=lambda lib, a, b: lib.hstack([a, b]), shapes=(((3, 2), (3, 4)), ((2,), (3,)))))
def hstack(tensors):
    """Join along dim 1 (dim 0 for 1-D inputs): ``cat(atleast_1d(tensors), 1)``.

    Example:
        >>> import chainrule as cr
        >>> cr.hstack([cr.zeros(2, 1), cr.ones(2, 2)]).shape
        (2, 3)
    """
    tensors = _at_least(tensors, 1, lambda n: 0)
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


@composite(Check("vstack", call=lambda lib, a, b: lib.vstack([a, b]), shapes=(((2, 3), (1, 3)), ((3,), (3,)))))
def vstack(tensors):
    """Join along dim 0 after making each input at least 2-D (rows): ``cat(atleast_2d(tensors), 0)``.

    Example:
        >>> import chainrule as cr
        >>> cr.vstack([cr.zeros(3), cr.ones(3)]).shape
        (2, 3)
    """
    return cat(_at_least(tensors, 2, lambda n: 0), 0)


row_stack = vstack


@composite(Check("dstack", call=lambda lib, a, b: lib.dstack([a, b]), shapes=(((2, 3), (2, 3)),)))
def dstack(tensors):
    """Join along dim 2 after making each input at least 3-D: ``cat(atleast_3d(tensors), 2)``.

    Example:
        >>> import chainrule as cr
        >>> cr.dstack([cr.zeros(2, 3), cr.ones(2, 3)]).shape
        (2, 3, 2)
    """
    made = atleast_3d(*tensors)
    return cat(list(made) if isinstance(made, tuple) else [made], 2)


@composite(Check("column_stack", call=lambda lib, a, b: lib.column_stack([a, b]), shapes=(((3,), (3, 2)),)))
def column_stack(tensors):
    """Vectors as columns, matrices as they are, joined along dim 1.

    Example:
        >>> import chainrule as cr
        >>> cr.column_stack([cr.tensor([1, 2]), cr.tensor([3, 4])])
        tensor([[1, 3],
                [2, 4]])
    """
    columns = [as_tensor(t).reshape((-1, 1)) if as_tensor(t).ndim <= 1 else as_tensor(t) for t in tensors]
    return cat(columns, 1)


@composite(Check("block_diag", call=lambda lib, a, b: lib.block_diag(a, b), shapes=(((2, 3), (1, 2)), ((2, 2), (3,)))))
def block_diag(*tensors):
    """The inputs (0-, 1- or 2-D) as blocks on the diagonal of one matrix, zeros elsewhere.

    Example:
        >>> import chainrule as cr
        >>> cr.block_diag(cr.ones(1, 1), 2 * cr.ones(1, 2))
        tensor([[1., 0., 0.],
                [0., 2., 2.]])
    """
    blocks = [as_tensor(t) for t in tensors]
    blocks = [b.reshape((1, 1)) if b.ndim == 0 else b.reshape((1, -1)) if b.ndim == 1 else b for b in blocks]
    width = builtins.sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        rows.append(pad(b, (left, width - left - b.shape[1])))
        left += b.shape[1]
    return cat(rows, 0)


@composite(Check("diag_vector", call=lambda lib, v: lib.diag(v, 1), shapes=(((3,),),)),
           Check("diag_matrix", call=lambda lib, m: lib.diag(m, -1), shapes=(((3, 4),),)))
def diag(input, diagonal=0):
    """A vector's square matrix with it on the ``diagonal``-th diagonal, or a matrix's ``diagonal``-th diagonal.

    Example:
        >>> import chainrule as cr
        >>> cr.diag(cr.tensor([1.0, 2.0]))
        tensor([[1., 0.],
                [0., 2.]])
        >>> cr.diag(cr.tensor([[1, 2], [3, 4]]))
        tensor([1, 4])
    """
    x = as_tensor(input)
    if x.ndim == 2:
        return diagonal_of(x, diagonal, 0, 1)
    if x.ndim != 1:
        raise RuntimeError(f"diag: expected a 1-D or 2-D input, got shape {x.shape}")
    n, k = x.shape[0], builtins.abs(int(diagonal))
    positions = x.xp.arange(n)
    rows, columns = (positions, positions + k) if diagonal >= 0 else (positions + k, positions)
    return index_put_add((n + k, n + k), (rows, columns), x)


@composite(Check("diagflat", call=lambda lib, x: lib.diagflat(x), shapes=(((2, 2),),)))
def diagflat(input, offset=0):
    """``diag(input.flatten(), offset)``: the flattened input on a diagonal of a square matrix.

    Example:
        >>> import chainrule as cr
        >>> cr.diagflat(cr.tensor([[1, 2]])).shape
        (2, 2)
    """
    return diag(flatten(input), offset)


@composite(Check("kron", shapes=(((2, 3), (2, 2)), ((3,), (2,)), ((2, 1, 2), (3, 2)))))
def kron(input, other):
    r"""The Kronecker product: :math:`(A \otimes B)_{(i k),(j l)} = a_{ij} b_{kl}`, for inputs of any dims.

    Example:
        >>> import chainrule as cr
        >>> cr.kron(cr.eye(2), cr.tensor([[1, 2]]))
        tensor([[1., 2., 0., 0.],
                [0., 0., 1., 2.]])
    """
    a, b = as_tensor(input), as_tensor(other)
    ndim = builtins.max(a.ndim, b.ndim)
    a_shape = (1,) * (ndim - a.ndim) + a.shape
    b_shape = (1,) * (ndim - b.ndim) + b.shape
    spread_a = tuple(n for size in a_shape for n in (size, 1))     # (a0, 1, a1, 1, ...)
    spread_b = tuple(n for size in b_shape for n in (1, size))     # (1, b0, 1, b1, ...)
    product = mul(a.reshape(spread_a), b.reshape(spread_b))
    return product.reshape(tuple(p * q for p, q in zip(a_shape, b_shape)))


@composite(Check("tensordot", call=lambda lib, a, b: lib.tensordot(a, b, dims=2), shapes=(((2, 3, 4), (3, 4, 5)),)),
           Check("tensordot_pairs", call=lambda lib, a, b: lib.tensordot(a, b, dims=([0], [1])),
                 shapes=(((3, 2), (4, 3)),)))
def tensordot(a, b, dims=2):
    r"""Sum of products over paired dims: :math:`c_{i\ldots, j\ldots} = \sum_{k\ldots} a_{i\ldots k\ldots} b_{k\ldots j\ldots}`.

    ``dims`` an int n pairs a's last n dims with b's first n; or two lists of dims to pair.

    Example:
        >>> import chainrule as cr
        >>> cr.tensordot(cr.ones(2, 3), cr.ones(3, 4), dims=1)[0]
        tensor([3., 3., 3., 3.])
    """
    a, b = as_tensor(a), as_tensor(b)
    if isinstance(dims, int):
        mine, theirs = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        mine, theirs = [d % a.ndim for d in dims[0]], [d % b.ndim for d in dims[1]]
    kept_a = [d for d in range(a.ndim) if d not in mine]
    kept_b = [d for d in range(b.ndim) if d not in theirs]
    contracted = math.prod(a.shape[d] for d in mine)
    left = a.permute(tuple(kept_a + mine)).reshape((-1, contracted))
    right = b.permute(tuple(theirs + kept_b)).reshape((contracted, -1))
    return matmul(left, right).reshape(tuple(a.shape[d] for d in kept_a) + tuple(b.shape[d] for d in kept_b))


@composite(Check("inner", shapes=(((3, 4), (2, 4)), ((4,), (4,)), ((), (2, 3)))))
def inner(input, other):
    r"""Sum over the last dims of both: :math:`c_{i\ldots, j\ldots} = \sum_k a_{i\ldots k} b_{j\ldots k}` (a product for 0-d).

    Example:
        >>> import chainrule as cr
        >>> cr.inner(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0]))
        tensor(11.)
    """
    a, b = as_tensor(input), as_tensor(other)
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    return tensordot(a, b, ([-1], [-1]))


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors: output i varies along dim i (``indexing='xy'`` swaps the first two).

    Example:
        >>> import chainrule as cr
        >>> rows, cols = cr.meshgrid(cr.tensor([1, 2]), cr.tensor([3, 4, 5]), indexing="ij")
        >>> rows.shape, cols[0]
        ((2, 3), tensor([3, 4, 5]))
    """
    sequence = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    vectors = [as_tensor(t).reshape((-1,)) for t in sequence]
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if indexing == "xy" and len(vectors) >= 2:
        vectors[0], vectors[1] = vectors[1], vectors[0]
    shape = tuple(v.shape[0] for v in vectors)
    grids = [expand(v.reshape(tuple(-1 if i == d else 1 for i in range(len(shape)))), shape)
             for d, v in enumerate(vectors)]
    if indexing == "xy" and len(grids) >= 2:        # 'ij' of (y, x, ...), its first two outputs swapped back
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


@composite(Check("cartesian_prod", call=lambda lib, a, b: lib.cartesian_prod(a, b), shapes=(((3,), (2,)),)))
def cartesian_prod(*tensors):
    """Every combination of one element from each 1-D input, one per row (``itertools.product``).

    Example:
        >>> import chainrule as cr
        >>> cr.cartesian_prod(cr.tensor([1, 2]), cr.tensor([3, 4]))
        tensor([[1, 3],
                [1, 4],
                [2, 3],
                [2, 4]])
    """
    if len(tensors) == 1:
        return as_tensor(tensors[0])
    return stack([flatten(g) for g in meshgrid(*tensors, indexing="ij")], 1)


def tril_indices(row, col, offset=0, *, dtype=None, device=None):
    """The (2, N) row and column indices of the lower triangle of a row×col matrix (from diagonal ``offset``).

    Example:
        >>> import chainrule as cr
        >>> cr.tril_indices(3, 3)
        tensor([[0, 1, 1, 2, 2, 2],
                [0, 0, 1, 0, 1, 2]])
    """
    import numpy
    return Tensor(numpy.stack(numpy.tril_indices(row, offset, col)).astype(dtype or "int64"))


def triu_indices(row, col, offset=0, *, dtype=None, device=None):
    """The (2, N) row and column indices of the upper triangle of a row×col matrix (from diagonal ``offset``).

    Example:
        >>> import chainrule as cr
        >>> cr.triu_indices(2, 3, 1)
        tensor([[0, 0, 1],
                [1, 2, 2]])
    """
    import numpy
    return Tensor(numpy.stack(numpy.triu_indices(row, offset, col)).astype(dtype or "int64"))


def _with_nans(lib, x):
    """x with nan where x > 0.5 (a constant there, so the gradient is defined everywhere)."""
    return lib.where(x > 0.5, lib.tensor(float("nan"), dtype=x.dtype), x)


@composite(Check("nansum", call=lambda lib, x: lib.nansum(_with_nans(lib, x), 1),
                 shapes=(((3, 4),),)))
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Σ over ``dim`` treating nan as 0.

    Example:
        >>> import chainrule as cr
        >>> cr.nansum(cr.tensor([1.0, float("nan"), 2.0]))
        tensor(3.)
    """
    x = as_tensor(input)
    return sum(where(isnan(x), 0.0, x), dim, keepdim, dtype=dtype)


@composite(Check("nanmean", call=lambda lib, x: lib.nanmean(_with_nans(lib, x), 1),
                 shapes=(((3, 4),),)))
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """The mean over ``dim`` of the values that are not nan.

    Example:
        >>> import chainrule as cr
        >>> cr.nanmean(cr.tensor([1.0, float("nan"), 2.0]))
        tensor(1.5)
    """
    x = as_tensor(input) if dtype is None else as_tensor(input).to(dtype)
    present = ~isnan(x)
    return sum(where(present, x, 0.0), dim, keepdim) / sum(present, dim, keepdim)


@composite(Check("std_mean", call=lambda lib, x: lib.std_mean(x, 1)[0] + lib.std_mean(x, 1)[1], shapes=(((3, 4),),)))
def std_mean(input, dim=None, *, correction=1, keepdim=False):
    """``(std, mean)`` over ``dim`` in one call.

    Example:
        >>> import chainrule as cr
        >>> cr.std_mean(cr.tensor([1.0, 3.0]))
        (tensor(1.4142), tensor(2.))
    """
    return std(input, dim, keepdim, correction=correction), mean(input, dim, keepdim)


@composite(Check("var_mean", call=lambda lib, x: lib.var_mean(x, 0)[0] * lib.var_mean(x, 0)[1], shapes=(((3, 4),),)))
def var_mean(input, dim=None, *, correction=1, keepdim=False):
    """``(var, mean)`` over ``dim`` in one call.

    Example:
        >>> import chainrule as cr
        >>> cr.var_mean(cr.tensor([1.0, 3.0]))
        (tensor(2.), tensor(2.))
    """
    return var(input, dim, keepdim, correction=correction), mean(input, dim, keepdim)


_MinMax = collections.namedtuple("aminmax", ["min", "max"])


def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` over ``dim`` (all elements if None), as a named pair.

    Example:
        >>> import chainrule as cr
        >>> cr.aminmax(cr.tensor([3, 1, 2]))
        aminmax(min=tensor(1), max=tensor(3))
    """
    return _MinMax(amin(input, dim, keepdim), amax(input, dim, keepdim))


@composite(Check("fmax", shapes=BINARY, domain="distinct"), Check("fmin", shapes=BINARY, domain="distinct"))
def fmax(input, other):
    """``maximum`` that ignores nan: where one side is nan, the other; nan only where both are.

    Example:
        >>> import chainrule as cr
        >>> cr.fmax(cr.tensor([1.0, float("nan")]), cr.tensor([float("nan"), 2.0]))
        tensor([1., 2.])
    """
    x, y = as_tensor(input), as_tensor(other)
    return where(isnan(x), y, where(isnan(y), x, maximum(x, y)))


def fmin(input, other):
    """``minimum`` that ignores nan: where one side is nan, the other; nan only where both are.

    Example:
        >>> import chainrule as cr
        >>> cr.fmin(cr.tensor([1.0, float("nan")]), cr.tensor([float("nan"), 2.0]))
        tensor([1., 2.])
    """
    x, y = as_tensor(input), as_tensor(other)
    return where(isnan(x), y, where(isnan(y), x, minimum(x, y)))


@composite(Check("logaddexp2", shapes=BINARY))
def logaddexp2(input, other):
    r""":math:`\log_2(2^x + 2^y)`, without overflow.

    Example:
        >>> import chainrule as cr
        >>> cr.logaddexp2(cr.tensor([1.0]), cr.tensor([1.0]))
        tensor([2.])
    """
    ln2 = math.log(2.0)
    return logaddexp(mul(input, ln2), mul(other, ln2)) / ln2


@composite(Check("float_power", shapes=BINARY[:2], domain="positive"))
def float_power(input, exponent):
    """:math:`x^y` computed in float64 (the result is float64 whatever the inputs), as PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.float_power(cr.tensor([2]), 0.5).dtype
        dtype('float64')
    """
    x = as_tensor(input).to(dtypes.float64)
    y = exponent.to(dtypes.float64) if isinstance(exponent, Tensor) else exponent
    return pow(x, y)


def rsub(input, other, *, alpha=1):
    """``other − alpha · input``: subtraction with the operands reversed.

    Example:
        >>> import chainrule as cr
        >>> cr.rsub(cr.tensor([1.0]), 5.0)
        tensor([4.])
    """
    return sub(other, input if alpha == 1 else mul(input, alpha))


def vdot(input, other):
    """The dot product of two 1-D tensors (real: ``dot``).

    Example:
        >>> import chainrule as cr
        >>> cr.vdot(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0]))
        tensor(11.)
    """
    return dot(input, other)


@composite(Check("cdist", call=lambda lib, a, b: lib.cdist(a, b), shapes=(((3, 4), (2, 4)), ((2, 3, 2), (2, 4, 2))),
                 domain="distinct"),
           Check("cdist_p1", call=lambda lib, a, b: lib.cdist(a, b, 3.0), shapes=(((3, 4), (2, 4)),), domain="distinct"))
def cdist(x1, x2, p=2.0, compute_mode=None):
    r"""All distances between the rows of two (batched) matrices: :math:`d_{ij} = \|x_{1,i} - x_{2,j}\|_p`.

    Example:
        >>> import chainrule as cr
        >>> cr.cdist(cr.tensor([[0.0, 0.0]]), cr.tensor([[3.0, 4.0], [0.0, 1.0]]))
        tensor([[5., 1.]])
    """
    a, b = as_tensor(x1), as_tensor(x2)
    return norm(sub(unsqueeze(a, -2), unsqueeze(b, -3)), p, -1)


@composite(Check("pdist", call=lambda lib, x: lib.pdist(x), shapes=(((4, 3),),), domain="distinct"))
def pdist(input, p=2.0):
    r"""The distances between every pair of rows i < j, :math:`\|x_i - x_j\|_p`, as a vector of n(n−1)/2.

    Example:
        >>> import chainrule as cr
        >>> cr.pdist(cr.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]]))
        tensor([5.    , 1.    , 4.2426])
    """
    x = as_tensor(input)
    first, second = x.xp.triu_indices(x.shape[0], 1)
    return norm(sub(index_select(x, 0, Tensor(first)), index_select(x, 0, Tensor(second))), p, -1)


@composite(Check("trapezoid", call=lambda lib, y: lib.trapezoid(y), shapes=(((3, 4),), ((5,),))),
           Check("trapezoid_x", call=lambda lib, y, x: lib.trapezoid(y, x), shapes=(((3, 4), (4,)),)))
def trapezoid(y, x=None, *, dx=None, dim=-1):
    r"""The trapezoidal rule along ``dim``: :math:`\sum_i \tfrac{1}{2}(y_i + y_{i+1})(x_{i+1} - x_i)` (spacing ``dx``, default 1).

    Example:
        >>> import chainrule as cr
        >>> cr.trapezoid(cr.tensor([0.0, 1.0, 2.0]))
        tensor(2.)
    """
    y = as_tensor(y)
    dim = normalize_dims(dim, y.ndim, "trapezoid")[0]
    before = (slice(None),) * dim
    pairs = add(getitem(y, before + (slice(1, None),)), getitem(y, before + (slice(None, -1),)))
    if x is None:
        return sum(pairs, dim) * ((1.0 if dx is None else dx) / 2)
    steps = diff(as_tensor(x), dim=-1 if as_tensor(x).ndim == 1 else dim)
    if steps.ndim == 1:
        steps = steps.reshape((-1,) + (1,) * (y.ndim - 1 - dim))
    return sum(mul(pairs, steps), dim) / 2


trapz = trapezoid


# torch.vander's own backward fails (an in-place write it then reads), so the twin is its formula; the values
# are compared with torch.vander in tests/test_parity_torch_functions.py.
@composite(Check("vander", call=lambda lib, x: lib.vander(x, 3), shapes=(((4,),),),
                 torch_call=lambda lib, x: lib.stack([x ** 2, x, x ** 0], 1)),
           Check("vander_increasing", call=lambda lib, x: lib.vander(x, increasing=True), shapes=(((3,),),),
                 torch_call=lambda lib, x: lib.stack([x ** 0, x, x ** 2], 1)))
def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of a vector: column j is :math:`x^{N-1-j}` (``increasing``: :math:`x^j`).

    Example:
        >>> import chainrule as cr
        >>> cr.vander(cr.tensor([1, 2, 3]), 3)
        tensor([[1, 1, 1],
                [4, 2, 1],
                [9, 3, 1]])
    """
    x = as_tensor(x)
    n = x.shape[0] if N is None else int(N)
    powers = range(n) if increasing else range(n - 1, -1, -1)
    columns = [ones_like(x) if k == 0 else pow(x, k) for k in powers]   # x⁰ as ones: no 0·x⁻¹ = nan slope at 0
    return stack(columns, 1)


@composite(Check("take", call=lambda lib, x: lib.take(x, lib.tensor([[0, 5], [11, 5]])), shapes=(((3, 4),),)))
def take(input, index):
    """The elements of the flattened input at ``index`` (any shape): ``input.flatten()[index]``.

    Example:
        >>> import chainrule as cr
        >>> cr.take(cr.tensor([[4, 3], [5, 7]]), cr.tensor([0, 3]))
        tensor([4, 7])
    """
    index = as_tensor(index)
    return index_select(flatten(input), 0, flatten(index)).reshape(index.shape)


@composite(Check("median", call=lambda lib, x: lib.median(x), shapes=(((3, 4),), ((5,),)), domain="distinct"),
           Check("median_dim", call=lambda lib, x: lib.median(x, 1).values, shapes=(((3, 4),), ((2, 5),)),
                 domain="distinct"))
def median(input, dim=None, keepdim=False):
    """The lower median (the ⌊(n−1)/2⌋-th smallest): of all elements, or ``(values, indices)`` along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.median(cr.tensor([4.0, 1.0, 3.0, 2.0]))
        tensor(2.)
        >>> cr.median(cr.tensor([[1.0, 5.0, 3.0]]), 1)
        median(values=tensor([3.]), indices=tensor([2]))
    """
    x = as_tensor(input)
    if dim is None:
        flat = flatten(x)
        return kthvalue(flat, (flat.shape[0] + 1) // 2).values
    result = kthvalue(x, (x.shape[dim] + 1) // 2, dim, keepdim)
    return _Median(result.values, result.indices)


_Median = collections.namedtuple("median", ["values", "indices"])
_Kth = collections.namedtuple("kthvalue", ["values", "indices"])


@composite(Check("kthvalue", call=lambda lib, x: lib.kthvalue(x, 2, 0).values, shapes=(((3, 4),),), domain="distinct"))
def kthvalue(input, k, dim=-1, keepdim=False):
    """``(values, indices)`` of the k-th smallest element along ``dim`` (k from 1).

    Example:
        >>> import chainrule as cr
        >>> cr.kthvalue(cr.tensor([3.0, 1.0, 2.0]), 2)
        kthvalue(values=tensor(2.), indices=tensor(2))
    """
    x = as_tensor(input)
    if x.ndim == 0:
        x = x.reshape((1,))
    dim = normalize_dims(dim, x.ndim, "kthvalue")[0]
    if not 1 <= k <= x.shape[dim]:
        raise RuntimeError(f"kthvalue: k = {k} is out of range for dim {dim} of size {x.shape[dim]} (1 to {x.shape[dim]})")
    order = argsort(x, dim, stable=True)
    position = getitem(order, (slice(None),) * dim + (slice(k - 1, k),))
    values, indices = gather(x, dim, position), position
    if not keepdim:
        values, indices = squeeze(values, dim), squeeze(indices, dim)
    return _Kth(values, indices)


def msort(input):
    """``sort(input, dim=0).values``: each column sorted.

    Example:
        >>> import chainrule as cr
        >>> cr.msort(cr.tensor([[2, 1], [1, 3]]))
        tensor([[1, 1],
                [2, 3]])
    """
    return sort(input, 0).values


# ----- values and indices without gradient (as in PyTorch) -------------------------------------------------
def isin(elements, test_elements, *, invert=False):
    """Elementwise: is each element among ``test_elements``?

    Example:
        >>> import chainrule as cr
        >>> cr.isin(cr.tensor([1, 2, 3]), cr.tensor([2, 5]))
        tensor([False,  True, False])
    """
    x = as_tensor(elements)
    test = test_elements.array if isinstance(test_elements, Tensor) else test_elements
    return Tensor(x.xp.isin(x.array, test, invert=invert))


def isposinf(input):
    """Elementwise: is it +∞?

    Example:
        >>> import chainrule as cr
        >>> cr.isposinf(cr.tensor([float("inf"), -float("inf"), 1.0]))
        tensor([ True, False, False])
    """
    x = as_tensor(input)
    return Tensor(x.xp.isposinf(x.array))


def isneginf(input):
    """Elementwise: is it −∞?

    Example:
        >>> import chainrule as cr
        >>> cr.isneginf(cr.tensor([float("inf"), -float("inf"), 1.0]))
        tensor([False,  True, False])
    """
    x = as_tensor(input)
    return Tensor(x.xp.isneginf(x.array))


def signbit(input):
    """Elementwise: is the sign bit set (negative numbers and −0.0)?

    Example:
        >>> import chainrule as cr
        >>> cr.signbit(cr.tensor([-1.0, -0.0, 2.0]))
        tensor([ True,  True, False])
    """
    x = as_tensor(input)
    return Tensor(x.xp.signbit(x.array))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value among sorted ``boundaries``: i with b[i−1] < x ≤ b[i] (``right``: b[i−1] ≤ x < b[i]).

    Example:
        >>> import chainrule as cr
        >>> cr.bucketize(cr.tensor([1, 5, 9]), cr.tensor([1, 3, 5, 7]))
        tensor([0, 2, 4])
    """
    x, edges = as_tensor(input), as_tensor(boundaries)
    found = x.xp.searchsorted(edges.array, x.array, side="right" if right else "left")
    return Tensor(found.astype("int32" if out_int32 else "int64"))


def bincount(input, weights=None, minlength=0):
    """How often each value 0, 1, ... occurs in a 1-D non-negative integer tensor (summing ``weights`` if given).

    Example:
        >>> import chainrule as cr
        >>> cr.bincount(cr.tensor([0, 2, 2, 3]))
        tensor([1, 0, 2, 1])
    """
    x = as_tensor(input)
    if x.ndim != 1 or x.dtype.kind not in "iu":
        raise RuntimeError(f"bincount: expected a 1-D integer tensor, got {x.dtype} of shape {x.shape}")
    weights = None if weights is None else as_tensor(weights).array
    return Tensor(x.xp.bincount(x.array, weights, minlength))


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted), optionally with where each element went and how often each occurs.

    Example:
        >>> import chainrule as cr
        >>> cr.unique(cr.tensor([3, 1, 3, 2]), return_counts=True)
        (tensor([1, 2, 3]), tensor([1, 1, 2]))
    """
    x = as_tensor(input)
    found = x.xp.unique(x.array, return_inverse=return_inverse, return_counts=return_counts, axis=dim)
    if not (return_inverse or return_counts):
        return Tensor(found)
    values, *extra = found
    if return_inverse:
        extra[0] = extra[0].reshape(x.shape if dim is None else (x.shape[dim],))
    return (Tensor(values),) + tuple(Tensor(e.astype("int64")) for e in extra)


def histc(input, bins=100, min=0, max=0):
    """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are 0); outside values ignored.

    Example:
        >>> import chainrule as cr
        >>> cr.histc(cr.tensor([1.0, 2.0, 1.0]), bins=4, min=0, max=3)
        tensor([0., 2., 1., 0.])
    """
    x = as_tensor(input)
    low, high = (float(x.array.min()), float(x.array.max())) if min == 0 and max == 0 else (min, max)
    if low == high:
        low, high = low - 1, high + 1
    counts, _ = x.xp.histogram(x.array, bins=bins, range=(low, high))
    return Tensor(counts.astype(x.dtype))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """nan, +∞ and −∞ replaced by ``nan``, ``posinf`` and ``neginf`` (default: the dtype's largest and lowest).

    Example:
        >>> import chainrule as cr
        >>> cr.nan_to_num(cr.tensor([float("nan"), float("inf"), 1.0]), posinf=9.0)
        tensor([0., 9., 1.])
    """
    import numpy
    x = as_tensor(input)
    limits = numpy.finfo(x.dtype) if x.dtype.kind == "f" else None
    posinf = limits.max if posinf is None and limits is not None else posinf
    neginf = limits.min if neginf is None and limits is not None else neginf
    if limits is None:
        return x
    out = where(isnan(x), nan, x)
    out = where(isposinf(x), float(posinf), out)
    return where(isneginf(x), float(neginf), out)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    """A 0-d tensor holding ``s`` (float32 unless ``dtype`` says otherwise, as in PyTorch).

    Example:
        >>> import chainrule as cr
        >>> cr.scalar_tensor(3)
        tensor(3.)
    """
    from chainrule.core.tensor import tensor
    return tensor(float(s), dtype=dtype, device=device, requires_grad=requires_grad)


# ----- index_add, index_copy, index_fill: slices along a dim, written by index ----------------------------
def _slices_along(x, dim, index, op_name):
    x, index = as_tensor(x), as_tensor(index)
    if index.ndim > 1 or index.dtype.kind not in "iu":
        raise RuntimeError(f"{op_name}: index must be a 1-D integer tensor, got {index.dtype} of shape {index.shape}")
    dim = normalize_dims(dim, x.ndim, op_name)[0] if x.ndim else 0
    return x, dim, (slice(None),) * dim + (index.reshape((-1,)).array,)


@composite(Check("index_add", call=lambda lib, x, s: lib.index_add(x, 1, lib.tensor([2, 0, 2]), s, alpha=0.5),
                 shapes=(((3, 4), (3, 3)),)))
def index_add(input, dim, index, source, *, alpha=1):
    r""":math:`y = x`, then :math:`y[\ldots, \text{index}_k, \ldots] \mathrel{+}= \alpha\, s[\ldots, k, \ldots]` along ``dim`` (repeats add up).

    Example:
        >>> import chainrule as cr
        >>> cr.index_add(cr.zeros(3), 0, cr.tensor([0, 0, 2]), cr.tensor([1.0, 2.0, 5.0]))
        tensor([3., 0., 5.])
    """
    x, dim, where_to = _slices_along(input, dim, index, "index_add")
    source = as_tensor(source)
    return add(x, index_put_add(x.shape, where_to, source if alpha == 1 else mul(source, alpha)))


def _selected(x, where_to):
    """A bool mask of x's shape: True on the slices that ``where_to`` addresses."""
    mask = x.xp.zeros(x.shape, dtype=bool)
    mask[where_to] = True
    return Tensor(mask)


@composite(Check("index_copy", call=lambda lib, x, s: lib.index_copy(x, 0, lib.tensor([2, 0]), s),
                 shapes=(((3, 4), (2, 4)),)))
def index_copy(input, dim, index, source):
    r""":math:`y = x` with the slices :math:`y[\ldots, \text{index}_k, \ldots] = s[\ldots, k, \ldots]` along ``dim``.

    The gradient of the copied-over slices of x is 0; each slice of s receives its slice of ȳ.
    (With a repeated index one copy wins in PyTorch; here give each slice once.)

    Example:
        >>> import chainrule as cr
        >>> cr.index_copy(cr.zeros(2, 2), 0, cr.tensor([1]), cr.tensor([[7.0, 8.0]]))
        tensor([[0., 0.],
                [7., 8.]])
    """
    x, dim, where_to = _slices_along(input, dim, index, "index_copy")
    return where(_selected(x, where_to), index_put_add(x.shape, where_to, as_tensor(source)), x)


@composite(Check("index_fill", call=lambda lib, x: lib.index_fill(x, 1, lib.tensor([3, 1]), -2.0), shapes=(((3, 4),),)))
def index_fill(input, dim, index, value):
    r""":math:`y = x` with the slices at ``index`` along ``dim`` set to ``value`` (their gradient 0).

    Example:
        >>> import chainrule as cr
        >>> cr.index_fill(cr.ones(2, 3), 1, cr.tensor([0, 2]), 0.0)
        tensor([[0., 1., 0.],
                [0., 1., 0.]])
    """
    x, dim, where_to = _slices_along(input, dim, index, "index_fill")
    return where(_selected(x, where_to), value, x)
