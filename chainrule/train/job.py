"""The main job: train a model on digit images from a config, write a run folder and its report.

``run_training(config)`` is what ``chainrule train`` calls. A run folder holds::

    config.json        the full configuration (enough to rebuild the run)
    log.csv            one row per epoch: loss, accuracy, val_loss, val_accuracy, ..., lr
    log.jsonl          one line per step (loss, lr) and per epoch (every metric)
    checkpoints/       step-NNNNNNNN/ folders (tensors.safetensors + meta.json); the last few and the best
    summary.json       final test metrics, wall time, where things are
    report.html        the report (chainrule.train.report)

``resume_training(run_folder)`` continues a stopped run from its newest checkpoint,
bitwise as if it had never stopped (logs included); ``load_trained(path)`` gives
back the model of a run or checkpoint, its recorded settings and the checkpoint's
folder, for evaluation and prediction (``chainrule.train.load_run`` wraps it).

A run folder records its model as a declarative spec (``chainrule.models.specs``).
A model from the user's own Python file is recorded by its path only: resuming,
evaluating or predicting with such a run needs the file named again by the user
(``model_file=``, ``--model-file``), so that a run folder can never make chainrule
run code.
"""
import dataclasses
import math
import pathlib
import sys
import time

import numpy

from chainrule.backends import use_kernels, use_winograd
from chainrule.core.grad_mode import no_grad
from chainrule.core.random import Generator, manual_seed
from chainrule.core.tensor import Tensor
from chainrule import optim
from chainrule.optim import lr_scheduler
from chainrule.data import DataLoader, TensorDataset
from chainrule.data.transforms import Compose, Normalize, RandomShift
from chainrule.models import (
    MODELS, ModelSpecError, build_model, count_parameters, model_spec, user_file_spec, validate_spec,
)
from chainrule.train.callbacks import (
    CSVLogger, EarlyStopping, EpochPrinter, GradientNormRecorder, JSONLLogger, ModelCheckpoint, ProgressBar,
    TensorBoardLogger,
)
from chainrule.train.checkpoint import (
    CHECKPOINT_FILES, META_FILE, CheckpointError, CheckpointManager, FolderLock, atomic_write_json,
    check_tensors_fit, load_checkpoint, parse_strict_json,
)
from chainrule.train.data_sources import describe_source, load_source
from chainrule.train.report import write_report
from chainrule.train.trainer import Trainer

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "nadam", "radam")
SCHEDULES = ("none", "onecycle", "cosine", "step", "plateau")
# The epoch metrics a classification run logs, any of which may pick the best checkpoint.
MONITORS = ("val_accuracy", "val_loss", "val_top5_accuracy", "val_precision", "val_recall", "val_f1", "loss",
            "accuracy")
USER_FILE_MODEL = "file"  # config.model when the model comes from config.model_file
# The compiled optimizer kernels (chainrule/kernels) cost a fresh process numba's start-up: importing it and
# loading the cached kernel took 0.6-1.0 s here (benchmarks/bench_train.py's machine), while a fused step saves
# about 1 ns per parameter value and 10 us per tensor. A run with fewer parameter updates (parameters x steps)
# than this never wins that back, so it runs the NumPy reference: the same numbers, bit for bit. The default
# job (105,866 parameters x 440 steps = 4.7e7) is such a run: measured 0.5-0.8 s of CPU less without numba.
KERNEL_PAYBACK_UPDATES = 5e8


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run; saved as config.json. The defaults are ``chainrule train``'s.

    The default trains the small CNN (``chainrule.models.cnn``: two conv-ReLU-pool blocks
    with 16 and 32 channels, then 64 hidden units) on the bundled digits with Adam and
    the one-cycle schedule (peak learning rate 0.005), batches of 64, 8 epochs, and
    random shifts of up to 1 pixel as light augmentation.

    ``model`` is a built-in name (mlp, cnn, lenet), or ``"file"`` with ``model_file``
    naming the user's Python file that defines the model (it runs because you name it).

    ``validate()`` is the one place a setting is checked (the command line parses
    its options, then hands them here); what is built from a valid config trusts it.

    Example:
        >>> TrainConfig(model="lenet", epochs=3).validate()
        >>> try:
        ...     TrainConfig(monitor="bogus").validate()
        ... except ValueError as error:
        ...     print(str(error)[:44])
        unknown monitor 'bogus'; choose one of val_a
    """

    model: str = "cnn"
    model_file: str = None
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    data: str = "digits"
    test_data: str = None
    val_fraction: float = 0.1
    optimizer: str = "adam"
    lr: float = 0.005
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "onecycle"
    batch_size: int = 64
    epochs: int = 8
    seed: int = 0
    augment_shift: int = 1
    normalize_mean: float = 0.1307
    normalize_std: float = 0.3081
    clip_grad_norm: float = None
    checkpoint_every_steps: int = None
    keep_last: int = 2
    monitor: str = "val_accuracy"
    early_stopping_patience: int = None
    tensorboard: bool = False
    out: str = None

    def validate(self):
        """Raise a ``ValueError`` naming the first bad setting."""
        if self.model == USER_FILE_MODEL:
            if not isinstance(self.model_file, str) or not self.model_file.endswith(".py"):
                raise ValueError(f"model 'file' needs model_file, the path of a .py file, got {self.model_file!r}")
        elif self.model not in MODELS:
            hint = (f"; to train the model the Python file {self.model} defines, pass --model-file {self.model}"
                    if str(self.model).endswith(".py") else "")
            raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(sorted(MODELS))}{hint}")
        elif self.model_file is not None:
            raise ValueError(f"give either the built-in model {self.model!r} or a model file ({self.model_file}), "
                             "not both")
        if not isinstance(self.model_kwargs, dict):
            raise ValueError(f"model kwargs must be a dict, got {self.model_kwargs!r}")
        if not isinstance(self.data, str) or not (self.test_data is None or isinstance(self.test_data, str)):
            raise ValueError(f"data and test data must be paths (strings), got {self.data!r} and {self.test_data!r}")
        if isinstance(self.val_fraction, bool) or not isinstance(self.val_fraction, (int, float)) or not (
                0 < self.val_fraction < 1):
            raise ValueError(f"val fraction must be between 0 and 1, got {self.val_fraction!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        _positive(self.lr, "learning rate")
        _positive(self.normalize_std, "normalize std")
        if isinstance(self.normalize_mean, bool) or not isinstance(self.normalize_mean, (int, float)) or not \
                math.isfinite(self.normalize_mean):
            raise ValueError(f"normalize mean must be a finite number, got {self.normalize_mean!r}")
        if self.monitor not in MONITORS:
            raise ValueError(f"unknown monitor {self.monitor!r}; choose one of {', '.join(MONITORS)}")
        if not isinstance(self.tensorboard, bool):
            raise ValueError(f"tensorboard must be true or false, got {self.tensorboard!r}")
        for name in ("batch_size", "epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name.replace('_', ' ')} must be a positive integer, got {value!r}")
        for name in ("weight_decay", "momentum"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ValueError(f"{name.replace('_', ' ')} must be a non-negative number, got {getattr(self, name)!r}")
        if isinstance(self.augment_shift, bool) or not isinstance(self.augment_shift, int) or \
                not 0 <= self.augment_shift <= 8:
            raise ValueError(f"augment shift must be an integer number of pixels in 0..8, got {self.augment_shift!r}")
        if self.clip_grad_norm is not None:
            _positive(self.clip_grad_norm, "clip grad norm")
        for name in ("checkpoint_every_steps", "early_stopping_patience", "keep_last"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name.replace('_', ' ')} must be a positive integer, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        if not isinstance(values, dict):
            raise ValueError(f"a config is a JSON object of settings, got {type(values).__name__}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"config has unknown settings {unknown}")
        return cls(**values)


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def build_optimizer(name, parameters, lr, weight_decay=0.0, momentum=0.9):
    """An optimizer by name (see ``OPTIMIZERS``)."""
    parameters = list(parameters)
    if name == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "rmsprop":
        return optim.RMSprop(parameters, lr=lr, weight_decay=weight_decay)
    classes = {"adam": optim.Adam, "adamw": optim.AdamW, "adagrad": optim.Adagrad, "nadam": optim.NAdam,
               "radam": optim.RAdam}
    if name not in classes:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return classes[name](parameters, lr=lr, weight_decay=weight_decay)


def build_scheduler(name, optimizer, lr, epochs, steps_per_epoch):
    """A learning-rate schedule by name: 'onecycle' (per batch, peak ``lr``), 'cosine' (per batch, from ``lr``
    to 0), 'step' (×0.1 at 2/3 of the epochs), 'plateau' (×0.1 after 2 epochs without val-loss progress), 'none'."""
    if name == "none":
        return None
    if name == "onecycle":
        # The cycle also moves momentum (or beta1) against the rate; Adagrad has neither, so only the rate cycles.
        has_momentum = all("momentum" in group or "betas" in group for group in optimizer.param_groups)
        return lr_scheduler.OneCycleLR(optimizer, max_lr=lr, epochs=epochs, steps_per_epoch=steps_per_epoch,
                                       cycle_momentum=has_momentum)
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch)
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, (2 * epochs) // 3), gamma=0.1)
    if name == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, patience=2, factor=0.1)
    raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")


def limit_blas_threads(count=1):
    """Limit the BLAS library's threads (OpenBLAS in NumPy's and SciPy's wheels) for this process.

    The matrix products of a small network are small: with several threads OpenBLAS
    spends its time waking and waiting for them, and on a busy machine it becomes many
    times slower (measured on 2 loaded cores: the default ``chainrule train`` took 3 min 9 s
    with OpenBLAS's own thread count and 59 s with one thread). threadpoolctl finds every
    BLAS loaded in the process and sets its thread count. Returns True.
    """
    from threadpoolctl import threadpool_limits   # ~60 ms to import, and only the command calls this

    threadpool_limits(limits=int(count), user_api="blas")
    return True


def _dataset(images, labels, config, train):
    """A dataset of the images, normalized; training images of shape (N, C, H, W) also get random shifts."""
    normalize = Normalize(config.normalize_mean, config.normalize_std)
    transform = normalize
    if train and config.augment_shift > 0 and images.ndim == 4:
        transform = Compose([RandomShift(config.augment_shift), normalize])
    return TensorDataset(images, labels, transform=transform)


def prepare_model_spec(config, sample_shape, num_classes):
    """The model spec for ``config``, with the zoo model fitted to the data's image size and class count."""
    if config.model == USER_FILE_MODEL:
        return user_file_spec(config.model_file)
    kwargs = dict(config.model_kwargs or {}) if config.model in ("mlp", "cnn", "lenet") else {}
    if config.model == "mlp":
        kwargs.setdefault("in_features", int(numpy.prod(sample_shape)))
    if config.model in ("cnn", "lenet"):
        if len(sample_shape) != 3:
            raise ValueError(f"model {config.model} needs images (C, H, W); the data holds flat vectors of "
                             f"{sample_shape[0]} values - use --model mlp")
        kwargs.setdefault("in_channels", int(sample_shape[0]))
        if config.model == "cnn":
            if sample_shape[1] != sample_shape[2] or sample_shape[1] < 4:  # two 2x2 poolings: at least 4x4
                raise ValueError(f"cnn needs square images of at least 4x4 pixels, the data has "
                                 f"{sample_shape[1]}x{sample_shape[2]} - use --model mlp")
            kwargs.setdefault("image_size", int(sample_shape[1]))
        elif sample_shape[1:] != (28, 28):
            raise ValueError(f"lenet expects 28x28 images, the data has {sample_shape[1]}x{sample_shape[2]}")
    if config.model in ("mlp", "cnn", "lenet"):
        kwargs.setdefault("num_classes", int(num_classes))
    return model_spec(config.model, **kwargs)


def _consented_file(config):
    """The model file to run for ``config``: the one its creator named (None for a built-in model)."""
    return config.model_file if config.model == USER_FILE_MODEL else None


def default_run_folder(base="runs"):
    """runs/train-YYYYmmdd-HHMMSS (with -2, -3, ... if taken)."""
    stamp = time.strftime("train-%Y%m%d-%H%M%S")
    folder = pathlib.Path(base) / stamp
    suffix = 2
    while folder.exists():
        folder = pathlib.Path(base) / f"{stamp}-{suffix}"
        suffix += 1
    return folder


class Job:
    """One training run assembled from a config: data, loaders, model, optimizer, schedule, callbacks, trainer."""

    writes_files = True  # a data-parallel run's ranks other than 0 write nothing (chainrule.distributed)

    def extra_facts(self):
        """More entries for summary.json and the report (a data-parallel run adds its ranks and timings)."""
        return {}

    def __init__(self, config, folder, progress=None, echo=True, callbacks=True):
        config.validate()
        self.config = config
        self.folder = pathlib.Path(folder)
        self.splits = load_source(config.data, val_fraction=config.val_fraction, test_csv=config.test_data)
        train_images, train_labels = self.splits["train"]
        self.num_classes = int(max(int(labels.max()) for _, labels in self.splits.values()) + 1)
        self.model_spec = prepare_model_spec(config, train_images.shape[1:], self.num_classes)

        manual_seed(config.seed)  # fixes the initialization (and dropout)
        self.model = build_model(self.model_spec, model_file=_consented_file(config))
        self.train_loader = DataLoader(_dataset(train_images, train_labels, config, train=True),
                                       batch_size=config.batch_size, shuffle=True,
                                       generator=Generator().manual_seed(config.seed))
        self.val_loader = DataLoader(_dataset(*self.splits["val"], config, train=False), batch_size=500)
        self.test_loader = DataLoader(_dataset(*self.splits["test"], config, train=False), batch_size=500)
        self.optimizer = build_optimizer(config.optimizer, self.model.parameters(), config.lr, config.weight_decay,
                                         config.momentum)
        self.scheduler = build_scheduler(config.schedule, self.optimizer, config.lr, config.epochs,
                                         len(self.train_loader))
        if not callbacks:  # a bare job (the lr-find command): no files written
            self.trainer = Trainer(self.model, self.optimizer, scheduler=self.scheduler, progress=False)
            return
        self.checkpoints = ModelCheckpoint(self.folder / "checkpoints", every_n_steps=config.checkpoint_every_steps,
                                           keep_last=config.keep_last, monitor=config.monitor)
        callbacks = [CSVLogger(self.folder / "log.csv"), JSONLLogger(self.folder / "log.jsonl"),
                     GradientNormRecorder(), self.checkpoints]
        if config.early_stopping_patience:
            callbacks.append(EarlyStopping(monitor=config.monitor, patience=config.early_stopping_patience))
        if config.tensorboard:
            callbacks.append(TensorBoardLogger(self.folder / "tensorboard"))
        callbacks.append(ProgressBar(enabled=progress))  # before the printer: the bar is gone when the line prints
        if echo:
            callbacks.append(EpochPrinter())
        self.trainer = Trainer(self.model, self.optimizer, scheduler=self.scheduler,
                               clip_grad_norm=config.clip_grad_norm, callbacks=callbacks, progress=False)
        self.trainer.checkpoint_extra = {"config": config.to_dict(), "model_spec": self.model_spec,
                                         "num_classes": self.num_classes}

    def _parameter_updates(self):
        return self.model.num_parameters() * len(self.train_loader) * self.config.epochs

    def kernels_pay_off(self):
        """Whether this run is long enough for the compiled kernels to repay numba's start-up (see
        ``KERNEL_PAYBACK_UPDATES``); True as well when numba is already imported (its start-up is paid)."""
        return "numba" in sys.modules or self._parameter_updates() >= KERNEL_PAYBACK_UPDATES

    def winograd_pays_off(self):
        """Whether this run's convolutions may use Winograd: only a run long enough for the kernels
        (``KERNEL_PAYBACK_UPDATES``), since on NumPy's reference transforms Winograd is slower than
        im2col (17.6 against 11.3-12.9 ms forward + backward at the default model's second conv). It
        reads the run's size alone, not what the process imported, because the two algorithms differ
        in the last bits: the same config must give the same numbers in any process."""
        return self._parameter_updates() >= KERNEL_PAYBACK_UPDATES

    def run(self, resume_from=None):
        """Train, test, write the report and summary.json; return the summary. A run too short for the compiled
        kernels to pay off runs with them off (``kernels_pay_off``) and its convolutions on im2col
        (``winograd_pays_off``); the caller's settings come back after."""
        restore = []
        if not self.kernels_pay_off():
            restore.append((use_kernels, use_kernels(False)))
        if not self.winograd_pays_off():
            restore.append((use_winograd, use_winograd(False)))
        try:
            return self._run(resume_from)
        finally:
            for switch, previous in restore:
                switch(previous)

    def _run(self, resume_from):
        started = time.perf_counter()
        self.trainer.fit(self.train_loader, self.val_loader, epochs=self.config.epochs, resume_from=resume_from)
        train_seconds = time.perf_counter() - started
        # The report needs the test outputs: keep them from this pass instead of running the test set again.
        test_metrics, *outputs_and_labels = self.trainer.evaluate(self.test_loader, keep_outputs=True)
        self._test_predictions = (self.test_loader, *outputs_and_labels)
        report_started = time.perf_counter()
        if self.writes_files:
            self.write_report(test_metrics, train_seconds)
        summary = {
            "test": test_metrics,
            "epochs_completed": self.trainer.epoch,
            "steps": self.trainer.step,
            "train_seconds_this_session": train_seconds,
            "epoch_seconds_this_session": self.trainer.epoch_seconds,
            "report_seconds": time.perf_counter() - report_started,
            "resumed_from": str(resume_from) if resume_from else None,
            "latest_checkpoint": str(self.checkpoints.manager.latest()),
            "best_checkpoint": str(self.checkpoints.manager.best()),
            "report": str(self.folder / "report.html"),
            **self.extra_facts(),
        }
        if self.writes_files:
            atomic_write_json(self.folder / "summary.json", summary)
        return summary

    def write_report(self, test_metrics, train_seconds):
        kept = getattr(self, "_test_predictions", None)
        if kept is not None and kept[0] is self.test_loader:
            outputs, labels = kept[1:]
        else:                                  # another loader (a data-parallel run's whole test set)
            outputs, labels = self.trainer.predict(self.test_loader)
        test_images = self.test_loader.dataset.get_batch(numpy.arange(len(self.test_loader.dataset)))[0]
        summary = {"test loss": test_metrics["loss"], "test top-5 accuracy": test_metrics["top5_accuracy"],
                   "epochs": self.trainer.epoch, "optimizer steps": self.trainer.step,
                   "training wall time (this session)": f"{train_seconds:.1f} s",
                   "data": describe_source(self.config.data),
                   "parameters": self.model.num_parameters(), **self.extra_facts()}
        write_report(self.folder / "report.html", self.trainer.history, self.model, test_images,
                     self.splits["test"][0], labels, outputs, config=self.config.to_dict(), summary=summary,
                     title=f"chainrule: {self.config.model} on {describe_source(self.config.data)}")


def run_training(config, progress=None, echo=True):
    """Train a new run from ``config`` into ``config.out`` (default runs/train-<time>); return the summary dict.

    Example (what ``chainrule train --model lenet --epochs 3 --out runs/lenet`` does)::

        summary = run_training(TrainConfig(model="lenet", epochs=3, out="runs/lenet"))
        summary["test"]["accuracy"], summary["report"]
    """
    folder = pathlib.Path(config.out) if config.out else default_run_folder()
    if config.model == USER_FILE_MODEL and isinstance(config.model_file, str):
        config = dataclasses.replace(config, model_file=str(pathlib.Path(config.model_file).resolve()))
    # A folder holding only a lock file and a torn first write (.tmp-config.json-…) never held a run.
    if folder.exists() and any(not (entry.name == ".lock" or entry.name.startswith(".tmp-"))
                               for entry in folder.iterdir()):
        if (folder / "config.json").is_file() and _latest_checkpoint(folder) is None:
            raise FileExistsError(f"output folder {folder} holds a run that stopped before its first checkpoint; "
                                  f"start it over with its saved settings with --resume {folder}, or delete the "
                                  "folder, or choose another --out")
        raise FileExistsError(f"output folder {folder} already exists and is not empty; choose another --out, or "
                              f"continue that run with --resume {folder}")
    config = dataclasses.replace(config, out=str(folder))
    job = Job(config, folder, progress=progress, echo=echo)  # loads the data first: a bad source fails before any file
    folder.mkdir(parents=True, exist_ok=True)
    with FolderLock(folder, "run folder"):  # a second process on this folder fails at once
        _clear_torn_writes(folder)
        atomic_write_json(folder / "config.json", config.to_dict())
        return job.run()


def _clear_torn_writes(folder):
    """Delete the temporary files of atomic writes a killed process left (``.tmp-…``; never read by anything)."""
    for leftover in pathlib.Path(folder).glob(".tmp-*"):
        if leftover.is_file() and not leftover.is_symlink():
            leftover.unlink()


def _latest_checkpoint(folder):
    return CheckpointManager(pathlib.Path(folder) / "checkpoints", read_only=True).latest()


def find_checkpoint(path, which="latest"):
    """The checkpoint folder meant by ``path``: itself if it is one, else the latest (or best) in a run folder."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; give a run folder or a checkpoint folder")
    if any((path / name).exists() for name in CHECKPOINT_FILES):
        return path
    checkpoints = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    if not checkpoints.is_dir():
        raise CheckpointError(f"{path} is neither a run folder nor a checkpoint folder")
    config = _read_json(path / "config.json") if (path / "config.json").exists() else {}
    monitor = config.get("monitor") if config.get("monitor") in MONITORS else "val_accuracy"
    manager = CheckpointManager(checkpoints, monitor=monitor, mode="min" if "loss" in str(monitor) else "max",
                                read_only=True)
    found = manager.best() if which == "best" else manager.latest()
    if found is None and which == "best":
        found = manager.latest()
    if found is None:
        hint = (f": the run stopped before its first checkpoint; chainrule train --resume {path} starts it over with "
                "its saved settings" if (path / "config.json").is_file() else "")
        raise CheckpointError(f"{path} holds no checkpoints (step-NNNNNNNN folders){hint}")
    return found


def _read_json(path):
    """A JSON object from a run folder's file, parsed strictly (no key given twice); ValueError naming the file."""
    try:
        document = parse_strict_json(pathlib.Path(path).read_bytes(), str(path))
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path} must hold a JSON object of settings, got {type(document).__name__}")
    return document


def _with_model_file(config, model_file, where):
    """``config`` with the model file the user named now; refused when the run needs one and none is named."""
    if config.model != USER_FILE_MODEL:
        if model_file is not None:
            raise ModelSpecError(f"{where} used the built-in model {config.model!r}; --model-file {model_file} is "
                                 "not needed (drop it)")
        return config
    if model_file is None:
        raise ModelSpecError(
            f"{where} was trained with the model defined in the Python file {config.model_file}, and chainrule "
            "never runs a file because a run folder names it; if you trust that file, pass it yourself: "
            f"--model-file {config.model_file} (model_file= in Python)")
    return dataclasses.replace(config, model_file=str(pathlib.Path(model_file).resolve()))


def resume_training(path, progress=None, echo=True, model_file=None):
    """Continue the run in folder ``path`` (or the run of checkpoint folder ``path``) from its newest checkpoint.

    A run whose model came from the user's Python file needs ``model_file`` (the
    command line's ``--model-file``): the run folder records the file's path, and
    chainrule never runs a file only because a folder names it.

    Example::

        summary = resume_training("runs/lenet")     # chainrule train --resume runs/lenet
    """
    path = pathlib.Path(path)
    if (path / "config.json").is_file() and _latest_checkpoint(path) is None:
        checkpoint, folder = None, path  # the run failed before its first checkpoint: start it over
    else:
        checkpoint = find_checkpoint(path)
        folder = path if (path / "config.json").exists() else checkpoint.parent.parent
    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"cannot find the run's config.json next to {checkpoint}")
    settings = _read_json(folder / "config.json")
    try:
        config = TrainConfig.from_dict(settings)
        config.validate()
    except (TypeError, ValueError) as error:
        raise ValueError(f"{folder / 'config.json'}: {' '.join(str(error).split())}") from None
    config = _with_model_file(dataclasses.replace(config, out=str(folder)), model_file, f"run {folder}")
    with FolderLock(folder, "run folder"):  # before anything is read or written: a second process fails at once
        _clear_torn_writes(folder)
        if checkpoint is None and echo:
            print(f"run {folder} holds no checkpoint yet (it stopped before its first): starting it over with its "
                  "saved settings", flush=True)
        job = Job(config, folder, progress=progress, echo=echo)
        return job.run(resume_from=checkpoint)


def _checked_extra(checkpoint, metadata):
    """The ``extra`` record of a checkpoint written by the main job, each field checked; CheckpointError if not."""
    where = f"checkpoint {checkpoint}: {META_FILE}"
    extra = metadata.get("extra") if isinstance(metadata, dict) else None
    if not isinstance(extra, dict) or "model_spec" not in extra:
        raise CheckpointError(f"{where} does not record its model (field extra.model_spec; it was not written by "
                              "chainrule train)")
    try:
        spec = validate_spec(extra["model_spec"], "field extra.model_spec")
        config = TrainConfig.from_dict(extra.get("config"))
        config.validate()
    except ValueError as error:
        raise CheckpointError(f"{where}: {' '.join(str(error).split())}") from None
    if ("user_file" in spec) != (config.model == USER_FILE_MODEL):
        raise CheckpointError(f"{where}: fields extra.model_spec ({spec}) and extra.config.model ({config.model!r}) "
                              "disagree")
    num_classes = extra.get("num_classes")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or not 2 <= num_classes <= 1 << 16:
        raise CheckpointError(f"{where}: field extra.num_classes must be a whole number of classes, got "
                              f"{num_classes!r}")
    return {**extra, "model_spec": spec, "config": config.to_dict(), "num_classes": num_classes}


def load_trained(path, which="latest", model_file=None):
    """Three values from a run folder or checkpoint: ``(model, extra, checkpoint)``.

    ``model`` is rebuilt from the recorded spec (a built-in architecture; a model from
    the user's file only with ``model_file`` named by the caller) with the weights
    loaded and in eval mode; ``extra`` holds the run's ``config``, ``model_spec`` and
    ``num_classes``; ``checkpoint`` is the folder that was read. Every field is checked,
    and the spec's parameter count against the tensors, before the model is built.

    Example::

        model, extra, checkpoint = load_trained("runs/lenet", which="best")
        logits = model(to_model_input(images, extra["config"]))
    """
    model, extra, checkpoint, _ = _load_trained(path, which, model_file)
    return model, extra, checkpoint


def _load_trained(path, which, model_file):
    """``load_trained``'s three values and the checkpoint's metadata, all from one reading of the checkpoint."""
    checkpoint = find_checkpoint(path, which)
    tensors, metadata = load_checkpoint(checkpoint)
    extra = _checked_extra(checkpoint, metadata)
    weights = {key[len("model/"):]: value for key, value in tensors.items() if key.startswith("model/")}
    spec = extra["model_spec"]
    # A user-file model needs the caller to name the file; a built-in one refuses a file it does not need.
    config = _with_model_file(TrainConfig.from_dict(extra["config"]), model_file, f"checkpoint {checkpoint}")
    model_file = config.model_file if "user_file" in spec else None
    if "user_file" not in spec:
        expected, stored = count_parameters(spec), sum(int(value.size) for value in weights.values())
        if expected != stored:  # checked before building: a lying spec allocates nothing
            raise CheckpointError(f"checkpoint {checkpoint}: its model spec {spec} has {expected:,} parameters but "
                                  f"its tensors hold {stored:,} model values")
    model = build_model(spec, model_file=model_file)
    check_tensors_fit(model.state_dict(), weights, f"checkpoint {checkpoint}")
    model.load_state_dict(weights)
    model.eval()
    return model, extra, checkpoint, metadata


@dataclasses.dataclass
class TrainedRun:
    """A trained model with what it needs to be used: ``load_run``'s answer.

    ``model`` (eval mode), ``config`` (the run's ``TrainConfig``), ``checkpoint`` (the
    folder the weights came from), ``num_classes``, and ``step`` and ``epoch`` (how far
    training had come). ``probabilities(images)`` and ``predict(images)`` take images
    in [0, 1] of shape (N, C, H, W) (or (N, features) for an MLP on flat data) and
    normalize them as the run did.

    Example:
        >>> import numpy as np
        >>> run = TrainedRun(model=None, config=TrainConfig(), checkpoint=None, num_classes=10, step=0, epoch=0)
        >>> run.config.model, run.num_classes
        ('cnn', 10)
    """

    model: object
    config: TrainConfig
    checkpoint: pathlib.Path
    num_classes: int
    step: int
    epoch: int

    def probabilities(self, images):
        """softmax(model(normalize(images))): an (N, classes) float64 array whose rows sum to 1."""
        with no_grad():
            logits = self.model(to_model_input(images, self.config.to_dict())).numpy().astype(numpy.float64)
        shifted = numpy.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def predict(self, images):
        """The most probable class of each image: argmax of the logits, an (N,) int64 array."""
        return self.probabilities(images).argmax(axis=1)


def load_run(path, which="latest", model_file=None):
    """The trained model of a run folder (or of one checkpoint folder), ready to use: a ``TrainedRun``.

    ``which`` is 'latest' (the finished model) or 'best' (the checkpoint with the best
    ``monitor`` value, ties broken by the lower validation loss). Everything read is
    checked first (see docs/training.md, "Checkpoints"); a run whose model came from
    your own Python file needs that file named again as ``model_file``.

    Example (trains a tiny run first, about 3 s):
        >>> import tempfile, os
        >>> from chainrule.data import load_digits
        >>> from chainrule.train import load_run
        >>> from chainrule.train.job import TrainConfig, run_training
        >>> folder = os.path.join(tempfile.mkdtemp(), "run")
        >>> _ = run_training(TrainConfig(model="mlp", model_kwargs={"hidden": [16]}, epochs=1, out=folder), echo=False)
        >>> run = load_run(folder)
        >>> run.config.model, run.epoch, run.checkpoint.name
        ('mlp', 1, 'step-00000055')
        >>> images, labels = load_digits("test")
        >>> float((run.predict(images) == labels).mean()) > 0.7
        True
    """
    model, extra, checkpoint, metadata = _load_trained(path, which, model_file)
    return TrainedRun(model=model, config=TrainConfig.from_dict(extra["config"]), checkpoint=pathlib.Path(checkpoint),
                      num_classes=extra["num_classes"], step=int(metadata.get("step", 0)),
                      epoch=int(metadata.get("epoch", 0)))


def to_model_input(images, config):
    """Normalize images in [0, 1] as the run did for its model: a float32 Tensor."""
    normalize = Normalize(config["normalize_mean"], config["normalize_std"])
    return Tensor(normalize.batch(numpy.asarray(images, dtype=numpy.float32)))
