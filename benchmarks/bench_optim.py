"""Benchmark: one optimizer step over the parameters of a 784-512-512-10 MLP (669,706 float32 values).

chainrule's optimizers (the update rule in place on whole NumPy arrays) against
``torch.optim`` with its defaults, in the same process, the two timed in
alternating rounds so that a change in machine load hits both. torch runs with
2 threads (``torch.set_num_threads(2)``) and, for reference, with 1; chainrule
runs with its default (parameters split over 2 threads, ``ParallelUpdates.threads``;
SGD stays on 1) and, for reference, with 1. Prints the median time per step and the ratio
torch / chainrule (above 1: chainrule is faster), plus the load average, since
on a shared machine threads slow down under load (torch's OpenMP threads sharply).

With Adam it also times, alone and on one thread, each of the twelve in-place NumPy
passes that Adam's step makes over every array (``chainrule/optim/adam.py``: three
for m, four for v, five for the step): their sum is the floor of any Adam written
as whole-array ufuncs, whatever the dispatch around them.

Each optimizer is first compared all on one thread, alternating round by round: chainrule
with its fused numba kernel (chainrule/kernels/optim.py, the default), chainrule's NumPy
reference (``use_kernels(False)``), the torch optimizer with its defaults (Lion: none in
torch) and, for Adam where torch allows it on the CPU, ``torch.optim.Adam(fused=True)``;
ratios chainrule / torch (below 1: chainrule is faster; the goal of issue 16 is at most 0.5
for Adam against the defaults, printed as the ``ROW adam_step`` line run_all.py collects).
numba's threading layer is set to ``workqueue``: its OpenMP layer disturbs PyTorch's
threads in the same process (the kernels here are serial, so it matters only if one
ever uses ``prange``).

    .venv/bin/python benchmarks/bench_optim.py                      # Adam, Adamax, Adadelta, Lion
    .venv/bin/python benchmarks/bench_optim.py --optimizers all --rounds 5
"""
import argparse
import os
import statistics
import time

import numba
import numpy
import torch

import chainrule as cr
import chainrule.optim as cr_optim
from chainrule.backends import use_kernels
from common import print_row, threads_free

numba.config.THREADING_LAYER = "workqueue"      # before any kernel compiles: OpenMP disturbs torch (issue 16)

SHAPES = [(512, 784), (512,), (512, 512), (512,), (10, 512), (10,)]

# name: (chainrule class, torch class, keyword arguments for both)
OPTIMIZERS = {
    "adam": (cr_optim.Adam, torch.optim.Adam, {"lr": 1e-3}),
    "adamw": (cr_optim.AdamW, torch.optim.AdamW, {"lr": 1e-3}),
    "sgd_momentum": (cr_optim.SGD, torch.optim.SGD, {"lr": 1e-2, "momentum": 0.9}),
    "adamax": (cr_optim.Adamax, torch.optim.Adamax, {"lr": 2e-3}),
    "nadam": (cr_optim.NAdam, torch.optim.NAdam, {"lr": 2e-3}),
    "radam": (cr_optim.RAdam, torch.optim.RAdam, {"lr": 1e-3}),
    "rmsprop": (cr_optim.RMSprop, torch.optim.RMSprop, {"lr": 1e-3}),
    "adagrad": (cr_optim.Adagrad, torch.optim.Adagrad, {"lr": 1e-2}),
    "adadelta": (cr_optim.Adadelta, torch.optim.Adadelta, {"lr": 1.0}),
    "lion": (cr_optim.Lion, None, {"lr": 1e-4}),          # torch has no Lion: chainrule kernel vs its NumPy reference
}


def step_times(step, steps):
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def adam_passes(values, grads, steps):
    """Time each in-place ufunc pass of Adam's step (default hyperparameters) over all arrays, one thread."""
    param, grad = [v.copy() for v in values], grads
    m, v, scratch = ([numpy.full_like(p, 0.01) for p in param] for _ in range(3))
    beta1, beta2, lr, eps = 0.9, 0.999, 1e-3, 1e-8
    passes = [
        ("m *= b1", lambda i: numpy.multiply(m[i], beta1, out=m[i])),
        ("s = (1-b1) g", lambda i: numpy.multiply(grad[i], 1 - beta1, out=scratch[i])),
        ("m += s", lambda i: numpy.add(m[i], scratch[i], out=m[i])),
        ("v *= b2", lambda i: numpy.multiply(v[i], beta2, out=v[i])),
        ("s = g g", lambda i: numpy.multiply(grad[i], grad[i], out=scratch[i])),
        ("s *= 1-b2", lambda i: numpy.multiply(scratch[i], 1 - beta2, out=scratch[i])),
        ("v += s", lambda i: numpy.add(v[i], scratch[i], out=v[i])),
        ("s = sqrt(v)", lambda i: numpy.sqrt(v[i], out=scratch[i])),
        ("s += eps", lambda i: numpy.add(scratch[i], eps, out=scratch[i])),
        ("s = m / s", lambda i: numpy.divide(m[i], scratch[i], out=scratch[i])),
        ("s *= step", lambda i: numpy.multiply(scratch[i], lr, out=scratch[i])),
        ("p -= s", lambda i: numpy.subtract(param[i], scratch[i], out=param[i])),
    ]
    total = 0.0
    print(f"Adam's NumPy passes alone, over all values, one thread (median of {10 * steps} runs each):")
    for label, one_pass in passes:
        ms = statistics.median(step_times(lambda: [one_pass(i) for i in range(len(param))], 10 * steps)) * 1e3
        total += ms
        print(f"  {label:<13} {ms:6.3f} ms")
    print(f"  sum          {total:6.3f} ms  (the one-thread floor of a whole-array ufunc Adam)")


def one_thread(name, values, grads, steps, rounds):
    """One optimizer on one thread: chainrule kernel, chainrule NumPy reference, torch defaults (and, for Adam,
    torch fused), alternating round by round; returns the medians in ms by label."""
    cr_class, torch_class, kwargs = OPTIMIZERS[name]

    def set_cr_grad(p, g):
        p.grad = cr.tensor(g)

    def set_torch_grad(p, g):
        p.grad = torch.tensor(g)

    contenders = {}
    for label, kernels_on in (("chainrule kernel", True), ("chainrule NumPy", False)):
        opt = build(values, grads, lambda v: cr.tensor(v, requires_grad=True), cr_class, kwargs, set_cr_grad)
        opt.threads = 1
        contenders[label] = (opt.step, kernels_on)
    if torch_class is not None:
        torch_opt = build(values, grads, lambda v: torch.tensor(v, requires_grad=True), torch_class, kwargs,
                          set_torch_grad)
        contenders["torch defaults"] = (torch_opt.step, None)
    if name == "adam":
        try:
            torch_fused = build(values, grads, lambda v: torch.tensor(v, requires_grad=True), torch.optim.Adam,
                                {"fused": True}, set_torch_grad)
            torch_fused.step()
            contenders["torch fused=True"] = (torch_fused.step, None)
        except (RuntimeError, ValueError) as error:          # fused may be CUDA-only in some torch builds
            print(f"torch Adam fused=True is not available on the CPU here: {error}")

    torch.set_num_threads(1)
    times = {label: [] for label in contenders}
    for _ in range(3):                                   # warm up: state allocated, kernels compiled, caches filled
        for step, kernels_on in contenders.values():
            if kernels_on is not None:
                use_kernels(kernels_on)
            step()
    for _ in range(rounds):
        for label, (step, kernels_on) in contenders.items():
            if kernels_on is not None:
                use_kernels(kernels_on)
            times[label] += step_times(step, steps)
    use_kernels(True)
    medians = {label: statistics.median(values_) * 1e3 for label, values_ in times.items()}
    print(f"{cr_class.__name__} step, one thread each, median of {rounds} alternating rounds of {steps} steps:")
    for label, ms in medians.items():
        ratios = "  ".join(f"/ {other}: {ms / medians[other]:5.2f}" for other in medians
                           if (other.startswith("torch") or other == "chainrule NumPy") and other != label)
        print(f"  {label:<22} {ms:7.3f} ms   {ratios}")
    return medians


def build(values, grads, make_tensor, optimizer_class, kwargs, set_grad):
    params = [make_tensor(v) for v in values]
    for p, g in zip(params, grads):
        set_grad(p, g)
    return optimizer_class(params, **kwargs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100, help="steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--optimizers", default="adam,adamax,adadelta,lion", help="comma-separated names, or 'all': " + ",".join(OPTIMIZERS))
    args = parser.parse_args()
    names = list(OPTIMIZERS) if args.optimizers == "all" else args.optimizers.split(",")

    rng = numpy.random.default_rng(0)
    values = [rng.standard_normal(shape).astype(numpy.float32) * 0.05 for shape in SHAPES]
    grads = [rng.standard_normal(shape).astype(numpy.float32) * 0.01 for shape in SHAPES]
    print(f"parameters: {sum(v.size for v in values):,} float32 values in {len(SHAPES)} tensors {SHAPES}")
    print(f"torch {torch.__version__}, numpy {numpy.__version__}; load average before: {os.getloadavg()[0]:.2f}")

    for name in names:
        medians = one_thread(name, values, grads, args.steps, args.rounds)
        if name == "adam":
            print_row("adam_step", medians["chainrule kernel"] / medians["torch defaults"], threads=1,
                      note="kernel / torch.optim.Adam defaults")
            adam_passes(values, grads, args.steps)


    def set_cr_grad(p, g):
        p.grad = cr.tensor(g)

    def set_torch_grad(p, g):
        p.grad = torch.tensor(g)

    for name in names:
        cr_class, torch_class, kwargs = OPTIMIZERS[name]
        if torch_class is None:
            continue
        ours = build(values, grads, lambda v: cr.tensor(v, requires_grad=True), cr_class, kwargs, set_cr_grad)
        theirs = build(values, grads, lambda v: torch.tensor(v, requires_grad=True), torch_class, kwargs,
                       set_torch_grad)
        default_threads = ours.threads
        ours_times, ours1_times, torch2_times, torch1_times = [], [], [], []
        for _ in range(3):                                   # warm up: state allocated, caches filled
            ours.step()
            theirs.step()
        for _ in range(args.rounds):
            ours.threads = default_threads
            ours_times += step_times(ours.step, args.steps)
            ours.threads = 1
            ours1_times += step_times(ours.step, args.steps)
            torch.set_num_threads(2)
            torch2_times += step_times(theirs.step, args.steps)
            torch.set_num_threads(1)
            torch1_times += step_times(theirs.step, args.steps)
        ours_ms = statistics.median(ours_times) * 1e3
        ours1_ms = statistics.median(ours1_times) * 1e3
        torch2_ms = statistics.median(torch2_times) * 1e3
        torch1_ms = statistics.median(torch1_times) * 1e3
        allowed, load = threads_free(2)
        if name == "adam" and allowed:
            print_row("adam_step", ours_ms / torch2_ms, threads=2, note=f"{default_threads} lanes / torch 2 threads")
        elif name == "adam":
            print(f"(no 2-thread row for the summary: load average {load:.2f} >= 1, the 2 cores are not free)")
        print(f"{name:>13}: chainrule ({default_threads}) {ours_ms:6.3f} ms (1 thread {ours1_ms:6.3f}) | torch 2 threads {torch2_ms:6.3f} ms "
              f"(ratio {torch2_ms / ours_ms:5.2f}x) | torch 1 thread {torch1_ms:6.3f} ms (ratio {torch1_ms / ours_ms:5.2f}x, "
              f"1 thread vs 1 thread {torch1_ms / ours1_ms:5.2f}x)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
