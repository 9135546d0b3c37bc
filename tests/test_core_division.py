"""Division's rounding modes, floor division and remainder against PyTorch, on integers and floats drawn by hypothesis."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule as cr

nonzero_ints = st.integers(-50, 50).filter(lambda v: v != 0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-100, 100), min_size=1, max_size=6), nonzero_ints,
       st.sampled_from([None, "floor", "trunc"]), st.sampled_from(["int64", "float32", "float64"]))
def test_div_rounding_modes_match_torch(numerators, denominator, rounding_mode, dtype):
    x = np.array(numerators, dtype=dtype) / (2 if dtype != "int64" else 1)
    y = np.full(len(numerators), denominator, dtype=dtype)
    ours = cr.div(cr.tensor(x), cr.tensor(y), rounding_mode=rounding_mode)
    theirs = torch.div(torch.tensor(x), torch.tensor(y), rounding_mode=rounding_mode)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    np.testing.assert_array_equal((cr.tensor(x) // cr.tensor(y)).numpy(), (torch.tensor(x) // torch.tensor(y)).numpy())
    np.testing.assert_allclose(cr.remainder(cr.tensor(x), cr.tensor(y)).numpy(),
                               torch.remainder(torch.tensor(x), torch.tensor(y)).numpy(), rtol=1e-6, atol=1e-6)


def test_rounded_division_is_exact_for_large_integers_and_has_zero_gradient():
    big = 2 ** 60 + 1
    assert cr.div(cr.tensor([big, -big]), 1, rounding_mode="trunc").tolist() == [big, -big]
    x = cr.tensor([3.0, -5.0], requires_grad=True)
    (cr.div(x, 2.0, rounding_mode="trunc") + x.div(2.0, rounding_mode="floor")).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_bad_rounding_mode_and_polygamma_order_are_clear_errors():
    with pytest.raises(ValueError, match="div: rounding_mode must be None, 'floor' or 'trunc', got 'round'"):
        cr.div(cr.tensor([1.0]), 2.0, rounding_mode="round")
    for order in (1.5, -1):
        with pytest.raises(ValueError, match=r"polygamma: the order n must be an integer ≥ 0"):
            cr.polygamma(order, cr.tensor([1.0]))
