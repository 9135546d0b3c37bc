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
