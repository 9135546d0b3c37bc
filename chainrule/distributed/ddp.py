r"""DistributedDataParallel: every rank holds the model, and their gradients are averaged during backward.

With N ranks, each computing the loss of its own B/N samples, the gradient of the
whole batch's mean loss is the mean of the ranks' gradients:

.. math:: \nabla_\theta \frac1B \sum_{i=1}^{B} \ell_i
          = \frac1N \sum_{r=0}^{N-1} \nabla_\theta \frac{N}{B} \sum_{i \in \text{shard}_r} \ell_i ,

so after the average every rank holds the same gradient, takes the same optimizer
step, and the replicas stay equal (they start equal: rank 0's parameters and buffers
are broadcast when the model is wrapped).

**Buckets.** Sending one message per parameter would pay the latency α once per
parameter; sending one message at the end would leave the network idle during
backward. DDP packs the gradients into buckets of about ``bucket_cap_mb`` megabytes
(PyTorch's DDP: 25 MB; Horovod calls it tensor fusion), in reverse registration order,
the order in which backward finishes them. Each parameter's
``register_post_accumulate_grad_hook`` copies its final gradient into its bucket; when
a bucket is full, its non-blocking allreduce starts, while backward goes on with the
layers below. When the last bucket has started, the reducer waits for them all in
order and writes the mean back into each ``.grad``, so after ``loss.backward()``
returns the gradients are already averaged and ``optimizer.step()`` needs nothing else.

**A fixed order.** With ``deterministic=True`` (the default) each bucket is reduced by
``collectives.OrderedAllreduce``: the sum of every element is taken in rank order
0, 1, ..., N−1, so two runs of the same N-rank job are bitwise equal, which neither
MPI's allreduce nor PyTorch's DDP promises. ``deterministic=False`` uses MPI's
``Iallreduce``.
"""
import contextlib
import time

import numpy

from chainrule.core.autograd import topological_order
from chainrule.core.grad_mode import is_grad_enabled
from chainrule.core.tensor import Tensor
from chainrule.distributed.collectives import OrderedAllreduce, Work, allgather_json, broadcast
from chainrule.distributed.process_group import group as current_group
from chainrule.nn.module import Module


class DistributedDataParallel(Module):
    r"""Wrap ``module`` for data-parallel training: same parameters on every rank, gradients averaged in backward.

    After ``loss.backward()`` every parameter's ``.grad`` holds :math:`\frac1N\sum_r g_r`, the
    mean of the ranks' gradients, reduced in buckets of ``bucket_cap_mb`` MB that start
    while backward is still running. Wrapping broadcasts rank 0's parameters and buffers
    and first checks that every rank built the same model (names, shapes, dtypes, count).

    Args:
        module: the model (a ``chainrule.nn.Module``).
        bucket_cap_mb: the size of a gradient bucket, in megabytes (2²⁰ bytes).
        broadcast_buffers: copy rank 0's buffers (BatchNorm running statistics) to every
            rank before each training forward, as PyTorch does.
        find_unused_parameters: walk the graph after each forward and count the
            parameters it does not reach as ready (they would otherwise hold their
            bucket back forever).
        deterministic: reduce in rank order (bitwise reproducible); False uses MPI's allreduce.

    ``state_dict()`` and ``load_state_dict()`` are the wrapped module's (no ``module.``
    prefix), so a checkpoint written by N ranks loads into the plain model in one process.

    Example (one rank: the gradients are the local ones):
        >>> import chainrule as cr, chainrule.nn as nn, chainrule.distributed as dist
        >>> _ = dist.init_process_group()
        >>> model = dist.DistributedDataParallel(nn.Linear(3, 1))
        >>> model(cr.ones(4, 3)).sum().backward()
        >>> model.module.bias.grad
        tensor([4.])
    """

    def __init__(self, module, bucket_cap_mb=25.0, broadcast_buffers=True, find_unused_parameters=False,
                 deterministic=True, process_group=None):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be a chainrule.nn.Module, got "
                            f"{type(module).__name__}")
        if isinstance(module, DistributedDataParallel):
            raise TypeError("DistributedDataParallel: the module is already wrapped in DistributedDataParallel")
        if not (isinstance(bucket_cap_mb, (int, float)) and bucket_cap_mb > 0):
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be a positive number, got {bucket_cap_mb!r}")
        self.module = module
        self.process_group = process_group or current_group()
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.require_backward_grad_sync = True
        named = [(name, parameter) for name, parameter in module.named_parameters() if parameter.requires_grad]
        check_same_model(self.process_group, module)
        self._broadcast_state()
        self.reducer = GradientReducer(named, self.process_group, float(bucket_cap_mb), bool(deterministic))

    # ----- forward -------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        sync = self.require_backward_grad_sync and is_grad_enabled() and self.training
        self.reducer.prepare(sync)
        if sync and self.broadcast_buffers and self.process_group.size > 1:
            for _, buffer in self.module.named_buffers():
                broadcast(buffer, src=0, group=self.process_group)
        output = self.module(*args, **kwargs)
        if sync and self.find_unused_parameters:
            self.reducer.mark_unreached(_leaves_reached(output))
        return output

    @contextlib.contextmanager
    def no_sync(self):
        """Inside this block backward only accumulates local gradients; the next backward outside averages them all.

        For gradient accumulation over k micro-batches: k−1 backward passes inside
        ``no_sync()``, the last one outside, then one optimizer step (one reduction, not k).
        """
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ----- state ---------------------------------------------------------------------------------
    def state_dict(self, prefix=""):
        return self.module.state_dict(prefix)

    def load_state_dict(self, state_dict, strict=True):
        return self.module.load_state_dict(state_dict, strict)

    def communication_stats(self):
        """Per synchronized backward, on average: seconds of communication in flight, of it exposed (waited for
        after the compute was done), and the share hidden under backward: 1 − exposed / communication."""
        return self.reducer.stats()

    def _broadcast_state(self):
        if self.process_group.size == 1:
            return
        for _, tensor in list(self.module.named_parameters()) + list(self.module.named_buffers()):
            broadcast(tensor, src=0, group=self.process_group)


def _leaves_reached(output):
    roots = [part for part in _tensors_in(output) if part.requires_grad]
    return {id(tensor) for tensor in topological_order(roots) if tensor._op is None}


def _tensors_in(value):
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [tensor for item in value for tensor in _tensors_in(item)]
    if isinstance(value, dict):
        return [tensor for item in value.values() for tensor in _tensors_in(item)]
    return []


# ----- the check at wrap ------------------------------------------------------------------------
def model_signature(module):
    """[(kind, name, shape, dtype)] of every parameter and buffer: what must agree across ranks."""
    rows = [("parameter", name, list(p.shape), str(p.dtype)) for name, p in module.named_parameters()]
    rows += [("buffer", name, list(b.shape), str(b.dtype)) for name, b in module.named_buffers()]
    return rows


def check_same_model(process_group, module):
    """Raise a ValueError on every rank if the ranks' models differ, naming the first difference.

    The signatures travel as JSON bytes (``allgather_json``); every rank compares all of
    them, so all raise together.
    """
    if process_group.size == 1:
        return
    signatures = allgather_json(model_signature(module), process_group)
    for rank, other in enumerate(signatures[1:], start=1):
        problem = _first_difference(signatures[0], other, rank)
        if problem:
            raise ValueError(f"DistributedDataParallel: the model differs across ranks: {problem}. Every rank must "
                             "build the same model (same code, same arguments) before wrapping it")


def _first_difference(reference, other, rank):
    counts = {kind: (sum(row[0] == kind for row in reference), sum(row[0] == kind for row in other))
              for kind in ("parameter", "buffer")}
    for (kind, name, shape, dtype), (other_kind, other_name, other_shape, other_dtype) in zip(reference, other):
        if (kind, name) != (other_kind, other_name):
            return (f"rank 0 has {kind} '{name}' of shape {tuple(shape)} where rank {rank} has {other_kind} "
                    f"'{other_name}' of shape {tuple(other_shape)}")
        if shape != other_shape or dtype != other_dtype:
            return (f"{kind} '{name}' has shape {tuple(shape)} ({dtype}) on rank 0 but shape {tuple(other_shape)} "
                    f"({other_dtype}) on rank {rank}")
    for kind, (count, other_count) in counts.items():
        if count != other_count:
            extra = (reference if count > other_count else other)[min(len(reference), len(other))]
            return (f"rank 0 has {count} {kind}s, rank {rank} has {other_count} (the first unmatched is "
                    f"'{extra[1]}' of shape {tuple(extra[2])})")
    return None


# ----- the reducer --------------------------------------------------------------------------------
class Bucket:
    """A flat buffer for the gradients of some parameters of one dtype, reduced in one message."""

    def __init__(self, indices, parameters, world_size):
        self.indices = indices  # positions in the reducer's parameter list
        sizes = [parameters[index].numel() for index in indices]
        self.offsets = numpy.concatenate([[0], numpy.cumsum(sizes)]).astype(int).tolist()
        length = -(-self.offsets[-1] // world_size) * world_size  # a multiple of N for the ordered reduction
        self.flat = numpy.zeros(length, dtype=parameters[indices[0]].dtype)
        self.scratch = None  # where the ordered reduction receives the ranks' chunks; made on first use
        self.pending = len(indices)
        self.work = None
        self.started = None
        self.finished = None

    def slot(self, position):
        return self.flat[self.offsets[position]:self.offsets[position + 1]]


class GradientReducer:
    """Hooks on the parameters, buckets of their gradients, and the messages that average them."""

    def __init__(self, named_parameters, process_group, bucket_cap_mb, deterministic):
        self.names = [name for name, _ in named_parameters]
        self.parameters = [parameter for _, parameter in named_parameters]
        self.process_group = process_group
        self.deterministic = deterministic
        self.buckets, self.place = self._make_buckets(bucket_cap_mb * 2**20)
        self.sync = False
        self.touched = False
        self.totals = {"steps": 0, "communication": 0.0, "exposed": 0.0, "bytes": 0}
        self.last = None
        self._reset()
        if process_group.size > 1:
            for index, parameter in enumerate(self.parameters):
                parameter.register_post_accumulate_grad_hook(self._hook_for(index))

    def _make_buckets(self, cap_bytes):
        """Reverse registration order (backward finishes the last layers first), one dtype per bucket."""
        groups, open_by_dtype = [], {}
        for index in reversed(range(len(self.parameters))):
            parameter = self.parameters[index]
            key = str(parameter.dtype)
            current = open_by_dtype.get(key)
            size = parameter.numel() * parameter.element_size()
            if current is None or (current["bytes"] + size > cap_bytes and current["indices"]):
                current = {"indices": [], "bytes": 0}
                open_by_dtype[key] = current
                groups.append(current)
            current["indices"].append(index)
            current["bytes"] += size
        buckets = [Bucket(entry["indices"], self.parameters, self.process_group.size) for entry in groups]
        place = {}
        for bucket_index, bucket in enumerate(buckets):
            for position, index in enumerate(bucket.indices):
                place[index] = (bucket_index, position)
        return buckets, place

    def _hook_for(self, index):
        def gradient_ready(parameter):
            self.on_gradient_ready(index)
        return gradient_ready

    def _reset(self):
        for bucket in self.buckets:
            bucket.pending = len(bucket.indices)
            bucket.work = bucket.started = bucket.finished = None
        self.ready = [False] * len(self.parameters)
        self.unreached = [False] * len(self.parameters)
        self.next_to_launch = 0
        self.touched = False
        self.exposed = 0.0

    def prepare(self, sync):
        """Called by each forward: check that the last synchronized backward finished, then start afresh."""
        if self.sync and self.touched:
            missing = [self.names[index] for index, done in enumerate(self.ready) if not done]
            self._reset()
            raise RuntimeError(
                f"DistributedDataParallel: the last backward gave no gradient to {missing[:8]}"
                f"{' ...' if len(missing) > 8 else ''}, so their bucket was never reduced and the ranks' gradients "
                "were not averaged. Pass find_unused_parameters=True if some parameters are not used in every step, "
                "or set requires_grad=False on those that are never used")
        self._reset()
        self.sync = sync and self.process_group.size > 1

    def mark_unreached(self, reached_ids):
        """Parameters this forward's graph does not reach will get no gradient: they add zeros to the mean."""
        for index, parameter in enumerate(self.parameters):
            if id(parameter) not in reached_ids:
                self.unreached[index] = True
                self.on_gradient_ready(index)

    def on_gradient_ready(self, index):
        if not self.sync or self.ready[index]:
            return
        self.touched = True
        self.ready[index] = True
        bucket_index, position = self.place[index]
        bucket = self.buckets[bucket_index]
        grad = self.parameters[index].grad
        slot = bucket.slot(position)
        if grad is None or self.unreached[index]:
            slot[...] = 0
        else:
            slot[...] = grad.array.reshape(-1)
        bucket.pending -= 1
        self._progress()
        while self.next_to_launch < len(self.buckets) and self.buckets[self.next_to_launch].pending == 0:
            self._launch(self.buckets[self.next_to_launch])
            self.next_to_launch += 1
        if self.next_to_launch == len(self.buckets):
            self._finish()

    def _launch(self, bucket):
        """Start the bucket's non-blocking allreduce (buckets start in index order, the same on every rank)."""
        comm = self.process_group.comm
        bucket.started = time.perf_counter()
        if self.deterministic:
            if bucket.scratch is None:
                bucket.scratch = numpy.empty_like(bucket.flat)
            bucket.work = OrderedAllreduce(comm, bucket.flat, "sum", scratch=bucket.scratch)
        else:
            from mpi4py import MPI

            bucket.work = Work([comm.Iallreduce(MPI.IN_PLACE, bucket.flat, MPI.SUM)])

    def _progress(self):
        """Let MPI move the messages in flight (without a progress thread it moves them only inside MPI calls)."""
        now = time.perf_counter()
        for bucket in self.buckets[:self.next_to_launch]:
            if bucket.finished is None and bucket.work.is_completed():
                bucket.finished = now

    def _finish(self):
        """Wait for every bucket in order, then write the mean into each parameter's .grad."""
        world_size = self.process_group.size
        for bucket in self.buckets:
            if bucket.finished is None:
                waited = time.perf_counter()
                bucket.work.wait()
                bucket.finished = time.perf_counter()
                self.exposed += bucket.finished - waited
            for position, index in enumerate(bucket.indices):
                parameter = self.parameters[index]
                mean = bucket.slot(position).reshape(parameter.shape)
                if parameter.grad is None:
                    if self.unreached[index] and not mean.any():
                        continue  # unused on every rank: no gradient at all, as in PyTorch
                    parameter.grad = Tensor._wrap(numpy.divide(mean, world_size))
                else:
                    numpy.divide(mean, world_size, out=parameter.grad.array)
        self._record()
        self.sync = False

    def _record(self):
        intervals = sorted((bucket.started, bucket.finished) for bucket in self.buckets)
        busy, end = 0.0, None
        for start, stop in intervals:  # the union of the buckets' times in flight
            if end is None or start > end:
                busy += stop - start
                end = stop
            elif stop > end:
                busy += stop - end
                end = stop
        self.last = {"communication": busy, "exposed": self.exposed, "hidden": max(0.0, busy - self.exposed)}
        self.totals["steps"] += 1
        self.totals["communication"] += busy
        self.totals["exposed"] += self.exposed
        self.totals["bytes"] += sum(bucket.flat.nbytes for bucket in self.buckets)

    def stats(self):
        steps = self.totals["steps"]
        if steps == 0:
            return {"steps": 0, "communication_seconds": 0.0, "exposed_seconds": 0.0, "hidden_share": 0.0,
                    "buckets": len(self.buckets), "bytes_per_step": sum(b.flat.nbytes for b in self.buckets)}
        communication = self.totals["communication"] / steps
        exposed = self.totals["exposed"] / steps
        return {"steps": steps, "communication_seconds": communication, "exposed_seconds": exposed,
                "hidden_share": max(0.0, 1.0 - exposed / communication) if communication > 0 else 0.0,
                "buckets": len(self.buckets), "bytes_per_step": self.totals["bytes"] // steps}
