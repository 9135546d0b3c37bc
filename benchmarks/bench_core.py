"""Core speed: per-op eager overhead on small tensors, and an MLP forward+backward, against PyTorch.

Goals (issue #16): a chain of 100 ops on 4x4 tensors, forward and backward, no slower than
PyTorch (the per-op overhead: Python time in dispatch, tensor creation, graph recording and
the backward walk, not arithmetic); a 784-512-512-10 MLP, batch 128, float32, forward and
backward no slower than PyTorch. Everything on one thread (NumPy's BLAS and torch), both
libraries in this process, alternating rounds.

Run: .venv/bin/python benchmarks/bench_core.py
"""
import os

os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")   # numba's OpenMP layer disturbs torch in one process

import numpy
import torch
from threadpoolctl import threadpool_limits

import chainrule as cr
from common import best_time, report

torch.set_num_threads(1)
threadpool_limits(1)


def op_chain(x, w, length=100):
    """``length`` ops, cycling through mul, add, tanh and sub, then a sum: the graph of a tiny recurrent step."""
    y = x
    for step in range(length):
        kind = step % 4
        if kind == 0:
            y = y * w
        elif kind == 1:
            y = y + x
        elif kind == 2:
            y = y.tanh()
        else:
            y = y - w
    return y.sum()


def chain_overhead(rounds=5):
    """A chain of 100 ops on 4x4 float32 tensors and its backward: time per op, forward alone and forward+backward."""
    rng = numpy.random.default_rng(0)
    x_np, w_np = rng.standard_normal((4, 4)).astype(numpy.float32), rng.standard_normal((4, 4)).astype(numpy.float32)
    steps = {}
    for lib in (cr, torch):
        x, w = lib.tensor(x_np, requires_grad=True), lib.tensor(w_np, requires_grad=True)

        def forward_backward(x=x, w=w):
            op_chain(x, w).backward()
            x.grad = w.grad = None

        steps[lib.__name__] = (lambda x=x, w=w: op_chain(x, w), forward_backward)
    best = {}
    for _ in range(rounds):   # alternate, so that load from other processes hits both alike
        for name, (forward, forward_backward) in steps.items():
            times = (best_time(forward, repeat=3), best_time(forward_backward, repeat=3))
            best[name] = tuple(min(t, b) for t, b in zip(times, best.get(name, times)))
    ops_per_chain = 101
    rows = [("chain of 100 ops, forward, per op", best["chainrule"][0] / ops_per_chain, best["torch"][0] / ops_per_chain),
            ("chain of 100 ops, forward+backward, per op", best["chainrule"][1] / ops_per_chain,
             best["torch"][1] / ops_per_chain)]
    report(rows, f"Per-op overhead: a chain of 100 ops on 4x4 float32 (load average {os.getloadavg()[0]:.2f})")
    return rows


def per_op_overhead():
    rng = numpy.random.default_rng(0)
    a_np, b_np = rng.standard_normal((4, 4)).astype(numpy.float32), rng.standard_normal((4, 4)).astype(numpy.float32)
    rows = []
    for name, op in (("add", lambda x, y: x + y), ("mul", lambda x, y: x * y), ("matmul 4x4", lambda x, y: x @ y)):
        a, b = cr.tensor(a_np), cr.tensor(b_np)
        ta, tb = torch.tensor(a_np), torch.tensor(b_np)
        rows.append((f"{name} forward", best_time(lambda: op(a, b)), best_time(lambda: op(ta, tb))))
        ga, gb = cr.tensor(a_np, requires_grad=True), cr.tensor(b_np, requires_grad=True)
        tga, tgb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)

        def ours_fb():
            op(ga, gb).sum().backward()
            ga.grad = gb.grad = None

        def torch_fb():
            op(tga, tgb).sum().backward()
            tga.grad = tgb.grad = None

        rows.append((f"{name} + sum, forward and backward", best_time(ours_fb), best_time(torch_fb)))
    report(rows, "Per-op eager overhead (4x4 float32)")
    return rows


def mlp():
    rng = numpy.random.default_rng(0)
    sizes = [784, 512, 512, 10]
    weights = [(rng.standard_normal((o, i)) / numpy.sqrt(i)).astype(numpy.float32) for i, o in zip(sizes, sizes[1:])]
    biases = [numpy.zeros(o, dtype=numpy.float32) for o in sizes[1:]]
    x_np = rng.standard_normal((128, 784)).astype(numpy.float32)
    y_np = rng.integers(0, 10, 128)

    ours = [cr.tensor(w, requires_grad=True) for w in weights] + [cr.tensor(b, requires_grad=True) for b in biases]
    theirs = [torch.tensor(w, requires_grad=True) for w in weights] + [torch.tensor(b, requires_grad=True) for b in biases]
    x, y = cr.tensor(x_np), cr.tensor(y_np)
    tx, ty = torch.tensor(x_np), torch.tensor(y_np)

    def forward_backward(params, inputs, labels, lib):
        w1, w2, w3, b1, b2, b3 = params
        h = (inputs @ w1.T + b1).relu()
        h = (h @ w2.T + b2).relu()
        logits = h @ w3.T + b3
        log_probs = logits.log_softmax(1)
        loss = -log_probs.gather(1, labels.reshape(-1, 1)).mean()
        loss.backward()
        for p in params:
            p.grad = None
        return loss

    ours_time = best_time(lambda: forward_backward(ours, x, y, cr), repeat=15)
    torch_time = best_time(lambda: forward_backward(theirs, tx, ty, torch), repeat=15)
    rows = [("MLP from tensor ops (x @ W.T + b)", ours_time, torch_time)]

    import chainrule.nn as cnn

    def build(nn):
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))

    ours_model, torch_model = build(cnn), build(torch.nn)
    ours_model.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in torch_model.state_dict().items()})
    ours_loss, torch_loss = cnn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()

    def module_step(model, loss_fn, inputs, labels):
        loss_fn(model(inputs), labels).backward()
        for p in model.parameters():
            p.grad = None

    rows.append(("MLP from nn.Linear + CrossEntropyLoss", best_time(lambda: module_step(ours_model, ours_loss, x, y), repeat=15),
                 best_time(lambda: module_step(torch_model, torch_loss, tx, ty), repeat=15)))
    report(rows, "MLP 784-512-512-10, batch 128, forward and backward (float32)")
    return rows


if __name__ == "__main__":
    print(f"numpy {numpy.__version__}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    chain_overhead()
    per_op_overhead()
    mlp()
