"""Eigenvalues from matrix–vector products alone: power iteration and Lanczos.

Both need only a function v ↦ A v, so they work for matrices never formed, such
as a network's Hessian (``chainrule.func.hvp``). They run without recording a
graph (they are estimators, not differentiable ops): the array math is done on
the raw arrays with the array module ``xp`` of the vectors. The matvec itself
runs in the caller's grad mode, because a Hessian-vector product needs autograd.
"""
from collections import namedtuple

from chainrule.core import dtypes
from chainrule.core.creation import randn
from chainrule.core.random import default_generator
from chainrule.core.tensor import Tensor

PowerIterationResult = namedtuple("PowerIterationResult", ["eigenvalue", "eigenvector", "iterations", "converged"])
LanczosResult = namedtuple("LanczosResult", ["eigenvalues", "eigenvectors"])


def _as_matvec(operator, n, op_name):
    """A function array ↦ array from a square matrix tensor or a Tensor ↦ Tensor function."""
    if isinstance(operator, Tensor):
        if operator.ndim != 2 or operator.shape[0] != operator.shape[1]:
            raise ValueError(f"{op_name}: expected a square matrix (n, n) or a matvec function, got shape {operator.shape}")
        matrix = operator.detach()
        return (lambda v: (matrix @ v).array), operator.shape[0], operator.dtype
    if not callable(operator):
        raise TypeError(f"{op_name}: expected a square matrix tensor or a function v -> A v, got {type(operator).__name__}")
    if n is None:
        raise ValueError(f"{op_name}: with a matvec function, pass the dimension n (the length of the vectors)")

    def matvec(v):
        result = operator(Tensor._wrap(v))
        result = result.detach().array if isinstance(result, Tensor) else result
        if tuple(result.shape) != (n,):
            raise ValueError(f"{op_name}: matvec returned shape {tuple(result.shape)} for a vector of length {n}; it must return shape ({n},)")
        return result

    return matvec, n, None


def _start_vector(n, dtype, generator):
    generator = generator or default_generator()
    v = randn(n, generator=generator, dtype=dtype).array
    return v / (v @ v) ** 0.5


def power_iteration(operator, n=None, *, num_iterations=1000, tol=1e-10, generator=None, dtype=None):
    """The dominant eigenpair (largest |λ|) of a symmetric operator by power iteration.

    v_{k+1} = A v_k / ‖A v_k‖, λ_k = v_kᵀ A v_k (the Rayleigh quotient). The
    error in v shrinks like |λ₂/λ₁|^k, so convergence is slow when the top two
    eigenvalues are close in magnitude (use ``lanczos`` then). Stops when the
    residual ‖A v − λ v‖ ≤ tol·|λ|.

    ``operator``: an (n, n) tensor, or a function v ↦ A v on length-n tensors
    (then pass ``n``). Returns ``(eigenvalue, eigenvector, iterations, converged)``.

    Example:
        >>> import chainrule as cr
        >>> A = cr.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=cr.float64)
        >>> result = cr.linalg.power_iteration(A, generator=cr.Generator().manual_seed(0))
        >>> round(result.eigenvalue.item(), 6)
        3.0
    """
    matvec, n, matrix_dtype = _as_matvec(operator, n, "power_iteration")
    dtype = dtypes.to_dtype(dtype) or matrix_dtype or dtypes.float64
    v = _start_vector(n, dtype, generator)
    xp = Tensor._wrap(v).xp
    eigenvalue, converged, iteration = 0.0, False, 0
    for iteration in range(1, num_iterations + 1):
        av = matvec(v)
        eigenvalue = v @ av
        residual = xp.sqrt(((av - eigenvalue * v) ** 2).sum())
        if residual <= tol * abs(eigenvalue):
            converged = True
            break
        length = xp.sqrt((av * av).sum())
        if length == 0:  # A v = 0: v is an eigenvector with eigenvalue 0
            converged = True
            break
        v = av / length
    return PowerIterationResult(Tensor._wrap(xp.asarray(eigenvalue, dtype=dtype)), Tensor._wrap(v), iteration, converged)


def lanczos(matvec, n, k, *, num_iterations=None, which="LA", tol=1e-12, generator=None, dtype=None):
    """The top-k eigenpairs of a symmetric operator from matrix–vector products (Lanczos).

    Builds an orthonormal basis Q_m of the Krylov space span{q, Aq, …, A^{m−1}q}
    in which A is tridiagonal, T_m = Q_mᵀ A Q_m (the three-term recurrence
    β_{j} q_{j+1} = A q_j − α_j q_j − β_{j−1} q_{j−1}). The eigenpairs (θ, s) of
    T_m give Ritz pairs (θ, Q_m s), whose extreme values converge fast to A's.
    In floating point the q's lose orthogonality as Ritz values converge (Paige
    1971), producing spurious copies of eigenvalues; full reorthogonalization
    (projecting each new q against all previous ones, twice) prevents that at
    O(n m²) cost.

    ``matvec``: a function v ↦ A v on length-n tensors, or an (n, n) tensor.
    ``which``: 'LA' largest algebraic (default), 'SA' smallest algebraic, 'LM'
    largest magnitude. ``num_iterations`` (m) defaults to min(n, max(2k + 20, 30)).
    Returns ``(eigenvalues, eigenvectors)``: eigenvalues ordered by ``which``
    (largest first for 'LA'), eigenvectors in the columns of an (n, k) tensor.

    Example:
        >>> import chainrule as cr
        >>> A = cr.tensor([[4.0, 1.0, 0.0], [1.0, 3.0, 0.0], [0.0, 0.0, 1.0]], dtype=cr.float64)
        >>> values, vectors = cr.linalg.lanczos(lambda v: A @ v, 3, 1, generator=cr.Generator().manual_seed(0))
        >>> round(values[0].item(), 6)   # (7 + √5)/2
        4.618034
    """
    if which not in ("LA", "SA", "LM"):
        raise ValueError(f"lanczos: which must be 'LA', 'SA' or 'LM', got {which!r}")
    if isinstance(matvec, Tensor):
        n = matvec.shape[0] if n is None else n
    operator, n, matrix_dtype = _as_matvec(matvec, n, "lanczos")
    if not 1 <= k <= n:
        raise ValueError(f"lanczos: k must be between 1 and n = {n}, got k = {k}")
    steps = min(n, max(2 * k + 20, 30)) if num_iterations is None else min(n, num_iterations)
    if steps < k:
        raise ValueError(f"lanczos: num_iterations = {num_iterations} is less than k = {k}; take at least k steps")
    dtype = dtypes.to_dtype(dtype) or matrix_dtype or dtypes.float64
    q = _start_vector(n, dtype, generator)
    xp = Tensor._wrap(q).xp
    basis = xp.zeros((steps, n), dtype=dtype)
    alphas, betas = [], []
    for j in range(steps):
        basis[j] = q
        w = operator(q)
        alpha = q @ w
        alphas.append(alpha)
        # Full reorthogonalization: w ← w − Q(Qᵀw), done twice ("twice is enough", Parlett).
        for _ in range(2):
            w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
        beta = xp.sqrt((w * w).sum())
        if j == steps - 1 or beta <= tol * max(abs(alpha), 1.0):
            break  # an invariant subspace: the Ritz pairs are exact
        betas.append(beta)
        q = w / beta
    m = len(alphas)
    tridiagonal = xp.diag(xp.asarray(alphas, dtype=dtype))
    if m > 1:
        off = xp.asarray(betas[: m - 1], dtype=dtype)
        tridiagonal += xp.diag(off, 1) + xp.diag(off, -1)
    ritz_values, ritz_vectors = xp.linalg.eigh(tridiagonal)
    if which == "LA":
        order = xp.argsort(-ritz_values)
    elif which == "SA":
        order = xp.argsort(ritz_values)
    else:
        order = xp.argsort(-xp.abs(ritz_values))
    if m < k:
        raise RuntimeError(
            f"lanczos: the Krylov space closed after {m} steps (an invariant subspace of dimension {m}), "
            f"fewer than k = {k}; the start vector misses part of the spectrum. Try another generator seed"
        )
    chosen = order[:k]
    eigenvectors = basis[:m].T @ ritz_vectors[:, chosen]
    return LanczosResult(Tensor._wrap(ritz_values[chosen]), Tensor._wrap(eigenvectors))
