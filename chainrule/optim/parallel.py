"""Opt-in: update an optimizer's parameters on two threads, split by size.

Each parameter's update is independent of the others, and NumPy's ufuncs release the
GIL, so two parameters can advance at once on two cores with the same results, bit for
bit, as one after the other. An optimizer opts in by deriving from ``ParallelUpdates``
before its base (``class Adam(ParallelUpdates, AdamFamily)``); the base ``Optimizer``
only ever runs the updates one after the other, and the update rules do not know.

When a step has at least ``parallel_min_elements`` values to update, all in NumPy
arrays, the parameters are dealt into two lanes of about equal size (largest first,
onto the lighter lane), and one lane runs on a worker thread while the calling thread
runs the other. Each lane has its own scratch arrays (``Optimizer._workspace`` asks
``_lane_index``). CuPy arrays are updated on the calling thread: the GPU already runs
each update in parallel.
"""
import concurrent.futures
import os
import threading

import numpy


def _usable_cpu_count():
    """The cores this process may run on (a container or ``taskset`` can allow fewer than the machine has)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class ParallelUpdates:
    """A mixin for ``Optimizer`` subclasses: their ``step`` updates the parameters on two threads when it pays.

    ``threads`` (1 or 2; 2 where the process may use two cores) and ``parallel_min_elements``
    (131,072 values per step; below it, handing work to a thread costs more than it saves) may
    be set per class or per optimizer; ``opt.threads = 1`` updates everything on the calling thread.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.optim.parallel import ParallelUpdates
        >>> opt = cr.optim.Adam([cr.zeros(3, requires_grad=True)])
        >>> isinstance(opt, ParallelUpdates), cr.optim.SGD.threads   # SGD opts in with one thread by default
        (True, 1)
    """

    threads = 2 if _usable_cpu_count() >= 2 else 1
    parallel_min_elements = 1 << 17

    def _run_updates(self, updates):
        """Call ``update`` on each ``(param, grad, state, group, xp)``, on two threads when it pays.

        Each update touches only its own parameter, state and scratch (scratch is per
        lane), so the split changes the timing, not the result.
        """
        total_size = sum(param.size for param, *_ in updates)
        parallel = (
            self.threads >= 2
            and len(updates) >= 2
            and total_size >= self.parallel_min_elements
            and all(xp is numpy for *_, xp in updates)
        )
        if not parallel:
            super()._run_updates(updates)
            return
        lanes, lane_sizes = ([], []), [0, 0]
        for update in sorted(updates, key=lambda update: update[0].size, reverse=True):
            lighter = 0 if lane_sizes[0] <= lane_sizes[1] else 1
            lanes[lighter].append(update)
            lane_sizes[lighter] += update[0].size
        other_thread = _update_pool().submit(self._run_lane, lanes[1], 1)
        try:
            self._run_lane(lanes[0], 0)
        finally:
            other_thread.result()                    # waits, and re-raises an error from that thread

    def _run_lane(self, updates, lane):
        _lane.index = lane                           # which set of scratch arrays this thread uses
        for update in updates:
            self.update(*update)

    def _lane_index(self):
        return getattr(_lane, "index", 0)


_lane = threading.local()          # .index: the lane (0 or 1) the current thread is running
_pool = None
_pool_lock = threading.Lock()


def _update_pool():
    """The one worker thread that takes the second lane of parameter updates (made on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="chainrule-optim")
        return _pool


def _forget_pool_after_fork():
    # A forked child has no copy of the parent's worker thread; it makes its own on first use.
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)
