"""Data types. chainrule's dtypes are NumPy's dtype objects, named as in PyTorch.

Float data defaults to float32, as in PyTorch; float64 is there on request and is
what gradient checks use. Integer tensors hold indices, bool tensors hold masks.
"""
import numpy

float16 = half = numpy.dtype("float16")
float32 = float = numpy.dtype("float32")
float64 = double = numpy.dtype("float64")
int8 = numpy.dtype("int8")
int16 = short = numpy.dtype("int16")
int32 = int = numpy.dtype("int32")
int64 = long = numpy.dtype("int64")
uint8 = numpy.dtype("uint8")
bool_ = numpy.dtype("bool")

# torch.finfo(dtype).eps, .max, .tiny and torch.iinfo(dtype).max: chainrule's dtypes are NumPy's, so NumPy's
# answers are the same numbers under the same names.
finfo, iinfo = numpy.finfo, numpy.iinfo

_default_float = float32


def get_default_dtype():
    """The dtype given to float data when none is asked for (float32 unless changed).

    Example:
        >>> import chainrule as cr
        >>> cr.get_default_dtype()
        dtype('float32')
        >>> cr.tensor([1.0]).dtype == cr.get_default_dtype()
        True
    """
    return _default_float


def set_default_dtype(dtype):
    """Set the dtype given to float data when none is asked for.

    Example:
        >>> import chainrule as cr
        >>> cr.set_default_dtype(cr.float64); cr.tensor([1.0]).dtype
        dtype('float64')
        >>> cr.set_default_dtype(cr.float32)
    """
    global _default_float
    dtype = numpy.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    _default_float = dtype


def to_dtype(dtype):
    """Turn a dtype-like (a chainrule/NumPy dtype, a string, a Python type, or a torch dtype) into a NumPy dtype."""
    if dtype is None:
        return None
    if isinstance(dtype, numpy.dtype):
        return dtype
    name = str(dtype)
    if name.startswith("torch."):
        name = name[len("torch."):]
    aliases = {"float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32", "bool": "bool"}
    if dtype is builtins_float:
        return _default_float
    if dtype is builtins_int:
        return int64
    if dtype is builtins_bool:
        return bool_
    return numpy.dtype(aliases.get(name, name))


def is_floating(dtype) -> bool:
    """True for a floating-point dtype (the only kind that can carry gradients)."""
    return numpy.dtype(dtype).kind == "f"


def promote_types(*dtypes):
    """The dtype of a result computed from tensors of ``dtypes``, by PyTorch's rule.

    Within one category (bool < integer < floating) the wider dtype wins, as in NumPy.
    Across categories the higher category wins *with its own width*: an int64 tensor
    meeting a float32 tensor gives float32 (NumPy would give float64, since float32
    cannot hold every int64).

    Example:
        >>> import chainrule as cr
        >>> cr.promote_types(cr.int64, cr.float32), cr.promote_types(cr.float32, cr.float64)
        (dtype('float32'), dtype('float64'))
        >>> cr.promote_types(cr.bool_, cr.int32), cr.promote_types(cr.uint8, cr.int8)
        (dtype('int32'), dtype('int16'))
    """
    dtypes = [numpy.dtype(dtype) for dtype in dtypes]
    category = max(_CATEGORY[dtype.kind] for dtype in dtypes)
    return numpy.result_type(*[dtype for dtype in dtypes if _CATEGORY[dtype.kind] == category])


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


import builtins as _builtins  # noqa: E402  (after the names above shadow float/int)

builtins_float, builtins_int, builtins_bool = _builtins.float, _builtins.int, _builtins.bool
