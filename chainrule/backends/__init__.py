"""Array backends: the array module (``xp``) every op computes with.

chainrule never calls NumPy directly inside an op. Each op asks its input for
its array module, ``xp = array_module(x)``, and computes with ``xp``: NumPy for
arrays in host memory, CuPy for arrays on a GPU. The special functions that
NumPy lacks (erf, lgamma, digamma...) come from ``special_module(xp)``:
SciPy's ``scipy.special`` for NumPy, ``cupyx.scipy.special`` for CuPy.
"""
import numpy as _numpy

from chainrule.backends.numpy_backend import keep_freed_memory, numpy_module

__all__ = ["array_module", "special_module", "numpy_module", "cupy_module", "is_cupy_array", "keep_freed_memory"]


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
        >>> array_module(numpy.zeros(3)) is numpy, array_module(cr.zeros(2).data) is numpy
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
