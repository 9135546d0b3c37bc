"""Every learning-rate scheduler against torch.optim.lr_scheduler: 200 steps, several argument sets, two groups."""
import math

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.optim as optim
from chainrule import nn
from chainrule.data import DataLoader, TensorDataset
from chainrule.optim import lr_scheduler as ours_module
from chainrule.train import Trainer

theirs_module = torch.optim.lr_scheduler
STEPS = 200
GROUP_LRS = (0.1, 0.03)


def _optimizers(kind):
    """The same two-group optimizer in both libraries ("sgd": with momentum; "adam": with betas)."""
    ours_params = [cr.tensor([1.0], requires_grad=True) for _ in GROUP_LRS]
    torch_params = [torch.tensor([1.0], requires_grad=True) for _ in GROUP_LRS]
    ours_groups = [{"params": [p], "lr": lr} for p, lr in zip(ours_params, GROUP_LRS)]
    torch_groups = [{"params": [p], "lr": lr} for p, lr in zip(torch_params, GROUP_LRS)]
    if kind == "adam":
        return optim.Adam(ours_groups), torch.optim.Adam(torch_groups)
    return optim.SGD(ours_groups, momentum=0.9), torch.optim.SGD(torch_groups, momentum=0.9)


def _momenta(optimizer):
    return [group["betas"][0] if "betas" in group else group["momentum"] for group in optimizer.param_groups]


def _metric(step):
    """A validation loss that falls, then plateaus with wiggles (drives ReduceLROnPlateau)."""
    return max(1.0 - 0.02 * step, 0.4) + 0.01 * math.sin(step * 1.7)


# name → a function (lr_scheduler module, optimizer) → scheduler. Each runs in both libraries.
CASES = {
    "StepLR-7-0.5": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "StepLR-1-0.99": lambda m, o: m.StepLR(o, step_size=1, gamma=0.99),
    "StepLR-30-default": lambda m, o: m.StepLR(o, step_size=30),
    "MultiStepLR-repeated": lambda m, o: m.MultiStepLR(o, milestones=[10, 50, 50, 120], gamma=0.3),
    "MultiStepLR-unsorted": lambda m, o: m.MultiStepLR(o, milestones=[150, 5]),
    "ExponentialLR-0.97": lambda m, o: m.ExponentialLR(o, gamma=0.97),
    "ExponentialLR-1.01": lambda m, o: m.ExponentialLR(o, gamma=1.01),
    "CosineAnnealingLR-50": lambda m, o: m.CosineAnnealingLR(o, T_max=50),
    "CosineAnnealingLR-200-min": lambda m, o: m.CosineAnnealingLR(o, T_max=200, eta_min=1e-4),
    "CosineAnnealingLR-13-min": lambda m, o: m.CosineAnnealingLR(o, T_max=13, eta_min=0.01),
    "WarmRestarts-10": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=10),
    "WarmRestarts-5-x2-min": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=1e-3),
    "WarmRestarts-7-x3": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=3),
    "LinearLR-default": lambda m, o: m.LinearLR(o),
    "LinearLR-0.25-20": lambda m, o: m.LinearLR(o, start_factor=0.25, total_iters=20),
    "LinearLR-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=150),
    "OneCycleLR-cos": lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=200),
    "OneCycleLR-linear-lists": lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 2.0], total_steps=210,
                                                         anneal_strategy="linear", base_momentum=[0.8, 0.7]),
    "OneCycleLR-three-phase": lambda m, o: m.OneCycleLR(o, max_lr=0.3, epochs=20, steps_per_epoch=10,
                                                        pct_start=0.25, three_phase=True, div_factor=10.0),
    "OneCycleLR-no-momentum": lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=200, cycle_momentum=False,
                                                        final_div_factor=100.0),
    "CyclicLR-triangular": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=20),
    "CyclicLR-triangular2": lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.001], max_lr=[0.1, 0.05],
                                                    step_size_up=10, step_size_down=30, mode="triangular2"),
    "CyclicLR-exp-range": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=15, mode="exp_range",
                                                  gamma=0.99, base_momentum=0.85, max_momentum=0.95),
    "CyclicLR-scale-fn": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=8,
                                                 scale_fn=lambda x: 0.9 ** x, scale_mode="iterations",
                                                 cycle_momentum=False),
    "LambdaLR-one": lambda m, o: m.LambdaLR(o, lambda epoch: 0.95 ** epoch),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(o, [lambda e: 1 / (1 + e), lambda e: min(1.0, (e + 1) / 10)]),
    "SequentialLR-warmup-cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=10), m.CosineAnnealingLR(o, T_max=190)], milestones=[10]),
    "SequentialLR-three": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.5, total_iters=10), m.ExponentialLR(o, gamma=0.99),
            m.StepLR(o, step_size=20, gamma=0.5)], milestones=[10, 100]),
    "SequentialLR-lambda-multistep": lambda m, o: m.SequentialLR(
        o, [m.LambdaLR(o, lambda e: 0.9 ** e), m.MultiStepLR(o, milestones=[30, 60])], milestones=[40]),
    "ReduceLROnPlateau-min": lambda m, o: m.ReduceLROnPlateau(o, patience=5),
    "ReduceLROnPlateau-max-abs-cooldown": lambda m, o: m.ReduceLROnPlateau(
        o, mode="max", factor=0.5, patience=3, threshold=0.1, threshold_mode="abs", cooldown=3),
    "ReduceLROnPlateau-min-lr-list": lambda m, o: m.ReduceLROnPlateau(
        o, factor=0.2, patience=2, min_lr=[1e-3, 1e-2], threshold=0.05),
    "ReduceLROnPlateau-abs-eps": lambda m, o: m.ReduceLROnPlateau(o, factor=0.5, patience=1, threshold=0.0,
                                                                  threshold_mode="abs", eps=1e-3),
}


def _drive(make, module, optimizer, steps, start=0):
    scheduler = make(module, optimizer)
    return scheduler, _continue(scheduler, optimizer, steps, start)


def _continue(scheduler, optimizer, steps, start=0):
    lrs, momenta = [], []
    for step in range(start, start + steps):
        lrs.append(scheduler.get_last_lr())
        if "momentum" in optimizer.defaults or "betas" in optimizer.defaults:
            momenta.append(_momenta(optimizer))
        optimizer.step()
        if "Plateau" in type(scheduler).__name__:
            scheduler.step(_metric(step))
        else:
            scheduler.step()
    return np.array(lrs), np.array(momenta)


# Every case with SGD (momentum); those that set momentum or chain schedulers also with Adam (betas).
OPTIMIZER_CASES = [(name, "sgd") for name in CASES] + [
    (name, "adam") for name in CASES if any(key in name for key in ("OneCycle", "Cyclic", "Sequential", "Plateau"))
]


@pytest.mark.parametrize("name,kind", OPTIMIZER_CASES, ids=[f"{n}-{k}" for n, k in OPTIMIZER_CASES])
def test_learning_rates_match_torch_for_200_steps(name, kind):
    ours_opt, torch_opt = _optimizers(kind)
    _, (ours_lrs, ours_momenta) = _drive(CASES[name], ours_module, ours_opt, STEPS)
    _, (torch_lrs, torch_momenta) = _drive(CASES[name], theirs_module, torch_opt, STEPS)
    assert ours_lrs.shape == (STEPS, len(GROUP_LRS))
    np.testing.assert_allclose(ours_lrs, torch_lrs, rtol=1e-12, atol=0)
    np.testing.assert_allclose(ours_momenta, torch_momenta, rtol=1e-12, atol=0)
    assert [g["lr"] for g in ours_opt.param_groups] == pytest.approx([g["lr"] for g in torch_opt.param_groups],
                                                                        rel=1e-12)
    # The schedule really moves (each case was picked so that it does within 200 steps).
    assert len(np.unique(ours_lrs[:, 0])) > 1


@pytest.mark.parametrize("name", list(CASES))
def test_state_dict_resumes_the_schedule(name):
    """Save optimizer + scheduler at step 100, rebuild both, load, and continue: the same 100 rates follow."""
    ours_opt, _ = _optimizers("sgd")
    scheduler, _ = _drive(CASES[name], ours_module, ours_opt, 100)
    optimizer_state, scheduler_state = ours_opt.state_dict(), scheduler.state_dict()
    expected_lrs, expected_momenta = _continue(scheduler, ours_opt, 100, start=100)

    fresh_opt, _ = _optimizers("sgd")
    fresh_scheduler = CASES[name](ours_module, fresh_opt)        # build first, then load (as in PyTorch)
    fresh_opt.load_state_dict(optimizer_state)
    fresh_scheduler.load_state_dict(scheduler_state)
    lrs, momenta = _continue(fresh_scheduler, fresh_opt, 100, start=100)
    np.testing.assert_array_equal(lrs, expected_lrs)
    np.testing.assert_array_equal(momenta, expected_momenta)


def test_scheduler_state_dict_is_plain_data():
    opt, _ = _optimizers("sgd")
    scheduler = CASES["SequentialLR-three"](ours_module, opt)
    for _ in range(5):
        scheduler.step()

    def check(value):
        if isinstance(value, dict):
            for item in value.values():
                check(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                check(item)
        else:
            assert value is None or isinstance(value, (bool, int, float, str)), type(value)

    check(scheduler.state_dict())


def test_the_scheduler_drives_the_optimizer_update():
    """The lr a scheduler sets is the lr the next step uses."""
    w = cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    scheduler = ours_module.StepLR(opt, step_size=1, gamma=0.5)
    for expected in (1.0, 0.5, 0.25):
        before = w.array.copy()
        w.grad = cr.tensor([1.0])
        opt.step()
        assert before - w.array == pytest.approx([expected])
        scheduler.step()


def test_bad_scheduler_arguments_are_explained():
    opt, _ = _optimizers("sgd")
    with pytest.raises(TypeError, match="StepLR: expected a chainrule.optim optimizer"):
        ours_module.StepLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), step_size=2)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive integer"):
        ours_module.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="LambdaLR: expected 2 values of lr_lambda"):
        ours_module.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="OneCycleLR: give either total_steps"):
        ours_module.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="cycle_momentum=True needs an optimizer with momentum or betas"):
        ours_module.CyclicLR(optim.Adagrad([cr.tensor([1.0], requires_grad=True)]), base_lr=0.01, max_lr=0.1)
    with pytest.raises(ValueError, match="SequentialLR: expected 1 milestones for 2 schedulers"):
        ours_module.SequentialLR(opt, [ours_module.StepLR(opt, 2), ours_module.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor must be < 1"):
        ours_module.ReduceLROnPlateau(opt, factor=2.0)
    with pytest.raises(KeyError, match="needs 'initial_lr'"):
        ours_module.ExponentialLR(optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.1), 0.9, last_epoch=3)
    one_cycle = ours_module.OneCycleLR(opt, max_lr=0.1, total_steps=2)
    one_cycle.step()
    one_cycle.step()
    with pytest.raises(ValueError, match="OneCycleLR: stepped 3 times but total_steps is 2"):
        one_cycle.step()


def _scheduler_classes():
    return {name: cls for name, cls in vars(ours_module).items()
            if isinstance(cls, type) and issubclass(cls, ours_module.LRScheduler)}


def test_each_scheduler_states_its_interval_and_whether_it_steps_on_a_metric():
    classes = _scheduler_classes()
    assert {name for name, cls in classes.items() if cls.interval == "batch"} == {"OneCycleLR", "CyclicLR"}
    assert {cls.interval for cls in classes.values()} == {"batch", "epoch"}
    assert {name for name, cls in classes.items() if cls.steps_on_metric} == {"ReduceLROnPlateau"}


def test_the_trainer_steps_a_scheduler_at_the_interval_the_scheduler_states():
    """A user's own per-batch schedule is stepped per batch, with no list of class names to join."""
    class PerBatchHalving(ours_module.LRScheduler):
        interval = "batch"

        def get_lr(self):
            return [base_lr * 0.5 ** self.last_epoch for base_lr in self.base_lrs]

    cr.manual_seed(0)
    model = nn.Linear(2, 2)
    optimizer = optim.SGD(model.parameters(), lr=1.0)
    scheduler = PerBatchHalving(optimizer)
    data = DataLoader(TensorDataset(cr.randn(12, 2), cr.tensor([0, 1] * 6)), batch_size=3)   # 4 batches
    trainer = Trainer(model, optimizer, scheduler=scheduler, progress=False)
    assert trainer.scheduler_interval == "batch"
    trainer.fit(data, epochs=2)
    assert scheduler.last_epoch == 8
    assert optimizer.param_groups[0]["lr"] == 0.5 ** 8
