"""Collectives on tensors: every rank calls the same function in the same order, and MPI moves the data.

Each works on the tensor's own array (MPI reads and writes the buffer; nothing is
pickled) and, with ``async_op=True``, returns a ``Work`` whose ``wait()`` finishes
it, so computation can go on while the message travels. With one rank each is a
copy at most.

| collective | rank r holds afterwards |
|---|---|
| ``all_reduce(x, op)``            | x = op over ranks of x_s (sum, mean, max, min, product) |
| ``broadcast(x, src)``            | x = x_src |
| ``all_gather(xs, x)``            | xs[s] = x_s for every s |
| ``reduce_scatter(y, xs, op)``    | y = op over ranks of xs_s[r] |
| ``gather(x, xs, dst)``           | (on dst) xs[s] = x_s |
| ``scatter(x, xs, src)``          | x = xs_src[r] |

**The order of a sum.** Floating-point addition is not associative, and MPI chooses
its allreduce algorithm (ring, recursive doubling, reduce-scatter + allgather) by
message size and rank count, so MPI promises no fixed order. ``all_reduce(x,
ordered=True)`` fixes it: an Alltoall hands rank r the r-th chunk of every rank's
buffer, rank r adds those chunks in rank order 0, 1, ..., N−1, and an Allgather
hands every rank all the summed chunks. It moves the same bytes as a ring
allreduce, 2(N−1)/N · n, and the result is the same bits on every rank and in every
run. ``DistributedDataParallel`` reduces gradients this way by default.
"""
import json

import numpy

from chainrule.core.tensor import Tensor
from chainrule.distributed.process_group import group

__all__ = ["ReduceOp", "Work", "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "reduce_scatter",
           "reduce_scatter_tensor", "gather", "scatter", "allgather_rows", "allgather_json"]


class ReduceOp:
    """The reductions of ``all_reduce`` and ``reduce_scatter``: SUM, AVG (also MEAN), PRODUCT, MIN, MAX.

    Strings work too: ``'sum'``, ``'mean'``/``'avg'``, ``'product'``, ``'min'``, ``'max'``.

    Example:
        >>> ReduceOp.SUM, ReduceOp.MEAN
        ('sum', 'avg')
    """

    SUM = "sum"
    AVG = "avg"
    MEAN = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


_OP_NAMES = {"sum": "sum", "avg": "avg", "mean": "avg", "product": "product", "prod": "product", "min": "min",
             "max": "max"}
_UFUNCS = {"sum": numpy.add, "avg": numpy.add, "product": numpy.multiply, "min": numpy.minimum, "max": numpy.maximum}


def _op_name(op, caller):
    name = _OP_NAMES.get(str(op).lower())
    if name is None:
        raise ValueError(f"{caller}: unknown reduction {op!r}; use ReduceOp.SUM, AVG (MEAN), PRODUCT, MIN or MAX")
    return name


def _mpi_op(name):
    from mpi4py import MPI

    return {"sum": MPI.SUM, "avg": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX}[name]


def _check_tensor(tensor, caller, what="tensor"):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{caller}: {what} must be a chainrule Tensor, got {type(tensor).__name__}")
    return tensor


def _buffer(tensor):
    """The array MPI may read and write in place: the tensor's own, or a contiguous copy written back later."""
    data = tensor.array
    if data.flags.c_contiguous and data.flags.writeable:
        return data, False
    return numpy.ascontiguousarray(data), True


class Work:
    """A collective in flight (``async_op=True``): ``wait()`` blocks until it is done, ``is_completed()`` asks.

    ``finish`` runs once the messages have arrived (copy results into place, divide for a
    mean), so that after ``wait()`` the tensors hold the result.

    Example:
        >>> import chainrule as cr, chainrule.distributed as dist
        >>> _ = dist.init_process_group()
        >>> x = cr.tensor([1.0, 2.0])
        >>> work = dist.all_reduce(x, async_op=True)
        >>> _ = work.wait(); x
        tensor([1., 2.])
    """

    def __init__(self, requests=(), finish=None):
        self._requests = list(requests)
        self._finish = finish
        self._done = False

    def is_completed(self):
        """True once the collective has finished (it then also runs the finishing step)."""
        if self._done:
            return True
        from mpi4py import MPI

        if not self._requests or MPI.Request.Testall(self._requests):
            self._complete()
        return self._done

    def wait(self):
        """Block until the collective has finished; the tensors then hold its result. Returns True."""
        if not self._done:
            if self._requests:
                from mpi4py import MPI

                MPI.Request.Waitall(self._requests)
            self._complete()
        return True

    def _complete(self):
        self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()


class OrderedAllreduce(Work):
    """An allreduce whose sum has a fixed order: Alltoall, reduce in rank order, Allgather (see the module doc).

    ``flat`` is a contiguous 1-d array whose length is a multiple of the world size; the
    result replaces it in place on every rank. ``scratch``, an array like ``flat``, receives
    the ranks' chunks (pass one to reuse it; DDP's buckets keep theirs). Two phases run as
    non-blocking MPI calls; ``is_completed()`` moves from the first to the second when the
    first has arrived, so calling it now and then (as DDP does between gradients) keeps
    the reduction moving.
    """

    def __init__(self, comm, flat, op_name, finish=None, scratch=None):
        super().__init__(finish=finish)
        self._comm, self._flat, self._op_name = comm, flat, op_name
        size = comm.Get_size()
        if flat.ndim != 1 or flat.shape[0] % size:
            raise ValueError(f"OrderedAllreduce: the buffer must be 1-d with a length divisible by the world size "
                             f"{size}, got shape {flat.shape}")
        if scratch is None:
            scratch = numpy.empty_like(flat)
        self._chunks = scratch.reshape(size, flat.shape[0] // size)
        self._reduced = None
        self._requests = [comm.Ialltoall(flat, self._chunks)]

    def _reduce_own_chunk(self):
        """Rank r's chunk of the result: the ranks' r-th chunks combined in rank order 0, 1, ..., N−1."""
        ufunc = _UFUNCS[self._op_name]
        reduced = self._chunks[0]  # rank 0's chunk, then += rank 1's, += rank 2's, ... in place
        for row in self._chunks[1:]:
            ufunc(reduced, row, out=reduced)
        self._reduced = reduced
        self._requests = [self._comm.Iallgather(reduced, self._flat)]

    def is_completed(self):
        if self._done:
            return True
        from mpi4py import MPI

        if MPI.Request.Testall(self._requests):
            if self._reduced is None:
                self._reduce_own_chunk()
            else:
                self._complete()
        return self._done

    def wait(self):
        from mpi4py import MPI

        if not self._done:
            MPI.Request.Waitall(self._requests)
            if self._reduced is None:
                self._reduce_own_chunk()
                MPI.Request.Waitall(self._requests)
            self._complete()
        return True


def _finish_all(*steps):
    steps = [step for step in steps if step is not None]
    if not steps:
        return None

    def finish():
        for step in steps:
            step()
    return finish


def _write_back(tensor, array):
    def write():
        tensor.array[...] = array
    return write


def _mean_step(array, size, op_name):
    if op_name != "avg":
        return None

    def divide():
        numpy.divide(array, size, out=array)
    return divide


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False, ordered=False):
    r"""Reduce ``tensor`` over all ranks, in place: every rank ends with :math:`x \leftarrow \bigoplus_{s=0}^{N-1} x_s`.

    ``op`` is sum, mean (:math:`\frac1N\sum_s x_s`), product, min or max. ``ordered=True``
    combines the ranks' values in rank order (Alltoall, ordered sum, Allgather: the same
    bits in every run; see the module doc) instead of MPI's algorithm of choice.
    Returns a ``Work`` with ``async_op=True``, else None.

    Example (one rank: the sum of one value is itself):
        >>> import chainrule as cr, chainrule.distributed as dist
        >>> _ = dist.init_process_group()
        >>> x = cr.tensor([1.0, -2.0, 3.0])
        >>> dist.all_reduce(x, op="max"); x
        tensor([ 1., -2.,  3.])
    """
    caller = "all_reduce"
    _check_tensor(tensor, caller)
    op_name = _op_name(op, caller)
    if op_name == "avg" and tensor.dtype.kind not in "fc":
        raise TypeError(f"{caller}: op=mean needs a floating tensor, got {tensor.dtype}; use op=sum and divide")
    process_group = group or _current()
    comm, size = process_group.comm, process_group.size
    array, copied = _buffer(tensor)
    write_back = _write_back(tensor, array) if copied else None
    if size == 1:
        return _done(async_op)
    if ordered:
        flat_length = -(-array.size // size) * size  # the chunks of the Alltoall must be equal: pad with zeros
        if flat_length == array.size:
            flat, unpad = array.reshape(-1), None  # a view: the result lands in the tensor's buffer
        else:
            flat = numpy.zeros(flat_length, dtype=array.dtype)
            flat[:array.size] = array.reshape(-1)
            unpad = _copy_prefix(flat, array)
        work = OrderedAllreduce(comm, flat, op_name,
                                finish=_finish_all(unpad, _mean_step(array, size, op_name), write_back))
        if not async_op:
            work.wait()
            return None
        return work
    from mpi4py import MPI

    finish = _finish_all(_mean_step(array, size, op_name), write_back)
    if not async_op:
        comm.Allreduce(MPI.IN_PLACE, array, _mpi_op(op_name))
        if finish:
            finish()
        return None
    return Work([comm.Iallreduce(MPI.IN_PLACE, array, _mpi_op(op_name))], finish)


def _copy_prefix(flat, array):
    def copy():
        array.reshape(-1)[...] = flat[:array.size]
    return copy


def _current():
    return group()


def _done(async_op):
    return Work() if async_op else None


def broadcast(tensor, src=0, group=None, async_op=False):
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``: :math:`x_r \\leftarrow x_{src}`.

    Example:
        >>> import chainrule as cr, chainrule.distributed as dist
        >>> _ = dist.init_process_group()
        >>> x = cr.tensor([4.0, 5.0]); dist.broadcast(x, src=0); x
        tensor([4., 5.])
    """
    caller = "broadcast"
    _check_tensor(tensor, caller)
    process_group = group or _current()
    _check_rank(src, process_group, caller, "src")
    if process_group.size == 1:
        return _done(async_op)
    array, copied = _buffer(tensor)
    finish = _write_back(tensor, array) if copied else None
    if not async_op:
        process_group.comm.Bcast(array, root=src)
        if finish:
            finish()
        return None
    return Work([process_group.comm.Ibcast(array, root=src)], finish)


def _check_rank(rank, process_group, caller, what):
    if isinstance(rank, bool) or not isinstance(rank, (int, numpy.integer)) or not 0 <= rank < process_group.size:
        raise ValueError(f"{caller}: {what} must be a rank in 0..{process_group.size - 1}, got {rank!r}")


def _check_list(tensors, like, size, caller, what):
    tensors = list(tensors)
    if len(tensors) != size:
        raise ValueError(f"{caller}: {what} must hold one tensor per rank ({size}), got {len(tensors)}")
    for index, item in enumerate(tensors):
        _check_tensor(item, caller, f"{what}[{index}]")
        if item.shape != like.shape or item.dtype != like.dtype:
            raise ValueError(f"{caller}: {what}[{index}] has shape {item.shape} and dtype {item.dtype}, but the tensor "
                             f"has shape {like.shape} and dtype {like.dtype}; they must match")
    return tensors


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Every rank's ``tensor`` into every rank's ``tensor_list``: ``tensor_list[s] ← x_s``.

    Example:
        >>> import chainrule as cr, chainrule.distributed as dist
        >>> _ = dist.init_process_group()
        >>> parts = [cr.zeros(2)]; dist.all_gather(parts, cr.tensor([1.0, 2.0])); parts
        [tensor([1., 2.])]
    """
    caller = "all_gather"
    _check_tensor(tensor, caller)
    process_group = group or _current()
    tensor_list = _check_list(tensor_list, tensor, process_group.size, caller, "tensor_list")
    gathered = numpy.empty((process_group.size,) + tensor.shape, dtype=tensor.dtype)

    def scatter_into_list():
        for item, part in zip(tensor_list, gathered):
            item.array[...] = part
    return _run(process_group, "Allgather", (numpy.ascontiguousarray(tensor.array), gathered), scatter_into_list,
                async_op)


def all_gather_into_tensor(output, tensor, group=None, async_op=False):
    """Every rank's ``tensor`` stacked along dim 0 into ``output`` (shape (N·n₀, ...)): ``output[s·n₀:(s+1)·n₀] ← x_s``.

    Example:
        >>> import chainrule as cr, chainrule.distributed as dist
        >>> _ = dist.init_process_group()
        >>> out = cr.zeros(2); dist.all_gather_into_tensor(out, cr.tensor([3.0, 4.0])); out
        tensor([3., 4.])
    """
    caller = "all_gather_into_tensor"
    _check_tensor(tensor, caller)
    _check_tensor(output, caller, "output")
    process_group = group or _current()
    expected = (process_group.size * (tensor.shape[0] if tensor.ndim else 1),) + tensor.shape[1:]
    if output.shape != expected or output.dtype != tensor.dtype:
        raise ValueError(f"{caller}: output must have shape {expected} and dtype {tensor.dtype} for {process_group.size} "
                         f"ranks of shape {tensor.shape}, got {output.shape} {output.dtype}")
    array, copied = _buffer(output)
    return _run(process_group, "Allgather", (numpy.ascontiguousarray(tensor.array), array),
                _write_back(output, array) if copied else None, async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    r"""Reduce ``input_list`` over ranks and give rank r the r-th part: :math:`y_r \leftarrow \bigoplus_s \text{input\_list}_s[r]`.

    Example:
        >>> import chainrule as cr, chainrule.distributed as dist
        >>> _ = dist.init_process_group()
        >>> out = cr.zeros(2); dist.reduce_scatter(out, [cr.tensor([1.0, 2.0])]); out
        tensor([1., 2.])
    """
    caller = "reduce_scatter"
    _check_tensor(output, caller, "output")
    process_group = group or _current()
    input_list = _check_list(input_list, output, process_group.size, caller, "input_list")
    stacked = numpy.stack([numpy.asarray(item.array) for item in input_list])
    return reduce_scatter_tensor(output, Tensor._wrap(stacked.reshape((-1,) + output.shape[1:]) if output.ndim
                                                      else stacked), op, process_group, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    r"""Reduce ``input`` (shape (N·n₀, ...)) over ranks and give rank r rows r·n₀ … (r+1)·n₀ − 1 of the result.

    Example:
        >>> import chainrule as cr, chainrule.distributed as dist
        >>> _ = dist.init_process_group()
        >>> out = cr.zeros(2); dist.reduce_scatter_tensor(out, cr.tensor([5.0, 6.0]), op="mean"); out
        tensor([5., 6.])
    """
    caller = "reduce_scatter_tensor"
    _check_tensor(output, caller, "output")
    _check_tensor(input, caller, "input")
    op_name = _op_name(op, caller)
    process_group = group or _current()
    if input.numel() != process_group.size * output.numel() or input.dtype != output.dtype:
        raise ValueError(f"{caller}: input must hold world size ({process_group.size}) × output's {output.numel()} "
                         f"values of dtype {output.dtype}, got shape {input.shape} {input.dtype}")
    if op_name == "avg" and output.dtype.kind not in "fc":
        raise TypeError(f"{caller}: op=mean needs a floating tensor, got {output.dtype}")
    array, copied = _buffer(output)
    finish = _finish_all(_mean_step(array, process_group.size, op_name), _write_back(output, array) if copied else None)
    return _run(process_group, "Reduce_scatter_block", (numpy.ascontiguousarray(input.array), array, _mpi_op(op_name)),
                finish, async_op)


def _root_list(tensors, like, process_group, root, caller, what, role):
    """The list that only the root rank passes (checked: one tensor per rank, like ``like``); None elsewhere."""
    _check_rank(root, process_group, caller, role)
    if process_group.rank == root:
        if tensors is None:
            raise ValueError(f"{caller}: rank {root} ({role}) must pass {what}, one tensor per rank")
        return _check_list(tensors, like, process_group.size, caller, what)
    if tensors is not None:
        raise ValueError(f"{caller}: only rank {role}={root} passes a {what}; rank {process_group.rank} must pass None")
    return None


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    """Every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (the others pass None): ``gather_list[s] ← x_s``.

    Example:
        >>> import chainrule as cr, chainrule.distributed as dist
        >>> _ = dist.init_process_group()
        >>> parts = [cr.zeros(1)]; dist.gather(cr.tensor([7.0]), parts, dst=0); parts
        [tensor([7.])]
    """
    caller = "gather"
    _check_tensor(tensor, caller)
    process_group = group or _current()
    gather_list = _root_list(gather_list, tensor, process_group, dst, caller, "gather_list", "dst")
    receiving = process_group.rank == dst
    gathered = numpy.empty((process_group.size,) + tensor.shape, dtype=tensor.dtype) if receiving else None

    def scatter_into_list():
        if receiving:
            for item, part in zip(gather_list, gathered):
                item.array[...] = part
    return _run(process_group, "Gather", (numpy.ascontiguousarray(tensor.array), gathered), scatter_into_list,
                async_op, root=dst)


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    """Rank ``src``'s ``scatter_list[r]`` into rank r's ``tensor`` (the others pass None): :math:`x_r ← \\text{list}_{src}[r]`.

    Example:
        >>> import chainrule as cr, chainrule.distributed as dist
        >>> _ = dist.init_process_group()
        >>> x = cr.zeros(2); dist.scatter(x, [cr.tensor([8.0, 9.0])], src=0); x
        tensor([8., 9.])
    """
    caller = "scatter"
    _check_tensor(tensor, caller)
    process_group = group or _current()
    scatter_list = _root_list(scatter_list, tensor, process_group, src, caller, "scatter_list", "src")
    source = numpy.stack([numpy.asarray(item.array) for item in scatter_list]) if scatter_list is not None else None
    array, copied = _buffer(tensor)
    return _run(process_group, "Scatter", (source, array), _write_back(tensor, array) if copied else None,
                async_op, root=src)


def _run(process_group, name, arguments, finish, async_op, root=None):
    """Call MPI's ``name`` (blocking) or ``I<name>`` (non-blocking) on the buffers, then ``finish``."""
    comm = process_group.comm
    keywords = {} if root is None else {"root": root}
    if process_group.size == 1:
        _single_rank(name, arguments)
        if finish:
            finish()
        return _done(async_op)
    if not async_op:
        getattr(comm, name)(*arguments, **keywords)
        if finish:
            finish()
        return None
    return Work([getattr(comm, "I" + name.lower())(*arguments, **keywords)], finish)


def _single_rank(name, arguments):
    """What a collective does in a world of one rank: the receive buffer gets the send buffer."""
    send, receive = arguments[0], arguments[1]
    if receive is not None:
        receive.reshape(-1)[...] = send.reshape(-1)


# ----- pooling plain values (no pickle: numbers as arrays, structures as JSON bytes) ------------------
def allgather_rows(array, process_group=None):
    """Every rank's ``array`` (any number of rows, the same trailing shape and dtype) stacked in rank order.

    Example:
        >>> import numpy as np, chainrule.distributed as dist
        >>> _ = dist.init_process_group()
        >>> dist.allgather_rows(np.array([[1, 2], [3, 4]])).tolist()
        [[1, 2], [3, 4]]
    """
    process_group = process_group or _current()
    array = numpy.ascontiguousarray(array)
    if process_group.size == 1:
        return array.copy()
    rows = numpy.zeros(process_group.size, dtype=numpy.int64)
    process_group.comm.Allgather(numpy.array([array.shape[0]], dtype=numpy.int64), rows)
    per_row = int(numpy.prod(array.shape[1:], dtype=numpy.int64))
    gathered = numpy.empty((int(rows.sum()),) + array.shape[1:], dtype=array.dtype)
    process_group.comm.Allgatherv(array, [gathered, (rows * per_row).tolist()])
    return gathered


def allgather_json(value, process_group=None):
    """Every rank's JSON-able ``value``, in rank order; it travels as UTF-8 bytes, never as a pickle.

    Example:
        >>> import chainrule.distributed as dist
        >>> _ = dist.init_process_group()
        >>> dist.allgather_json({"rank": dist.get_rank()})
        [{'rank': 0}]
    """
    process_group = process_group or _current()
    encoded = numpy.frombuffer(json.dumps(value).encode("utf-8"), dtype=numpy.uint8)
    if process_group.size == 1:
        return [json.loads(encoded.tobytes().decode("utf-8"))]
    lengths = numpy.zeros(process_group.size, dtype=numpy.int64)
    process_group.comm.Allgather(numpy.array([encoded.size], dtype=numpy.int64), lengths)
    gathered = numpy.empty(int(lengths.sum()), dtype=numpy.uint8)
    process_group.comm.Allgatherv(encoded, [gathered, lengths.tolist()])
    offsets = numpy.concatenate([[0], numpy.cumsum(lengths)])
    return [json.loads(gathered[offsets[r]:offsets[r + 1]].tobytes().decode("utf-8")) for r in range(len(lengths))]
