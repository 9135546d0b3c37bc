"""Curvature from Hessian-vector products, checked against the explicit Hessian computed by PyTorch."""
import math

import numpy
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
from chainrule.explain import (
    GaussNewtonOperator, HessianOperator, hessian_top_eigenvalues, hutchinson_trace, lanczos_quadrature,
    learning_rate_advice, spectral_density,
)


@pytest.fixture(scope="module")
def small_model():
    """A float64 2-5-3 tanh classifier, its batch, and the same loss written in PyTorch on flat θ."""
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    X = cr.randn(12, 2, dtype=cr.float64, generator=cr.Generator().manual_seed(1))
    y = cr.tensor([0, 1, 2, 1, 0, 2, 2, 1, 0, 0, 1, 2])
    shapes = [p.shape for p in model.parameters()]
    theta = torch.tensor(numpy.concatenate([p.detach().numpy().ravel() for p in model.parameters()]))
    X_t, y_t = torch.tensor(X.numpy()), torch.tensor(y.numpy())

    def unflatten(flat):
        pieces, offset = [], 0
        for shape in shapes:
            size = int(numpy.prod(shape))
            pieces.append(flat[offset:offset + size].reshape(shape))
            offset += size
        return pieces

    def torch_outputs(flat):
        W1, b1, W2, b2 = unflatten(flat)
        return torch.tanh(X_t @ W1.T + b1) @ W2.T + b2

    def torch_loss(flat):
        return torch.nn.functional.cross_entropy(torch_outputs(flat), y_t)

    hessian = torch.autograd.functional.hessian(torch_loss, theta).numpy()
    J = torch.autograd.functional.jacobian(torch_outputs, theta).reshape(-1, theta.numel()).numpy()
    z = torch_outputs(theta).detach()
    H_out = torch.autograd.functional.hessian(
        lambda out: torch.nn.functional.cross_entropy(out.reshape(z.shape), y_t), z.reshape(-1)).numpy()
    return model, nn.CrossEntropyLoss(), (X, y), hessian, J.T @ H_out @ J


def test_hessian_vector_products_equal_the_explicit_hessian(small_model):
    model, loss_fn, batch, hessian, _ = small_model
    H = HessianOperator(model, loss_fn, batch)
    numpy.testing.assert_allclose(H.dense(), hessian, rtol=1e-9, atol=1e-12)
    v = numpy.random.default_rng(0).standard_normal(H.n)
    numpy.testing.assert_allclose(H.matvec(v).numpy(), hessian @ v, rtol=1e-9, atol=1e-12)


def test_top_eigenvalues_by_lanczos_and_power_iteration(small_model):
    model, loss_fn, batch, hessian, _ = small_model
    exact = numpy.linalg.eigvalsh(hessian)[::-1]
    H = HessianOperator(model, loss_fn, batch)
    values, vectors = hessian_top_eigenvalues(H, k=3)
    numpy.testing.assert_allclose(values, exact[:3], rtol=1e-8)
    numpy.testing.assert_allclose(hessian @ vectors, vectors * values, atol=1e-8)
    (top,), _ = hessian_top_eigenvalues(H, method="power")
    largest_magnitude = exact[numpy.argmax(numpy.abs(exact))]
    assert abs(top - largest_magnitude) < 1e-6 * abs(largest_magnitude)


def test_hutchinson_trace_is_within_its_error(small_model):
    model, loss_fn, batch, hessian, _ = small_model
    estimate = hutchinson_trace(HessianOperator(model, loss_fn, batch), num_samples=300,
                                generator=cr.Generator().manual_seed(5))
    assert abs(estimate.value - numpy.trace(hessian)) < 4 * estimate.standard_error
    # Its variance per sample is 2 Σ_{i≠j} H_ij² for Rademacher vectors.
    off_diagonal = hessian - numpy.diag(numpy.diag(hessian))
    predicted = math.sqrt(2 * (off_diagonal ** 2).sum() / 300)
    assert 0.6 < estimate.standard_error / predicted < 1.5


def test_lanczos_quadrature_reproduces_the_moments(small_model):
    _, _, _, hessian, _ = small_model
    v = numpy.random.default_rng(3).standard_normal(hessian.shape[0])
    m = 6
    nodes, weights = lanczos_quadrature(lambda u: hessian @ u, v, m)
    q = v / numpy.linalg.norm(v)
    for power in range(2 * m):           # exact for polynomials of degree < 2m
        exact = q @ numpy.linalg.matrix_power(hessian, power) @ q
        assert abs((weights * nodes ** power).sum() - exact) < 1e-9 * max(1.0, abs(exact)), power


def test_spectral_density_integrates_to_one_and_has_the_right_mean(small_model):
    model, loss_fn, batch, hessian, _ = small_model
    n = hessian.shape[0]
    density = spectral_density(HessianOperator(model, loss_fn, batch), num_probes=20, num_steps=n,
                               generator=cr.Generator().manual_seed(7))
    assert abs(numpy.trapezoid(density.density, density.grid) - 1) < 1e-3
    # With m = n steps the Krylov space is exhausted: every node is an exact eigenvalue (repeated eigenvalues
    # appear once, which is why there can be fewer than n nodes), and the weights sum to 1.
    exact = numpy.linalg.eigvalsh(hessian)
    for nodes, weights in zip(density.nodes, density.weights):
        assert numpy.abs(nodes[:, None] - exact[None, :]).min(axis=1).max() < 1e-8
        assert abs(weights.sum() - 1) < 1e-12
    mean = numpy.mean([(w * t).sum() for t, w in zip(density.nodes, density.weights)])
    spread = numpy.std([(w * t).sum() for t, w in zip(density.nodes, density.weights)]) / math.sqrt(20)
    assert abs(mean - numpy.trace(hessian) / n) < 4 * spread


def test_gauss_newton_products_equal_the_explicit_matrix(small_model):
    model, loss_fn, batch, _, gauss_newton = small_model
    G = GaussNewtonOperator(model, loss_fn, batch)
    numpy.testing.assert_allclose(G.dense(), gauss_newton, rtol=1e-9, atol=1e-12)
    assert numpy.linalg.eigvalsh(gauss_newton).min() > -1e-12          # positive semi-definite


def test_learning_rate_advice_is_two_over_lambda_max():
    X = cr.randn(30, 4, dtype=cr.float64, generator=cr.Generator().manual_seed(0))
    y = cr.randn(30, 1, dtype=cr.float64, generator=cr.Generator().manual_seed(1))
    model = nn.Linear(4, 1, bias=False).double()
    advice = learning_rate_advice(HessianOperator(model, nn.MSELoss(), (X, y)), lr=0.3)
    lambda_max = numpy.linalg.eigvalsh(2 * X.numpy().T @ X.numpy() / 30).max()       # H = 2XᵀX/N
    assert abs(advice.lambda_max - lambda_max) < 1e-10 * lambda_max
    assert abs(advice.max_stable_lr - 2 / lambda_max) < 1e-10
    assert abs(advice.ratio - 0.3 * lambda_max / 2) < 1e-10
    assert ("exceeds" in advice.verdict()) == (0.3 > 2 / lambda_max)


def momentum_final_error(lr, momentum, nesterov, curvature=4.0, steps=400):
    """|x| after momentum SGD on f(x) = ½λx², through chainrule's SGD."""
    x = cr.tensor([1.0], dtype=cr.float64, requires_grad=True)
    optimizer = cr.optim.SGD([x], lr=lr, momentum=momentum, nesterov=nesterov)
    for _ in range(steps):
        optimizer.zero_grad()
        (0.5 * curvature * x * x).sum().backward()
        optimizer.step()
    return abs(x.item())


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_has_its_own_stability_limit(nesterov):
    optimizer = cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=0.5, momentum=0.9, nesterov=nesterov)
    advice = learning_rate_advice(4.0, optimizer=optimizer)
    expected = 2 * 1.9 / 4.0 / (2.8 if nesterov else 1.0)       # 2(1 + μ)/λ, Nesterov also / (1 + 2μ)
    assert advice.method == ("nesterov" if nesterov else "momentum") and abs(advice.max_stable_lr - expected) < 1e-12
    assert abs(advice.gd_limit - 0.5) < 1e-12
    # The limit is where the run itself turns: just below converges, just above blows up.
    assert momentum_final_error(0.97 * expected, 0.9, nesterov) < 1e-2
    assert momentum_final_error(1.03 * expected, 0.9, nesterov) > 1e2


def test_adam_advice_uses_the_preconditioned_sharpness():
    X = cr.randn(40, 3, dtype=cr.float64, generator=cr.Generator().manual_seed(0)) * cr.tensor([0.3, 1.0, 3.0], dtype=cr.float64)
    y = cr.randn(40, 1, dtype=cr.float64, generator=cr.Generator().manual_seed(1))
    model = nn.Linear(3, 1, bias=False).double()
    adam = cr.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(30):
        adam.zero_grad()
        nn.MSELoss()(model(X), y).backward()
        adam.step()
    H = HessianOperator(model, nn.MSELoss(), (X, y))
    advice = learning_rate_advice(H, optimizer=adam)
    state = adam.state[model.weight]
    P = numpy.sqrt(state["exp_avg_sq"].ravel() / (1 - 0.999 ** state["step"])) + 1e-8
    dense = 2 * X.numpy().T @ X.numpy() / 40
    sharpness = numpy.linalg.eigvalsh(dense / numpy.sqrt(numpy.outer(P, P))).max()       # λ_max(P^-½ H P^-½)
    assert advice.method == "adam" and advice.lr == 0.05
    assert abs(advice.preconditioned_lambda_max - sharpness) < 1e-8 * sharpness
    assert abs(advice.max_stable_lr - 3.8 / 0.1 / sharpness) < 1e-8 * advice.max_stable_lr
    assert abs(advice.lambda_max - numpy.linalg.eigvalsh(dense).max()) < 1e-8
    assert "not of Adam" in advice.verdict() and "P⁻¹H" in str(advice)
    with pytest.raises(ValueError, match="Adam's limit needs its preconditioner"):
        learning_rate_advice(4.0, method="adam")
