"""PyTorch's out= and NumPy's axis=/keepdims=, checked against the installed PyTorch; the mean of integers refused.

Which ops take axis= is asked of PyTorch itself: for each op chainrule has, the function
form and the method form are called with axis= in both libraries, and chainrule must
accept exactly where PyTorch does (and then give dim='s answer).
"""
import numpy
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F

RNG = numpy.random.default_rng(0)
ARRAY = RNG.permutation(12).reshape(3, 4) * 0.25 + 0.5

# name → the call with its other arguments (lib is chainrule or torch, x the input, d the dim keyword dict)
DIM_CALLS = {
    "sum": lambda lib, x, d: lib.sum(x, **d), "mean": lambda lib, x, d: lib.mean(x, **d),
    "std": lambda lib, x, d: lib.std(x, **d), "var": lambda lib, x, d: lib.var(x, **d),
    "prod": lambda lib, x, d: lib.prod(x, **d), "amax": lambda lib, x, d: lib.amax(x, **d),
    "amin": lambda lib, x, d: lib.amin(x, **d), "max": lambda lib, x, d: lib.max(x, **d).values,
    "min": lambda lib, x, d: lib.min(x, **d).values, "argmax": lambda lib, x, d: lib.argmax(x, **d),
    "argmin": lambda lib, x, d: lib.argmin(x, **d), "logsumexp": lambda lib, x, d: lib.logsumexp(x, **d),
    "cumsum": lambda lib, x, d: lib.cumsum(x, **d), "all": lambda lib, x, d: lib.all(x > 1.0, **d),
    "any": lambda lib, x, d: lib.any(x > 1.0, **d), "softmax": lambda lib, x, d: lib.softmax(x, **d),
    "log_softmax": lambda lib, x, d: lib.log_softmax(x, **d), "norm": lambda lib, x, d: lib.norm(x, **d),
    "squeeze": lambda lib, x, d: lib.squeeze(x[:1], **d), "unsqueeze": lambda lib, x, d: lib.unsqueeze(x, **d),
    "sort": lambda lib, x, d: lib.sort(x, **d).values, "argsort": lambda lib, x, d: lib.argsort(x, **d),
    "topk": lambda lib, x, d: lib.topk(x, 2, **d).values, "unbind": lambda lib, x, d: lib.unbind(x, **d)[0],
    "chunk": lambda lib, x, d: lib.chunk(x, 2, **d)[0], "split": lambda lib, x, d: lib.split(x, 2, **d)[0],
    "gather": lambda lib, x, d: lib.gather(x, index=lib.zeros((3, 2), dtype=lib.int64), **d),
    "index_select": lambda lib, x, d: lib.index_select(x, index=lib.tensor([1, 0]), **d),
    "scatter_add": lambda lib, x, d: lib.scatter_add(x, index=lib.zeros((3, 4), dtype=lib.int64), src=x, **d),
    "unflatten": lambda lib, x, d: lib.unflatten(x, sizes=(2, 2), **d),
    "cat": lambda lib, x, d: lib.cat([x, x], **d), "stack": lambda lib, x, d: lib.stack([x, x], **d),
}
METHOD_FORMS = ["sum", "mean", "std", "var", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "logsumexp",
                "cumsum", "all", "any", "softmax", "log_softmax", "norm", "squeeze", "unsqueeze", "sort", "argsort",
                "topk", "unbind", "chunk", "split", "gather", "index_select", "scatter_add", "unflatten"]


class AsMethods:
    """``lib.name(x, ...)`` spelled ``x.name(...)``, so that one table drives both forms."""

    def __init__(self, lib):
        self.lib = lib

    def __getattr__(self, name):
        if name in ("zeros", "tensor", "int64"):
            return getattr(self.lib, name)
        return lambda x, *args, **kwargs: getattr(x, name)(*args, **kwargs)


def _accepts(call, lib, x, keywords):
    try:
        return True, call(lib, x, keywords)
    except TypeError:
        return False, None


@pytest.mark.parametrize("form", ["function", "method"])
@pytest.mark.parametrize("name", sorted(DIM_CALLS))
def test_axis_is_accepted_exactly_where_torch_accepts_it(name, form):
    if form == "method" and name not in METHOD_FORMS:
        pytest.skip(f"{name} has no method form")
    ours, theirs = (cr, torch) if form == "function" else (AsMethods(cr), AsMethods(torch))
    call = DIM_CALLS[name]
    torch_accepts, expected = _accepts(call, theirs, torch.tensor(ARRAY), {"axis": 1})
    we_accept, got = _accepts(call, ours, cr.tensor(ARRAY), {"axis": 1})
    assert we_accept == torch_accepts, f"{form} {name}: torch {'accepts' if torch_accepts else 'refuses'} axis="
    if torch_accepts:
        numpy.testing.assert_allclose(numpy.asarray(got), expected.numpy(), rtol=1e-6)
        numpy.testing.assert_allclose(numpy.asarray(got), numpy.asarray(call(ours, cr.tensor(ARRAY), {"dim": 1})))


@pytest.mark.parametrize("name", ["sum", "mean", "std", "var", "prod", "amax", "amin", "argmax", "logsumexp", "all", "any"])
def test_the_function_forms_take_keepdims_too(name):
    call = DIM_CALLS[name]
    got = call(cr, cr.tensor(ARRAY), {"axis": 0, "keepdims": True})
    expected = call(torch, torch.tensor(ARRAY), {"axis": 0, "keepdims": True})
    assert got.shape == tuple(expected.shape)
    numpy.testing.assert_allclose(numpy.asarray(got), expected.numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match="not both"):
        call(cr, cr.tensor(ARRAY), {"axis": 0, "dim": 0})


def test_functional_forms_follow_torch_on_axis():
    x = cr.tensor(ARRAY)
    numpy.testing.assert_allclose(F.cosine_similarity(x, x + 1, axis=0).numpy(),
                                  TF.cosine_similarity(torch.tensor(ARRAY), torch.tensor(ARRAY) + 1, axis=0).numpy(),
                                  rtol=1e-6)
    for name in ("softmax", "log_softmax", "normalize"):      # Python functions in PyTorch: no alias
        with pytest.raises(TypeError):
            getattr(TF, name)(torch.tensor(ARRAY), axis=1)
        with pytest.raises(TypeError):
            getattr(F, name)(x, axis=1)


# name → the call, given the out keywords (lib is chainrule or torch)
OUT_CALLS = {
    "add": lambda lib, x, **o: lib.add(x, x[:1], **o), "sub": lambda lib, x, **o: lib.sub(x, 1.5, **o),
    "mul": lambda lib, x, **o: lib.mul(x, x, **o), "div": lambda lib, x, **o: lib.div(x, 2.0, **o),
    "pow": lambda lib, x, **o: lib.pow(x, 2.0, **o), "maximum": lambda lib, x, **o: lib.maximum(x, x.T.reshape(3, 4), **o),
    "where": lambda lib, x, **o: lib.where(x > 1.0, x, x * 0, **o),
    "exp": lambda lib, x, **o: lib.exp(x, **o), "log": lambda lib, x, **o: lib.log(x, **o),
    "sqrt": lambda lib, x, **o: lib.sqrt(x, **o), "tanh": lambda lib, x, **o: lib.tanh(x, **o),
    "sigmoid": lambda lib, x, **o: lib.sigmoid(x, **o), "abs": lambda lib, x, **o: lib.abs(x, **o),
    "matmul": lambda lib, x, **o: lib.matmul(x, x.T, **o), "mm": lambda lib, x, **o: lib.mm(x, x.T, **o),
    "bmm": lambda lib, x, **o: lib.bmm(x[None], x.T[None], **o), "clamp": lambda lib, x, **o: lib.clamp(x, 1.0, 2.0, **o),
    "sum": lambda lib, x, **o: lib.sum(x, 1, **o), "mean": lambda lib, x, **o: lib.mean(x, 0, **o),
    "std": lambda lib, x, **o: lib.std(x, 1, **o), "prod": lambda lib, x, **o: lib.prod(x, 1, **o),
    "logsumexp": lambda lib, x, **o: lib.logsumexp(x, 1, **o), "cumsum": lambda lib, x, **o: lib.cumsum(x, 0, **o),
    "cat": lambda lib, x, **o: lib.cat([x, x], 0, **o), "stack": lambda lib, x, **o: lib.stack([x, x], 1, **o),
    "argmax": lambda lib, x, **o: lib.argmax(x, 1, **o),
}


@pytest.mark.parametrize("name", sorted(OUT_CALLS))
def test_out_writes_into_the_given_tensor_as_torch_does(name):
    expected = OUT_CALLS[name](torch, torch.tensor(ARRAY))
    out_dtype = cr.int64 if name == "argmax" else cr.float64
    into = cr.full(tuple(expected.shape), -7.0, dtype=out_dtype)
    view = into.reshape(-1)                        # shares into's memory: the write must reach it
    returned = OUT_CALLS[name](cr, cr.tensor(ARRAY), out=into)
    assert returned is into and not into.requires_grad
    torch_out = torch.full(expected.shape, -7.0, dtype=torch.int64 if name == "argmax" else torch.float64)
    assert OUT_CALLS[name](torch, torch.tensor(ARRAY), out=torch_out) is torch_out   # torch takes out= here too
    numpy.testing.assert_allclose(into.numpy(), torch_out.numpy(), rtol=1e-12)
    numpy.testing.assert_allclose(view.numpy(), torch_out.numpy().reshape(-1), rtol=1e-12)


def test_out_may_be_an_input_and_pairs_fill_values_and_indices():
    x = cr.tensor(ARRAY)
    assert cr.exp(x, out=x) is x
    numpy.testing.assert_allclose(x.numpy(), numpy.exp(ARRAY))
    values, indices = cr.empty(3, dtype=cr.float64), cr.empty(3, dtype=cr.int64)
    result = cr.max(cr.tensor(ARRAY), 1, out=(values, indices))
    expected = torch.max(torch.tensor(ARRAY), 1)
    assert result.values is values and result.indices is indices
    assert values.tolist() == expected.values.tolist() and indices.tolist() == expected.indices.tolist()
    with pytest.raises(TypeError, match="a tuple of 2 tensors"):
        cr.max(cr.tensor(ARRAY), 1, out=values)


def test_out_refuses_autograd_as_torch_does():
    leaf = cr.tensor(ARRAY, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"add\(\): functions with out=\.\.\. arguments don't support automatic "
                                           "differentiation, but one of the arguments requires grad"):
        cr.add(leaf, 1.0, out=cr.empty(3, 4, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        cr.add(cr.tensor(ARRAY), 1.0, out=cr.empty(3, 4, dtype=cr.float64, requires_grad=True))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        torch.add(torch.tensor(ARRAY, requires_grad=True), 1.0, out=torch.empty(3, 4, dtype=torch.float64))
    with cr.no_grad():
        into = cr.empty(3, 4, dtype=cr.float64)
        cr.add(leaf, 1.0, out=into)
    numpy.testing.assert_allclose(into.numpy(), ARRAY + 1.0)


def test_out_checks_dtype_and_shape_with_clear_errors():
    x = cr.tensor(ARRAY)
    with pytest.raises(RuntimeError, match="result type float64 can't be cast to the desired output type int64"):
        cr.add(x, 1.0, out=cr.empty(3, 4, dtype=cr.int64))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        torch.add(torch.tensor(ARRAY), 1.0, out=torch.empty(3, 4, dtype=torch.int64))
    into = cr.empty(3, 4, dtype=cr.float32)                 # int into float and float64 into float32 are written
    cr.add(cr.tensor([[1, 2, 3, 4]] * 3), 1, out=into)
    assert into.dtype == cr.float32 and into[0].tolist() == [2.0, 3.0, 4.0, 5.0]
    with pytest.raises(RuntimeError, match=r"out= has shape \(2,\) but the result has shape \(3, 4\).*without resizing"):
        cr.add(x, 1.0, out=cr.empty(2, dtype=cr.float64))
    with pytest.raises(TypeError, match="out= must be a chainrule Tensor"):
        cr.add(x, 1.0, out=numpy.empty((3, 4)))


def test_the_bare_ops_that_tensor_operators_call_stay_without_keywords():
    # x + y calls chainrule.ops.add, which pays nothing for out=; chainrule.add is the keyword form.
    assert cr.ops.add is not cr.add and cr.sum.__wrapped__ is cr.ops.sum
    assert "out=" in cr.add.__doc__ and "out=" in cr.sum.__doc__


def test_add_and_sub_take_alpha_as_torch_does():
    for name in ("add", "sub"):
        into = cr.empty(3, 4, dtype=cr.float64)
        mine = getattr(cr, name)(cr.tensor(ARRAY), cr.tensor(ARRAY[0]), alpha=-2.5, out=into)
        theirs = getattr(torch, name)(torch.tensor(ARRAY), torch.tensor(ARRAY[0]), alpha=-2.5)
        assert mine is into
        numpy.testing.assert_allclose(into.numpy(), theirs.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
@pytest.mark.parametrize("name", ["mean", "std", "var"])
def test_mean_std_var_of_integers_are_refused_as_in_torch(name, dtype):
    values = [1, 0, 1]
    with pytest.raises(RuntimeError):
        getattr(torch.tensor(values, dtype=getattr(torch, dtype)), name)()
    with pytest.raises(RuntimeError, match=rf"{name}\(\): could not infer output dtype.*Got: {dtype if dtype != 'bool' else 'bool'}"
                                           rf"; convert it first: x\.float\(\)\.{name}\(\)"):
        getattr(cr.tensor(values, dtype=getattr(cr, dtype + ("_" if dtype == "bool" else ""))), name)()


def test_mean_takes_dtype_as_torch_does():
    ours = cr.tensor([[1, 2], [3, 5]]).mean(dtype=cr.float64)
    theirs = torch.tensor([[1, 2], [3, 5]]).mean(dtype=torch.float64)
    assert ours.dtype == cr.float64 and float(ours) == float(theirs) == 2.75
    assert cr.mean(cr.tensor([1, 2]), 0, dtype=cr.float32).tolist() == 1.5
    with pytest.raises(RuntimeError, match="mean"):
        cr.mean(cr.tensor([1.5, 2.0]), dtype=cr.int64)
