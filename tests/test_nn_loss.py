"""Losses against PyTorch (values and gradients, every reduction), gradcheck, stability at extreme logits,
and the errors for bad targets."""
import numpy as np
import pytest

pytestmark = [pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss"),
              pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")]
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.func import gradcheck, gradgradcheck
from nn_torch_reference import leaf64

RNG = np.random.default_rng(5)
REDUCTIONS = ["mean", "sum", "none"]


def _compare(loss, torch_loss, inputs, differentiable, rtol=1e-9, atol=1e-11):
    """Run both losses on the same NumPy inputs; compare values and the gradients of the float inputs."""
    ours = [cr.tensor(a, requires_grad=d) for a, d in zip(inputs, differentiable)]
    theirs = [torch.tensor(a, requires_grad=d) for a, d in zip(inputs, differentiable)]
    out, expected = loss(*ours), torch_loss(*theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=rtol, atol=atol)
    cotangent = RNG.standard_normal(tuple(expected.shape))
    (out * cr.tensor(cotangent)).sum().backward()
    (expected * torch.tensor(cotangent)).sum().backward()
    for a, b in zip(ours, theirs):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)


def _pair(shape=(4, 3)):
    return RNG.standard_normal(shape), RNG.standard_normal(shape)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, options", [("MSELoss", {}), ("L1Loss", {}), ("SmoothL1Loss", {}),
                                           ("SmoothL1Loss", {"beta": 0.3}), ("SmoothL1Loss", {"beta": 0.0}),
                                           ("HuberLoss", {}), ("HuberLoss", {"delta": 0.4})], ids=str)
def test_regression_losses_match_torch(name, options, reduction):
    _compare(getattr(nn, name)(reduction=reduction, **options), getattr(torch.nn, name)(reduction=reduction, **options),
             _pair(), [True, True])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_losses_match_torch(reduction):
    probabilities = RNG.uniform(0.05, 0.95, (4, 3))
    target = RNG.uniform(0, 1, (4, 3))
    weight = RNG.uniform(0.5, 2, (4, 3))
    _compare(nn.BCELoss(reduction=reduction), torch.nn.BCELoss(reduction=reduction), [probabilities, target], [True, True])
    _compare(nn.BCELoss(weight=cr.tensor(weight), reduction=reduction),
             torch.nn.BCELoss(weight=torch.tensor(weight), reduction=reduction), [probabilities, target], [True, False])
    logits = RNG.standard_normal((4, 3)) * 3
    pos_weight = RNG.uniform(0.5, 3, 3)
    _compare(nn.BCEWithLogitsLoss(reduction=reduction), torch.nn.BCEWithLogitsLoss(reduction=reduction),
             [logits, target], [True, True])
    _compare(nn.BCEWithLogitsLoss(weight=cr.tensor(weight), pos_weight=cr.tensor(pos_weight), reduction=reduction),
             torch.nn.BCEWithLogitsLoss(weight=torch.tensor(weight), pos_weight=torch.tensor(pos_weight),
                                        reduction=reduction), [logits, target], [True, True])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.2}, {"ignore_index": 1}, {"weight": True},
                                     {"weight": True, "label_smoothing": 0.1, "ignore_index": 2}], ids=str)
def test_cross_entropy_with_class_indices_matches_torch(options, reduction):
    logits = RNG.standard_normal((6, 4)) * 2
    target = np.array([0, 1, 2, 3, 1, 2])
    ours_options, torch_options = dict(options), dict(options)
    if options.get("weight"):
        weight = RNG.uniform(0.5, 2.0, 4)
        ours_options["weight"], torch_options["weight"] = cr.tensor(weight), torch.tensor(weight)
    _compare(nn.CrossEntropyLoss(reduction=reduction, **ours_options),
             torch.nn.CrossEntropyLoss(reduction=reduction, **torch_options), [logits, target], [True, False])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_and_probability_targets_match_torch(reduction):
    logits = RNG.standard_normal((2, 3, 4, 2))
    target = RNG.integers(0, 3, (2, 4, 2))
    _compare(nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1),
             torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1), [logits, target], [True, False])
    probabilities = RNG.dirichlet(np.ones(3), size=(5,))
    flat_logits = RNG.standard_normal((5, 3))
    weight = RNG.uniform(0.5, 2.0, 3)
    _compare(nn.CrossEntropyLoss(weight=cr.tensor(weight), reduction=reduction, label_smoothing=0.3),
             torch.nn.CrossEntropyLoss(weight=torch.tensor(weight), reduction=reduction, label_smoothing=0.3),
             [flat_logits, probabilities], [True, True])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_kl_margin_cosine_match_torch(reduction):
    log_p = np.log(RNG.dirichlet(np.ones(4), size=5))
    target = np.array([3, 0, 1, 1, 2])
    weight = RNG.uniform(0.5, 2, 4)
    _compare(nn.NLLLoss(weight=cr.tensor(weight), ignore_index=0, reduction=reduction),
             torch.nn.NLLLoss(weight=torch.tensor(weight), ignore_index=0, reduction=reduction),
             [log_p, target], [True, False])
    q = RNG.dirichlet(np.ones(4), size=5)
    _compare(nn.KLDivLoss(reduction=reduction), torch.nn.KLDivLoss(reduction=reduction), [log_p, q], [True, True])
    q[0, 1] = 0.0   # y = 0 contributes 0 (0·ln 0 = 0); ∂/∂y is −∞ there (PyTorch: NaN), so only ∂/∂x is compared
    _compare(nn.KLDivLoss(reduction=reduction), torch.nn.KLDivLoss(reduction=reduction), [log_p, q], [True, False])
    _compare(nn.KLDivLoss(reduction=reduction, log_target=True), torch.nn.KLDivLoss(reduction=reduction, log_target=True),
             [log_p, np.log(RNG.dirichlet(np.ones(4), size=5))], [True, True])
    x1, x2 = RNG.standard_normal(6), RNG.standard_normal(6)
    sign = np.array([1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
    _compare(nn.MarginRankingLoss(margin=0.3, reduction=reduction),
             torch.nn.MarginRankingLoss(margin=0.3, reduction=reduction), [x1, x2, sign], [True, True, False])
    a, b = RNG.standard_normal((6, 3)), RNG.standard_normal((6, 3))
    _compare(nn.CosineEmbeddingLoss(margin=-0.2, reduction=reduction),
             torch.nn.CosineEmbeddingLoss(margin=-0.2, reduction=reduction), [a, b, sign], [True, True, False])


def test_kl_div_batchmean_matches_torch():
    log_p = np.log(RNG.dirichlet(np.ones(3), size=4))
    q = RNG.dirichlet(np.ones(3), size=4)
    _compare(nn.KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean"), [log_p, q], [True, True])


def test_losses_gradcheck_and_gradgradcheck():
    logits = leaf64(RNG.standard_normal((4, 3)))
    target = cr.tensor([0, 2, 1, 2])
    assert gradcheck(lambda x: F.cross_entropy(x, target, label_smoothing=0.1), (logits,))
    assert gradgradcheck(lambda x: F.cross_entropy(x, target), (logits,))
    y = cr.tensor(RNG.uniform(0, 1, (4, 3)))
    assert gradcheck(lambda x: F.binary_cross_entropy_with_logits(x, y, pos_weight=cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)), (logits,))
    assert gradgradcheck(lambda x: F.binary_cross_entropy_with_logits(x, y), (logits,))
    probabilities = leaf64(RNG.uniform(0.1, 0.9, (4, 3)))
    assert gradcheck(lambda p, t: F.binary_cross_entropy(p, t), (probabilities, leaf64(RNG.uniform(0, 1, (4, 3)))))
    assert gradgradcheck(lambda p, t: F.binary_cross_entropy(p, t), (probabilities, leaf64(RNG.uniform(0, 1, (4, 3)))))
    a, b = leaf64(RNG.standard_normal((4, 3))), leaf64(RNG.standard_normal((4, 3)))
    for loss in (F.mse_loss, F.huber_loss, F.smooth_l1_loss):
        assert gradcheck(loss, (a, b))
    assert gradgradcheck(F.mse_loss, (a, b))
    assert gradcheck(lambda p, q: F.kl_div(p, q.softmax(-1), reduction="batchmean"), (a, b))
    assert gradcheck(lambda p, q: F.cosine_embedding_loss(p, q, cr.tensor([1.0, -1.0, 1.0, -1.0], dtype=cr.float64)), (a, b))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_from_logits_are_exact_at_extreme_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1000.0, 1000.0, 500.0], [80.0, 80.0, -80.0]], dtype=dtype)
    target = np.array([1, 0, 2])
    _compare(nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), [logits, target], [True, False], rtol=1e-6, atol=1e-6)
    binary_target = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.5], [1.0, 1.0, 0.0]], dtype=dtype)
    _compare(nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss(), [logits, binary_target], [True, True],
             rtol=1e-6, atol=1e-6)
    saturated = np.array([[0.0, 1.0, 1e-30]], dtype=dtype)   # log clamps at -100, as in PyTorch
    hard_target = np.array([[1.0, 0.0, 1.0]], dtype=dtype)
    _compare(nn.BCELoss(), torch.nn.BCELoss(), [saturated, hard_target], [True, False], rtol=1e-6, atol=1e-6)
    # ∂ℓ/∂y of the clamped loss is clamp(ln(1−p)) − clamp(ln p) = ±100 here (PyTorch's unclamped logs give ±inf).
    target = cr.tensor(hard_target, requires_grad=True)
    F.binary_cross_entropy(cr.tensor(saturated), target, reduction="sum").backward()
    np.testing.assert_allclose(target.grad.numpy()[0, :2], [100.0, -100.0])


def test_loss_errors_name_the_loss_the_value_and_the_shapes():
    logits = cr.zeros(3, 4)
    with pytest.raises(IndexError, match=r"cross_entropy: target value 7 is out of range for 4 classes "
                                         r"\(input shape \(3, 4\), target shape \(3,\)\)"):
        F.cross_entropy(logits, cr.tensor([0, 7, 1]))
    with pytest.raises(IndexError, match="target value -2 is out of range"):
        nn.CrossEntropyLoss()(logits, cr.tensor([0, -2, 1]))
    with pytest.raises(ValueError, match=r"needs a target of shape \(3,\).*got \(3, 1\)"):
        nn.NLLLoss()(logits, cr.tensor([[0], [1], [2]]))
    with pytest.raises(TypeError, match="class-index targets must be integers"):
        nn.NLLLoss()(logits, cr.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(3, 1\) and target shape \(3,\) differ"):
        nn.MSELoss()(cr.zeros(3, 1), cr.zeros(3))
    with pytest.raises(ValueError, match="binary_cross_entropy: every input must be a probability"):
        nn.BCELoss()(cr.tensor([1.5]), cr.tensor([1.0]))
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss(reduction="avg")
    # ignore_index values are allowed even though they are outside [0, C)
    assert np.isfinite(F.cross_entropy(logits, cr.tensor([0, -100, 1])).item())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_unbatched_cross_entropy_and_nll_match_torch(reduction):
    logits = RNG.standard_normal(5)
    _compare(lambda x, t: F.cross_entropy(x, t, reduction=reduction, label_smoothing=0.2),
             lambda x, t: torch.nn.functional.cross_entropy(x, t, reduction=reduction, label_smoothing=0.2),
             [logits, np.array(2)], [True, False])
    _compare(lambda x, t: F.cross_entropy(x, t, reduction=reduction),
             lambda x, t: torch.nn.functional.cross_entropy(x, t, reduction=reduction),
             [logits, RNG.dirichlet(np.ones(5))], [True, True])
    _compare(lambda x, t: F.nll_loss(x, t, reduction=reduction),
             lambda x, t: torch.nn.functional.nll_loss(x, t, reduction=reduction),
             [logits, np.array(4)], [True, False])



FLOAT32_LOSSES = {   # name: loss(logits x, other input y, class targets t, probability targets p, reduction)
    "cross_entropy": lambda x, y, t, p, r: F.cross_entropy(x, t, reduction=r),
    "cross_entropy_ignore_index": lambda x, y, t, p, r: F.cross_entropy(x, t, ignore_index=1, reduction=r),
    "cross_entropy_weight": lambda x, y, t, p, r: F.cross_entropy(x, t, weight=cr.rand(3), reduction=r),
    "cross_entropy_probabilities": lambda x, y, t, p, r: F.cross_entropy(x, p, reduction=r),
    "nll_loss": lambda x, y, t, p, r: F.nll_loss(F.log_softmax(x, 1), t, reduction=r),
    "mse_loss": lambda x, y, t, p, r: F.mse_loss(x, y, reduction=r),
    "huber_loss": lambda x, y, t, p, r: F.huber_loss(x, y, reduction=r),
    "bce_with_logits": lambda x, y, t, p, r: F.binary_cross_entropy_with_logits(x, p, reduction=r),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(FLOAT32_LOSSES))
def test_float32_inputs_give_a_float32_loss(name, reduction):
    # A float32 sum divided by an int64 count promotes to float64 in NumPy 2; PyTorch stays in float32.
    x, y = cr.randn(4, 3), cr.randn(4, 3)
    loss = FLOAT32_LOSSES[name](x, y, cr.tensor([0, 2, 1, 1]), F.softmax(y, 1), reduction)
    assert loss.dtype == cr.float32, f"{name} with reduction={reduction!r} gave {loss.dtype}"
