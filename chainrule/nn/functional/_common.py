"""What every topic of ``nn.functional`` shares: argument checks and the reduction of a loss."""
from chainrule.core.dtypes import float16
from chainrule.core.tensor import Tensor


def _tuple(value, n, name, what):
    """An int or a sequence of n ints, as a tuple of n ints."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * n
    value = tuple(value)
    if len(value) != n or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{name}: {what} must be an int or a tuple of {n} ints, got {value!r}")
    return value


def _check_tensor(x, name, what="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: {what} must be a chainrule Tensor, got {type(x).__name__}")


def _in_float32(x):
    """x as float32 if it is float16, else x itself: float16 data is reduced in float32, PyTorch's accumulation type.

    A float16 sum overflows past 65504 and loses digits long before: a mean of 70,000 ones, the
    variance of [300, −300, 0] or the norm of [300, 300] would be inf. Callers cast the result back.
    """
    return x.float() if x.dtype == float16 else x


def _reduce(loss, reduction, name):
    if reduction == "mean":
        return _in_float32(loss).mean().to(loss.dtype)
    if reduction == "sum":
        return _in_float32(loss).sum().to(loss.dtype)
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
