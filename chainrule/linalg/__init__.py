"""Linear algebra with derivatives (torch.linalg names), plus iterative and subspace tools.

    solve, solve_triangular, inv, det, slogdet, pinv                   solvers.py
    lstsq                                                              least_squares.py
    cholesky, eigh, eigvalsh, eig, eigvals, svd, svdvals, qr           decompositions.py
    matrix_exp, matrix_power                                           matrix_functions.py
    vector_norm, matrix_norm, norm, matrix_rank, cond                  norms.py
    power_iteration, lanczos                                           iterative.py
    gram_schmidt, project, projection_matrix                           subspaces.py
    PCA                                                                pca.py

Every function is batched over leading dims; the derivative rules are written
beside each forward with their published sources (see README.md).
"""
from chainrule.core.primitive import registered_primitives
from chainrule.linalg.decompositions import (
    QR, SVD, Cholesky, Eig, Eigh, Eigvalsh, Svdvals, cholesky, eig, eigh, eigvals, eigvalsh, qr, svd, svdvals,
)
from chainrule.linalg.iterative import lanczos, power_iteration
from chainrule.linalg.least_squares import lstsq
from chainrule.linalg.matrix_functions import MatrixExp, matrix_exp, matrix_power
from chainrule.linalg.norms import cond, matrix_norm, matrix_rank, norm, vector_norm
from chainrule.linalg.pca import PCA
from chainrule.linalg.solvers import (
    Det, Inv, Pinv, Slogdet, Solve, SolveTriangular, det, inv, pinv, slogdet, solve, solve_triangular,
)
from chainrule.linalg.subspaces import gram_schmidt, project, projection_matrix

# The primitives of this package, with their formulas (for the explainer and the docs, like ops.PRIMITIVES),
# read from the registry each card joins when its class is defined.
PRIMITIVES = registered_primitives("chainrule.linalg.")

__all__ = [
    "solve", "solve_triangular", "inv", "det", "slogdet", "pinv", "lstsq",
    "cholesky", "eigh", "eigvalsh", "eig", "eigvals", "svd", "svdvals", "qr",
    "matrix_exp", "matrix_power", "vector_norm", "matrix_norm", "norm", "matrix_rank", "cond",
    "power_iteration", "lanczos", "gram_schmidt", "project", "projection_matrix", "PCA",
]
