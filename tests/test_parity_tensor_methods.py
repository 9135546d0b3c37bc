"""PyTorch's Tensor methods added for porting: other names, fused forms, in-place twins, against torch.

Their gradients are checked where the ops are declared (ops/combined.py's cards run through
tests/test_ops_registry.py: float64 gradcheck, gradgradcheck and PyTorch on hypothesis inputs);
here each method form is called in both libraries on the same values, and each in-place twin
x.name_(...) must leave in x what x.name(...) returns, with PyTorch's refusals.
"""
import numpy
import pytest
import torch

import chainrule as cr

RNG = numpy.random.default_rng(0)
X = RNG.uniform(0.2, 0.9, size=(3, 4))
Y = RNG.uniform(0.2, 0.9, size=(3, 4))


def _lift(lib, value):
    return lib.tensor(value) if isinstance(value, numpy.ndarray) else value


# name → the other arguments, as arrays or plain values (arrays become each library's tensors)
CALLS = {
    "absolute": (), "arcsin": (), "arccos": (), "arctan": (), "atan2": (Y,), "arctan2": (Y,), "trunc": (), "fix": (),
    "frac": (), "sgn": (), "negative": (), "positive": (), "exp2": (), "lgamma": (), "digamma": (), "erfinv": (),
    "logit": (), "deg2rad": (), "rad2deg": (), "multiply": (Y,), "subtract": (Y,), "divide": (Y,),
    "true_divide": (Y,), "floor_divide": (Y,), "remainder": (Y,), "logaddexp": (Y,), "xlogy": (Y,), "hypot": (Y,),
    "dist": (Y,), "lerp": (Y, 0.25), "addmm": (X[:, :3], Y[:3]), "addmv": (Y.T, Y[:, 0]), "addcmul": (Y, X), "addcdiv": (Y, X),
    "clamp_min": (0.5,), "clamp_max": (0.5,), "greater": (Y,), "greater_equal": (Y,), "less": (Y,),
    "less_equal": (Y,), "not_equal": (Y,), "isclose": (X + 1e-9,), "allclose": (X,), "equal": (X,),
    "count_nonzero": (), "nonzero": (), "argwhere": (), "masked_select": (X > 0.5,),
    "take_along_dim": (numpy.array([[0], [3], [1]]), 1), "repeat_interleave": (2, 0), "narrow": (1, 1, 2),
    "select": (1, 2), "tile": ((2, 1),), "rot90": (), "fliplr": (), "flipud": (), "diff": (), "unfold": (1, 2, 1),
    "swapdims": (0, 1), "movedim": (0, 1), "moveaxis": (0, 1), "ravel": (), "ndimension": (), "nelement": (),
    "is_contiguous": (), "is_complex": (), "is_signed": (), "is_same_size": (Y,), "get_device": (),
    "logical_and": (Y > 0.5,), "logical_or": (Y > 0.5,), "logical_xor": (Y > 0.5,), "logical_not": (),
    "outer": (Y[0],), "ger": (Y[0],), "polygamma": (1,),
}
ROW_INPUT = {"outer", "ger", "addmv"}          # take a vector


@pytest.mark.parametrize("name", sorted(CALLS))
def test_method_gives_torchs_answer(name):
    x = X[0] if name in ROW_INPUT else X
    mine = getattr(cr.tensor(x), name)(*(_lift(cr, a) for a in CALLS[name]))
    theirs = getattr(torch.tensor(x), name)(*(_lift(torch, a) for a in CALLS[name]))
    if isinstance(theirs, torch.Tensor):
        assert mine.shape == tuple(theirs.shape) and str(mine.dtype) == str(theirs.dtype).replace("torch.", "")
        numpy.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-9, atol=1e-12)
    else:
        assert mine == theirs


def test_properties_and_bmm_forms():
    x = cr.tensor(X)
    assert x.is_cpu and not x.is_cuda and x.nbytes == X.nbytes and x.itemsize == 8 and x.retains_grad is False
    b1, b2, c = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 4, 5)), RNG.normal(size=(3, 5))
    for method, base in [("baddbmm", c[None].repeat(2, 0)), ("addbmm", c)]:
        mine = getattr(cr.tensor(base), method)(cr.tensor(b1), cr.tensor(b2), beta=0.5, alpha=2)
        theirs = getattr(torch.tensor(base), method)(torch.tensor(b1), torch.tensor(b2), beta=0.5, alpha=2)
        numpy.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12)
        numpy.testing.assert_allclose(getattr(cr.tensor(base), method + "_")(cr.tensor(b1), cr.tensor(b2)).numpy(),
                                      getattr(torch.tensor(base), method + "_")(torch.tensor(b1), torch.tensor(b2)).numpy())


IN_PLACE = ["abs_", "absolute_", "neg_", "negative_", "exp_", "exp2_", "expm1_", "log_", "log2_", "log10_", "log1p_",
            "sqrt_", "rsqrt_", "square_", "reciprocal_", "sin_", "cos_", "tan_", "asin_", "acos_", "atan_",
            "arcsin_", "arccos_", "arctan_", "sinh_", "cosh_", "tanh_", "sigmoid_", "relu_", "erf_", "erfinv_",
            "lgamma_", "digamma_", "logit_", "floor_", "ceil_", "round_", "trunc_", "fix_", "frac_", "sign_", "sgn_",
            "deg2rad_", "rad2deg_", ("pow_", 2.0), ("multiply_", Y), ("subtract_", Y), ("divide_", Y),
            ("true_divide_", Y), ("floor_divide_", Y), ("remainder_", Y), ("atan2_", Y), ("arctan2_", Y),
            ("xlogy_", Y), ("hypot_", Y), ("lerp_", Y, 0.3), ("addcmul_", Y, X), ("addcdiv_", Y, X),
            ("clamp_min_", 0.5), ("clamp_max_", 0.5), ("clip_", 0.3, 0.6), ("masked_fill_", X > 0.5, -1.0),
            ("tril_", 0), ("triu_", 1), ("eq_", X), ("ne_", Y), ("lt_", Y), ("le_", Y), ("gt_", Y), ("ge_", Y),
            ("scatter_add_", 1, numpy.zeros((3, 4), dtype=numpy.int64), Y)]


@pytest.mark.parametrize("case", IN_PLACE, ids=lambda case: case if isinstance(case, str) else case[0])
def test_in_place_twins_write_what_the_op_returns_as_torch_does(case):
    name, *arguments = (case,) if isinstance(case, str) else case
    mine, theirs = cr.tensor(X), torch.tensor(X)
    assert getattr(mine, name)(*(_lift(cr, a) for a in arguments)) is mine
    getattr(theirs, name)(*(_lift(torch, a) for a in arguments))
    numpy.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_in_place_twins_refuse_what_torch_refuses_or_cannot_record():
    leaf = cr.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="exp_: a leaf that requires grad"):
        leaf.exp_()
    with pytest.raises(RuntimeError, match="mul"):          # an operand that requires grad
        cr.tensor(X).multiply_(leaf)
    with pytest.raises(RuntimeError, match="result type float.* can't be cast to this tensor's dtype int64"):
        cr.tensor([1, 2]).exp_()
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2]).exp_()
    with pytest.raises(RuntimeError, match=r"shape \(3, 4\), which does not fit in place"):
        cr.tensor(X[0]).add_(0).multiply_(cr.tensor(X))
    with cr.no_grad():
        leaf.exp_()
    numpy.testing.assert_allclose(leaf.detach().numpy(), numpy.exp(X))


def test_scatter_and_fill_diagonal_write_as_torch_does():
    index = numpy.array([[1, 0, 2, 0], [2, 1, 0, 1]])
    src = RNG.normal(size=(3, 4))
    mine = cr.zeros(3, 4, dtype=cr.float64).scatter_(0, cr.tensor(index), cr.tensor(src))
    theirs = torch.zeros(3, 4, dtype=torch.float64).scatter_(0, torch.tensor(index), torch.tensor(src))
    numpy.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    mine = cr.zeros(3, 4).scatter_(1, cr.tensor(index[:, :2]), value=2.5)
    theirs = torch.zeros(3, 4).scatter_(1, torch.tensor(index[:, :2]), value=2.5)
    numpy.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    numpy.testing.assert_array_equal(cr.zeros(3, 3).fill_diagonal_(4.0).numpy(),
                                     torch.zeros(3, 3).fill_diagonal_(4.0).numpy())
    numpy.testing.assert_array_equal(cr.zeros(7, 3).fill_diagonal_(1.0, wrap=True).numpy(),
                                     torch.zeros(7, 3).fill_diagonal_(1.0, wrap=True).numpy())
    with pytest.raises(TypeError, match="src= .* or value="):
        cr.zeros(2).scatter_(0, cr.tensor([0]))


def test_function_forms_match_torch():
    x, y = cr.tensor(X), cr.tensor(Y)
    tx, ty = torch.tensor(X), torch.tensor(Y)
    pairs = [(cr.repeat_interleave(cr.tensor([[1, 2], [3, 4]]), cr.tensor([1, 2]), dim=0),
              torch.repeat_interleave(torch.tensor([[1, 2], [3, 4]]), torch.tensor([1, 2]), dim=0)),
             (cr.diff(x, n=2, dim=0, append=y), torch.diff(tx, n=2, dim=0, append=ty)),
             (cr.rot90(x, 3, (1, 0)), torch.rot90(tx, 3, (1, 0))),
             (cr.nonzero(x > 0.5, as_tuple=True)[1], torch.nonzero(tx > 0.5, as_tuple=True)[1]),
             (cr.tile(x, (2, 1, 1)), torch.tile(tx, (2, 1, 1))),
             (cr.xlogy(cr.tensor([0.0, 1.0]), cr.tensor([0.0, numpy.e])),
              torch.xlogy(torch.tensor([0.0, 1.0]), torch.tensor([0.0, numpy.e]))),
             (cr.isclose(cr.tensor([numpy.inf, numpy.nan]), cr.tensor([numpy.inf, numpy.nan]), equal_nan=True),
              torch.isclose(torch.tensor([numpy.inf, numpy.nan]), torch.tensor([numpy.inf, numpy.nan]), equal_nan=True))]
    for number, (mine, theirs) in enumerate(pairs):
        numpy.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-6, err_msg=f"pair {number}")
    with pytest.raises(RuntimeError, match="repeat_interleave: repeats has 3 counts"):
        cr.repeat_interleave(x, cr.tensor([1, 2, 3]), dim=1)
    with pytest.raises(RuntimeError, match="addmm: mat1 must be a 2-D tensor"):
        cr.addmm(x, x[0], y.T)
    with pytest.raises(RuntimeError, match="unfold: windows of size 5"):
        x.unfold(1, 5, 1)


def test_index_add_copy_fill_and_their_in_place_twins_match_torch():
    index = numpy.array([2, 0])
    source = RNG.normal(size=(3, 2))
    for name, arguments in [("index_add", (1, index, source)), ("index_copy", (1, index, source)),
                            ("index_fill", (1, index, -5.0))]:
        for suffix in ("", "_"):
            mine = getattr(cr.tensor(X), name + suffix)(*(_lift(cr, a) for a in arguments))
            theirs = getattr(torch.tensor(X), name + suffix)(*(_lift(torch, a) for a in arguments))
            numpy.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12)
    numpy.testing.assert_allclose(cr.tensor(X).index_add(1, cr.tensor(index), cr.tensor(source), alpha=2).numpy(),
                                  torch.tensor(X).index_add(1, torch.tensor(index), torch.tensor(source), alpha=2).numpy())
    with pytest.raises(RuntimeError, match="index_add: index must be a 1-D integer tensor"):
        cr.tensor(X).index_add(1, cr.tensor([[0]]), cr.tensor(source))
    assert cr.tensor(X).byte().dtype == cr.uint8 and cr.tensor(X).char().dtype == cr.int8
    assert cr.tensor(X).short().dtype == cr.int16


@pytest.mark.parametrize("name, arguments, mean, variance", [
    ("exponential_", (2.0,), 0.5, 0.25), ("geometric_", (0.25,), 4.0, 12.0), ("log_normal_", (0.0, 0.5),
                                                                               numpy.exp(0.125), (numpy.exp(0.25) - 1) * numpy.exp(0.25)),
    ("bernoulli_", (0.3,), 0.3, 0.21), ("random_", (2, 6), 3.5, 1.25), ("uniform_", (1.0, 3.0), 2.0, 1 / 3)])
def test_random_fills_draw_from_torchs_distributions(name, arguments, mean, variance):
    cr.manual_seed(0)
    draws = getattr(cr.empty(40000, dtype=cr.float64), name)(*arguments).numpy()
    torch.manual_seed(0)
    theirs = getattr(torch.empty(40000, dtype=torch.float64), name)(*arguments).numpy()
    for sample in (draws, theirs):                      # both libraries: the same law, within 4 standard errors
        assert abs(sample.mean() - mean) < 4 * numpy.sqrt(variance / sample.size)
        assert abs(sample.var() - variance) < 0.1 * variance
    cr.manual_seed(0)
    assert numpy.array_equal(getattr(cr.empty(40000, dtype=cr.float64), name)(*arguments).numpy(), draws)


def test_cauchy_and_bernoulli_forms():
    cr.manual_seed(1)
    draws = cr.empty(40000, dtype=cr.float64).cauchy_(1.0, 2.0).numpy()
    assert abs(numpy.median(draws) - 1.0) < 0.1 and abs(numpy.percentile(draws, 75) - 3.0) < 0.15   # median ± σ
    probabilities = cr.tensor([0.0, 1.0, 0.0, 1.0])
    assert probabilities.bernoulli().tolist() == [0.0, 1.0, 0.0, 1.0]
    with pytest.raises(RuntimeError, match="exponential_: a leaf that requires grad"):
        cr.ones(2, requires_grad=True).exponential_()
