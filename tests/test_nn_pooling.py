"""Pooling layers against PyTorch (values and gradients) over stride/padding/ceil_mode/count_include_pad."""
import itertools

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.func import gradcheck, gradgradcheck
from nn_torch_reference import compare_with_torch, leaf64

RNG = np.random.default_rng(7)

POOL_GRID = [dict(kernel_size=k, stride=s, padding=p, ceil_mode=c)
             for k, s, p, c in itertools.product([2, 3, (3, 2)], [None, 1, 2, (2, 3)], [0, 1], [False, True])]


@pytest.mark.parametrize("options", POOL_GRID, ids=str)
def test_max_pool2d_matches_torch(options):
    compare_with_torch(nn.MaxPool2d(**options), torch.nn.MaxPool2d(**options), [RNG.standard_normal((2, 3, 9, 8))])


@pytest.mark.parametrize("options", POOL_GRID, ids=str)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_matches_torch(options, count_include_pad):
    compare_with_torch(nn.AvgPool2d(**options, count_include_pad=count_include_pad),
                       torch.nn.AvgPool2d(**options, count_include_pad=count_include_pad),
                       [RNG.standard_normal((2, 3, 9, 8))])


def test_max_pool2d_dilation_and_indices_match_torch():
    x = RNG.standard_normal((2, 3, 10, 9))
    compare_with_torch(nn.MaxPool2d(3, 2, 1, dilation=2), torch.nn.MaxPool2d(3, 2, 1, dilation=2), [x])
    _, ours = F.max_pool2d(cr.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    _, theirs = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_max_pool_sends_the_gradient_to_the_first_maximum_like_torch():
    x = np.zeros((1, 1, 4, 4))   # every window is a tie
    compare_with_torch(nn.MaxPool2d(2, 1), torch.nn.MaxPool2d(2, 1), [x])


def test_avg_pool2d_divisor_override_matches_torch():
    compare_with_torch(nn.AvgPool2d(3, 2, 1, divisor_override=5), torch.nn.AvgPool2d(3, 2, 1, divisor_override=5),
                       [RNG.standard_normal((1, 2, 7, 7))])


@pytest.mark.parametrize("options", [dict(kernel_size=3), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                     dict(kernel_size=2, stride=1)], ids=str)
def test_pool1d_matches_torch(options):
    x = RNG.standard_normal((2, 3, 11))
    compare_with_torch(nn.MaxPool1d(**options), torch.nn.MaxPool1d(**options), [x])
    compare_with_torch(nn.AvgPool1d(**options), torch.nn.AvgPool1d(**options), [x])
    compare_with_torch(nn.AvgPool1d(**options, count_include_pad=False),
                       torch.nn.AvgPool1d(**options, count_include_pad=False), [x])


@pytest.mark.parametrize("output_size", [1, (3, 2), (4, 5), (7, 5), (None, 3)], ids=str)
def test_adaptive_pools_match_torch(output_size):
    x = RNG.standard_normal((2, 3, 7, 5))
    compare_with_torch(nn.AdaptiveAvgPool2d(output_size), torch.nn.AdaptiveAvgPool2d(output_size), [x])
    compare_with_torch(nn.AdaptiveMaxPool2d(output_size), torch.nn.AdaptiveMaxPool2d(output_size), [x])


def test_pooling_gradcheck():
    x = leaf64(RNG.standard_normal((1, 2, 5, 6)))
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), (x,))
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (x,))
    assert gradgradcheck(lambda x: F.avg_pool2d(x, 2) ** 2, (x,))
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (2, 4)), (x,))
    assert gradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 4)), (x,))


def test_pooling_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"max_pool2d: expected a 4-D input .*\(3, 8\)"):
        nn.MaxPool2d(2)(cr.zeros(3, 8))
    with pytest.raises(ValueError, match="padding .* at most half the kernel"):
        nn.AvgPool2d(2, padding=2)(cr.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"does not fit in the input of shape \(1, 1, 2, 2\)"):
        nn.MaxPool2d(3)(cr.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match="avg_pool1d: expected a 3-D input"):
        nn.AvgPool1d(2)(cr.zeros(1, 1, 4, 4))


def test_max_pool_propagates_nan_like_torch():
    x = RNG.standard_normal((1, 1, 4, 4))
    x[0, 0, 1, 2] = np.nan
    ours = F.max_pool2d(cr.tensor(x), 2).numpy()
    theirs = torch.nn.functional.max_pool2d(torch.tensor(x), 2).numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_array_equal(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)])
