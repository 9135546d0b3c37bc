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


# ----- float16 reductions accumulate in float32 and return float16, as PyTorch's do

HALF_REDUCTIONS = {
    "mean of 70,000 ones": (lambda x: x.mean(), numpy.ones(70_000)),
    "mean(dim=0) of 1000x100": (lambda x: x.mean(dim=0), numpy.full((1000, 100), 100.0)),
    "sum of 20,000 tenths": (lambda x: x.sum(), numpy.full(20_000, 0.1)),
    "sum(dim=0) near the float16 limit": (lambda x: x.sum(dim=0), numpy.full((1000, 3), 60.0)),
    "norm of [300, 300]": (lambda x: x.norm(), numpy.array([300.0, 300.0])),
    "1-norm of 20,000 tenths": (lambda x: x.norm(p=1), numpy.full(20_000, 0.1)),
    "std of [300, 300]": (lambda x: x.std(), numpy.array([300.0, 300.0])),
    "std of [300, -300, 0]": (lambda x: x.std(), numpy.array([300.0, -300.0, 0.0])),
    "var of [300, 300]": (lambda x: x.var(), numpy.array([300.0, 300.0])),
    "cumsum of 20,000 tenths": (lambda x: x.cumsum(0)[-1], numpy.full(20_000, 0.1)),
}


@pytest.mark.parametrize("case", list(HALF_REDUCTIONS))
def test_float16_reductions_accumulate_in_float32_as_pytorch(case):
    fn, values = HALF_REDUCTIONS[case]
    ours = fn(cr.tensor(values, dtype=cr.float16))
    theirs = fn(torch.tensor(values, dtype=torch.float16))
    assert ours.dtype == cr.float16
    numpy.testing.assert_allclose(ours.numpy().astype(numpy.float64), theirs.double().numpy(), rtol=1e-3)
    assert numpy.isfinite(ours.numpy()).all()


def test_float16_mean_gradient_is_float16_and_matches_pytorch():
    values = numpy.ones(70_000)
    x = cr.tensor(values, dtype=cr.float16, requires_grad=True)
    t = torch.tensor(values, dtype=torch.float16, requires_grad=True)
    x.mean().backward()
    t.mean().backward()
    assert x.grad.dtype == cr.float16
    numpy.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


# ----- gradients that PyTorch keeps finite where a naive chain rule gives nan

def _grads_match_pytorch(fn, *values):
    ours = [cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    with numpy.errstate(all="ignore"):
        fn(*ours).sum().backward()
    fn(*theirs).sum().backward()
    for x, t in zip(ours, theirs):
        numpy.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


NAN = float("nan")


@pytest.mark.parametrize("values", [[2.0, 2.0, 2.0], [[2.0, 1.0], [2.0, 3.0]]])
def test_std_of_a_constant_has_gradient_zero(values):
    _grads_match_pytorch(lambda x: x.std(dim=0), values)
    _grads_match_pytorch(lambda x: x.std(correction=0), values)


def test_atan2_at_the_origin_has_gradient_zero():
    _grads_match_pytorch(lambda y, x: cr.atan2(y, x) if isinstance(y, cr.Tensor) else torch.atan2(y, x),
                         [0.0, 1.0, 0.0, -2.0], [0.0, 0.0, 1.0, 3.0])


@pytest.mark.parametrize("values", [[1.0, NAN, 3.0], [NAN, 2.0, NAN], [1.0, 3.0, 3.0]])
@pytest.mark.parametrize("reduction", ["max", "min"])
def test_max_of_all_gives_the_gradient_to_the_nan(values, reduction):
    _grads_match_pytorch(lambda x: getattr(x, reduction)(), values)


@pytest.mark.parametrize("function", ["maximum", "minimum"])
def test_maximum_passes_the_whole_gradient_to_nan_entries(function):
    x, y = [1.0, NAN, 3.0, NAN, 2.0], [2.0, 0.0, NAN, NAN, 2.0]
    _grads_match_pytorch(
        lambda a, b: getattr(cr, function)(a, b) if isinstance(a, cr.Tensor) else getattr(torch, function)(a, b), x, y
    )


# ----- integer division by zero raises, as in PyTorch (NumPy would return 0)

@pytest.mark.parametrize("name, ours, theirs", [
    ("floor_divide", lambda x, y: cr.floor_divide(x, y), lambda x, y: torch.floor_divide(x, y)),
    ("floor_divide", lambda x, y: x // y, lambda x, y: x // y),
    ("remainder", lambda x, y: cr.remainder(x, y), lambda x, y: torch.remainder(x, y)),
    ("remainder", lambda x, y: x % y, lambda x, y: x % y),
    ("div", lambda x, y: cr.div(x, y, rounding_mode="floor"), lambda x, y: torch.div(x, y, rounding_mode="floor")),
    ("div", lambda x, y: cr.div(x, y, rounding_mode="trunc"), lambda x, y: torch.div(x, y, rounding_mode="trunc")),
])
def test_integer_division_by_zero_raises(name, ours, theirs):
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        theirs(torch.tensor([7, -7]), torch.tensor([2, 0]))
    with pytest.raises(RuntimeError, match=f"ZeroDivisionError: {name}: integer division by zero"):
        ours(cr.tensor([7, -7]), cr.tensor([2, 0]))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        ours(cr.tensor([7, -7]), 0)
    assert ours(cr.tensor([7, -7]), cr.tensor([2, 3])).tolist() == theirs(torch.tensor([7, -7]), torch.tensor([2, 3])).tolist()


def test_float_division_by_zero_still_gives_inf_and_nan():
    with numpy.errstate(all="ignore"):
        numpy.testing.assert_array_equal((cr.tensor([5.0, -5.0]) // 0).numpy(), (torch.tensor([5.0, -5.0]) // 0).numpy())
        numpy.testing.assert_array_equal((cr.tensor([5.0, 0.0]) % 0).numpy(), (torch.tensor([5.0, 0.0]) % 0).numpy())


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_logaddexp_at_extremes_matches_pytorch(dtype):
    x, y = [1e4, -numpy.inf, 0.0, -numpy.inf, numpy.inf, -1e4], [1e4, 0.0, -1e4, -numpy.inf, 1.0, -1e4]
    torch_dtype = getattr(torch, str(numpy.dtype(dtype)))
    ours = [cr.tensor(v, dtype=dtype, requires_grad=True) for v in (x, y)]
    theirs = [torch.tensor(v, dtype=torch_dtype, requires_grad=True) for v in (x, y)]
    with numpy.errstate(all="ignore"):
        out = cr.logaddexp(*ours)
        out.sum().backward()
    expected = torch.logaddexp(*theirs)
    expected.sum().backward()
    numpy.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-6, equal_nan=True)
    for mine, reference in zip(ours, theirs):
        numpy.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-6, equal_nan=True)
