"""``Tensor.data`` is a Tensor sharing storage, outside the graph, as in PyTorch (issue 18, item 1).

``Tensor.array`` is the raw NumPy/CuPy array. A ported script's manual update
(``p.data -= lr * p.grad``, ``p.data.add_(...)``) must move the parameter, keep its array an
array, and give PyTorch's numbers.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule as cr
import chainrule.nn as nn


def test_data_is_a_detached_tensor_sharing_the_array():
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    view = w.data
    assert isinstance(view, cr.Tensor) and not view.requires_grad and view.grad_fn is None
    assert np.shares_memory(view.array, w.array)
    view[0] = 10.0
    assert w.tolist() == [10.0, 2.0, 3.0]


def test_a_parameters_data_is_a_plain_tensor_like_torchs():
    layer = nn.Linear(3, 2)
    assert type(layer.weight.data) is cr.Tensor
    assert type(torch.nn.Linear(3, 2).weight.data) is torch.Tensor


def test_manual_sgd_through_data_moves_the_parameter_and_keeps_an_array():
    w = cr.tensor([1.0, -2.0], dtype=cr.float64, requires_grad=True)
    (w * w).sum().backward()
    w.data -= 0.1 * w.grad                     # the silent bug was: .data became a Tensor inside
    assert isinstance(w.array, np.ndarray)
    np.testing.assert_allclose(w.array, [0.8, -1.6])
    w.data.add_(w.grad, alpha=-0.5)           # p.data.add_(-lr, grad) in pytorch/examples' regression
    np.testing.assert_allclose(w.array, [-0.2, 0.4])
    assert abs(w.data.norm().item() - np.hypot(0.2, 0.4)) < 1e-12


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=6), st.floats(0.01, 0.5), st.integers(1, 4))
def test_a_manual_update_loop_gives_torchs_numbers(values, lr, steps):
    ours = cr.tensor(values, dtype=cr.float64, requires_grad=True)
    theirs = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    for _ in range(steps):
        for p, lib in ((ours, cr), (theirs, torch)):
            loss = (lib.sin(p) * p).sum()
            loss.backward()
            p.data.sub_(lr * p.grad.data)
            p.data.clamp_(-2.0, 2.0)
            p.grad.zero_()
    np.testing.assert_allclose(ours.array, theirs.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_in_place_changes_through_data_are_not_recorded_in_the_graph():
    w = cr.tensor([2.0, 3.0], requires_grad=True)
    y = (w.data * w).sum()                     # w.data is a constant here
    y.backward()
    np.testing.assert_array_equal(w.grad.array, [2.0, 3.0])


def test_assigning_data_replaces_the_values_and_keeps_the_parameter():
    layer = nn.Linear(2, 2)
    weight = layer.weight
    weight.data = cr.zeros(2, 2)
    assert layer.weight is weight and weight.requires_grad
    assert weight.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    weight.data = np.ones((3, 2), dtype=np.float32)      # PyTorch lets .data change shape too
    assert weight.shape == (3, 2)


def test_assigning_something_that_is_not_a_tensor_is_refused_clearly():
    w = cr.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match=r"Tensor\.data: .*Tensor.*got float.*chainrule\.tensor"):
        w.data = 0.5
    assert w.tolist() == [1.0, 1.0]
