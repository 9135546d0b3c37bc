"""Data-parallel training over MPI: the process group, collectives on tensors, DistributedDataParallel.

Start N copies of a program with ``mpiexec -n N python train.py`` (or ``mpiexec -n N
chainrule train``); each copy is a rank. Every rank holds the whole model, trains on
its own shard of each batch, and the ranks average their gradients before every
optimizer step, so N ranks with batch B/N each take the same steps as one process
with batch B. See docs/distributed.md.

mpi4py is optional: this package imports without it, and ``init_process_group()``
says how to install it (``pip install 'chainrule[mpi]'``).
"""
from chainrule.distributed.collectives import (
    ReduceOp, Work, all_gather, all_gather_into_tensor, all_reduce, allgather_json, allgather_rows, broadcast, gather,
    reduce_scatter, reduce_scatter_tensor, scatter,
)
from chainrule.distributed.ddp import DistributedDataParallel
from chainrule.distributed.scaling import (
    ScalingMeasurement, allreduce_seconds, expected_speedup, fit_alpha_beta, measure, plot_scaling,
)
from chainrule.distributed.sampler import DistributedSampler, EvaluationSampler
from chainrule.distributed.sync_batchnorm import SyncBatchNorm, all_reduce_sum, convert_sync_batchnorm
from chainrule.distributed.process_group import (
    ProcessGroup, barrier, destroy_process_group, get_rank, get_world_size, init_process_group, is_available,
    is_initialized, launched_world_size,
)

__all__ = [
    "DistributedDataParallel", "DistributedSampler", "EvaluationSampler", "ProcessGroup", "ReduceOp", "SyncBatchNorm", "Work",
    "all_gather", "all_gather_into_tensor", "all_reduce", "all_reduce_sum", "allgather_json", "allgather_rows",
    "barrier", "broadcast", "convert_sync_batchnorm", "destroy_process_group", "gather", "get_rank",
    "get_world_size", "init_process_group", "is_available", "is_initialized", "launched_world_size",
    "reduce_scatter", "reduce_scatter_tensor", "scatter", "ScalingMeasurement", "allreduce_seconds",
    "expected_speedup", "fit_alpha_beta", "measure", "plot_scaling",
]
