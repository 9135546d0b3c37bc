"""Tiny data and tiny models shared by the tests of chainrule.train and the chainrule command."""
import numpy

import chainrule as cr
import chainrule.optim  # noqa: F401  (registers cr.optim)
from chainrule.data import DataLoader, TensorDataset, load_digits
from chainrule.data.transforms import Compose, Normalize, RandomShift
from chainrule import nn
from chainrule.train import (
    Callback, CSVLogger, GradientNormRecorder, JSONLLogger, ModelCheckpoint, Trainer,
)


def spread_rows(total, count):
    """``count`` evenly spaced row numbers out of ``total``: the bundled splits are sorted by label, so this
    takes every digit in equal numbers."""
    return numpy.linspace(0, total - 1, count).round().astype(numpy.int64)


def small_digits(count=200, split="train", side=14):
    """``count`` bundled digits of a split (all ten classes), downsampled to side×side by striding."""
    images, labels = load_digits(split)
    rows = spread_rows(len(labels), count)
    stride = 28 // side
    return numpy.ascontiguousarray(images[rows][:, :, ::stride, ::stride]), labels[rows]


def tiny_cnn(channels=4, hidden=32, dropout=0.1):
    """Conv 3×3 → ReLU → MaxPool → Flatten → Dropout → Linear → ReLU → Linear, for 14×14 digits."""
    return nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Dropout(dropout), nn.Linear(channels * 49, hidden), nn.ReLU(), nn.Linear(hidden, 10))


class StopAtStep(Callback):
    """Raises ``Interrupted`` after the given step, like a process killed mid-run (None: never)."""

    class Interrupted(Exception):
        pass

    def __init__(self, step=None):
        self.step = step

    def on_batch_end(self, batch, logs):
        if self.step is not None and logs["step"] == self.step:
            raise StopAtStep.Interrupted(f"stopped after step {self.step}")


def make_digit_trainer(folder, seed=0, stop_at=None, checkpoint_every=3, epochs_for_schedule=3):
    """A tiny CNN with dropout, random shifts, Adam and OneCycleLR on 200 14×14 digits in batches of 16; logs and checkpoints in folder.

    Returns (trainer, train_loader, val_loader). Everything random is seeded from ``seed``.
    """
    cr.manual_seed(seed)
    images, labels = small_digits(200)
    val_images, val_labels = small_digits(100, "val")
    normalize = Normalize(0.1307, 0.3081)
    train_loader = DataLoader(TensorDataset(images, labels, transform=Compose([RandomShift(1), normalize])),
                              batch_size=16, shuffle=True, generator=cr.Generator().manual_seed(seed))
    val_loader = DataLoader(TensorDataset(val_images, val_labels, transform=normalize), batch_size=50)
    model = tiny_cnn()
    optimizer = cr.optim.Adam(model.parameters(), lr=0.01)
    scheduler = cr.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.03, epochs=epochs_for_schedule,
                                                  steps_per_epoch=len(train_loader))
    callbacks = [StopAtStep(stop_at), CSVLogger(folder / "log.csv"), JSONLLogger(folder / "log.jsonl"),
                 GradientNormRecorder(),
                 ModelCheckpoint(folder / "checkpoints", every_n_steps=checkpoint_every, keep_last=None,
                                 monitor="val_accuracy")]
    trainer = Trainer(model, optimizer, scheduler=scheduler, callbacks=callbacks, progress=False)
    return trainer, train_loader, val_loader


def parameters_of(model):
    return {name: value.numpy().copy() for name, value in model.state_dict().items()}


def assert_same_arrays(first, second):
    assert sorted(first) == sorted(second)
    for name in first:
        a, b = numpy.asarray(first[name]), numpy.asarray(second[name])
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert a.tobytes() == b.tobytes(), f"{name} differs"
