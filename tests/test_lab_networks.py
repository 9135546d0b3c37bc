"""Labs activations, convolution and backprop, checked against PyTorch and SciPy."""
import numpy
import pytest
import scipy.signal
import torch

import chainrule.lab
from chainrule.lab.networks import CONV_SETTINGS, small_network_loss


@pytest.fixture(scope="module")
def labs(tmp_path_factory):
    out = tmp_path_factory.mktemp("networks")
    return {topic: chainrule.lab.run(topic, out) for topic in ("activations", "convolution", "backprop")}


TORCH_ACTIVATIONS = {
    "ReLU": torch.relu, "LeakyReLU": lambda x: torch.nn.functional.leaky_relu(x, 0.1), "ELU": torch.nn.functional.elu,
    "GELU": torch.nn.functional.gelu, "SiLU": torch.nn.functional.silu, "Sigmoid": torch.sigmoid,
    "Tanh": torch.tanh, "Softplus": torch.nn.functional.softplus,
}


def test_activation_curves_and_derivatives_match_torch(labs):
    result = labs["activations"]
    x = torch.tensor(result.data["x"], requires_grad=True)
    for name, function in TORCH_ACTIVATIONS.items():
        values, slopes = result.data["curves"][name]
        y = function(x)
        (slope,) = torch.autograd.grad(y.sum(), x)
        numpy.testing.assert_allclose(values, y.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=name)
        numpy.testing.assert_allclose(slopes, slope.numpy(), rtol=1e-12, atol=1e-14, err_msg=name)
    # LeakyReLU is drawn visibly apart from ReLU: at x = −4 it is −0.4, not 0.
    relu, leaky = result.data["curves"]["ReLU"][0], result.data["curves"]["LeakyReLU"][0]
    assert numpy.abs(relu - leaky).max() > 0.3
    sigmoid = 1 / (1 + numpy.exp(-result.data["x"]))
    assert abs(result.numbers["sigmoid_max_slope"] - (sigmoid * (1 - sigmoid)).max()) < 1e-15
    assert 0.2499 < result.numbers["sigmoid_max_slope"] <= 0.25


def test_sigmoid_gradients_vanish_through_depth_and_relu_ones_do_not(labs):
    numbers = labs["activations"].numbers
    assert numbers["first_to_last_ratio"]["sigmoid"] < 1e-4
    assert numbers["first_to_last_ratio"]["ReLU"] > 0.1
    assert numbers["vanishing_layers"]["sigmoid"][0] == "0" and numbers["vanishing_layers"]["ReLU"] == []
    norms = labs["activations"].data["flow_norms"]["sigmoid"]
    assert norms.shape == (5, 10) and numpy.all(numpy.diff(norms.mean(axis=0)) > 0)


def test_output_sizes_follow_the_formula_and_torch(labs):
    for row, (kernel, stride, padding, dilation) in zip(labs["convolution"].numbers["sizes"],
                                                        CONV_SETTINGS):
        torch_size = torch.nn.functional.conv2d(torch.zeros(1, 1, 28, 28), torch.zeros(1, 1, kernel, kernel),
                                                stride=stride, padding=padding, dilation=dilation).shape[-1]
        assert row["formula"] == row["actual"] == torch_size, row
    pools = labs["convolution"].numbers["sizes"][-2:]
    assert [p["actual"] for p in pools] == [torch.nn.functional.max_pool2d(torch.zeros(1, 1, 28, 28), k, 2).shape[-1]
                                            for k in (2, 3)]


def test_feature_maps_are_cross_correlations_and_im2col_is_a_matmul(labs):
    result = labs["convolution"]
    digit = result.data["digit"]
    for kernel, feature_map in zip(result.data["kernels"].values(), result.data["feature_maps"]):
        expected = scipy.signal.correlate2d(digit, numpy.array(kernel, dtype=float), mode="same")
        numpy.testing.assert_allclose(feature_map, expected, atol=1e-12)
    patches = result.data["patches"]
    padded = numpy.pad(digit, 1)
    assert patches.shape == (9, 784)
    numpy.testing.assert_array_equal(patches[:, 30], padded[1:4, 2:5].ravel())    # output position (1, 2)
    assert result.numbers["im2col_max_difference"] < 1e-12


def test_backprop_explanation_equals_backward_and_torch(labs):
    result = labs["backprop"]
    explanation, t = result.data["explanation"], result.data["tensors"]
    names = ("W1", "b1", "W2", "b2")
    tt = {k: torch.tensor(v.detach().numpy(), requires_grad=k in names) for k, v in t.items()}
    loss = ((torch.sigmoid(tt["x"] @ tt["W1"] + tt["b1"]) @ tt["W2"] + tt["b2"] - tt["y"]) ** 2).mean()
    loss.backward()
    assert abs(result.numbers["loss"] - loss.item()) < 1e-15
    chainrule_loss = small_network_loss(t)
    chainrule_loss.backward()
    for name in names:
        assert numpy.array_equal(explanation.gradients[name], t[name].grad.numpy())
        numpy.testing.assert_allclose(explanation.gradients[name], tt[name].grad.numpy(), rtol=1e-13, atol=1e-16)
    dot_file = result.figures[-1]
    with open(dot_file, encoding="utf-8") as file:
        assert file.read().startswith("digraph")
    assert "Step 12." in result.text and "∂L/∂W1" in result.text
