"""Labs linear-map and pca: they render, and what they draw is what the math says."""
import os

import numpy
import pytest

import chainrule.lab


def assert_figures(result):
    assert [os.path.splitext(p)[1] for p in result.figures[:2]] == [".png", ".svg"]
    with open(result.figures[0], "rb") as file:
        assert file.read(4) == b"\x89PNG"
    with open(result.figures[1], encoding="utf-8") as file:
        assert "<svg" in file.read(2000)
    with open(result.text_path, encoding="utf-8") as file:
        assert result.text in file.read()


@pytest.fixture(scope="module")
def linear_map(tmp_path_factory):
    return chainrule.lab.run("linear-map", tmp_path_factory.mktemp("linear-map"))


def test_linear_map_draws_eigenvectors_and_singular_axes(linear_map):
    assert_figures(linear_map)
    A = linear_map.data["matrix"]
    vectors = linear_map.data["eigenvectors"]
    values = numpy.array(linear_map.numbers["eigenvalues"])
    numpy.testing.assert_allclose(A @ vectors, vectors * values, atol=1e-12)       # the eigenvectors drawn are eigenvectors
    numpy.testing.assert_allclose(sorted(values), sorted(numpy.linalg.eigvals(A).real), rtol=1e-12)
    U, V, S = linear_map.data["U"], linear_map.data["V"], numpy.array(linear_map.numbers["singular_values"])
    numpy.testing.assert_allclose(S, numpy.linalg.svd(A, compute_uv=False), rtol=1e-12)
    numpy.testing.assert_allclose(A @ V, U * S, atol=1e-12)                         # A vᵢ = σᵢ uᵢ
    # The image of the circle is the ellipse with those semi-axes: its farthest point is σ₁ away.
    radii = numpy.linalg.norm(linear_map.data["circle_image"], axis=1)
    assert abs(radii.max() - S[0]) < 1e-4 and abs(radii.min() - S[1]) < 1e-4


def test_a_rotation_is_drawn_as_a_rotation_and_a_scaling(linear_map):
    case = linear_map.data["cases"]["rotation-scaling"]
    A, P = case["matrix"], case["rotation_basis"]
    assert linear_map.numbers["cases"]["rotation-scaling"]["kind"] == "complex"
    eigenvalues = numpy.linalg.eigvals(A)
    a, b = eigenvalues[0].real, abs(eigenvalues[0].imag)
    # In the basis (Re v, Im v) of the eigenvector for a − ib, A is [[a, −b], [b, a]] = |λ| times the rotation by θ.
    numpy.testing.assert_allclose(A @ P, P @ numpy.array([[a, -b], [b, a]]), atol=1e-12)
    assert abs(numpy.linalg.det(P)) > 1e-3
    orbit = case["orbit"]
    numpy.testing.assert_allclose(orbit[1:], orbit[:-1] @ A.T, atol=1e-12)       # x, Ax, A²x, …
    assert "turns" in linear_map.text and f"{abs(eigenvalues[0]):.4f}" in linear_map.text


def test_the_defective_shear_has_one_eigenvector(linear_map):
    case = linear_map.data["cases"]["defective"]
    assert linear_map.numbers["cases"]["defective"]["kind"] == "defective"
    vectors = case["eigenvectors"]
    assert vectors.shape == (2, 1)
    numpy.testing.assert_allclose(case["matrix"] @ vectors[:, 0], 2 * vectors[:, 0], atol=1e-12)
    assert numpy.linalg.matrix_rank(case["matrix"] - 2 * numpy.eye(2)) == 1     # geometric multiplicity 1
    assert "ONE eigenvector" in linear_map.text


def test_linear_map_determinant_is_the_area_ratio(linear_map):
    determinant = numpy.linalg.det(linear_map.data["matrix"])
    assert abs(linear_map.numbers["determinant"] - determinant) < 1e-12
    assert abs(linear_map.numbers["area_ratio"] - abs(determinant)) < 1e-4 * abs(determinant)


@pytest.fixture(scope="module")
def pca(tmp_path_factory):
    return chainrule.lab.run("pca", tmp_path_factory.mktemp("pca"))


def test_pca_matches_the_covariance_eigendecomposition(pca):
    assert_figures(pca)
    X = pca.data["X"]
    centered = X - X.mean(axis=0)
    covariance = centered.T @ centered / (X.shape[0] - 1)
    eigenvalues, eigenvectors = numpy.linalg.eigh(covariance)
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
    numpy.testing.assert_allclose(pca.data["explained_variance"][:10], eigenvalues[:10], rtol=1e-8)
    numpy.testing.assert_allclose(pca.numbers["explained_variance_ratio"], eigenvalues[:10] / eigenvalues.sum(), rtol=1e-8)
    components = pca.data["components"]
    for i, component in enumerate(components):
        assert abs(abs(component @ eigenvectors[:, i]) - 1) < 1e-6          # the same axis, up to sign
    numpy.testing.assert_allclose(pca.data["embedding"], centered @ components[:2].T, atol=1e-9)
    cumulative = numpy.cumsum(eigenvalues) / eigenvalues.sum()
    assert pca.numbers["components_for_90_percent"] == int(numpy.argmax(cumulative >= 0.9)) + 1
    # The variance plot reaches the component its title names.
    assert pca.numbers["components_drawn"] >= pca.numbers["components_for_90_percent"]


def test_pca_uses_all_ten_digits(pca):
    assert set(pca.data["labels"].tolist()) == set(range(10))
    assert pca.data["X"].shape == (600, 784)
