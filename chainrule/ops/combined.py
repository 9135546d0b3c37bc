"""PyTorch's ops that are short compositions of others: fused multiply-adds, interpolation, reshuffles.

``addmm`` is β·input + α·(mat1 @ mat2), ``lerp`` is input + w·(end − input), ``rot90`` is a flip
and a transpose, and so on: each is written here as that formula in chainrule's ops, so it
needs no derivative of its own (the chain rule composes those of its parts), and each card
(``@composite``) tells the tests to check it by float64 gradcheck and against PyTorch. The
comparisons at the end (``isclose``, ``equal``, ``count_nonzero``, ``nonzero``) return truth
values and indices, which carry no gradient, as in PyTorch.
"""
import math

from chainrule.core import dtypes
from chainrule.core.convert import as_tensor, normalize_dims
from chainrule.core.primitive import BINARY, UNARY, Check, composite
from chainrule.core.tensor import Tensor
from chainrule.ops.binary import add, atan2, div, mul, sub, where
from chainrule.ops.indexing import clamp
from chainrule.ops.elementwise import abs, exp, log, sqrt, trunc
from chainrule.ops.indexing import gather, getitem, index_select
from chainrule.ops.logic import eq, le, ne
from chainrule.ops.matmul import matmul, mv, outer
from chainrule.ops.reduce import norm, sum
from chainrule.ops.shape import cat, expand, flatten, flip, movedim, repeat, transpose

__all__ = [
    "lerp", "addmm", "addbmm", "baddbmm", "addmv", "addr", "addcmul", "addcdiv",
    "repeat_interleave", "narrow", "select", "take_along_dim", "tile", "rot90", "fliplr", "flipud", "diff",
    "masked_select", "xlogy", "hypot", "logit", "exp2", "deg2rad", "rad2deg", "frac", "dist",
    "swapdims", "swapaxes", "moveaxis", "ravel", "multiply", "subtract", "divide", "true_divide", "negative",
    "absolute", "arctan2", "isclose", "equal", "count_nonzero", "nonzero", "argwhere",
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
