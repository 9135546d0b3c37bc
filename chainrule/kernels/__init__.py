"""Compiled twins of NumPy reference code: plain Python loops that numba compiles, chosen by a switch.

A kernel here is a loop written over the elements, beside the name of the NumPy code it
must equal (each kernel's docstring names it). ``fusable(xp, *arrays)`` says whether the
twin may run on these arrays: kernels switched on (``chainrule.backends.kernels_enabled``),
NumPy arrays (a CuPy array never reaches numba), float32 or float64, one dtype and shape,
C-contiguous, and numba importable. Otherwise the caller runs its NumPy reference.

``Kernel(loop)`` compiles ``loop`` with ``numba.njit(cache=True, nogil=True)`` on its
first call: ``cache`` writes the machine code to disk so a second process loads it instead
of compiling; ``nogil`` lets the optimizers' two update lanes (optim/parallel.py) run at once.

Example:
    >>> import numpy
    >>> from chainrule.kernels import fusable
    >>> fusable(numpy, numpy.zeros(3, numpy.float32), numpy.zeros(3, numpy.int64))   # mixed dtypes: the reference runs
    False
"""
import threading
import warnings

import numpy

from chainrule.backends import kernels_enabled

__all__ = ["Kernel", "fusable", "numba_available"]

_FLOAT_DTYPES = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))
_numba = None              # the numba module once imported; False when it cannot be
_numba_lock = threading.Lock()


def numba_available():
    """True when numba imports; the first failure warns once, and chainrule stays on the NumPy path.

    numba is imported here, on the first kernel, not at ``import chainrule``: importing it
    takes about half a second (LLVM), more than the whole of ``import chainrule`` may.

    Example:
        >>> from chainrule.kernels import numba_available
        >>> numba_available() in (True, False)
        True
    """
    global _numba
    if _numba is None:
        with _numba_lock:
            if _numba is None:
                try:
                    import numba   # lazy: see the docstring (import time)
                    _numba = numba
                except ImportError as error:
                    _numba = False
                    warnings.warn(
                        f"chainrule: numba cannot be imported ({error}); the compiled kernels are off and the "
                        "NumPy reference runs (same results, slower). Install numba==0.68.1 to turn them on",
                        RuntimeWarning, stacklevel=2,
                    )
    return _numba is not False


def fusable(xp, *arrays):
    """True when the compiled twin may run on ``arrays`` instead of the NumPy reference.

    Needs: kernels on, ``xp is numpy``, every array a C-contiguous NumPy float32 or float64
    array with the dtype and shape of the first, and numba importable.

    Example:
        >>> import numpy
        >>> from chainrule.kernels import fusable
        >>> fusable(numpy, numpy.zeros((2, 3)).T)    # not C-contiguous: the reference runs
        False
    """
    if not kernels_enabled() or xp is not numpy:
        return False
    first = arrays[0]
    if first.dtype not in _FLOAT_DTYPES:
        return False
    for array in arrays:
        if (type(array) is not numpy.ndarray or array.dtype != first.dtype or array.shape != first.shape
                or not array.flags.c_contiguous or not array.flags.writeable):
            return False
    return numba_available()


class Kernel:
    """A loop compiled by numba on first call (``njit(cache=True, nogil=True)``); calls pass straight through.

    Example:
        >>> import numpy
        >>> from chainrule.kernels import Kernel, numba_available
        >>> from chainrule.kernels.optim import sgd_loop
        >>> kernel = Kernel(sgd_loop)
        >>> kernel.loop is sgd_loop
        True
    """

    def __init__(self, loop):
        self.loop = loop
        self._compiled = None
        self._lock = threading.Lock()
        self.__doc__ = loop.__doc__

    def __call__(self, *args):
        compiled = self._compiled
        if compiled is None:
            with self._lock:                 # two update lanes may ask at once: compile once
                if self._compiled is None:
                    numba_available()
                    self._compiled = _numba.njit(cache=True, nogil=True, error_model="numpy")(self.loop)
                compiled = self._compiled
        return compiled(*args)
