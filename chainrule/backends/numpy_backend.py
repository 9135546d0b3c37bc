"""The NumPy backend: arrays in host memory, computed with NumPy."""
import ctypes
import os
import sys

import numpy


def numpy_module():
    """Return the ``numpy`` module (the default array module)."""
    return numpy


def keep_freed_memory(mmap_threshold=32 * 2**20, trim_threshold=512 * 2**20):
    """Ask glibc's malloc to keep freed array memory for reuse instead of returning it to the OS.

    A training step allocates and frees many arrays of a few MiB. By default glibc serves
    each one with a fresh ``mmap`` (or trims the heap as soon as it is freed), so every new
    array is paid again in page faults when first written: on this project's 2-core VM that
    was about 40% of the small-CNN training step in benchmarks/bench_nn.py (step 50 ms ->
    31 ms at 1 thread; PyTorch's own step is unchanged by it). With arrays up to
    ``mmap_threshold`` served from the heap and up to ``trim_threshold`` of free heap kept,
    the pages stay mapped and are reused, and the peak memory is unchanged (the freed
    memory is what the step needs again). Does nothing where malloc is not glibc's.
    It changes malloc for the whole process, so it is opt-in: the ``chainrule`` command
    and the benchmarks turn it on; call it yourself for the same effect in your scripts.
    The environment variable ``CHAINRULE_KEEP_FREED_MEMORY=0`` turns it off everywhere.

    Example:
        >>> from chainrule.backends import keep_freed_memory
        >>> keep_freed_memory() in (True, False)
        True
    """
    if not sys.platform.startswith("linux") or os.environ.get("CHAINRULE_KEEP_FREED_MEMORY") == "0":
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from glibc's <malloc.h>
    try:
        libc = ctypes.CDLL("libc.so.6")
        if not hasattr(libc, "gnu_get_libc_version"):
            return False
        # mallopt returns 1 on success; both settings are needed (each alone makes it worse).
        return bool(libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold) and libc.mallopt(M_TRIM_THRESHOLD, trim_threshold))
    except OSError:  # pragma: no cover - not glibc
        return False

