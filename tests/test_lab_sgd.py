"""Lab sgd: real mini-batches (their gradients are means of per-sample gradients), the noise ∝ 1/B law,
and every schedule drawn as PyTorch's schedulers compute it."""
import numpy
import pytest
import torch

import chainrule as cr
import chainrule.lab
from chainrule.lab.optimization import _logistic_losses, per_sample_gradients
from lab_helpers import assert_figures


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return chainrule.lab.run("sgd", tmp_path_factory.mktemp("sgd"))


def test_minibatch_gradient_noise_follows_one_over_b(lab):
    assert_figures(lab)
    X, y = lab.data["X"], lab.data["y"]
    w = numpy.array([-2.5, 2.5])
    rows = per_sample_gradients(cr.tensor(X), cr.tensor(y), w)
    by_hand = ((1 / (1 + numpy.exp(-(X @ w)))) - y)[:, None] * X            # ∇ℓᵢ = (σ(xᵢ·w) − yᵢ) xᵢ
    numpy.testing.assert_allclose(rows, by_hand, rtol=1e-10, atol=1e-14)
    batch = cr.tensor(w, requires_grad=True)
    _logistic_losses(cr.tensor(X[:8]), cr.tensor(y[:8]), batch).mean().backward()
    numpy.testing.assert_allclose(batch.grad.numpy(), rows[:8].mean(0), rtol=1e-12)   # a batch gradient is their mean
    measured, predicted = lab.numbers["noise_measured"], lab.numbers["noise_predicted"]
    for size in measured:
        assert abs(measured[size] / predicted[size] - 1) < 0.2, size
    assert measured[1] > 50 * measured[128]
    paths = lab.data["paths"]
    jitter = {b: numpy.abs(numpy.diff(p[-30:], axis=0)).sum() for b, p in paths.items()}
    assert jitter[1] > jitter[8] > jitter[256]                               # smaller batches, noisier paths
    full = paths[256]
    numpy.testing.assert_allclose(full[1], full[0] - 0.5 * rows.mean(0), rtol=1e-12)   # full batch = GD


def test_schedules_are_pytorch_s(lab):
    runs = lab.data["schedules"]
    assert len(runs) == 11
    S = torch.optim.lr_scheduler
    makers = {
        "StepLR(30, γ=0.5)": lambda o: S.StepLR(o, 30, gamma=0.5),
        "MultiStepLR([40, 70])": lambda o: S.MultiStepLR(o, [40, 70], gamma=0.3),
        "ExponentialLR(γ=0.97)": lambda o: S.ExponentialLR(o, 0.97),
        "LinearLR (warm-up 20)": lambda o: S.LinearLR(o, start_factor=0.05, total_iters=20),
        "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, T_max=100),
        "CosineAnnealingWarmRestarts": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=25),
        "OneCycleLR": lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=100),
        "CyclicLR (triangular)": lambda o: S.CyclicLR(o, base_lr=0.05, max_lr=0.5, step_size_up=20),
        "LambdaLR 1/(1 + t/10)": lambda o: S.LambdaLR(o, lambda t: 1 / (1 + t / 10)),
        "SequentialLR (warm-up, cosine)": lambda o: S.SequentialLR(
            o, [S.LinearLR(o, start_factor=0.1, total_iters=10), S.CosineAnnealingLR(o, T_max=90)], [10]),
        "ReduceLROnPlateau": lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=5, threshold=1e-2),
    }
    for name, make in makers.items():
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5, momentum=0.9)
        scheduler = make(optimizer)
        lrs, losses = runs[name]
        expected = []
        for loss in losses:
            expected.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step(loss) if name == "ReduceLROnPlateau" else scheduler.step()
        numpy.testing.assert_allclose(lrs, expected, rtol=1e-9, atol=1e-12, err_msg=name)
