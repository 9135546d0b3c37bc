"""The Optimizer base class: groups, zero_grad, closures, state dicts that resume bit for bit, and clear errors."""
import json

import numpy as np
import pytest

import chainrule as cr
import chainrule.optim as optim
from chainrule.optim.optimizer import Optimizer

ALL_OPTIMIZERS = [
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.Adam, dict(lr=0.01, amsgrad=True)),
    (optim.AdamW, dict(lr=0.01)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01)),
    (optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5)),
    (optim.Adadelta, dict()),
    (optim.Adamax, dict(lr=0.01)),
    (optim.NAdam, dict(lr=0.01)),
    (optim.RAdam, dict(lr=0.01)),
    (optim.Lion, dict(lr=1e-3, weight_decay=0.1)),
]
IDS = [cls.__name__ for cls, _ in ALL_OPTIMIZERS]


def _params(seed, dtype=cr.float32):
    rng = np.random.default_rng(seed)
    return [cr.tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=True) for shape in [(4, 3), (3,)]]


def _gradient_stream(seed, count):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(shape).astype(np.float32) for shape in [(4, 3), (3,)]] for _ in range(count)]


def _run(optimizer, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = cr.tensor(g)
        optimizer.step()


@pytest.mark.parametrize("cls,kwargs", ALL_OPTIMIZERS, ids=IDS)
def test_a_state_dict_saved_mid_run_resumes_bitwise(cls, kwargs):
    grads = _gradient_stream(0, 40)
    params = _params(1)
    opt = cls([{"params": params[:1]}, {"params": params[1:], "lr": kwargs.get("lr", 1.0) / 3}], **kwargs)
    _run(opt, params, grads[:20])
    saved_state = opt.state_dict()
    saved_params = [p.array.copy() for p in params]
    _run(opt, params, grads[20:])                         # the uninterrupted run

    resumed = [cr.tensor(a, requires_grad=True) for a in saved_params]
    fresh = cls([{"params": resumed[:1]}, {"params": resumed[1:], "lr": 123.0}], **kwargs)
    fresh.load_state_dict(saved_state)                    # also restores the second group's lr
    _run(fresh, resumed, grads[20:])
    for p, q in zip(params, resumed):
        np.testing.assert_array_equal(p.array, q.array)


def test_lbfgs_state_dict_resumes_bitwise():
    def make(start):
        x = cr.tensor(start, dtype=cr.float64, requires_grad=True)
        opt = optim.LBFGS([x], history_size=4, max_iter=5, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
            loss.backward()
            return loss
        return x, opt, closure

    x, opt, closure = make([-1.2, 1.0, 0.5])
    for _ in range(2):
        opt.step(closure)
    saved_state, saved_x = opt.state_dict(), x.array.copy()
    for _ in range(2):
        opt.step(closure)

    y, fresh, fresh_closure = make(saved_x)
    fresh.load_state_dict(saved_state)
    for _ in range(2):
        fresh.step(fresh_closure)
    np.testing.assert_array_equal(x.array, y.array)


def test_state_dict_is_plain_data_and_survives_a_json_round_trip():
    """No pickle needed: tensors, numbers, lists and dicts only. Tensors → lists → JSON → back."""
    params = _params(2)
    opt = optim.Adam(params, lr=0.01)
    _run(opt, params, _gradient_stream(3, 5))
    state = opt.state_dict()

    def to_json(value):
        if isinstance(value, cr.Tensor):
            return {"array": value.array.tolist(), "dtype": str(value.dtype)}
        if isinstance(value, dict):
            return {str(k): to_json(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [to_json(v) for v in value]
        assert value is None or isinstance(value, (bool, int, float, str)), type(value)
        return value

    def from_json(value):
        if isinstance(value, dict) and set(value) == {"array", "dtype"}:
            return cr.tensor(np.array(value["array"], dtype=value["dtype"]))
        if isinstance(value, dict):
            return {k: from_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [from_json(v) for v in value]
        return value

    text = json.dumps(to_json(state))
    restored = from_json(json.loads(text))           # keys are strings now, betas a list
    copy = [cr.tensor(p.array.copy(), requires_grad=True) for p in params]
    fresh = optim.Adam(copy, lr=0.5)
    fresh.load_state_dict(restored)
    assert fresh.param_groups[0]["betas"] == (0.9, 0.999)
    more = _gradient_stream(4, 5)
    _run(opt, params, more)
    _run(fresh, copy, more)
    for p, q in zip(params, copy):
        np.testing.assert_array_equal(p.array, q.array)


def test_state_dict_is_a_snapshot_not_a_view():
    params = _params(5)
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    _run(opt, params, _gradient_stream(6, 2))
    state = opt.state_dict()
    before = state["state"][0]["momentum_buffer"].array.copy()
    _run(opt, params, _gradient_stream(7, 2))
    np.testing.assert_array_equal(state["state"][0]["momentum_buffer"].array, before)


def test_load_state_dict_rejects_a_mismatched_optimizer():
    params = _params(8)
    opt = optim.Adam(params)
    _run(opt, params, _gradient_stream(9, 1))
    state = opt.state_dict()
    with pytest.raises(ValueError, match="parameter group 1 has 1 parameters but the saved group has 2"):
        optim.Adam([{"params": params[:1]}, {"params": params[1:]}]).load_state_dict(
            {"state": {}, "param_groups": [{**state["param_groups"][0], "params": [0]}, state["param_groups"][0]]}
        )
    with pytest.raises(ValueError, match="saved state has 1 parameter groups, this optimizer has 2"):
        optim.Adam([{"params": params[:1]}, {"params": params[1:]}]).load_state_dict(state)


def test_parameter_groups_have_their_own_hyperparameters():
    a, b = cr.tensor([1.0], requires_grad=True), cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = cr.tensor([1.0]), cr.tensor([1.0])
    opt.step()
    assert a.array.tolist() == pytest.approx([0.9])
    assert b.array.tolist() == pytest.approx([0.5])
    assert opt.param_groups[1]["momentum"] == 0.0          # defaults fill what a group leaves out


def test_add_param_group_and_its_errors():
    a, b = cr.tensor([1.0], requires_grad=True), cr.tensor([2.0], requires_grad=True)
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="already in parameter group 0"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="lr must be a non-negative number, got -1"):
        opt.add_param_group({"params": [cr.tensor([0.0], requires_grad=True)], "lr": -1})
    with pytest.raises(TypeError, match="a parameter group is a dict"):
        opt.add_param_group([a])


def test_zero_grad_sets_to_none_or_zero():
    params = _params(10)
    opt = optim.SGD(params, lr=0.1)
    _run(opt, params, _gradient_stream(11, 1))
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.array.any() for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_parameters_without_grad_are_skipped_and_step_records_no_graph():
    a, b = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([3.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    assert b.array.tolist() == [3.0] and b not in opt.state
    assert a.is_leaf and a.grad_fn is None and a.requires_grad
    assert opt.state[a]["step"] == 1


def test_step_with_a_closure_returns_its_loss_and_uses_its_gradient():
    x = cr.tensor([3.0], requires_grad=True)
    opt = optim.SGD([x], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    with cr.no_grad():                                # the closure runs with gradients on regardless
        loss = opt.step(closure)
    assert loss.item() == 9.0
    assert x.array.tolist() == [1.5]                   # 3 - 0.25·6


def test_same_seed_same_run_bitwise():
    def run():
        cr.manual_seed(123)
        w = cr.randn(5, 3, requires_grad=True)
        x = cr.randn(8, 5)
        opt = optim.NAdam([w], lr=0.01)
        for _ in range(10):
            opt.zero_grad()
            ((x @ w).tanh() ** 2).sum().backward()
            opt.step()
        return w.array.copy()
    np.testing.assert_array_equal(run(), run())


# ----- bad input: each a clear error naming the optimizer, the value and the fix ------------------------
@pytest.mark.parametrize("cls", [c for c, _ in ALL_OPTIMIZERS] + [optim.LBFGS], ids=IDS + ["LBFGS"])
def test_negative_lr_is_rejected(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: lr must be a non-negative number, got -0.1; .*e\.g\."):
        cls([cr.tensor([1.0], requires_grad=True)], lr=-0.1)


@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW, optim.Adamax, optim.NAdam, optim.RAdam, optim.Lion])
@pytest.mark.parametrize("betas,index,bad", [((1.0, 0.999), 0, "1.0"), ((0.9, 1.5), 1, "1.5"),
                                             ((-0.1, 0.9), 0, "-0.1"), ((0.9, float("nan")), 1, "nan")])
def test_betas_outside_zero_one_are_rejected(cls, betas, index, bad):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: betas\[{index}\] must be in \[0, 1\), got {bad}; .*e\.g\."):
        cls([cr.tensor([1.0], requires_grad=True)], betas=betas)


@pytest.mark.parametrize("cls", [c for c, _ in ALL_OPTIMIZERS] + [optim.LBFGS], ids=IDS + ["LBFGS"])
def test_an_empty_parameter_list_is_rejected(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: got an empty parameter list; pass .*model.parameters"):
        cls([])
    with pytest.raises(ValueError, match=rf"{cls.__name__}: got an empty parameter list"):
        cls(p for p in [])


def test_a_parameter_given_twice_is_rejected():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"SGD: parameter 1 \(shape \(2,\)\) appears twice in the same group"):
        optim.SGD([w, w], lr=0.1)
    with pytest.raises(ValueError, match=r"Adam: a parameter \(shape \(2,\)\) is already in parameter group 0"):
        optim.Adam([{"params": [w]}, {"params": [w], "lr": 0.1}])


def test_other_bad_input_is_explained():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="nesterov=True needs momentum > 0 and dampening = 0"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="SGD: momentum must be a non-negative number, got -0.5"):
        optim.SGD([w], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="Adam: weight_decay must be a non-negative number, got -1"):
        optim.Adam([w], weight_decay=-1)
    with pytest.raises(ValueError, match="RMSprop: alpha must be in"):
        optim.RMSprop([w], alpha=1.5)
    with pytest.raises(TypeError, match="got a single tensor; wrap it in a list"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="got a set"):
        optim.SGD({w}, lr=0.1)
    with pytest.raises(TypeError, match="only floating-point tensors can be optimized"):
        optim.SGD([cr.tensor([1, 2])], lr=0.1)
    with pytest.raises(ValueError, match="is not a leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError, match="is a list, not a Tensor"):
        optim.SGD([[1.0, 2.0]], lr=0.1)
    with pytest.raises(ValueError, match="LBFGS: parameter groups are not supported"):
        optim.LBFGS([{"params": [w]}, {"params": [cr.tensor([1.0], requires_grad=True)]}])
    with pytest.raises(ValueError, match="line_search_fn must be None or 'strong_wolfe', got 'wolfe'"):
        optim.LBFGS([w], line_search_fn="wolfe")
    with pytest.raises(ValueError, match="LBFGS.step needs a closure"):
        optim.LBFGS([w]).step(None)


def test_a_custom_optimizer_needs_only_an_update_rule():
    """The base class is thin: sign-SGD in a few lines."""

    class SignSGD(Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def update(self, param, grad, state, group, xp):
            param -= group["lr"] * xp.sign(grad)

    x = cr.tensor([0.3, -2.0], requires_grad=True)
    opt = SignSGD([x], lr=0.1)
    (x * x).sum().backward()
    opt.step()
    np.testing.assert_allclose(x.array, [0.2, -1.9], rtol=1e-6)
    with pytest.raises(ValueError, match="SignSGD: lr must be a non-negative number"):
        SignSGD([x], lr=-1.0)


def test_a_subclass_without_an_update_rule_is_refused():
    class Forgetful(Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

    with pytest.raises(TypeError, match=r"Forgetful: an optimizer defines update\(param, grad, state, group, xp\)"):
        Forgetful([cr.tensor([1.0], requires_grad=True)])
