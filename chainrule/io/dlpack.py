"""DLPack: hand a tensor's memory to NumPy, PyTorch or CuPy, and take theirs, without copying.

The DLPack protocol is two methods on the producer, ``__dlpack__()`` (a capsule holding
a pointer, the shape, the strides and the dtype) and ``__dlpack_device__()`` (where the
memory lives: ``(1, 0)`` is the CPU, ``(2, n)`` CUDA device n). The consumer wraps the same
memory, so a write through one side is seen by the other. chainrule's ``Tensor`` speaks it
through its array (a NumPy or CuPy array), and ``from_dlpack`` picks the array module that
matches the producer's device.
"""
from chainrule.core.tensor import Tensor

_CPU, _CUDA, _CUDA_MANAGED = 1, 2, 13   # DLPack's DLDeviceType codes


def from_dlpack(obj):
    """A chainrule tensor sharing memory with ``obj`` (anything with ``__dlpack__``: torch, NumPy, CuPy, JAX).

    No copy is made: :math:`y` and ``obj`` are two views of one buffer, with the same shape,
    strides and dtype. Memory on the CPU becomes a NumPy-backed tensor, memory on a CUDA
    device a CuPy-backed one (``pip install 'chainrule[cuda]'``).

    Example:
        >>> import numpy, chainrule as cr
        >>> array = numpy.zeros(3, dtype=numpy.float32)
        >>> x = cr.from_dlpack(array)
        >>> array[0] = 5.0                      # a write on one side ...
        >>> x                                   # ... is seen on the other
        tensor([5., 0., 0.])
    """
    if isinstance(obj, Tensor):
        return Tensor._wrap(obj.array)
    if not hasattr(obj, "__dlpack__") or not hasattr(obj, "__dlpack_device__"):
        raise TypeError(
            f"from_dlpack: expected an object with __dlpack__ and __dlpack_device__ (a torch, NumPy, CuPy or JAX "
            f"array), got {type(obj).__name__}; for plain data use chainrule.tensor(data)"
        )
    device_type, device_id = obj.__dlpack_device__()
    if int(device_type) == _CPU:
        import numpy
        xp = numpy
    elif int(device_type) in (_CUDA, _CUDA_MANAGED):
        from chainrule.backends import cupy_module
        xp = cupy_module()
    else:
        raise ValueError(
            f"from_dlpack: the {type(obj).__name__} lives on DLPack device type {int(device_type)} "
            f"(id {device_id}); chainrule reads only CPU (1) and CUDA (2) memory: move it there first, e.g. .cpu()"
        )
    try:
        array = xp.from_dlpack(obj)
    except (BufferError, TypeError, RuntimeError) as error:
        raise TypeError(
            f"from_dlpack: {xp.__name__} could not wrap the {type(obj).__name__} ({error}); a dtype it lacks "
            "(bfloat16, say) must be converted first, e.g. .float()"
        ) from error
    return Tensor._wrap(array)


__all__ = ["from_dlpack"]
