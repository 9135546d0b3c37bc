"""Tensor.register_post_accumulate_grad_hook (what DistributedDataParallel's buckets listen to), against PyTorch."""
import numpy
import pytest

import chainrule as cr


def test_post_accumulate_grad_hook_sees_the_final_gradient_as_in_torch():
    torch = pytest.importorskip("torch")
    values = numpy.array([0.5, -1.5, 2.0])
    seen = {"chainrule": [], "torch": []}
    x = cr.tensor(values, requires_grad=True)
    tx = torch.tensor(values, requires_grad=True)
    handle = x.register_post_accumulate_grad_hook(lambda t: seen["chainrule"].append(t.grad.numpy().copy()))
    torch_handle = tx.register_post_accumulate_grad_hook(lambda t: seen["torch"].append(t.grad.numpy().copy()))
    for build in (lambda v: (v * v + v).sum(), lambda v: (3 * v).sum()):  # x used twice: one call per backward
        build(x).backward()
        build(tx).backward()
    handle.remove()
    torch_handle.remove()
    (x * 2).sum().backward()
    (tx * 2).sum().backward()
    assert len(seen["chainrule"]) == len(seen["torch"]) == 2
    for mine, theirs in zip(seen["chainrule"], seen["torch"]):
        numpy.testing.assert_allclose(mine, theirs, rtol=1e-15)
    numpy.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15)


def test_post_accumulate_grad_hook_refuses_what_torch_refuses():
    leaf = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf tensors"):
        (leaf * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        cr.tensor([1.0]).register_post_accumulate_grad_hook(lambda t: None)
    leaf.register_post_accumulate_grad_hook(lambda t: 5)
    with pytest.raises(TypeError, match="must return None"):
        (leaf * 2).sum().backward()


def test_post_accumulate_grad_hook_may_change_the_gradient_and_skips_autograd_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    calls = []

    def halve(tensor):
        calls.append(1)
        tensor.grad.array *= 0.5

    x.register_post_accumulate_grad_hook(halve)
    (x * 4).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    cr.autograd.grad((x * 4).sum(), x)
    assert len(calls) == 1
