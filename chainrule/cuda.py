"""``chainrule.cuda``: is there a GPU to compute on? (CuPy on an NVIDIA GPU; PyTorch's ``torch.cuda`` names.)

    device = "cuda" if chainrule.cuda.is_available() else "cpu"

chainrule runs on CUDA only through CuPy: these answer True only when CuPy is installed
and sees a GPU. The answers come from ``chainrule/core/device.py``.
"""
from chainrule.core.device import cuda_device_count as device_count
from chainrule.core.device import cuda_is_available as is_available
from chainrule.core.device import require_cuda


def current_device():
    """The number of the GPU that new CUDA tensors go to (CUDA must be available).

    Example:
        >>> import chainrule as cr
        >>> cr.cuda.current_device() if cr.cuda.is_available() else 0
        0
    """
    cupy = require_cuda("chainrule.cuda.current_device()")
    return int(cupy.cuda.runtime.getDevice())


__all__ = ["current_device", "device_count", "is_available"]
