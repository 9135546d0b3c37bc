"""torch-level functions added for porting (ops/combined.py and the facade), against torch on the same values.

The differentiable ones carry cards (tests/test_ops_registry.py gradchecks them and compares their
gradients with torch's); here every function, card or not, is called in both libraries.
"""
import numpy
import pytest
import torch

import chainrule as cr

RNG = numpy.random.default_rng(0)
A = RNG.normal(size=(3, 4))
B = RNG.normal(size=(3, 4))
V = RNG.normal(size=(4,))
INTS = numpy.array([3, 1, 3, 0, 2, 3])
NANS = numpy.array([[1.0, numpy.nan, 2.0], [numpy.inf, -numpy.inf, 0.0]])


def _lift(lib, value):
    return lib.tensor(value) if isinstance(value, numpy.ndarray) else value


# name → (positional arguments, keyword arguments); arrays become each library's tensors
CALLS = {
    "arcsin": ((A / 4,), {}), "arccos": ((A / 4,), {}), "arctan": ((A,), {}), "fix": ((A * 3,), {}), "sgn": ((A,), {}),
    "greater": ((A, B), {}), "greater_equal": ((A, B), {}), "less": ((A, B), {}), "less_equal": ((A, B), {}),
    "not_equal": ((A, A), {}), "ger": ((V, V), {}), "broadcast_to": ((V, (3, 4)), {}), "clamp_min": ((A, 0.1), {}),
    "clamp_max": ((A, 0.1), {}), "positive": ((A,), {}), "detach": ((A,), {}), "atleast_2d": ((V,), {}),
    "atleast_3d": ((A,), {}), "hstack": (([A, B],), {}), "vstack": (([V, V],), {}), "row_stack": (([A, B],), {}),
    "dstack": (([A, B],), {}), "column_stack": (([V, A.T],), {}), "block_diag": ((A, V), {}), "diag": ((V, -1), {}),
    "diagflat": ((A[:2, :2],), {}), "kron": ((A, B[:2, :2]), {}), "tensordot": ((A, B.T), {"dims": 1}),
    "inner": ((A, B), {}), "cartesian_prod": ((V, V[:2]), {}), "nansum": ((NANS[:1],), {}), "nanmean": ((NANS[:1],), {}),
    "fmax": ((NANS, NANS[::-1].copy()), {}), "fmin": ((NANS, NANS[::-1].copy()), {}), "logaddexp2": ((A, B), {}),
    "float_power": ((numpy.abs(A), 1.5), {}), "rsub": ((A, B), {"alpha": 2}), "vdot": ((V, V), {}),
    "cdist": ((A, B), {}), "pdist": ((A,), {}), "trapezoid": ((A,), {"dx": 0.5}), "trapz": ((A, V), {}),
    "vander": ((V,), {}), "take": ((A, numpy.array([[0, 11], [5, 5]])), {}), "msort": ((A,), {}),
    "isin": ((INTS, numpy.array([3, 2])), {}), "isposinf": ((NANS,), {}), "isneginf": ((NANS,), {}),
    "signbit": ((numpy.array([-0.0, 0.0, -1.0]),), {}), "bucketize": ((A, numpy.array([-1.0, 0.0, 1.0])), {}),
    "bincount": ((INTS,), {"minlength": 6}), "histc": ((A,), {"bins": 5, "min": -2, "max": 2}),
    "nan_to_num": ((NANS,), {"nan": 7.0}), "median": ((A,), {}), "tril_indices": ((3, 4, 1), {}),
    "triu_indices": ((4, 3, -1), {}), "scalar_tensor": ((2.5,), {}),
    "conv1d": ((A[None], RNG.normal(size=(2, 3, 2))), {"padding": 1}), "pixel_shuffle": ((A.reshape(1, 4, 3, 1), 2), {}),
    "cosine_similarity": ((A, B), {}), "pairwise_distance": ((A, B), {}), "selu": ((A,), {}), "celu": ((A, 0.5), {}),
    "hardshrink": ((A, 0.3), {}), "threshold": ((A, 0.1, 2.0), {}), "layer_norm": ((A, (4,)), {}),
    "group_norm": ((A.reshape(3, 4, 1), 2), {}), "max_pool1d": ((A[None], 2), {}), "rms_norm": ((A, (4,)), {}),
    "avg_pool1d": ((A[None], 2), {}), "adaptive_avg_pool1d": ((A[None], 3), {}),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_function_gives_torchs_answer(name):
    arguments, keywords = CALLS[name]
    mine = getattr(cr, name)(*(_lift(cr, a) if not isinstance(a, list) else [_lift(cr, b) for b in a] for a in arguments),
                             **keywords)
    theirs = getattr(torch, name)(*(_lift(torch, a) if not isinstance(a, list) else [_lift(torch, b) for b in a]
                                    for a in arguments), **keywords)
    assert mine.shape == tuple(theirs.shape), name
    assert str(mine.dtype) == str(theirs.dtype).replace("torch.", ""), name
    numpy.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_functions_that_return_several_tensors_match_torch():
    x, t = cr.tensor(A), torch.tensor(A)
    for mine, theirs in [(cr.std_mean(x, 1), torch.std_mean(t, 1)), (cr.var_mean(x, 0, correction=0),
                                                                    torch.var_mean(t, 0, correction=0)),
                         (cr.aminmax(x, dim=1), torch.aminmax(t, dim=1)), (cr.median(x, 1), torch.median(t, 1)),
                         (cr.kthvalue(x, 3, 1, keepdim=True), torch.kthvalue(t, 3, 1, keepdim=True)),
                         (cr.broadcast_tensors(cr.tensor(V), x), torch.broadcast_tensors(torch.tensor(V), t)),
                         (cr.meshgrid(cr.tensor(V), cr.tensor(V[:2]), indexing="xy"),
                          torch.meshgrid(torch.tensor(V), torch.tensor(V[:2]), indexing="xy")),
                         (cr.unique(cr.tensor(INTS), return_inverse=True, return_counts=True),
                          torch.unique(torch.tensor(INTS), return_inverse=True, return_counts=True))]:
        assert len(mine) == len(theirs)
        for a, b in zip(mine, theirs):
            numpy.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    assert cr.aminmax(x).min.item() == torch.aminmax(t).min.item()
    assert cr.broadcast_shapes((3, 1), (1, 4), (4,)) == tuple(torch.broadcast_shapes((3, 1), (1, 4), (4,)))
    assert cr.atleast_1d(cr.tensor(1.0)).shape == (1,) and len(cr.atleast_1d(cr.tensor(1.0), cr.zeros(2))) == 2
    assert cr.finfo(cr.float32).eps == torch.finfo(torch.float32).eps and cr.iinfo(cr.int8).max == 127
    numpy.testing.assert_array_equal(cr.vander(cr.tensor([0.0, 2.0]), increasing=True).numpy(),
                                     torch.vander(torch.tensor([0.0, 2.0]), increasing=True).numpy())
    vander_at_zero = cr.tensor([0.0, 2.0], requires_grad=True)
    cr.vander(vander_at_zero).sum().backward()
    assert numpy.isfinite(vander_at_zero.grad.numpy()).all()          # x⁰'s slope is 0, not 0·0⁻¹


def test_torch_level_nn_functions_are_the_functional_ones():
    import chainrule.nn.functional as F
    for name in ("conv2d", "max_pool2d", "pixel_unshuffle", "channel_shuffle", "prelu", "conv_transpose2d"):
        assert getattr(cr, name) is getattr(F, name)
