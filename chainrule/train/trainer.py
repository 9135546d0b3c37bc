"""The training loop: ``Trainer`` (and ``fit`` for one call), with validation, schedules, clipping, callbacks.

One epoch, step by step (each line is plain code in ``Trainer._run_epoch``)::

    for inputs, targets in train_loader:
        outputs = model(inputs);  loss = loss_fn(outputs, targets)     # forward
        optimizer.zero_grad();    loss.backward()                      # gradients
        clip_grad_norm_(model.parameters(), clip)                      # optional
        optimizer.step()                                               # θ ← update(θ, ∇θ)
        scheduler.step()                                               # per-batch schedules (OneCycleLR, CyclicLR)
    val_metrics = evaluate(val_loader)                                 # no graph, eval mode
    scheduler.step()  /  scheduler.step(val_loss)                      # per-epoch schedules / ReduceLROnPlateau

The whole state of a run (model, optimizer, scheduler, random generators, the
data loader's position, history, callback state, step and epoch counters) goes
into one checkpoint (``checkpoint_state``); ``fit(..., resume_from=path)`` puts it
all back, so a resumed run continues bitwise as if it had never stopped.
"""
import math
import time

import numpy

from chainrule import nn, optim
from chainrule.core.grad_mode import enable_grad, no_grad
from chainrule.core.random import get_rng_state, set_rng_state
from chainrule.core.tensor import Tensor
from chainrule.nn.utils import clip_grad_norm_
from chainrule.train.callbacks import Callback, ProgressBar
from chainrule.train.checkpoint import (
    META_FILE, CheckpointError, check_tensors_fit, decode_state, encode_state, load_checkpoint, referenced_tensors,
)
from chainrule.train.state_check import StateCheck
from chainrule.train.history import History
from chainrule.train.metrics import MetricAccumulator

TASKS = ("classification", "regression")


def _default_loss(task):
    return nn.CrossEntropyLoss() if task == "classification" else nn.MSELoss()


class Trainer:
    """Trains a model with an optimizer on a DataLoader; validates, schedules, clips, calls back, checkpoints.

    Args:
        model: a ``chainrule.nn.Module``.
        optimizer: a ``chainrule.optim`` optimizer over the model's parameters.
        loss_fn: ``loss_fn(outputs, targets)`` → scalar tensor; default cross-entropy for
            ``task='classification'`` (outputs are logits (N, C), targets labels), MSE for
            ``'regression'``.
        scheduler: an ``lr_scheduler`` or None. ``scheduler_interval`` 'batch' steps it after
            every optimizer step, 'epoch' after every epoch; by default the scheduler's own
            ``interval`` ('batch' for OneCycleLR and CyclicLR, else 'epoch'). A scheduler whose
            ``steps_on_metric`` is True (ReduceLROnPlateau) is stepped with
            ``scheduler_monitor`` (default 'val_loss', or 'loss' without validation).
        clip_grad_norm: if set, gradients are scaled to this joint L2 norm at most
            (``chainrule.nn.utils.clip_grad_norm_``) before each step.
        callbacks: a list of ``Callback`` objects (logging, checkpoints, early stopping, ...).

    ``fit`` returns the ``History``. Epoch logs hold ``epoch`` (from 1), ``step``, ``lr``,
    the training ``loss`` and ``accuracy`` (``mae``, ``r2`` for regression) averaged over the
    epoch's batches, and with a validation loader ``val_loss``, ``val_accuracy``,
    ``val_top5_accuracy``, ``val_precision``, ``val_recall``, ``val_f1`` (macro) or
    ``val_mse``, ``val_mae``, ``val_r2``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn, chainrule.optim
        >>> from chainrule.data import DataLoader, TensorDataset, make_blobs
        >>> _ = cr.manual_seed(0)
        >>> X, y = make_blobs(200, n_classes=3, seed=0)
        >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, generator=cr.Generator().manual_seed(0))
        >>> model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
        >>> trainer = Trainer(model, cr.optim.Adam(model.parameters(), lr=0.05), progress=False)
        >>> history = trainer.fit(loader, val_loader=DataLoader(TensorDataset(X, y), batch_size=100), epochs=5)
        >>> history["val_accuracy"][-1] > 0.9
        True
    """

    def __init__(self, model, optimizer, loss_fn=None, task="classification", scheduler=None, scheduler_interval=None,
                 scheduler_monitor="val_loss", clip_grad_norm=None, callbacks=(), progress=True):
        if task not in TASKS:
            raise ValueError(f"Trainer: task must be one of {TASKS}, got {task!r}")
        if not callable(model):
            raise TypeError(f"Trainer: model must be a chainrule.nn.Module, got {type(model).__name__}")
        if not hasattr(optimizer, "step") or not hasattr(optimizer, "param_groups"):
            raise TypeError(f"Trainer: optimizer must be a chainrule.optim optimizer, got {type(optimizer).__name__}")
        if scheduler_interval not in (None, "batch", "epoch"):
            raise ValueError(f"Trainer: scheduler_interval must be 'batch', 'epoch' or None (automatic), got "
                             f"{scheduler_interval!r}")
        if clip_grad_norm is not None and not (isinstance(clip_grad_norm, (int, float)) and clip_grad_norm > 0):
            raise ValueError(f"Trainer: clip_grad_norm must be a positive number or None, got {clip_grad_norm!r}")
        self.model = model
        self.optimizer = optimizer
        self.task = task
        self.loss_fn = loss_fn if loss_fn is not None else _default_loss(task)
        self.scheduler = scheduler
        if scheduler_interval is None and scheduler is not None:
            scheduler_interval = getattr(scheduler, "interval", "epoch")   # the scheduler says: 'batch' or 'epoch'
        self.scheduler_interval = scheduler_interval
        self.scheduler_monitor = scheduler_monitor
        self.clip_grad_norm = clip_grad_norm
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"Trainer: callbacks must be Callback objects, got {type(callback).__name__}")
        if progress:
            self.callbacks.append(ProgressBar())
        self.history = History()
        self.train_accumulator = MetricAccumulator(task)
        self.epoch = 0              # epochs completed
        self.step = 0               # optimizer steps taken
        self.batch_in_epoch = 0     # batches done in the current epoch
        self.batches_per_epoch = 0
        self.target_epochs = 0
        self.stop_training = False
        self.epoch_seconds = []     # wall time of each epoch (not in the logs: those stay deterministic)
        self.checkpoint_extra = {}  # JSON-able data stored with every checkpoint (the CLI puts its config here)
        self.train_loader = None
        self.val_loader = None
        # Extension points for data-parallel runs (chainrule.distributed sets them): batch_reducer(outputs,
        # targets, loss) returns the step's values over every rank, metrics_reducer(accumulator) an
        # evaluation's accumulator merged over every rank, so logs and metrics describe the whole batch.
        self.batch_reducer = None
        self.metrics_reducer = None

    # ----- the loop ----------------------------------------------------------------------------------
    def fit(self, train_loader, val_loader=None, epochs=1, resume_from=None):
        """Train until ``epochs`` epochs are complete (counting those before a resume); return the History.

        ``resume_from`` is a checkpoint folder written by ``ModelCheckpoint``: the whole
        state is restored from it first (see ``load_checkpoint``), and training goes on
        from the batch after the one it was saved at.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"Trainer.fit: epochs must be a positive integer, got {epochs!r}")
        if len(train_loader) == 0:
            raise ValueError("Trainer.fit: the training loader yields no batches (is the dataset empty, or "
                             "batch_size larger than it with drop_last=True?)")
        self.train_loader, self.val_loader = train_loader, val_loader
        self.batches_per_epoch = len(train_loader)
        self.target_epochs = epochs
        try:
            for callback in self.callbacks:
                callback.set_trainer(self)  # ModelCheckpoint takes its folder's lock here, before any file is touched
            if resume_from is not None:
                self.load_checkpoint(resume_from)
            self.stop_training = False
            self._call("on_train_begin", {})
        except BaseException:
            self._call("release")  # training never started: let go of what set_trainer took
            raise
        try:
            while self.epoch < epochs and not self.stop_training:
                self._run_epoch()
        finally:
            self._call("on_train_end", self.history.last)
        return self.history

    def _call(self, hook, *args):
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def _run_epoch(self):
        epoch = self.epoch
        if self.batch_in_epoch == 0:
            self.train_accumulator.reset()
        started = time.perf_counter()
        self._call("on_epoch_begin", epoch, {})
        self.model.train()
        for batch in self.train_loader:
            inputs, targets = _split_batch(batch)
            batch_index = self.batch_in_epoch
            self._call("on_batch_begin", batch_index, {"step": self.step + 1, "epoch": epoch + 1})
            loss_value, outputs, lr = self._train_step(inputs, targets)
            if self.batch_reducer is not None:
                outputs, targets, loss_value = self.batch_reducer(outputs, targets, loss_value)
            self.train_accumulator.update(outputs, targets, loss_value)
            logs = {"step": self.step, "epoch": epoch + 1, "loss": loss_value, "lr": lr}
            self.history.add_step(logs)
            self._call("on_batch_end", batch_index, logs)
            if self.stop_training and self.batch_in_epoch < self.batches_per_epoch:
                return  # a callback asked to stop mid-epoch: the epoch is left unfinished
            # (asked on the last batch, the epoch is finished: validated, logged and checkpointed)
        if self.batch_in_epoch != self.batches_per_epoch:
            raise RuntimeError(f"Trainer: the training loader stopped after {self.batch_in_epoch} of "
                               f"{self.batches_per_epoch} batches; it must yield len(loader) batches per epoch")
        logs = {"epoch": epoch + 1, "step": self.step, "lr": self.current_lr()}
        logs.update(self._train_metrics())
        if self.val_loader is not None:
            logs.update({f"val_{name}": value for name, value in self.evaluate(self.val_loader).items()})
        self.epoch += 1
        self.batch_in_epoch = 0
        self.history.add_epoch(logs)
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            self._step_epoch_scheduler(logs)
        self.epoch_seconds.append(time.perf_counter() - started)
        self._call("on_epoch_end", epoch, logs)

    def _train_step(self, inputs, targets):
        with enable_grad():
            outputs = self.model(inputs)
            loss = self.loss_fn(outputs, _match_targets(outputs, targets, self.task))
        loss_value = float(loss.item())
        if not math.isfinite(loss_value):
            raise FloatingPointError(
                f"Trainer: the loss became {loss_value} at step {self.step + 1} (epoch {self.epoch + 1}); lower the "
                "learning rate, clip the gradients (clip_grad_norm=1.0), or train under cr.detect_anomaly() to find "
                "the op that produced it")
        self.optimizer.zero_grad()
        loss.backward()
        self._call("on_before_optimizer_step", self.step + 1, {"loss": loss_value})
        if self.clip_grad_norm is not None:
            clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
        lr = self.current_lr()
        self.optimizer.step()
        self.step += 1
        self.batch_in_epoch += 1
        if self.scheduler is not None and self.scheduler_interval == "batch":
            self.scheduler.step()
        return loss_value, outputs.detach().numpy(), lr

    def _train_metrics(self):
        computed = self.train_accumulator.compute()
        names = ("loss", "accuracy") if self.task == "classification" else ("loss", "mae", "r2")
        return {name: computed[name] for name in names}

    def _step_epoch_scheduler(self, logs):
        if getattr(self.scheduler, "steps_on_metric", False):
            name = self.scheduler_monitor if self.scheduler_monitor in logs else "loss"
            self.scheduler.step(logs[name])
        else:
            self.scheduler.step()

    def current_lr(self):
        """The learning rate of the first parameter group, as a float."""
        return float(self.optimizer.param_groups[0]["lr"])

    # ----- evaluation and prediction ---------------------------------------------------------------
    def evaluate(self, loader, keep_outputs=False):
        """The loss and metrics over every batch of ``loader``, in eval mode and without a graph; a dict of floats.

        With ``keep_outputs=True``, also the model's outputs and the targets of this process's
        batches, as ``predict`` gives them: ``(metrics, outputs, targets)``, from the one pass.
        """
        accumulator = MetricAccumulator(self.task)
        kept_outputs, kept_targets = [], []
        was_training = getattr(self.model, "training", True)
        self.model.eval()
        try:
            with no_grad():
                for batch in loader:
                    inputs, targets = _split_batch(batch)
                    outputs = self.model(inputs)
                    loss = self.loss_fn(outputs, _match_targets(outputs, targets, self.task))
                    accumulator.update(outputs.numpy(), targets, float(loss.item()))
                    if keep_outputs:
                        kept_outputs.append(outputs.numpy())
                        kept_targets.append(targets.numpy() if isinstance(targets, Tensor) else targets)
        finally:
            self.model.train(was_training)
        if self.metrics_reducer is not None:
            accumulator = self.metrics_reducer(accumulator)
        if accumulator.count == 0:
            raise ValueError("Trainer.evaluate: the loader yielded no batches")
        if keep_outputs:
            return accumulator.compute(), numpy.concatenate(kept_outputs), numpy.concatenate(kept_targets)
        return accumulator.compute()

    def predict(self, loader):
        """The model's outputs for every batch of ``loader`` (eval mode, no graph): ``(outputs, targets)`` arrays."""
        outputs, targets = [], []
        was_training = getattr(self.model, "training", True)
        self.model.eval()
        try:
            with no_grad():
                for batch in loader:
                    inputs, batch_targets = _split_batch(batch)
                    outputs.append(self.model(inputs).numpy())
                    targets.append(batch_targets.numpy() if isinstance(batch_targets, Tensor) else batch_targets)
        finally:
            self.model.train(was_training)
        return numpy.concatenate(outputs), numpy.concatenate(targets)

    # ----- checkpoints ------------------------------------------------------------------------------
    def checkpoint_state(self):
        """Everything a bitwise resume needs, as ``(tensors, metadata)``: arrays for safetensors, the rest JSON-able."""
        tensors = {f"model/{name}": value.numpy() for name, value in self.model.state_dict().items()}
        metadata = {
            "epoch": self.epoch,
            "step": self.step,
            "batch_in_epoch": self.batch_in_epoch,
            "task": self.task,
            "model_keys": list(self.model.state_dict()),
            "optimizer_class": type(self.optimizer).__name__,
            "optimizer": encode_state(self.optimizer.state_dict(), "optimizer", tensors),
            "scheduler_class": type(self.scheduler).__name__ if self.scheduler is not None else None,
            "scheduler": encode_state(self.scheduler.state_dict(), "scheduler", tensors) if self.scheduler else None,
            "default_generator": get_rng_state(),
            "train_loader": _loader_state(self.train_loader),
            "val_loader": _loader_state(self.val_loader),
            "history": self.history.state_dict(),
            "train_accumulator": self.train_accumulator.state_dict(),
            "callbacks": [{"class": type(callback).__name__,
                           "state": encode_state(callback.state_dict(), f"callbacks/{index}", tensors)}
                          for index, callback in enumerate(self.callbacks)],
            "extra": self.checkpoint_extra,
        }
        return tensors, metadata

    def load_checkpoint(self, path):
        """Restore the whole training state from a checkpoint folder; all or nothing.

        The checkpoint is read and verified first (``CheckpointError`` if it is damaged
        or foreign: see ``chainrule.train.checkpoint``), then every field of its metadata
        is checked against this trainer before anything changes: counters are whole
        numbers that agree with the history; every model tensor and optimizer buffer
        has the name, shape and dtype this model and optimizer expect; hyperparameters
        are finite and pass the optimizer's own checks; the scheduler, generator, loader,
        running-metric and callback states have the shape of this run's own. Then
        everything is restored; if any part still fails, every part already restored is
        put back as it was before the call.
        """
        tensors, metadata = load_checkpoint(path)
        callback_states = self._check_checkpoint_fits(path, tensors, metadata)
        before = self._snapshot()
        try:
            self._restore(tensors, metadata, callback_states)
        except Exception as error:
            self._restore_snapshot(before)
            message = " ".join(str(error).split())
            raise CheckpointError(f"checkpoint {path} does not fit this training run: {message}") from None

    def _check_checkpoint_fits(self, path, tensors, metadata):
        where = f"checkpoint {path}: {META_FILE}"
        if not isinstance(metadata, dict):
            raise CheckpointError(f"{where}: the field metadata must be a JSON object, got {type(metadata).__name__}")
        required = ("epoch", "step", "batch_in_epoch", "model_keys", "optimizer", "optimizer_class", "history",
                    "default_generator", "callbacks", "task", "train_accumulator")
        missing = [key for key in required if key not in metadata]
        if missing:
            raise CheckpointError(f"checkpoint {path} was not written by a chainrule Trainer (its metadata lacks "
                                  f"{missing}); load model weights alone with Module.load_state_dict")
        check = StateCheck(where)
        for name in ("epoch", "step", "batch_in_epoch"):
            check.count(metadata[name], name)
        if metadata["task"] != self.task:
            raise CheckpointError(f"{where}: field task is {metadata['task']!r}, this trainer's is {self.task!r}")
        if self.batches_per_epoch and metadata["batch_in_epoch"] >= self.batches_per_epoch:
            raise CheckpointError(f"{where}: field batch_in_epoch is {metadata['batch_in_epoch']}, but an epoch of "
                                  f"this run has {self.batches_per_epoch} batches")
        check.history(metadata["history"], metadata["epoch"], metadata["step"])

        own = self.model.state_dict()
        saved_keys = metadata["model_keys"]
        names_only = isinstance(saved_keys, list) and all(isinstance(key, str) for key in saved_keys)
        keys = set(saved_keys) if names_only else set()
        if not names_only or keys != set(own) or len(saved_keys) != len(own):
            raise CheckpointError(f"checkpoint {path} holds a different model: parameters missing from it "
                                  f"{sorted(set(own) - keys)[:5]}, not in this model {sorted(keys - set(own))[:5]}")
        check_tensors_fit(own, {key: value for key, value in tensors.items() if key.startswith("model/")},
                          f"checkpoint {path}", prefix="model/")
        referenced = {f"model/{name}" for name in own} | referenced_tensors(metadata)
        unreferenced = sorted(set(tensors) - referenced)
        if unreferenced:
            raise CheckpointError(f"checkpoint {path}: its tensors file holds arrays that nothing refers to "
                                  f"{unreferenced[:5]}")

        if metadata["optimizer_class"] != type(self.optimizer).__name__:
            raise CheckpointError(f"checkpoint {path} was saved with a {metadata['optimizer_class']} optimizer, this "
                                  f"run uses {type(self.optimizer).__name__}")
        check.optimizer(self._decode(path, metadata["optimizer"], tensors, "optimizer"), self.optimizer,
                        steps_done=metadata["step"])
        scheduler_class = type(self.scheduler).__name__ if self.scheduler is not None else None
        if metadata.get("scheduler_class") != scheduler_class:
            raise CheckpointError(f"checkpoint {path} was saved with scheduler {metadata.get('scheduler_class')}, this "
                                  f"run uses {scheduler_class}")
        if self.scheduler is not None:
            check.like(self._decode(path, metadata.get("scheduler"), tensors, "scheduler"),
                       self.scheduler.state_dict(), "scheduler", same_strings=True)
        check.like(metadata["default_generator"], get_rng_state(), "default_generator")
        for loader, key in ((self.train_loader, "train_loader"), (self.val_loader, "val_loader")):
            state = metadata.get(key)
            if loader is not None and state is not None and hasattr(loader, "state_dict"):
                check.like(state, loader.state_dict(), key)
        check.accumulator(metadata["train_accumulator"], self.train_accumulator.state_dict())
        entries = metadata["callbacks"]
        if not isinstance(entries, list) or not all(
                isinstance(entry, dict) and set(entry) == {"class", "state"} and isinstance(entry["class"], str)
                for entry in entries):
            raise CheckpointError(f"{where}: field callbacks must be a list of {{'class': name, 'state': ...}}")
        pairs = []
        for callback, state in self._pair_callbacks(path, entries):
            decoded = self._decode(path, state, tensors, f"callbacks.{type(callback).__name__}")
            check.like(decoded, callback.state_dict(), f"callbacks.{type(callback).__name__}", none_is_unset=True)
            pairs.append((callback, decoded))
        return pairs

    @staticmethod
    def _decode(path, value, tensors, field):
        try:
            return decode_state(value, tensors)
        except CheckpointError as error:
            raise CheckpointError(f"checkpoint {path}: field {field}: {error}") from None
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            raise CheckpointError(f"checkpoint {path}: {META_FILE} field {field} is malformed "
                                  f"({type(error).__name__}: {error})") from None

    def _pair_callbacks(self, path, saved_entries):
        """Match saved callback states to this trainer's callbacks: the k-th of a class gets the k-th saved one.

        A callback that keeps state (a logger's file length, early stopping's best value)
        must find its state in the checkpoint; stateless ones (progress bars, printers)
        may come and go between a run and its resumption.
        """
        by_class = {}
        for entry in saved_entries:
            by_class.setdefault(entry["class"], []).append(entry["state"])
        pairs = []
        for callback in self.callbacks:
            waiting = by_class.get(type(callback).__name__, [])
            if waiting:
                pairs.append((callback, waiting.pop(0)))
            elif callback.state_dict():
                saved = [entry["class"] for entry in saved_entries]
                raise CheckpointError(f"checkpoint {path} holds no state for the callback {type(callback).__name__} "
                                      f"(it was saved with {saved}); build the trainer with the same callbacks to "
                                      "resume")
        return pairs

    def _snapshot(self):
        return {
            "model": {name: value.numpy().copy() for name, value in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "generator": get_rng_state(),
            "train_loader": _loader_state(self.train_loader),
            "val_loader": _loader_state(self.val_loader),
            "history": self.history.state_dict(),
            "accumulator": self.train_accumulator.state_dict(),
            "callbacks": [callback.state_dict() for callback in self.callbacks],
            "counters": (self.epoch, self.step, self.batch_in_epoch),
        }

    def _restore_snapshot(self, snapshot):
        self.model.load_state_dict(snapshot["model"])
        self.optimizer.load_state_dict(snapshot["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(snapshot["scheduler"])
        set_rng_state(snapshot["generator"])
        for loader, state in ((self.train_loader, snapshot["train_loader"]), (self.val_loader, snapshot["val_loader"])):
            if loader is not None and state is not None:
                loader.load_state_dict(state)
        self.history.load_state_dict(snapshot["history"])
        self.train_accumulator.load_state_dict(snapshot["accumulator"])
        for callback, state in zip(self.callbacks, snapshot["callbacks"]):
            callback.load_state_dict(state)
        self.epoch, self.step, self.batch_in_epoch = snapshot["counters"]

    def _restore(self, tensors, metadata, callback_states):
        self.model.load_state_dict({name: tensors[f"model/{name}"] for name in metadata["model_keys"]})
        self.optimizer.load_state_dict(decode_state(metadata["optimizer"], tensors))
        if self.scheduler is not None:
            self.scheduler.load_state_dict(decode_state(metadata["scheduler"], tensors))
        set_rng_state(metadata["default_generator"])
        for loader, key in ((self.train_loader, "train_loader"), (self.val_loader, "val_loader")):
            state = metadata.get(key)
            if loader is not None and state is not None and hasattr(loader, "load_state_dict"):
                loader.load_state_dict(state)
        self.history.load_state_dict(metadata["history"])
        self.train_accumulator.load_state_dict(metadata["train_accumulator"])
        for callback, state in callback_states:
            callback.load_state_dict(state)
        self.epoch = int(metadata["epoch"])
        self.step = int(metadata["step"])
        self.batch_in_epoch = int(metadata["batch_in_epoch"])


def _loader_state(loader):
    return loader.state_dict() if loader is not None and hasattr(loader, "state_dict") else None


def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise TypeError(f"Trainer: each batch must be a pair (inputs, targets), got {type(batch).__name__}"
                    + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""))


def _match_targets(outputs, targets, task):
    """Regression targets (N,) against outputs (N, 1): reshape, since broadcasting would silently give (N, N)."""
    if task == "regression" and isinstance(targets, Tensor) and targets.shape != outputs.shape:
        if targets.numel() == outputs.numel():
            return targets.reshape(outputs.shape).to(outputs.dtype)
        raise ValueError(f"Trainer: regression outputs of shape {outputs.shape} and targets of shape {targets.shape} "
                         "do not match")
    if task == "regression" and isinstance(targets, Tensor) and targets.dtype != outputs.dtype:
        return targets.to(outputs.dtype)
    return targets


def fit(model, train_loader, val_loader=None, epochs=1, optimizer=None, lr=1e-3, **trainer_options):
    """Train ``model`` in one call: ``Trainer(model, optimizer or Adam(lr), **trainer_options).fit(...)``.

    Returns the ``History``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> from chainrule.data import DataLoader, TensorDataset, make_linear_regression
        >>> _ = cr.manual_seed(0)
        >>> X, y = make_linear_regression(256, n_features=3, noise=0.01, seed=0)
        >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
        >>> val_loader = DataLoader(TensorDataset(X, y), batch_size=128)
        >>> history = fit(nn.Linear(3, 1), loader, val_loader, epochs=20, lr=0.1, task="regression", progress=False)
        >>> history["val_r2"][-1] > 0.99
        True
    """
    if optimizer is None:
        optimizer = optim.Adam(model.parameters(), lr=lr)
    return Trainer(model, optimizer, **trainer_options).fit(train_loader, val_loader, epochs=epochs)
