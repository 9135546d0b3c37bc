r"""Why data parallelism speeds up (or does not): allreduce measured, the α–β model fitted, the speed-up predicted.

Sending n bytes costs about α + n·β: a latency α per message and an inverse bandwidth
β per byte (the Hockney model). A ring allreduce over N ranks passes 2(N−1) messages
of n/N bytes each way around the ring, so

.. math:: t_\text{allreduce}(n) = 2(N-1)\,\alpha + 2\,\frac{N-1}{N}\, n\,\beta .

For large n the cost approaches 2nβ, whatever N: the bytes each rank must send and
receive do not grow with the ranks. One data-parallel step with compute time T on one
process then takes T/N + (1 − h)·t_allreduce(gradient bytes), where h is the share
of the communication hidden under backward, and the speed-up is

.. math:: S(N) = \frac{T}{T/N + (1-h)\, t_\text{allreduce}(n)} .

``measure()`` times allreduce over message sizes on the current ranks (run it under
``mpiexec -n N``), fits α and β by least squares on the relative error (so that 1 KB
counts as much as 64 MB), and prints both; ``plot_scaling`` draws the measured points
against the fit and the speed-up a model should expect.

    mpiexec -n 2 python -m chainrule.distributed --out scaling.png --compute-ms 20
"""
import argparse
import dataclasses
import time

import numpy

DEFAULT_SIZES = tuple(2 ** power for power in range(10, 25, 2))  # 1 KB … 16 MB


def fit_alpha_beta(sizes, seconds, world_size):
    r"""Fit :math:`t(n) = 2(N-1)\alpha + 2\frac{N-1}{N} n \beta` to measured (bytes, seconds); returns (α, β).

    Least squares on the relative residual (t_model − t)/t, so every size weighs alike.

    Example (times made by the model itself come back exactly):
        >>> sizes = [1e3, 1e5, 1e7]
        >>> times = [allreduce_seconds(n, 4, alpha=2e-6, beta=1e-9) for n in sizes]
        >>> alpha, beta = fit_alpha_beta(sizes, times, 4)
        >>> round(alpha * 1e6, 9), round(beta * 1e9, 9)
        (2.0, 1.0)
    """
    if world_size < 2:
        raise ValueError(f"fit_alpha_beta: with {world_size} rank nothing is sent; measure under mpiexec -n 2 or more")
    sizes, seconds = numpy.asarray(sizes, dtype=numpy.float64), numpy.asarray(seconds, dtype=numpy.float64)
    if sizes.shape != seconds.shape or sizes.size < 2 or not numpy.all(seconds > 0):
        raise ValueError(f"fit_alpha_beta: need at least two sizes with positive times, got sizes {sizes.shape} and "
                         f"times {seconds.shape}")
    design = numpy.stack([numpy.full_like(sizes, 2.0 * (world_size - 1)),
                          2.0 * (world_size - 1) / world_size * sizes], axis=1)
    (alpha, beta), *_ = numpy.linalg.lstsq(design / seconds[:, None], numpy.ones_like(seconds), rcond=None)
    return float(alpha), float(beta)


def allreduce_seconds(size_bytes, world_size, alpha, beta):
    r"""The α–β model of a ring allreduce of ``size_bytes`` over N ranks: :math:`2(N-1)\alpha + 2\frac{N-1}{N}n\beta`.

    Example:
        >>> allreduce_seconds(1e6, 2, alpha=1e-5, beta=1e-9)    # 2·1e-5 + 1e6·1e-9
        0.00102
    """
    if world_size <= 1:
        return 0.0
    return 2.0 * (world_size - 1) * alpha + 2.0 * (world_size - 1) / world_size * size_bytes * beta


def expected_speedup(compute_seconds, gradient_bytes, world_size, alpha, beta, hidden_share=0.0):
    r"""The speed-up of N ranks over one process: :math:`S = T / (T/N + (1-h)\,t_\text{allreduce}(n))`.

    ``compute_seconds`` is one process's step time T on the whole batch, ``gradient_bytes``
    the size n of all gradients, ``hidden_share`` the share h of the allreduce hidden under
    backward.

    Example (communication costs nothing: the ideal N):
        >>> expected_speedup(0.1, 4e5, 8, alpha=0.0, beta=0.0)
        8.0
    """
    world_size = numpy.asarray(world_size, dtype=numpy.float64)
    communication = numpy.where(world_size > 1, 2.0 * (world_size - 1) * alpha
                                + 2.0 * (world_size - 1) / world_size * gradient_bytes * beta, 0.0)
    speedup = compute_seconds / (compute_seconds / world_size + (1.0 - hidden_share) * communication)
    return float(speedup) if speedup.ndim == 0 else speedup


@dataclasses.dataclass
class ScalingMeasurement:
    """What ``measure()`` found: message sizes (bytes), allreduce seconds, raw mpi4py's, and the α–β fit.

    ``alpha`` and ``beta`` are None with one rank (no message is sent).

    Example:
        >>> m = ScalingMeasurement(2, [1024, 4096], [1e-5, 2e-5], [1e-5, 2e-5], 4e-6, 1e-9)
        >>> round(m.predict(1e6) * 1e3, 3)     # ms for 1 MB: 2(N−1)α + 2(N−1)/N·nβ
        1.008
    """

    world_size: int
    sizes: list
    seconds: list
    raw_seconds: list
    alpha: float = None
    beta: float = None

    def predict(self, size_bytes):
        """The fitted model's allreduce time for ``size_bytes``."""
        return allreduce_seconds(size_bytes, self.world_size, self.alpha, self.beta)

    def table(self):
        """The measurements as text: size, chainrule's time, raw mpi4py's, bandwidth, the model's time."""
        lines = [f"allreduce on {self.world_size} rank(s) (best of repeats; 'raw' is mpi4py's Allreduce on the "
                 "same NumPy buffer)",
                 f"{'bytes':>10s} {'chainrule':>11s} {'raw mpi4py':>11s} {'ratio':>6s} {'GB/s':>7s} {'α-β model':>10s}"]
        for size, ours, raw in zip(self.sizes, self.seconds, self.raw_seconds):
            model = f"{self.predict(size) * 1e6:8.1f}us" if self.alpha is not None else "-"
            bandwidth = size / ours / 1e9 if ours > 0 else float("inf")
            lines.append(f"{size:>10d} {ours * 1e6:9.1f}us {raw * 1e6:9.1f}us {ours / raw:6.2f} {bandwidth:7.2f} "
                         f"{model:>10s}")
        if self.alpha is not None:
            lines.append(f"fit: alpha = {self.alpha * 1e6:.2f} us (latency per message), beta = {self.beta * 1e9:.4f} "
                         f"ns/byte (1/beta = {1 / self.beta / 1e9:.2f} GB/s)" if self.beta > 0 else
                         f"fit: alpha = {self.alpha * 1e6:.2f} us, beta = {self.beta:.3g} s/byte")
        else:
            lines.append("one rank: nothing is sent, so there is no alpha or beta to fit (run under mpiexec -n 2)")
        return "\n".join(lines)


def measure(sizes=DEFAULT_SIZES, repeats=5, ordered=False, verbose=True, dtype=numpy.float32):
    r"""Time ``all_reduce`` (and raw mpi4py's ``Allreduce``) over message ``sizes`` in bytes; fit α and β; print.

    Every rank must call it. Each size is timed ``repeats`` times after a barrier, each
    time as the slowest rank saw it, and the best kept (as in benchmarks/: on a shared
    machine the slower repeats measure the other programs); the fit is :math:`t(n) = 2(N-1)\alpha + 2\frac{N-1}{N} n\beta`
    (``fit_alpha_beta``). ``ordered=True`` times the rank-ordered reduction instead.
    Returns a ``ScalingMeasurement``; rank 0 prints its table when ``verbose``.

    Example (one rank: no messages, so no fit):
        >>> import chainrule.distributed as dist
        >>> m = dist.measure(sizes=[1024, 4096], repeats=2, verbose=False)
        >>> m.world_size, len(m.seconds), m.alpha
        (1, 2, None)
    """
    from chainrule.core.tensor import Tensor
    from chainrule.distributed.collectives import all_reduce
    from chainrule.distributed.process_group import init_process_group

    process_group = init_process_group()
    comm = process_group.comm
    seconds, raw_seconds = [], []
    for size in sizes:
        buffer = numpy.ones(max(1, int(size) // numpy.dtype(dtype).itemsize), dtype=dtype)
        tensor = Tensor._wrap(buffer)
        ours = _median_time(lambda: all_reduce(tensor, ordered=ordered), comm, repeats)
        raw = _median_time(lambda: _raw_allreduce(comm, buffer), comm, repeats) if process_group.size > 1 else ours
        seconds.append(ours)
        raw_seconds.append(raw)
    sizes = [int(size) for size in sizes]
    alpha = beta = None
    if process_group.size > 1:
        alpha, beta = fit_alpha_beta(sizes, seconds, process_group.size)
    result = ScalingMeasurement(process_group.size, sizes, seconds, raw_seconds, alpha, beta)
    if verbose and process_group.rank == 0:
        print(result.table(), flush=True)
    return result


def _raw_allreduce(comm, buffer):
    from mpi4py import MPI

    comm.Allreduce(MPI.IN_PLACE, buffer, MPI.SUM)


def _median_time(run, comm, repeats):
    """The best over ``repeats`` of the slowest rank's time (the collective is done when the last rank is)."""
    run()  # warm up: the first call of a size sets up MPI's buffers
    times = []
    for _ in range(repeats):
        comm.Barrier()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    slowest = numpy.array(times)
    if comm.Get_size() > 1:
        from mpi4py import MPI

        comm.Allreduce(MPI.IN_PLACE, slowest, MPI.MAX)
    return float(slowest.min())


def plot_scaling(measurement, path, compute_seconds=None, gradient_bytes=423464, hidden_share=0.0,
                 max_ranks=64, title=None):
    """Draw the measured allreduce times against the α–β fit, and the expected speed-up against N; save to ``path``.

    ``compute_seconds`` (one process's step on the whole batch) and ``gradient_bytes``
    (default: the bundled CNN's 105,866 float32 gradients) give the right-hand panel;
    without ``compute_seconds`` only the left one is drawn. Returns the path.

    Example:
        >>> import os, tempfile
        >>> m = ScalingMeasurement(2, [1024, 2**20], [2e-5, 1e-3], [2e-5, 1e-3], *fit_alpha_beta([1024, 2**20], [2e-5, 1e-3], 2))
        >>> os.path.exists(plot_scaling(m, os.path.join(tempfile.mkdtemp(), "scaling.png"), compute_seconds=0.02))
        True
    """
    from matplotlib.figure import Figure

    if measurement.alpha is None:
        raise ValueError("plot_scaling: the measurement has no fit (it ran on one rank); measure under mpiexec -n 2")
    panels = 2 if compute_seconds else 1
    figure = Figure(figsize=(5.2 * panels, 4.2), layout="constrained")
    axes = figure.subplots(1, panels, squeeze=False)[0]
    sizes = numpy.asarray(measurement.sizes, dtype=numpy.float64)
    grid = numpy.geomspace(sizes.min() / 2, sizes.max() * 2, 200)
    left = axes[0]
    left.loglog(sizes, measurement.seconds, "o", label="chainrule all_reduce (measured)")
    left.loglog(sizes, measurement.raw_seconds, "x", color="0.4", label="raw mpi4py Allreduce (measured)")
    left.loglog(grid, [measurement.predict(n) for n in grid], "-", label="α–β fit")
    latency = 2 * (measurement.world_size - 1) * measurement.alpha
    left.axhline(latency, color="0.7", linestyle=":", label=f"latency 2(N−1)α = {latency * 1e6:.1f} µs")
    left.set_xlabel("message size n (bytes)")
    left.set_ylabel("allreduce time (s)")
    left.set_title(f"allreduce on {measurement.world_size} ranks: α = {measurement.alpha * 1e6:.1f} µs, "
                   f"1/β = {1 / measurement.beta / 1e9:.2f} GB/s", fontsize=9)
    left.legend(fontsize=7)
    if compute_seconds:
        right = axes[1]
        ranks = numpy.arange(1, max_ranks + 1)
        right.plot(ranks, ranks, ":", color="0.6", label="ideal: S = N")
        for share in sorted({0.0, float(hidden_share)}):
            speedup = expected_speedup(compute_seconds, gradient_bytes, ranks, measurement.alpha, measurement.beta,
                                       share)
            right.plot(ranks, speedup, "-", label=f"expected, {100 * share:.0f} % hidden")
            best = int(numpy.argmax(speedup))
            right.plot(ranks[best], speedup[best], "o", color=right.lines[-1].get_color())
            right.annotate(f"best N = {ranks[best]}: S = {speedup[best]:.1f}", (ranks[best], speedup[best]),
                           textcoords="offset points", xytext=(6, -12), fontsize=7)
        right.set_xscale("log", base=2)
        right.set_yscale("log", base=2)
        right.set_xlabel("ranks N")
        right.set_ylabel("speed-up S(N)")
        right.set_title(f"a step of {compute_seconds * 1e3:.1f} ms, {gradient_bytes / 2**20:.2f} MB of gradients",
                        fontsize=9)
        right.legend(fontsize=7)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.savefig(path, dpi=100)
    return path


def main(argv=None):
    """``mpiexec -n N python -m chainrule.distributed [--out scaling.png] [--compute-ms T]``."""
    parser = argparse.ArgumentParser(prog="python -m chainrule.distributed",
                                     description="measure allreduce on the MPI world, fit alpha and beta, draw them")
    parser.add_argument("--out", help="where to save the figure (PNG)")
    parser.add_argument("--compute-ms", type=float, help="one process's step time, for the speed-up panel")
    parser.add_argument("--gradient-bytes", type=int, default=423464, help="default: the bundled CNN's gradients")
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args(argv)
    measurement = measure(repeats=arguments.repeats)
    from chainrule.distributed.process_group import get_rank

    if arguments.out and get_rank() == 0:
        plot_scaling(measurement, arguments.out, compute_seconds=(arguments.compute_ms or 0) / 1e3 or None,
                     gradient_bytes=arguments.gradient_bytes)
        print(f"figure: {arguments.out}")
    return 0
