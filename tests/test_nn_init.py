"""nn.init: each initializer's distribution (bounds and moments), gains, fans, orthogonality, and seeding."""
import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.nn import init


def _draw(fill, shape=(256, 128, 3), **kwargs):
    cr.manual_seed(0)
    return fill(cr.empty(*shape), **kwargs).numpy()


def test_calculate_gain_matches_torch_values():
    import torch
    for name, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                        ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert math.isclose(init.calculate_gain(name, param), torch.nn.init.calculate_gain(name, param))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_uniform_and_normal_moments():
    values = _draw(init.uniform_, a=-2.0, b=3.0)
    assert values.min() >= -2.0 and values.max() < 3.0
    np.testing.assert_allclose([values.mean(), values.var()], [0.5, 25 / 12], rtol=0.02)
    values = _draw(init.normal_, mean=1.0, std=0.5)
    np.testing.assert_allclose([values.mean(), values.std()], [1.0, 0.5], rtol=0.01)
    assert not _draw(init.zeros_).any() and (_draw(init.ones_) == 1).all()
    assert (_draw(init.constant_, val=0.25) == 0.25).all()


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity, a", [("relu", 0), ("leaky_relu", math.sqrt(5)), ("tanh", 0)])
def test_kaiming_bounds_and_variance(mode, nonlinearity, a):
    fan = 128 * 3 if mode == "fan_in" else 256 * 3
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    uniform = _draw(init.kaiming_uniform_, a=a, mode=mode, nonlinearity=nonlinearity)
    assert np.abs(uniform).max() <= math.sqrt(3) * std * (1 + 1e-6)
    np.testing.assert_allclose(uniform.std(), std, rtol=0.02)
    normal = _draw(init.kaiming_normal_, a=a, mode=mode, nonlinearity=nonlinearity)
    np.testing.assert_allclose(normal.std(), std, rtol=0.02)
    assert abs(normal.mean()) < 0.02 * std


def test_xavier_bounds_and_variance():
    fan_in, fan_out = 128 * 3, 256 * 3
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    uniform = _draw(init.xavier_uniform_, gain=2.0)
    assert np.abs(uniform).max() <= bound
    np.testing.assert_allclose(uniform.std(), bound / math.sqrt(3), rtol=0.02)
    normal = _draw(init.xavier_normal_)
    np.testing.assert_allclose(normal.std(), math.sqrt(2 / (fan_in + fan_out)), rtol=0.02)


def test_trunc_normal_stays_in_bounds():
    values = _draw(init.trunc_normal_, std=1.0, a=-1.0, b=2.0)
    assert values.min() >= -1.0 and values.max() <= 2.0
    # mean of N(0,1) truncated to [-1, 2]: (φ(-1) − φ(2)) / (Φ(2) − Φ(-1))
    phi = lambda t: math.exp(-t * t / 2) / math.sqrt(2 * math.pi)   # noqa: E731
    Phi = lambda t: 0.5 * (1 + math.erf(t / math.sqrt(2)))          # noqa: E731
    np.testing.assert_allclose(values.mean(), (phi(-1) - phi(2)) / (Phi(2) - Phi(-1)), atol=0.01)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 2, 3)])
def test_orthogonal(shape):
    cr.manual_seed(3)
    w = init.orthogonal_(cr.empty(*shape, dtype=cr.float64), gain=1.5).numpy().reshape(shape[0], -1)
    small = min(w.shape)
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    np.testing.assert_allclose(gram, 2.25 * np.eye(small), atol=1e-12)


def test_initializers_are_deterministic_by_seed_and_generator():
    np.testing.assert_array_equal(_draw(init.kaiming_uniform_), _draw(init.kaiming_uniform_))
    generator = cr.Generator().manual_seed(9)
    first = init.normal_(cr.empty(10), generator=generator).numpy().copy()
    generator.manual_seed(9)
    np.testing.assert_array_equal(first, init.normal_(cr.empty(10), generator=generator).numpy())
    cr.manual_seed(5)
    a = nn.Linear(4, 3).weight.detach().numpy().copy()
    cr.manual_seed(5)
    np.testing.assert_array_equal(a, nn.Linear(4, 3).weight.detach().numpy())


def test_init_writes_into_parameters_in_place_and_reports_bad_shapes():
    layer = nn.Linear(3, 2)
    weight = layer.weight
    init.xavier_uniform_(layer.weight)
    assert layer.weight is weight and weight.requires_grad
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(5,\)"):
        init.xavier_uniform_(cr.empty(5))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(cr.empty(2, 2), mode="fan_avg")


@pytest.mark.parametrize("build", [
    lambda m: m.Linear(300, 200), lambda m: m.Conv2d(16, 64, 3), lambda m: m.Conv1d(8, 32, 5, groups=2),
    lambda m: m.ConvTranspose2d(16, 32, 4, groups=4), lambda m: m.ConvTranspose1d(16, 32, 5),
    lambda m: m.Embedding(400, 50), lambda m: m.PReLU(3),
    lambda m: m.BatchNorm2d(7), lambda m: m.LayerNorm(9), lambda m: m.GroupNorm(2, 6),
], ids=["Linear", "Conv2d", "Conv1d", "ConvTranspose2d", "ConvTranspose1d", "Embedding", "PReLU", "BatchNorm2d", "LayerNorm", "GroupNorm"])
def test_default_init_has_torch_distribution(build):
    """Same bounds and moments as the PyTorch layer's own initialization, parameter by parameter."""
    import torch
    cr.manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = build(nn), build(torch.nn)
    reference = dict(theirs.named_parameters())
    assert [name for name, _ in ours.named_parameters()] == list(reference)
    for name, parameter in ours.named_parameters():
        a, b = parameter.detach().numpy(), reference[name].detach().numpy()
        assert a.shape == b.shape and a.dtype == b.dtype, name
        if b.std() == 0:
            np.testing.assert_array_equal(a, b, err_msg=name)
            continue
        bound = np.abs(b).max() * 1.05 if b.size > 500 else np.abs(b).max() * 2   # small samples: loose
        assert np.abs(a).max() <= max(bound, 5.0 * b.std()), name
        tolerance = 4 / np.sqrt(a.size) + 0.01                                       # ~4 standard errors
        np.testing.assert_allclose(a.std(), b.std(), rtol=tolerance * 3, err_msg=name)
        assert abs(a.mean() - b.mean()) < 6 * b.std() / np.sqrt(a.size), name
