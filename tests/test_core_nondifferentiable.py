"""Non-differentiable ops (comparisons, argmax, one_hot...) and broadcasting shapes, against PyTorch."""
import numpy
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import chainrule as cr


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"])
def test_comparisons_match_pytorch(name):
    rng = numpy.random.default_rng(0)
    a, b = rng.integers(0, 3, (3, 4)).astype(float), rng.integers(0, 3, (4,)).astype(float)
    ours = getattr(cr, name)(cr.tensor(a), cr.tensor(b))
    expected = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
    assert ours.dtype == cr.bool and ours.numpy().tolist() == expected.numpy().tolist()


def test_argmax_argmin_and_max_indices_match_pytorch():
    rng = numpy.random.default_rng(1)
    a = rng.standard_normal((3, 5, 2))
    x, t = cr.tensor(a), torch.tensor(a)
    assert x.argmax().item() == t.argmax().item()
    assert x.argmin(1).tolist() == t.argmin(1).tolist()
    assert x.argmax(-1, keepdim=True).shape == tuple(t.argmax(-1, keepdim=True).shape)
    values, indices = x.max(1)
    expected = t.max(1)
    assert indices.tolist() == expected.indices.tolist()
    numpy.testing.assert_allclose(values.numpy(), expected.values.numpy())


def test_one_hot_isnan_isinf_all_any():
    labels = cr.tensor([0, 2, 1, 2])
    assert cr.one_hot(labels, 4).tolist() == torch.nn.functional.one_hot(torch.tensor([0, 2, 1, 2]), 4).tolist()
    with pytest.raises(ValueError, match=r"one_hot: class values must be in \[0, 2\)"):
        cr.one_hot(labels, 2)
    x = cr.tensor([1.0, float("nan"), float("inf")])
    assert cr.isnan(x).tolist() == [False, True, False]
    assert cr.isinf(x).tolist() == [False, False, True]
    assert cr.isfinite(x).tolist() == [True, False, False]
    assert cr.tensor([[1, 0], [1, 1]]).all(1).tolist() == [False, True]
    assert cr.tensor([[1, 0], [0, 0]]).any(0).tolist() == [True, False]


def test_split_sections_chunk_and_unbind_shapes():
    x = cr.arange(10).reshape(5, 2)
    assert [p.shape for p in x.split([1, 4])] == [(1, 2), (4, 2)]
    assert [p.shape for p in x.chunk(2)] == [tuple(p.shape) for p in torch.arange(10).reshape(5, 2).chunk(2)]
    assert [p.tolist() for p in x.unbind(1)] == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]
    with pytest.raises(ValueError, match="split: section sizes"):
        x.split([1, 1])


@settings(max_examples=30, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3), seed=st.integers(0, 2**32 - 1))
def test_binary_broadcasting_matches_pytorch_for_any_broadcastable_shapes(shapes, seed):
    rng = numpy.random.default_rng(seed)
    a, b = rng.standard_normal(shapes.input_shapes[0]), rng.standard_normal(shapes.input_shapes[1])
    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out = (x * y + x - y / (1 + y * y)).sum()
    expected = (tx * ty + tx - ty / (1 + ty * ty)).sum()
    out.backward()
    expected.backward()
    assert x.grad.shape == tuple(shapes.input_shapes[0]) and y.grad.shape == tuple(shapes.input_shapes[1])
    numpy.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    numpy.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", cr.ops.NON_DIFFERENTIABLE)
def test_the_declared_non_differentiable_ops_record_no_graph(name):
    x = cr.tensor([[0.5, -1.0], [2.0, 0.0]], requires_grad=True)
    op = getattr(cr.ops, name)
    if name == "one_hot":
        out = op(cr.tensor([0, 2]))                       # class labels are integers: nothing to differentiate
    elif name in ("eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"):
        out = op(x, x * 2)
    else:
        out = op(x)
    assert not out.requires_grad and out.grad_fn is None
    assert out.dtype in (cr.bool, cr.int64)
    assert name in cr.ops.__all__
