"""Callbacks: code the Trainer calls at fixed points of training, as in Keras.

The hooks, in the order they run::

    on_train_begin(logs)
      on_epoch_begin(epoch, logs)                  epoch counts from 0
        on_batch_begin(batch, logs)                batch counts from 0 within the epoch
          ... forward, loss, backward ...
          on_before_optimizer_step(step, logs)     gradients exist, not yet clipped or applied
        on_batch_end(batch, logs)                  logs: step, epoch, loss, lr
      on_epoch_end(epoch, logs)                    logs: loss, accuracy, val_loss, val_accuracy, lr, ...
    on_train_end(logs)

A callback reaches the trainer as ``self.trainer`` (model, optimizer, history, ...)
and can stop training with ``self.trainer.stop_training = True``. ``set_trainer`` runs
first, before a checkpoint is restored (``ModelCheckpoint`` takes its folder's lock
there); ``release()`` runs if training fails to start, ``on_train_end`` once it ran. A callback with
state that must survive a resume returns it from ``state_dict()`` (JSON-able)
and takes it back in ``load_state_dict``; the trainer stores it in checkpoints.

Example:
    >>> class PrintLoss(Callback):
    ...     def on_epoch_end(self, epoch, logs):
    ...         print(f"epoch {epoch}: loss {logs['loss']:.3f}")
"""
import csv
import io
import json
import math
import os
import pathlib
import sys
import warnings

import numpy

from chainrule.train.checkpoint import CheckpointManager
from chainrule.train.metrics import is_better


class Callback:
    """Base class: every hook does nothing; override the ones you need.

    Example (the Trainer calls the hooks; here they are called by hand):
        >>> from chainrule.train.callbacks import Callback
        >>> class PrintLoss(Callback):
        ...     def on_epoch_end(self, epoch, logs):
        ...         print(f"epoch {epoch}: loss {logs['loss']:.3f}")
        >>> callback = PrintLoss()
        >>> callback.on_batch_end(0, {"loss": 0.5}); callback.on_epoch_end(0, {"loss": 0.25})   # the first does nothing
        epoch 0: loss 0.250
        >>> callback.state_dict()
        {}
    """

    trainer = None

    def set_trainer(self, trainer):
        self.trainer = trainer

    def release(self):
        """Let go of what ``set_trainer`` took, when training fails before it starts (nothing by default)."""

    def on_train_begin(self, logs): pass
    def on_train_end(self, logs): pass
    def on_epoch_begin(self, epoch, logs): pass
    def on_epoch_end(self, epoch, logs): pass
    def on_batch_begin(self, batch, logs): pass
    def on_before_optimizer_step(self, step, logs): pass
    def on_batch_end(self, batch, logs): pass

    def state_dict(self):
        """JSON-able state to carry across a resume (none by default)."""
        return {}

    def load_state_dict(self, state):
        pass


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: print(logs))``.

    Example (the Trainer calls the hooks; here one is called by hand):
        >>> from chainrule.train.callbacks import LambdaCallback
        >>> losses = []
        >>> callback = LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
        >>> callback.on_epoch_end(0, {"loss": 0.25}); callback.on_batch_end(0, {"loss": 0.5})
        >>> losses
        [0.25]
    """

    HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_batch_begin",
             "on_before_optimizer_step", "on_batch_end")

    def __init__(self, **hooks):
        for name, function in hooks.items():
            if name not in self.HOOKS:
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; the hooks are {self.HOOKS}")
            if not callable(function):
                raise TypeError(f"LambdaCallback: {name} must be a function, got {function!r}")
            setattr(self, name, function)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _resolve_mode(monitor, mode, where):
    if mode == "auto":
        mode = "max" if any(word in monitor for word in ("acc", "precision", "recall", "f1", "r2")) else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"{where}: mode must be 'min', 'max' or 'auto', got {mode!r}")
    return mode


class EarlyStopping(Callback):
    r"""Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Improvement for ``mode='min'``: :math:`m < m_{best} - \delta` (``'max'``: :math:`m > m_{best} + \delta`;
    ``'auto'`` picks 'max' for accuracy-like names). The best epoch's weights are
    kept on disk by ``ModelCheckpoint(monitor=...)``.

    Example:
        >>> stopper = EarlyStopping(monitor="val_loss", patience=2)
    """

    def __init__(self, monitor="val_loss", patience=5, mode="auto", min_delta=0.0):
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative integer, got {patience!r}")
        self.monitor = monitor
        self.patience = patience
        self.mode = _resolve_mode(monitor, mode, "EarlyStopping")
        self.min_delta = abs(float(min_delta))
        self.best = None
        self.wait = 0
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs):
        value = logs.get(self.monitor)
        if value is None:
            raise KeyError(f"EarlyStopping: the epoch logs have no {self.monitor!r}; they have {sorted(logs)} "
                           "(val_ metrics need a validation loader)")
        shifted = value + self.min_delta if self.mode == "min" else value - self.min_delta
        if self.best is None or is_better(shifted, self.best, self.mode):
            self.best, self.wait = float(value), 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def state_dict(self):
        return {"best": self.best, "wait": self.wait, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state):
        best, wait, stopped = state["best"], state["wait"], state["stopped_epoch"]
        if best is not None and not (_is_number(best) and math.isfinite(best)):
            raise ValueError(f"EarlyStopping.load_state_dict: best must be a finite number or None, got {best!r}")
        if not _is_count(wait) or not (stopped is None or _is_count(stopped)):
            raise ValueError(f"EarlyStopping.load_state_dict: wait and stopped_epoch must be whole numbers >= 0, got "
                             f"{wait!r} and {stopped!r}")
        self.best, self.wait, self.stopped_epoch = best, wait, stopped


class ModelCheckpoint(Callback):
    """Save the full training state (see ``Trainer.checkpoint_state``) into ``directory``.

    At the end of every ``every_n_epochs``-th epoch and, if ``every_n_steps`` is set,
    every that many optimizer steps within an epoch. Keeps the last ``keep_last``
    checkpoints and the best by ``monitor`` (see ``CheckpointManager``).

    While training it holds the folder's lock, so a second process writing into the
    same folder fails at once. At the start of training, checkpoints later than the
    trainer's step (a run resumed from an older checkpoint) belong to an abandoned
    timeline: they are moved into ``abandoned-…/`` beside the others, and a line says so.

    Example:
        >>> import tempfile
        >>> saver = ModelCheckpoint(tempfile.mkdtemp(), every_n_steps=50, keep_last=2, monitor="val_accuracy")
    """

    def __init__(self, directory, every_n_epochs=1, every_n_steps=None, keep_last=3, monitor="val_loss", mode="auto"):
        for name, value in (("every_n_epochs", every_n_epochs), ("every_n_steps", every_n_steps)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"ModelCheckpoint: {name} must be a positive integer or None, got {value!r}")
        self.every_n_epochs = every_n_epochs
        self.every_n_steps = every_n_steps
        self.monitor = monitor
        self.mode = _resolve_mode(monitor, mode, "ModelCheckpoint") if monitor else "min"
        self.manager = CheckpointManager(directory, keep_last=keep_last, monitor=monitor, mode=self.mode)
        self.last_saved = None
        self.set_aside = []  # the abandoned timeline's checkpoints moved away at the start of training

    def set_trainer(self, trainer):
        super().set_trainer(trainer)
        self.manager.acquire()  # before any callback writes a file: a second writer fails here, at once

    def release(self):
        self.manager.release()

    def on_train_begin(self, logs):
        self.set_aside = self.manager.set_aside_after(self.trainer.step)
        if self.set_aside:
            names = ", ".join(path.name for path in self.set_aside)
            print(f"checkpoints: training goes on from step {self.trainer.step}, so the later checkpoints {names} "
                  f"belong to an abandoned timeline; moved them to {self.set_aside[0].parent}", flush=True)

    def on_train_end(self, logs):
        self.release()

    def save(self, metrics=None):
        tensors, metadata = self.trainer.checkpoint_state()
        self.last_saved = self.manager.save(self.trainer.step, tensors, metadata, metrics=metrics)
        return self.last_saved

    def on_batch_end(self, batch, logs):
        if self.every_n_steps is None or self.trainer.step % self.every_n_steps != 0:
            return
        if self.trainer.batch_in_epoch == self.trainer.batches_per_epoch:
            return  # the last batch: the end-of-epoch checkpoint (after validation) follows at once
        self.save()

    def on_epoch_end(self, epoch, logs):
        if self.every_n_epochs is not None and (epoch + 1) % self.every_n_epochs == 0:
            self.save(metrics={name: value for name, value in logs.items() if isinstance(value, (int, float))})


class _AppendingLog(Callback):
    """A log file written fresh by a new run and continued by a resumed one.

    Its state is the file's length at the checkpoint: a resumed run first cuts the
    file back to that length (dropping lines written after the checkpoint by the run
    that was stopped), so the finished file is byte for byte the uninterrupted run's.
    """

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self._resume_length = None
        self._handle = None

    def on_train_begin(self, logs):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._resume_length is None:
            self._handle = open(self.path, "w", encoding="utf-8", newline="")
            return
        with open(self.path, "r+b") if self.path.exists() else open(self.path, "w+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size < self._resume_length:
                warnings.warn(f"{type(self).__name__}: {self.path} is shorter ({size} bytes) than when the checkpoint "
                              f"was saved ({self._resume_length} bytes); continuing after what is there")
            handle.truncate(min(size, self._resume_length))  # never pads: truncate() past the end would add zeros
        self._handle = open(self.path, "a", encoding="utf-8", newline="")

    def _write(self, text):
        try:
            self._handle.write(text)
            self._handle.flush()
        except OSError as error:  # a full disk: say which file could not be written
            raise OSError(error.errno, error.strerror or str(error), str(self.path)) from error

    def on_train_end(self, logs):
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            self._resume_length = self.path.stat().st_size  # a later fit() on the same trainer appends

    def state_dict(self):
        if self._handle is not None:
            # On disk before the checkpoint that records this length is written.
            try:
                self._handle.flush()
                os.fsync(self._handle.fileno())
            except OSError as error:
                raise OSError(error.errno, error.strerror or str(error), str(self.path)) from error
        return {"length": self.path.stat().st_size if self.path.exists() else 0}

    def load_state_dict(self, state):
        if not _is_count(state["length"]):
            raise ValueError(f"{type(self).__name__}.load_state_dict: length must be a whole number of bytes >= 0, "
                             f"got {state['length']!r}")
        self._resume_length = state["length"]


class CSVLogger(_AppendingLog):
    """One CSV row per epoch with every epoch metric; the columns are those of the first epoch.

    Example:
        >>> import tempfile, os
        >>> logger = CSVLogger(os.path.join(tempfile.mkdtemp(), "log.csv"))
    """

    def __init__(self, path):
        super().__init__(path)
        self.columns = None

    def on_epoch_end(self, epoch, logs):
        buffer = io.StringIO()
        if self.columns is None:
            self.columns = list(logs)
            csv.writer(buffer).writerow(self.columns)
        csv.writer(buffer).writerow([_format_cell(logs.get(name)) for name in self.columns])
        self._write(buffer.getvalue())

    def state_dict(self):
        return {**super().state_dict(), "columns": self.columns}

    def load_state_dict(self, state):
        columns = state["columns"]
        if columns is not None and not (isinstance(columns, list) and all(isinstance(name, str) for name in columns)):
            raise ValueError(f"CSVLogger.load_state_dict: columns must be a list of names or None, got {columns!r}")
        super().load_state_dict(state)
        self.columns = columns


def _format_cell(value):
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


class JSONLLogger(_AppendingLog):
    """One JSON object per line: ``{"kind": "step", ...}`` every ``step_every`` steps and ``{"kind": "epoch", ...}``.

    Example:
        >>> import tempfile, os
        >>> logger = JSONLLogger(os.path.join(tempfile.mkdtemp(), "log.jsonl"), step_every=10)
    """

    def __init__(self, path, step_every=1):
        super().__init__(path)
        if not isinstance(step_every, int) or step_every < 1:
            raise ValueError(f"JSONLLogger: step_every must be a positive integer, got {step_every!r}")
        self.step_every = step_every

    def on_batch_end(self, batch, logs):
        if logs["step"] % self.step_every == 0:
            self._write(json.dumps({"kind": "step", **logs}) + "\n")

    def on_epoch_end(self, epoch, logs):
        self._write(json.dumps({"kind": "epoch", **logs}) + "\n")


class TensorBoardLogger(Callback):
    """Write TensorBoard event files with tensorboardX (optional: ``pip install 'chainrule[tensorboard]'``).

    Scalars: every step's loss and learning rate (``train/loss``, ``train/lr``) and every
    epoch metric (``epoch/<name>``). View with ``tensorboard --logdir <log_dir>``.

    Usage: ``Trainer(model, optimizer, callbacks=[TensorBoardLogger("runs/tb")])``. The constructor
    only checks that tensorboardX is installed; the writer opens in ``on_train_begin``.

    Example (the ``with`` block needs tensorboardX, so doctest skips it):
        >>> import os, tempfile
        >>> from chainrule.train.callbacks import Callback, TensorBoardLogger
        >>> issubclass(TensorBoardLogger, Callback)
        True
        >>> with tempfile.TemporaryDirectory() as log_dir:  # doctest: +SKIP
        ...     logger = TensorBoardLogger(log_dir)
        ...     logger.writer is None, os.listdir(log_dir)           # nothing written yet
        ...     logger.on_train_begin({}); logger.on_epoch_end(0, {"loss": 0.5}); logger.on_train_end({})
        ...     [name.split(".")[0] for name in os.listdir(log_dir)]
        (True, [])
        ['events']
    """

    def __init__(self, log_dir):
        try:
            from tensorboardX import SummaryWriter   # optional: only this logger needs it
        except ImportError:
            raise ImportError("TensorBoardLogger needs the optional package tensorboardX; install it with "
                              "pip install 'chainrule[tensorboard]' (or pip install tensorboardX==2.6.5)") from None
        self.log_dir = str(log_dir)
        self._writer_class = SummaryWriter
        self.writer = None

    def on_train_begin(self, logs):
        self.writer = self._writer_class(self.log_dir)

    def on_batch_end(self, batch, logs):
        self.writer.add_scalar("train/loss", logs["loss"], logs["step"])
        self.writer.add_scalar("train/lr", logs["lr"], logs["step"])

    def on_epoch_end(self, epoch, logs):
        for name, value in logs.items():
            if isinstance(value, (int, float)) and name != "epoch":
                self.writer.add_scalar(f"epoch/{name}", value, epoch + 1)
        self.writer.flush()

    def on_train_end(self, logs):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class GradientNormRecorder(Callback):
    r"""Record each layer's gradient norm :math:`\lVert \nabla_{\theta_\ell} L \rVert_2` every ``every_n_steps`` steps.

    A layer is a module that owns parameters (its weight and bias together). The
    norms are taken before any clipping and go into ``trainer.history.grad_norms``,
    which the report plots: vanishing or exploding gradients show up as curves that
    fall towards zero or shoot up.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn, chainrule.optim
        >>> from chainrule.data import DataLoader, TensorDataset, make_blobs
        >>> X, y = make_blobs(64, seed=0)
        >>> model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
        >>> from chainrule.train import Trainer
        >>> trainer = Trainer(model, cr.optim.SGD(model.parameters(), lr=0.1), callbacks=[GradientNormRecorder()],
        ...                   progress=False)
        >>> norms = trainer.fit(DataLoader(TensorDataset(X, y), batch_size=32), epochs=1).grad_norms
        >>> norms["steps"], sorted(norms["layers"])
        ([1, 2], ['0', '2'])
    """

    def __init__(self, every_n_steps=1):
        if not isinstance(every_n_steps, int) or every_n_steps < 1:
            raise ValueError(f"GradientNormRecorder: every_n_steps must be a positive integer, got {every_n_steps!r}")
        self.every_n_steps = every_n_steps

    def on_before_optimizer_step(self, step, logs):
        if step % self.every_n_steps != 0:
            return
        squares = {}
        for name, parameter in self.trainer.model.named_parameters():
            if parameter.grad is None:
                continue
            layer = name.rsplit(".", 1)[0] if "." in name else name
            gradient = numpy.asarray(parameter.grad.array, dtype=numpy.float64)
            squares[layer] = squares.get(layer, 0.0) + float(numpy.sum(gradient * gradient))
        record = self.trainer.history.grad_norms
        record["steps"].append(step)
        seen = len(record["steps"]) - 1
        for layer, square in squares.items():
            values = record["layers"].setdefault(layer, [None] * seen)
            values.append(math.sqrt(square))
        for layer, values in record["layers"].items():
            if len(values) < len(record["steps"]):
                values.append(None)  # this layer had no gradient at this step


class ProgressBar(Callback):
    """A tqdm bar per epoch with the running loss, accuracy and learning rate.

    Quiet when the output is not a terminal (tqdm's ``disable=None``), so logs and CI
    output stay clean; ``enabled=True`` forces it on, ``False`` off.

    Example:
        >>> import io
        >>> bar = ProgressBar(file=io.StringIO())   # Trainer(..., progress=True) adds one like this itself
    """

    def __init__(self, file=None, enabled=None, mininterval=0.1):
        self.file = file
        self.enabled = enabled
        self.mininterval = mininterval  # seconds between redraws
        self.bar = None

    def on_epoch_begin(self, epoch, logs):
        from tqdm.auto import tqdm   # ~50 ms to import: only a shown progress bar needs it

        trainer = self.trainer
        disable = None if self.enabled is None else not self.enabled
        self.bar = tqdm(total=trainer.batches_per_epoch, initial=trainer.batch_in_epoch,
                        desc=f"epoch {epoch + 1}/{trainer.target_epochs}", unit="batch", leave=False,
                        file=self.file or sys.stderr, disable=disable, dynamic_ncols=True,
                        mininterval=self.mininterval, miniters=1)

    def on_batch_end(self, batch, logs):
        if self.bar is None:
            return
        running = self.trainer.train_accumulator
        postfix = {"loss": f"{running.running_loss():.4f}", "lr": f"{logs['lr']:.2e}"}
        if running.task == "classification":
            postfix["acc"] = f"{running.running_accuracy():.3f}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)

    def on_epoch_end(self, epoch, logs):
        self._close()

    def on_train_end(self, logs):
        self._close()

    def _close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class EpochPrinter(Callback):
    """Print one summary line per epoch (what the ``chainrule train`` command shows).

    Example output: ``epoch 3/8  loss 0.0912  accuracy 0.9714  val_loss 0.0801  val_accuracy 0.9760  lr 2.1e-03``

    Example:
        >>> import sys
        >>> printer = EpochPrinter(file=sys.stdout)
    """

    NAMES = ("loss", "accuracy", "mae", "val_loss", "val_accuracy", "val_mae", "val_r2")

    def __init__(self, file=None):
        self.file = file

    def on_epoch_end(self, epoch, logs):
        parts = [f"epoch {epoch + 1}/{self.trainer.target_epochs}"]
        parts += [f"{name} {logs[name]:.4f}" for name in self.NAMES if isinstance(logs.get(name), float)]
        parts.append(f"lr {logs['lr']:.2e}")
        seconds = self.trainer.epoch_seconds[-1] if self.trainer.epoch_seconds else None
        if seconds is not None:
            parts.append(f"({seconds:.1f}s)")
        print("  ".join(parts), file=self.file or sys.stdout, flush=True)

