"""Array backends: the array module (``xp``) every op computes with.

chainrule never calls NumPy directly inside an op. Each op asks its input for
its array module, ``xp = array_module(x)``, and computes with ``xp``: NumPy for
arrays in host memory, CuPy for arrays on a GPU. The special functions that
NumPy lacks (erf, lgamma, digamma...) come from ``special_module(xp)``:
SciPy's ``scipy.special`` for NumPy, ``cupyx.scipy.special`` for CuPy.

The kernel switch lives here too, below every room that asks it: ``kernels_enabled()``
says whether the compiled twins of ``chainrule/kernels/`` may run (on NumPy arrays),
``use_kernels(False)`` (or ``CHAINRULE_KERNELS=numpy`` in the environment, read once at
import) runs the pure NumPy reference everywhere. ``use_winograd(False)`` keeps every
convolution on im2col's GEMMs (as ``torch.backends.mkldnn.enabled`` picks PyTorch's path).
"""
import os as _os

import numpy as _numpy

from chainrule.backends.numpy_backend import keep_freed_memory, numpy_module

__all__ = ["array_module", "special_module", "numpy_module", "cupy_module", "is_cupy_array", "keep_freed_memory",
           "use_kernels", "kernels_enabled", "use_winograd", "winograd_enabled"]


def cupy_module():
    """Return the ``cupy`` module, or raise a clear error if it cannot be used."""
    try:
        import cupy   # optional: only a tensor on 'cuda' needs it
    except ImportError as error:  # pragma: no cover - depends on the machine
        raise RuntimeError(
            "device 'cuda' needs CuPy: install it with `pip install chainrule[cuda]` "
            "(cupy-cuda12x) on a machine with an NVIDIA GPU"
        ) from error
    return cupy


def is_cupy_array(array) -> bool:
    """True for a CuPy ndarray (checked by type name, so CuPy need not be installed)."""
    return type(array).__module__.startswith("cupy")


def array_module(array):
    """The array module that owns ``array``: ``numpy`` or ``cupy``.

    Anything that is not a CuPy array (a list, a scalar) gets ``numpy``.

    Example:
        >>> import numpy
        >>> import chainrule as cr
        >>> from chainrule.backends import array_module
        >>> array_module(numpy.zeros(3)) is numpy, array_module(cr.zeros(2).array) is numpy
        (True, True)
    """
    if type(array) is _numpy.ndarray:  # the common case, checked first because every op asks
        return _numpy
    if is_cupy_array(array):
        return cupy_module()
    return numpy_module()


def special_module(xp):
    """Special functions (erf, erfinv, gammaln, digamma, ...) for the array module ``xp``."""
    # Imported on first use: CuPy is optional, and SciPy is not needed by `import chainrule`.
    if xp.__name__ == "cupy":
        import cupyx.scipy.special as special
        return special
    import scipy.special as special
    return special


# The process-wide switches, each read by the ops on every call. "kernels" is read once from the
# environment at import: CHAINRULE_KERNELS=numpy runs the NumPy reference of every kernel.
_switches = {"kernels": _os.environ.get("CHAINRULE_KERNELS", "").strip().lower() != "numpy",
             "winograd": True}


def _set_switch(name, enabled, caller):
    """Set one switch; return its previous value."""
    if not isinstance(enabled, bool):
        raise TypeError(f"{caller}: enabled must be True or False, got {enabled!r}")
    previous, _switches[name] = _switches[name], enabled
    return previous


def use_kernels(enabled):
    """Let the compiled kernels (numba) run where they apply (``True``), or run the NumPy reference everywhere.

    Both paths compute the same numbers (tests/test_kernels_optim.py compares them);
    the switch chooses speed or the plainest code to step through. Returns the previous setting.

    Example:
        >>> from chainrule.backends import use_kernels, kernels_enabled
        >>> previous = use_kernels(False)
        >>> kernels_enabled()
        False
        >>> _ = use_kernels(previous)
    """
    return _set_switch("kernels", enabled, "use_kernels")


def kernels_enabled():
    """True when compiled kernels may run: not switched off by ``use_kernels(False)`` or ``CHAINRULE_KERNELS=numpy``.

    Example:
        >>> from chainrule.backends import kernels_enabled
        >>> kernels_enabled() in (True, False)
        True
    """
    return _switches["kernels"]


def use_winograd(enabled):
    """Let the convolution choose Winograd's algorithm where it pays (``True``), or keep im2col everywhere.

    ``ops.convolution.winograd_tile`` asks this before it looks at the shape. The two algorithms
    agree to float rounding, not bit for bit (chainrule/kernels/README.md, Winograd). The training
    job turns Winograd off with the kernels for a run too short to repay numba's start-up: on
    NumPy's reference transforms Winograd is slower than im2col. Returns the previous setting.

    Example:
        >>> from chainrule.backends import use_winograd, winograd_enabled
        >>> previous = use_winograd(False)
        >>> winograd_enabled()
        False
        >>> _ = use_winograd(previous)
    """
    return _set_switch("winograd", enabled, "use_winograd")


def winograd_enabled():
    """True unless ``use_winograd(False)`` keeps every convolution on im2col.

    Example:
        >>> import chainrule.backends as backends
        >>> backends.winograd_enabled()
        True
    """
    return _switches["winograd"]
