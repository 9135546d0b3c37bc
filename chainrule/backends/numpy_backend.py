"""The NumPy backend: arrays in host memory, computed with NumPy."""
import numpy


def numpy_module():
    """Return the ``numpy`` module (the default array module)."""
    return numpy
