"""The main job: ``chainrule train`` with its defaults against the same job written in PyTorch, wall clock.

    .venv/bin/python benchmarks/bench_train.py [--rounds 2]

Each round runs, in fresh processes one after the other, ``python -m chainrule train --out
<new folder>`` (every other setting its default: the small CNN on the bundled digits, Adam
with the one-cycle schedule, 8 epochs, one BLAS thread) and benchmarks/torch_main_job.py
(the same data, network, schedule, batches, evaluation, logs, checkpoints and the same
nine plots; see its docstring). The wall time of each process is measured from outside,
start to exit, so it includes interpreter start, imports, data loading, training, the test
evaluation and the report; each run's summary.json gives the split into training and
report. The CPU time of each process (user + system, from ``getrusage``) is printed too:
on a shared machine it moves less with the load than the wall time does. Prints the best
round of each and the ratio chainrule / PyTorch (goal of issue 16: at most 1.0), and a
``ROW main_job`` line for run_all.py. Run with ``--rounds 2`` or more: the best round is
the steadiest figure.
"""
import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

from common import print_row

HERE = pathlib.Path(__file__).resolve().parent


def timed_run(command, folder, environment):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=HERE.parent, env=environment, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    summary = json.loads((folder / "summary.json").read_text())
    accuracy = summary["test"]["accuracy"]
    train = summary.get("train_seconds_this_session", summary.get("train_seconds"))
    return {"wall": wall, "cpu": cpu, "train": train, "report": summary["report_seconds"], "accuracy": accuracy}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(HERE.parent),
                                                                             os.environ.get("PYTHONPATH")])))
    environment.setdefault("NUMBA_THREADING_LAYER", "workqueue")
    results = {"chainrule": [], "pytorch": []}
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-train-") as scratch:
        for round_ in range(args.rounds):
            for name in results:
                folder = pathlib.Path(scratch) / f"{name}-{round_}"
                command = ([sys.executable, "-m", "chainrule", "train", "--out", str(folder)] if name == "chainrule"
                           else [sys.executable, str(HERE / "torch_main_job.py"), "--out", str(folder)])
                result = timed_run(command, folder, environment)
                results[name].append(result)
                print(f"  round {round_ + 1} {name:<9} wall {result['wall']:6.2f} s, CPU {result['cpu']:6.2f} s  (training {result['train']:6.2f} s, "
                      f"report {result['report']:5.2f} s, the rest {result['wall'] - result['train'] - result['report']:5.2f} s)"
                      f"  test accuracy {result['accuracy']:.4f}   load {os.getloadavg()[0]:.2f}", flush=True)
    best = {name: min(runs, key=lambda run: run["wall"]) for name, runs in results.items()}
    ours, theirs = best["chainrule"], best["pytorch"]
    least_cpu = {name: min(run["cpu"] for run in runs) for name, runs in results.items()}
    print(f"main job, best of {args.rounds}: chainrule {ours['wall']:.2f} s, PyTorch {theirs['wall']:.2f} s, "
          f"ratio {ours['wall'] / theirs['wall']:.2f}; CPU time (steadier under load) "
          f"{least_cpu['chainrule'] / least_cpu['pytorch']:.2f} (training alone {ours['train'] / theirs['train']:.2f}, "
          f"report alone {ours['report'] / theirs['report']:.2f})")
    print_row("main_job", ours["wall"] / theirs["wall"], threads=1,
              note=f"wall incl. report; training {ours['train'] / theirs['train']:.2f}, report {ours['report'] / theirs['report']:.2f}")


if __name__ == "__main__":
    main()
