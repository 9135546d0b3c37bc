"""Orthonormal bases and orthogonal projections onto subspaces (differentiable compositions).

Gram–Schmidt turns independent vectors into an orthonormal basis of their span;
the orthogonal projection onto span(B) is P = Q Qᵀ for an orthonormal basis Q of
it, the closest point of the subspace to v: P v = argmin_{u ∈ span B} ‖v − u‖.
"""
from chainrule.linalg._common import as_float_tensor, check_matrix, matrix_diagonal
from chainrule.linalg.decompositions import qr
from chainrule.ops import stack


def gram_schmidt(vectors, *, tol=None):
    """Orthonormalize the columns of ``vectors`` (n, k) by modified Gram–Schmidt.

        q₁ = a₁/‖a₁‖,   qⱼ = wⱼ/‖wⱼ‖,   wⱼ = aⱼ − Σ_{i<j} (qᵢᵀ wⱼ⁽ⁱ⁾) qᵢ

    "Modified": each projection is removed from the running remainder w rather
    than from aⱼ, which keeps the loss of orthogonality at O(eps·κ(A)) instead of
    O(eps·κ(A)²) for the classical version (Björck 1967). The result equals the
    Q of a QR decomposition with R's diagonal made positive. Differentiable
    (built from tensor ops). Raises if a column is (numerically) in the span of
    the previous ones: its remainder has norm ≤ tol·‖aⱼ‖ (tol defaults to
    √eps·k).

    Example:
        >>> import chainrule as cr
        >>> Q = cr.linalg.gram_schmidt(cr.tensor([[3.0, 1.0], [4.0, 1.0]]))
        >>> Q[:, 0]
        tensor([0.6, 0.8])
    """
    A = as_float_tensor(vectors, "gram_schmidt")
    if A.ndim != 2:
        raise ValueError(f"gram_schmidt: expected a matrix whose columns are the vectors (shape (n, k)), got shape {A.shape}")
    n, k = A.shape
    if k > n:
        raise ValueError(f"gram_schmidt: {k} vectors in dimension {n} cannot be independent (k must be ≤ n); got shape {A.shape}")
    tol = (A.xp.finfo(A.dtype).eps ** 0.5) * max(k, 1) if tol is None else tol
    basis = []
    for j in range(k):
        column = A[:, j]
        remainder = column
        for q in basis:
            remainder = remainder - (q * remainder).sum() * q
        length = (remainder * remainder).sum().sqrt()
        if float(length.item()) <= tol * float((column * column).sum().sqrt().item()) or float(length.item()) == 0.0:
            raise ValueError(
                f"gram_schmidt: column {j} of the input of shape {A.shape} is (numerically) a combination of the "
                f"columns before it (its remainder has norm {float(length.item()):.3g}); remove dependent columns, "
                "or use chainrule.linalg.svd / matrix_rank to find an independent set"
            )
        basis.append(remainder / length)
    return stack(basis, dim=1)


def _orthonormal_basis(basis, orthonormal, op_name):

    B = as_float_tensor(basis, op_name)
    check_matrix(B, op_name)
    if B.ndim != 2:
        raise ValueError(f"{op_name}: expected a basis matrix whose columns span the subspace (shape (n, k)), got shape {B.shape}")
    if orthonormal:
        return B
    Q, R = qr(B)
    scale = R.array[0, 0] if R.shape[0] else 1.0
    diagonal = abs(matrix_diagonal(R).array)
    if B.shape[1] > B.shape[0] or bool((diagonal <= 1e-10 * abs(scale)).any()):
        raise ValueError(
            f"{op_name}: the basis columns of the matrix of shape {B.shape} are linearly dependent; pass independent "
            "columns (gram_schmidt or svd can find them)"
        )
    return Q


def projection_matrix(basis, *, orthonormal=False):
    """The orthogonal projector P = B (BᵀB)⁻¹ Bᵀ = Q Qᵀ onto the span of the columns of ``basis``.

    P is symmetric and idempotent (P² = P); I − P projects onto the orthogonal
    complement. Computed through a QR decomposition (better conditioned than
    forming (BᵀB)⁻¹); pass ``orthonormal=True`` if the columns already are.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.projection_matrix(cr.tensor([[1.0], [1.0]]))
        tensor([[0.5, 0.5],
                [0.5, 0.5]])
    """
    Q = _orthonormal_basis(basis, orthonormal, "projection_matrix")
    return Q @ Q.mT


def project(v, basis, *, orthonormal=False):
    """The orthogonal projection of ``v`` (vectors along the last dim) onto span(basis columns).

    P v = Q (Qᵀ v): the point of the subspace nearest to v; the residual v − P v is
    orthogonal to every basis vector.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.project(cr.tensor([1.0, 2.0, 3.0]), cr.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
        tensor([1., 2., 0.])
    """
    Q = _orthonormal_basis(basis, orthonormal, "project")
    v = as_float_tensor(v, "project")
    if v.shape[-1] != Q.shape[0]:
        raise ValueError(
            f"project: vectors of length {v.shape[-1]} (shape {v.shape}) cannot be projected onto a subspace of "
            f"R^{Q.shape[0]} (basis shape {Q.shape}); the last dim of v must equal the basis rows"
        )
    return (v @ Q) @ Q.mT
