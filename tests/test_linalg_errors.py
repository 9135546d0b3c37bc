"""Bad input to chainrule.linalg gives errors that name the op, the shapes and a fix."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.linalg as la


def t(array, requires_grad=False):
    return cr.tensor(array, dtype=cr.float64, requires_grad=requires_grad)


def test_inv_of_non_square_matrix_names_op_shape_and_alternative():
    with pytest.raises(ValueError, match=r"inv: expected square matrices .*\(2, 3\).*pinv"):
        la.inv(t(np.ones((2, 3))))


def test_cholesky_of_indefinite_matrix_suggests_jitter():
    with pytest.raises(ValueError) as error:
        la.cholesky(t([[1.0, 2.0], [2.0, 1.0]]))
    message = str(error.value)
    assert "cholesky" in message and "(2, 2)" in message and "positive definite" in message and "jitter" in message


def test_solve_with_singular_matrix_explains_and_suggests_lstsq():
    with pytest.raises(ValueError) as error:
        la.solve(t([[1.0, 2.0], [2.0, 4.0]]), t([1.0, 2.0]))
    message = str(error.value)
    assert message.startswith("solve:") and "(2, 2)" in message and "singular" in message.lower() and "lstsq" in message


def test_inv_of_singular_matrix_is_a_clear_error():
    with pytest.raises(ValueError, match=r"inv: .*Singular.*\(3, 3\)"):
        la.inv(t(np.zeros((3, 3))))


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: la.solve(t(np.eye(3)), t(np.ones((2, 1)))), r"solve: A has shape \(3, 3\) and B has shape \(2, 1\)"),
        (lambda: la.solve_triangular(t(np.eye(3)), t(np.ones((2, 1))), upper=False), r"solve_triangular: A has shape \(3, 3\)"),
        (lambda: la.solve_triangular(t(np.eye(3)), t(np.ones(3)), upper=False), r"solve_triangular: expected a matrix .*\(3,\)"),
        (lambda: la.lstsq(t(np.ones((4, 2))), t(np.ones((3, 1)))), r"lstsq: A has shape \(4, 2\) and B has shape \(3, 1\)"),
        (lambda: la.det(t(np.ones(3))), r"det: expected a matrix or a batch of matrices .*\(3,\)"),
        (lambda: la.eigh(t(np.ones((2, 3)))), r"eigh: expected square matrices .*\(2, 3\)"),
        (lambda: la.eigh(t(np.eye(2)), UPLO="X"), r"eigh: UPLO must be 'L'"),
        (lambda: la.qr(t(np.eye(2)), mode="full"), r"qr: mode must be"),
        (lambda: la.matrix_norm(t(np.eye(2)), ord=3), r"matrix_norm: ord must be one of"),
        (lambda: la.vector_norm(t(np.ones(2)), ord="fro"), r"vector_norm: ord must be a number"),
        (lambda: la.cond(t(np.ones((2, 3))), 1), r"cond \(p=1\): expected square matrices .*\(2, 3\)"),
        (lambda: la.matrix_power(t(np.eye(2)), 1.5), r"matrix_power: the exponent must be an integer"),
        (lambda: la.matrix_exp(t(np.ones((2, 3)))), r"matrix_exp: expected square matrices"),
        (lambda: la.solve(cr.Tensor(np.eye(2) * (1 + 1j)), t(np.ones(2))), r"solve: expected a real floating-point tensor"),
        (lambda: la.gram_schmidt(t([[1.0, 2.0], [1.0, 2.0]])), r"gram_schmidt: column 1 .*\(2, 2\)"),
        (lambda: la.project(t(np.ones(3)), t(np.ones((4, 1)))), r"project: vectors of length 3"),
        (lambda: la.projection_matrix(t([[1.0, 2.0], [2.0, 4.0]])), r"projection_matrix: .*linearly dependent"),
        (lambda: la.lanczos(lambda v: v, 4, 5), r"lanczos: k must be between 1 and n = 4"),
        (lambda: la.power_iteration(lambda v: v), r"power_iteration: with a matvec function, pass the dimension n"),
        (lambda: la.PCA(n_components=5).fit(t(np.ones((3, 2)))), r"PCA: n_components must be between 1 and .* = 2"),
        (lambda: la.PCA().transform(t(np.ones((3, 2)))), r"PCA.transform: this PCA is not fitted"),
    ],
)
def test_bad_input_errors_name_the_op(call, pattern):
    with pytest.raises((ValueError, TypeError, RuntimeError), match=pattern):
        call()


def test_eig_backward_raises_naming_the_op_and_pointing_to_eigh():
    a = t([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    values = la.eigvals(a)
    with pytest.raises(RuntimeError, match=r"eig: no derivative .* \(2, 2\).*eigh"):
        cr.autograd.grad(values, a, cr.Tensor(np.ones(2, dtype=np.complex128)))


def test_svd_full_matrices_gradient_of_the_arbitrary_completion_raises():
    a = t(np.random.default_rng(0).normal(size=(4, 2)), requires_grad=True)
    u, s, vh = la.svd(a, full_matrices=True)
    with pytest.raises(RuntimeError, match=r"svd: the loss depends on U\[\.\.\., :, 2:\].*full_matrices=False"):
        cr.autograd.grad(u[:, 3].sum(), a)
    (grad,) = cr.autograd.grad(s.sum(), a)                 # the defined part still works
    assert np.isfinite(grad.array).all()


def test_qr_complete_gradient_of_the_arbitrary_completion_raises():
    a = t(np.random.default_rng(0).normal(size=(4, 2)), requires_grad=True)
    q, r = la.qr(a, mode="complete")
    with pytest.raises(RuntimeError, match=r"qr: the loss depends on Q\[\.\.\., :, 2:\]"):
        cr.autograd.grad(q[:, 3].sum(), a)


def test_solve_batch_dims_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"solve \(batch dims\)"):
        la.solve(t(np.ones((2, 3, 3)) + np.eye(3)), t(np.ones((4, 3, 1))))
