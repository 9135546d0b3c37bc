"""Benchmark: data parallelism over MPI on this machine (it launches ``mpiexec -n 2`` itself).

1. allreduce throughput over message sizes 1 KB – 64 MB: ``chainrule.distributed.all_reduce``
   (a thin layer over mpi4py's ``Allreduce`` on the tensor's buffer) against raw mpi4py
   ``Allreduce`` on the same NumPy buffer, and the rank-ordered reduction that DDP uses
   by default (Alltoall + sum in rank order + Allgather: bitwise reproducible) against
   plain Allreduce: the price of determinism;
2. one training step of the bundled CNN: 2 ranks with DDP and 32 images each against
   one process with 32 images (the overhead of data parallelism: on an idle machine
   with a core per rank the ratio would be 1 plus the exposed communication);
3. the share of DDP's allreduce hidden under backward (one 25 MB bucket, and small
   buckets that start during backward);
4. the α–β fit of the sweep.

    .venv/bin/python benchmarks/bench_distributed.py [--repeats 7] [--steps 20]

The mpich wheel's ``mpiexec`` is found next to this Python. Best of repeats,
chainrule and raw timed in alternating rounds; the load average is printed, since
on a shared machine the two ranks compete with other programs for the cores.
"""
import argparse
import os
import pathlib
import subprocess
import sys
import time

import numpy

SIZES = [2 ** power for power in range(10, 27, 2)]  # 1 KB … 64 MB
BATCH = 32


def _cnn_step_setup(dtype=numpy.float32, batch=BATCH, wrap=None, seed=0):
    import chainrule as cr
    from chainrule import nn, optim
    from chainrule.data import load_digits
    from chainrule.models import cnn

    images, labels = load_digits("train")
    rng = numpy.random.default_rng(seed)
    order = rng.permutation(len(labels))[:batch]
    inputs, targets = cr.tensor(images[order].astype(dtype)), cr.tensor(labels[order])
    cr.manual_seed(0)
    model = cnn()
    trained = wrap(model) if wrap else model
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss_fn(trained(inputs), targets).backward()
        optimizer.step()
    return step, trained


def _best(run, repeats, barrier=None):
    run()
    best = float("inf")
    for _ in range(repeats):
        if barrier:
            barrier()
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def single_process_step(steps):
    """One process, batch 32: the time of one step (best of ``steps``)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    step, _ = _cnn_step_setup()
    return _best(step, steps)


def worker(repeats, steps):
    """Runs on each of the 2 ranks under mpiexec; rank 0 prints."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    from mpi4py import MPI

    import chainrule.distributed as dist
    from chainrule.core.tensor import Tensor

    group = dist.init_process_group()
    comm, rank = group.comm, group.rank

    def slowest(seconds):
        value = numpy.array([seconds])
        comm.Allreduce(MPI.IN_PLACE, value, MPI.MAX)
        return float(value[0])

    rows = []
    for size in SIZES:
        buffer = numpy.ones(size // 4, dtype=numpy.float32)
        tensor = Tensor._wrap(buffer)
        best = {"chainrule": float("inf"), "raw": float("inf"), "ordered": float("inf")}
        runs = {"chainrule": lambda: dist.all_reduce(tensor),
                "raw": lambda: comm.Allreduce(MPI.IN_PLACE, buffer, MPI.SUM),
                "ordered": lambda: dist.all_reduce(tensor, ordered=True)}
        for run in runs.values():
            run()
        for _ in range(repeats):  # alternating rounds: a change of load hits all three
            for name, run in runs.items():
                comm.Barrier()
                started = time.perf_counter()
                run()
                best[name] = min(best[name], slowest(time.perf_counter() - started))
        rows.append((size, best["chainrule"], best["raw"], best["ordered"]))
    alpha, beta = dist.fit_alpha_beta([r[0] for r in rows], [r[1] for r in rows], group.size)

    results = {}
    for label, options in (("DDP, rank-ordered, one 25 MB bucket", {}),
                           ("DDP, MPI Iallreduce, one 25 MB bucket", {"deterministic": False}),
                           ("DDP, rank-ordered, 0.05 MB buckets", {"bucket_cap_mb": 0.05})):
        step, ddp = _cnn_step_setup(seed=rank, wrap=lambda model: dist.DistributedDataParallel(model, **options))
        results[label] = (_best(step, steps, barrier=comm.Barrier), ddp.communication_stats())

    if rank == 0:
        print("allreduce of float32 buffers on 2 ranks (best of rounds, slowest rank)")
        print(f"{'bytes':>10s} {'chainrule':>11s} {'raw mpi4py':>11s} {'chainrule/raw':>14s} {'GB/s':>7s} "
              f"{'ordered':>11s} {'ordered/raw':>12s}")
        for size, ours, raw, ordered in rows:
            print(f"{size:>10d} {ours * 1e6:9.1f}us {raw * 1e6:9.1f}us {ours / raw:14.3f} {size / ours / 1e9:7.2f} "
                  f"{ordered * 1e6:9.1f}us {ordered / raw:12.3f}")
        big = [ours / raw for size, ours, raw, _ in rows if size >= 2 ** 20]
        print(f"chainrule/raw at >= 1 MB: mean {numpy.mean(big):.3f}, worst {max(big):.3f} (goal: within 1.05)")
        print(f"alpha-beta fit of chainrule's all_reduce: alpha = {alpha * 1e6:.2f} us, beta = {beta * 1e9:.4f} ns/byte "
              f"(1/beta = {1 / beta / 1e9:.2f} GB/s)")
        print("\nthe bundled CNN, 32 images per rank")
        for label, (seconds, stats) in results.items():
            print(f"{label:44s} step {seconds * 1e3:8.2f} ms  communication {stats['communication_seconds'] * 1e3:6.2f} ms"
                  f"  exposed {stats['exposed_seconds'] * 1e3:6.2f} ms  hidden {100 * stats['hidden_share']:5.1f} %"
                  f"  ({stats['buckets']} buckets)")
        print(f"RESULT {results['DDP, rank-ordered, one 25 MB bucket'][0]!r}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        worker(arguments.repeats, arguments.steps)
        return 0
    mpiexec = pathlib.Path(sys.executable).parent / "mpiexec"
    if not mpiexec.exists():
        print(f"no mpiexec next to {sys.executable}: pip install 'chainrule[mpi]'", file=sys.stderr)
        return 1
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    alone = single_process_step(arguments.steps)
    root = pathlib.Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([str(mpiexec), "-n", "2", sys.executable, __file__, "--worker", "--repeats",
                             str(arguments.repeats), "--steps", str(arguments.steps)],
                            capture_output=True, text=True, timeout=600, env=env)
    output = result.stdout
    print(output.replace("RESULT", "two-rank step (s):"), end="")
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return 1
    two_ranks = float(output.split("RESULT ")[1].split()[0])
    print(f"\none process, 32 images:                      step {alone * 1e3:8.2f} ms")
    print(f"2-rank DDP step / 1-process step on half the batch: {two_ranks / alone:.2f}x "
          f"(1.00 would be free data parallelism)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
