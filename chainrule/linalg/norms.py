"""Norms, rank and condition number, composed from differentiable ops.

Every function here is a composition (sums of absolute values, maxima, singular
values from ``svdvals``), so its derivative comes from the chain rule alone.
"""
import math

from chainrule.core.tensor import Tensor
from chainrule.linalg._common import as_float_tensor, check_matrix, check_square
from chainrule.linalg.decompositions import svdvals
from chainrule.linalg.solvers import inv
from chainrule.ops import abs, amax, amin, movedim, ne, sum
from chainrule.ops import norm as p_norm   # ops' p-norm; this module defines its own norm()

_MATRIX_ORDS = ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)


def _normalize_inf(order):
    if isinstance(order, str) and order in ("inf", "-inf"):
        return math.inf if order == "inf" else -math.inf
    return order


def vector_norm(x, ord=2, dim=None, keepdim=False):
    """The vector p-norm ‖x‖_p = (Σ|xᵢ|^p)^{1/p} over ``dim`` (all elements if None).

    ord = inf: max|xᵢ|; −inf: min|xᵢ|; 0: the number of nonzeros (piecewise
    constant, zero gradient); negative p: the same formula (a "norm" only in
    name, as in NumPy and PyTorch).

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.vector_norm(cr.tensor([3.0, -4.0]))
        tensor(5.)
        >>> cr.linalg.vector_norm(cr.tensor([3.0, -4.0]), ord=1)
        tensor(7.)
    """
    x = as_float_tensor(x, "vector_norm")
    order = _normalize_inf(ord)
    if not isinstance(order, (int, float)) or isinstance(order, bool):
        raise ValueError(f"vector_norm: ord must be a number or ±inf, got {ord!r}; for matrix norms use matrix_norm")
    if dim is not None and isinstance(dim, int):
        dim = (dim,)
    if order == math.inf:
        return amax(abs(x), dim, keepdim)
    if order == -math.inf:
        return amin(abs(x), dim, keepdim)
    if order == 0:
        return sum(ne(x, 0).to(x.dtype), dim, keepdim)
    if order > 0:
        return p_norm(x, p=order, dim=dim, keepdim=keepdim)
    return sum(abs(x) ** order, dim, keepdim) ** (1.0 / order)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False):
    """Matrix norms of A over the two dims ``dim``.

    * 'fro': ‖A‖_F = √(Σᵢⱼ aᵢⱼ²)          * 'nuc': Σᵢ σᵢ (nuclear norm)
    * 2 / −2: largest / smallest singular value
    * 1 / −1: max / min column sum of |aᵢⱼ|
    * inf / −inf: max / min row sum of |aᵢⱼ|

    Gradients come from the composition; for 2, −2 and 'nuc' they go through
    ``svdvals`` (Ā = U diag(σ̄) Vᵀ).

    Example:
        >>> import chainrule as cr
        >>> A = cr.tensor([[1.0, -2.0], [3.0, 4.0]])
        >>> cr.linalg.matrix_norm(A, ord=1), cr.linalg.matrix_norm(A, ord=float('inf'))
        (tensor(6.), tensor(7.))
    """
    A = as_float_tensor(A, "matrix_norm")
    check_matrix(A, "matrix_norm")
    order = _normalize_inf(ord)
    if order not in _MATRIX_ORDS:
        raise ValueError(
            f"matrix_norm: ord must be one of 'fro', 'nuc', 2, -2, 1, -1, inf, -inf; got {ord!r}. "
            "For an entrywise p-norm use vector_norm(A, ord=p, dim=(-2, -1))"
        )
    dim = tuple(d % A.ndim for d in dim)
    if len(dim) != 2 or dim[0] == dim[1]:
        raise ValueError(f"matrix_norm: dim must name two different dims of A (shape {A.shape}), got {dim}")
    moved = movedim(A, dim, (-2, -1))
    if order == "fro":
        result = vector_norm(moved, 2, dim=(-2, -1))
    elif order == "nuc":
        result = svdvals(moved).sum(dim=-1)
    elif order in (2, -2):
        singular_values = svdvals(moved)
        result = singular_values[..., 0] if order == 2 else singular_values[..., -1]
    elif order in (1, -1):
        column_sums = abs(moved).sum(dim=-2)
        result = amax(column_sums, -1) if order == 1 else amin(column_sums, -1)
    else:
        row_sums = abs(moved).sum(dim=-1)
        result = amax(row_sums, -1) if order == math.inf else amin(row_sums, -1)
    if keepdim:
        for d in sorted(dim):
            result = result.unsqueeze(d)
    return result


def norm(A, ord=None, dim=None, keepdim=False):
    """torch.linalg.norm: a vector norm for 1-D input or an int ``dim``, a matrix norm otherwise.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.norm(cr.tensor([[3.0, 0.0], [0.0, 4.0]]))
        tensor(5.)
    """
    A = as_float_tensor(A, "norm")
    if dim is None:
        if A.ndim == 1 or ord is None:
            if ord is None:
                return vector_norm(A, 2, dim=None, keepdim=keepdim)
            return vector_norm(A, ord, dim=None, keepdim=keepdim)
        if A.ndim != 2:
            raise ValueError(f"norm: with ord={ord!r} and no dim the input must be 1-D or 2-D, got shape {A.shape}")
        dim = (-2, -1)
    if isinstance(dim, int) or len(dim) == 1:
        return vector_norm(A, 2 if ord is None else ord, dim=dim, keepdim=keepdim)
    return matrix_norm(A, "fro" if ord is None else ord, dim=dim, keepdim=keepdim)


def _tolerance(singular_values, shape, atol, rtol):
    xp = singular_values.xp
    largest = singular_values.array.max(axis=-1, keepdims=True) if singular_values.shape[-1] else 0.0
    if rtol is None:
        rtol = max(shape[-2], shape[-1]) * xp.finfo(singular_values.dtype).eps if atol is None else 0.0
    return xp.maximum(0.0 if atol is None else atol, rtol * largest)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The numerical rank: the number of singular values above max(atol, rtol·σ_max).

    Defaults as torch.linalg.matrix_rank: rtol = max(m, n)·eps when neither
    tolerance is given. An integer result, not differentiable. ``hermitian`` is
    accepted for API compatibility.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.matrix_rank(cr.tensor([[1.0, 2.0], [2.0, 4.0]]))
        tensor(1)
    """
    A = as_float_tensor(A, "matrix_rank")
    check_matrix(A, "matrix_rank")
    singular_values = svdvals(A.detach())
    tolerance = _tolerance(singular_values, A.shape, atol, rtol)
    return Tensor._wrap((singular_values.array > tolerance).sum(axis=-1).astype(A.xp.int64))


def cond(A, p=None):
    """The condition number κ(A) = ‖A‖ ‖A⁻¹‖: how much A can amplify relative errors.

    p = None or 2: σ_max/σ_min (any shape); −2: σ_min/σ_max; 'fro', 'nuc', 1,
    −1, inf, −inf: matrix_norm(A, p)·matrix_norm(A⁻¹, p) (square A only).
    Solving A x = b loses about log₁₀ κ(A) significant digits.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.cond(cr.tensor([[2.0, 0.0], [0.0, 0.5]]))
        tensor(4.)
    """
    A = as_float_tensor(A, "cond")
    check_matrix(A, "cond")
    order = 2 if p is None else _normalize_inf(p)
    if order in (2, -2):
        singular_values = svdvals(A)
        ratio = singular_values[..., 0] / singular_values[..., -1]
        return ratio if order == 2 else 1.0 / ratio
    if order not in _MATRIX_ORDS:
        raise ValueError(f"cond: p must be None or one of 'fro', 'nuc', 2, -2, 1, -1, inf, -inf; got {p!r}")
    check_square(A, f"cond (p={p!r})")
    return matrix_norm(A, order) * matrix_norm(inv(A), order)
