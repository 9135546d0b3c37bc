"""LSTM and GRU forward + backward, and an LSTMCell loop under L-BFGS: chainrule against PyTorch (CPU), side by side.

Layers (the LSTM is the headline): batch 64, sequence 50, input_size = hidden_size = 256,
float32, one layer; the loss is output.sum() (so every output step sends a gradient back).
Both libraries hold the same weights. The contestants run in turn, round after round (so a
busy machine slows all alike): chainrule's layer (its LSTMSequence / GRUSequence primitive,
with the fused loops of chainrule/kernels/rnn.py for the LSTM), the same layer with the kernels
switched off (``use_kernels(False)``: the NumPy and tensor-op reference), the composed per-step
loop the primitive replaced (``--composed``; slow, so off by default), and torch.nn.

Cells: pytorch/examples' time_sequence_prediction (examples/ported/sine_lstm_lbfgs_*.py), smaller:
two LSTMCells of 51 units and a Linear, stepped by a Python loop over time, float64; one
forward + backward of the loop, and one ``LBFGS.step`` (``max_iter`` 4, so 4 closures).

Every row prints the best and the median wall time of the rounds, the best CPU time of the
process (what a busy machine's waits for a core do not inflate), and each one's ratio to torch
(lower is better; 1.0 means as fast as PyTorch), for each thread count asked for (``--threads 1 2``:
BLAS and torch both limited to that many), with the load average, since the machine may be shared.

    .venv/bin/python benchmarks/bench_rnn.py [--repeats 7] [--threads 1 2] [--cases lstm gru cells] [--composed]
"""
import argparse
import functools
import os
import statistics
import time

os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")   # numba's OpenMP layer disturbs torch's threads

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import chainrule as cr
from common import print_row
from chainrule.backends import keep_freed_memory, use_kernels
from chainrule.nn import GRU, LSTM
from chainrule.nn.rnn import _gru_step, _lstm_step, _project, _unroll


def time_in_turn(functions, repeats):
    """Run ``functions`` in turn, ``repeats`` rounds; per function, the lists of wall and CPU times."""
    for function in functions:
        function()  # warm-up: first-touch allocations, BLAS thread start, numba's first dispatch
    wall, cpu = [[] for _ in functions], [[] for _ in functions]
    for _ in range(repeats):
        for index, function in enumerate(functions):
            start, start_cpu = time.perf_counter(), time.process_time()
            function()
            wall[index].append(time.perf_counter() - start)
            cpu[index].append(time.process_time() - start_cpu)
    return wall, cpu


def print_rows(label, contestants, repeats):
    """Time ``contestants`` [(name, function)] in turn (torch last) and print each against torch.

    Besides wall time, the process's CPU time: on a shared machine a run waits for a core, and the
    wall clock counts the wait while the CPU clock does not (with one thread the two agree when idle).
    """
    wall, cpu = time_in_turn([function for _, function in contestants], repeats)
    torch_best, torch_median, torch_cpu = min(wall[-1]), statistics.median(wall[-1]), min(cpu[-1])
    for (contestant, _), times, cpu_times in zip(contestants, wall, cpu):
        best, median, cpu_best = min(times), statistics.median(times), min(cpu_times)
        print(f"{label:18s} {contestant:24s} {best * 1e3:8.1f}ms {median * 1e3:8.1f}ms {cpu_best * 1e3:8.1f}ms "
              f"{best / torch_best:9.2f}x {median / torch_median:9.2f}x {cpu_best / torch_cpu:9.2f}x")
    return {contestant: min(times) for (contestant, _), times in zip(contestants, wall)}


def header(title):
    print(f"\n{title} (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    print(f"{'':18s} {'contestant':24s} {'best':>10s} {'median':>10s} {'best CPU':>10s} {'best/torch':>10s} "
          f"{'med/torch':>10s} {'CPU/torch':>10s}")


def with_kernels(enabled, function):
    """``function`` run with the compiled kernels on or off (the previous setting restored)."""
    def run():
        previous = use_kernels(enabled)
        try:
            return function()
        finally:
            use_kernels(previous)
    return run


def composed_lstm(layer, x):
    """The LSTM as the plain composed loop (one graph node per op per step): the reference the primitive replaced."""
    projected = _project(x, layer.weight_ih_l0, layer.bias_ih_l0, layer.bias_hh_l0, fold_hidden_bias=True)
    zeros = cr.zeros(x.shape[1], layer.hidden_size)
    step = functools.partial(_lstm_step, weight_hh_t=layer.weight_hh_l0.t())
    output, _ = _unroll(step, projected, (zeros, zeros), reverse=False)
    return output


def composed_gru(layer, x):
    """The GRU as the plain composed loop."""
    projected = _project(x, layer.weight_ih_l0, layer.bias_ih_l0, None, fold_hidden_bias=False)
    zeros = cr.zeros(x.shape[1], layer.hidden_size)
    step = functools.partial(_gru_step, weight_hh_t=layer.weight_hh_l0.t(), bias_hh=layer.bias_hh_l0)
    output, _ = _unroll(step, projected, zeros, reverse=False)
    return output


LAYERS = {"lstm": (LSTM, torch.nn.LSTM, composed_lstm), "gru": (GRU, torch.nn.GRU, composed_gru)}


def lstm_gemm_floor(batch, seq, size):
    """The matrix products of an LSTM layer's forward + backward, timed alone with NumPy's BLAS: the floor of
    any NumPy LSTM here. Forward: the input projection X·W_ihᵀ and, per step, h·W_hhᵀ; backward: per step
    Ḡ_t·W_hh, then ∂W_ih = Ḡᵀ·X, ∂W_hh = Ḡᵀ·H₋₁ and ∂X = Ḡ·W_ih over all steps (six projection-sized GEMMs)."""
    rng = np.random.default_rng(2)
    inputs = rng.standard_normal((seq * batch, size)).astype(np.float32)
    hidden = rng.standard_normal((seq * batch, size)).astype(np.float32)
    gates_grad = rng.standard_normal((seq * batch, 4 * size)).astype(np.float32)
    weight_ih, weight_hh = (rng.standard_normal((4 * size, size)).astype(np.float32) for _ in range(2))
    step_out = np.empty((batch, 4 * size), dtype=np.float32)
    step_back = np.empty((batch, size), dtype=np.float32)

    def products():
        np.dot(inputs, weight_ih.T)
        for t in range(seq):
            np.dot(hidden[t * batch:(t + 1) * batch], weight_hh.T, out=step_out)
        for t in range(seq):
            np.dot(gates_grad[t * batch:(t + 1) * batch], weight_hh, out=step_back)
        np.dot(gates_grad.T, inputs)
        np.dot(gates_grad.T, hidden)
        np.dot(gates_grad, weight_ih)
    return products


def peak_sgemm_rate(size=2048, rounds=3):
    """The best float32 GEMM rate this process gets, in GFLOP/s: a size³ product, best of ``rounds``, through
    NumPy's BLAS and through torch.mm (each on the threads set by the caller); the higher of the two."""
    a = np.random.default_rng(3).standard_normal((size, size)).astype(np.float32)
    rates = {}
    for name, multiply, operand in (("NumPy", np.dot, a), ("torch.mm", torch.mm, torch.from_numpy(a))):
        multiply(operand, operand)
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter()
            multiply(operand, operand)
            best = min(best, time.perf_counter() - start)
        rates[name] = 2 * size ** 3 / best / 1e9
    return rates


def lstm_compute_floor(batch, seq, size, torch_best, goal=0.9):
    """The least time any implementation can take on this machine: the LSTM's product FLOPs at the machine's best
    sgemm rate. Six products of 2·(seq·batch)·(4·size)·size FLOPs each (input = hidden = size): forward X·W_ihᵀ
    and the steps' h·W_hhᵀ; backward the steps' Ḡ·W_hh, Ḡᵀ·X, Ḡᵀ·H₋₁ and Ḡ·W_ih. Prints it; returns its ratio."""
    gflop = 6 * 2 * seq * batch * 4 * size * size / 1e9
    rates = peak_sgemm_rate()
    best_rate = max(rates.values())
    floor = gflop / best_rate
    rate_text = ", ".join(f"{name} {rate:.0f}" for name, rate in rates.items())
    print(f"{'':18s} compute floor: {gflop:.2f} GFLOP of products at this machine's best sgemm rate "
          f"(2048³: {rate_text} GFLOP/s) = {floor * 1e3:.1f}ms = {floor / torch_best:.2f}x torch's best; "
          f"{goal:g}x torch would need {gflop / (goal * torch_best):.0f} GFLOP/s")
    return floor / torch_best


def benchmark_layer(kind, batch, seq, size, repeats, composed_too):
    ours_class, theirs_class, composed = LAYERS[kind]
    torch.manual_seed(0)
    theirs = theirs_class(size, size)
    ours = ours_class(size, size)
    for name, parameter in theirs.named_parameters():
        getattr(ours, name).array[...] = parameter.detach().numpy()
    x = np.random.default_rng(0).standard_normal((seq, batch, size)).astype(np.float32)
    x_ours = cr.tensor(x, requires_grad=True)
    x_theirs = torch.tensor(x, requires_grad=True)

    def run_ours(backward=True, run=lambda: ours(x_ours)[0]):
        ours.zero_grad()
        x_ours.grad = None
        output = run()
        if backward:
            output.sum().backward()
        return output

    def run_theirs(backward=True):
        theirs.zero_grad()
        x_theirs.grad = None
        output, _ = theirs(x_theirs)
        if backward:
            output.sum().backward()
        return output

    def run_composed(backward=True):
        return run_ours(backward, run=lambda: composed(ours, x_ours))

    # Same weights, same input: the results must agree before their speed means anything.
    out_theirs = run_theirs()
    checked = [run_ours, with_kernels(False, run_ours)] + ([run_composed] if composed_too else [])
    for run in checked:
        out_ours = run()
        np.testing.assert_allclose(out_ours.array, out_theirs.detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(x_ours.grad.array, x_theirs.grad.numpy(), rtol=1e-3, atol=1e-4)

    name = kind.upper()
    header(f"{name}, batch {batch}, seq {seq}, input=hidden={size}, float32, {repeats} rounds in turn, "
           f"{torch.get_num_threads()} thread(s)")
    for label, backward in (("forward", False), ("forward+backward", True)):
        contestants = [(f"chainrule {name}", lambda: run_ours(backward)),
                       ("kernels off", with_kernels(False, lambda: run_ours(backward)))]
        if composed_too:
            contestants.append(("composed loop", lambda: run_composed(backward)))
        if kind == "lstm" and backward:
            contestants.append(("its GEMMs alone (floor)", lstm_gemm_floor(batch, seq, size)))
        contestants.append((f"torch.nn.{name}", lambda: run_theirs(backward)))
        best = print_rows(label, contestants, repeats)
        if kind == "lstm" and backward:
            torch_best = best[f"torch.nn.{name}"]
            compute_floor = lstm_compute_floor(batch, seq, size, torch_best)
            print_row("lstm", best[f"chainrule {name}"] / torch_best, torch.get_num_threads(),
                      floor=best["its GEMMs alone (floor)"] / torch_best,
                      note=f"compute floor {compute_floor:.2f} (its FLOPs at the best sgemm rate)")


class SineModel:
    """examples/ported/sine_lstm_lbfgs_*.py's model in either library: LSTMCell(1, H), LSTMCell(H, H), Linear(H, 1)."""

    def __init__(self, library, hidden):
        self.library, self.hidden = library, hidden
        self.layers = [library.nn.LSTMCell(1, hidden).double(), library.nn.LSTMCell(hidden, hidden).double(),
                       library.nn.Linear(hidden, 1).double()]

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __call__(self, input):
        library, (cell1, cell2, linear) = self.library, self.layers
        h1, c1, h2, c2 = (library.zeros(input.shape[0], self.hidden, dtype=library.float64) for _ in range(4))
        outputs = []
        for input_t in input.split(1, dim=1):
            h1, c1 = cell1(input_t, (h1, c1))
            h2, c2 = cell2(h1, (h2, c2))
            outputs.append(linear(h2))
        return library.cat(outputs, dim=1)


def benchmark_cells(batch, seq, hidden, repeats):
    rng = np.random.default_rng(2)
    offsets = rng.integers(-80, 80, size=(batch, 1))
    data = np.sin((np.arange(seq + 1)[None, :] + offsets) / 20.0)
    models, optimizers, inputs = {}, {}, {}
    for library in (cr, torch):
        torch.manual_seed(0)
        models[library] = SineModel(library, hidden)
        inputs[library] = (library.tensor(data[:, :-1]), library.tensor(data[:, 1:]))
    for mine, theirs in zip(models[cr].parameters(), models[torch].parameters()):
        mine.array[...] = theirs.detach().numpy()
    start = {library: [p.detach().clone() for p in models[library].parameters()] for library in (cr, torch)}

    def restart(library):
        """Back to the same start, so that every round does the same iterations."""
        with library.no_grad():
            for p, p0 in zip(models[library].parameters(), start[library]):
                p.copy_(p0)
        optimizers[library] = library.optim.LBFGS(models[library].parameters(), lr=0.8, max_iter=4)

    def closure(library):
        optimizers[library].zero_grad()
        input, target = inputs[library]
        loss = ((models[library](input) - target) ** 2).mean()
        loss.backward()
        return loss

    def lbfgs_step(library):
        restart(library)
        return optimizers[library].step(lambda: closure(library)).item()

    for library in (cr, torch):
        restart(library)
    losses = [closure(library).item() for library in (cr, torch)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-10)
    steps = [lbfgs_step(library) for library in (cr, torch)]
    after = [closure(library).item() for library in (cr, torch)]
    np.testing.assert_allclose(steps[0], steps[1], rtol=1e-10)
    np.testing.assert_allclose(after[0], after[1], rtol=1e-6)

    header(f"LSTMCell loop (2 cells of {hidden}, Linear), batch {batch}, seq {seq}, float64, {repeats} rounds in "
           f"turn, {torch.get_num_threads()} thread(s)")
    print_rows("forward+backward", [("chainrule", lambda: closure(cr)),
                                    ("kernels off", with_kernels(False, lambda: closure(cr))),
                                    ("torch", lambda: closure(torch))], repeats)
    print_rows("LBFGS step (4 it)", [("chainrule", lambda: lbfgs_step(cr)),
                                     ("kernels off", with_kernels(False, lambda: lbfgs_step(cr))),
                                     ("torch", lambda: lbfgs_step(torch))], repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--cases", nargs="+", choices=list(LAYERS) + ["cells"], default=list(LAYERS) + ["cells"])
    parser.add_argument("--composed", action="store_true", help="also time the composed per-step loop (slow)")
    args = parser.parse_args()
    # Above the default 32 MiB: torch's LSTM takes a block larger than that per call (its workspace),
    # which glibc maps afresh each call (7419 page faults, ~18 ms of its ~120 ms CPU here) unless the
    # heap holds a free chunk that size; whether it did depended on what chainrule's contestant had
    # just freed, so torch's time was bimodal (102 or 120 ms CPU, forward + backward). With 64 MiB the
    # block is reused from the heap in every run: torch at its best, whatever ran before it.
    keep_freed_memory(mmap_threshold=64 * 2**20)
    for threads in args.threads:
        torch.set_num_threads(threads)
        with threadpool_limits(threads):
            for case in args.cases:
                if case == "cells":
                    benchmark_cells(batch=16, seq=40, hidden=51, repeats=args.repeats)
                else:
                    benchmark_layer(case, args.batch, args.seq, args.hidden, args.repeats, args.composed)


if __name__ == "__main__":
    main()
