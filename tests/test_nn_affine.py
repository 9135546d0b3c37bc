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
