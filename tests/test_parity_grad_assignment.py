"""Assigning .grad is checked at the assignment, as PyTorch checks it: type, shape, dtype."""
import numpy
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.optim as optim


@pytest.mark.parametrize("wrong, error, words", [
    (0.0, TypeError, "expected to be a Tensor or None but got grad of type float"),
    (numpy.zeros(3, numpy.float32), TypeError, "got grad of type ndarray"),
    ("zero", TypeError, "got grad of type str"),
])
def test_a_grad_that_is_not_a_tensor_is_refused_as_torch_refuses_it(wrong, error, words):
    x, tx = cr.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    with pytest.raises(TypeError):
        tx.grad = wrong
    with pytest.raises(error, match=words) as caught:
        x.grad = wrong
    assert "x.grad = None" in str(caught.value)
    assert x.grad is None


@pytest.mark.parametrize("shape, dtype, words", [
    ((4,), cr.float32, "assigned grad has shape \\(4,\\) but the tensor has shape \\(3,\\)"),
    ((3, 1), cr.float32, "shape \\(3, 1\\)"),
    ((3,), cr.float64, "dtype float64 but the tensor has dtype float32"),
])
def test_a_grad_of_the_wrong_shape_or_dtype_is_refused(shape, dtype, words):
    x, tx = cr.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        tx.grad = torch.zeros(shape, dtype=getattr(torch, str(dtype)))
    with pytest.raises(RuntimeError, match=words):
        x.grad = cr.zeros(*shape, dtype=dtype)
    assert x.grad is None


def test_a_right_grad_is_taken_and_used():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    x.grad = cr.tensor([0.5, 0.5])
    (x * 3).sum().backward()                         # accumulates into the assigned gradient
    assert x.grad.tolist() == [3.5, 3.5]
    x.grad = None
    assert x.grad is None
    model = nn.Linear(2, 1)
    optimizer = optim.SGD(model.parameters(), lr=1.0)
    model.weight.grad = cr.ones(1, 2)
    before = model.weight.detach().numpy().copy()
    optimizer.step()
    numpy.testing.assert_allclose(model.weight.detach().numpy(), before - 1.0)
    optimizer.zero_grad()
    assert model.weight.grad is None
