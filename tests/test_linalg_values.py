"""chainrule.linalg forward values against NumPy and SciPy on random (batched) inputs drawn by hypothesis."""
import math

import numpy as np
import scipy.linalg
from hypothesis import given, settings, strategies as st

import chainrule as cr
import chainrule.linalg as la

FAST = settings(max_examples=15, deadline=None)

seeds = st.integers(0, 2**32 - 1)
sizes = st.integers(1, 5)
batches = st.sampled_from([(), (2,), (2, 3)])


def t(array):
    return cr.tensor(array, dtype=cr.float64)


def random_square(seed, batch, n):
    rng = np.random.default_rng(seed)
    return rng.normal(size=batch + (n, n)) + n * np.eye(n)       # comfortably invertible


def random_spd(seed, batch, n):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


@FAST
@given(seeds, batches, sizes, st.integers(1, 3))
def test_solve_inv_det_slogdet_match_numpy(seed, batch, n, k):
    a = random_square(seed, batch, n)
    b = np.random.default_rng(seed + 1).normal(size=batch + (n, k))
    np.testing.assert_allclose(la.solve(t(a), t(b)).array, np.linalg.solve(a, b), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(la.inv(t(a)).array, np.linalg.inv(a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(la.det(t(a)).array, np.linalg.det(a), rtol=1e-10)
    sign, logabsdet = la.slogdet(t(a))
    expected_sign, expected_log = np.linalg.slogdet(a)
    np.testing.assert_array_equal(sign.array, expected_sign)
    np.testing.assert_allclose(logabsdet.array, expected_log, rtol=1e-10, atol=1e-12)


@FAST
@given(seeds, batches, sizes, st.booleans(), st.booleans(), st.booleans())
def test_solve_triangular_matches_scipy(seed, batch, n, upper, left, unit):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=batch + (n, n)) + 3 * np.eye(n)
    b = rng.normal(size=batch + ((n, 2) if left else (2, n)))
    got = la.solve_triangular(t(a), t(b), upper=upper, left=left, unitriangular=unit).array
    if left:
        expected = scipy.linalg.solve_triangular(a, b, lower=not upper, unit_diagonal=unit)
    else:
        expected = np.swapaxes(scipy.linalg.solve_triangular(
            np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2), lower=upper, unit_diagonal=unit), -1, -2)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@FAST
@given(seeds, batches, sizes)
def test_cholesky_matches_numpy_and_scipy(seed, batch, n):
    a = random_spd(seed, batch, n)
    lower = la.cholesky(t(a)).array
    np.testing.assert_allclose(lower, np.linalg.cholesky(a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(la.cholesky(t(a), upper=True).array, np.swapaxes(lower, -1, -2))
    if not batch:
        np.testing.assert_allclose(lower, scipy.linalg.cholesky(a, lower=True), rtol=1e-10, atol=1e-12)


@FAST
@given(seeds, batches, sizes)
def test_eigh_and_eigvalsh_match_numpy_and_reconstruct(seed, batch, n):
    a = random_spd(seed, batch, n) - n * np.eye(n)      # symmetric, eigenvalues of both signs
    values, vectors = la.eigh(t(a))
    np.testing.assert_allclose(values.array, np.linalg.eigvalsh(a), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(la.eigvalsh(t(a)).array, np.linalg.eigvalsh(a), rtol=1e-9, atol=1e-10)
    v = vectors.array
    np.testing.assert_allclose(v @ (values.array[..., None] * np.swapaxes(v, -1, -2)), a, atol=1e-10)
    np.testing.assert_allclose(np.swapaxes(v, -1, -2) @ v, np.broadcast_to(np.eye(n), v.shape), atol=1e-12)


@FAST
@given(seeds, batches, sizes)
def test_eig_and_eigvals_match_numpy(seed, batch, n):
    a = np.random.default_rng(seed).normal(size=batch + (n, n))
    values, vectors = la.eig(t(a))
    assert values.dtype == np.complex128 and vectors.dtype == np.complex128
    np.testing.assert_allclose(vectors.array @ (values.array[..., :, None] * np.eye(n)), a @ vectors.array, atol=1e-9)
    key = lambda w: np.sort_complex(np.round(w, 8))       # noqa: E731  (order-free comparison)
    np.testing.assert_allclose(key(la.eigvals(t(a)).array), key(np.linalg.eigvals(a)), atol=1e-7)


@FAST
@given(seeds, batches, sizes, sizes, st.booleans())
def test_svd_and_svdvals_match_numpy(seed, batch, m, n, full):
    a = np.random.default_rng(seed).normal(size=batch + (m, n))
    u, s, vh = la.svd(t(a), full_matrices=full)
    expected_u, expected_s, expected_vh = np.linalg.svd(a, full_matrices=full)
    assert u.shape == expected_u.shape and vh.shape == expected_vh.shape
    np.testing.assert_allclose(s.array, expected_s, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(la.svdvals(t(a)).array, expected_s, rtol=1e-10, atol=1e-12)
    k = min(m, n)
    np.testing.assert_allclose((u.array[..., :, :k] * s.array[..., None, :]) @ vh.array[..., :k, :], a, atol=1e-10)
    np.testing.assert_allclose(scipy.linalg.svdvals(a.reshape(-1, m, n)[0]), expected_s.reshape(-1, k)[0], rtol=1e-10)


@FAST
@given(seeds, batches, sizes, sizes, st.sampled_from(["reduced", "complete", "r"]))
def test_qr_matches_numpy(seed, batch, m, n, mode):
    a = np.random.default_rng(seed).normal(size=batch + (m, n))
    q, r = la.qr(t(a), mode=mode)
    if mode == "r":
        assert q.numel() == 0
        np.testing.assert_allclose(r.array, np.linalg.qr(a, mode="r"), atol=1e-12)
        return
    expected_q, expected_r = np.linalg.qr(a, mode=mode)
    np.testing.assert_allclose(q.array, expected_q, atol=1e-12)
    np.testing.assert_allclose(r.array, expected_r, atol=1e-12)
    np.testing.assert_allclose(q.array @ r.array, a, atol=1e-12)


@FAST
@given(seeds, batches, sizes, sizes)
def test_pinv_lstsq_match_numpy_and_scipy(seed, batch, m, n):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=batch + (m, n))
    np.testing.assert_allclose(la.pinv(t(a)).array, np.linalg.pinv(a), rtol=1e-8, atol=1e-10)
    b = rng.normal(size=(m, 2))
    result = la.lstsq(t(a.reshape(-1, m, n)[0]), t(b))
    expected, residuals, rank, singular_values = scipy.linalg.lstsq(a.reshape(-1, m, n)[0], b)
    np.testing.assert_allclose(result.solution.array, expected, rtol=1e-8, atol=1e-10)
    assert int(result.rank.item()) == rank
    np.testing.assert_allclose(result.singular_values.array, singular_values, rtol=1e-10)
    if m > n:
        np.testing.assert_allclose(result.residuals.array, residuals, rtol=1e-8, atol=1e-10)


def test_lstsq_rank_deficient_gives_minimum_norm_solution():
    a = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])           # rank 1
    b = np.array([1.0, 2.0, 2.0])
    result = la.lstsq(t(a), t(b))
    np.testing.assert_allclose(result.solution.array, np.linalg.lstsq(a, b, rcond=None)[0], atol=1e-12)
    assert result.rank.item() == 1 and result.residuals.numel() == 0


@FAST
@given(seeds, batches, sizes, st.integers(-4, 6))
def test_matrix_power_matches_numpy(seed, batch, n, power):
    a = random_square(seed, batch, n) / n
    np.testing.assert_allclose(la.matrix_power(t(a), power).array, np.linalg.matrix_power(a, power), rtol=1e-8, atol=1e-10)


@FAST
@given(seeds, batches, sizes, st.floats(0.01, 30.0))
def test_matrix_exp_matches_scipy(seed, batch, n, scale):
    a = np.random.default_rng(seed).normal(size=batch + (n, n)) * scale / n
    expected = scipy.linalg.expm(a)
    got = la.matrix_exp(t(a)).array
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())


def test_matrix_exp_identities():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    e = la.matrix_exp(t(a)).array
    np.testing.assert_allclose(e @ la.matrix_exp(t(-a)).array, np.eye(3), atol=1e-12)    # e^A e^{−A} = I
    np.testing.assert_allclose(np.linalg.det(e), np.exp(np.trace(a)), rtol=1e-12)       # det e^A = e^{tr A}
    assert la.matrix_exp(cr.tensor(a, dtype=cr.float32)).dtype == np.float32


ORDS = ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf]


@FAST
@given(seeds, batches, sizes, sizes, st.sampled_from(ORDS))
def test_matrix_norm_and_cond_match_numpy(seed, batch, m, n, order):
    a = np.random.default_rng(seed).normal(size=batch + (m, n))
    np.testing.assert_allclose(la.matrix_norm(t(a), ord=order).array, np.linalg.norm(a, ord=order, axis=(-2, -1)), rtol=1e-10)
    kept = la.matrix_norm(t(a), ord=order, keepdim=True)
    assert kept.shape == batch + (1, 1)
    square = random_square(seed, batch, n)
    np.testing.assert_allclose(la.cond(t(square), order).array, np.linalg.cond(square, order), rtol=1e-8)


@FAST
@given(seeds, st.integers(1, 6), st.sampled_from([0, 0.5, 1, 2, 3, math.inf, -math.inf, -1]))
def test_vector_norm_matches_numpy(seed, n, order):
    x = np.random.default_rng(seed).normal(size=(3, n))
    np.testing.assert_allclose(la.vector_norm(t(x), ord=order, dim=-1).array, np.linalg.norm(x, ord=order, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(la.norm(t(x[0])).item(), np.linalg.norm(x[0]), rtol=1e-12)
    np.testing.assert_allclose(la.norm(t(x)).item(), np.linalg.norm(x), rtol=1e-12)


@FAST
@given(seeds, batches, st.integers(1, 5), st.integers(1, 5), st.integers(0, 5))
def test_matrix_rank_matches_numpy(seed, batch, m, n, rank):
    rng = np.random.default_rng(seed)
    rank = min(rank, m, n)
    a = rng.normal(size=batch + (m, rank)) @ rng.normal(size=batch + (rank, n))
    got = la.matrix_rank(t(a))
    np.testing.assert_array_equal(got.array, np.linalg.matrix_rank(a))
    assert got.dtype == np.int64
