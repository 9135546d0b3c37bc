"""Making tensors: constants, ranges and random draws, with PyTorch's names and defaults."""
import numbers

import numpy

from chainrule.core import dtypes
from chainrule.core.device import array_module_for
from chainrule.core.random import default_generator
from chainrule.core.tensor import Tensor, _shape_args


def _xp(device):
    return array_module_for(device)   # None: the default device (set_default_device)


def _float_dtype(dtype):
    return dtypes.to_dtype(dtype) or dtypes.get_default_dtype()


def _make(array, requires_grad):
    out = Tensor._wrap(array)
    if requires_grad:
        out.requires_grad_(True)
    return out


def zeros(*size, dtype=None, requires_grad=False, device=None):
    """A tensor of zeros, of the default float dtype unless ``dtype`` is given.

    Example:
        >>> import chainrule as cr
        >>> cr.zeros(2, 3)
        tensor([[0., 0., 0.],
                [0., 0., 0.]])
        >>> cr.zeros((2,), dtype=cr.int64)
        tensor([0, 0])
    """
    return _make(_xp(device).zeros(_shape_args(size), dtype=_float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None):
    """A tensor of ones, of the default float dtype unless ``dtype`` is given.

    Example:
        >>> import chainrule as cr
        >>> cr.ones(2, 2)
        tensor([[1., 1.],
                [1., 1.]])
        >>> cr.ones(3, requires_grad=True)
        tensor([1., 1., 1.], requires_grad=True)
    """
    return _make(_xp(device).ones(_shape_args(size), dtype=_float_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad=False, device=None):
    """A tensor whose values are not set (here: zeros, so nothing undefined ever leaks).

    Example:
        >>> import chainrule as cr
        >>> cr.empty(2, 3).shape
        (2, 3)
        >>> cr.empty(2).tolist()
        [0.0, 0.0]
    """
    return zeros(*size, dtype=dtype, requires_grad=requires_grad, device=device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    """A tensor filled with ``fill_value`` (its dtype follows the value if none is given).

    A bool gives bool, an int gives int64 and a float the default float dtype, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.full((2, 2), 7)
        tensor([[7, 7],
                [7, 7]])
        >>> cr.full(3, 0.5)
        tensor([0.5, 0.5, 0.5])
    """
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

    The values are start + k·step for k = 0, 1, ..., ⌈(end − start)/step⌉ − 1; ``arange(n)`` is 0..n−1.

    Example:
        >>> import chainrule as cr
        >>> cr.arange(5)
        tensor([0, 1, 2, 3, 4])
        >>> cr.arange(0.0, 1.0, 0.25)
        tensor([0.  , 0.25, 0.5 , 0.75])
    """
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = dtypes.int64 if is_int else dtypes.get_default_dtype()
    return _make(_xp(device).arange(start, end, step).astype(dtypes.to_dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    """``steps`` evenly spaced values from start to end, both included.

    xₖ = start + k·(end − start)/(steps − 1) for k = 0, ..., steps − 1.

    Example:
        >>> import chainrule as cr
        >>> cr.linspace(0, 1, 5)
        tensor([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    return _make(_xp(device).linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, requires_grad=False, device=None):
    """``steps`` values from base^start to base^end, evenly spaced in the exponent.

    xₖ = base^(start + k·(end − start)/(steps − 1)) for k = 0, ..., steps − 1.

    Example:
        >>> import chainrule as cr
        >>> cr.logspace(0, 3, 4, base=2).tolist()
        [1.0, 2.0, 4.0, 8.0]
    """
    return _make(_xp(device).logspace(start, end, steps, base=base).astype(_float_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    """The identity matrix (n × m, m = n if not given): Iᵢⱼ = 1 if i = j else 0.

    Example:
        >>> import chainrule as cr
        >>> cr.eye(2)
        tensor([[1., 0.],
                [0., 1.]])
        >>> cr.eye(2, 3).shape
        (2, 3)
    """
    return _make(_xp(device).eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def zeros_like(x, dtype=None, requires_grad=False, device=None):
    """Zeros with the shape and device of ``x``, and its dtype unless ``dtype`` is given.

    Example:
        >>> import chainrule as cr
        >>> cr.zeros_like(cr.tensor([[1, 2]]))
        tensor([[0, 0]])
        >>> cr.zeros_like(cr.tensor([1, 2]), dtype=cr.float32)
        tensor([0., 0.])
    """
    xp = x.xp if device is None else _xp(device)
    return _make(xp.zeros(x.shape, dtype=dtypes.to_dtype(dtype) or x.dtype), requires_grad)


def ones_like(x, dtype=None, requires_grad=False, device=None):
    """Ones with the shape and device of ``x``, and its dtype unless ``dtype`` is given.

    Example:
        >>> import chainrule as cr
        >>> cr.ones_like(cr.tensor([1.5, 2.0]))
        tensor([1., 1.])
    """
    xp = x.xp if device is None else _xp(device)
    return _make(xp.ones(x.shape, dtype=dtypes.to_dtype(dtype) or x.dtype), requires_grad)


def empty_like(x, dtype=None, requires_grad=False, device=None):
    """An unset tensor like ``x`` (shape, device, dtype unless given); here it holds zeros, as ``empty``.

    Example:
        >>> import chainrule as cr
        >>> cr.empty_like(cr.tensor([[1, 2, 3]])).shape
        (1, 3)
    """
    return zeros_like(x, dtype, requires_grad, device)


def full_like(x, fill_value, dtype=None, requires_grad=False, device=None):
    """``fill_value`` everywhere, with the shape and device of ``x`` and its dtype unless ``dtype`` is given.

    The value is cast to that dtype (3.7 in an int64 tensor is 3), as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.full_like(cr.tensor([1.0, 2.0]), 3)
        tensor([3., 3.])
        >>> cr.full_like(cr.tensor([1, 2]), 3.7)
        tensor([3, 3])
    """
    xp = x.xp if device is None else _xp(device)
    return _make(xp.full(x.shape, fill_value, dtype=dtypes.to_dtype(dtype) or x.dtype), requires_grad)


def rand(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Uniform draws on [0, 1) from ``generator`` (the default, seeded by ``manual_seed``, if None).

    Each element xᵢ ~ U[0, 1), independently.

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(0)
        >>> x = cr.rand(2, 3)
        >>> x.shape, x.dtype, bool(((x >= 0) & (x < 1)).all())
        ((2, 3), dtype('float32'), True)
    """
    generator = generator or default_generator()
    array = generator.uniform(_shape_args(size), 0.0, 1.0, _float_dtype(dtype), _xp(device))
    return _make(array, requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Standard normal draws N(0, 1): each element xᵢ ~ N(0, 1), independently.

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(0); a = cr.randn(3)
        >>> _ = cr.manual_seed(0); b = cr.randn(3)
        >>> a.shape, bool((a == b).all())         # the same seed gives the same draws
        ((3,), True)
    """
    generator = generator or default_generator()
    array = generator.normal(_shape_args(size), 0.0, 1.0, _float_dtype(dtype), _xp(device))
    return _make(array, requires_grad)


def randint(low, high=None, size=(), generator=None, dtype=None, device=None):
    """Integers drawn uniformly from [low, high) (int64 by default).

    Each element takes each of the high − low values with probability 1/(high − low);
    ``randint(high, size=...)`` draws from [0, high).

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(0)
        >>> x = cr.randint(3, 6, (4,))
        >>> x.shape, x.dtype, bool(((x >= 3) & (x < 6)).all())
        ((4,), dtype('int64'), True)
    """
    if high is None:
        low, high = 0, low
    generator = generator or default_generator()
    size = (size,) if isinstance(size, int) else tuple(size)
    return _make(generator.integers(low, high, size, dtypes.to_dtype(dtype) or dtypes.int64, _xp(device)), False)


def randperm(n, generator=None, device=None):
    """A random permutation of 0..n−1 (int64), each of the n! orders equally likely.

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(0)
        >>> sorted(cr.randperm(5).tolist())
        [0, 1, 2, 3, 4]
    """
    generator = generator or default_generator()
    return _make(_xp(device).asarray(generator.permutation(n)).astype(numpy.int64), False)


def rand_like(x, generator=None, dtype=None, requires_grad=False, device=None):
    """Uniform draws on [0, 1) with the shape, dtype and device of ``x`` (see ``rand``).

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(0)
        >>> y = cr.rand_like(cr.zeros(2, 2, dtype=cr.float64))
        >>> y.shape, y.dtype
        ((2, 2), dtype('float64'))
    """
    return rand(*x.shape, generator=generator, dtype=dtypes.to_dtype(dtype) or x.dtype, device=device or x.device,
                requires_grad=requires_grad)


def randn_like(x, generator=None, dtype=None, requires_grad=False, device=None):
    """Standard normal draws N(0, 1) with the shape, dtype and device of ``x`` (see ``randn``).

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(0)
        >>> cr.randn_like(cr.zeros(2, 3)).shape
        (2, 3)
    """
    return randn(*x.shape, generator=generator, dtype=dtypes.to_dtype(dtype) or x.dtype, device=device or x.device,
                 requires_grad=requires_grad)


def randint_like(x, low, high=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers drawn uniformly from [low, high) with the shape, dtype and device of ``x`` (see ``randint``).

    With one bound, ``randint_like(x, high)``, the draws are from [0, high).

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(0)
        >>> y = cr.randint_like(cr.zeros(2, 3), 5)
        >>> y.shape, y.dtype, bool(((y >= 0) & (y < 5) & (y == y.round())).all())
        ((2, 3), dtype('float32'), True)
    """
    draws = randint(low, high, x.shape, generator=generator, dtype=dtypes.to_dtype(dtype) or x.dtype,
                    device=device or x.device)
    return draws.requires_grad_(True) if requires_grad else draws


def from_numpy(array):
    """Wrap a NumPy array without copying (changes to one show in the other); the dtype is kept.

    Example:
        >>> import numpy as np
        >>> import chainrule as cr
        >>> a = np.array([1.0, 2.0])
        >>> t = cr.from_numpy(a); a[0] = 5.0; t
        tensor([5., 2.], dtype=float64)
    """
    return Tensor._wrap(numpy.asarray(array))


def as_tensor(data, dtype=None):
    """Like ``tensor`` but without a copy when ``data`` is already an array of the right dtype.

    A tensor is returned as is (or cast, if ``dtype`` differs); anything else is copied by ``tensor``.

    Example:
        >>> import numpy as np
        >>> import chainrule as cr
        >>> a = np.array([1.0, 2.0], dtype=np.float32)
        >>> t = cr.as_tensor(a); a[0] = 7.0; t           # shares a's memory
        tensor([7., 2.])
    """
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, numpy.ndarray) and (dtype is None or dtypes.to_dtype(dtype) == data.dtype):
        return Tensor._wrap(data)
    from chainrule.core.tensor import tensor
    return tensor(data, dtype=dtype)
