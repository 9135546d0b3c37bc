"""Speed of chainrule.nn against PyTorch (CPU, 2 threads), timed side by side in one run.

    .venv/bin/python benchmarks/bench_nn.py

1. Conv2d forward + backward, input 128×32×14×14 float32, 64 output channels, 3×3, padding 1
   (the input requires grad, as in the middle of a network): the median time of each, in
   fresh processes with 1 and with 2 threads (OPENBLAS_NUM_THREADS for NumPy,
   torch.set_num_threads for PyTorch), and the ratio. On a shared machine the 1-thread
   figures are the steadier ones: a 2-thread BLAS whose threads get descheduled slows sharply.
2. Peak memory of one training step of a small CNN on 64 MNIST-sized images: each framework
   runs the step in a fresh process, and the peak resident-set growth during the step is
   read from /proc (VmHWM after the step minus VmRSS before it). For chainrule the
   tracemalloc peak (NumPy's allocations, after a warm-up step) is printed as well.
"""
import gc
import statistics
import time
import tracemalloc

import numpy as np
import torch

import chainrule as cr
import chainrule.nn as nn

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


def conv2d_child():
    """Time Conv2d forward+backward for both frameworks in this process (threads set by the parent)."""
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((128, 32, 14, 14)).astype(np.float32)
    conv = nn.Conv2d(32, 64, 3, padding=1)
    torch_conv = torch.nn.Conv2d(32, 64, 3, padding=1)
    conv.load_state_dict({k: v.detach().numpy() for k, v in torch_conv.state_dict().items()})
    x = cr.tensor(x_np, requires_grad=True)
    torch_x = torch.tensor(x_np, requires_grad=True)

    def ours():
        conv.zero_grad()
        x.grad = None
        conv(x).sum().backward()

    def theirs():
        torch_conv.zero_grad()
        torch_x.grad = None
        torch_conv(torch_x).sum().backward()

    # Interleave the two so that load from other processes hits both alike; keep the best round.
    ours_times, theirs_times = [], []
    for _ in range(4):
        ours_times.append(median_time(ours, repeats=5, warmup=1))
        theirs_times.append(median_time(theirs, repeats=5, warmup=1))
    print(min(ours_times), min(theirs_times))


def bench_conv2d():
    """Run the Conv2d timing in fresh processes with 1 and with 2 BLAS/torch threads."""
    import os
    import subprocess
    import sys

    print("Conv2d 32->64, 3x3, pad 1, input 128x32x14x14 float32, forward+backward (input grad included)")
    for threads in (1, 2):
        environment = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                           MKL_NUM_THREADS=str(threads))
        result = subprocess.run([sys.executable, __file__, "--conv-child", str(threads)], capture_output=True,
                                text=True, check=True, env=environment)
        t_ours, t_theirs = (float(v) for v in result.stdout.split()[-2:])
        print(f"  {threads} thread{'s' if threads > 1 else ' '}: chainrule {t_ours * 1e3:7.2f} ms   torch {t_theirs * 1e3:7.2f} ms"
              f"   ratio chainrule/torch = {t_ours / t_theirs:.2f}")


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


def memory_child(framework):
    """Run in a fresh process: build the model and data, then measure the peak resident-set growth
    of one training step (VmHWM after minus VmRSS before; the peak is reset first via clear_refs)."""
    rng = np.random.default_rng(0)
    images = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, 64)
    if framework == "chainrule":
        model, loss_fn = SmallCNN(), nn.CrossEntropyLoss()
        x, y = cr.tensor(images), cr.tensor(labels)
    else:
        model, loss_fn = torch_small_cnn(), torch.nn.CrossEntropyLoss()
        x, y = torch.tensor(images), torch.tensor(labels)
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")   # reset VmHWM to the current RSS
    before = _status_kib("VmRSS")
    loss_fn(model(x), y).backward()
    print((_status_kib("VmHWM") - before) / 1024)


def bench_memory():
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    images = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, 64)
    model = SmallCNN()
    loss_fn = nn.CrossEntropyLoss()

    def ours():
        model.zero_grad()
        loss_fn(model(cr.tensor(images)), cr.tensor(labels)).backward()

    ours()
    gc.collect()
    tracemalloc.start()
    ours()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    step_time = median_time(ours, repeats=5, warmup=1)

    torch_model = torch_small_cnn()
    torch_loss = torch.nn.CrossEntropyLoss()

    def theirs():
        torch_model.zero_grad()
        torch_loss(torch_model(torch.tensor(images)), torch.tensor(labels)).backward()

    torch_time = median_time(theirs, repeats=5, warmup=1)
    growth = {}
    for framework in ("chainrule", "torch"):
        result = subprocess.run([sys.executable, __file__, "--memory-child", framework], capture_output=True,
                                text=True, check=True)
        growth[framework] = float(result.stdout.split()[-1])
    print("Small CNN training step (2 conv+BN+ReLU+maxpool blocks, linear head), batch 64x1x28x28 float32")
    print(f"  chainrule: peak RSS growth {growth['chainrule']:6.1f} MiB (tracemalloc peak {traced_peak / 2**20:.1f} MiB), "
          f"step {step_time * 1e3:6.1f} ms")
    print(f"  torch:     peak RSS growth {growth['torch']:6.1f} MiB, step {torch_time * 1e3:6.1f} ms")
    print(f"  ratio chainrule/torch: memory {growth['chainrule'] / growth['torch']:.2f}, time {step_time / torch_time:.2f}")


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--memory-child":
        memory_child(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--conv-child":
        torch.set_num_threads(int(sys.argv[2]))
        conv2d_child()
    else:
        bench_conv2d()
        bench_memory()
