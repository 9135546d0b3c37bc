"""PyTorch's keywords that scripts rely on: *_like(dtype=, device=), F.softmax without dim (with its warning)."""
import warnings

import numpy
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"])
def test_like_functions_take_dtype_device_and_requires_grad(name):
    x = cr.zeros(2, 3)
    made = getattr(cr, name)(x, dtype=cr.float64, device="cpu", requires_grad=True)
    reference = getattr(torch, name)(torch.zeros(2, 3), dtype=torch.float64, device="cpu", requires_grad=True)
    assert made.shape == tuple(reference.shape) and made.dtype == cr.float64 and made.requires_grad
    assert getattr(cr, name)(x, device=cr.device("cpu")).dtype == cr.float32


def test_full_and_randint_like_take_dtype_and_device():
    assert cr.full_like(cr.zeros(2), 3, dtype=cr.int64, device="cpu").tolist() == [3, 3]
    draws = cr.randint_like(cr.zeros(4), 5, dtype=cr.int64, device="cpu")
    assert draws.dtype == cr.int64 and bool(((draws >= 0) & (draws < 5)).all())
    floats = cr.randint_like(cr.zeros(3), 5, dtype=cr.float64, requires_grad=True)
    reference = torch.randint_like(torch.zeros(3), 5, dtype=torch.float64, requires_grad=True)
    assert floats.requires_grad and reference.requires_grad and floats.dtype == cr.float64
    with pytest.raises(RuntimeError, match="only floating-point tensors can require gradients"):
        cr.randint_like(cr.zeros(3), 5, dtype=cr.int64, requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.randint_like(torch.zeros(3), 5, dtype=torch.int64, requires_grad=True)


@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (2, 3, 4), (2, 3, 4, 5)])
@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
def test_softmax_without_dim_makes_torchs_implicit_choice_and_warns(shape, which):
    array = numpy.random.default_rng(0).normal(size=shape)
    with pytest.warns(UserWarning, match="implicit dimension choice"):
        ours = getattr(F, which)(cr.tensor(array))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(TF, which)(torch.tensor(array))
    numpy.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_dropout2d_on_a_2d_input_warns_and_drops_elements_as_torch_does():
    cr.manual_seed(0)
    with pytest.warns(UserWarning, match="2-D input to dropout2d"):
        ours = F.dropout2d(cr.ones(200, 50), p=0.5)
    with pytest.warns(UserWarning, match="2-D input to dropout2d"):
        theirs = TF.dropout2d(torch.ones(200, 50), p=0.5)
    for dropped in (ours.numpy(), theirs.numpy()):
        assert set(numpy.unique(dropped)) == {0.0, 2.0}
        assert 0.45 < (dropped == 0).mean() < 0.55
        assert not numpy.all(dropped == dropped[:, :1])          # elements, not whole rows, are dropped
    with pytest.warns(UserWarning):
        assert F.dropout2d(cr.ones(3, 4), p=0.5, training=False).tolist() == [[1.0] * 4] * 3


@pytest.mark.parametrize("name", ["sum", "mean", "std", "var", "prod", "amax", "amin", "argmax", "argmin",
                                  "logsumexp", "all", "any"])
def test_reductions_take_numpys_axis_and_keepdims_as_torch_does(name):
    array = numpy.random.default_rng(1).normal(size=(3, 4)) + 2.0
    ours, theirs = cr.tensor(array), torch.tensor(array)
    if name in ("all", "any"):
        ours, theirs = ours > 2.0, theirs > 2.0
    mine = getattr(ours, name)(axis=1, keepdims=True)
    reference = getattr(theirs, name)(axis=1, keepdims=True)
    numpy.testing.assert_allclose(numpy.asarray(mine), reference.numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="not both"):
        getattr(ours, name)(dim=0, axis=1)


def test_max_min_and_softmax_take_axis():
    x = cr.tensor([[1.0, 5.0], [4.0, 2.0]])
    assert x.max(axis=0).values.tolist() == [4.0, 5.0] and x.min(axis=1).indices.tolist() == [0, 1]
    numpy.testing.assert_allclose(x.softmax(axis=1).sum(axis=1).numpy(), [1.0, 1.0], rtol=1e-6)
    assert x.cumsum(axis=0).tolist() == [[1.0, 5.0], [5.0, 7.0]]
