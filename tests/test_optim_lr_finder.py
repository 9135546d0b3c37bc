"""The learning-rate range test on a tiny nn.Linear regression."""
import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.optim as optim
from chainrule.optim.lr_finder import lr_find


def _problem(seed=0):
    cr.manual_seed(seed)
    x = cr.randn(256, 4)
    y = x @ cr.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1 * cr.randn(256, 1)
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
    return x, y, batches


def _train(model, optimizer, batches, epochs):
    loss_fn = nn.MSELoss()
    for _ in range(epochs):
        for inputs, targets in batches:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
    return loss.item()


def test_the_curve_stops_at_divergence_and_model_and_optimizer_are_restored():
    _, _, batches = _problem()
    model = nn.Linear(4, 1)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    _train(model, optimizer, batches[:2], epochs=1)                 # some momentum state to restore
    params_before = {name: value.array.copy() for name, value in model.state_dict().items()}
    optimizer_before = optimizer.state_dict()

    result = lr_find(model, optimizer, nn.MSELoss(), batches, start_lr=1e-7, end_lr=10.0, num_iter=100)

    assert result.diverged and len(result.lrs) < 100                # SGD on this problem blows up before lr=10
    assert result.losses[-1] > 4.0 * min(result.losses[:-1])
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value.array, params_before[name])
    optimizer_after = optimizer.state_dict()
    assert optimizer_after["param_groups"] == optimizer_before["param_groups"]   # lr back to 0.01
    for index, state in optimizer_before["state"].items():
        np.testing.assert_array_equal(optimizer_after["state"][index]["momentum_buffer"].array,
                                      state["momentum_buffer"].array)
    assert all(p.grad is None for p in model.parameters())


def test_learning_rates_grow_exponentially_and_the_loss_is_smoothed_with_bias_correction():
    _, _, batches = _problem(1)
    model = nn.Linear(4, 1)
    optimizer = optim.Adam(model.parameters())
    result = lr_find(model, optimizer, nn.MSELoss(), batches, start_lr=1e-5, end_lr=1.0, num_iter=50, smooth=0.1)
    assert len(result.lrs) == 50 and not result.diverged            # Adam's step is bounded: no blow-up by lr=1
    np.testing.assert_allclose(result.lrs[0], 1e-5)
    np.testing.assert_allclose(result.lrs[-1], 1.0)
    np.testing.assert_allclose(np.diff(np.log(result.lrs)), math.log(1e5) / 49)
    average, expected = 0.0, []
    for i, raw in enumerate(result.raw_losses):
        average = 0.9 * average + 0.1 * raw
        expected.append(average / (1 - 0.9 ** (i + 1)))
    np.testing.assert_allclose(result.losses, expected, rtol=1e-12)
    assert result.losses[0] == result.raw_losses[0]                 # bias correction: no pull toward 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")     # the deliberately too-large lr overflows
@pytest.mark.parametrize("make_optimizer", [
    lambda params: optim.SGD(params, lr=0.01),
    lambda params: optim.SGD(params, lr=0.01, momentum=0.9),
    lambda params: optim.Adam(params),
], ids=["SGD", "SGD-momentum", "Adam"])
def test_the_suggestions_train_well_and_much_larger_rates_do_not(make_optimizer):
    x, y, batches = _problem(2)
    model = nn.Linear(4, 1)
    result = lr_find(model, make_optimizer(model.parameters()), nn.MSELoss(), batches, num_iter=100)
    initial_loss = nn.MSELoss()(model(x), y).item()
    for suggestion in (result.suggestion_steepest, result.suggestion_valley):
        assert 1e-4 < suggestion < 2.0
        trained = nn.Linear(4, 1)
        trained.load_state_dict({name: value.array.copy() for name, value in model.state_dict().items()})
        optimizer = make_optimizer(trained.parameters())
        for group in optimizer.param_groups:
            group["lr"] = suggestion
        _train(trained, optimizer, batches, epochs=5)
        assert nn.MSELoss()(trained(x), y).item() < 0.1 * initial_loss
    if result.diverged:                                             # past the divergence point training fails
        too_large = nn.Linear(4, 1)
        optimizer = make_optimizer(too_large.parameters())
        for group in optimizer.param_groups:
            group["lr"] = result.lrs[-1] * 10
        final = _train(too_large, optimizer, batches, epochs=5)
        assert not final < initial_loss


def test_short_batch_lists_are_cycled_and_bad_arguments_are_explained():
    _, _, batches = _problem(3)
    model = nn.Linear(4, 1)
    optimizer = optim.Adam(model.parameters())
    result = lr_find(model, optimizer, nn.MSELoss(), batches[:3], start_lr=1e-4, end_lr=1e-2, num_iter=20)
    assert len(result.raw_losses) == 20
    with pytest.raises(ValueError, match="lr_find: need 0 < start_lr < end_lr"):
        lr_find(model, optimizer, nn.MSELoss(), batches, start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match="lr_find: num_iter must be an integer >= 2"):
        lr_find(model, optimizer, nn.MSELoss(), batches, num_iter=1)
    with pytest.raises(ValueError, match="lr_find: smooth must be in"):
        lr_find(model, optimizer, nn.MSELoss(), batches, smooth=0.0)
    with pytest.raises(ValueError, match="lr_find: diverge_threshold must be > 1"):
        lr_find(model, optimizer, nn.MSELoss(), batches, diverge_threshold=0.5)
    with pytest.raises(ValueError, match="lr_find: batches is empty"):
        lr_find(model, optimizer, nn.MSELoss(), [])
