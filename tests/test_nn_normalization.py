"""BatchNorm (train and eval, running statistics), LayerNorm and GroupNorm against PyTorch, plus gradcheck."""
import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.func import gradcheck, gradgradcheck
from nn_torch_reference import compare_with_torch, copy_weights, leaf64

RNG = np.random.default_rng(3)


def _random_affine(layer, reference):
    with torch.no_grad():
        for p in reference.parameters():
            p.copy_(torch.tensor(RNG.standard_normal(tuple(p.shape))))
    copy_weights(layer, reference)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("kind, shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)), ("BatchNorm2d", (4, 3, 5, 2))])
def test_batchnorm_train_then_eval_matches_torch(kind, shape, momentum):
    layer = getattr(nn, kind)(3, momentum=momentum).double()
    reference = getattr(torch.nn, kind)(3, momentum=momentum).double()
    _random_affine(layer, reference)
    for step in range(3):   # running statistics and num_batches_tracked follow PyTorch step by step
        layer.zero_grad()
        reference.zero_grad()
        compare_with_torch(layer, reference, [RNG.standard_normal(shape) * 2 + 1], seed=step)
    assert int(layer.num_batches_tracked.item()) == 3
    layer.eval()
    reference.eval()
    layer.zero_grad()
    reference.zero_grad()
    compare_with_torch(layer, reference, [RNG.standard_normal(shape)])


def test_batchnorm_without_affine_or_running_stats_matches_torch():
    for options in (dict(affine=False), dict(track_running_stats=False)):
        layer, reference = nn.BatchNorm2d(3, **options).double(), torch.nn.BatchNorm2d(3, **options).double()
        compare_with_torch(layer, reference, [RNG.standard_normal((4, 3, 3, 3))])
        layer.eval()
        reference.eval()
        compare_with_torch(layer, reference, [RNG.standard_normal((4, 3, 3, 3))])


def test_batchnorm_state_dict_names_and_buffers_match_torch():
    layer = nn.BatchNorm2d(4)
    assert list(layer.state_dict()) == list(torch.nn.BatchNorm2d(4).state_dict())
    assert layer.num_batches_tracked.dtype == cr.int64


@pytest.mark.parametrize("shape, normalized", [((3, 5), 5), ((2, 3, 4), (3, 4))])
def test_layer_norm_matches_torch(shape, normalized):
    layer, reference = nn.LayerNorm(normalized).double(), torch.nn.LayerNorm(normalized).double()
    _random_affine(layer, reference)
    compare_with_torch(layer, reference, [RNG.standard_normal(shape) * 3 + 2])
    bare, bare_reference = nn.LayerNorm(normalized, elementwise_affine=False), torch.nn.LayerNorm(normalized, elementwise_affine=False)
    compare_with_torch(bare.double(), bare_reference.double(), [RNG.standard_normal(shape)])


@pytest.mark.parametrize("groups", [1, 2, 6])
def test_group_norm_matches_torch(groups):
    layer, reference = nn.GroupNorm(groups, 6).double(), torch.nn.GroupNorm(groups, 6).double()
    _random_affine(layer, reference)
    compare_with_torch(layer, reference, [RNG.standard_normal((2, 6, 3, 2))])


def test_normalization_gradcheck_and_gradgradcheck():
    x = leaf64(RNG.standard_normal((4, 3, 2)))
    weight, bias = leaf64(RNG.standard_normal(3)), leaf64(RNG.standard_normal(3))
    batch = lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)  # noqa: E731
    assert gradcheck(batch, (x, weight, bias))
    assert gradgradcheck(batch, (x, weight, bias))
    w2, b2 = leaf64(RNG.standard_normal(2)), leaf64(RNG.standard_normal(2))
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (2,), w, b), (x, w2, b2))
    assert gradgradcheck(lambda x, w, b: F.layer_norm(x, (2,), w, b), (x, w2, b2))
    x4 = leaf64(RNG.standard_normal((2, 4, 3)))
    w4, b4 = leaf64(RNG.standard_normal(4)), leaf64(RNG.standard_normal(4))
    assert gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), (x4, w4, b4))


def test_normalization_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d: the input of shape \(2, 4, 3, 3\) has 4 channels.*num_features=3"):
        nn.BatchNorm2d(3)(cr.zeros(2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected a 4-D input"):
        nn.BatchNorm2d(3)(cr.zeros(2, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(cr.zeros(1, 3))
    with pytest.raises(ValueError, match=r"layer_norm: the input of shape \(2, 3\) must end with normalized_shape \(4,\)"):
        nn.LayerNorm(4)(cr.zeros(2, 3))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(4, 6)


def test_standardize_primitive_matches_the_composed_formula_to_second_order():
    x = leaf64(RNG.standard_normal((3, 4, 5)) * 3 + 1)
    composed_x = leaf64(x.detach().numpy())
    cotangent = cr.tensor(RNG.standard_normal((3, 4, 5)))
    for axes in [(1,), (0, 2), (2,)]:
        fused = F.standardize(x, axes)
        composed = (composed_x - composed_x.mean(axes, keepdim=True)) * (
            composed_x.var(axes, keepdim=True, correction=0) + 1e-5).rsqrt()
        np.testing.assert_allclose(fused.detach().numpy(), composed.detach().numpy(), rtol=1e-12, atol=1e-12)
        (g_fused,) = cr.autograd.grad((fused * cotangent).sum(), x, create_graph=True)
        (g_composed,) = cr.autograd.grad((composed * cotangent).sum(), composed_x, create_graph=True)
        np.testing.assert_allclose(g_fused.detach().numpy(), g_composed.detach().numpy(), rtol=1e-10, atol=1e-12)
        (gg_fused,) = cr.autograd.grad((g_fused ** 2).sum(), x)
        (gg_composed,) = cr.autograd.grad((g_composed ** 2).sum(), composed_x)
        np.testing.assert_allclose(gg_fused.numpy(), gg_composed.numpy(), rtol=1e-9, atol=1e-10)
    assert gradcheck(lambda x: F.standardize(x, (0, 2)), (x,))
    assert gradgradcheck(lambda x: F.standardize(x, 1), (x,))
