"""Tensor–tensor type promotion follows PyTorch's rule (int64 with float32 gives float32), not NumPy's."""
import itertools

import numpy as np
import pytest
import torch

import chainrule as cr

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
PAIRS = list(itertools.product(DTYPES, repeat=2))


def _pair(first, second):
    values = np.array([[1, 0], [1, 1]])
    ours = [cr.tensor(values.astype(name)) for name in (first, second)]
    theirs = [torch.tensor(values.astype(name)) for name in (first, second)]
    return ours, theirs


def _same_dtype(ours, theirs):
    return str(ours.dtype) == str(theirs.dtype).replace("torch.", "")


@pytest.mark.parametrize("first,second", PAIRS)
def test_promote_types_matches_torch(first, second):
    theirs = torch.promote_types(getattr(torch, first), getattr(torch, second))
    assert str(cr.promote_types(first, second)) == str(theirs).replace("torch.", "")


@pytest.mark.parametrize("first,second", [pair for pair in PAIRS if "bool" not in pair])
def test_binary_ops_cat_stack_and_where_promote_like_torch(first, second):
    (a, b), (ta, tb) = _pair(first, second)
    assert _same_dtype(a + b, ta + tb), (first, second, (a + b).dtype)
    assert _same_dtype(a * b, ta * tb)
    assert _same_dtype(cr.cat([a, b]), torch.cat([ta, tb]))
    assert _same_dtype(cr.stack([a, b]), torch.stack([ta, tb]))
    condition = torch.tensor([[True, False], [False, True]])
    assert _same_dtype(cr.where(cr.tensor(condition.numpy()), a, b), torch.where(condition, ta, tb))


@pytest.mark.parametrize("first,second", [("int64", "float32"), ("int32", "float64"), ("float32", "float64")])
def test_matmul_and_einsum_promote_like_torch(first, second):
    (a, b), _ = _pair(first, second)
    expected = str(torch.promote_types(getattr(torch, first), getattr(torch, second))).replace("torch.", "")
    assert str((a @ b).dtype) == expected
    assert str(cr.einsum("ij,jk->ik", a, b).dtype) == expected


def test_gradient_flows_to_the_float_operand_of_a_mixed_op():
    weights = cr.tensor([0.5, 2.0], requires_grad=True)
    counts = cr.tensor([3, 4])
    (weights * counts).sum().backward()
    assert weights.grad.dtype == cr.float32
    assert weights.grad.tolist() == [3.0, 4.0]
