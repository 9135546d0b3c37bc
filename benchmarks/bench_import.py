"""``import chainrule`` in a fresh process: its wall time, and what it must not import.

    .venv/bin/python benchmarks/bench_import.py [--repeat 7]

Runs ``python -c 'import chainrule'`` (and, for reference, ``import numpy`` and ``import
torch``) in fresh interpreters, several times, alternating, and prints the minimum wall
time of each: the floor line is a bare ``python -c pass`` plus ``import numpy``, which any
NumPy library pays. The goal of issue 16 is at most 0.5 s for chainrule. It also lists
which heavy optional packages ``import chainrule`` loaded: none of scipy.stats,
matplotlib, numba, onnx, onnxruntime, mpi4py, torch should be (each is imported where it
is first used).
"""
import argparse
import os
import subprocess
import sys
import time

from common import print_row

HEAVY = ("scipy", "scipy.stats", "matplotlib", "numba", "onnx", "onnxruntime", "mpi4py", "torch", "tensorboardX",
         "PIL", "safetensors", "tqdm", "graphviz", "threadpoolctl")
STATEMENTS = {"python": "pass", "numpy": "import numpy", "chainrule": "import chainrule", "torch": "import torch"}


def wall(statement, environment):
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], env=environment, check=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    times = {name: [] for name in STATEMENTS}
    load = os.getloadavg()[0]
    for _ in range(args.repeat):
        for name, statement in STATEMENTS.items():
            times[name].append(wall(statement, environment))
    best = {name: min(values) for name, values in times.items()}
    print(f"fresh-process import, minimum of {args.repeat} (load average {load:.2f}):")
    for name, seconds in best.items():
        print(f"  {STATEMENTS[name]:<18} {seconds:6.3f} s")
    print(f"  chainrule's own share (minus python + numpy): {best['chainrule'] - best['numpy']:.3f} s")
    probe = ("import sys, chainrule; print(' '.join(m for m in " + repr(HEAVY) + " if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], env=environment, check=True, capture_output=True,
                            text=True).stdout.split()
    print(f"  heavy packages `import chainrule` loaded: {', '.join(loaded) if loaded else 'none'}")
    # Not a ratio to PyTorch: the goal is an absolute 0.5 s, so the row carries seconds (goal/value <= 1 means met).
    print_row("import", best["chainrule"], threads=1, floor=best["numpy"],
              note=f"seconds; import torch {best['torch']:.2f} s; loaded: {','.join(loaded) or 'none'}")


if __name__ == "__main__":
    main()
