"""Activations: module and functional forms against PyTorch (ordinary and extreme inputs), gradcheck and
gradgradcheck, and the formula/derivative strings the explainer reads."""
import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
from chainrule.func import gradcheck, gradgradcheck
from nn_torch_reference import compare_with_torch, copy_weights, leaf64

RNG = np.random.default_rng(11)

# (name, constructor arguments, whether second derivatives are smooth enough for gradgradcheck)
ACTIVATIONS = [
    ("ReLU", {}, False), ("ReLU6", {}, False), ("LeakyReLU", {}, False), ("LeakyReLU", {"negative_slope": 0.2}, False),
    ("ELU", {}, False), ("ELU", {"alpha": 0.5}, False), ("SELU", {}, False),
    ("GELU", {}, True), ("GELU", {"approximate": "tanh"}, True), ("SiLU", {}, True), ("Mish", {}, True),
    ("Softplus", {}, True), ("Softplus", {"beta": 2.0, "threshold": 5.0}, False), ("Sigmoid", {}, True),
    ("Tanh", {}, True), ("Hardtanh", {}, False), ("Hardtanh", {"min_val": -0.5, "max_val": 2.0}, False),
    ("Softmax", {"dim": 1}, True), ("LogSoftmax", {"dim": -1}, True), ("Softmax", {"dim": 0}, True),
]


def _inputs_away_from_kinks(shape):
    """Random values kept away from the kinks at 0, ±0.5, ±1, 2, 6 so finite differences are valid."""
    x = RNG.uniform(-3, 3, shape)
    for kink in (0.0, -0.5, 0.5, -1.0, 1.0, 2.0):
        x = np.where(np.abs(x - kink) < 0.05, x + 0.1, x)
    return x


@pytest.mark.parametrize("name, options, smooth", ACTIVATIONS, ids=lambda v: str(v))
def test_activation_matches_torch(name, options, smooth):
    compare_with_torch(getattr(nn, name)(**options), getattr(torch.nn, name)(**options),
                       [_inputs_away_from_kinks((3, 4, 2))])


@pytest.mark.parametrize("name, options, smooth", ACTIVATIONS, ids=lambda v: str(v))
def test_activation_gradcheck(name, options, smooth):
    layer = getattr(nn, name)(**options)
    x = leaf64(_inputs_away_from_kinks((2, 3)))
    assert gradcheck(layer, (x,))
    if smooth:
        assert gradgradcheck(layer, (x,))


@pytest.mark.parametrize("name, options, smooth", ACTIVATIONS, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_extreme_inputs_match_torch(name, options, smooth, dtype):
    """Huge and tiny inputs: same values and gradients as PyTorch, and never a NaN."""
    x = np.array([[-1e4, -100.0, -30.0, -1e-8, 1e-8, 30.0, 100.0, 1e4]], dtype=dtype)
    ours_x = cr.tensor(x, requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    ours = getattr(nn, name)(**options)(ours_x)
    theirs = getattr(torch.nn, name)(**options)(theirs_x)
    ours.sum().backward()
    theirs.sum().backward()
    tolerance = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tolerance)
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), **tolerance)
    assert not np.isnan(ours_x.grad.numpy()).any()


@pytest.mark.parametrize("name, options, smooth", [entry for entry in ACTIVATIONS if not entry[2]], ids=lambda v: str(v))
def test_piecewise_activations_take_torchs_gradient_at_their_kinks(name, options, smooth):
    """Exactly at a kink (0, the clamp bounds) the gradient is a convention: use PyTorch's.

    (Not at nan: there PyTorch's own float32 and float64 kernels disagree for hardtanh.)"""
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 6.0, 7.0])
    ours_x, theirs_x = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    getattr(nn, name)(**options)(ours_x).sum().backward()
    getattr(torch.nn, name)(**options)(theirs_x).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("num_parameters", [1, 3])
def test_prelu_matches_torch_including_the_slope_gradient(num_parameters):
    layer, reference = nn.PReLU(num_parameters).double(), torch.nn.PReLU(num_parameters).double()
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(RNG.uniform(0.1, 0.5, num_parameters)))
    copy_weights(layer, reference)
    compare_with_torch(layer, reference, [_inputs_away_from_kinks((2, 3, 4))])
    x, slope = leaf64(_inputs_away_from_kinks((2, 3))), leaf64([0.1, 0.2, 0.3][:num_parameters])
    assert gradcheck(lambda x, a: nn.functional.prelu(x, a), (x, slope))


def test_every_activation_carries_its_formula_and_derivative():
    for name in {entry[0] for entry in ACTIVATIONS} | {"PReLU"}:
        layer_class = getattr(nn, name)
        assert layer_class.formula and layer_class.derivative, name
        assert layer_class.__doc__, name
    assert "derivative" in nn.GELU.describe()


def test_activation_bad_arguments():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        nn.GELU(approximate="fast")
    with pytest.raises(ValueError, match="min_val"):
        nn.Hardtanh(2.0, 1.0)
    with pytest.warns(UserWarning, match="implicit dimension choice"):   # PyTorch's deprecated choice: dim=1 here
        assert nn.Softmax()(cr.zeros(2, 3)).sum(dim=1).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match=r"prelu: 2 slopes do not match the 3 channels"):
        nn.PReLU(2)(cr.zeros(4, 3))
