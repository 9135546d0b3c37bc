"""The BatchNorm primitive (training-mode batch norm with its affine as one op): PyTorch on hypothesis-drawn
shapes (float32 values and gradients, the running estimates), what the graph keeps, double backward."""
import numpy
import torch
from hypothesis import given, settings, strategies as st

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.func import gradcheck, gradgradcheck
from chainrule.nn.primitives import BatchNorm


@settings(max_examples=15, deadline=None)
@given(batch=st.integers(2, 4), channels=st.integers(1, 3), spatial=st.sampled_from([(), (3,), (2, 3)]),
       seed=st.integers(0, 2 ** 16))
def test_batch_norm_matches_pytorch_in_float32(batch, channels, spatial, seed):
    rng = numpy.random.default_rng(seed)
    shape = (batch, channels) + spatial
    x, upstream = (rng.standard_normal(shape).astype(numpy.float32) * 3 + 1 for _ in range(2))
    weight, bias = (rng.standard_normal(channels).astype(numpy.float32) for _ in range(2))
    running = [numpy.zeros(channels, numpy.float32), numpy.ones(channels, numpy.float32)]
    ours = [cr.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    our_running, their_running = [cr.tensor(a.copy()) for a in running], [torch.tensor(a.copy()) for a in running]
    out = F.batch_norm(ours[0], *our_running, ours[1], ours[2], training=True, momentum=0.2)
    reference = torch.nn.functional.batch_norm(theirs[0], *their_running, theirs[1], theirs[2], training=True,
                                               momentum=0.2)
    assert out._op is BatchNorm
    out.backward(cr.tensor(upstream))
    reference.backward(torch.tensor(upstream))
    numpy.testing.assert_allclose(out.detach().numpy(), reference.detach().numpy(), atol=2e-5, rtol=1e-4)
    for mine, torchs in zip(ours, theirs):
        numpy.testing.assert_allclose(mine.grad.numpy(), torchs.grad.numpy(), atol=1e-4, rtol=1e-3)
    for mine, torchs in zip(our_running, their_running):
        numpy.testing.assert_allclose(mine.numpy(), torchs.numpy(), atol=1e-6, rtol=1e-5)


def test_the_graph_keeps_x_and_the_parameters_only():
    x = cr.randn(4, 3, 5, requires_grad=True)
    weight, bias = cr.ones(3, requires_grad=True), cr.zeros(3, requires_grad=True)
    out = F.batch_norm(x, None, None, weight, bias, training=True)
    assert out._op is BatchNorm
    assert len(out._inputs) == 3 and all(a is b for a, b in zip(out._inputs, (x, weight, bias)))
    mean, var = out._params["statistics"]
    assert mean.shape == var.shape == (1, 3, 1)   # per-channel statistics, not full-size arrays


def test_batch_norm_second_derivatives_through_the_module():
    layer = cr.nn.BatchNorm1d(2).double()
    x = cr.tensor(numpy.random.default_rng(3).standard_normal((5, 2, 3)), requires_grad=True)
    assert gradcheck(lambda x: layer(x), (x,))
    assert gradgradcheck(lambda x: layer(x) ** 2, (x,))
    (grad,) = cr.autograd.grad((layer(x) ** 3).sum(), x, create_graph=True)
    grad.sum().backward()   # double backward through the card's recorded rule reaches the weight
    assert layer.weight.grad is not None and x.grad is not None
