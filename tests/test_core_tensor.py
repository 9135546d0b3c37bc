"""Tensor creation, dtypes, conversion, repr, randomness and clear errors."""
import numpy
import pytest
import torch

import chainrule as cr


def test_default_dtypes_follow_pytorch():
    assert cr.tensor([1.0, 2.0]).dtype == cr.float32
    assert cr.tensor([1, 2]).dtype == cr.int64
    assert cr.tensor([True]).dtype == cr.bool
    assert cr.tensor(numpy.array([1.0])).dtype == cr.float64  # NumPy float64 stays float64, as in torch
    assert cr.tensor([1.0], dtype=cr.float64).dtype == cr.float64
    assert cr.zeros(2, 3).dtype == cr.float32 and cr.zeros(2, 3).shape == (2, 3)
    assert cr.arange(5).dtype == cr.int64 and cr.arange(0.0, 1.0, 0.5).dtype == cr.float32


def test_type_promotion_with_python_scalars():
    x = cr.tensor([1.0, 2.0])
    assert (x * 2).dtype == cr.float32 and (x + 2.5).dtype == cr.float32
    i = cr.tensor([1, 2])
    assert (i + 1).dtype == cr.int64
    assert (i * 0.5).dtype == cr.float32  # int tensor meets a float: the default float dtype
    assert (i / 2).dtype == cr.float32 and (i / 2).tolist() == [0.5, 1.0]


def test_creation_functions_match_numpy():
    assert cr.linspace(0, 1, 5).tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1])
    assert cr.eye(3).numpy().tolist() == numpy.eye(3).tolist()
    assert cr.full((2,), 7).dtype == cr.int64 and cr.full((2,), 7.0).dtype == cr.float32
    assert cr.ones_like(cr.zeros(2, dtype=cr.float64)).dtype == cr.float64
    assert cr.arange(2, 10, 3).tolist() == [2, 5, 8]


def test_seeded_randomness_is_bitwise_reproducible_and_resumable():
    cr.manual_seed(123)
    a = cr.randn(5)
    state = cr.get_rng_state()
    b = cr.rand(4)
    cr.manual_seed(123)
    assert (cr.randn(5) == a).all()
    cr.set_rng_state(state)
    assert (cr.rand(4) == b).all()
    g1, g2 = cr.Generator().manual_seed(7), cr.Generator().manual_seed(7)
    assert (cr.randint(0, 10, (20,), generator=g1) == cr.randint(0, 10, (20,), generator=g2)).all()
    perm = cr.randperm(10, generator=g1)
    assert sorted(perm.tolist()) == list(range(10))


def test_random_distributions_have_the_right_moments():
    g = cr.Generator().manual_seed(0)
    u, n = cr.rand(100_000, generator=g).numpy(), cr.randn(100_000, generator=g).numpy()
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert abs(n.mean()) < 0.02 and abs(n.std() - 1) < 0.02


def test_numpy_is_zero_copy_and_array_protocol_works():
    x = cr.tensor([1.0, 2.0])
    view = x.numpy()
    view[0] = 5.0
    assert x.tolist() == [5.0, 2.0]
    assert numpy.asarray(x).sum() == 7.0
    assert cr.from_numpy(view).array is view
    with pytest.raises(RuntimeError, match="detach"):
        cr.tensor([1.0], requires_grad=True).numpy()


def test_item_len_bool_and_iteration():
    assert cr.tensor([[3.5]]).item() == 3.5
    assert len(cr.zeros(4, 2)) == 4
    assert [t.item() for t in cr.tensor([1, 2, 3])] == [1, 2, 3]
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(cr.tensor([1, 2]))
    with pytest.raises(ValueError, match="one-element"):
        cr.tensor([1.0, 2.0]).item()


def test_repr_shows_values_dtype_and_grad_fn():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    assert repr(x) == "tensor([1., 2.], dtype=float64, requires_grad=True)"
    assert "grad_fn=<mul>" in repr(x * 2)
    assert repr(cr.tensor([1, 2])) == "tensor([1, 2])"


def test_setitem_under_no_grad_and_refused_with_grad():
    x = cr.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        x[0] = 1.0
    with cr.no_grad():
        x[0] = 1.0
    assert x.tolist() == [1.0, 0.0, 0.0]


def test_to_and_casts():
    x = cr.tensor([1.5, 2.5], requires_grad=True)
    y = x.double()
    assert y.dtype == cr.float64 and y.requires_grad
    (y * 2).sum().backward()
    assert x.grad.dtype == cr.float32 and x.grad.tolist() == [2.0, 2.0]
    assert x.long().dtype == cr.int64 and not x.long().requires_grad
    assert x.to(torch.float64).dtype == cr.float64


# ----- bad input: clear errors that name the op, the shapes and the fix -----------------------

def test_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast"):
        cr.zeros(2, 3) + cr.zeros(4)


def test_matmul_of_incompatible_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\).*\(3\).*\(4\)"):
        cr.zeros(2, 3) @ cr.zeros(4, 5)


def test_index_out_of_range():
    with pytest.raises(IndexError, match=r"index 5 is out of range for dim 0 of size 3"):
        cr.zeros(3, 2)[5]
    with pytest.raises(IndexError, match=r"index 7 is out of range for dim 1 of size 2"):
        cr.zeros(3, 2)[:, [0, 7]]
    with pytest.raises(IndexError, match="too many indices"):
        cr.zeros(3)[0, 0]
    with pytest.raises(IndexError, match="gather: index 4 is out of range"):
        cr.zeros(3, 2).gather(1, cr.tensor([[4], [0], [0]]))


def test_reshape_and_reduction_errors():
    with pytest.raises(ValueError, match=r"reshape: shape \(4, 2\) holds 8 elements but the input of shape \(3, 2\) has 6"):
        cr.zeros(3, 2).reshape(4, 2)
    with pytest.raises(IndexError, match="sum: dim 2 is out of range for a tensor with 2 dimensions"):
        cr.zeros(3, 2).sum(2)
    with pytest.raises(ValueError, match="cat: tensors must have the same shape except in dim 0"):
        cr.cat([cr.zeros(2, 3), cr.zeros(2, 4)])
