"""DLPack: zero-copy both ways between chainrule and NumPy / PyTorch on the CPU, every shared dtype kept."""
import numpy
import pytest
import torch

import chainrule as cr

# The dtypes both chainrule (NumPy) and PyTorch have, by name.
SHARED_DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def _sample(dtype_name, shape=(2, 3)):
    values = numpy.arange(numpy.prod(shape)).reshape(shape) % 2
    return numpy.asarray(values + (dtype_name != "bool"), dtype=dtype_name)


@pytest.mark.parametrize("dtype_name", SHARED_DTYPES)
def test_torch_sees_chainrule_memory_and_keeps_dtype_and_shape(dtype_name):
    x = cr.tensor(_sample(dtype_name))
    t = torch.from_dlpack(x)
    assert tuple(t.shape) == x.shape and str(t.dtype) == f"torch.{dtype_name}"
    one = True if dtype_name == "bool" else 7
    t[1, 2] = one                                   # a write through torch ...
    assert x.array[1, 2] == one                      # ... is seen in chainrule's tensor
    assert t.data_ptr() == x.array.ctypes.data       # one buffer


@pytest.mark.parametrize("dtype_name", SHARED_DTYPES)
def test_chainrule_sees_torch_memory_and_keeps_dtype_and_shape(dtype_name):
    t = torch.from_numpy(_sample(dtype_name, (3, 2, 2)).copy())
    x = cr.from_dlpack(t)
    assert x.shape == (3, 2, 2) and x.dtype == numpy.dtype(dtype_name)
    with cr.no_grad():
        x[0, 1, 1] = False if dtype_name == "bool" else 9
    assert t[0, 1, 1].item() == (False if dtype_name == "bool" else 9)
    assert t.data_ptr() == x.array.ctypes.data


def test_numpy_round_trip_shares_memory_and_strides():
    base = numpy.arange(12.0).reshape(3, 4)
    x = cr.from_dlpack(base.T)                      # a non-contiguous view keeps its strides
    assert x.shape == (4, 3) and numpy.shares_memory(x.array, base)
    back = numpy.from_dlpack(x)
    back[0, 0] = -1.0
    assert base[0, 0] == -1.0


def test_a_tensor_that_requires_grad_is_refused_and_detach_is_the_fix():
    x = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad.*detach"):
        torch.from_dlpack(x)
    assert torch.from_dlpack(x.detach()).tolist() == [1.0, 1.0]


def test_from_dlpack_names_what_it_cannot_read():
    with pytest.raises(TypeError, match="from_dlpack.*__dlpack__.*list"):
        cr.from_dlpack([1.0, 2.0])
    with pytest.raises(TypeError, match="bfloat16"):
        cr.from_dlpack(torch.ones(2, dtype=torch.bfloat16))
    assert cr.from_dlpack(cr.ones(2)).tolist() == [1.0, 1.0]


def test_dlpack_device_is_the_cpu():
    assert cr.zeros(1).__dlpack_device__() == (1, 0)
