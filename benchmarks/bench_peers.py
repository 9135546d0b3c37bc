"""chainrule among its kind: the same workloads in chainrule, PyTorch, HIPS autograd and tinygrad (CPU).

    .venv/bin/python benchmarks/bench_peers.py

1. Per-op overhead: a chain of 100 elementwise ops on 4×4 float32 tensors (25 × mul, add,
   tanh, sin), then a sum and the backward pass: what a small eager graph costs when the
   arithmetic is nothing.
2. MLP 784-512-512-10, batch 128: one full training step (forward, cross-entropy,
   backward, Adam with torch's defaults at lr 1e-3). Beside it, the floor: the step's
   eight matrix products alone with NumPy's BLAS, against PyTorch's whole step.

Everything runs on one thread (threadpoolctl for NumPy's BLAS, ``torch.set_num_threads(1)``)
and, where the load allows, again on two, in this one process; each framework is timed in
alternating rounds (best of ``--rounds`` rounds, each the median of several calls), so a
change in machine load hits all alike. The peers are optional (``pip install '.[bench]'``):
one that cannot be imported or run is named with the reason, and the others go on.
HIPS autograd has no optimizer for arrays it does not own: its Adam step here is the
textbook update written with NumPy ufuncs, as an autograd user writes it. tinygrad's CPU
device compiles its kernels with clang, so it needs clang on the PATH.

Prints a table of times with each framework's ratio to PyTorch, and ``ROW`` lines
(benchmarks/common.py: ``print_row``) for run_all.py's summary.
"""
import argparse
import os
import shutil
import statistics
import time

import numpy
import torch
from threadpoolctl import threadpool_limits

import chainrule as cr
import chainrule.nn as cnn
import chainrule.optim as coptim
from chainrule.optim.parallel import ParallelUpdates
from common import print_row, threads_free

SIZES = [784, 512, 512, 10]
BATCH = 128


def median_call(function, calls):
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def alternating_best(contenders, rounds, calls, budget=1.0):
    """Best round (median of up to ``calls`` calls) of each contender, the contenders alternating round by round.

    A contender whose call is slow (tinygrad re-plans a deep eager graph on every call) gets fewer
    calls per round, so that a round of it lasts about ``budget`` seconds: at least 3 calls.
    Returns the best times and each contender's first call, timed apart: it holds compilation
    (numba's kernels, tinygrad's clang kernels).
    """
    calls_of, first_call = {}, {}
    for name, function in contenders.items():
        start = time.perf_counter()
        function()                                   # warm up: caches, compiled kernels, allocator
        first_call[name] = time.perf_counter() - start
        start = time.perf_counter()
        function()
        calls_of[name] = max(3, min(calls, int(budget / max(time.perf_counter() - start, 1e-9))))
    best = {name: float("inf") for name in contenders}
    for _ in range(rounds):
        for name, function in contenders.items():
            best[name] = min(best[name], median_call(function, calls_of[name]))
    return best, first_call


# ----- 1. a chain of 100 elementwise ops on 4x4 ------------------------------------------------------
def chain_inputs():
    rng = numpy.random.default_rng(0)
    return [rng.standard_normal((4, 4)).astype(numpy.float32) * scale for scale in (0.5, 1.0, 0.1)]


def chain_of(x, w, b, tanh, sin):
    for _ in range(25):
        x = sin(tanh(x * w + b))
    return x.sum()


def chain_contenders():
    x_np, w_np, b_np = chain_inputs()
    contenders, missing = {}, {}

    x, w, b = (cr.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))

    def chainrule_step():
        chain_of(x, w, b, cr.tanh, cr.sin).backward()
        x.grad = w.grad = b.grad = None
    contenders["chainrule"] = chainrule_step

    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))

    def torch_step():
        chain_of(tx, tw, tb, torch.tanh, torch.sin).backward()
        tx.grad = tw.grad = tb.grad = None
    contenders["pytorch"] = torch_step

    try:
        import autograd
        import autograd.numpy as anp

        gradient = autograd.grad(lambda params: chain_of(*params, anp.tanh, anp.sin))

        def autograd_step():
            gradient([x_np, w_np, b_np])
        autograd_step()
        contenders["autograd"] = autograd_step
    except Exception as error:                        # a peer that cannot run is reported, not fatal
        missing["autograd"] = _reason(error)

    try:
        tinygrad_step = _tinygrad_chain(x_np, w_np, b_np)
        contenders["tinygrad"] = tinygrad_step
    except Exception as error:
        missing["tinygrad"] = _reason(error)
    return contenders, missing


def _tinygrad_chain(x_np, w_np, b_np):
    from tinygrad import Tensor

    _check_tinygrad_cpu()
    w, b = Tensor(w_np), Tensor(b_np)

    def step():
        x = Tensor(x_np)
        chain_of(x, w, b, Tensor.tanh, Tensor.sin).backward()
        x.grad.numpy()                                # tinygrad is lazy: realize the gradient
    step()
    return step


def _check_tinygrad_cpu():
    os.environ.setdefault("DEV", "CPU")
    if shutil.which("clang") is None:
        raise RuntimeError("tinygrad's CPU device compiles with clang, and clang is not on the PATH")


def _reason(error):
    return f"{type(error).__name__}: {' '.join(str(error).split())[:160]}"


# ----- 2. MLP training step with Adam ----------------------------------------------------------------
def mlp_data():
    rng = numpy.random.default_rng(0)
    weights = [(rng.standard_normal((o, i)) / numpy.sqrt(i)).astype(numpy.float32) for i, o in zip(SIZES, SIZES[1:])]
    biases = [numpy.zeros(o, dtype=numpy.float32) for o in SIZES[1:]]
    images = rng.standard_normal((BATCH, SIZES[0])).astype(numpy.float32)
    labels = rng.integers(0, SIZES[-1], BATCH)
    return weights, biases, images, labels


def mlp_contenders():
    weights, biases, images, labels = mlp_data()
    contenders, missing = {}, {}

    def layers(nn):
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))

    torch_model = layers(torch.nn)
    with torch.no_grad():
        for index, (w, b) in enumerate(zip(weights, biases)):
            torch_model[2 * index].weight.copy_(torch.tensor(w))
            torch_model[2 * index].bias.copy_(torch.tensor(b))
    ours = layers(cnn)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()})

    ours_opt, ours_loss = coptim.Adam(ours.parameters(), lr=1e-3), cnn.CrossEntropyLoss()
    x, y = cr.tensor(images), cr.tensor(labels)

    def chainrule_step():
        ours_opt.zero_grad()
        ours_loss(ours(x), y).backward()
        ours_opt.step()
    contenders["chainrule"] = chainrule_step

    torch_opt, torch_loss = torch.optim.Adam(torch_model.parameters(), lr=1e-3), torch.nn.CrossEntropyLoss()
    tx, ty = torch.tensor(images), torch.tensor(labels)

    def torch_step():
        torch_opt.zero_grad()
        torch_loss(torch_model(tx), ty).backward()
        torch_opt.step()
    contenders["pytorch"] = torch_step

    try:
        contenders["autograd"] = _autograd_mlp(weights, biases, images, labels)
    except Exception as error:
        missing["autograd"] = _reason(error)
    try:
        contenders["tinygrad"] = _tinygrad_mlp(weights, biases, images, labels)
    except Exception as error:
        missing["tinygrad"] = _reason(error)
    return contenders, missing


def _autograd_mlp(weights, biases, images, labels):
    import autograd
    import autograd.numpy as anp

    params = [w.copy() for w in weights] + [b.copy() for b in biases]
    one_hot = numpy.eye(SIZES[-1], dtype=numpy.float32)[labels]

    def loss(params):
        w1, w2, w3, b1, b2, b3 = params
        h = anp.maximum(images @ w1.T + b1, 0)
        h = anp.maximum(h @ w2.T + b2, 0)
        logits = h @ w3.T + b3
        shifted = logits - anp.max(logits, axis=1, keepdims=True)
        log_probs = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
        return -anp.sum(log_probs * one_hot) / BATCH

    gradient = autograd.grad(loss)
    m = [numpy.zeros_like(p) for p in params]
    v = [numpy.zeros_like(p) for p in params]
    state = {"t": 0}

    def step():
        state["t"] += 1
        t, lr, beta1, beta2, eps = state["t"], 1e-3, 0.9, 0.999, 1e-8
        for p, g, m_, v_ in zip(params, gradient(params), m, v):
            m_ *= beta1
            m_ += (1 - beta1) * g
            v_ *= beta2
            v_ += (1 - beta2) * g * g
            p -= (lr / (1 - beta1 ** t)) * m_ / (numpy.sqrt(v_ / (1 - beta2 ** t)) + eps)
    step()
    return step


def _tinygrad_mlp(weights, biases, images, labels):
    from tinygrad import Tensor, nn as tnn
    from tinygrad.helpers import Context

    _check_tinygrad_cpu()
    params = [Tensor(w.copy()) for w in weights] + [Tensor(b.copy()) for b in biases]
    optimizer = tnn.optim.Adam(params, lr=1e-3)
    x, y = Tensor(images), Tensor(labels.astype(numpy.int32))

    def step():
        with Context(TRAINING=1):                    # tinygrad 0.14's training switch (Tensor.train() is gone)
            optimizer.zero_grad()
            w1, w2, w3, b1, b2, b3 = params
            h = (x.linear(w1.T, b1)).relu()
            h = (h.linear(w2.T, b2)).relu()
            h.linear(w3.T, b3).sparse_categorical_crossentropy(y).backward()
            optimizer.step()
    step()
    return step


def mlp_gemm_floor():
    """The eight matrix products of an MLP training step, timed alone with NumPy's BLAS: the floor of any
    NumPy MLP here. Forward X·W₁ᵀ, H₁·W₂ᵀ, H₂·W₃ᵀ; backward Ḡ₃ᵀ·H₂, Ḡ₃·W₃, Ḡ₂ᵀ·H₁, Ḡ₂·W₂, Ḡ₁ᵀ·X."""
    weights, _, images, _ = mlp_data()
    rng = numpy.random.default_rng(1)
    hidden = [rng.standard_normal((BATCH, size)).astype(numpy.float32) for size in SIZES[1:]]   # H₁, H₂, logits

    def products():
        inputs = [images, hidden[0], hidden[1]]
        for x, w in zip(inputs, weights):
            numpy.dot(x, w.T)
        for layer in (2, 1, 0):
            numpy.dot(hidden[layer].T, inputs[layer])            # the weight gradient
            if layer:
                numpy.dot(hidden[layer], weights[layer])         # the input gradient
    return products


# ----- the run ---------------------------------------------------------------------------------------
WORKLOADS = {
    "per_op_chain": ("chain of 100 elementwise ops on 4x4 + sum + backward", chain_contenders, 200),
    "mlp_step": ("MLP 784-512-512-10, batch 128, training step with Adam", mlp_contenders, 7),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", default="1,2", help="thread counts to run with (2 is skipped when load > 1)")
    args = parser.parse_args()
    print(f"numpy {numpy.__version__}, torch {torch.__version__}; load average {os.getloadavg()[0]:.2f}")
    for key, (title, make, calls) in WORKLOADS.items():
        contenders, missing = make()
        for name, reason in missing.items():
            print(f"  ({name} does not run here: {reason})")
        for threads in (int(t) for t in args.threads.split(",")):
            allowed, load = threads_free(threads)
            if not allowed:
                print(f"{title}, {threads} threads: skipped, load average {load:.2f} >= 1 (the 2 cores are not free)")
                continue
            torch.set_num_threads(threads)
            ParallelUpdates.threads = threads    # chainrule's optimizer on as many threads as torch and the BLAS
            with threadpool_limits(limits=threads, user_api="blas"):
                best, first_call = alternating_best(contenders, args.rounds, calls)
                floor = (alternating_best({"gemms": mlp_gemm_floor()}, args.rounds, calls)[0]["gemms"]
                         if key == "mlp_step" else None)
            print(f"{title}, {threads} thread{'s' if threads > 1 else ''} (load {load:.2f}):")
            for name, seconds in best.items():
                print(f"  {name:<10} {seconds * 1e3:9.3f} ms   / pytorch {seconds / best['pytorch']:6.2f}"
                      f"   (its first call {first_call[name]:.2f} s)")
            if floor is not None:
                print(f"  its 8 GEMMs alone (NumPy's BLAS) {floor * 1e3:7.3f} ms   / pytorch's whole step "
                      f"{floor / best['pytorch']:6.2f}")
            print_row(key, best["chainrule"] / best["pytorch"], threads=threads,
                      floor=None if floor is None else floor / best["pytorch"], note="vs " + " ".join(
                f"{name}={best[name] / best['pytorch']:.2f}" for name in best if name not in ("chainrule", "pytorch")))


if __name__ == "__main__":
    main()
