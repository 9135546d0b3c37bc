"""Shared pieces of chainrule.linalg: input checks, clear errors, and packed outputs.

Packed outputs. A primitive returns one array, but a decomposition has several
outputs (eigh: values and vectors; svd: U, S, Vᴴ; slogdet: sign and log|det|).
Such a primitive computes the decomposition once and returns its outputs
flattened and concatenated along the last axis; the public function slices them
back out with ``unpack`` (tensor ops, so the slicing is recorded). The vjp then
receives one upstream gradient holding every output's share, unpacks it the same
way, and applies the published rule that needs all of them at once.
"""
import contextlib
import math

import numpy

from chainrule.core import dtypes
from chainrule.core.tensor import Tensor
from chainrule.core.convert import as_tensor
from chainrule.ops import diagonal


def as_float_tensor(x, op_name):
    """``x`` as a floating tensor (integers become the default float dtype)."""
    x = as_tensor(x)
    if x.dtype.kind in "iub":
        x = x.to(dtypes.get_default_dtype())
    if x.dtype.kind not in "f":
        raise TypeError(
            f"{op_name}: expected a real floating-point tensor, got dtype {x.dtype}; "
            "complex inputs are not supported by chainrule.linalg"
        )
    return x


def common_dtype(a, b):
    """a and b cast to the dtype of their result (float32 with float64 gives float64)."""
    dtype = a.xp.result_type(a.dtype, b.dtype)
    return a.to(dtype), b.to(dtype)


def default_rtol(shape, dtype, xp):
    """The rank cutoff of pinv and lstsq relative to the largest singular value: max(m, n)·eps, as PyTorch's."""
    return max(shape[-2], shape[-1]) * xp.finfo(dtype).eps


def check_matrix(x, op_name):
    """Raise unless ``x`` is a (batch of) matrices: at least 2 dims."""
    if x.ndim < 2:
        raise ValueError(
            f"{op_name}: expected a matrix or a batch of matrices (shape (..., m, n)), got shape {x.shape}; "
            "reshape a vector with x.reshape(n, 1) or x.unsqueeze(0)"
        )


def check_square(x, op_name):
    """Raise unless ``x`` is a (batch of) square matrices."""
    check_matrix(x, op_name)
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(
            f"{op_name}: expected square matrices (shape (..., n, n)), got shape {x.shape}; "
            f"{op_name} is only defined for square matrices. For a non-square matrix use "
            "chainrule.linalg.pinv / lstsq (least squares) or svd"
        )


@contextlib.contextmanager
def explain_linalg_error(op_name, shape, fix):
    """Turn LAPACK's terse LinAlgError into one that names the op, the shape and the fix."""
    try:
        yield
    except numpy.linalg.LinAlgError as error:
        raise ValueError(f"{op_name}: {error} (input of shape {tuple(shape)}). {fix}") from None


def scipy_linalg(xp):
    """``scipy.linalg`` for NumPy arrays, ``cupyx.scipy.linalg`` for CuPy arrays (imported on first use:
    CuPy is optional, and only triangular solves need SciPy's linalg)."""
    if xp.__name__ == "cupy":  # pragma: no cover - needs a GPU
        import cupyx.scipy.linalg as linalg
        return linalg
    import scipy.linalg as linalg
    return linalg


def eye_like(x, n=None):
    """The n×n identity with ``x``'s dtype and device (a constant)."""
    n = x.shape[-1] if n is None else n
    return Tensor._wrap(x.xp.eye(n, dtype=x.dtype))


def diag_embed(v):
    """Vectors (..., n) → diagonal matrices (..., n, n)."""
    return v.unsqueeze(-1) * eye_like(v, v.shape[-1])


def matrix_diagonal(x):
    """The diagonals (..., n) of matrices (..., n, n)."""
    return diagonal(x, 0, -2, -1)


def pack(xp, *arrays, batch_ndim):
    """Flatten each array's trailing (non-batch) dims and concatenate them along the last axis."""
    batch_shape = arrays[0].shape[:batch_ndim]
    flat = [array.reshape(batch_shape + (-1,)) for array in arrays]
    return xp.concatenate(flat, axis=-1)


def unpack(packed, shapes):
    """The tensors that ``pack`` concatenated, given each one's trailing shape (tensor ops)."""
    parts, start = [], 0
    batch_shape = packed.shape[:-1]
    for shape in shapes:
        size = math.prod(shape)
        parts.append(packed[..., start:start + size].reshape(batch_shape + tuple(shape)))
        start += size
    return parts


def symmetric_part(x):
    """½(X + Xᵀ)."""
    return 0.5 * (x + x.mT)
