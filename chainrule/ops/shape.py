"""Shape primitives: reshape, permute, expand, flip, roll, concatenate, pad, cast.

None of these changes a value, only where it sits, so each derivative puts the
gradient back where the value came from: reshape undoes reshape, permute applies
the inverse permutation, expand sums over the broadcast axes, flip flips back.
"""
import math

from chainrule.backends import cupy_module
from chainrule.core import dtypes
from chainrule.core.convert import as_tensor, check_broadcast, normalize_dims
from chainrule.core.primitive import Check, Primitive, apply, composite
from chainrule.core.tensor import Tensor

__all__ = [
    "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "permute", "transpose", "t", "movedim", "expand",
    "repeat", "flip", "roll", "cat", "stack", "pad", "clone", "split", "chunk", "unbind",
]


class Reshape(Primitive):
    name = "reshape"
    formula = r"y = \operatorname{reshape}(x, s)"
    derivatives = (r"\bar{x} = \operatorname{reshape}(\bar{y}, \operatorname{shape}(x))",)
    checks = (Check("reshape", call=lambda lib, x: x.reshape(4, -1), shapes=(((3, 4),), ((2, 2, 3),),)),)

    @staticmethod
    def forward(xp, x, shape):
        return xp.reshape(x, shape)

    @staticmethod
    def grad_x(g, out, x, shape):
        return g.reshape(x.shape)

    vjps = (grad_x,)


def reshape(x, shape):
    """The same elements in a new shape (one entry may be −1: inferred).

    The elements keep their row-major order; the gradient is reshaped back: x̄ = reshape(ȳ, shape(x)).

    Example:
        >>> import chainrule as cr
        >>> cr.reshape(cr.arange(6), (2, 3))      # rows [0, 1, 2] and [3, 4, 5]
        tensor([[0, 1, 2],
                [3, 4, 5]])
        >>> cr.reshape(cr.arange(6), (3, -1)).shape
        (3, 2)
    """
    x = as_tensor(x)
    shape = tuple(int(n) for n in shape)
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: only one dimension can be -1, got {shape}")
    known = math.prod(n for n in shape if n != -1)
    if -1 in shape:
        if known == 0 or x.numel() % known:
            raise ValueError(f"reshape: shape {shape} is invalid for input of size {x.numel()} (shape {x.shape})")
        shape = tuple(x.numel() // known if n == -1 else n for n in shape)
    elif known != x.numel():
        raise ValueError(
            f"reshape: shape {shape} holds {known} elements but the input of shape {x.shape} has {x.numel()}"
        )
    if shape == x.shape:
        return x
    return apply(Reshape, x, shape=shape)


@composite(Check("flatten", call=lambda lib, x: x.flatten(1), shapes=(((2, 3, 4),),)))
def flatten(x, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one.

    The merged dim has size ∏_{start ≤ d ≤ end} n_d (a reshape, so the gradient is reshaped back);
    a 0-d tensor becomes shape (1,).

    Example:
        >>> import chainrule as cr
        >>> x = cr.zeros(2, 3, 4)
        >>> cr.flatten(x).shape, cr.flatten(x, start_dim=1).shape, cr.flatten(x, 0, 1).shape
        ((24,), (2, 12), (6, 4))
    """
    x = as_tensor(x)
    if x.ndim == 0:
        return x.reshape((1,))
    start, end = start_dim % x.ndim, end_dim % x.ndim
    shape = x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:]
    return reshape(x, shape)


def unflatten(x, dim, sizes):
    """Split dim ``dim`` into ``sizes`` (their product must be its size; one may be −1: inferred).

    The inverse of ``flatten``: a reshape, so the gradient is reshaped back.

    Example:
        >>> import chainrule as cr
        >>> cr.unflatten(cr.zeros(2, 12), 1, (3, 4)).shape
        (2, 3, 4)
        >>> cr.unflatten(cr.zeros(2, 12), -1, (3, -1)).shape
        (2, 3, 4)
    """
    x = as_tensor(x)
    dim = dim % x.ndim
    return reshape(x, x.shape[:dim] + tuple(sizes) + x.shape[dim + 1:])


@composite(Check("squeeze_unsqueeze", call=lambda lib, x: x.unsqueeze(1).squeeze(), shapes=(((3, 1, 4),),)))
def squeeze(x, dim=None):
    """Drop axes of size 1 (only ``dim`` if given; a dim whose size is not 1 is left alone, as in PyTorch).

    A reshape, so the gradient is reshaped back.

    Example:
        >>> import chainrule as cr
        >>> x = cr.zeros(1, 3, 1)
        >>> cr.squeeze(x).shape, cr.squeeze(x, 0).shape, cr.squeeze(x, 1).shape
        ((3,), (3, 1), (1, 3, 1))
    """
    x = as_tensor(x)
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        dims = normalize_dims(dim, x.ndim, "squeeze")
        shape = tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1))
    return reshape(x, shape)


def unsqueeze(x, dim):
    """Insert an axis of size 1 at ``dim`` (−1 appends it last).

    A reshape, so the gradient is reshaped back.

    Example:
        >>> import chainrule as cr
        >>> cr.unsqueeze(cr.tensor([1, 2]), 0)
        tensor([[1, 2]])
        >>> cr.unsqueeze(cr.zeros(2, 3), -1).shape
        (2, 3, 1)
    """
    x = as_tensor(x)
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor with {x.ndim} dims")
    dim = dim % (x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


class Permute(Primitive):
    name = "permute"
    formula = r"y_{i_{\pi(1)} \dots i_{\pi(n)}} = x_{i_1 \dots i_n}"
    derivatives = (r"\bar{x} = \operatorname{permute}(\bar{y}, \pi^{-1})",)
    checks = (Check("permute", call=lambda lib, x: x.permute(2, 0, 1), shapes=(((2, 3, 4),),)),)

    @staticmethod
    def forward(xp, x, axes):
        return xp.transpose(x, axes)

    @staticmethod
    def grad_x(g, out, x, axes):
        inverse = [0] * len(axes)
        for position, axis in enumerate(axes):
            inverse[axis] = position
        return g.permute(tuple(inverse))

    vjps = (grad_x,)


def permute(x, dims):
    """Reorder the axes: output axis k is input axis ``dims[k]``.

    shape(y)[k] = shape(x)[dims[k]]; the gradient applies the inverse permutation to ȳ.
    Negative dims count from the end.

    Example:
        >>> import chainrule as cr
        >>> cr.permute(cr.zeros(2, 3, 4), (2, 0, 1)).shape
        (4, 2, 3)
        >>> cr.permute(cr.zeros(2, 3, 4), (-1, 0, 1)).shape
        (4, 2, 3)
    """
    x = as_tensor(x)
    axes = tuple(d % x.ndim for d in dims) if x.ndim else ()
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {tuple(dims)} is not a permutation of the {x.ndim} dims of shape {x.shape}")
    if axes == tuple(range(x.ndim)):
        return x
    return apply(Permute, x, axes=axes)


@composite(
    Check("transpose", call=lambda lib, x: x.transpose(0, 1), shapes=(((3, 4),),)),
    Check("mT", call=lambda lib, x: x.mT, shapes=(((2, 3, 4),),)),
)
def transpose(x, dim0, dim1):
    """Swap two axes: y[…, j, …, i, …] = x[…, i, …, j, …] (yᵢⱼ = xⱼᵢ for a matrix).

    The gradient swaps them back: x̄ = transpose(ȳ, dim0, dim1).

    Example:
        >>> import chainrule as cr
        >>> cr.transpose(cr.zeros(2, 3, 4), 0, 2).shape
        (4, 3, 2)
        >>> cr.transpose(cr.zeros(2, 3, 4), -1, -2).shape
        (2, 4, 3)
    """
    x = as_tensor(x)
    axes = list(range(x.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return permute(x, axes)


def t(x):
    """Transpose of a matrix (a 0-d or 1-d tensor is returned as is): yᵢⱼ = xⱼᵢ, x̄ = ȳᵀ.

    Example:
        >>> import chainrule as cr
        >>> cr.t(cr.tensor([[1, 2, 3]]))
        tensor([[1],
                [2],
                [3]])
        >>> cr.t(cr.tensor([1, 2]))
        tensor([1, 2])
    """
    return x if x.ndim < 2 else transpose(x, 0, 1)


def movedim(x, source, destination):
    """Move axes ``source`` to positions ``destination``, keeping the others in order.

    A permutation of the axes, so the gradient applies the inverse permutation to ȳ.

    Example:
        >>> import chainrule as cr
        >>> cr.movedim(cr.zeros(2, 3, 4), 0, -1).shape
        (3, 4, 2)
        >>> cr.movedim(cr.zeros(2, 3, 4), (0, 1), (2, 0)).shape
        (3, 4, 2)
    """
    x = as_tensor(x)
    source = (source,) if isinstance(source, int) else tuple(source)
    destination = (destination,) if isinstance(destination, int) else tuple(destination)
    source = tuple(s % x.ndim for s in source)
    destination = tuple(d % x.ndim for d in destination)
    order = [axis for axis in range(x.ndim) if axis not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return permute(x, order)


class Expand(Primitive):
    name = "expand"
    formula = r"y = \operatorname{broadcast}(x, s)"
    derivatives = (r"\bar{x} = \sum_{\text{broadcast axes}} \bar{y}",)
    checks = (Check("expand", call=lambda lib, x: x.expand(2, 3, 4), shapes=(((3, 1),), ((1, 3, 4),),)),)

    @staticmethod
    def forward(xp, x, shape):
        return xp.broadcast_to(x, shape)

    @staticmethod
    def grad_x(g, out, x, shape):
        # The backward walk un-broadcasts g to x's shape; nothing to do here.
        return g

    vjps = (grad_x,)


def expand(x, shape):
    """Broadcast to ``shape`` without copying (−1 keeps a size). Its gradient sums over the new axes.

    y[i] = x[i'], where i' is i with the index of every broadcast (size-1) dim set to 0 and the new
    leading dims dropped; x̄ = Σ_{broadcast dims} ȳ.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1.0], [2.0]], requires_grad=True)
        >>> cr.expand(x, (2, 3))
        tensor([[1., 1., 1.],
                [2., 2., 2.]], grad_fn=<expand>)
        >>> cr.expand(x, (-1, 3)).sum().backward(); x.grad       # each element was used 3 times
        tensor([[3.],
                [3.]])
    """
    x = as_tensor(x)
    shape = tuple(shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: cannot expand shape {x.shape} to fewer dims {shape}")
    shape = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    if shape == x.shape:
        return x
    if check_broadcast("expand", x.shape, shape) != shape:
        raise ValueError(f"expand: shape {x.shape} cannot be expanded to {shape}: only size-1 dims can grow")
    return apply(Expand, x, shape=shape)


@composite(Check("repeat", call=lambda lib, x: x.repeat(2, 1, 3), shapes=(((3, 4),),)))
def repeat(x, repeats):
    """Tile the tensor ``repeats[i]`` times along each dim (as ``torch.Tensor.repeat``).

    y[i] = x[i mod shape(x)] along each dim (extra leading repeats add new dims); the
    gradient sums ȳ over all the copies of each element.

    Example:
        >>> import chainrule as cr
        >>> cr.repeat(cr.tensor([1, 2]), (2, 2))
        tensor([[1, 2, 1, 2],
                [1, 2, 1, 2]])
    """
    x = as_tensor(x)
    repeats = tuple(repeats)
    x = x.reshape((1,) * (len(repeats) - x.ndim) + x.shape)
    # Insert a size-1 axis before each dim, broadcast it to the repeat count, and merge.
    shape_with_axes = []
    for n in x.shape:
        shape_with_axes += [1, n]
    expanded = x.reshape(tuple(shape_with_axes)).expand(tuple(v for r, n in zip(repeats, x.shape) for v in (r, n)))
    return expanded.reshape(tuple(r * n for r, n in zip(repeats, x.shape)))


class Flip(Primitive):
    name = "flip"
    formula = r"y_i = x_{n-1-i} \text{ along dims}"
    derivatives = (r"\bar{x} = \operatorname{flip}(\bar{y})",)
    checks = (Check("flip", call=lambda lib, x: x.flip((0, 1)), shapes=(((3, 4),),)),)

    @staticmethod
    def forward(xp, x, dims):
        return xp.flip(x, axis=dims)

    @staticmethod
    def grad_x(g, out, x, dims):
        return g.flip(dims)

    vjps = (grad_x,)


def flip(x, dims):
    """Reverse the order of elements along ``dims``: yᵢ = x_{n−1−i}; the gradient is flipped back.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1, 2], [3, 4]])
        >>> cr.flip(x, 0)
        tensor([[3, 4],
                [1, 2]])
        >>> cr.flip(x, (0, 1))
        tensor([[4, 3],
                [2, 1]])
    """
    x = as_tensor(x)
    return apply(Flip, x, dims=normalize_dims(dims, x.ndim, "flip"))


class Roll(Primitive):
    name = "roll"
    formula = r"y_{(i + s) \bmod n} = x_i"
    derivatives = (r"\bar{x} = \operatorname{roll}(\bar{y}, -s)",)
    checks = (
        Check("roll", call=lambda lib, x: x.roll(2, 1), shapes=(((3, 4),),)),
        Check("roll_flat", call=lambda lib, x: x.roll(5), shapes=(((3, 4),),)),
    )

    @staticmethod
    def forward(xp, x, shifts, dims):
        return xp.roll(x, shifts, axis=dims)

    @staticmethod
    def grad_x(g, out, x, shifts, dims):
        return roll(g, tuple(-s for s in shifts), dims)

    vjps = (grad_x,)


def roll(x, shifts, dims=None):
    """Shift elements along ``dims``, wrapping around (flattened if dims is None).

    y_{(i + s) mod n} = xᵢ; the gradient rolls back by −s.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1, 2], [3, 4]])
        >>> cr.roll(x, 1)                 # dims=None: roll the flattened tensor
        tensor([[4, 1],
                [2, 3]])
        >>> cr.roll(x, 1, dims=1)
        tensor([[2, 1],
                [4, 3]])
    """
    x = as_tensor(x)
    if dims is None:
        return roll(x.reshape((-1,)), shifts, 0).reshape(x.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return apply(Roll, x, shifts=shifts, dims=tuple(d % x.ndim for d in dims))


class Cat(Primitive):
    name = "cat"
    formula = r"y = [x_1; x_2; \dots] \text{ along dim}"
    derivatives = (r"\bar{x}_k = \bar{y}[\text{the rows of } x_k]",)
    checks = (Check("cat", call=lambda lib, a, b: lib.cat([a, b, a], 1), shapes=(((3, 2), (3, 4)),)),)

    @staticmethod
    def forward(xp, *arrays, dim):
        return xp.concatenate(arrays, axis=dim)

    @classmethod
    def vjp(cls, index, g, out, /, *inputs, dim):
        start = 0
        for tensor in inputs[:index]:
            start += tensor.shape[dim]
        stop = start + inputs[index].shape[dim]
        return g[(slice(None),) * dim + (slice(start, stop),)]


def cat(tensors, dim=0):
    """Join tensors along an existing dim: y = [x₁; x₂; …] along ``dim``.

    Each input's gradient is its own slice of ȳ.

    Example:
        >>> import chainrule as cr
        >>> cr.cat([cr.zeros(2, 3), cr.ones(1, 3)]).shape
        (3, 3)
        >>> cr.cat([cr.tensor([[1, 2]]), cr.tensor([[3, 4]])], dim=1)
        tensor([[1, 2, 3, 4]])
    """
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    first = tensors[0]
    axis = dim % first.ndim if first.ndim else 0
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis):
            raise ValueError(
                f"cat: tensors must have the same shape except in dim {dim}; got {first.shape} and {t.shape}"
            )
    dtype = dtypes.promote_types(*[t.dtype for t in tensors])
    tensors = [t.to(dtype) for t in tensors]
    return apply(Cat, *tensors, dim=axis)


@composite(Check("stack", call=lambda lib, a, b: lib.stack([a, b], -1), shapes=(((3, 4), (3, 4)),)))
def stack(tensors, dim=0):
    """Join tensors of the same shape along a new dim: y[…, k, …] = x_k.

    Each input's gradient is its own slice of ȳ.

    Example:
        >>> import chainrule as cr
        >>> a, b = cr.tensor([1, 2]), cr.tensor([3, 4])
        >>> cr.stack([a, b])
        tensor([[1, 2],
                [3, 4]])
        >>> cr.stack([a, b], dim=-1)
        tensor([[1, 3],
                [2, 4]])
    """
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: all tensors must have the same shape; got {tensors[0].shape} and {t.shape}")
    return cat([unsqueeze(t, dim) for t in tensors], dim=dim)


class ConstantPad(Primitive):
    name = "pad"
    formula = r"y = \operatorname{pad}(x, \text{widths}, c)"
    derivatives = (r"\bar{x} = \bar{y}[\text{the interior}]",)
    checks = (
        Check("pad_constant", call=lambda lib, x: lib.pad(x, (1, 2, 0, 1), value=0.5),
              torch_call=lambda torch, x: torch.nn.functional.pad(x, (1, 2, 0, 1), value=0.5), shapes=(((3, 4),),)),
        Check("pad_reflect", call=lambda lib, x: lib.pad(x, (2, 1), mode="reflect"),
              torch_call=lambda torch, x: torch.nn.functional.pad(x, (2, 1), mode="reflect"), shapes=(((2, 3, 4),),)),
        Check("pad_replicate", call=lambda lib, x: lib.pad(x, (2, 1, 1, 1), mode="replicate"),
              torch_call=lambda torch, x: torch.nn.functional.pad(x, (2, 1, 1, 1), mode="replicate"), shapes=(((1, 2, 3, 4),),)),
        Check("pad_circular", call=lambda lib, x: lib.pad(x, (2, 1), mode="circular"),
              torch_call=lambda torch, x: torch.nn.functional.pad(x, (2, 1), mode="circular"), shapes=(((2, 3, 4),),)),
    )

    @staticmethod
    def forward(xp, x, widths, value):
        return xp.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def grad_x(g, out, x, widths, value):
        return g[tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))]

    vjps = (grad_x,)


def pad(x, pad, mode="constant", value=0.0):
    """Pad the last dims, PyTorch style: ``pad = (left_last, right_last, left_second_last, ...)``.

    Modes: ``constant`` (fill with ``value``), ``reflect`` (mirror without the edge),
    ``replicate`` (repeat the edge), ``circular`` (wrap around). The non-constant modes
    gather existing elements, so their gradient adds back into the source positions; the
    constant mode's gradient is the interior of ȳ.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0, 3.0])
        >>> cr.pad(x, (1, 2))
        tensor([0., 1., 2., 3., 0., 0.])
        >>> cr.pad(x, (2, 1), mode="reflect")
        tensor([3., 2., 1., 2., 3., 2.])
        >>> cr.pad(cr.zeros(2, 3), (1, 1, 2, 0)).shape      # last dim +1+1, second-to-last +2
        (4, 5)
    """
    x = as_tensor(x)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of widths for at most {x.ndim} dims, got {tuple(pad)}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if any(before < 0 or after < 0 for before, after in widths):
        raise ValueError(f"pad: negative widths {tuple(pad)} are not supported; slice the tensor instead")
    if mode == "constant":
        if all(w == (0, 0) for w in widths):
            return x
        return apply(ConstantPad, x, widths=tuple(widths), value=value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: unknown mode {mode!r}; use 'constant', 'reflect', 'replicate' or 'circular'")
    out = x
    for axis, (before, after) in enumerate(widths):
        if before or after:
            source = _pad_source_positions(x.shape[axis], before, after, mode, x.xp)
            out = out[(slice(None),) * axis + (as_tensor(source),)]
    return out


def _pad_source_positions(n, before, after, mode, xp):
    """For each position of the padded axis, the input position its value comes from."""
    positions = xp.arange(-before, n + after)
    if mode == "replicate":
        return xp.clip(positions, 0, n - 1)
    if mode == "circular":
        if before > n or after > n:
            raise ValueError(f"pad: circular padding ({before}, {after}) is larger than the dim size {n}")
        return positions % n
    if before >= n or after >= n:
        raise ValueError(f"pad: reflect padding ({before}, {after}) must be smaller than the dim size {n}")
    period = 2 * (n - 1) if n > 1 else 1
    folded = xp.abs(positions) % period
    return xp.where(folded >= n, period - folded, folded)


class Astype(Primitive):
    name = "astype"
    formula = r"y = \operatorname{cast}(x)"
    derivatives = (r"\bar{x} = \operatorname{cast}^{-1}(\bar{y})",)

    @staticmethod
    def forward(xp, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def grad_x(g, out, x, dtype):
        return g.to(x.dtype)

    vjps = (grad_x,)


def astype(x, dtype):
    """Cast to ``dtype``; the gradient is cast back."""
    x = as_tensor(x)
    if x.dtype == dtype:
        return x
    if not x.requires_grad or dtype.kind != "f":
        return Tensor._wrap(x.array.astype(dtype))
    return apply(Astype, x, dtype=dtype)


class Clone(Primitive):
    name = "clone"
    formula = r"y = x"
    derivatives = (r"\bar{x} = \bar{y}",)
    checks = (Check("clone", call=lambda lib, x: x.clone() * 2),)

    @staticmethod
    def forward(xp, x):
        return x.copy()

    @staticmethod
    def grad_x(g, out, x):
        return g

    vjps = (grad_x,)


def clone(x):
    """A copy that stays in the graph (gradient passes through unchanged): y = x, x̄ = ȳ.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> y = cr.clone(x); y
        tensor([1., 2.], grad_fn=<clone>)
        >>> (3 * y).sum().backward(); x.grad
        tensor([3., 3.])
    """
    return apply(Clone, as_tensor(x))


class ToDevice(Primitive):
    name = "to_device"
    formula = r"y = x \text{ (on another device)}"
    derivatives = (r"\bar{x} = \bar{y} \text{ (moved back)}",)

    @staticmethod
    def forward(xp, x, device):
        if device == "cuda":
            return cupy_module().asarray(x)
        return x.get() if hasattr(x, "get") else x

    @staticmethod
    def grad_x(g, out, x, device):
        return g.to(x.device)

    vjps = (grad_x,)


def to_device(x, device):
    """Move to 'cpu' or 'cuda' (CuPy); the gradient moves back."""
    device = device.split(":")[0]
    if device not in ("cpu", "cuda"):
        raise ValueError(f"to: unknown device {device!r}; use 'cpu' or 'cuda'")
    if x.device == device:
        return x
    return apply(ToDevice, x, device=device)


# ----- composed from the primitives above: slicing into pieces (getitem)


@composite(Check("split", call=lambda lib, x: x.split(2, 1)[1] * 2 + x.split(2, 1)[0], shapes=(((3, 4),),)))
def split(x, split_size_or_sections, dim=0):
    """Split into chunks of ``split_size`` (the last may be smaller) or of the given section sizes.

    The pieces are slices of ``x``, so each one's gradient lands in its own rows of x̄.

    Example:
        >>> import chainrule as cr
        >>> cr.split(cr.arange(5), 2)
        (tensor([0, 1]), tensor([2, 3]), tensor([4]))
        >>> cr.split(cr.arange(5), [1, 4])
        (tensor([0]), tensor([1, 2, 3, 4]))
    """
    x = as_tensor(x)
    axis = dim % x.ndim
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: section sizes {sizes} add to {sum(sizes)}, but dim {dim} has size {n}")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(x[(slice(None),) * axis + (slice(start, start + size),)])
        start += size
    return tuple(pieces)


@composite(Check("chunk", call=lambda lib, x: x.chunk(3, 0)[2], shapes=(((5, 2),),)))
def chunk(x, chunks, dim=0):
    """Split into ``chunks`` nearly equal pieces (as ``torch.chunk``).

    Each piece has ⌈n / chunks⌉ elements along ``dim`` (the last may be smaller), so there can
    be fewer than ``chunks`` pieces, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.chunk(cr.arange(5), 2)
        (tensor([0, 1, 2]), tensor([3, 4]))
        >>> cr.chunk(cr.arange(6), 4)          # pieces of 2: only 3 of them
        (tensor([0, 1]), tensor([2, 3]), tensor([4, 5]))
    """
    n = x.shape[dim]
    return split(x, max(1, -(-n // chunks)), dim)


@composite(Check("unbind", call=lambda lib, x: x.unbind(1)[2], shapes=(((3, 4),),)))
def unbind(x, dim=0):
    """The slices along ``dim``, as a tuple: the k-th is x[…, k, …], with ``dim`` removed.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1, 2], [3, 4]])
        >>> cr.unbind(x)
        (tensor([1, 2]), tensor([3, 4]))
        >>> cr.unbind(x, dim=1)
        (tensor([1, 3]), tensor([2, 4]))
    """
    return tuple(x[(slice(None),) * (dim % x.ndim) + (i,)] for i in range(x.shape[dim]))
