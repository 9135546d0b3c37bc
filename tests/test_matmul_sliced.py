"""The sliced 2-D product (ops/matmul.py, _sliced_product) against one BLAS call and against float64.

A short contraction with a long output is cut into column slices: each entry is the same sum, so it
must equal one call bit for bit. A long contraction with a small output adds the slices' products in
order: a blocked sum, so it is compared with the float64 product at float32's tolerance, and must be
the same on every call. Shapes that need neither fall through to one call (None).
"""
import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.ops.matmul import _SLICE, _sliced_product


def _float32(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("rows,columns", [(16, 2 * _SLICE + 7), (3, _SLICE + 1)])
def test_short_contraction_long_output_is_one_call_bit_for_bit(rows, columns):
    rng = np.random.default_rng(0)
    x, y = _float32(rng, (rows, 9)), _float32(rng, (9, columns))
    sliced = _sliced_product(np, x, y)
    assert sliced is not None and sliced.flags.c_contiguous
    np.testing.assert_array_equal(sliced, np.dot(x, y))


@pytest.mark.parametrize("dtype,tolerance", [(np.float32, 2e-6), (np.float64, 1e-13)])
def test_long_contraction_matches_float64_and_repeats(dtype, tolerance):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 3 * _SLICE + 5)).astype(dtype)
    y = np.ascontiguousarray(rng.standard_normal((9, 3 * _SLICE + 5)).astype(dtype)).T   # Colsᵀ, a transposed view
    sliced = _sliced_product(np, x, y)
    exact = x.astype(np.float64) @ y.astype(np.float64)
    assert sliced is not None and sliced.dtype == dtype and sliced.flags.c_contiguous
    assert np.abs(sliced - exact).max() <= tolerance * np.abs(exact).max()
    np.testing.assert_array_equal(sliced, _sliced_product(np, x, y))


@pytest.mark.parametrize("x_shape,y_shape", [((64, 1568), (1568, 64)), ((128, 784), (784, 512)), ((16, 9), (9, 100)),
                                             ((32, 3000), (3000, 144))])
def test_other_shapes_take_one_call(x_shape, y_shape):
    rng = np.random.default_rng(2)
    assert _sliced_product(np, _float32(rng, x_shape), _float32(rng, y_shape)) is None


def test_inf_and_nan_pass_through_like_one_call():
    rng = np.random.default_rng(3)
    x, y = _float32(rng, (4, 2 * _SLICE)), _float32(rng, (2 * _SLICE, 3))
    x[0, 5], x[1, _SLICE + 3], x[2, 7] = np.inf, -np.inf, np.nan
    np.testing.assert_array_equal(np.isnan(_sliced_product(np, x, y)), np.isnan(np.dot(x, y)))
    np.testing.assert_array_equal(np.isinf(_sliced_product(np, x, y)), np.isinf(np.dot(x, y)))


def test_conv_weight_gradient_on_the_sliced_path_matches_pytorch():
    # 1 input channel, batch 64 at 28×28: the forward GEMM (16, 9) @ (9, 50176) and the weight
    # gradient (16, 50176) @ (50176, 9) both take the sliced path.
    rng = np.random.default_rng(4)
    images, weight = _float32(rng, (64, 1, 28, 28)), _float32(rng, (16, 1, 3, 3))
    bias, upstream = _float32(rng, (16,)), _float32(rng, (64, 16, 28, 28))
    x, w, b = cr.tensor(images), cr.tensor(weight, requires_grad=True), cr.tensor(bias, requires_grad=True)
    out = F.conv2d(x, w, b, padding=1)
    (out * cr.tensor(upstream)).sum().backward()
    tw, tb = torch.tensor(weight, requires_grad=True), torch.tensor(bias, requires_grad=True)
    t_out = torch.nn.functional.conv2d(torch.tensor(images), tw, tb, padding=1)
    (t_out * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-5)
    scale = np.abs(tw.grad.numpy()).max()
    assert np.abs(w.grad.numpy() - tw.grad.numpy()).max() <= 1e-5 * scale
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-4)


def test_matrix_vector_products_take_one_call():
    rng = np.random.default_rng(5)
    assert _sliced_product(np, _float32(rng, (16, 3 * _SLICE)), _float32(rng, (3 * _SLICE, 1))) is None
    assert _sliced_product(np, _float32(rng, (1, 3 * _SLICE)), _float32(rng, (3 * _SLICE, 9))) is None
