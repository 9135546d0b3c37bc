"""The fused Affine primitive (Linear's y = xWᵀ + b) against its composed form, to second order."""
import numpy
import pytest

import chainrule as cr
from chainrule.core.primitive import apply
from chainrule.func import gradcheck, gradgradcheck
from chainrule.nn.primitives import Affine


@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_affine_matches_composed_form_values_and_gradients(x_shape, with_bias):
    rng = numpy.random.default_rng(0)
    x = cr.tensor(rng.standard_normal(x_shape), requires_grad=True)
    w = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = cr.tensor(rng.standard_normal(4), requires_grad=True)
    inputs = (x, w, b) if with_bias else (x, w)

    def fused(*args):
        return apply(Affine, *args)

    def composed(*args):
        out = args[0] @ args[1].mT
        return out + args[2] if len(args) == 3 else out

    numpy.testing.assert_allclose(fused(*inputs).detach().numpy(),
                                  composed(*inputs).detach().numpy(), rtol=1e-12)
    cotangent = cr.tensor(rng.standard_normal(x_shape[:-1] + (4,)))
    fused_grads = cr.autograd.grad(fused(*inputs), inputs, cotangent)
    composed_grads = cr.autograd.grad(composed(*inputs), inputs, cotangent)
    for ours, reference in zip(fused_grads, composed_grads):
        numpy.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-12)
    assert gradcheck(fused, inputs)
    assert gradgradcheck(fused, inputs)


def test_linear_weight_gradient_comes_out_in_the_weights_layout():
    layer = cr.nn.Linear(6, 4)
    layer(cr.randn(8, 6)).sum().backward()
    assert layer.weight.grad.array.flags.c_contiguous and layer.weight.grad.shape == (4, 6)


@pytest.mark.parametrize("rows, features", [(8, 32), (3, 12), (64, 32), (5, 4)])   # W·xᵀ for 4·rows ≤ features
@pytest.mark.parametrize("leading", [(), (1,)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_affine_forward_is_bitwise_the_direct_product_in_rows(rows, features, leading, with_bias):
    rng = numpy.random.default_rng(1)
    x = rng.standard_normal(leading + (rows, 37)).astype(numpy.float32)
    w = rng.standard_normal((features, 37)).astype(numpy.float32)
    b = rng.standard_normal(features).astype(numpy.float32)
    out = apply(Affine, cr.tensor(x), cr.tensor(w), *([cr.tensor(b)] if with_bias else [])).array
    expected = numpy.dot(x.reshape(-1, 37), w.T)
    if with_bias:
        expected += b
    assert out.shape == leading + (rows, features) and out.dtype == numpy.float32 and out.flags.c_contiguous
    assert numpy.array_equal(out, expected.reshape(leading + (rows, features)))


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("x_shape", [(6, 5), (2, 3, 5), (5,)])
def test_affine_plain_backward_gives_the_bits_of_the_recorded_one(dtype, x_shape):
    # A plain backward runs the rules on raw arrays; create_graph=True runs them as tensor ops.
    rng = numpy.random.default_rng(2)
    x = cr.tensor(rng.standard_normal(x_shape).astype(dtype), requires_grad=True)
    w = cr.tensor(rng.standard_normal((24, 5)).astype(dtype), requires_grad=True)
    b = cr.tensor(rng.standard_normal(24).astype(dtype), requires_grad=True)
    cotangent = cr.tensor(rng.standard_normal(x_shape[:-1] + (24,)).astype(dtype))
    plain = cr.autograd.grad(apply(Affine, x, w, b), (x, w, b), cotangent)
    recorded = cr.autograd.grad(apply(Affine, x, w, b), (x, w, b), cotangent, create_graph=True)
    for ours, reference, tensor in zip(plain, recorded, (x, w, b)):
        assert ours.shape == tensor.shape and ours.dtype == tensor.dtype
        assert numpy.array_equal(ours.numpy(), reference.detach().numpy())
