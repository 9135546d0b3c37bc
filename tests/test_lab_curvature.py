"""Labs curvature and landscape on small models, checked against the explicit Hessian from PyTorch."""
import numpy
import pytest
import torch

import chainrule.lab
from chainrule.explain import loss_slice_1d


def torch_hessian(model, batch):
    """The Hessian of the cross-entropy of a 2-h-2 tanh net in its flat parameters, by PyTorch."""
    shapes = [p.shape for p in model.parameters()]
    theta = torch.tensor(numpy.concatenate([p.detach().numpy().ravel() for p in model.parameters()]))
    X, y = torch.tensor(batch[0].numpy()), torch.tensor(batch[1].numpy())

    def loss(flat):
        pieces, offset = [], 0
        for shape in shapes:
            size = int(numpy.prod(shape))
            pieces.append(flat[offset:offset + size].reshape(shape))
            offset += size
        W1, b1, W2, b2 = pieces
        return torch.nn.functional.cross_entropy(torch.tanh(X @ W1.T + b1) @ W2.T + b2, y)

    return torch.autograd.functional.hessian(loss, theta).numpy()


@pytest.fixture(scope="module")
def curvature(tmp_path_factory):
    return chainrule.lab.run("curvature", tmp_path_factory.mktemp("curvature"))


def test_curvature_matches_the_explicit_hessian(curvature):
    data, numbers = curvature.data, curvature.numbers
    hessian = torch_hessian(data["model"], data["batch"])
    numpy.testing.assert_allclose(data["dense_hessian"], hessian, rtol=1e-9, atol=1e-12)
    exact = numpy.linalg.eigvalsh(hessian)[::-1]
    numpy.testing.assert_allclose(numbers["top_eigenvalues"], exact[:3], rtol=1e-8)
    assert abs(numbers["exact_trace"] - numpy.trace(hessian)) < 1e-10
    assert abs(numbers["trace_estimate"] - numpy.trace(hessian)) < 4 * numbers["trace_standard_error"]
    density = data["density"]
    assert abs(numpy.trapezoid(density.density, density.grid) - 1) < 1e-3
    assert density.grid.min() < exact.min() and density.grid.max() > exact.max()
    # Gauss–Newton is positive semi-definite and close to H at a trained model, below it at the top.
    assert 0 < numbers["gauss_newton_top"][0] <= exact[0] * 1.01


def test_learning_rate_limit_on_least_squares(curvature):
    model, loss_fn, (X, y) = curvature.data["linear_problem"]
    lambda_max = numpy.linalg.eigvalsh(2 * X.numpy().T @ X.numpy() / X.shape[0]).max()
    assert abs(curvature.numbers["lambda_max_linear"] - lambda_max) < 1e-9 * lambda_max
    assert abs(curvature.numbers["max_stable_lr"] - 2 / lambda_max) < 1e-12
    losses = curvature.data["stability"]
    assert losses[0.5][-1] < 1e-2 * losses[0.5][0] and losses[0.95][-1] < losses[0.95][0]
    assert losses[1.05][-1] > 1e3 * losses[1.05][0]


@pytest.fixture(scope="module")
def landscape(tmp_path_factory):
    return chainrule.lab.run("landscape", tmp_path_factory.mktemp("landscape"))


def test_landscape_slices_and_path(landscape):
    data, numbers = landscape.data, landscape.numbers
    model, loss_fn, batch = data["model"], data["loss_fn"], data["batch"]
    assert abs(numbers["loss_at_center"] - loss_fn(model(batch[0]), batch[1]).item()) < 1e-15
    middle = len(data["alphas"]) // 2
    assert data["alphas"][middle] == 0 and data["betas"][middle] == 0
    assert abs(data["surface"][middle, middle] - numbers["loss_at_center"]) < 1e-15
    hessian = torch_hessian(model, batch)
    v = data["top_direction"]
    top = numpy.linalg.eigvalsh(hessian).max()
    assert abs(numbers["top_eigenvalue"] - top) < 1e-8 * top
    assert abs(v @ hessian @ v - top) < 1e-8 * top
    assert abs(numbers["second_difference"] - top) < 1e-4 * top        # the slice curves as λ_max at θ*
    second = numpy.linalg.eigvalsh(hessian)[-2]
    assert abs(numbers["second_eigenvalue"] - second) < 1e-8 * top
    v2 = data["eigen_directions"][:, 1]
    step = 1e-3
    curvature_v2 = (loss_slice_1d(model, loss_fn, batch, v2, [-step, 0.0, step]) @ [1, -2, 1]) / step ** 2
    assert abs(curvature_v2 - second) < 1e-4 * top
    eigen_alphas, eigen_betas, eigen_surface = data["eigen_grid"]
    assert eigen_alphas[middle] == 0 and eigen_betas[middle] == 0
    assert abs(eigen_surface[middle, middle] - numbers["loss_at_center"]) < 1e-15
    numpy.testing.assert_allclose(data["coordinates"][-1], [0, 0], atol=1e-12)   # the path ends at θ*
    d1, d2 = data["directions"]
    offsets = numpy.stack([p - data["path"][-1] for p in data["path"]])
    in_plane = numpy.linalg.norm(offsets @ numpy.stack([d1, d2], 1)) ** 2 / numpy.linalg.norm(offsets) ** 2
    assert abs(in_plane - numbers["path_variance_explained"]) < 1e-10


def test_landscape_says_when_the_end_of_training_is_not_a_minimum(landscape):
    data, numbers = landscape.data, landscape.numbers
    model, loss_fn, batch = data["model"], data["loss_fn"], data["batch"]
    X, y = torch.tensor(batch[0].numpy()), torch.tensor(batch[1].numpy())
    parameters = [torch.tensor(p.detach().numpy(), requires_grad=True) for p in model.parameters()]
    W1, b1, W2, b2 = parameters
    torch.nn.functional.cross_entropy(torch.tanh(X @ W1.T + b1) @ W2.T + b2, y).backward()
    gradient_norm = float(torch.cat([p.grad.ravel() for p in parameters]).norm())
    assert abs(numbers["gradient_norm"] - gradient_norm) < 1e-10
    assert numbers["lowest_in_slice"] == data["surface"].min()
    # After 150 steps this run is still descending: the picture must not pass its end off as a minimum.
    assert numbers["lowest_in_slice"] < numbers["loss_at_center"] and not numbers["converged"]
    assert "NOT a minimum" in landscape.text and "had not converged" in landscape.text


def test_curvature_advice_for_the_optimizer_that_trained(curvature):
    numbers = curvature.numbers
    top = numbers["exact_top_eigenvalues"][0]
    assert abs(numbers["momentum_limit"] - 2 * 1.9 / top) < 1e-6 * numbers["momentum_limit"]
    model, loss_fn, batch, adam = curvature.data["adam"]
    hessian = torch_hessian(model, batch)
    state = [adam.state[p] for p in model.parameters()]
    P = numpy.concatenate([numpy.sqrt(s["exp_avg_sq"].ravel() / (1 - 0.999 ** s["step"])) + 1e-8 for s in state])
    sharpness = numpy.linalg.eigvalsh(hessian / numpy.sqrt(numpy.outer(P, P))).max()
    assert abs(numbers["adam_preconditioned_lambda_max"] - sharpness) < 1e-6 * sharpness
    assert abs(numbers["adam_limit"] - 38 / sharpness) < 1e-6 * numbers["adam_limit"]
    assert "not of Adam" in curvature.text and "2(1 + μ)/λ_max" in curvature.text
