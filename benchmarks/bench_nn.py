"""Speed of chainrule.nn against PyTorch (CPU, 2 threads), timed side by side in one run.

    .venv/bin/python benchmarks/bench_nn.py

1. Conv2d forward + backward, input 128×32×14×14 float32, 64 output channels, 3×3, padding 1
   (the input requires grad, as in the middle of a network): the median time of each, in
   fresh processes with 1 and with 2 threads (OPENBLAS_NUM_THREADS for NumPy,
   torch.set_num_threads for PyTorch, and kernels.winograd.LANES for the Winograd loops),
   and the ratio. chainrule runs the path its chooser
   takes (Winograd F(4×4, 3×3) here, ops/convolution.py: winograd_tile), and each path
   forced is timed beside it (im2col, Winograd). On a shared machine the 1-thread
   figures are the steadier ones: a 2-thread BLAS whose threads get descheduled slows sharply.
   Beside them, the three matrix products of im2col (forward, weight gradient, column
   gradient) timed alone with NumPy's BLAS: the floor of any im2col + GEMM convolution here;
   and the float32 error of each path (output, input and weight gradient) against float64
   (a direct convolution for the output, PyTorch's float64 autograd for the gradients).
2. One training step (forward, backward, Adam) of a small CNN on 128 MNIST-sized images: its time,
   in fresh processes with 1 and with 2 threads as above, and its peak memory: each
   framework runs the step in a fresh process, and the peak resident-set growth during the
   step is read from /proc (VmHWM after the step minus VmRSS before it), twice: with the
   libraries' code loaded first (a one-image step, and for chainrule its compiled Winograd
   transforms, which a one-image batch does not choose), so that the figure is the step's
   arrays; and cold, the first step of the process, where loading numba's compiled code
   (about 110 MiB) and PyTorch's lazily initialized kernels count too. For chainrule the
   tracemalloc peak (NumPy's allocations, after a warm-up step) is printed as well.
3. A full training step of the MLP 784-512-512-10, batch 128 (forward, cross-entropy, backward,
   Adam), one thread, and the same ratio at widths 256, 1024, 4096 and batches 32, 256, 2048
   (``bench_nn.py --mlp`` runs only this part).

Timings interleave the two frameworks and keep the best of four rounds (each the median of
five steps), so load from other processes hits both alike. Note ``uptime`` before trusting the
2-thread figures: with another busy process on a 2-core machine, both BLAS libraries' threads
spin-wait for a descheduled partner and the 2-thread times can exceed the 1-thread ones.
"""
import gc
import statistics
import time
import tracemalloc

import numpy as np
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.ops.convolution as convolution
from chainrule.kernels import winograd
from chainrule.backends import keep_freed_memory

keep_freed_memory()  # as the chainrule command does: freed array pages are reused, not faulted in again

torch.set_num_threads(2)   # the conv children set their own count (1 and 2)


def median_time(step, repeats=15, warmup=3):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _conv_setup():
    torch.manual_seed(0)                     # the same weights in every process
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((128, 32, 14, 14)).astype(np.float32)
    conv = nn.Conv2d(32, 64, 3, padding=1)
    torch_conv = torch.nn.Conv2d(32, 64, 3, padding=1)
    conv.load_state_dict({k: v.detach().numpy() for k, v in torch_conv.state_dict().items()})
    return x_np, conv, torch_conv


def _forced_path(path):
    """Set the conv chooser's threshold so that every eligible shape takes ``path``; returns the old one."""
    previous = convolution.WINOGRAD_MIN_MACS
    convolution.WINOGRAD_MIN_MACS = {"chosen": previous, "im2col": float("inf"), "winograd": 0}[path]
    return previous


def conv2d_child():
    """Time Conv2d forward+backward for both frameworks in this process (threads set by the parent):
    chainrule's chosen path, torch, then chainrule's im2col and Winograd paths forced."""
    x_np, conv, torch_conv = _conv_setup()
    x = cr.tensor(x_np, requires_grad=True)
    torch_x = torch.tensor(x_np, requires_grad=True)

    def ours(path="chosen"):
        previous = _forced_path(path)
        try:
            conv.zero_grad()
            x.grad = None
            conv(x).sum().backward()
        finally:
            convolution.WINOGRAD_MIN_MACS = previous

    def theirs():
        torch_conv.zero_grad()
        torch_x.grad = None
        torch_conv(torch_x).sum().backward()

    times = interleaved_best(ours, theirs, lambda: ours("im2col"), lambda: ours("winograd"))
    print(*times, *gemm_floor(x_np.shape, conv.weight.shape), *winograd_gemm_floor(x_np.shape, conv.weight.shape))


def winograd_gemm_floor(input_shape, weight_shape, tile=4, rounds=4):
    """The three batched products of Winograd F(tile×tile, 3×3) alone: their best time, and their GFLOP.

    Forward U·V, input-tile gradient Uᵀ·M̄ and filter gradient M̄·Vᵀ, with U (α², O, C), V (α², C, T),
    M̄ (α², O, T), α = tile + 2 and T the tiles of a 'same' convolution (``xp.matmul``, as ops/convolution.py).
    """
    batch, channels, height, width = input_shape
    out_channels = weight_shape[0]
    alpha = tile + 2
    tiles = batch * (-(-height // tile)) * (-(-width // tile))
    rng = np.random.default_rng(1)
    filters = rng.standard_normal((alpha * alpha, out_channels, channels)).astype(np.float32)
    input_tiles = rng.standard_normal((alpha * alpha, channels, tiles)).astype(np.float32)
    products_grad = rng.standard_normal((alpha * alpha, out_channels, tiles)).astype(np.float32)

    def three_products():
        np.matmul(filters, input_tiles)
        np.matmul(filters.transpose(0, 2, 1), products_grad)
        np.matmul(products_grad, input_tiles.transpose(0, 2, 1))

    gflop = 3 * 2 * alpha * alpha * out_channels * channels * tiles / 1e9
    return min(median_time(three_products, repeats=5, warmup=1) for _ in range(rounds)), gflop


def conv_path_errors():
    """The float32 max error of each path, output and both gradients, relative to the largest float64 value.

    The float64 references: a direct convolution (nine shifted products) for the output, and
    PyTorch's float64 autograd for the input and weight gradients of ``out.sum()``·ȳ with a random ȳ.
    """
    x_np, conv, torch_conv = _conv_setup()
    x_np, weight_np, bias_np = x_np[:32], conv.weight.array, conv.bias.array   # 32 images: the same layer, less time
    padded = np.pad(x_np.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    direct = np.zeros((32, 64, 14, 14)) + bias_np.astype(np.float64)[:, None, None]
    for kh in range(3):
        for kw in range(3):
            direct += np.einsum("oc,nchw->nohw", weight_np[:, :, kh, kw].astype(np.float64),
                                padded[:, :, kh:kh + 14, kw:kw + 14])
    cotangent = np.random.default_rng(2).standard_normal(direct.shape)
    tx = torch.tensor(x_np, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(weight_np, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.conv2d(tx, tw, torch.tensor(bias_np, dtype=torch.float64), padding=1).backward(
        torch.tensor(cotangent))
    truths = (direct, tx.grad.numpy(), tw.grad.numpy())
    errors = {}
    for path in ("im2col", "winograd", "F(2x2,3x3)"):
        previous = _forced_path("winograd" if path == "F(2x2,3x3)" else path)
        try:
            x = cr.tensor(x_np, requires_grad=True)
            weight = cr.tensor(weight_np, requires_grad=True)
            if path == "F(2x2,3x3)":          # the smaller tile, not chosen (slower): its NumPy transforms
                out = convolution.winograd_conv2d(x, weight, ((1, 1), (1, 1)), tile=2) + cr.tensor(bias_np).reshape(
                    1, -1, 1, 1)
            else:
                out = nn.functional.conv2d(x, weight, cr.tensor(bias_np), padding=1)
            out.backward(cr.tensor(cotangent.astype(np.float32)))
        finally:
            convolution.WINOGRAD_MIN_MACS = previous
        errors[path] = [np.abs(value.astype(np.float64) - truth).max() / np.abs(truth).max()
                        for value, truth in zip((out.detach().numpy(), x.grad.numpy(), weight.grad.numpy()), truths)]
    return errors


def gemm_floor(input_shape, weight_shape, rounds=4):
    """The three matrix products that im2col turns a Conv2d forward+backward into: their best time alone, and their GFLOP.

    Forward W·C, weight gradient Ḡ·Cᵀ and column gradient Wᵀ·Ḡ, with W (O, C·KH·KW), the columns C
    (C·KH·KW, N·H·W) (a stride-1 'same' convolution) and the output gradient Ḡ (O, N·H·W), in the layouts chainrule uses (``xp.dot``).
    Whatever else a convolution does (unfold, fold, transposes) comes on top of this, so it is
    the floor of any im2col + NumPy GEMM convolution on this machine.
    """
    batch, channels, height, width = input_shape
    out_channels, _, kernel_h, kernel_w = weight_shape
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((out_channels, channels * kernel_h * kernel_w)).astype(np.float32)
    columns = rng.standard_normal((channels * kernel_h * kernel_w, batch * height * width)).astype(np.float32)
    out_grad = rng.standard_normal((out_channels, batch * height * width)).astype(np.float32)

    def three_products():
        np.dot(weight, columns)
        np.dot(out_grad, columns.T)
        np.dot(weight.T, out_grad)

    gflop = 3 * 2 * weight.shape[0] * weight.shape[1] * columns.shape[1] / 1e9
    return min(median_time(three_products, repeats=5, warmup=1) for _ in range(rounds)), gflop


def interleaved_best(*steps, rounds=4):
    """Alternate rounds of the steps so that load from other processes hits them alike; keep each one's best round."""
    times = [[] for _ in steps]
    for _ in range(rounds):
        for step, step_times in zip(steps, times):
            step_times.append(median_time(step, repeats=5, warmup=1))
    return tuple(min(step_times) for step_times in times)


def timed_in_children(child_flag):
    """Run ``child_flag``'s timing in fresh processes with 1 and with 2 BLAS/torch threads; print the pairs."""
    import os
    import subprocess
    import sys

    for threads in (1, 2):
        environment = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                           MKL_NUM_THREADS=str(threads))
        result = subprocess.run([sys.executable, __file__, child_flag, str(threads)], capture_output=True,
                                text=True, check=True, env=environment)
        times = [float(v) for v in result.stdout.split()]
        t_ours, t_theirs = times[:2]
        print(f"  {threads} thread{'s' if threads > 1 else ' '}: chainrule {t_ours * 1e3:7.2f} ms   torch {t_theirs * 1e3:7.2f} ms"
              f"   ratio chainrule/torch = {t_ours / t_theirs:.2f}")
        if len(times) == 8:
            t_im2col, t_winograd, gemms, gflop, winograd_gemms, winograd_gflop = times[2:]
            for path, t_path in (("im2col", t_im2col), ("Winograd F(4x4,3x3)", t_winograd)):
                print(f"             path {path:<20} {t_path * 1e3:7.2f} ms   ratio /torch = {t_path / t_theirs:.2f}")
            print(f"             im2col's three GEMMs alone (NumPy's BLAS) {gemms * 1e3:7.2f} ms = {gflop / gemms:.0f} GFLOP/s"
                  f"   ratio GEMMs/torch's whole conv = {gemms / t_theirs:.2f}")
            print(f"             Winograd's three batched GEMMs alone {winograd_gemms * 1e3:7.2f} ms = "
                  f"{winograd_gflop / winograd_gemms:.0f} GFLOP/s   ratio GEMMs/torch's whole conv = "
                  f"{winograd_gemms / t_theirs:.2f}")


def bench_conv2d():
    print("Conv2d 32->64, 3x3, pad 1, input 128x32x14x14 float32, forward+backward (input grad included)")
    timed_in_children("--conv-child")
    print("  float32 max error / max |float64 value|   output     input grad  weight grad")
    for path, errors in conv_path_errors().items():
        print(f"             path {path:<10}             " + "  ".join(f"{e:9.1e}" for e in errors))


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


def torch_small_cnn():
    t = torch.nn
    return t.Sequential(
        t.Conv2d(1, 16, 3, padding=1), t.BatchNorm2d(16), t.ReLU(), t.MaxPool2d(2),
        t.Conv2d(16, 32, 3, padding=1), t.BatchNorm2d(32), t.ReLU(), t.MaxPool2d(2),
        t.Flatten(), t.Linear(32 * 7 * 7, 10),
    )


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_child(framework, load_code_first):
    """Run in a fresh process: build the model and data, then measure the peak resident-set growth
    of one training step (VmHWM after minus VmRSS before; the peak is reset first via clear_refs).
    With ``load_code_first`` a one-image step runs before (and, for chainrule, the Winograd
    transforms the 64-image batch takes), so that code loaded on first use is not counted."""
    rng = np.random.default_rng(0)
    images = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, 64)
    if framework == "chainrule":
        model, loss_fn = SmallCNN(), nn.CrossEntropyLoss()
        x, y = cr.tensor(images), cr.tensor(labels)
        if load_code_first:
            from chainrule.ops.convolution import winograd_conv2d
            winograd_conv2d(cr.zeros(1, 8, 6, 6, requires_grad=True), cr.zeros(8, 8, 3, 3, requires_grad=True),
                            ((1, 1), (1, 1))).sum().backward()
    else:
        model, loss_fn = torch_small_cnn(), torch.nn.CrossEntropyLoss()
        x, y = torch.tensor(images), torch.tensor(labels)
    if load_code_first:
        loss_fn(model(x[:1]), y[:1]).backward()
        model.zero_grad()
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")   # reset VmHWM to the current RSS
    before = _status_kib("VmRSS")
    loss_fn(model(x), y).backward()
    print((_status_kib("VmHWM") - before) / 1024)


def small_cnn_steps():
    """One training step (forward + backward) of the small CNN for each framework, on the same data and weights."""
    rng = np.random.default_rng(0)
    images = rng.standard_normal((128, 1, 28, 28)).astype(np.float32)    # batch 128, as issue 16's row
    labels = rng.integers(0, 10, 128)
    model, loss_fn = SmallCNN(), nn.CrossEntropyLoss()
    torch_model, torch_loss = torch_small_cnn(), torch.nn.CrossEntropyLoss()
    # Same weights: the two state dicts list the same tensors in the same order (only the names differ).
    model.load_state_dict({ours_key: theirs.detach().numpy()
                           for ours_key, theirs in zip(model.state_dict(), torch_model.state_dict().values())})
    optimizer, torch_optimizer = cr.optim.Adam(model.parameters()), torch.optim.Adam(torch_model.parameters())
    optimizer.threads = torch.get_num_threads()   # as many as torch (its Adam may otherwise split over two)

    def ours():
        model.zero_grad()
        loss_fn(model(cr.tensor(images)), cr.tensor(labels)).backward()
        optimizer.step()

    def theirs():
        torch_model.zero_grad()
        torch_loss(torch_model(torch.tensor(images)), torch.tensor(labels)).backward()
        torch_optimizer.step()

    return ours, theirs


def cnn_step_child():
    """Time the small-CNN training step for both frameworks in this process (threads set by the parent)."""
    print(*interleaved_best(*small_cnn_steps()))


def bench_small_cnn():
    import subprocess
    import sys

    print("Small CNN training step (2 conv+BN+ReLU+maxpool blocks, linear head, Adam), batch 128x1x28x28 float32")
    timed_in_children("--cnn-step-child")
    ours, _ = small_cnn_steps()
    ours()
    gc.collect()
    tracemalloc.start()
    ours()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  tracemalloc peak of a chainrule step after a warm-up step: {traced_peak / 2**20:.1f} MiB")
    for mode in ("code loaded", "cold"):
        growth = {}
        for framework in ("chainrule", "torch"):
            result = subprocess.run([sys.executable, __file__, "--memory-child", framework, mode], capture_output=True,
                                    text=True, check=True)
            growth[framework] = float(result.stdout.split()[-1])
        print(f"  peak RSS growth, batch 64, {mode + ':':12} chainrule {growth['chainrule']:6.1f} MiB"
              f"   torch {growth['torch']:6.1f} MiB   ratio chainrule/torch = {growth['chainrule'] / growth['torch']:.2f}")


def mlp_adam_steps(width=512, batch=128):
    """A full training step of the MLP 784-width-width-10 (forward, cross-entropy, backward, Adam step), both frameworks.

    Same weights and data; the gradients are set to None before each step (``zero_grad``'s default in both).
    """
    import chainrule.optim as optim

    rng = np.random.default_rng(0)
    images = rng.standard_normal((batch, 784)).astype(np.float32)
    labels = rng.integers(0, 10, batch)

    def build(library):
        return library.Sequential(library.Linear(784, width), library.ReLU(), library.Linear(width, width),
                                  library.ReLU(), library.Linear(width, 10))

    model, torch_model = build(nn), build(torch.nn)
    model.load_state_dict({k: v.detach().numpy() for k, v in torch_model.state_dict().items()})
    optimizer, torch_optimizer = optim.Adam(model.parameters(), lr=1e-3), torch.optim.Adam(torch_model.parameters(), lr=1e-3)
    optimizer.threads = 1   # one thread, as torch here (chainrule's Adam may otherwise split the update over two)
    loss_fn, torch_loss_fn = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    x, y = cr.tensor(images), cr.tensor(labels)
    tx, ty = torch.tensor(images), torch.tensor(labels)

    def ours():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    def theirs():
        torch_optimizer.zero_grad()
        torch_loss_fn(torch_model(tx), ty).backward()
        torch_optimizer.step()

    return ours, theirs


def bench_mlp_adam():
    """The MLP training step with Adam on one thread, and how the ratio moves with width and batch (goal: <= 0.8x torch)."""
    import os

    from threadpoolctl import threadpool_limits

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cases = [(512, 128, 4), (256, 128, 4), (1024, 128, 3), (4096, 128, 2), (512, 32, 4), (512, 256, 3), (512, 2048, 2)]
    print(f"MLP 784-W-W-10 training step (forward, cross-entropy, backward, Adam), float32, one thread "
          f"(load average {os.getloadavg()[0]:.2f})")
    with threadpool_limits(1):
        for width, batch, rounds in cases:
            ours, theirs = mlp_adam_steps(width, batch)
            repeats = 5 if width * batch <= 512 * 256 else 3
            ours_times, theirs_times = [], []
            for _ in range(rounds):   # alternating rounds, the best of each
                ours_times.append(median_time(ours, repeats=repeats, warmup=1))
                theirs_times.append(median_time(theirs, repeats=repeats, warmup=1))
            t_ours, t_theirs = min(ours_times), min(theirs_times)
            label = "the issue's case" if (width, batch) == (512, 128) else "sweep"
            print(f"  width {width:5d}, batch {batch:5d}: chainrule {t_ours * 1e3:8.2f} ms   torch {t_theirs * 1e3:8.2f} ms"
                  f"   ratio {t_ours / t_theirs:.2f}   ({label})")
    torch.set_num_threads(previous_threads)


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 2 and sys.argv[1] == "--mlp":
        bench_mlp_adam()
    elif len(sys.argv) == 4 and sys.argv[1] == "--memory-child":
        memory_child(sys.argv[2], load_code_first=sys.argv[3] == "code loaded")
    elif len(sys.argv) == 3 and sys.argv[1] in ("--conv-child", "--cnn-step-child"):
        torch.set_num_threads(int(sys.argv[2]))
        winograd.LANES = int(sys.argv[2])    # the Winograd loops split the channels over as many threads
        conv2d_child() if sys.argv[1] == "--conv-child" else cnn_step_child()
    else:
        bench_conv2d()
        bench_small_cnn()
        bench_mlp_adam()
