"""ColumnsAffine (nn/primitives.py): conv2d's im2col product with the bias inside, against the composed form.

The forward adds the same bias to the same product, so it must equal conv2d without a bias plus a
broadcast bias bit for bit; the gradients (the bias's is a matrix-vector product instead of a sum)
must agree to float32 rounding. Its float64 gradient checks run from the op registry (conv2d_bias).
"""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.backends import use_winograd


@pytest.mark.parametrize("shape,out_channels,stride", [((4, 1, 28, 28), 16, 1), ((3, 5, 9, 9), 7, 2)])
def test_fused_bias_equals_the_composed_form(shape, out_channels, stride):
    rng = np.random.default_rng(0)
    images = rng.standard_normal(shape).astype(np.float32)
    weight = rng.standard_normal((out_channels, shape[1], 3, 3)).astype(np.float32)
    bias = rng.standard_normal(out_channels).astype(np.float32)
    upstream = None
    results = []
    previous = use_winograd(False)   # both on im2col, where the fused op runs
    try:
        for fused in (True, False):
            x, w, b = (cr.tensor(a, requires_grad=True) for a in (images, weight, bias))
            out = (F.conv2d(x, w, b, stride=stride, padding=1) if fused
                   else F.conv2d(x, w, None, stride=stride, padding=1) + b.reshape(1, -1, 1, 1))
            if upstream is None:
                upstream = rng.standard_normal(out.shape).astype(np.float32)
            (out * cr.tensor(upstream)).sum().backward()
            results.append((out.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()))
    finally:
        use_winograd(previous)
    (out_f, gx_f, gw_f, gb_f), (out_c, gx_c, gw_c, gb_c) = results
    np.testing.assert_array_equal(out_f, out_c)
    np.testing.assert_array_equal(gx_f, gx_c)
    np.testing.assert_array_equal(gw_f, gw_c)
    np.testing.assert_allclose(gb_f, gb_c, rtol=1e-5, atol=1e-5 * np.abs(gb_c).max())


def test_a_bias_of_another_dtype_keeps_the_composed_form():
    x, w = cr.ones(1, 1, 4, 4), cr.ones(2, 1, 3, 3)
    out = F.conv2d(x, w, cr.tensor([1.0, 2.0], dtype=cr.float64), padding=1)
    assert out.dtype == cr.float64
    np.testing.assert_array_equal(out.numpy()[0, :, 1, 1], [10.0, 11.0])
