"""Indexing primitives: reading elements out (getitem, gather) and adding them back in.

Reading and scattering are each other's adjoints: the gradient of ``y = x[i]`` is
``x̄ = zeros; x̄[i] += ȳ``, adding (not assigning) so that an index that appears
twice gets both contributions. ``IndexAdd`` and ``ScatterAdd`` do that adding,
and their own gradients are reads again, so derivatives of any order work.
"""
import numpy

from chainrule.core.convert import as_tensor
from chainrule.core.primitive import Check, Primitive, apply, composite
from chainrule.core.tensor import Tensor
from chainrule.ops.binary import maximum, minimum, where
from chainrule.ops.shape import movedim, pad

__all__ = [
    "gather", "index_select", "scatter_add", "clamp", "masked_fill", "tril", "triu", "diagonal", "one_hot",
]


def normalize_index(index):
    """An index with tensors turned into arrays and lists into integer arrays."""
    if not isinstance(index, tuple):
        index = (index,)
    parts = []
    for part in index:
        if isinstance(part, Tensor):
            part = part.array
        elif isinstance(part, list):
            part = numpy.asarray(part)
        parts.append(part)
    return tuple(parts)


def _is_basic(index):
    """True if the index has only ints, slices, None and Ellipsis (no element can repeat)."""
    return all(isinstance(part, (int, slice)) or part is None or part is Ellipsis for part in index)


def _has_only_masks(index):
    return all(
        isinstance(part, (int, slice)) or part is None or part is Ellipsis or getattr(part, "dtype", None) == bool
        for part in index
    )


# ----- composed from the primitives above (their derivatives come from the chain rule)


def zeros_like_tensor(x):
    return Tensor._wrap(x.xp.zeros(x.shape, dtype=x.dtype))


class GetItem(Primitive):
    name = "getitem"
    formula = r"y = x[i]"
    derivatives = (r"\bar{x} = \operatorname{zeros}(x);\ \bar{x}[i] \mathrel{+}= \bar{y}",)
    checks = (
        Check("getitem_basic", call=lambda lib, x: x[1:, ::2], shapes=(((3, 4),),)),
        Check("getitem_int_none_ellipsis", call=lambda lib, x: x[..., 1, None], shapes=(((2, 3, 4),),)),
        Check("getitem_repeated_indices", call=lambda lib, x: x[[0, 2, 0, 0]], shapes=(((3, 4),),)),
        Check("getitem_two_arrays", call=lambda lib, x: x[[0, 1, 1], [2, 2, 0]], shapes=(((3, 4),),)),
        Check("getitem_mask", call=lambda lib, x: x[x > 0], shapes=(((3, 4),),), domain="nonzero"),
        Check("getitem_negative", call=lambda lib, x: x[-1, [-1, -2]], shapes=(((3, 4),),)),
    )

    @staticmethod
    def forward(xp, x, index):
        return x[index]

    @staticmethod
    def grad_x(g, out, x, index):
        return apply(IndexAdd, g, shape=x.shape, index=index)

    vjps = (grad_x,)


def getitem(x, index):
    """``x[index]``: NumPy indexing (ints, slices, None, ..., integer arrays, boolean masks).

    The gradient is scattered back with addition, so repeated indices add up.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> x[[0, 0, 2]].sum().backward()
        >>> x.grad
        tensor([2., 0., 1.])
    """
    index = normalize_index(index)
    _check_index(x, index)
    return apply(GetItem, x, index=index)


def _dims_used(part):
    """How many dims of the tensor one part of an index consumes (a boolean mask consumes its ndim)."""
    return part.ndim if getattr(part, "dtype", None) == bool else 1


def _check_index(x, index):
    """Raise an IndexError naming the shape and the bad index, before NumPy's terser one."""
    consumed = sum(_dims_used(p) for p in index if p is not None and p is not Ellipsis)
    if consumed > x.ndim:
        raise IndexError(f"getitem: too many indices ({consumed}) for a tensor of shape {x.shape}")
    dim = 0
    for part in index:
        if part is None:
            continue
        if part is Ellipsis:
            dim += x.ndim - consumed
            continue
        size = x.shape[dim]
        bad = None
        if isinstance(part, int) and not -size <= part < size:
            bad = part
        elif getattr(part, "dtype", None) is not None and part.dtype.kind in "iu" and part.size:
            low, high = int(part.min()), int(part.max())
            if high >= size:
                bad = high
            elif low < -size:
                bad = low
        if bad is not None:
            raise IndexError(
                f"getitem: index {bad} is out of range for dim {dim} of size {size} (tensor shape {x.shape}); "
                f"valid indices are {-size} to {size - 1}"
            )
        dim += _dims_used(part)


class IndexAdd(Primitive):
    name = "index_add"
    formula = r"y = \operatorname{zeros}(s);\ y[i] \mathrel{+}= g"
    derivatives = (r"\bar{g} = \bar{y}[i]",)

    @staticmethod
    def forward(xp, g, shape, index):
        out = xp.zeros(shape, dtype=g.dtype)
        if _has_only_masks(index):
            out[index] = g  # no position can be hit twice
        else:
            xp.add.at(out, index, g)
        return out

    @staticmethod
    def grad_g(gy, out, g, shape, index):
        return apply(GetItem, gy, index=index)

    vjps = (grad_g,)


def _full_index(xp, index, dim):
    """The tuple that addresses ``a[..., index[...], ...]`` elementwise along ``dim`` (torch.gather semantics)."""
    grids = list(xp.indices(index.shape, sparse=True))
    grids[dim] = index
    return tuple(grids)


def index_put_add(shape, index, values):
    """zeros(shape) with ``values`` added at ``index`` (repeats add up): the adjoint of ``getitem``."""
    return apply(IndexAdd, as_tensor(values), shape=tuple(shape), index=normalize_index(index))


class Gather(Primitive):
    name = "gather"
    formula = r"y_{\dots i \dots} = x_{\dots \operatorname{index}_{\dots i \dots} \dots}"
    derivatives = (r"\bar{x} = \operatorname{scatter\_add}(0, \operatorname{index}, \bar{y})",)
    checks = (
        Check("gather", call=lambda lib, x: x.gather(1, lib.tensor([[0, 0], [3, 1], [2, 2]])),
              shapes=(((3, 4),),)),
        Check("index_select", call=lambda lib, x: x.index_select(1, lib.tensor([3, 0, 3])), shapes=(((3, 4),),)),
    )

    @staticmethod
    def forward(xp, x, dim, index):
        return x[_full_index(xp, index, dim)]

    @staticmethod
    def grad_x(g, out, x, dim, index):
        return apply(ScatterAdd, zeros_like_tensor(x), g, dim=dim, index=index)

    vjps = (grad_x,)


def gather(x, dim, index):
    """yᵢⱼ = x[indexᵢⱼ, j] for dim=0 (and so on): pick one element per position along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([[1, 2], [3, 4]]).gather(1, cr.tensor([[1], [0]]))
        tensor([[2],
                [3]])
    """
    x = as_tensor(x)
    index = as_tensor(index)
    dim = dim % x.ndim
    _check_gather_index(x, dim, index, "gather")
    return apply(Gather, x, dim=dim, index=index.array)


def _check_gather_index(x, dim, index, op_name):
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op_name}: index must be an integer tensor, got {index.dtype}")
    if index.ndim != x.ndim:
        raise ValueError(f"{op_name}: index has {index.ndim} dims but the input has {x.ndim} (shape {x.shape})")
    for d, (n_index, n_x) in enumerate(zip(index.shape, x.shape)):
        if d != dim and n_index > n_x:
            raise ValueError(f"{op_name}: index shape {index.shape} is larger than input shape {x.shape} in dim {d}")
    if index.numel():
        low, high = int(index.array.min()), int(index.array.max())
        if low < 0 or high >= x.shape[dim]:
            raise IndexError(
                f"{op_name}: index {high if high >= x.shape[dim] else low} is out of range for dim {dim} "
                f"of size {x.shape[dim]} (input shape {x.shape})"
            )


def index_select(x, dim, index):
    """The slices of ``x`` along ``dim`` at positions ``index`` (a 1-D integer tensor).

    For dim=0: y[k] = x[index[k]]. The gradient adds ȳ back into those slices, so a repeated
    index receives the sum of its gradients.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1, 2], [3, 4], [5, 6]])
        >>> cr.index_select(x, 0, cr.tensor([2, 0]))
        tensor([[5, 6],
                [1, 2]])
        >>> cr.index_select(x, 1, cr.tensor([1, 1]))
        tensor([[2, 2],
                [4, 4],
                [6, 6]])
    """
    x, index = as_tensor(x), as_tensor(index)
    return getitem(x, (slice(None),) * (dim % x.ndim) + (index,))


class ScatterAdd(Primitive):
    name = "scatter_add"
    formula = r"y = x;\ y_{\dots \operatorname{index}_{\dots i \dots} \dots} \mathrel{+}= s_{\dots i \dots}"
    derivatives = (r"\bar{x} = \bar{y}", r"\bar{s} = \operatorname{gather}(\bar{y}, \operatorname{index})")
    checks = (Check("scatter_add", call=lambda lib, x, s: x.scatter_add(0, lib.tensor([[0, 1, 0, 0], [0, 2, 2, 1]]), s), shapes=(((3, 4), (2, 4)),)),)

    @staticmethod
    def forward(xp, x, source, dim, index):
        out = x.copy()
        source = source[tuple(slice(0, n) for n in index.shape)]
        position = _full_index(xp, index, dim)
        if index.shape[dim] == 1:
            # One index per slice along dim, so no position repeats and plain indexed addition is
            # exact (and many times faster than add.at; max pooling's backward takes this path).
            out[position] += source
        else:
            xp.add.at(out, position, source)
        return out

    @staticmethod
    def grad_x(g, out, x, source, dim, index):
        return g

    @staticmethod
    def grad_source(g, out, x, source, dim, index):
        gathered = apply(Gather, g, dim=dim, index=index)
        if gathered.shape != source.shape:
            widths = []
            for n_source, n_index in zip(source.shape, index.shape):
                widths += [0, n_source - n_index]
            gathered = pad(gathered, tuple(reversed_pairs(widths)))
        return gathered

    vjps = (grad_x, grad_source)


def reversed_pairs(widths):
    """Per-dim (before, after) pairs, first dim first, as PyTorch's pad order (last dim first)."""
    pairs = [widths[i:i + 2] for i in range(0, len(widths), 2)]
    flat = []
    for before, after in reversed(pairs):
        flat += [before, after]
    return flat


def scatter_add(x, dim, index, src):
    """A copy of ``x`` with ``src`` added at ``index`` along ``dim`` (repeated indices add up).

    For dim=0: y = x, then y[index[i, j], j] += src[i, j] (and so on for other dims), as
    ``torch.scatter_add``. The gradients are x̄ = ȳ and s̄rc = gather(ȳ, dim, index).

    Example:
        >>> import chainrule as cr
        >>> cr.scatter_add(cr.zeros(3), 0, cr.tensor([0, 2, 0]), cr.tensor([1.0, 2.0, 3.0]))
        tensor([4., 0., 2.])
    """
    x, src, index = as_tensor(x), as_tensor(src), as_tensor(index)
    dim = dim % x.ndim
    _check_gather_index(x, dim, index, "scatter_add")
    if src.dtype != x.dtype:
        src = src.to(x.dtype)
    return apply(ScatterAdd, x, src, dim=dim, index=index.array)


class Clamp(Primitive):
    name = "clamp"
    formula = r"y = \min(\max(x, a), b)"
    derivatives = (r"\bar{x} = \bar{y}\,[a \le x \le b]",)
    checks = (
        Check("clamp", call=lambda lib, x: x.clamp(-0.5, 0.7), domain="away_from_int"),
        Check("clamp_min", call=lambda lib, x: x.clamp(min=0.1), domain="away_from_int"),
    )

    @staticmethod
    def forward(xp, x, low, high):
        return xp.clip(x, low, high)

    @staticmethod
    def grad_x(g, out, x, low, high):
        inside = x == x  # all True (False for nan)
        if low is not None:
            inside = inside & (x >= low)
        if high is not None:
            inside = inside & (x <= high)
        return g * inside.to(g.dtype)

    vjps = (grad_x,)


def clamp(x, min=None, max=None):
    """Limit values to [min, max]; the gradient passes where min ≤ x ≤ max (as in PyTorch).

    y = min(max(x, min), max) and x̄ = ȳ [min ≤ x ≤ max]; either bound may be None (no limit).

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([-2.0, 0.5, 1.0, 3.0], requires_grad=True)
        >>> y = cr.clamp(x, min=0.0, max=1.0); y.tolist()
        [0.0, 0.5, 1.0, 1.0]
        >>> y.sum().backward(); x.grad        # the bound itself (1.0) still passes the gradient
        tensor([0., 1., 1., 0.])
    """
    x = as_tensor(x)
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    return apply(Clamp, x, low=min, high=max)


@composite(Check("masked_fill", call=lambda lib, a: a.masked_fill(a < 0, 2.0), domain="nonzero"))
def masked_fill(x, mask, value):
    """``x`` with ``value`` wherever ``mask`` is True (no gradient flows to those positions).

    yᵢ = value if maskᵢ else xᵢ (``mask`` broadcasts against ``x``); x̄ᵢ = ȳᵢ [not maskᵢ].

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> y = cr.masked_fill(x, cr.tensor([True, False, True]), 0.0); y.tolist()
        [0.0, 2.0, 0.0]
        >>> y.sum().backward(); x.grad
        tensor([0., 1., 0.])
    """
    return where(as_tensor(mask), value, x)


@composite(Check("tril", call=lambda lib, x: x.tril(), shapes=(((4, 4),), ((2, 3, 4),))))
def tril(x, diagonal=0):
    """The lower triangle (j ≤ i + diagonal) of the last two dims; zeros above.

    yᵢⱼ = xᵢⱼ [j ≤ i + diagonal]; the gradient is masked the same way.

    Example:
        >>> import chainrule as cr
        >>> cr.tril(cr.ones(3, 3))
        tensor([[1., 0., 0.],
                [1., 1., 0.],
                [1., 1., 1.]])
        >>> cr.tril(cr.ones(3, 3), diagonal=-1)
        tensor([[0., 0., 0.],
                [1., 0., 0.],
                [1., 1., 0.]])
    """
    x = as_tensor(x)
    keep = x.xp.tril(x.xp.ones(x.shape[-2:], dtype=bool), k=diagonal)
    return masked_fill(x, as_tensor(~keep), 0)


@composite(Check("triu", call=lambda lib, x: x.triu(1), shapes=(((4, 4),),)))
def triu(x, diagonal=0):
    """The upper triangle (j ≥ i + diagonal) of the last two dims; zeros below.

    yᵢⱼ = xᵢⱼ [j ≥ i + diagonal]; the gradient is masked the same way.

    Example:
        >>> import chainrule as cr
        >>> cr.triu(cr.tensor([[1, 2], [3, 4]]))
        tensor([[1, 2],
                [0, 4]])
        >>> cr.triu(cr.ones(3, 3), 1)
        tensor([[0., 1., 1.],
                [0., 0., 1.],
                [0., 0., 0.]])
    """
    x = as_tensor(x)
    keep = x.xp.triu(x.xp.ones(x.shape[-2:], dtype=bool), k=diagonal)
    return masked_fill(x, as_tensor(~keep), 0)


@composite(Check("diagonal", call=lambda lib, x: x.diagonal(1), shapes=(((3, 4),),)))
def diagonal(x, offset=0, dim1=0, dim2=1):
    """The diagonal x[..., i, i + offset] of dims ``dim1``, ``dim2``, moved to the last axis.

    offset > 0 is above the main diagonal, offset < 0 below. The gradient puts ȳ back on that
    diagonal of a zero tensor.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1, 2, 3], [4, 5, 6]])
        >>> cr.diagonal(x), cr.diagonal(x, offset=1), cr.diagonal(x, offset=-1)
        (tensor([1, 5]), tensor([2, 6]), tensor([4]))
    """
    x = as_tensor(x)
    moved = movedim(x, (dim1, dim2), (-2, -1))
    rows, cols = moved.shape[-2:]
    start_row, start_col = max(-offset, 0), max(offset, 0)
    length = max(0, min(rows - start_row, cols - start_col))
    i = x.xp.arange(length)
    return moved[..., as_tensor(i + start_row), as_tensor(i + start_col)]


def one_hot(indices, num_classes=-1):
    """Integer class labels → rows of 0/1 (int64), as ``torch.nn.functional.one_hot``.

    y[..., c] = [indices[...] = c] for c in 0..num_classes−1 (num_classes=-1: max label + 1).
    Not differentiable.

    Example:
        >>> import chainrule as cr
        >>> cr.one_hot(cr.tensor([0, 2, 1]))
        tensor([[1, 0, 0],
                [0, 0, 1],
                [0, 1, 0]])
        >>> cr.one_hot(cr.tensor([0, 2]), num_classes=4).shape
        (2, 4)
    """
    indices = as_tensor(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, got {indices.dtype}")
    if num_classes == -1:
        num_classes = int(indices.array.max()) + 1 if indices.numel() else 0
    if indices.numel() and (int(indices.array.min()) < 0 or int(indices.array.max()) >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got {int(indices.array.min())}..{int(indices.array.max())}")
    xp = indices.xp
    return Tensor._wrap((indices.array[..., None] == xp.arange(num_classes)).astype(xp.int64))
