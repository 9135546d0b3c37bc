"""Power iteration, Lanczos, Gram–Schmidt, projections and PCA against NumPy/SciPy."""
import numpy as np
import pytest
import scipy.sparse.linalg
from hypothesis import given, settings, strategies as st

import chainrule as cr
import chainrule.linalg as la
from chainrule.func import gradcheck, gradgradcheck, hvp

FAST = settings(max_examples=12, deadline=None)
seeds = st.integers(0, 2**32 - 1)


def t(array, requires_grad=False):
    return cr.tensor(array, dtype=cr.float64, requires_grad=requires_grad)


def symmetric_with_gap(seed, n):
    """A symmetric matrix whose eigenvalues are well separated (so iterative methods converge fast)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    values = np.linspace(-1.0, 1.0, n) * n + np.array([0.0] * (n - 1) + [n])    # top eigenvalue stands out
    return (q * values) @ q.T, np.sort(values)


# ----- power iteration and Lanczos -------------------------------------------------------------
@FAST
@given(seeds, st.integers(2, 12))
def test_power_iteration_finds_the_dominant_eigenpair(seed, n):
    a, values = symmetric_with_gap(seed, n)
    result = la.power_iteration(t(a), generator=cr.Generator().manual_seed(seed % 1000), num_iterations=5000, tol=1e-11)
    assert result.converged
    assert result.eigenvalue.item() == pytest.approx(values[-1], rel=1e-9)
    v = result.eigenvector.array
    np.testing.assert_allclose(a @ v, values[-1] * v, atol=1e-8 * abs(values[-1]))


def test_power_iteration_accepts_a_matvec_function():
    a, values = symmetric_with_gap(0, 6)
    matrix = t(a)
    result = la.power_iteration(lambda v: matrix @ v, 6, generator=cr.Generator().manual_seed(0))
    assert result.eigenvalue.item() == pytest.approx(values[-1], rel=1e-9)


@FAST
@given(seeds, st.integers(5, 40), st.integers(1, 4), st.sampled_from(["LA", "SA", "LM"]))
def test_lanczos_matches_scipy_eigsh_and_numpy_eigh(seed, n, k, which):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(n, n))
    a = m + m.T
    matrix = t(a)
    values, vectors = la.lanczos(lambda v: matrix @ v, n, k, which=which, num_iterations=n,
                                 generator=cr.Generator().manual_seed(1))
    all_values = np.linalg.eigvalsh(a)
    expected = {"LA": all_values[::-1], "SA": all_values, "LM": all_values[np.argsort(-np.abs(all_values))]}[which][:k]
    np.testing.assert_allclose(values.array, expected, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(a @ vectors.array, vectors.array * values.array, atol=1e-6 * np.abs(all_values).max())
    if n > k + 1:   # scipy's ARPACK needs k < n
        reference = scipy.sparse.linalg.eigsh(a, k=k, which=which, v0=np.ones(n))[0]
        np.testing.assert_allclose(np.sort(values.array), np.sort(reference), rtol=1e-7, atol=1e-7)


def test_lanczos_full_reorthogonalization_keeps_the_basis_orthonormal_on_a_clustered_spectrum():
    # Without reorthogonalization Lanczos on this spectrum produces "ghost" copies of the top eigenvalue.
    n = 200
    values = np.concatenate([np.linspace(0, 1, n - 3), [5.0, 5.0 + 1e-3, 7.0]])
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(n, n)))
    a = (q * values) @ q.T
    matrix = t(a)
    found, vectors = la.lanczos(lambda v: matrix @ v, n, 3, num_iterations=80, generator=cr.Generator().manual_seed(0))
    np.testing.assert_allclose(found.array, [7.0, 5.0 + 1e-3, 5.0], atol=1e-8)
    np.testing.assert_allclose(vectors.array.T @ vectors.array, np.eye(3), atol=1e-8)


def test_lanczos_on_a_hessian_through_hessian_vector_products():
    # The top Hessian eigenvalues of f(x) = Σ cᵢ xᵢ² + x₀x₁ without forming the Hessian.
    c = t([3.0, 1.0, 0.5, 2.0])

    def f(x):
        return (c * x * x).sum() + x[0] * x[1]

    point = t(np.zeros(4))
    values, _ = la.lanczos(lambda v: hvp(f, (point,), (v,))[1][0], 4, 2, generator=cr.Generator().manual_seed(0))
    hessian = np.diag(2 * c.array) + np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0.0]])
    np.testing.assert_allclose(values.array, np.linalg.eigvalsh(hessian)[::-1][:2], atol=1e-10)


# ----- Gram–Schmidt and projections ------------------------------------------------------------
@FAST
@given(seeds, st.integers(1, 6), st.integers(1, 6))
def test_gram_schmidt_equals_qr_with_positive_diagonal(seed, n, k):
    k = min(n, k)
    a = np.random.default_rng(seed).normal(size=(n, k))
    q = la.gram_schmidt(t(a)).array
    expected_q, r = np.linalg.qr(a)
    np.testing.assert_allclose(q, expected_q * np.sign(np.diag(r)), atol=1e-10)
    np.testing.assert_allclose(q.T @ q, np.eye(k), atol=1e-12)


def test_gram_schmidt_is_differentiable():
    a = t(np.random.default_rng(0).normal(size=(4, 3)), requires_grad=True)
    assert gradcheck(la.gram_schmidt, (a,))
    assert gradgradcheck(la.gram_schmidt, (a,), fast_mode=True)


@FAST
@given(seeds, st.integers(2, 6), st.integers(1, 5))
def test_projection_is_the_least_squares_fit_and_the_projector_is_idempotent(seed, n, k):
    k = min(k, n - 1)
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(n, k))
    v = rng.normal(size=(3, n))
    projected = la.project(t(v), t(basis)).array
    # The nearest point of span(B): B c with c the least-squares coefficients.
    coefficients = np.linalg.lstsq(basis, v.T, rcond=None)[0]
    np.testing.assert_allclose(projected, (basis @ coefficients).T, atol=1e-10)
    np.testing.assert_allclose((v - projected) @ basis, 0, atol=1e-10)            # residual ⟂ span(B)
    p = la.projection_matrix(t(basis)).array
    np.testing.assert_allclose(p @ p, p, atol=1e-12)
    np.testing.assert_allclose(p, p.T, atol=1e-12)
    np.testing.assert_allclose(p, basis @ np.linalg.inv(basis.T @ basis) @ basis.T, atol=1e-10)
    orthonormal = np.linalg.qr(basis)[0]
    np.testing.assert_allclose(la.project(t(v), t(orthonormal), orthonormal=True).array, projected, atol=1e-10)


def test_projection_is_differentiable():
    rng = np.random.default_rng(1)
    v, basis = t(rng.normal(size=(2, 4)), True), t(rng.normal(size=(4, 2)), True)
    assert gradcheck(la.project, (v, basis))
    assert gradgradcheck(la.projection_matrix, (basis,), fast_mode=True)


# ----- PCA ------------------------------------------------------------------------------------
def correlated_data(seed, n_samples=60, n_features=5):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(n_features, n_features)) * np.linspace(3, 0.3, n_features)[:, None]
    return rng.normal(size=(n_samples, n_features)) @ mixing + rng.normal(size=n_features)


@FAST
@given(seeds, st.integers(1, 5))
def test_pca_matches_eigendecomposition_of_the_covariance(seed, k):
    x = correlated_data(seed)
    pca = la.PCA(n_components=k).fit(t(x))
    covariance = np.cov(x, rowvar=False)                     # computed directly with numpy
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1][:k]
    # A backward-stable eigensolver or SVD errs by about n·eps·λ_max on every eigenvalue (Weyl), however small
    # the eigenvalue itself: the tolerance is relative to λ_max (1e-12 ≈ 4500 eps; 1,500 seeds erred ≤ 11 eps).
    # An eigenvector errs by about eps·λ_max / (its gap to the nearest other eigenvalue) (Davis–Kahan).
    largest = eigenvalues.max()
    np.testing.assert_allclose(pca.explained_variance_.array, eigenvalues[order], rtol=0, atol=1e-12 * largest)
    np.testing.assert_allclose(pca.explained_variance_ratio_.array, eigenvalues[order] / eigenvalues.sum(), rtol=0,
                               atol=1e-12 * largest / eigenvalues.sum())
    components = pca.components_.array
    # Same axes up to sign; and the sign rule makes each component's largest entry positive.
    distances = np.abs(eigenvalues[order][:, None] - eigenvalues[None, :])
    distances[np.arange(k), order] = np.inf  # not to itself
    inverse_gap = 1 / distances.min(axis=1)
    tolerance = 1e-12 * largest * (inverse_gap[:, None] + inverse_gap[None, :])
    np.testing.assert_array_less(np.abs(np.abs(components @ eigenvectors[:, order]) - np.eye(k)), tolerance)
    rows = np.arange(k)
    assert (components[rows, np.argmax(np.abs(components), axis=1)] > 0).all()
    np.testing.assert_allclose(pca.mean_.array, x.mean(axis=0), rtol=1e-12)


def test_pca_signs_are_deterministic_under_sign_flips_of_the_data_svd():
    x = correlated_data(3)
    first = la.PCA(3).fit(t(x)).components_.array
    second = la.PCA(3).fit(t(x[::-1].copy())).components_.array          # same covariance, other SVD
    np.testing.assert_allclose(first, second, atol=1e-10)


@pytest.mark.parametrize("whiten", [False, True])
def test_pca_transform_inverse_transform_fit_transform(whiten):
    x = correlated_data(5)
    pca = la.PCA(n_components=5, whiten=whiten).fit(t(x))
    z = pca.transform(t(x))
    np.testing.assert_allclose(pca.fit_transform(t(x)).array, z.array, atol=1e-10)
    np.testing.assert_allclose(pca.inverse_transform(z).array, x, atol=1e-10)       # all components: lossless
    covariance = np.cov(z.array, rowvar=False)
    expected = np.eye(5) if whiten else np.diag(pca.explained_variance_.array)
    np.testing.assert_allclose(covariance, expected, atol=1e-9)


def test_pca_truncated_reconstruction_error_equals_discarded_variance():
    x = correlated_data(7)
    pca = la.PCA(n_components=2).fit(t(x))
    reconstructed = pca.inverse_transform(pca.transform(t(x))).array
    squared_error = ((x - reconstructed) ** 2).sum() / (x.shape[0] - 1)
    all_variances = np.linalg.eigvalsh(np.cov(x, rowvar=False))
    assert squared_error == pytest.approx(np.sort(all_variances)[:3].sum(), rel=1e-9)


def test_pca_is_differentiable_through_fit_transform():
    x = t(correlated_data(9, n_samples=8, n_features=3), requires_grad=True)
    assert gradcheck(lambda data: la.PCA(2).fit_transform(data) ** 2, (x,))
