"""Making tensors: constants, ranges and random draws, with PyTorch's names and defaults."""
import numbers

import numpy

from chainrule.backends import cupy_module, numpy_module
from chainrule.core import dtypes
from chainrule.core.random import default_generator
from chainrule.core.tensor import Tensor, _shape_args


def _xp(device):
    if device is None or str(device).startswith("cpu"):
        return numpy_module()
    if str(device).startswith("cuda"):
        return cupy_module()
    raise ValueError(f"unknown device {device!r}; use 'cpu' or 'cuda'")


def _float_dtype(dtype):
    return dtypes.to_dtype(dtype) or dtypes.get_default_dtype()


def _make(array, requires_grad):
    out = Tensor._wrap(array)
    if requires_grad:
        out.requires_grad_(True)
    return out


def zeros(*size, dtype=None, requires_grad=False, device=None):
    """A tensor of zeros. Example: ``cr.zeros(2, 3)``."""
    return _make(_xp(device).zeros(_shape_args(size), dtype=_float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None):
    """A tensor of ones."""
    return _make(_xp(device).ones(_shape_args(size), dtype=_float_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad=False, device=None):
    """A tensor whose values are not set (here: zeros, so nothing undefined ever leaks)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad, device=device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    """A tensor filled with ``fill_value`` (its dtype follows the value if none is given)."""
    if dtype is None:
        if isinstance(fill_value, bool):
            dtype = dtypes.bool_
        elif isinstance(fill_value, numbers.Integral):
            dtype = dtypes.int64
        else:
            dtype = dtypes.get_default_dtype()
    size = (size,) if isinstance(size, int) else tuple(size)
    return _make(_xp(device).full(size, fill_value, dtype=dtypes.to_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Evenly spaced values in [start, end): integers give int64, floats the default float dtype.

    Example: ``cr.arange(5)`` is ``tensor([0, 1, 2, 3, 4])``.
    """
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = dtypes.int64 if is_int else dtypes.get_default_dtype()
    return _make(_xp(device).arange(start, end, step).astype(dtypes.to_dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    """``steps`` evenly spaced values from start to end, both included."""
    return _make(_xp(device).linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, requires_grad=False, device=None):
    """``steps`` values from base^start to base^end, evenly spaced in the exponent."""
    return _make(_xp(device).logspace(start, end, steps, base=base).astype(_float_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    """The identity matrix (n × m)."""
    return _make(_xp(device).eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def zeros_like(x, dtype=None, requires_grad=False):
    return _make(x.xp.zeros(x.shape, dtype=dtypes.to_dtype(dtype) or x.dtype), requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    return _make(x.xp.ones(x.shape, dtype=dtypes.to_dtype(dtype) or x.dtype), requires_grad)


def empty_like(x, dtype=None, requires_grad=False):
    return zeros_like(x, dtype, requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad=False):
    return _make(x.xp.full(x.shape, fill_value, dtype=dtypes.to_dtype(dtype) or x.dtype), requires_grad)


def rand(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Uniform draws on [0, 1) from ``generator`` (the default, seeded by ``manual_seed``, if None)."""
    generator = generator or default_generator()
    array = generator.uniform(_shape_args(size), 0.0, 1.0, _float_dtype(dtype), _xp(device))
    return _make(array, requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Standard normal draws N(0, 1)."""
    generator = generator or default_generator()
    array = generator.normal(_shape_args(size), 0.0, 1.0, _float_dtype(dtype), _xp(device))
    return _make(array, requires_grad)


def randint(low, high=None, size=(), generator=None, dtype=None, device=None):
    """Integers drawn uniformly from [low, high) (int64 by default)."""
    if high is None:
        low, high = 0, low
    generator = generator or default_generator()
    size = (size,) if isinstance(size, int) else tuple(size)
    return _make(generator.integers(low, high, size, dtypes.to_dtype(dtype) or dtypes.int64, _xp(device)), False)


def randperm(n, generator=None, device=None):
    """A random permutation of 0..n−1."""
    generator = generator or default_generator()
    return _make(_xp(device).asarray(generator.permutation(n)).astype(numpy.int64), False)


def rand_like(x, generator=None):
    return rand(*x.shape, generator=generator, dtype=x.dtype, device=x.device)


def randn_like(x, generator=None):
    return randn(*x.shape, generator=generator, dtype=x.dtype, device=x.device)


def randint_like(x, low, high=None, generator=None):
    return randint(low, high, x.shape, generator=generator, dtype=x.dtype, device=x.device)


def from_numpy(array):
    """Wrap a NumPy array without copying (changes to one show in the other)."""
    return Tensor._wrap(numpy.asarray(array))


def as_tensor(data, dtype=None):
    """Like ``tensor`` but without a copy when ``data`` is already an array of the right dtype."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, numpy.ndarray) and (dtype is None or dtypes.to_dtype(dtype) == data.dtype):
        return Tensor._wrap(data)
    from chainrule.core.tensor import tensor
    return tensor(data, dtype=dtype)
