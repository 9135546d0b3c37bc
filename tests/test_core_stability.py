"""Extreme inputs (±1e4, ±inf, all −inf rows): the same values and gradients as PyTorch, no surprise nan."""
import numpy
import pytest
import torch

import chainrule as cr

EXTREMES = [-numpy.inf, -1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4, numpy.inf]

CASES = {
    "sigmoid": (cr.sigmoid, torch.sigmoid),
    "tanh": (cr.tanh, torch.tanh),
    "log1p": (cr.log1p, torch.log1p),
    "expm1": (cr.expm1, torch.expm1),
    "softplus": (cr.softplus, torch.nn.functional.softplus),
    "relu": (cr.relu, torch.relu),
    "exp": (cr.exp, torch.exp),
}


def _compare(ours_fn, torch_fn, values, dtype):
    x = cr.tensor(values, dtype=dtype, requires_grad=True)
    t = torch.tensor(values, dtype=getattr(torch, str(numpy.dtype(dtype))), requires_grad=True)
    with numpy.errstate(all="ignore"):
        out = ours_fn(x)
        out.sum().backward()
    expected = torch_fn(t)
    expected.sum().backward()
    numpy.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-6, equal_nan=True)
    numpy.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_elementwise_extremes_match_pytorch(name, dtype):
    values = [v for v in EXTREMES if not (name == "log1p" and v < -1)]
    _compare(*CASES[name], values, dtype)


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_logsumexp_softmax_log_softmax_on_extreme_rows(dtype):
    rows = [
        [1e4, 1e4, -1e4],
        [-1e4, -1e4, -1e4],
        [-numpy.inf, 0.0, 1.0],
        [-numpy.inf, -numpy.inf, -numpy.inf],
        [numpy.inf, 0.0, 1.0],
        [-numpy.inf, -numpy.inf, 2.0],
    ]
    for fn_name in ("logsumexp", "softmax", "log_softmax"):
        _compare(lambda x: getattr(x, fn_name)(-1), lambda t: getattr(t, fn_name)(-1), rows, dtype)


def test_logsumexp_is_exact_for_large_equal_values():
    out = cr.logsumexp(cr.tensor([1e4, 1e4], dtype=cr.float64), dim=0)
    assert out.item() == pytest.approx(1e4 + numpy.log(2), rel=1e-15)
    assert not numpy.isnan(cr.softmax(cr.tensor([1e4, -1e4]), 0).numpy()).any()


def test_sigmoid_saturates_without_nan_in_its_gradient():
    x = cr.tensor([-1e4, 1e4], requires_grad=True)
    cr.sigmoid(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
