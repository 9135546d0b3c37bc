"""The fused SoftmaxCrossEntropy primitive against the composed cross-entropy and PyTorch, to second order."""
import numpy
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.func import gradcheck, gradgradcheck


def _inputs(seed, with_ignored):
    rng = numpy.random.default_rng(seed)
    logits = rng.standard_normal((6, 4)) * 3
    target = rng.integers(0, 4, 6)
    if with_ignored:
        target[[1, 4]] = -100
    return logits, target


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("with_ignored", [False, True])
def test_fused_matches_composed_form_and_pytorch(reduction, with_ignored):
    logits, target = _inputs(0, with_ignored)
    x = cr.tensor(logits, requires_grad=True)
    y = cr.tensor(target)
    ones = cr.ones(4, dtype=cr.float64)  # a weight sends cross_entropy down the composed path
    fused = F.cross_entropy(x, y, reduction=reduction)
    composed = F.cross_entropy(x, y, weight=ones, reduction=reduction)
    assert fused.grad_fn.name == "softmax_cross_entropy" and composed.grad_fn.name != "softmax_cross_entropy"
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits, requires_grad=True), torch.tensor(target), reduction=reduction)
    numpy.testing.assert_allclose(fused.detach().numpy(), composed.detach().numpy(), rtol=1e-12, atol=1e-14)
    numpy.testing.assert_allclose(fused.detach().numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-14)
    cotangent = cr.tensor(numpy.random.default_rng(1).standard_normal(fused.shape))
    (g_fused,) = cr.autograd.grad(fused, x, cotangent)
    (g_composed,) = cr.autograd.grad(composed, x, cotangent)
    numpy.testing.assert_allclose(g_fused.numpy(), g_composed.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_fused_gradcheck_and_gradgradcheck(reduction):
    logits, target = _inputs(2, with_ignored=True)
    x = cr.tensor(logits, requires_grad=True)
    y = cr.tensor(target)
    assert gradcheck(lambda t: F.cross_entropy(t, y, reduction=reduction), (x,))
    assert gradgradcheck(lambda t: F.cross_entropy(t, y, reduction=reduction), (x,))


def test_fused_is_stable_at_extreme_logits():
    x = cr.tensor([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]], requires_grad=True)
    y = cr.tensor([1, 2])
    t = torch.tensor([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]], requires_grad=True)
    loss = F.cross_entropy(x, y)
    expected = torch.nn.functional.cross_entropy(t, torch.tensor([1, 2]))
    loss.backward()
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    numpy.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-7)
