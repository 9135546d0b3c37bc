"""Timing helpers shared by the benchmarks: best-of-repeats wall time, printed side by side."""
import time


def best_time(function, repeat=7, number=None, min_seconds=0.2):
    """Best per-call time of ``function`` (seconds) over ``repeat`` rounds of ``number`` calls."""
    function()  # warm up
    if number is None:
        number, elapsed = 1, 0.0
        while elapsed < min_seconds / repeat:
            start = time.perf_counter()
            for _ in range(number):
                function()
            elapsed = time.perf_counter() - start
            if elapsed < min_seconds / repeat:
                number *= 2
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            function()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def report(rows, title):
    """Print rows of (name, chainrule seconds, torch seconds) with the ratio chainrule / torch."""
    print(f"\n{title}")
    print(f"{'case':44s} {'chainrule':>12s} {'pytorch':>12s} {'ratio':>8s}")
    for name, ours, theirs in rows:
        print(f"{name:44s} {_fmt(ours):>12s} {_fmt(theirs):>12s} {ours / theirs:8.2f}x")


def _fmt(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    return f"{seconds * 1e3:.2f} ms"


def threads_free(threads, limit=1.0):
    """Whether a ``threads``-thread figure means anything now: True on one thread, else only while the load
    average is below ``limit`` (with other work on a 2-core machine, both libraries' threads wait for each other
    and the figure measures the neighbours). Returns ``(allowed, load)``."""
    import os

    load = os.getloadavg()[0]
    return threads == 1 or load < limit, load


def print_row(key, ratio, threads=1, floor=None, note=""):
    """Print one machine-readable line for run_all.py's summary: ``ROW key threads ratio floor note``.

    ``ratio`` is chainrule / PyTorch (time or memory; below 1 chainrule is better), ``floor``
    the lowest ratio the machine allows where one is measured (e.g. the BLAS products alone),
    ``threads`` the thread count both ran with. ``key`` names the row of issue 16's table
    (run_all.ROWS).
    """
    floor_text = "-" if floor is None else f"{floor:.3f}"
    print(f"ROW {key} {threads} {ratio:.3f} {floor_text} {note}".rstrip(), flush=True)
