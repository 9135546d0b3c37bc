"""Convolution: im2col/col2im primitives, Conv1d/Conv2d/ConvTranspose1d/ConvTranspose2d against PyTorch and gradcheck."""
import itertools

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings, strategies as st

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.func import gradcheck, gradgradcheck
from chainrule.ops.convolution import col2im, im2col
from nn_torch_reference import compare_with_torch, copy_weights, leaf64

RNG = np.random.default_rng(1234)

MODES = ["zeros", "reflect", "replicate", "circular"]
# Every stride × padding × dilation combination, with groups and padding_mode cycled through
# so that each value of each is met several times (the full product would be 4× slower).
CONV2D_GRID = [
    dict(stride=stride, padding=padding, dilation=dilation, groups=1 + index % 2, padding_mode=MODES[index % 4])
    for index, (stride, padding, dilation) in enumerate(
        (s, p, d) for s, p, d in itertools.product([1, 2, (2, 1)], [0, 1, (2, 1), "same", "valid"], [1, 2])
        if not (p == "same" and s != 1))
] + [dict(padding=1, padding_mode=mode, groups=2) for mode in MODES]


@pytest.mark.parametrize("options", CONV2D_GRID, ids=str)
def test_conv2d_matches_torch_over_the_option_grid(options):
    layer = nn.Conv2d(4, 6, 3, **options).double()
    reference = torch.nn.Conv2d(4, 6, 3, **options).double()
    copy_weights(layer, reference)
    compare_with_torch(layer, reference, [RNG.standard_normal((2, 4, 7, 8))])


@pytest.mark.parametrize("options", [dict(kernel_size=(2, 3), bias=False), dict(kernel_size=1, stride=3),
                                     dict(kernel_size=(3, 1), groups=4, padding=(1, 0))], ids=str)
def test_conv2d_rectangular_kernels_depthwise_and_no_bias(options):
    layer = nn.Conv2d(4, 8, **options).double()
    reference = torch.nn.Conv2d(4, 8, **options).double()
    copy_weights(layer, reference)
    compare_with_torch(layer, reference, [RNG.standard_normal((3, 4, 6, 5))])


@pytest.mark.parametrize("options", [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=3),
                                     dict(groups=2, padding=2, padding_mode="reflect"),
                                     dict(padding=1, padding_mode="circular", stride=2)], ids=str)
def test_conv1d_matches_torch(options):
    layer = nn.Conv1d(4, 6, 3, **options).double()
    reference = torch.nn.Conv1d(4, 6, 3, **options).double()
    copy_weights(layer, reference)
    compare_with_torch(layer, reference, [RNG.standard_normal((2, 4, 11))])


@pytest.mark.parametrize("options", [dict(), dict(stride=2), dict(stride=2, padding=1, output_padding=1),
                                     dict(stride=(2, 3), padding=(0, 1), dilation=2, groups=2, output_padding=(1, 2)),
                                     dict(bias=False, dilation=(1, 2))], ids=str)
def test_conv_transpose2d_matches_torch(options):
    layer = nn.ConvTranspose2d(4, 6, 3, **options).double()
    reference = torch.nn.ConvTranspose2d(4, 6, 3, **options).double()
    copy_weights(layer, reference)
    compare_with_torch(layer, reference, [RNG.standard_normal((2, 4, 5, 4))])


def test_conv_transpose2d_output_size_argument_matches_torch():
    layer = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1).double()
    reference = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1).double()
    copy_weights(layer, reference)
    x = RNG.standard_normal((1, 3, 4, 4))
    ours = layer(cr.tensor(x), output_size=(8, 8))
    theirs = reference(torch.tensor(x), output_size=(8, 8))
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="output_size"):
        layer(cr.tensor(x), output_size=(11, 11))


@pytest.mark.parametrize("options", [dict(), dict(stride=2), dict(stride=2, padding=1, output_padding=1),
                                     dict(stride=3, padding=2, dilation=2, groups=2, output_padding=2),
                                     dict(bias=False, dilation=3)], ids=str)
def test_conv_transpose1d_matches_torch(options):
    layer = nn.ConvTranspose1d(4, 6, 3, **options).double()
    reference = torch.nn.ConvTranspose1d(4, 6, 3, **options).double()
    copy_weights(layer, reference)
    compare_with_torch(layer, reference, [RNG.standard_normal((2, 4, 7))])


def test_conv_transpose1d_output_size_gradcheck_and_errors():
    layer = nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1).double()
    reference = torch.nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1).double()
    copy_weights(layer, reference)
    x = RNG.standard_normal((1, 3, 4))
    ours = layer(cr.tensor(x), output_size=(8,))
    theirs = reference(torch.tensor(x), output_size=(8,))
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match=r"ConvTranspose1d: output_size \(11,\) is not reachable"):
        layer(cr.tensor(x), output_size=(11,))
    with pytest.raises(ValueError, match=r"ConvTranspose1d: expected a 3-D input \(N, C, L\)"):
        layer(cr.zeros(4, dtype=cr.float64))
    x64, weight = leaf64(RNG.standard_normal((2, 4, 5))), leaf64(RNG.standard_normal((4, 3, 3)))
    assert gradcheck(lambda x, w: F.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1), (x64, weight))
    assert gradgradcheck(lambda x, w: F.conv_transpose1d(x, w, stride=2, dilation=2), (x64, weight))


def test_conv_float32_matches_torch():
    layer = nn.Conv2d(3, 5, 3, padding=1, stride=2)
    reference = torch.nn.Conv2d(3, 5, 3, padding=1, stride=2)
    copy_weights(layer, reference)
    out = compare_with_torch(layer, reference, [RNG.standard_normal((2, 3, 9, 9)).astype(np.float32)],
                             rtol=1e-4, atol=1e-5)
    assert out.dtype == cr.float32


@pytest.mark.parametrize("options", [dict(stride=2, padding=1, dilation=1, groups=1),
                                     dict(stride=1, padding="same", dilation=2, groups=2)], ids=str)
def test_conv2d_gradcheck_and_gradgradcheck(options):
    x = leaf64(RNG.standard_normal((2, 4, 5, 5)))
    weight = leaf64(RNG.standard_normal((3 * options["groups"], 4 // options["groups"], 3, 3)))
    bias = leaf64(RNG.standard_normal(3 * options["groups"]))

    def conv(x, weight, bias):
        return F.conv2d(x, weight, bias, **options)

    assert gradcheck(conv, (x, weight, bias))
    assert gradgradcheck(conv, (x, weight, bias))


def test_conv_transpose2d_and_conv1d_gradcheck():
    x = leaf64(RNG.standard_normal((1, 2, 3, 3)))
    weight = leaf64(RNG.standard_normal((2, 3, 2, 3)))
    assert gradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=(0, 1), output_padding=1), (x, weight))
    assert gradgradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2), (x, weight))
    x1 = leaf64(RNG.standard_normal((2, 2, 6)))
    w1 = leaf64(RNG.standard_normal((3, 2, 3)))
    assert gradcheck(lambda x, w: F.conv1d(x, w, padding=2, padding_mode="reflect"), (x1, w1))


def test_unfold_and_fold_match_torch_layout_and_gradients():
    x = RNG.standard_normal((2, 3, 6, 7))
    options = dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    ours_x = cr.tensor(x, requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    ours = F.unfold(ours_x, **options)
    theirs = torch.nn.functional.unfold(theirs_x, **options)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy())
    cotangent = RNG.standard_normal(theirs.shape)
    (ours * cr.tensor(cotangent)).sum().backward()
    (theirs * torch.tensor(cotangent)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-12)
    folded = F.fold(cr.tensor(cotangent), (6, 7), **options)
    expected = torch.nn.functional.fold(torch.tensor(cotangent), (6, 7), **options)
    np.testing.assert_allclose(folded.numpy(), expected.numpy(), rtol=1e-12)


@settings(max_examples=15, deadline=None)
@given(kernel=st.integers(1, 3), stride=st.integers(1, 3), dilation=st.integers(1, 2), pad=st.integers(0, 2),
       height=st.integers(5, 8), width=st.integers(5, 8), seed=st.integers(0, 2**31))
def test_fold_is_the_adjoint_of_unfold(kernel, stride, dilation, pad, height, width, seed):
    """<unfold(x), c> = <x, fold(c)> for all x, c: the property that makes each the other's derivative."""
    rng = np.random.default_rng(seed)
    shape = (2, 3, height, width)
    padding = ((pad, 0), (1, pad))
    x = cr.tensor(rng.standard_normal(shape))
    columns = im2col(x, (kernel, kernel), (dilation, dilation), (stride, stride), padding)
    c = cr.tensor(rng.standard_normal(columns.shape))
    back = col2im(c, shape, (kernel, kernel), (dilation, dilation), (stride, stride), padding)
    assert back.shape == shape
    assert np.isclose((columns * c).sum().item(), (x * back).sum().item(), rtol=1e-10)


def test_unfold_and_fold_primitives_gradcheck_both_orders():
    x = leaf64(RNG.standard_normal((2, 2, 4, 5)))
    options = dict(kernel_size=(2, 2), dilation=(1, 2), stride=(2, 1), padding=((1, 0), (0, 2)))
    assert gradcheck(lambda x: im2col(x, **options), (x,))
    assert gradgradcheck(lambda x: im2col(x, **options) ** 2, (x,))
    c = leaf64(RNG.standard_normal(tuple(im2col(x.detach(), **options).shape)))
    assert gradcheck(lambda c: col2im(c, (2, 2, 4, 5), **options), (c,))
    assert gradgradcheck(lambda c: col2im(c, (2, 2, 4, 5), **options) ** 2, (c,))


def test_conv_default_init_matches_torch_distribution():
    cr.manual_seed(0)
    layer = nn.Conv2d(16, 32, 3)
    bound = 1 / np.sqrt(16 * 9)
    weight = layer.weight.detach().numpy()
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.95 * bound
    assert abs(weight.mean()) < 0.05 * bound
    np.testing.assert_allclose(weight.std(), bound / np.sqrt(3), rtol=0.05)   # U(-b, b) has std b/√3
    assert np.abs(layer.bias.detach().numpy()).max() <= bound


def test_conv2d_errors_name_the_layer_and_the_shapes():
    layer = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"Conv2d: expected a 4-D input .*unbatched \(C, H, W\).*\(8, 8\)"):
        layer(cr.zeros(8, 8))
    with pytest.raises(ValueError, match=r"Conv2d: .*\(2, 5, 8, 8\) has 5 channels.*in_channels=3"):
        layer(cr.zeros(2, 5, 8, 8))
    with pytest.raises(ValueError, match=r"conv2d: the kernel \(3, 3\).*larger than the padded input.*\(2, 2\)"):
        layer(cr.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(TypeError, match="dtype float64 does not match weight dtype float32"):
        layer(cr.zeros(1, 3, 5, 5, dtype=cr.float64))
    with pytest.raises(ValueError, match=r"Conv1d: expected a 3-D input"):
        nn.Conv1d(3, 4, 3)(cr.zeros(1, 3, 5, 5))
    with pytest.raises(ValueError, match="conv1d: padding must be an int, a tuple, 'same' or 'valid', got 'full'"):
        F.conv1d(cr.zeros(1, 2, 5), cr.zeros(1, 2, 3), padding="full")
    with pytest.raises(ValueError, match=r"ConvTranspose2d: the input of shape \(1, 2, 4, 4\) has 2 channels"):
        nn.ConvTranspose2d(3, 4, 3)(cr.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match="output_padding .* must be smaller than stride"):
        F.conv_transpose2d(cr.zeros(1, 2, 3, 3), cr.zeros(2, 2, 3, 3), stride=1, output_padding=1)


def test_conv_repr_lists_the_options():
    text = repr(nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False))
    assert text.startswith("Conv2d(3, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)")
    assert "108 parameters" in text


@settings(max_examples=20, deadline=None)
@given(kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)), stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       padding=st.tuples(st.integers(0, 2), st.integers(0, 2)), dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       groups=st.sampled_from([1, 2]), size=st.tuples(st.integers(6, 10), st.integers(6, 10)),
       seed=st.integers(0, 2**31))
def test_conv2d_property_matches_torch_on_random_geometry(kernel, stride, padding, dilation, groups, size, seed):
    """Any geometry where the kernel fits: same output shape, values and gradients as PyTorch."""
    assume(all(d * (k - 1) + 1 <= n + 2 * p for k, d, n, p in zip(kernel, dilation, size, padding)))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, *size))
    weight = rng.standard_normal((4, 2 // groups, *kernel))
    ours_x, ours_w = cr.tensor(x, requires_grad=True), cr.tensor(weight, requires_grad=True)
    theirs_x, theirs_w = torch.tensor(x, requires_grad=True), torch.tensor(weight, requires_grad=True)
    ours = F.conv2d(ours_x, ours_w, None, stride, padding, dilation, groups)
    theirs = torch.nn.functional.conv2d(theirs_x, theirs_w, None, stride, padding, dilation, groups)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-10)
    cotangent = rng.standard_normal(ours.shape)
    (ours * cr.tensor(cotangent)).sum().backward()
    (theirs * torch.tensor(cotangent)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours_w.grad.numpy(), theirs_w.grad.numpy(), rtol=1e-10, atol=1e-10)
