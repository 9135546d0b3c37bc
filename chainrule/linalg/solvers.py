"""Linear systems and the functions of a matrix that come with them.

solve, solve_triangular, inv, det, slogdet, pinv (lstsq, composed on pinv and svdvals, is in
least_squares.py). Each derivative rule is
from Giles 2008, "Collected matrix derivative results for forward and reverse
mode algorithmic differentiation" (§3: inverse, determinant, linear solve), and
is written with chainrule ops (including these very functions), so every rule
can itself be differentiated (second order, ``create_graph=True``).

The pseudo-inverse rule is Golub & Pereyra 1973, "The differentiation of
pseudo-inverses and nonlinear least squares problems", Thm 4.3.
"""
from collections import namedtuple

from chainrule.core.primitive import Check, Primitive, apply
from chainrule.linalg._common import (
    as_float_tensor, check_matrix, check_square, common_dtype, default_rtol, explain_linalg_error, eye_like,
    scipy_linalg,
)
from chainrule.ops import tril, triu
from chainrule.core.convert import check_broadcast

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])

_SINGULAR_FIX = (
    "The matrix is singular (not invertible): check it for repeated or zero rows/columns, add a small "
    "multiple of the identity (A + eps*I), or use chainrule.linalg.lstsq / pinv for a least-squares answer"
)


def _broadcast_batches(xp, a, b):
    """Broadcast the batch dims (all but the last two) of ``a`` and ``b`` against each other."""
    batch = xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(b, batch + b.shape[-2:])


# ----- triangular systems -------------------------------------------------------------
class SolveTriangular(Primitive):
    name = "solve_triangular"
    formula = r"X = A^{-1} B\ (\text{left}),\quad X = B A^{-1}\ (\text{right}),\ A \text{ triangular}"
    derivatives = (
        r"\bar{A} = -\operatorname{tri}(\bar{B} X^{\top})\ (\text{left}),\ -\operatorname{tri}(X^{\top}\bar{B})\ (\text{right})",
        r"\bar{B} = A^{-\top} \bar{X}\ (\text{left}),\quad \bar{X} A^{-\top}\ (\text{right})",
    )
    checks = (Check("solve_triangular", call=lambda lib, a, b: lib.linalg.solve_triangular((a + 6 * lib.eye(3, dtype=a.dtype)), b, upper=True), shapes=(((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 2)))),)

    @staticmethod
    def forward(xp, a, b, upper, left, unitriangular):
        a, b = _broadcast_batches(xp, a, b)
        solver = scipy_linalg(xp).solve_triangular
        if left:
            return solver(a, b, lower=not upper, unit_diagonal=unitriangular)
        # X A = B  ⇔  Aᵀ Xᵀ = Bᵀ (trans=1 solves with Aᵀ without forming it).
        xt = solver(a, xp.swapaxes(b, -1, -2), trans=1, lower=not upper, unit_diagonal=unitriangular)
        return xp.swapaxes(xt, -1, -2)

    @staticmethod
    def _triangle_read(x, upper, unitriangular):
        """Keep the entries of A that the solver reads: its triangle (without the diagonal if unit)."""
        if upper:
            return triu(x, 1 if unitriangular else 0)
        return tril(x, -1 if unitriangular else 0)

    @staticmethod
    def grad_a(g, out, a, b, upper, left, unitriangular):
        b_bar = SolveTriangular.grad_b(g, out, a, b, upper, left, unitriangular)
        a_bar = -(b_bar @ out.mT) if left else -(out.mT @ b_bar)
        return SolveTriangular._triangle_read(a_bar, upper, unitriangular)

    @staticmethod
    def grad_b(g, out, a, b, upper, left, unitriangular):
        # Aᵀ is triangular on the other side: solve with it rather than inverting A.
        return solve_triangular(a.mT, g, upper=not upper, left=left, unitriangular=unitriangular)

    vjps = (grad_a, grad_b)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """Solve A X = B (``left=True``) or X A = B (``left=False``) for triangular A, by substitution.

    Only the triangle of A named by ``upper`` is read (and not its diagonal if
    ``unitriangular``, which takes it to be all ones). Batched over leading dims,
    which broadcast. Cost O(n²k) instead of the O(n³) of a general solve.

    Gradients (Giles 2008 §2.3.1): with X = A⁻¹B,
        B̄ = A⁻ᵀ X̄,   Ā = −tri(B̄ Xᵀ)
    where tri keeps the triangle that A's solve read.

    Example:
        >>> import chainrule as cr
        >>> L = cr.tensor([[2.0, 0.0], [1.0, 1.0]])
        >>> cr.linalg.solve_triangular(L, cr.tensor([[2.0], [3.0]]), upper=False)
        tensor([[1.],
                [2.]])
    """
    A, B = as_float_tensor(A, "solve_triangular"), as_float_tensor(B, "solve_triangular")
    check_square(A, "solve_triangular")
    check_matrix(B, "solve_triangular")
    n = A.shape[-1]
    rows = B.shape[-2] if left else B.shape[-1]
    if rows != n:
        side = "B.shape[-2]" if left else "B.shape[-1]"
        raise ValueError(
            f"solve_triangular: A has shape {A.shape} but B has shape {B.shape}; {side} must equal n = {n}. "
            "For a vector b of length n pass b.unsqueeze(-1)"
        )
    check_broadcast("solve_triangular (batch dims)", A.shape[:-2], B.shape[:-2])
    A, B = common_dtype(A, B)
    with explain_linalg_error("solve_triangular", A.shape, "A has a zero on its diagonal: it is singular"):
        return apply(SolveTriangular, A, B, upper=upper, left=left, unitriangular=unitriangular)


# ----- general square systems ---------------------------------------------------------
class Solve(Primitive):
    name = "solve"
    formula = r"X = A^{-1} B"
    derivatives = (r"\bar{A} = -\bar{B} X^{\top}", r"\bar{B} = A^{-\top} \bar{X}")
    checks = (Check("solve", call=lambda lib, a, b: lib.linalg.solve((a + 6 * lib.eye(3, dtype=a.dtype)), b),
                    shapes=(((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 2)))),)

    @staticmethod
    def forward(xp, a, b):
        a, b = _broadcast_batches(xp, a, b)
        return xp.linalg.solve(a, b)

    @staticmethod
    def grad_a(g, out, a, b):
        return -(solve(a.mT, g) @ out.mT)

    @staticmethod
    def grad_b(g, out, a, b):
        return solve(a.mT, g)

    vjps = (grad_a, grad_b)


def solve(A, B, *, left=True):
    """Solve the square system A X = B (or X A = B with ``left=False``) by LU factorization.

    B may be a matrix (..., n, k) or a vector (..., n); batch dims broadcast.

    Gradients (Giles 2008 §2.3.1): B̄ = A⁻ᵀ X̄ (one more solve, with Aᵀ) and
    Ā = −B̄ Xᵀ.

    Example:
        >>> import chainrule as cr
        >>> A = cr.tensor([[3.0, 1.0], [1.0, 2.0]])
        >>> cr.linalg.solve(A, cr.tensor([9.0, 8.0]))
        tensor([2., 3.])
    """
    A, B = as_float_tensor(A, "solve"), as_float_tensor(B, "solve")
    check_square(A, "solve")
    if not left:
        return solve(A.mT, B.mT).mT
    n = A.shape[-1]
    is_vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if is_vector:
        B = B.unsqueeze(-1)
    if B.shape[-2] != n:
        raise ValueError(
            f"solve: A has shape {A.shape} and B has shape {B.shape}; B needs {n} rows (B.shape[-2] == n) "
            "to match A, or be a vector of length n"
        )
    check_broadcast("solve (batch dims)", A.shape[:-2], B.shape[:-2])
    A, B = common_dtype(A, B)
    with explain_linalg_error("solve", A.shape, _SINGULAR_FIX):
        X = apply(Solve, A, B)
    return X.squeeze(-1) if is_vector else X


class Inv(Primitive):
    name = "inv"
    formula = r"Y = A^{-1}"
    derivatives = (r"\bar{A} = -Y^{\top} \bar{Y} Y^{\top}",)
    checks = (Check("inv", call=lambda lib, a: lib.linalg.inv((a + 6 * lib.eye(3, dtype=a.dtype))),
                    shapes=(((3, 3),), ((2, 3, 3),))),)

    @staticmethod
    def forward(xp, a):
        return xp.linalg.inv(a)

    @staticmethod
    def grad_a(g, out, a):
        # dY = −Y dA Y  ⇒  Ā = −Yᵀ Ȳ Yᵀ  (Giles 2008 §2.2.3)
        return -(out.mT @ g @ out.mT)

    vjps = (grad_a,)


def inv(A):
    """The inverse A⁻¹ of square matrices (batched).

    Gradient (Giles 2008 §2.2.3): dY = −Y dA Y, so Ā = −Yᵀ Ȳ Yᵀ with Y = A⁻¹.
    Prefer ``solve(A, B)`` to ``inv(A) @ B``: it is cheaper and more accurate.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.inv(cr.tensor([[2.0, 0.0], [0.0, 4.0]]))
        tensor([[0.5 , 0.  ],
                [0.  , 0.25]])
    """
    A = as_float_tensor(A, "inv")
    check_square(A, "inv")
    with explain_linalg_error("inv", A.shape, _SINGULAR_FIX):
        return apply(Inv, A)


class Det(Primitive):
    name = "det"
    formula = r"y = \det A"
    derivatives = (r"\bar{A} = \bar{y}\, y\, A^{-\top}",)
    checks = (Check("det", call=lambda lib, a: lib.linalg.det((a + 6 * lib.eye(3, dtype=a.dtype))),
                    shapes=(((3, 3),), ((2, 3, 3),))),)

    @staticmethod
    def forward(xp, a):
        return xp.linalg.det(a)

    @staticmethod
    def grad_a(g, out, a):
        # Jacobi's formula d det A = det A · tr(A⁻¹ dA)  (Giles 2008 §2.2.4)
        return (g * out).unsqueeze(-1).unsqueeze(-1) * inv(a).mT

    vjps = (grad_a,)


def det(A):
    """The determinant det A of square matrices (batched), through an LU factorization.

    Gradient (Jacobi's formula, Giles 2008 §2.2.4): Ā = ȳ · det A · A⁻ᵀ. It uses
    A⁻¹, so at an exactly singular A the backward pass raises (the forward is
    fine); use ``slogdet`` for large or badly scaled matrices.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.det(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor(-2.)
    """
    A = as_float_tensor(A, "det")
    check_square(A, "det")
    return apply(Det, A)


class Slogdet(Primitive):
    name = "slogdet"
    formula = r"(s, \ell) = (\operatorname{sign} \det A,\ \log |\det A|)"
    derivatives = (r"\bar{A} = \bar{\ell}\, A^{-\top}\ (\text{the sign is piecewise constant: } \bar{s} \text{ contributes } 0)",)
    checks = (Check("slogdet", call=lambda lib, a: lib.linalg.slogdet((a + 6 * lib.eye(3, dtype=a.dtype)))[1],
                    shapes=(((3, 3),), ((2, 3, 3),))),)

    @staticmethod
    def forward(xp, a):
        sign, logabsdet = xp.linalg.slogdet(a)
        return xp.stack([sign, logabsdet], axis=-1)

    @staticmethod
    def grad_a(g, out, a):
        # d log|det A| = tr(A⁻¹ dA). The sign is locally constant, its derivative is 0.
        return g[..., 1].unsqueeze(-1).unsqueeze(-1) * inv(a).mT

    vjps = (grad_a,)


def slogdet(A):
    """``(sign, logabsdet)`` with det A = sign · exp(logabsdet), without overflow.

    Gradient: ∂ log|det A| / ∂A = A⁻ᵀ (Giles 2008 §2.2.4); the sign is piecewise
    constant, so its derivative is zero wherever it is defined. Both come from one
    LU factorization (a packed primitive, see linalg/_common.py).

    Example:
        >>> import chainrule as cr
        >>> sign, logabsdet = cr.linalg.slogdet(cr.tensor([[-2.0, 0.0], [0.0, 3.0]]))
        >>> sign.item(), round(logabsdet.exp().item(), 4)
        (-1.0, 6.0)
    """
    A = as_float_tensor(A, "slogdet")
    check_square(A, "slogdet")
    packed = apply(Slogdet, A)
    return SlogdetResult(packed[..., 0].detach(), packed[..., 1])


# ----- least squares --------------------------------------------------------------------
class Pinv(Primitive):
    name = "pinv"
    formula = r"A^{+} = V \Sigma^{+} U^{\top},\ \sigma_i^{+} = 1/\sigma_i \text{ if } \sigma_i > \text{tol else } 0"
    derivatives = (
        r"\bar{A} = -P^{\top}\bar{P}P^{\top} + (I - AP)\bar{P}^{\top}PP^{\top} + P^{\top}P\bar{P}^{\top}(I - PA)",
    )

    @staticmethod
    def forward(xp, a, atol, rtol):
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        largest = s.max(axis=-1, keepdims=True) if s.shape[-1] else s
        cutoff = xp.maximum(atol, rtol * largest)
        s_inverse = xp.where(s > cutoff, 1.0 / xp.where(s > cutoff, s, 1.0), 0.0)
        return xp.swapaxes(vh, -1, -2) @ (s_inverse[..., :, None] * xp.swapaxes(u, -1, -2))

    @staticmethod
    def grad_a(g, out, a, atol, rtol):
        # Golub & Pereyra 1973, Thm 4.3: valid where the rank is locally constant.
        p = out
        left_projector = eye_like(a, a.shape[-2]) - a @ p      # I − AA⁺ (onto range(A)⊥)
        right_projector = eye_like(a, a.shape[-1]) - p @ a     # I − A⁺A (onto null(A))
        return (
            -(p.mT @ g @ p.mT)
            + left_projector @ g.mT @ p @ p.mT
            + p.mT @ p @ g.mT @ right_projector
        )

    vjps = (grad_a,)


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore–Penrose pseudo-inverse A⁺ = V Σ⁺ Uᵀ, through the SVD (batched).

    Singular values at or below ``max(atol, rtol · σ_max)`` count as zero; by
    default rtol = max(m, n)·eps, as in torch.linalg.pinv. ``hermitian`` is
    accepted for API compatibility (the SVD route is used either way).

    Gradient (Golub & Pereyra 1973): with P = A⁺,
        Ā = −Pᵀ P̄ Pᵀ + (I − AP) P̄ᵀ P Pᵀ + Pᵀ P P̄ᵀ (I − PA),
    valid where the rank of A does not change (it jumps where a singular value
    crosses the cutoff, and A⁺ is discontinuous there).

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.pinv(cr.tensor([[1.0], [1.0]]))
        tensor([[0.5, 0.5]])
    """
    A = as_float_tensor(A, "pinv")
    check_matrix(A, "pinv")
    xp = A.xp
    if rtol is None:
        rtol = default_rtol(A.shape, A.dtype, xp) if atol is None else 0.0
    atol = 0.0 if atol is None else atol
    return apply(Pinv, A, atol=float(atol), rtol=float(rtol))
