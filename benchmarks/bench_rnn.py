"""LSTM and GRU forward + backward: chainrule against PyTorch (CPU, 2 threads), side by side in one run.

Setting (the LSTM is the headline): batch 64, sequence 50, input_size = hidden_size = 256,
float32, one layer; the loss is output.sum() (so every output step sends a gradient back).
Both libraries hold the same weights. Three contestants per layer run in turn (so a busy
machine slows all alike): chainrule's layer (its fused LSTMSequence / GRUSequence
primitive), the composed per-step loop the primitive replaced (the same math as tensor ops,
kept as the tested reference), and torch.nn. Prints the best and the median of the runs
and each one's ratio to torch (lower is better; 1.0 means as fast as PyTorch).

    .venv/bin/python benchmarks/bench_rnn.py [--repeats 7] [--batch 64] [--seq 50] [--hidden 256] [--layers lstm gru]
"""
import argparse
import functools
import os
import statistics
import time

import numpy as np
import torch

import chainrule as cr
from chainrule.nn import GRU, LSTM
from chainrule.nn.rnn import _gru_step, _lstm_step, _project, _unroll


def time_in_turn(functions, repeats):
    """Run ``functions`` in turn, ``repeats`` rounds; the list of wall times of each."""
    for function in functions:
        function()  # warm-up: first-touch allocations, BLAS thread start
    times = [[] for _ in functions]
    for _ in range(repeats):
        for function, function_times in zip(functions, times):
            start = time.perf_counter()
            function()
            function_times.append(time.perf_counter() - start)
    return times


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


def benchmark(kind, batch, seq, size, repeats):
    ours_class, theirs_class, composed = LAYERS[kind]
    torch.manual_seed(0)
    theirs = theirs_class(size, size)
    ours = ours_class(size, size)
    for name, parameter in theirs.named_parameters():
        getattr(ours, name).data[...] = parameter.detach().numpy()
    x = np.random.default_rng(0).standard_normal((seq, batch, size)).astype(np.float32)
    x_ours = cr.tensor(x, requires_grad=True)
    x_theirs = torch.tensor(x, requires_grad=True)

    def run_ours(backward=True):
        ours.zero_grad()
        x_ours.grad = None
        output, _ = ours(x_ours)
        if backward:
            output.sum().backward()
        return output

    def run_composed(backward=True):
        ours.zero_grad()
        x_ours.grad = None
        output = composed(ours, x_ours)
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

    # Same weights, same input: the results must agree before their speed means anything.
    out_theirs = run_theirs()
    for run in (run_composed, run_ours):
        out_ours = run()
        np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(x_ours.grad.data, x_theirs.grad.numpy(), rtol=1e-3, atol=1e-4)

    name = kind.upper()
    print(f"\n{name}, batch {batch}, seq {seq}, input=hidden={size}, float32, {repeats} rounds in turn "
          f"(torch threads: {torch.get_num_threads()})")
    print(f"{'':18s} {'contestant':28s} {'best':>9s} {'median':>9s} {'best/torch':>11s} {'median/torch':>13s}")
    for label, backward in (("forward", False), ("forward+backward", True)):
        contestants = [(f"chainrule {name} (fused)", lambda: run_ours(backward)),
                       ("chainrule composed loop", lambda: run_composed(backward)),
                       (f"torch.nn.{name}", lambda: run_theirs(backward))]
        times = time_in_turn([function for _, function in contestants], repeats)
        torch_best, torch_median = min(times[-1]), statistics.median(times[-1])
        for (contestant, _), contestant_times in zip(contestants, times):
            best, median = min(contestant_times), statistics.median(contestant_times)
            print(f"{label:18s} {contestant:28s} {best * 1e3:7.1f}ms {median * 1e3:7.1f}ms "
                  f"{best / torch_best:10.2f}x {median / torch_median:12.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", nargs="+", choices=list(LAYERS), default=list(LAYERS))
    args = parser.parse_args()
    torch.set_num_threads(2)
    # Other processes on a small machine distort wall times: the load average says how much.
    print(f"load average before the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for kind in args.layers:
        benchmark(kind, args.batch, args.seq, args.hidden, args.repeats)


if __name__ == "__main__":
    main()
