"""Gradient clipping (vs torch), L1/L2 penalties and coupled vs decoupled weight decay, and the test functions."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule as cr
import chainrule.optim as optim
from chainrule.nn.utils import clip_grad_norm_, clip_grad_value_
from chainrule.optim.regularization import l1_penalty, l2_penalty
from chainrule.optim.testfunctions import ALL_FUNCTIONS, Beale, Himmelblau, QuadraticBowl, Rastrigin, Rosenbrock


# ----- clipping ------------------------------------------------------------------------------------------
def _grads_pair(arrays):
    ours, theirs = [], []
    for array in arrays:
        p = cr.tensor(np.zeros_like(array), dtype=cr.float64, requires_grad=True)
        p.grad = cr.tensor(array, dtype=cr.float64)
        q = torch.zeros(array.shape, dtype=torch.float64, requires_grad=True)
        q.grad = torch.tensor(array)
        ours.append(p)
        theirs.append(q)
    return ours, theirs


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), scale=st.sampled_from([1e-3, 1.0, 50.0]),
       max_norm=st.sampled_from([0.0, 0.1, 1.0, 10.0]), norm_type=st.sampled_from([1.0, 2.0, 3.5, math.inf]))
def test_clip_grad_norm_matches_torch(seed, scale, max_norm, norm_type):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape) * scale for shape in [(3, 4), (5,), (2, 2, 2)]]
    ours, theirs = _grads_pair(arrays)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    torch_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    np.testing.assert_allclose(total.item(), torch_total.item(), rtol=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.array, q.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_clip_grad_norm_keeps_direction_skips_missing_grads_and_reports_nonfinite():
    w = cr.tensor([0.0, 0.0], requires_grad=True)
    unused = cr.tensor([1.0], requires_grad=True)
    w.grad = cr.tensor([3.0, 4.0])
    assert clip_grad_norm_([w, unused], max_norm=10.0).item() == pytest.approx(5.0)
    assert w.grad.tolist() == pytest.approx([3.0, 4.0], rel=1e-6)           # under the limit: unchanged
    assert clip_grad_norm_(w, max_norm=1.0).item() == pytest.approx(5.0)    # a single tensor works too
    assert w.grad.tolist() == pytest.approx([0.6, 0.8], rel=1e-5)
    assert clip_grad_norm_([unused], max_norm=1.0).item() == 0.0

    w.grad = cr.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="total norm of the gradients is inf"):
        clip_grad_norm_([w], max_norm=1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="max_norm must be a non-negative number, got -1.0"):
        clip_grad_norm_([w], max_norm=-1.0)


def test_clip_grad_value_matches_torch():
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((4, 4)) * 3 for _ in range(2)]
    ours, theirs = _grads_pair(arrays)
    clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.array, q.grad.numpy())
    with pytest.raises(ValueError, match="clip_value must be a non-negative number"):
        clip_grad_value_(ours, -1.0)


# ----- penalties and weight decay -----------------------------------------------------------------------
def test_penalties_and_their_gradients_match_torch():
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    ours = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    (l1_penalty(ours) + 0.5 * l2_penalty(ours)).backward()
    (sum(q.abs().sum() for q in theirs) + 0.5 * sum((q * q).sum() for q in theirs)).backward()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.array, q.grad.numpy(), rtol=1e-12)
    assert l2_penalty(ours).item() == pytest.approx(sum(float((a * a).sum()) for a in arrays), rel=1e-12)
    with pytest.raises(ValueError, match="l1_penalty: got no parameters"):
        l1_penalty([])


def _train(optimizer_class, kwargs, penalty_weight, steps=30):
    rng = np.random.default_rng(6)
    x, y = cr.tensor(rng.standard_normal((20, 3)), dtype=cr.float64), cr.tensor(rng.standard_normal(20), dtype=cr.float64)
    w = cr.tensor(rng.standard_normal(3), dtype=cr.float64, requires_grad=True)
    optimizer = optimizer_class([w], **kwargs)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((x @ w - y) ** 2).mean()
        if penalty_weight:
            loss = loss + penalty_weight / 2 * l2_penalty([w])
        loss.backward()
        optimizer.step()
    return w.array


@pytest.mark.parametrize("optimizer_class,kwargs", [
    (optim.SGD, dict(lr=0.05)), (optim.SGD, dict(lr=0.05, momentum=0.9)), (optim.Adam, dict(lr=0.05)),
    (optim.RMSprop, dict(lr=0.01)), (optim.Adagrad, dict(lr=0.1)),
], ids=["SGD", "SGD-momentum", "Adam", "RMSprop", "Adagrad"])
def test_coupled_weight_decay_is_an_l2_penalty_in_the_loss(optimizer_class, kwargs):
    """weight_decay=λ gives the same run as adding (λ/2)·‖θ‖² to the loss."""
    with_option = _train(optimizer_class, dict(kwargs, weight_decay=0.3), 0.0)
    with_penalty = _train(optimizer_class, kwargs, 0.3)
    np.testing.assert_allclose(with_option, with_penalty, rtol=1e-10, atol=1e-12)


def test_decoupled_weight_decay_differs_from_l2_for_adam_but_not_for_sgd():
    decoupled = _train(optim.AdamW, dict(lr=0.05, weight_decay=0.3), 0.0)
    coupled = _train(optim.Adam, dict(lr=0.05, weight_decay=0.3), 0.0)
    assert np.abs(decoupled - coupled).max() > 1e-3
    # For plain SGD, shrinking θ by (1 - ηλ) then stepping on the loss gradient is the coupled step:
    # (1 - ηλ)θ - η∇L = θ - η(∇L + λθ).
    rng = np.random.default_rng(6)
    x, y, w = rng.standard_normal((20, 3)), rng.standard_normal(20), rng.standard_normal(3)
    for _ in range(30):
        gradient = 2 * x.T @ (x @ w - y) / len(y)
        w = (1 - 0.05 * 0.3) * w - 0.05 * gradient
    np.testing.assert_allclose(_train(optim.SGD, dict(lr=0.05, weight_decay=0.3), 0.0), w, rtol=1e-10)


def test_l1_penalty_drives_useless_weights_to_zero():
    """y depends on the first input only; with an L1 penalty the other weights end near 0."""
    rng = np.random.default_rng(7)
    x = cr.tensor(rng.standard_normal((200, 4)), dtype=cr.float64)
    y = 2.0 * x[:, 0]
    w = cr.tensor(rng.standard_normal(4), dtype=cr.float64, requires_grad=True)
    optimizer = optim.SGD([w], lr=0.01)
    for _ in range(1500):
        optimizer.zero_grad()
        loss = ((x @ w - y) ** 2).mean() + 0.05 * l1_penalty([w])
        loss.backward()
        optimizer.step()
    assert abs(w.array[0] - 2.0) < 0.05
    assert np.abs(w.array[1:]).max() < 0.01


# ----- test functions -----------------------------------------------------------------------------------
@pytest.mark.parametrize("function", [Rosenbrock(), Rosenbrock(dim=5), Beale(), Himmelblau(), Rastrigin(),
                                      Rastrigin(dim=3), QuadraticBowl(dim=4, condition_number=100.0)],
                         ids=["Rosenbrock", "Rosenbrock-5d", "Beale", "Himmelblau", "Rastrigin", "Rastrigin-3d",
                              "Bowl-4d"])
def test_minima_have_the_stated_value_and_zero_gradient(function):
    for point in function.minima:
        x = cr.tensor(point, dtype=cr.float64, requires_grad=True)
        value = function(x)
        value.backward()
        assert value.item() == pytest.approx(function.minimum_value, abs=1e-10)
        np.testing.assert_allclose(x.grad.array, 0.0, atol=1e-6)
    assert len(function.start) == function.dim
    assert function.distance_to_minimum(function.start) > 0.1


def test_gradients_at_the_start_match_the_formulas_in_torch():
    formulas = {
        "Rosenbrock": lambda v: 100 * (v[1] - v[0] ** 2) ** 2 + (1 - v[0]) ** 2,
        "Beale": lambda v: ((1.5 - v[0] + v[0] * v[1]) ** 2 + (2.25 - v[0] + v[0] * v[1] ** 2) ** 2
                            + (2.625 - v[0] + v[0] * v[1] ** 3) ** 2),
        "Himmelblau": lambda v: (v[0] ** 2 + v[1] - 11) ** 2 + (v[0] + v[1] ** 2 - 7) ** 2,
        "Rastrigin": lambda v: 20 + (v ** 2 - 10 * torch.cos(2 * math.pi * v)).sum(),
    }
    rng = np.random.default_rng(8)
    for function in (Rosenbrock(), Beale(), Himmelblau(), Rastrigin()):
        for point in [function.start, tuple(rng.uniform(-2, 2, size=2))]:
            x = cr.tensor(point, dtype=cr.float64, requires_grad=True)
            value = function(x)
            value.backward()
            tx = torch.tensor(point, dtype=torch.float64, requires_grad=True)
            torch_value = formulas[function.name](tx)
            torch_value.backward()
            assert value.item() == pytest.approx(torch_value.item(), rel=1e-12)
            np.testing.assert_allclose(x.grad.array, tx.grad.numpy(), rtol=1e-12)


def test_quadratic_bowl_has_the_chosen_condition_number_and_gradient_ax():
    bowl = QuadraticBowl(dim=6, condition_number=250.0)
    eigenvalues = np.linalg.eigvalsh(bowl.hessian)
    assert eigenvalues.max() / eigenvalues.min() == pytest.approx(250.0, rel=1e-10)
    assert abs(bowl.hessian[0, 1]) > 1e-3                        # rotated: not axis-aligned
    assert not np.any(QuadraticBowl(dim=3, condition_number=5.0, rotate=False).hessian - np.diag([1, 5 ** 0.5, 5]))
    x = cr.tensor(np.arange(1.0, 7.0), dtype=cr.float64, requires_grad=True)
    bowl(x).backward()
    np.testing.assert_allclose(x.grad.array, bowl.hessian @ np.arange(1.0, 7.0), rtol=1e-12)


@pytest.mark.parametrize("function_class", ALL_FUNCTIONS)
def test_a_grid_of_points_is_evaluated_at_once(function_class):
    """Shape (..., dim) in, shape (...) out: what a contour plot needs."""
    function = function_class()
    grid = np.stack(np.meshgrid(np.linspace(-2, 2, 5), np.linspace(-1, 3, 4)), axis=-1)
    values = function(cr.tensor(grid, dtype=cr.float64)).array
    assert values.shape == (4, 5)
    for i in range(4):
        for j in range(5):
            assert values[i, j] == pytest.approx(function(cr.tensor(grid[i, j], dtype=cr.float64)).item(), rel=1e-12)
    with pytest.raises(ValueError, match=f"{function.name}: expected a tensor whose last axis has the 2 coordinates"):
        function(cr.zeros(3, dtype=cr.float64))
