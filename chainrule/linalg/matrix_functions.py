"""Functions of a matrix: integer powers and the exponential.

``matrix_power`` is a composition (repeated squaring, and ``inv`` for negative
powers). ``matrix_exp`` is a primitive: scaling and squaring with a [13/13]
Padé approximant (Higham 2005, "The scaling and squaring method for the matrix
exponential revisited"), whose vjp is the adjoint Fréchet derivative computed by
the block-triangular identity (Najfeld & Havel 1995; Al-Mohy & Higham 2009):

    exp([[Aᵀ, Ḡ], [0, Aᵀ]]) = [[exp(Aᵀ), L(Aᵀ, Ḡ)], [0, exp(Aᵀ)]],   Ā = L(Aᵀ, Ḡ).
"""
from chainrule.core.primitive import Check, Primitive, apply
from chainrule.linalg._common import as_float_tensor, check_square, eye_like
from chainrule.linalg.solvers import inv
from chainrule.core.tensor import Tensor
from chainrule.ops import cat

# Padé [13/13] coefficients b₀..b₁₃ and the 1-norm bound θ₁₃ below which no scaling is
# needed for double precision (Higham 2005, Table 2.3 and eq. 2.4).
_PADE13 = (
    64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
    129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
    40840800.0, 960960.0, 16380.0, 182.0, 1.0,
)
_THETA13 = 5.371920351148152


def _pade13_exp(xp, a):
    """exp(A) ≈ (V − U)⁻¹ (V + U) for ‖A‖₁ ≤ θ₁₃, U odd and V even in A."""
    b = _PADE13
    identity = xp.eye(a.shape[-1], dtype=a.dtype)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * identity)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * identity
    return xp.linalg.solve(v - u, v + u)


class MatrixExp(Primitive):
    name = "matrix_exp"
    formula = r"e^{A} = \sum_{k \ge 0} A^k / k!"
    derivatives = (r"\bar{A} = L(A^{\top}, \bar{G}) = \big[\exp\begin{pmatrix} A^{\top} & \bar{G} \\ 0 & A^{\top} \end{pmatrix}\big]_{12}",)
    checks = (Check("matrix_exp", call=lambda lib, a: lib.linalg.matrix_exp(a), shapes=(((3, 3),), ((2, 3, 3),))),)

    @staticmethod
    def forward(xp, a):
        # Scale each matrix by 2^-s so that ‖A/2^s‖₁ ≤ θ₁₃, then square s times: e^A = (e^{A/2^s})^(2^s).
        one_norm = xp.abs(a).sum(axis=-2).max(axis=-1)
        with_room = xp.maximum(one_norm, 1e-300) / _THETA13
        squarings = xp.maximum(0, xp.ceil(xp.log2(with_room))).astype(xp.int64)
        scaled = a / (2.0 ** squarings).astype(a.dtype)[..., None, None]
        result = _pade13_exp(xp, scaled)
        for step in range(int(squarings.max()) if squarings.size else 0):
            still_squaring = (squarings > step)[..., None, None]
            result = xp.where(still_squaring, result @ result, result)
        return result

    @staticmethod
    def grad_a(g, out, a):
        # The adjoint of the Fréchet derivative L(A, ·) is L(Aᵀ, ·), read off one exponential
        # of a block upper-triangular matrix twice the size (Al-Mohy & Higham 2009, eq. 1.2).
        n = a.shape[-1]
        at = a.mT
        top = cat([at, g], dim=-1)
        zeros = Tensor._wrap(a.xp.zeros(at.shape, dtype=at.dtype))
        bottom = cat([zeros.expand(tuple(at.shape)), at], dim=-1)
        block = matrix_exp(cat([top, bottom], dim=-2))
        return block[..., :n, n:]

    vjps = (grad_a,)


def matrix_exp(A):
    """The matrix exponential e^A = Σ_k A^k/k! (batched).

    Computed by scaling and squaring with a [13/13] Padé approximant (Higham
    2005), accurate to about double-precision rounding. e^A solves the linear ODE
    dX/dt = AX at t = 1, and e^{A+B} = e^A e^B when AB = BA.

    Gradient: Ā = L(Aᵀ, Ḡ), the Fréchet derivative of exp at Aᵀ in the direction
    Ḡ, read from the upper-right block of exp([[Aᵀ, Ḡ], [0, Aᵀ]]) (Najfeld &
    Havel 1995). It is again a matrix exponential, so higher derivatives work.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.matrix_exp(cr.tensor([[0.0, 1.0], [0.0, 0.0]]))   # I + N for nilpotent N
        tensor([[1., 1.],
                [0., 1.]])
    """
    A = as_float_tensor(A, "matrix_exp")
    check_square(A, "matrix_exp")
    return apply(MatrixExp, A)


def matrix_power(A, n):
    """A^n for an integer n: repeated squaring for n ≥ 0 (A⁰ = I), (A⁻¹)^|n| for n < 0.

    Uses about 2·log₂|n| matrix products; the gradient comes from the chain rule
    through the products (and through ``inv`` for negative n).

    Example:
        >>> import chainrule as cr
        >>> A = cr.tensor([[1.0, 1.0], [0.0, 1.0]])
        >>> cr.linalg.matrix_power(A, 3), cr.linalg.matrix_power(A, -1)
        (tensor([[1., 3.],
                [0., 1.]]), tensor([[ 1., -1.],
                [ 0.,  1.]]))
    """
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise TypeError(f"matrix_power: the exponent must be an integer, got {n!r}; for real powers use eigh or matrix_exp")
    n = int(n)
    A = as_float_tensor(A, "matrix_power")
    check_square(A, "matrix_power")
    if n == 0:
        return eye_like(A).expand(tuple(A.shape))
    base = inv(A) if n < 0 else A
    exponent = abs(n)
    result = None
    while exponent:
        if exponent & 1:
            result = base if result is None else result @ base
        exponent >>= 1
        if exponent:
            base = base @ base
    return result

