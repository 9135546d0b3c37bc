"""Matrix decompositions and their derivatives.

cholesky, eigh, eigvalsh, svd, svdvals, qr (differentiable), eig and eigvals
(forward only). Sources of the derivative rules:

* Cholesky: Murray 2016, "Differentiation of the Cholesky decomposition", eq. 10.
* eigh: Giles 2008 §3.1 and Seeger et al. 2017, "Auto-differentiating linear
  algebra", §3.
* SVD: Townsend 2016, "Differentiating the singular value decomposition", final
  formula (square and rectangular cases).
* QR: Walter & Lehmann 2018 / Liao et al. 2019, "Differentiable programming
  tensor networks", eq. 3 (and the wide-matrix split of their appendix).

Several outputs, one primitive: eigh, svd and qr each compute their
decomposition once and return the outputs packed along the last axis (see
linalg/_common.py); the vjp gets every output's cotangent at once, which is what
these rules need. The rules are written with chainrule ops on the packed output,
so they can be differentiated again.

The degenerate case. The eigenvector and singular-vector rules divide by
λⱼ − λᵢ (or σⱼ² − σᵢ²): at repeated eigenvalues or singular values the vectors
are not unique and the gradient is infinite or NaN. PyTorch has the same
limitation. The eigenvalue-only and singular-value-only functions (eigvalsh,
svdvals) have their own primitives whose rules do not divide and stay finite.
"""
from collections import namedtuple

from chainrule.core.primitive import Check, Primitive, apply
from chainrule.core.tensor import Tensor
from chainrule.linalg._common import (
    as_float_tensor, check_matrix, check_square, diag_embed, explain_linalg_error, eye_like, matrix_diagonal, pack,
    unpack,
)
from chainrule.linalg.solvers import solve_triangular
from chainrule.ops import cat, tril

EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
EigResult = namedtuple("EigResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
QRResult = namedtuple("QRResult", ["Q", "R"])


def _off_diagonal_reciprocal(differences):
    """F with Fᵢⱼ = 1/dᵢⱼ off the diagonal and 0 on it (the diagonal of d is 0)."""
    identity = eye_like(differences)
    return (1.0 - identity) / (differences + identity)


# ----- Cholesky ----------------------------------------------------------------------------
class Cholesky(Primitive):
    name = "cholesky"
    formula = r"A = L L^{\top},\ L \text{ lower triangular with positive diagonal}"
    derivatives = (
        r"\bar{A} = \tfrac12 (S + S^{\top}),\ S = L^{-\top} \Phi(L^{\top} \bar{L}) L^{-1},\ "
        r"\Phi(X) = \operatorname{tril}(X) - \tfrac12 \operatorname{diag}(X)",
    )
    checks = (Check("cholesky", call=lambda lib, a: lib.linalg.cholesky(a @ a.mT + 3 * lib.eye(3, dtype=a.dtype)),
                    shapes=(((3, 3),), ((2, 3, 3),))),)

    @staticmethod
    def forward(xp, a):
        return xp.linalg.cholesky(a)

    @staticmethod
    def grad_a(g, out, a):
        # Murray 2016, eq. 10: Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹), with two triangular solves instead of inverses.
        L = out
        lt_l_bar = L.mT @ g
        phi = tril(lt_l_bar) - 0.5 * diag_embed(matrix_diagonal(lt_l_bar))
        left_solved = solve_triangular(L.mT, phi, upper=True)                 # L⁻ᵀ Φ
        s = solve_triangular(L, left_solved, upper=False, left=False)          # (L⁻ᵀ Φ) L⁻¹
        return 0.5 * (s + s.mT)

    vjps = (grad_a,)


def cholesky(A, *, upper=False):
    """The Cholesky factor L (lower triangular, positive diagonal) with A = L Lᵀ.

    A must be symmetric positive definite; only its lower triangle is read.
    ``upper=True`` returns U = Lᵀ (A = Uᵀ U). Batched over leading dims.

    Gradient (Murray 2016, eq. 10): with Φ(X) = tril(X) − ½ diag(X),
        Ā = ½ (S + Sᵀ),  S = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹,
    a symmetric matrix (the derivative along symmetric perturbations of A, as in
    PyTorch). Two triangular solves, no inverse.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.cholesky(cr.tensor([[4.0, 2.0], [2.0, 5.0]]))
        tensor([[2., 0.],
                [1., 2.]])
    """
    A = as_float_tensor(A, "cholesky")
    check_square(A, "cholesky")
    fix = (
        "cholesky needs a symmetric positive definite matrix. If A should be one but rounding made it "
        "indefinite, add a small jitter to the diagonal (A + 1e-6 * I); for a semidefinite or indefinite "
        "matrix use eigh or an LDLᵀ factorization instead"
    )
    with explain_linalg_error("cholesky", A.shape, fix):
        L = apply(Cholesky, A)
    return L.mT if upper else L


# ----- symmetric eigendecomposition ------------------------------------------------------
class Eigh(Primitive):
    name = "eigh"
    formula = r"A = V \Lambda V^{\top},\ V^{\top} V = I"
    derivatives = (
        r"\bar{A} = V\big(\operatorname{diag}(\bar{\lambda}) + F \circ \operatorname{skew}(V^{\top}\bar{V})\big)V^{\top},\ "
        r"F_{ij} = 1/(\lambda_j - \lambda_i)",
    )

    @staticmethod
    def forward(xp, a, uplo):
        eigenvalues, eigenvectors = xp.linalg.eigh(a, UPLO=uplo)
        return pack(xp, eigenvalues, eigenvectors, batch_ndim=a.ndim - 2)

    @staticmethod
    def grad_a(g, out, a, uplo):
        # Giles 2008 §3.1; Seeger et al. 2017 §3. Projecting VᵀV̄ on the skew-symmetric
        # matrices (the tangent space of the orthogonal group) matches torch.linalg.eigh.
        n = a.shape[-1]
        eigenvalues, eigenvectors = unpack(out, [(n,), (n, n)])
        eigenvalues_bar, eigenvectors_bar = unpack(g, [(n,), (n, n)])
        gaps = eigenvalues.unsqueeze(-2) - eigenvalues.unsqueeze(-1)          # λⱼ − λᵢ
        projected = eigenvectors.mT @ eigenvectors_bar
        skew = 0.5 * (projected - projected.mT)
        inner = diag_embed(eigenvalues_bar) + _off_diagonal_reciprocal(gaps) * skew
        return eigenvectors @ inner @ eigenvectors.mT

    vjps = (grad_a,)


def _check_uplo(uplo, op_name):
    if uplo not in ("L", "U"):
        raise ValueError(f"{op_name}: UPLO must be 'L' (read the lower triangle) or 'U' (upper), got {uplo!r}")


def eigh(A, UPLO="L"):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices: A = V diag(λ) Vᵀ.

    Only the triangle named by ``UPLO`` is read. Batched. Returns
    ``(eigenvalues, eigenvectors)`` with eigenvectors in the columns.

    Gradient (Giles 2008 §3.1, Seeger et al. 2017):
        Ā = V (diag(λ̄) + F ∘ skew(Vᵀ V̄)) Vᵀ,   Fᵢⱼ = 1/(λⱼ − λᵢ) (i ≠ j), Fᵢᵢ = 0,
    a symmetric matrix: the derivative along symmetric perturbations of A, as in
    PyTorch (to differentiate with respect to an unconstrained X, use
    eigh(½(X + Xᵀ))). Each eigenvector is defined up to its sign, so only losses
    that do not depend on that sign have meaningful gradients.

    Degenerate case: when two eigenvalues coincide, F is infinite and the
    eigenvector gradient is inf/NaN (the eigenvectors are not unique there;
    PyTorch behaves the same). Use ``eigvalsh`` if you only need eigenvalues:
    its gradient stays finite.

    Example:
        >>> import chainrule as cr
        >>> values, vectors = cr.linalg.eigh(cr.tensor([[2.0, 1.0], [1.0, 2.0]]))
        >>> values
        tensor([1., 3.])
    """
    A = as_float_tensor(A, "eigh")
    check_square(A, "eigh")
    _check_uplo(UPLO, "eigh")
    n = A.shape[-1]
    with explain_linalg_error("eigh", A.shape, "the eigenvalue iteration did not converge; check A for inf/NaN"):
        packed = apply(Eigh, A, uplo=UPLO)
    eigenvalues, eigenvectors = unpack(packed, [(n,), (n, n)])
    return EighResult(eigenvalues, eigenvectors)


class Eigvalsh(Primitive):
    name = "eigvalsh"
    formula = r"\lambda = \operatorname{eig}(A),\ A = A^{\top}"
    derivatives = (r"\bar{A} = V \operatorname{diag}(\bar{\lambda}) V^{\top}",)
    checks = (Check("eigvalsh", call=lambda lib, a: lib.linalg.eigvalsh(a + a.mT),
                    shapes=(((3, 3),), ((2, 3, 3),))),)

    @staticmethod
    def forward(xp, a, uplo):
        return xp.linalg.eigvalsh(a, UPLO=uplo)

    @staticmethod
    def grad_a(g, out, a, uplo):
        # dλᵢ = vᵢᵀ dA vᵢ (first-order perturbation theory); no division, finite at ties.
        eigenvectors = eigh(a, UPLO=uplo).eigenvectors
        return eigenvectors @ diag_embed(g) @ eigenvectors.mT

    vjps = (grad_a,)


def eigvalsh(A, UPLO="L"):
    """Eigenvalues (ascending) of symmetric matrices.

    Gradient: dλᵢ = vᵢᵀ dA vᵢ, so Ā = V diag(λ̄) Vᵀ, finite even at repeated
    eigenvalues (then V is any orthonormal eigenbasis and the sum over a
    repeated eigenvalue's block does not depend on the choice when the λ̄ in the
    block are equal). Its second derivative goes through ``eigh`` and needs
    distinct eigenvalues.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.eigvalsh(cr.tensor([[2.0, 0.0], [0.0, -1.0]]))
        tensor([-1.,  2.])
    """
    A = as_float_tensor(A, "eigvalsh")
    check_square(A, "eigvalsh")
    _check_uplo(UPLO, "eigvalsh")
    return apply(Eigvalsh, A, uplo=UPLO)


# ----- general (non-symmetric) eigendecomposition: forward only ------------------------------
class Eig(Primitive):
    name = "eig"
    formula = r"A V = V \operatorname{diag}(\lambda),\ \lambda, V \in \mathbb{C}"
    derivatives = (r"\text{not supported: use eigh / eigvalsh for symmetric } A",)

    @staticmethod
    def forward(xp, a, values_only):
        complex_dtype = xp.result_type(a.dtype, xp.complex64)
        if values_only:
            return xp.linalg.eigvals(a).astype(complex_dtype)
        eigenvalues, eigenvectors = xp.linalg.eig(a)
        return pack(xp, eigenvalues.astype(complex_dtype), eigenvectors.astype(complex_dtype), batch_ndim=a.ndim - 2)

    @staticmethod
    def grad_a(g, out, a, values_only):
        raise RuntimeError(
            f"eig: no derivative for a general (non-symmetric) eigendecomposition of a matrix of shape "
            f"{a.shape}: its eigenvalues and eigenvectors are complex and chainrule's autograd is real. "
            "For a symmetric matrix use chainrule.linalg.eigh or eigvalsh, which are differentiable; "
            "otherwise compute eig on A.detach()"
        )

    vjps = (grad_a,)


def eig(A):
    """Eigenvalues and eigenvectors of a general square matrix, as complex tensors (forward only).

    A V = V diag(λ); the eigenvectors (columns of V) have unit norm. As in
    torch.linalg.eig the results are always complex.

    Differentiability: none. A backward pass through ``eig`` raises an error
    naming the op. For symmetric matrices, whose eigenpairs are real, use
    ``eigh`` / ``eigvalsh`` (differentiable, with the rules of Giles 2008).

    Example:
        >>> import chainrule as cr
        >>> values, vectors = cr.linalg.eig(cr.tensor([[0.0, -1.0], [1.0, 0.0]]))   # a rotation
        >>> sorted(values.array.imag.tolist())
        [-1.0, 1.0]
    """
    A = as_float_tensor(A, "eig")
    check_square(A, "eig")
    n = A.shape[-1]
    with explain_linalg_error("eig", A.shape, "the eigenvalue iteration did not converge; check A for inf/NaN"):
        packed = apply(Eig, A, values_only=False)
    eigenvalues, eigenvectors = unpack(packed, [(n,), (n, n)])
    return EigResult(eigenvalues, eigenvectors)


def eigvals(A):
    """Eigenvalues of a general square matrix, as a complex tensor (forward only; see ``eig``).

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.eigvals(cr.tensor([[2.0, 1.0], [0.0, 3.0]])).array.real.tolist()
        [2.0, 3.0]
    """
    A = as_float_tensor(A, "eigvals")
    check_square(A, "eigvals")
    with explain_linalg_error("eigvals", A.shape, "the eigenvalue iteration did not converge; check A for inf/NaN"):
        return apply(Eig, A, values_only=True)


# ----- singular value decomposition --------------------------------------------------------
def _svd_shapes(m, n, full_matrices):
    k = min(m, n)
    return [(m, m if full_matrices else k), (k,), (n if full_matrices else k, n)]


class SVD(Primitive):
    name = "svd"
    formula = r"A = U \operatorname{diag}(\sigma) V^{\top}"
    derivatives = (
        r"\bar{A} = U\big[(F \circ [U^{\top}\bar{U} - \bar{U}^{\top}U])\Sigma + \operatorname{diag}(\bar{\sigma}) "
        r"+ \Sigma (F \circ [V^{\top}\bar{V} - \bar{V}^{\top}V])\big]V^{\top} + (I - UU^{\top})\bar{U}\Sigma^{-1}V^{\top} "
        r"+ U\Sigma^{-1}\bar{V}^{\top}(I - VV^{\top}),\ F_{ij} = 1/(\sigma_j^2 - \sigma_i^2)",
    )

    @staticmethod
    def forward(xp, a, full_matrices):
        u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
        return pack(xp, u, s, vh, batch_ndim=a.ndim - 2)

    @staticmethod
    def grad_a(g, out, a, full_matrices):
        m, n = a.shape[-2:]
        k = min(m, n)
        shapes = _svd_shapes(m, n, full_matrices)
        u, s, vh = unpack(out, shapes)
        u_bar, s_bar, vh_bar = unpack(g, shapes)
        if full_matrices:
            _check_no_gradient_on_completion(u_bar, vh_bar, k, a.shape)
            u, vh, u_bar, vh_bar = u[..., :, :k], vh[..., :k, :], u_bar[..., :, :k], vh_bar[..., :k, :]
        v, v_bar = vh.mT, vh_bar.mT
        # Townsend 2016: the reduced-SVD rule, including the two terms of a rectangular A.
        squares = s * s
        f = _off_diagonal_reciprocal(squares.unsqueeze(-2) - squares.unsqueeze(-1))   # 1/(σⱼ² − σᵢ²)
        ut_u_bar = u.mT @ u_bar
        vt_v_bar = v.mT @ v_bar
        j = f * (ut_u_bar - ut_u_bar.mT)
        kk = f * (vt_v_bar - vt_v_bar.mT)
        inner = j * s.unsqueeze(-2) + diag_embed(s_bar) + s.unsqueeze(-1) * kk
        a_bar = u @ inner @ vh
        if m > k:
            a_bar = a_bar + (eye_like(a, m) - u @ u.mT) @ (u_bar / s.unsqueeze(-2)) @ vh
        if n > k:
            a_bar = a_bar + (u / s.unsqueeze(-2)) @ v_bar.mT @ (eye_like(a, n) - v @ vh)
        return a_bar

    vjps = (grad_a,)


def _check_no_gradient_on_completion(u_bar, vh_bar, k, shape):
    """full_matrices=True: the extra columns of U (rows of Vᴴ) are any orthonormal completion."""
    xp = u_bar.xp
    if bool(xp.any(u_bar.array[..., :, k:] != 0)) or bool(xp.any(vh_bar.array[..., k:, :] != 0)):
        raise RuntimeError(
            f"svd: the loss depends on U[..., :, {k}:] or Vh[..., {k}:, :] of full_matrices=True for an input of "
            f"shape {tuple(shape)}; those columns span the orthogonal complement in an arbitrary basis, so they "
            "have no derivative. Use full_matrices=False (or only U[..., :, :k], Vh[..., :k, :])"
        )


def svd(A, full_matrices=True):
    """The singular value decomposition A = U diag(S) Vh, S descending and ≥ 0 (batched).

    ``full_matrices=True`` (the default, as in torch.linalg.svd) makes U m×m and
    Vh n×n; ``False`` gives the reduced m×k and k×n factors, k = min(m, n).

    Gradient (Townsend 2016): with Fᵢⱼ = 1/(σⱼ² − σᵢ²),
        Ā = U[(F∘[UᵀŪ − ŪᵀU])Σ + diag(σ̄) + Σ(F∘[VᵀV̄ − V̄ᵀV])]Vᵀ
            + (I − UUᵀ)ŪΣ⁻¹Vᵀ + UΣ⁻¹V̄ᵀ(I − VVᵀ).
    Each pair (uᵢ, vᵢ) is defined up to a joint sign, so only losses that do not
    depend on that sign (for example U·Vh, or S alone) have meaningful gradients.

    Degenerate case: at repeated singular values F is infinite and the gradient
    of U and V is inf/NaN; at a zero singular value of a rectangular matrix the
    Σ⁻¹ terms blow up (PyTorch has the same limitation). ``svdvals`` has a
    finite gradient there. With full_matrices=True the extra columns of U and
    rows of Vh have no derivative: a loss that uses them raises.

    Example:
        >>> import chainrule as cr
        >>> U, S, Vh = cr.linalg.svd(cr.tensor([[3.0, 0.0], [0.0, -2.0]]))
        >>> S
        tensor([3., 2.])
    """
    A = as_float_tensor(A, "svd")
    check_matrix(A, "svd")
    m, n = A.shape[-2:]
    with explain_linalg_error("svd", A.shape, "the SVD iteration did not converge; check A for inf/NaN"):
        packed = apply(SVD, A, full_matrices=bool(full_matrices))
    return SVDResult(*unpack(packed, _svd_shapes(m, n, full_matrices)))


class Svdvals(Primitive):
    name = "svdvals"
    formula = r"\sigma = \operatorname{svdvals}(A)"
    derivatives = (r"\bar{A} = U \operatorname{diag}(\bar{\sigma}) V^{\top}",)
    checks = (Check("svdvals", call=lambda lib, a: lib.linalg.svdvals(a), shapes=(((3, 4),), ((2, 4, 3),))),)

    @staticmethod
    def forward(xp, a):
        return xp.linalg.svd(a, compute_uv=False)

    @staticmethod
    def grad_a(g, out, a):
        # dσᵢ = uᵢᵀ dA vᵢ: no division, finite at repeated singular values.
        u, _, vh = svd(a, full_matrices=False)
        return u @ diag_embed(g) @ vh

    vjps = (grad_a,)


def svdvals(A):
    """The singular values of A, descending (batched).

    Gradient: dσᵢ = uᵢᵀ dA vᵢ, so Ā = U diag(σ̄) Vᵀ. The singular values are not
    differentiable where one of them is zero or two coincide (they are like |x|
    there); this rule then returns one valid subgradient instead of NaN.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.svdvals(cr.tensor([[0.0, 2.0], [1.0, 0.0]]))
        tensor([2., 1.])
    """
    A = as_float_tensor(A, "svdvals")
    check_matrix(A, "svdvals")
    with explain_linalg_error("svdvals", A.shape, "the SVD iteration did not converge; check A for inf/NaN"):
        return apply(Svdvals, A)


# ----- QR --------------------------------------------------------------------------------
def _copy_lower_to_upper(x):
    """copyltu(X): the symmetric matrix whose lower triangle is X's."""
    lower = tril(x, -1)
    return lower + lower.mT + diag_embed(matrix_diagonal(x))


def _qr_backward_tall(q, r, q_bar, r_bar):
    """Ā for A = QR with m ≥ n (Liao et al. 2019, eq. 3): Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ, M = R R̄ᵀ − Q̄ᵀ Q."""
    m_matrix = r @ r_bar.mT - q_bar.mT @ q
    b = q_bar + q @ _copy_lower_to_upper(m_matrix)
    return solve_triangular(r.mT, b, upper=False, left=False)               # B R⁻ᵀ


class QR(Primitive):
    name = "qr"
    formula = r"A = Q R,\ Q^{\top}Q = I,\ R \text{ upper triangular}"
    derivatives = (
        r"\bar{A} = (\bar{Q} + Q \operatorname{copyltu}(M)) R^{-\top},\ M = R\bar{R}^{\top} - \bar{Q}^{\top}Q\ (m \ge n)",
    )

    @staticmethod
    def forward(xp, a, complete):
        q, r = xp.linalg.qr(a, mode="complete" if complete else "reduced")
        return pack(xp, q, r, batch_ndim=a.ndim - 2)

    @staticmethod
    def grad_a(g, out, a, complete):
        m, n = a.shape[-2:]
        k = min(m, n)
        shapes = _qr_shapes(m, n, complete)
        q, r = unpack(out, shapes)
        q_bar, r_bar = unpack(g, shapes)
        if complete and m > n:
            if bool(q_bar.xp.any(q_bar.array[..., :, n:] != 0)):
                raise RuntimeError(
                    f"qr: the loss depends on Q[..., :, {n}:] of mode='complete' for an input of shape {a.shape}; "
                    "those columns are an arbitrary basis of the orthogonal complement and have no derivative. "
                    "Use mode='reduced'"
                )
            # R's extra rows are identically zero: their cotangent has nothing to flow into.
            q, r, q_bar, r_bar = q[..., :, :n], r[..., :n, :], q_bar[..., :, :n], r_bar[..., :n, :]
        if m >= n:
            return _qr_backward_tall(q, r, q_bar, r_bar)
        # Wide A = [X | Y], R = [U | V]: X = QU is a square QR and Y = QV (Liao et al. 2019, app.).
        y_part, u, v_bar = a[..., :, k:], r[..., :, :k], r_bar[..., :, k:]
        x_bar = _qr_backward_tall(q, u, q_bar + y_part @ v_bar.mT, r_bar[..., :, :k])
        y_bar = q @ v_bar
        return cat([x_bar, y_bar], dim=-1)

    vjps = (grad_a,)


def _qr_shapes(m, n, complete):
    k = min(m, n)
    return [(m, m), (m, n)] if complete else [(m, k), (k, n)]


def qr(A, mode="reduced"):
    """The QR decomposition A = Q R, Q with orthonormal columns and R upper triangular (batched).

    ``mode``: 'reduced' (Q m×k, R k×n, k = min(m, n)), 'complete' (Q m×m, R m×n),
    or 'r' (R only; Q is returned empty, as in torch.linalg.qr). The signs follow
    LAPACK (R's diagonal may be negative), as in NumPy and PyTorch.

    Gradient (Liao et al. 2019, eq. 3; Walter & Lehmann 2018), for m ≥ n:
        Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ,  M = R R̄ᵀ − Q̄ᵀQ,
    where copyltu mirrors the lower triangle onto the upper one. For m < n,
    A = [X | Y] with X square: X̄ is the same rule with Q̄ + Y V̄ᵀ, and Ȳ = Q V̄.
    Needs A of full rank (R invertible). In 'complete' mode with m > n the extra
    columns of Q have no derivative, and a loss that uses them raises.

    Example:
        >>> import chainrule as cr
        >>> Q, R = cr.linalg.qr(cr.tensor([[3.0, 1.0], [4.0, 2.0]]))
        >>> (Q @ R)
        tensor([[3., 1.],
                [4., 2.]])
    """
    A = as_float_tensor(A, "qr")
    check_matrix(A, "qr")
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    m, n = A.shape[-2:]
    complete = mode == "complete"
    packed = apply(QR, A, complete=complete)
    q, r = unpack(packed, _qr_shapes(m, n, complete))
    if mode == "r":
        return QRResult(Tensor._wrap(A.xp.empty((0,), dtype=A.dtype)), r)
    return QRResult(q, r)
