"""ReLU's forward (ops/elementwise.py, _max_with_zero) against NumPy's maximum(x, 0), in every layout.

It compares x with a broadcast row of zeros in x's memory order instead of with the scalar 0:
the result must be the same bit for bit (NaN, ±0, ±inf included) and laid out as x is. Its rule runs
on raw arrays in a plain backward, and must equal the recorded tensor-op form bit for bit.
"""
import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops.elementwise import _max_with_zero


def _special_values(shape, dtype=np.float32):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    x.flat[::7], x.flat[::11], x.flat[::13], x.flat[::17] = np.nan, -np.inf, -0.0, np.inf
    return x


_BASE = _special_values((16, 28, 28, 8))
LAYOUTS = {
    "C order": _BASE,
    "permuted (a conv output)": _BASE.transpose(3, 0, 1, 2),
    "transposed": _BASE.T,
    "strided slice": _BASE[:, ::2],
    "flipped": _BASE[..., ::-1],
    "broadcast": np.broadcast_to(_BASE[:1], _BASE.shape),
    "float64": _special_values((5, 3000), np.float64),
    "int64": np.arange(-6, 6),
    "0-d": np.array(-2.0, dtype=np.float32),
    "empty": np.zeros((0, 3), dtype=np.float32),
}


@pytest.mark.parametrize("name", LAYOUTS)
def test_same_bits_and_layout_as_maximum_with_scalar(name):
    x = LAYOUTS[name]
    ours, reference = _max_with_zero(np, x), np.maximum(x, 0).astype(x.dtype, copy=False)
    assert ours.dtype == reference.dtype and ours.shape == reference.shape
    np.testing.assert_array_equal(ours, reference)                       # NaN where NaN, equal elsewhere
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(reference))   # and the same sign (±0, ±NaN)
    if x.size and x.ndim and np.ascontiguousarray(x).strides != x.strides and name != "broadcast":
        assert ours.strides == reference.strides


def test_relu_extremes_match_pytorch():
    x = np.array([-1e4, 1e4, np.inf, -np.inf, np.nan, 0.0, -0.0], dtype=np.float32)
    np.testing.assert_array_equal(cr.relu(cr.tensor(x)).numpy(), torch.relu(torch.tensor(x)).numpy())


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_relu_plain_backward_equals_the_recorded_rule_bit_for_bit(dtype):
    """The rule on raw arrays (plain backward) against its tensor-op form (create_graph=True), with
    ±0, ±inf and NaN in both the input and the incoming gradient."""
    rng = np.random.default_rng(7)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e4, -1e4])
    x = np.concatenate([rng.standard_normal(50), specials, specials]).astype(dtype)
    g = np.concatenate([rng.standard_normal(50), specials, specials[::-1]]).astype(dtype)
    grads = []
    for create_graph in (False, True):
        leaf = cr.tensor(x, requires_grad=True)
        (grad,) = cr.autograd.grad(cr.relu(leaf), leaf, cr.tensor(g), create_graph=create_graph)
        grads.append(grad.detach().numpy())
    assert grads[0].dtype == grads[1].dtype == dtype
    np.testing.assert_array_equal(grads[0].view(np.uint8), grads[1].view(np.uint8))   # signed zeros and NaN bits too
