"""Tensor methods and functions ported from PyTorch: values and gradients against torch, and float64 gradient checks."""
import numpy
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule as cr
import chainrule.nn as nn
from chainrule.func import gradcheck, gradgradcheck


def _pair(array, requires_grad=True):
    return (cr.tensor(array, dtype=cr.float64, requires_grad=requires_grad),
            torch.tensor(array, dtype=torch.float64, requires_grad=requires_grad))


def _distinct(shape, seed):
    rng = numpy.random.default_rng(seed)
    return rng.permutation(int(numpy.prod(shape))).reshape(shape) * 0.37 - 1.0 + rng.normal(size=shape) * 0.01


def _same_values_and_grads(ours, theirs, inputs, torch_inputs, seed=0):
    numpy.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    cotangent = numpy.random.default_rng(seed).normal(size=ours.shape)
    ours.backward(cr.tensor(cotangent, dtype=cr.float64))
    theirs.backward(torch.tensor(cotangent, dtype=torch.float64))
    for mine, reference in zip(inputs, torch_inputs):
        numpy.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-12, atol=1e-12)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10**6), dim=st.sampled_from([0, 1, -1]), descending=st.booleans())
def test_sort_matches_torch(seed, dim, descending):
    x, tx = _pair(_distinct((3, 4), seed))
    values, indices = cr.sort(x, dim=dim, descending=descending)
    torch_values, torch_indices = torch.sort(tx, dim=dim, descending=descending)
    assert indices.tolist() == torch_indices.tolist()
    assert cr.argsort(x, dim=dim, descending=descending).tolist() == torch_indices.tolist()
    _same_values_and_grads(values, torch_values, [x], [tx], seed)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10**6), k=st.integers(0, 4), largest=st.booleans())
def test_topk_matches_torch(seed, k, largest):
    x, tx = _pair(_distinct((2, 4), seed))
    values, indices = x.topk(k, dim=1, largest=largest)
    torch_values, torch_indices = tx.topk(k, dim=1, largest=largest)
    assert indices.tolist() == torch_indices.tolist()
    _same_values_and_grads(values, torch_values, [x], [tx], seed)


def test_sorting_keeps_ties_in_order_and_nan_largest_like_torch():
    data = torch.tensor([2.0, float("nan"), 1.0, 2.0, -float("inf")])
    for descending in (False, True):
        ours = cr.sort(cr.tensor(data.numpy()), descending=descending, stable=True)
        theirs = torch.sort(data, descending=descending, stable=True)
        assert ours.indices.tolist() == theirs.indices.tolist()
    integers = torch.tensor([3, -1, 3, 0])
    assert cr.argsort(cr.tensor(integers.numpy()), descending=True).tolist() == \
        torch.sort(integers, descending=True, stable=True).indices.tolist()


@pytest.mark.parametrize("call", [lambda x: cr.sort(x, dim=0).values, lambda x: cr.topk(x, 2).values,
                                  lambda x: cr.trace(x[:, :3]), lambda x: cr.einsum("ii->i", x[:, :3]),
                                  lambda x: cr.einsum("ii", x[:, :3] * x[:, 1:])])
def test_the_composites_pass_gradcheck_and_gradgradcheck(call):
    x, _ = _pair(_distinct((3, 4), 5))
    assert gradcheck(call, (x,)) and gradgradcheck(call, (x,))


def test_sort_and_topk_refuse_bad_arguments():
    with pytest.raises(RuntimeError, match="topk: k \\(5\\) must be an integer in 0..4"):
        cr.topk(cr.zeros(4), 5)
    with pytest.raises(IndexError, match="sort: dim 2|argsort: dim 2"):
        cr.sort(cr.zeros(2, 2), dim=2)


@pytest.mark.parametrize("equation, shape", [("ii->i", (3, 3)), ("ii", (3, 3)), ("iij->j", (3, 3, 2)),
                                             ("iji->ij", (2, 4, 2)), ("iii->i", (2, 2, 2)), ("ii,i->i", None)])
def test_einsum_with_a_repeated_index_is_differentiable_like_torch(equation, shape):
    if shape is None:
        (x, tx), (v, tv) = _pair(_distinct((3, 3), 1)), _pair(_distinct((3,), 2))
        _same_values_and_grads(cr.einsum(equation, x, v), torch.einsum(equation, tx, tv), [x, v], [tx, tv])
        return
    x, tx = _pair(_distinct(shape, 3))
    _same_values_and_grads(cr.einsum(equation, x), torch.einsum(equation, tx), [x], [tx])
    assert gradgradcheck(lambda t: cr.einsum(equation, t * t), (x,))


def test_trace_bmm_mm_match_torch():
    a, ta = _pair(_distinct((4, 4), 6))
    _same_values_and_grads(cr.trace(a), torch.trace(ta), [a], [ta])
    (b, tb), (c, tc) = _pair(_distinct((2, 3, 4), 7)), _pair(_distinct((2, 4, 5), 8))
    _same_values_and_grads(cr.bmm(b, c), torch.bmm(tb, tc), [b, c], [tb, tc])
    (d, td), (e, te) = _pair(_distinct((3, 4), 9)), _pair(_distinct((4, 2), 10))
    _same_values_and_grads(d.mm(e), td.mm(te), [d, e], [td, te])
    assert gradcheck(cr.bmm, (b, c)) and gradgradcheck(cr.bmm, (b, c))
    for bad in [lambda: cr.bmm(cr.zeros(3, 4), cr.zeros(4, 2)), lambda: cr.bmm(cr.zeros(2, 3, 4), cr.zeros(3, 4, 2)),
                lambda: cr.trace(cr.zeros(2, 2, 2)), lambda: cr.mm(cr.zeros(3), cr.zeros(3))]:
        with pytest.raises(RuntimeError, match="bmm|trace|mm"):
            bad()


def test_normal_draws_are_seeded_shaped_and_differentiable():
    cr.manual_seed(3)
    first = cr.normal(2.0, 3.0, size=(20000,))
    cr.manual_seed(3)
    assert numpy.array_equal(first.numpy(), cr.normal(2.0, 3.0, size=(20000,)).numpy())
    assert abs(first.mean().item() - 2.0) < 0.1 and abs(first.std().item() - 3.0) < 0.1
    mean, std = cr.zeros(2, 1, requires_grad=True), cr.ones(1, 3, requires_grad=True)
    generator = cr.Generator().manual_seed(1)
    draw = cr.normal(mean, std, generator=generator)
    assert draw.shape == (2, 3)
    draw.sum().backward()
    noise = draw.detach().numpy()                          # mean 0, std 1: the draw is the noise ε
    numpy.testing.assert_allclose(mean.grad.numpy(), [[3.0], [3.0]])
    numpy.testing.assert_allclose(std.grad.numpy(), noise.sum(axis=0, keepdims=True), rtol=1e-6)
    torch_draw = torch.normal(torch.zeros(2, 1, requires_grad=True), torch.ones(1, 3))
    assert tuple(torch_draw.shape) == draw.shape and torch_draw.requires_grad
    with pytest.raises(RuntimeError, match="std must be >= 0"):
        cr.normal(0.0, -1.0, size=(2,))
    with pytest.raises(TypeError, match="give size="):
        cr.normal(0.0, 1.0)


def test_new_tensors_take_this_ones_dtype_and_device_like_torch():
    x, tx = cr.ones(2, dtype=cr.float64), torch.ones(2, dtype=torch.float64)
    for name, args in [("new_zeros", (2, 3)), ("new_ones", (3,)), ("new_empty", (1,))]:
        ours, theirs = getattr(x, name)(*args), getattr(tx, name)(*args)
        assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert x.new_full((2,), 7).tolist() == tx.new_full((2,), 7).tolist() and x.new_full((2,), 7).dtype == cr.float64
    assert x.new_tensor([1, 2]).dtype == cr.float64 and x.new_zeros(2, dtype=cr.int64).dtype == cr.int64
    assert x.new_ones(2, requires_grad=True).requires_grad and x.new_zeros(2).device == x.device


def test_size_numel_format_and_inference_mode():
    x = cr.zeros(2, 3)
    assert x.size() == torch.zeros(2, 3).size() and isinstance(x.size(), cr.Size) and x.size().numel() == 6
    assert cr.numel(x) == torch.numel(torch.zeros(2, 3)) and repr(cr.Size([2, 3])) == "chainrule.Size([2, 3])"
    assert isinstance(x.size()[1:], cr.Size)
    with pytest.raises(TypeError):
        cr.Size([2, -1])
    assert f"{cr.tensor(2.5):.2f}" == f"{torch.tensor(2.5):.2f}" == "2.50" and f"{cr.tensor(3):>3}" == "  3"
    with pytest.raises(TypeError):
        format(torch.tensor([2.5]), ".2f")
    with pytest.raises(TypeError):
        format(cr.tensor([2.5]), ".2f")
    assert format(cr.tensor([2.5]), "") == str(cr.tensor([2.5]))
    w = cr.ones(2, requires_grad=True)
    with cr.inference_mode():
        assert not (w * 2).requires_grad
    with cr.inference_mode(False):
        assert (w * 2).requires_grad

    @cr.inference_mode()
    def predict(v):
        return v * 2

    assert not predict(w).requires_grad and cr.is_grad_enabled()


def test_tensor_hooks_see_and_replace_gradients_like_torch():
    def run(library):
        x = library.tensor([1.0, 2.0, 3.0], requires_grad=True)
        seen = []
        y = x * x
        y.register_hook(lambda grad: seen.append(("y", grad.tolist())))
        handle = x.register_hook(lambda grad: grad * 10)
        x.register_hook(lambda grad: seen.append(("x", grad.tolist())))
        (y.sum() + x.sum()).backward()
        handle.remove()
        x.grad = None
        (x * 2).sum().backward()
        return seen, x.grad.tolist()

    assert run(cr) == run(torch)


def test_tensor_hook_misuse_is_explained():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        cr.ones(2).register_hook(lambda g: g)
    x = cr.ones(2, requires_grad=True)
    x.register_hook(lambda g: cr.ones(3))
    with pytest.raises(RuntimeError, match="hook returned \\(3,\\) for a gradient of shape \\(2,\\)"):
        (x * 2).sum().backward()


def _module_hooks(library):
    torch_like_nn = library.nn
    library.manual_seed(0)
    layer = torch_like_nn.Linear(3, 2)
    with library.no_grad():
        layer.weight.copy_(library.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]]))
        layer.bias.copy_(library.tensor([0.1, -0.1]))
    events = []
    layer.register_forward_pre_hook(lambda module, args: (args[0] * 2,))
    layer.register_forward_hook(lambda module, args, output: output + 1)
    layer.register_full_backward_hook(
        lambda module, grad_input, grad_output: events.append(
            ([None if g is None else g.tolist() for g in grad_input], [g.tolist() for g in grad_output])))
    x = library.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    out = layer(x)
    (out * library.tensor([[1.0, 3.0]])).sum().backward()
    plain = library.tensor([[1.0, 0.0, 0.0]])
    layer(plain).sum().backward()
    return out.tolist(), x.grad.tolist(), layer.weight.grad.tolist(), events


def test_module_hooks_run_where_torchs_run_with_torchs_gradients():
    assert _module_hooks(cr) == _module_hooks(torch)


def test_a_backward_hook_can_replace_grad_input_and_handles_remove_hooks():
    for library in (cr, torch):
        layer = library.nn.Linear(2, 2)
        handle = layer.register_full_backward_hook(lambda module, grad_input, grad_output: (grad_input[0] * 0,))
        x = library.ones(1, 2, requires_grad=True)
        layer(x).sum().backward()
        assert x.grad.tolist() == [[0.0, 0.0]]
        handle.remove()
        x.grad = None
        layer(x).sum().backward()
        assert x.grad.abs().sum().item() > 0
    calls = []
    module = nn.ReLU()
    with module.register_forward_hook(lambda *a: calls.append(1)):
        module(cr.ones(1))
    module(cr.ones(1))
    assert calls == [1]
    with pytest.raises(TypeError, match="expected a function"):
        module.register_forward_hook(3)
