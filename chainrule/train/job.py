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
back the model of a run or checkpoint for evaluation and prediction.
"""
import dataclasses
import json
import pathlib
import time

import numpy

from chainrule.core.random import Generator, manual_seed
from chainrule.core.tensor import Tensor
from chainrule import optim
from chainrule.optim import lr_scheduler
from chainrule.data import DataLoader, TensorDataset
from chainrule.data.transforms import Compose, Normalize, RandomShift
from chainrule.train.callbacks import (
    CSVLogger, EarlyStopping, EpochPrinter, GradientNormRecorder, JSONLLogger, ModelCheckpoint, ProgressBar,
    TensorBoardLogger,
)
from chainrule.train.checkpoint import CheckpointError, CheckpointManager, atomic_write_json, load_checkpoint
from chainrule.train.data_sources import describe_source, load_source
from chainrule.train.report import write_report
from chainrule.train.trainer import Trainer

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "nadam", "radam")
SCHEDULES = ("none", "onecycle", "cosine", "step", "plateau")


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run; saved as config.json. The defaults are ``chainrule train``'s.

    The default trains the small CNN (``chainrule.models.cnn``: two conv-ReLU-pool blocks
    with 16 and 32 channels, then 64 hidden units) on the bundled digits with Adam and
    the one-cycle schedule (peak learning rate 0.005), batches of 64, 8 epochs, and
    random shifts of up to 1 pixel as light augmentation.
    """

    model: str = "cnn"
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
        from chainrule.models import MODELS

        if self.model not in MODELS and not str(self.model).endswith(".py"):
            raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(sorted(MODELS))} or a .py file")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        _positive(self.lr, "learning rate")
        _positive(self.normalize_std, "normalize std")
        for name in ("batch_size", "epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name.replace('_', ' ')} must be a positive integer, got {value!r}")
        for name in ("weight_decay", "momentum"):
            if not (isinstance(getattr(self, name), (int, float)) and getattr(self, name) >= 0):
                raise ValueError(f"{name.replace('_', ' ')} must be a non-negative number, got {getattr(self, name)!r}")
        if not isinstance(self.augment_shift, int) or not 0 <= self.augment_shift <= 8:
            raise ValueError(f"augment shift must be an integer number of pixels in 0..8, got {self.augment_shift!r}")
        if self.clip_grad_norm is not None:
            _positive(self.clip_grad_norm, "clip grad norm")
        for name in ("checkpoint_every_steps", "early_stopping_patience", "keep_last"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name.replace('_', ' ')} must be a positive integer, got {value!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"config has unknown settings {unknown}")
        return cls(**values)


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value != value:
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
        return lr_scheduler.OneCycleLR(optimizer, max_lr=lr, epochs=epochs, steps_per_epoch=steps_per_epoch)
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
    from chainrule.models import model_spec

    kwargs = dict(config.model_kwargs or {}) if config.model in ("mlp", "cnn", "lenet") else {}
    if config.model == "mlp":
        kwargs.setdefault("in_features", int(numpy.prod(sample_shape)))
    if config.model in ("cnn", "lenet"):
        if len(sample_shape) != 3:
            raise ValueError(f"model {config.model} needs images (C, H, W); the data holds flat vectors of "
                             f"{sample_shape[0]} values - use --model mlp")
        kwargs.setdefault("in_channels", int(sample_shape[0]))
        if config.model == "cnn":
            kwargs.setdefault("image_size", int(sample_shape[1]))
        elif sample_shape[1:] != (28, 28):
            raise ValueError(f"lenet expects 28x28 images, the data has {sample_shape[1]}x{sample_shape[2]}")
    if config.model in ("mlp", "cnn", "lenet"):
        kwargs.setdefault("num_classes", int(num_classes))
    return model_spec(config.model, **kwargs)


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

    def __init__(self, config, folder, progress=None, echo=True, callbacks=True):
        from chainrule.models import build_model

        config.validate()
        self.config = config
        self.folder = pathlib.Path(folder)
        self.splits = load_source(config.data, val_fraction=config.val_fraction, test_csv=config.test_data)
        train_images, train_labels = self.splits["train"]
        self.num_classes = int(max(int(labels.max()) for _, labels in self.splits.values()) + 1)
        self.model_spec = prepare_model_spec(config, train_images.shape[1:], self.num_classes)

        manual_seed(config.seed)  # fixes the initialization (and dropout)
        self.model = build_model(self.model_spec)
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

    def run(self, resume_from=None):
        started = time.perf_counter()
        self.trainer.fit(self.train_loader, self.val_loader, epochs=self.config.epochs, resume_from=resume_from)
        train_seconds = time.perf_counter() - started
        test_metrics = self.trainer.evaluate(self.test_loader)
        report_started = time.perf_counter()
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
        }
        atomic_write_json(self.folder / "summary.json", summary)
        return summary

    def write_report(self, test_metrics, train_seconds):
        outputs, labels = self.trainer.predict(self.test_loader)
        test_images = self.test_loader.dataset.get_batch(numpy.arange(len(self.test_loader.dataset)))[0]
        summary = {"test loss": test_metrics["loss"], "test top-5 accuracy": test_metrics["top5_accuracy"],
                   "epochs": self.trainer.epoch, "optimizer steps": self.trainer.step,
                   "training wall time (this session)": f"{train_seconds:.1f} s",
                   "data": describe_source(self.config.data),
                   "parameters": self.model.num_parameters()}
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
    config.validate()
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"output folder {folder} already exists and is not empty; choose another --out, or "
                              f"continue that run with --resume {folder}")
    config = dataclasses.replace(config, out=str(folder))
    job = Job(config, folder, progress=progress, echo=echo)  # loads the data first: a bad source fails before any file
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "config.json", config.to_dict())
    return job.run()


def find_checkpoint(path, which="latest"):
    """The checkpoint folder meant by ``path``: itself if it is one, else the latest (or best) in a run folder."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; give a run folder or a checkpoint folder")
    if (path / "meta.json").exists() or (path / "tensors.safetensors").exists():
        return path
    checkpoints = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    if not checkpoints.is_dir():
        raise CheckpointError(f"{path} is neither a run folder nor a checkpoint folder")
    config = _read_json(path / "config.json") if (path / "config.json").exists() else {}
    monitor = config.get("monitor", "val_accuracy")
    manager = CheckpointManager(checkpoints, monitor=monitor, mode="min" if "loss" in str(monitor) else "max",
                                read_only=True)
    found = manager.best() if which == "best" else manager.latest()
    if found is None and which == "best":
        found = manager.latest()
    if found is None:
        raise CheckpointError(f"{path} holds no checkpoints (step-NNNNNNNN folders)")
    return found


def _read_json(path):
    try:
        return json.loads(pathlib.Path(path).read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None


def resume_training(path, progress=None, echo=True):
    """Continue the run in folder ``path`` (or the run of checkpoint folder ``path``) from its newest checkpoint.

    Example::

        summary = resume_training("runs/lenet")     # chainrule train --resume runs/lenet
    """
    path = pathlib.Path(path)
    checkpoint = find_checkpoint(path)
    folder = path if (path / "config.json").exists() else checkpoint.parent.parent
    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"cannot find the run's config.json next to {checkpoint}")
    config = TrainConfig.from_dict(_read_json(folder / "config.json"))
    config = dataclasses.replace(config, out=str(folder))
    job = Job(config, folder, progress=progress, echo=echo)
    return job.run(resume_from=checkpoint)


def load_trained(path, which="latest"):
    """``(model, extra)`` from a run folder or checkpoint: the model rebuilt from its spec, weights loaded.

    ``extra`` holds the run's config, model spec and class count.

    Example::

        model, extra, checkpoint = load_trained("runs/lenet", which="best")
        logits = model(to_model_input(images, extra["config"]))
    """
    from chainrule.models import build_model

    checkpoint = find_checkpoint(path, which)
    tensors, metadata = load_checkpoint(checkpoint)
    extra = metadata.get("extra") or {}
    if "model_spec" not in extra:
        raise CheckpointError(f"checkpoint {checkpoint} does not record its model (it was not written by "
                              "chainrule train)")
    model = build_model(extra["model_spec"])
    weights = {key[len("model/"):]: value for key, value in tensors.items() if key.startswith("model/")}
    try:
        model.load_state_dict(weights)
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"checkpoint {checkpoint} does not fit its model: {' '.join(str(error).split())}") from None
    model.eval()
    return model, extra, checkpoint


def to_model_input(images, config):
    """Normalize images in [0, 1] as the run did for its model: a float32 Tensor."""
    normalize = Normalize(config["normalize_mean"], config["normalize_std"])
    return Tensor(normalize.batch(numpy.asarray(images, dtype=numpy.float32)))
