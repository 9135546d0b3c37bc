"""Devices: where a tensor's data lives, named as PyTorch names them.

chainrule computes on two kinds of device, and says so rather than pretend more:

* ``cpu``: NumPy arrays in host memory (always there);
* ``cuda``: CuPy arrays on an NVIDIA GPU, when CuPy is installed and finds a GPU
  (``chainrule.cuda.is_available()``).

A ``chainrule.device`` is a small value, ``type`` and ``index``, that prints, compares
and hashes like ``torch.device``; it also compares equal to its own spelling as a string
(``device('cpu') == 'cpu'``), so code written for either form keeps working. A tensor's
device comes from its array (``Tensor.device``); the array module that a device computes
with comes from ``array_module_for``. ``set_default_device`` says where new tensors go
when no ``device=`` is given.
"""
import builtins
import re

__all__ = [
    "device", "cuda_is_available", "cuda_device_count", "get_default_device", "set_default_device",
    "require_cuda", "array_module_for", "device_of", "split_to_arguments",
]

_KNOWN_ELSEWHERE = ("mps", "xpu", "hip", "xla", "meta", "ipu", "hpu", "mtia", "vulkan")
_SPELLING = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


class device:  # noqa: N801  (PyTorch spells it torch.device)
    """Where a tensor's data lives: ``type`` ('cpu' or 'cuda') and an optional ``index`` (which GPU).

    ``device('cuda:1')``, ``device('cuda', 1)`` and ``device(1)`` are the same device;
    ``str`` gives 'cuda:1', ``repr`` gives ``device(type='cuda', index=1)``, as in PyTorch.
    A device without an index means "the current one" and is not equal to one with an
    index (PyTorch's rule), but it is equal to its own string.

    Example:
        >>> import chainrule as cr
        >>> cr.device("cpu"), str(cr.device("cuda", 1)), cr.device("cuda:1").index
        (device(type='cpu'), 'cuda:1', 1)
        >>> cr.device("cpu") == cr.device("cpu") == "cpu", cr.device("cuda") == cr.device("cuda:0")
        (True, False)
        >>> cr.zeros(2).device
        device(type='cpu')
    """

    __slots__ = ("_type", "_index")

    def __init__(self, type_or_spelling, index=None):
        if isinstance(type_or_spelling, device):
            if index is not None:
                raise TypeError("device: an index cannot be given with a device; pass device('cuda', index) instead")
            self._type, self._index = type_or_spelling._type, type_or_spelling._index
            return
        if isinstance(type_or_spelling, builtins.int) and not isinstance(type_or_spelling, builtins.bool):
            type_or_spelling, index = "cuda", type_or_spelling   # torch.device(0) is the first GPU
        if not isinstance(type_or_spelling, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', a device or a GPU number, "
                            f"got {type(type_or_spelling).__name__}")
        match = _SPELLING.match(type_or_spelling.strip())
        if match is None:
            kind = type_or_spelling.split(":")[0]
            elsewhere = (f" ('{kind}' is a PyTorch backend that chainrule does not have)"
                         if kind in _KNOWN_ELSEWHERE else "")
            raise RuntimeError(f"device: unknown device {type_or_spelling!r}{elsewhere}; chainrule runs on 'cpu' "
                               "(NumPy) and on 'cuda' or 'cuda:N' (CuPy on an NVIDIA GPU)")
        kind, written_index = match.group(1), match.group(2)
        if written_index is not None:
            if index is not None:
                raise RuntimeError(f"device: the index is given twice ({type_or_spelling!r} and index={index})")
            index = builtins.int(written_index)
        if index is not None:
            if not isinstance(index, builtins.int) or isinstance(index, builtins.bool) or index < 0:
                raise RuntimeError(f"device: the index must be a non-negative integer, got {index!r}")
        self._type, self._index = kind, index

    @property
    def type(self):
        """'cpu' or 'cuda'."""
        return self._type

    @property
    def index(self):
        """Which device of its type (the GPU number), or None for "the current one"."""
        return self._index

    def __str__(self):
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self):
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self._type, self._index) == (other._type, other._index)

    def __hash__(self):
        return hash(str(self))   # equal to its string, so it hashes like it

    def __reduce__(self):
        return (device, (self._type, self._index))


CPU = device("cpu")
_default_device = CPU


def _cuda_status():
    """(number of GPUs CuPy sees, why there are none): (n, '') when CUDA works."""
    try:
        import cupy
    except ImportError:
        return 0, "CuPy is not installed (pip install cupy-cuda12x, on a machine with an NVIDIA GPU and driver)"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CuPy raises its own CUDARuntimeError when there is no driver or GPU
        return 0, f"CuPy is installed but found no usable GPU ({type(error).__name__}: {error})"
    if count == 0:
        return 0, "CuPy is installed but found no GPU"
    return count, ""


def cuda_is_available():
    """True when tensors can go to 'cuda': CuPy is installed and sees at least one GPU.

    Example:
        >>> import chainrule as cr
        >>> cr.cuda.is_available() in (True, False)
        True
    """
    return _cuda_status()[0] > 0


def cuda_device_count():
    """The number of GPUs CuPy sees (0 without CuPy or without a GPU).

    Example:
        >>> import chainrule as cr
        >>> cr.cuda.device_count() >= 0
        True
    """
    return _cuda_status()[0]


def require_cuda(caller):
    """Raise a clear error, naming ``caller``, unless CUDA is available; returns the cupy module."""
    count, why = _cuda_status()
    if count == 0:
        raise RuntimeError(
            f"{caller}: CUDA is not available: {why}. chainrule.cuda.is_available() is False here; keep the "
            "tensors on the CPU, e.g. device = 'cuda' if chainrule.cuda.is_available() else 'cpu'"
        )
    import cupy
    return cupy


def get_default_device():
    """Where new tensors go when no ``device=`` is given ('cpu' unless ``set_default_device`` changed it).

    Example:
        >>> import chainrule as cr
        >>> cr.get_default_device()
        device(type='cpu')
    """
    return _default_device


def set_default_device(where):
    """Make ``where`` the device of new tensors made without ``device=`` (``None`` means the CPU).

    Setting 'cuda' when CUDA is not available is refused here, not at the first tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.set_default_device("cpu"); cr.ones(1).device
        device(type='cpu')
    """
    global _default_device
    chosen = CPU if where is None else device(where)
    if chosen.type == "cuda":
        require_cuda(f"set_default_device({str(chosen)!r})")
    _default_device = chosen


def array_module_for(where, caller=None):
    """The array module that computes on ``where`` (a device, its string, or None for the default device)."""
    chosen = _default_device if where is None else device(where)
    caller = caller or f"device={str(chosen)!r}"
    if chosen.type == "cpu":
        import numpy
        return numpy
    cupy = require_cuda(caller)
    if chosen.index is not None and chosen.index != cupy.cuda.runtime.getDevice():
        raise RuntimeError(f"{caller}: new tensors go to the current GPU ({cupy.cuda.runtime.getDevice()}), not "
                           f"{chosen}; select it first with cupy.cuda.Device({chosen.index}).use()")
    return cupy


def device_of(array):
    """The device holding ``array``: cpu for NumPy, cuda:N for a CuPy array on GPU N."""
    if type(array).__module__.startswith("cupy"):
        return device("cuda", builtins.int(array.device.id))
    return CPU


def _names_a_device(text):
    kind = text.split(":")[0]
    return kind in ("cpu", "cuda") or kind in _KNOWN_ELSEWHERE


def split_to_arguments(args, dtype=None, where=None):
    """Sort ``.to(...)``'s positional arguments into (device or None, dtype or None).

    A device is a ``chainrule.device``, a device string ('cpu', 'cuda:0') or a GPU number;
    a tensor passes its own device and dtype (``x.to(other)``); anything else is a dtype.
    """
    for arg in args:
        if isinstance(arg, device) or (isinstance(arg, str) and _names_a_device(arg)):
            where = device(arg)          # device() refuses, with what chainrule has, a kind it does not run on
        elif isinstance(arg, builtins.int) and not isinstance(arg, builtins.bool):
            where = device(arg)
        elif hasattr(arg, "data") and hasattr(arg, "dtype") and hasattr(arg, "device"):
            where, dtype = arg.device, arg.dtype
        else:
            dtype = arg
    return (None if where is None else device(where)), dtype
