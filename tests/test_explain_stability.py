"""Stability diagnostics: gradient flow, loss landscapes, and anomaly mode on a small network."""
import numpy
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule import optim
from chainrule.explain import (
    GradientFlow, HessianOperator, loss_slice_1d, loss_surface_2d, parameter_vector, path_directions,
    project_path, random_direction, set_parameter_vector,
)


def deep_network(activation, init, depth=8, width=16, seed=0, scale=1.0):
    generator = cr.Generator().manual_seed(seed)
    layers = [nn.Linear(2, width)]
    for _ in range(depth - 2):
        layers += [activation(), nn.Linear(width, width)]
    layers += [activation(), nn.Linear(width, 2)]
    model = nn.Sequential(*layers)
    for layer in model:
        if isinstance(layer, nn.Linear):
            init(layer.weight, generator=generator)
            with cr.no_grad():
                layer.weight.mul_(scale)
            nn.init.zeros_(layer.bias)
    return model


def record_flow(model, steps=3):
    X = cr.randn(64, 2, generator=cr.Generator().manual_seed(1))
    y = (X[:, 0] * X[:, 1] > 0).long()
    flow = GradientFlow(model)
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.CrossEntropyLoss()(model(X), y).backward()
        flow.record()
        optimizer.step()
    return flow


def test_deep_sigmoid_vanishes_and_deep_relu_does_not():
    sigmoid = record_flow(deep_network(nn.Sigmoid, nn.init.xavier_normal_))
    relu = record_flow(deep_network(nn.ReLU, lambda w, generator: nn.init.kaiming_normal_(w, nonlinearity="relu",
                                                                                            generator=generator)))
    sigmoid_report, relu_report = sigmoid.report(), relu.report()
    assert sigmoid_report.first_to_last_ratio < 1e-3 < relu_report.first_to_last_ratio
    assert sigmoid_report.vanishing[:2] == ["0", "2"] and "14" not in sigmoid_report.vanishing
    assert relu_report.vanishing == [] and relu_report.exploding == []
    # Through σ (slope ≤ 1/4) every layer shrinks the gradient: the norms grow from the input to the output.
    medians = [layer.median_norm for layer in sigmoid_report.layers]
    assert all(a < b for a, b in zip(medians, medians[1:]))
    assert "vanishing" in sigmoid_report.text()


def test_recorded_norms_are_the_layer_gradient_norms():
    model = deep_network(nn.Tanh, nn.init.xavier_normal_, depth=3)
    flow = GradientFlow(model)
    X = cr.randn(8, 2, generator=cr.Generator().manual_seed(2))
    nn.CrossEntropyLoss()(model(X), cr.tensor([0, 1] * 4)).backward()
    flow.record()
    expected = [numpy.sqrt((model[i].weight.grad.numpy().astype(float) ** 2).sum()
                           + (model[i].bias.grad.numpy().astype(float) ** 2).sum()) for i in (0, 2, 4)]
    assert flow.layer_names == ["0", "2", "4"]
    numpy.testing.assert_allclose(flow.norms[0], expected, rtol=1e-12)


def test_large_weights_explode():
    model = deep_network(nn.ReLU, lambda w, generator: nn.init.kaiming_normal_(w, nonlinearity="relu",
                                                                                generator=generator), scale=4.0)
    report = record_flow(model, steps=1).report(exploding_norm=1e3)
    assert report.layers[0].median_norm > 1e3
    assert report.exploding[0] == "0"


@pytest.fixture
def regression():
    X = cr.randn(20, 3, dtype=cr.float64, generator=cr.Generator().manual_seed(0))
    y = cr.randn(20, 2, dtype=cr.float64, generator=cr.Generator().manual_seed(1))
    model = nn.Linear(3, 2).double()
    return model, nn.MSELoss(), (X, y)


def test_filter_normalized_directions(regression):
    model, _, _ = regression
    d = random_direction(model, cr.Generator().manual_seed(4))
    weight = model.weight.detach().numpy()
    numpy.testing.assert_allclose(numpy.linalg.norm(d[:6].reshape(2, 3), axis=1), numpy.linalg.norm(weight, axis=1))
    assert numpy.array_equal(d[6:], numpy.zeros(2))
    with_bias = random_direction(model, cr.Generator().manual_seed(4), ignore_biases=False)
    assert abs(numpy.linalg.norm(with_bias[6:]) - numpy.linalg.norm(model.bias.detach().numpy())) < 1e-12


def test_slices_are_the_quadratic_of_a_linear_model(regression):
    model, loss_fn, batch = regression
    center = parameter_vector(model)
    d = random_direction(model, cr.Generator().manual_seed(5), ignore_biases=False)
    alphas = numpy.linspace(-1, 1, 7)
    values = loss_slice_1d(model, loss_fn, batch, d, alphas)
    assert numpy.array_equal(parameter_vector(model), center)          # restored
    X, Y = batch[0].numpy(), batch[1].numpy()

    def loss_at(theta):
        W, b = theta[:6].reshape(2, 3), theta[6:]
        return ((X @ W.T + b - Y) ** 2).mean()

    numpy.testing.assert_allclose(values, [loss_at(center + a * d) for a in alphas], rtol=1e-12)
    # Curvature along d: the second difference equals dᵀHd with H from Hessian-vector products.
    H = HessianOperator(model, loss_fn, batch).dense()
    second = (values[4] - 2 * values[3] + values[2]) / (alphas[1] - alphas[0]) ** 2
    assert abs(second - d @ H @ d) < 1e-9 * abs(d @ H @ d)
    surface = loss_surface_2d(model, loss_fn, batch, d, numpy.roll(d, 1), alphas, [-0.5, 0.0, 0.5])
    assert surface.shape == (3, 7)
    numpy.testing.assert_allclose(surface[1], values, rtol=1e-12)


def test_path_projection_and_directions():
    rng = numpy.random.default_rng(0)
    center = rng.standard_normal(10)
    u, v = numpy.linalg.qr(rng.standard_normal((10, 2)))[0].T
    coordinates = rng.standard_normal((15, 2))
    path = [center + a * u + b * v for a, b in coordinates]
    numpy.testing.assert_allclose(project_path(path, center, u, v), coordinates, atol=1e-12)
    d1, d2, explained = path_directions(path, center)
    assert abs(explained - 1) < 1e-12 and abs(d1 @ d2) < 1e-12 and abs(d1 @ d1 - 1) < 1e-12
    plane = numpy.stack([u, v], 1)
    for d in (d1, d2):   # the principal directions span the path's plane
        numpy.testing.assert_allclose(plane @ (plane.T @ d), d, atol=1e-12)
    model = nn.Linear(2, 1)
    with pytest.raises(ValueError, match="the model has 3"):
        set_parameter_vector(model, numpy.zeros(4))


def small_network():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    with cr.no_grad():
        model[0].weight.copy_(cr.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [-1.0, -1.0, -1.0]]))
        model[0].bias.fill_(0.0)
        model[2].weight.fill_(-1.0)
        model[2].bias.fill_(-1.0)
    return model


def test_anomaly_names_the_log_of_a_negative_output():
    model, x = small_network(), cr.tensor([[1.0, 2.0, 3.0]])
    with cr.detect_anomaly(), numpy.errstate(invalid="ignore"), pytest.raises(cr.AnomalyError) as error:
        model(x).log().mean()                # the output is negative: log gives nan
    message = str(error.value)
    assert "forward pass: 'log' produced nan/inf" in message
    assert "test_explain_stability.py" in message and "model(x).log().mean()" in message


def test_anomaly_names_the_exp_that_overflows():
    model, x = small_network(), cr.tensor([[-30.0, -30.0, -30.0]])
    with cr.detect_anomaly(), numpy.errstate(over="ignore"), pytest.raises(cr.AnomalyError) as error:
        (-model(x)).exp().sum()              # exp(91) overflows float32: inf
    assert "'exp' produced nan/inf" in str(error.value)


def test_anomaly_names_sqrt_in_the_backward_pass():
    model, x = small_network(), cr.tensor([[1.0, -2.0, 0.5]])
    with cr.detect_anomaly(), numpy.errstate(divide="ignore", invalid="ignore"):
        hidden = model[1](model[0](x))       # ReLU: some units are exactly 0
        loss = model[2](hidden.sqrt()).sum()
        with pytest.raises(cr.AnomalyError) as error:
            loss.backward()                  # d√h/dh = 1/(2√h) is inf at h = 0
    assert "backward pass: the gradient of 'sqrt'" in str(error.value)
    assert "hidden.sqrt()" in str(error.value)
