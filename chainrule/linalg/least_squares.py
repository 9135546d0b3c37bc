"""Least squares, composed: X = A⁺B with the SVD-based ``pinv`` (solvers.py) and the rank from ``svdvals``
(decompositions.py). It sits above both, so neither of them needs the other's module.
"""
from collections import namedtuple

from chainrule.core.tensor import Tensor
from chainrule.linalg._common import as_float_tensor, check_matrix, common_dtype, default_rtol
from chainrule.linalg.decompositions import svdvals
from chainrule.linalg.solvers import pinv

LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])


def lstsq(A, B, rcond=None, *, driver=None):
    """Least squares: X minimizing ‖A X − B‖_F (and of least norm ‖X‖_F if A is rank deficient).

    Computed as X = A⁺ B with the SVD-based ``pinv`` (like LAPACK's gelsd), so
    the gradient is the pseudo-inverse rule (Golub & Pereyra 1973) followed by a
    matrix product. Returns ``(solution, residuals, rank, singular_values)`` as
    torch.linalg.lstsq: ``residuals`` are the squared column residuals ‖AX − B‖²
    when m > n and A has full column rank (otherwise an empty tensor). ``driver``
    is accepted for API compatibility.

    Example:
        >>> import chainrule as cr
        >>> A = cr.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
        >>> cr.linalg.lstsq(A, cr.tensor([[1.0], [2.0], [3.0]])).solution   # the line 1 + t
        tensor([[1.],
                [1.]])
    """
    A, B = as_float_tensor(A, "lstsq"), as_float_tensor(B, "lstsq")
    check_matrix(A, "lstsq")
    is_vector = B.ndim == A.ndim - 1
    if is_vector:
        B = B.unsqueeze(-1)
    if B.shape[-2] != A.shape[-2]:
        raise ValueError(
            f"lstsq: A has shape {A.shape} and B has shape {B.shape}; they need the same number of rows "
            f"(A.shape[-2] == B.shape[-2] == {A.shape[-2]})"
        )
    A, B = common_dtype(A, B)
    m, n = A.shape[-2:]
    rtol = default_rtol(A.shape, A.dtype, A.xp) if rcond is None else rcond
    X = pinv(A, rtol=rtol) @ B
    singular_values = svdvals(A.detach())
    cutoff = rtol * singular_values.array.max(axis=-1, keepdims=True)
    rank = Tensor._wrap((singular_values.array > cutoff).sum(axis=-1).astype(A.xp.int64))
    if m > n and bool((rank.array == n).all()):
        residuals = ((A @ X - B) ** 2).sum(dim=-2)
    else:
        residuals = Tensor._wrap(A.xp.empty((0,), dtype=A.dtype))
    if is_vector:
        X = X.squeeze(-1)
        residuals = residuals.squeeze(-1) if residuals.numel() else residuals
    return LstsqResult(X, residuals, rank, singular_values)
