"""What every op does to its arguments before its primitive runs: make them tensors, agree on a
dtype, and check that shapes and dims make sense.

A Python number takes the dtype of the tensor it meets (``float32_tensor * 2.0``
stays float32); an integer tensor meeting a Python float becomes the default
float dtype, as in PyTorch. Shapes that do not broadcast and dims out of range
get an error naming the op.
"""
import numbers

from chainrule.core import dtypes
from chainrule.core.tensor import Tensor, tensor


def as_tensor(value, like=None):
    """``value`` as a Tensor, on the same device as ``like``; Tensors pass through unchanged."""
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, numbers.Number):
        # The usual case first (a Python float beside a float tensor: x * 0.5, 1 - y): no ABC checks.
        if type(value) is float and like.array.dtype.kind in "fc":
            return Tensor._wrap(like.xp.asarray(value, dtype=like.array.dtype))
        if isinstance(value, bool):
            dtype = like.dtype
        elif isinstance(value, numbers.Integral):
            dtype = like.dtype if like.dtype.kind != "b" else dtypes.int64
        elif isinstance(value, numbers.Real):
            dtype = like.dtype if like.dtype.kind in "fc" else dtypes.get_default_dtype()
        else:
            dtype = None
        return Tensor._wrap(like.xp.asarray(value, dtype=dtype))
    return tensor(value, device=None if like is None else like.device)


def promote_pair(a, b, op_name):
    """Both operands of a binary op as tensors of a common dtype family."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.array.dtype == b.array.dtype:
        return a, b   # the common case, answered first: every binary op of every step asks
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{op_name}: expected at least one tensor, got {type(a).__name__} and {type(b).__name__}")
    if not isinstance(a, Tensor):
        if isinstance(a, float) and b.dtype.kind in "iub":
            b = b.to(dtypes.get_default_dtype())
        a = as_tensor(a, like=b)
    elif not isinstance(b, Tensor):
        if isinstance(b, float) and a.dtype.kind in "iub":
            a = a.to(dtypes.get_default_dtype())
        b = as_tensor(b, like=a)
    elif a.dtype != b.dtype:
        # Two tensors: PyTorch's promotion (int64 with float32 gives float32), where NumPy's would differ.
        common = dtypes.promote_types(a.dtype, b.dtype)
        if a.xp.result_type(a.dtype, b.dtype) != common:
            a, b = a.to(common), b.to(common)
    return a, b


def check_broadcast(op_name, *shapes):
    """The shape ``shapes`` broadcast to; a clear error naming ``op_name`` when they do not.

    NumPy's rule, compared from the right: sizes must be equal or 1. Written out in Python
    because ``numpy.broadcast_shapes`` builds arrays to answer (1.5 µs; this loop 0.25 µs),
    and every binary op of mismatched shapes (a bias add, a scalar) asks.
    """
    result = ()
    for shape in shapes:
        result = _broadcast_pair(result, tuple(shape))
        if result is None:
            shown = " and ".join(str(tuple(s)) for s in shapes)
            raise ValueError(
                f"{op_name}: shapes {shown} do not broadcast: each dimension, compared from the right, must be "
                "equal or 1. Reshape or unsqueeze one operand (e.g. x.unsqueeze(-1)) so that they line up"
            )
    return result


def _broadcast_pair(a, b):
    """The broadcast shape of two shapes, or None if they do not broadcast."""
    if len(a) < len(b):
        a, b = b, a
    lead = len(a) - len(b)
    result = list(a)
    for axis, size in enumerate(b, lead):
        if size != a[axis]:
            if a[axis] == 1:
                result[axis] = size
            elif size != 1:
                return None
    return tuple(result)


def normalize_dims(dim, ndim, op_name="reduction"):
    """``dim`` as a sorted tuple of non-negative axes (None means all axes); a clear error when out of range."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    normalized = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"{op_name}: dim {d} is out of range for a tensor with {ndim} dimensions "
                f"(valid: {-max(ndim, 1)} to {max(ndim, 1) - 1})"
            )
        normalized.append(d % ndim if ndim else 0)
    return tuple(sorted(set(normalized))) if ndim else ()
