"""What ONNX export and import share: the lazy import of ``onnx`` and the dtype tables.

ONNX is an optional extra (``pip install 'chainrule[onnx]'``): chainrule imports ``onnx``
only when a graph is exported or loaded, so ``import chainrule`` works without it.
"""
import numpy

# The one opset both directions are written for: LayerNormalization (17) is the newest op used.
DEFAULT_OPSET = 17
MIN_OPSET = 17


def require_onnx():
    """The ``onnx`` module, or an ImportError saying how to install it.

    Example:
        >>> require_onnx().__name__
        'onnx'
    """
    try:
        # Imported here, not at the top: onnx is an optional extra and chainrule.io must import without it.
        import onnx
    except ImportError as error:
        raise ImportError(
            "chainrule's ONNX export and import need the onnx package: pip install 'chainrule[onnx]'"
        ) from error
    return onnx


def onnx_elem_type(dtype):
    """The ONNX TensorProto element type of a NumPy dtype (FLOAT for float32, INT64 for int64, ...).

    Example:
        >>> import numpy
        >>> onnx_elem_type(numpy.float32), onnx_elem_type(numpy.int64)
        (1, 7)
    """
    onnx = require_onnx()
    return int(onnx.helper.np_dtype_to_tensor_dtype(numpy.dtype(dtype)))


def numpy_dtype(elem_type):
    """The NumPy dtype of an ONNX element type, or a ValueError naming it.

    Example:
        >>> numpy_dtype(1)
        dtype('float32')
    """
    onnx = require_onnx()
    try:
        return numpy.dtype(onnx.helper.tensor_dtype_to_np_dtype(int(elem_type)))
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"ONNX element type {elem_type} has no NumPy dtype chainrule can hold") from None
