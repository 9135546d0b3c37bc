"""``chainrule.accelerator``: PyTorch's device-agnostic way to ask for a GPU, answered honestly.

    device = chainrule.accelerator.current_accelerator() if chainrule.accelerator.is_available() else chainrule.device("cpu")

chainrule's one accelerator is CUDA through CuPy (``chainrule.cuda``); with no CuPy or no
GPU there is none, and ``current_accelerator()`` returns None, as PyTorch's does on a CPU-only machine.
"""
from chainrule.core.device import cuda_device_count, cuda_is_available, device


def is_available():
    """True when an accelerator (here: a CUDA GPU through CuPy) can be used.

    Example:
        >>> import chainrule as cr
        >>> cr.accelerator.is_available() == cr.cuda.is_available()
        True
    """
    return cuda_is_available()


def current_accelerator():
    """``device(type='cuda')`` when a GPU can be used, else None.

    Example:
        >>> import chainrule as cr
        >>> cr.accelerator.current_accelerator() in (None, cr.device("cuda"))
        True
    """
    return device("cuda") if cuda_is_available() else None


def device_count():
    """The number of accelerators (GPUs CuPy sees); 0 without one.

    Example:
        >>> import chainrule as cr
        >>> cr.accelerator.device_count() == cr.cuda.device_count()
        True
    """
    return cuda_device_count()


__all__ = ["current_accelerator", "device_count", "is_available"]
