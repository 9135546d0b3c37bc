"""``mpiexec -n N chainrule train``: the main job on N ranks, and the Trainer's data-parallel hooks.

What each rank does:

* every rank builds the same job from the same config (data, model, optimizer), wraps
  the model in ``DistributedDataParallel`` (rank 0's weights are broadcast), and
  trains on its shard: a ``DistributedSampler`` deals the seeded global order out by
  stride, with ``batch_size / N`` samples per rank per step, so each step sees the
  same ``batch_size`` samples as one process would;
* after each step the ranks pool the step's outputs, targets and losses
  (``Trainer.batch_reducer``), so every rank's logs and epoch metrics describe the
  whole batch; validation and test sets are split without overlap and their
  metrics merged (``Trainer.metrics_reducer``): accuracy over the whole set;
* only rank 0 prints the progress bar and writes logs, checkpoints, summary and
  report. A checkpoint holds the global step and the position as a count of global
  batches, so ``--resume`` works with any number of ranks whose product
  ``(batch_size / N) · N`` is the same batch.
"""
import contextlib
import dataclasses
import json
import pathlib
import sys
import time

import numpy

from chainrule.core.random import Generator
from chainrule.data import DataLoader
from chainrule.distributed.collectives import allgather_json, allgather_rows
from chainrule.distributed.ddp import DistributedDataParallel
from chainrule.distributed.process_group import get_rank, get_world_size, init_process_group, launched_world_size  # noqa: F401
from chainrule.distributed.sampler import DistributedSampler, EvaluationSampler
from chainrule.train.callbacks import Callback, EarlyStopping
from chainrule.train.checkpoint import CheckpointError, FolderLock, atomic_write_json, load_checkpoint
from chainrule.train.job import Job, TrainConfig, _with_model_file, build_scheduler, default_run_folder, find_checkpoint
from chainrule.train.metrics import MetricAccumulator

# Callbacks every rank keeps: they change the course of training and must decide alike everywhere.
CALLBACKS_ON_EVERY_RANK = (EarlyStopping,)


# ----- pooling values over ranks -------------------------------------------------------------------
class BatchReducer:
    r"""``Trainer.batch_reducer``: a step's outputs and targets from every rank, and the whole batch's mean loss
    :math:`\bar\ell = \sum_r b_r \ell_r / \sum_r b_r`."""

    def __init__(self, process_group):
        self.process_group = process_group

    def __call__(self, outputs, targets, loss):
        targets = targets.numpy() if hasattr(targets, "numpy") else numpy.asarray(targets)
        counts_and_losses = allgather_rows(numpy.array([[len(targets), loss]], dtype=numpy.float64),
                                           self.process_group)
        loss = float((counts_and_losses[:, 0] * counts_and_losses[:, 1]).sum() / counts_and_losses[:, 0].sum())
        return allgather_rows(outputs, self.process_group), allgather_rows(targets, self.process_group), loss


class MetricsReducer:
    """``Trainer.metrics_reducer``: the accumulators of the ranks' evaluation shards merged into one, in rank order."""

    def __init__(self, process_group):
        self.process_group = process_group

    def __call__(self, accumulator):
        states = allgather_json(accumulator.state_dict(), self.process_group)
        merged = dict(states[0])
        merged["num_classes"] = max((state["num_classes"] or 0) for state in states) or None
        merged["loss_sum"] = float(sum(state["loss_sum"] for state in states))
        merged["has_loss"] = any(state["has_loss"] for state in states)
        for key in ("count", "correct"):
            merged[key] = int(sum(state[key] for state in states))
        for key in ("first", "second", "targets"):
            merged[key] = [part for state in states for part in state[key]]
        result = MetricAccumulator(accumulator.task)
        result.load_state_dict(merged)
        return result


def distribute_trainer(trainer, process_group):
    """Give ``trainer`` the hooks that pool its step values and evaluation metrics over the ranks."""
    trainer.batch_reducer = BatchReducer(process_group)
    trainer.metrics_reducer = MetricsReducer(process_group)
    return trainer


class CommunicationTimer(Callback):
    """Measures each step's wall time and, from DDP, its communication: in flight, exposed, hidden under backward."""

    def __init__(self, ddp):
        self.ddp = ddp
        self.started = None
        self.step_seconds = []
        self.timings = []

    def on_batch_begin(self, batch, logs):
        self.started = time.perf_counter()

    def on_batch_end(self, batch, logs):
        self.step_seconds.append(time.perf_counter() - self.started)
        if self.ddp.reducer.last is not None:
            self.timings.append(dict(self.ddp.reducer.last))

    def summary(self):
        """Mean seconds per step of compute (the step minus exposed communication), communication, hidden share."""
        if not self.step_seconds or not self.timings:
            return {}
        step = float(numpy.mean(self.step_seconds))
        communication = float(numpy.mean([timing["communication"] for timing in self.timings]))
        exposed = float(numpy.mean([timing["exposed"] for timing in self.timings]))
        return {"step_seconds": step, "compute_seconds": step - exposed, "communication_seconds": communication,
                "exposed_seconds": exposed,
                "hidden_share": max(0.0, 1.0 - exposed / communication) if communication > 0 else 0.0}


# ----- the job on N ranks -------------------------------------------------------------------------
class DistributedJob(Job):
    """The main job (``chainrule.train.job.Job``) on this rank: sharded data, a DDP model, pooled metrics."""

    def __init__(self, config, folder, progress=None, echo=True, bucket_cap_mb=25.0):
        process_group = init_process_group()
        self.process_group = process_group
        rank, world_size = process_group.rank, process_group.size
        if config.batch_size % world_size:
            raise ValueError(f"batch size {config.batch_size} does not split evenly over {world_size} ranks; choose a "
                             f"multiple of {world_size} (each rank takes batch_size / {world_size} samples per step)")
        super().__init__(config, folder, progress=progress if rank == 0 else False, echo=echo and rank == 0)
        self.writes_files = rank == 0
        train_dataset = self.train_loader.dataset
        self.train_loader = DataLoader(train_dataset, batch_size=config.batch_size // world_size,
                                       sampler=DistributedSampler(train_dataset, world_size, rank, shuffle=True,
                                                                  seed=config.seed),
                                       generator=Generator().manual_seed(config.seed))
        self.full_test_loader = self.test_loader
        self.val_loader = _evaluation_shard(self.val_loader, world_size, rank)
        self.test_loader = _evaluation_shard(self.test_loader, world_size, rank)
        self.scheduler = build_scheduler(config.schedule, self.optimizer, config.lr, config.epochs,
                                         len(self.train_loader))
        self.ddp = DistributedDataParallel(self.model, bucket_cap_mb=bucket_cap_mb)
        self.timer = CommunicationTimer(self.ddp)
        trainer = self.trainer
        trainer.model, trainer.scheduler = self.ddp, self.scheduler
        if rank != 0:
            trainer.callbacks = [callback for callback in trainer.callbacks
                                 if isinstance(callback, CALLBACKS_ON_EVERY_RANK)]
        trainer.callbacks.append(self.timer)
        trainer.checkpoint_extra["sharded"] = True  # its data order is DistributedSampler's: see was_sharded
        distribute_trainer(trainer, process_group)

    def write_report(self, test_metrics, train_seconds):
        sharded, self.test_loader = self.test_loader, self.full_test_loader  # rank 0 draws the whole test set
        try:
            super().write_report(test_metrics, train_seconds)
        finally:
            self.test_loader = sharded

    def extra_facts(self):
        timing = self.timer.summary()
        facts = {"ranks": self.process_group.size,
                 "batch per rank": self.config.batch_size // self.process_group.size}
        if timing:
            facts.update({
                "step time per rank": f"{timing['step_seconds'] * 1e3:.1f} ms",
                "compute per step": f"{timing['compute_seconds'] * 1e3:.1f} ms",
                "communication per step": f"{timing['communication_seconds'] * 1e3:.2f} ms "
                                          f"({self.ddp.reducer.stats()['bytes_per_step'] / 2**20:.2f} MB in "
                                          f"{len(self.ddp.reducer.buckets)} bucket(s))",
                "communication exposed per step": f"{timing['exposed_seconds'] * 1e3:.2f} ms",
                "communication hidden under backward": f"{100 * timing['hidden_share']:.0f} %",
            })
        return facts


def _evaluation_shard(loader, world_size, rank):
    return DataLoader(loader.dataset, batch_size=loader.batch_size,
                      sampler=EvaluationSampler(loader.dataset, world_size, rank))


def run_training(config, progress=None, echo=True):
    """``chainrule.train.job.run_training`` on every rank of the MPI world: rank 0 writes the run folder.

    Example (what ``mpiexec -n 2 chainrule train --out runs/two`` does on each rank)::

        summary = run_training(TrainConfig(out="runs/two"))
    """
    process_group = init_process_group()
    folder = pathlib.Path(config.out) if config.out else pathlib.Path(_agree_on(str(default_run_folder()),
                                                                                process_group))
    config.validate()
    taken = folder.exists() and any(folder.iterdir())
    process_group.comm.Barrier()  # every rank looks before rank 0 writes
    if taken:
        raise FileExistsError(f"output folder {folder} already exists and is not empty; choose another --out, or "
                              f"continue that run with --resume {folder}")
    config = dataclasses.replace(config, out=str(folder))
    job = DistributedJob(config, folder, progress=progress, echo=echo)
    with _writer_lock(folder, process_group):
        if process_group.rank == 0:
            atomic_write_json(folder / "config.json", config.to_dict())
        return job.run()


def resume_training(path, progress=None, echo=True, model_file=None):
    """``chainrule.train.job.resume_training`` on every rank: any number of ranks resumes any run.

    Example::

        summary = resume_training("runs/two")       # mpiexec -n 4 chainrule train --resume runs/two
    """
    path = pathlib.Path(path)
    checkpoint = find_checkpoint(path)
    folder = path if (path / "config.json").exists() else checkpoint.parent.parent
    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"cannot find the run's config.json next to {checkpoint}")
    _check_resumable(checkpoint)
    config = TrainConfig.from_dict(json.loads((folder / "config.json").read_text("utf-8")))
    config.validate()
    config = _with_model_file(dataclasses.replace(config, out=str(folder)), model_file, f"run {folder}")
    process_group = init_process_group()
    with _writer_lock(folder, process_group):
        job = DistributedJob(config, folder, progress=progress, echo=echo)
        return job.run(resume_from=checkpoint)


def _writer_lock(folder, process_group):
    """The run folder's lock, held by rank 0 (the one rank that writes there); a second job on the folder fails."""
    return FolderLock(folder, "run folder") if process_group.rank == 0 else contextlib.nullcontext()


def was_sharded(path):
    """True if the newest checkpoint of run (or checkpoint) ``path`` was written by a data-parallel run.

    Such a run's data order comes from ``DistributedSampler``, so ``chainrule train
    --resume`` continues it on the data-parallel path even with one process.
    """
    try:
        checkpoint = find_checkpoint(path)
    except (CheckpointError, FileNotFoundError):
        return False  # nothing to continue from yet: the one-process path says what to do
    _, metadata = load_checkpoint(checkpoint)
    return bool((metadata.get("extra") or {}).get("sharded"))


def _check_resumable(checkpoint):
    _, metadata = load_checkpoint(checkpoint)
    if not (metadata.get("extra") or {}).get("sharded"):
        raise ValueError(f"checkpoint {checkpoint} was written by a one-process run, whose data order comes from "
                         "its loader's own shuffle; resume it with one process (chainrule train --resume, without "
                         "mpiexec), or start the run under mpiexec to train and resume it on any number of ranks")


def _agree_on(text, process_group):
    """Rank 0's ``text`` on every rank (the default run folder is named by the clock, which ranks read apart)."""
    return allgather_json(text, process_group)[0]


def abort_on_failure(run, *args, **kwargs):
    """Run ``run(*args, **kwargs)``; if it raises on this rank, print the rank and the error and abort every rank.

    An error that stops one rank would otherwise leave the others waiting in their next
    collective (and even ``sys.exit`` waits in MPI's finalize), so a data-parallel
    command turns any failure into ``MPI.COMM_WORLD.Abort(1)``.
    """
    try:
        return run(*args, **kwargs)
    except BaseException as error:  # noqa: B902 - KeyboardInterrupt on one rank must end the others too
        message = " ".join(str(error).split()) or type(error).__name__
        sys.stderr.write(f"chainrule: error on rank {get_rank()}/{get_world_size()}: {message}\n")
        sys.stderr.flush()
        if get_world_size() > 1:  # one rank alone may simply exit with the error
            from mpi4py import MPI

            MPI.COMM_WORLD.Abort(1)
        raise
