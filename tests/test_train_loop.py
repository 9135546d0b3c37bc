"""The Trainer: it learns, calls back in order, schedules, clips, stops early, logs, and complains clearly."""
import csv
import io
import json
import math
import sys

import numpy
import pytest

import chainrule as cr
import chainrule.optim  # noqa: F401
from chainrule import nn
from chainrule.data import DataLoader, TensorDataset, make_blobs, make_linear_regression
from chainrule.train import (
    Callback, CSVLogger, EarlyStopping, GradientNormRecorder, History, JSONLLogger, LambdaCallback, ProgressBar,
    TensorBoardLogger, Trainer, fit,
)


def _blobs(seed=0):
    X, y = make_blobs(240, n_classes=3, cluster_std=1.5, seed=seed)
    train = DataLoader(TensorDataset(X[:180], y[:180]), batch_size=30, shuffle=True,
                       generator=cr.Generator().manual_seed(seed))
    val = DataLoader(TensorDataset(X[180:], y[180:]), batch_size=60)
    return train, val


def _mlp(seed=0):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs): self.calls.append("train_begin")
    def on_train_end(self, logs): self.calls.append("train_end")
    def on_epoch_begin(self, epoch, logs): self.calls.append(f"epoch_begin {epoch}")
    def on_epoch_end(self, epoch, logs): self.calls.append(f"epoch_end {epoch}")
    def on_batch_begin(self, batch, logs): self.calls.append(f"batch_begin {batch}")
    def on_before_optimizer_step(self, step, logs): self.calls.append(f"before_step {step}")
    def on_batch_end(self, batch, logs): self.calls.append(f"batch_end {batch}")


def test_a_short_run_learns_and_records_every_metric():
    train, val = _blobs()
    model = _mlp()
    trainer = Trainer(model, cr.optim.Adam(model.parameters(), lr=0.05), progress=False)
    history = trainer.fit(train, val, epochs=6)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["val_accuracy"][-1] > 0.8  # chance is 1/3
    assert len(history.steps) == 6 * len(train) and history.steps[-1]["step"] == trainer.step == 36
    assert set(history.last) == {"epoch", "step", "lr", "loss", "accuracy", "val_loss", "val_accuracy",
                                 "val_top5_accuracy", "val_precision", "val_recall", "val_f1"}
    assert trainer.evaluate(val)["accuracy"] == history["val_accuracy"][-1]  # the same model, the same data
    outputs, targets = trainer.predict(val)
    assert outputs.shape == (60, 3) and targets.shape == (60,)


def test_hooks_run_in_order():
    train, val = _blobs()
    model = _mlp()
    recorder = Recorder()
    Trainer(model, cr.optim.SGD(model.parameters(), lr=0.1), callbacks=[recorder], progress=False).fit(
        train, val, epochs=2)
    per_batch = lambda b, step: [f"batch_begin {b}", f"before_step {step}", f"batch_end {b}"]  # noqa: E731
    expected = ["train_begin"]
    for epoch in range(2):
        expected.append(f"epoch_begin {epoch}")
        for batch in range(6):
            expected += per_batch(batch, epoch * 6 + batch + 1)
        expected.append(f"epoch_end {epoch}")
    expected.append("train_end")
    assert recorder.calls == expected


def test_per_batch_schedule_is_stepped_every_batch():
    train, val = _blobs()
    model = _mlp()
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = cr.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, epochs=3, steps_per_epoch=len(train))
    expected_optimizer = cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    expected_scheduler = cr.optim.lr_scheduler.OneCycleLR(expected_optimizer, max_lr=0.5, total_steps=18)
    expected = []
    for _ in range(18):
        expected.append(expected_scheduler.get_last_lr()[0])
        expected_scheduler.step()
    trainer = Trainer(model, optimizer, scheduler=scheduler, progress=False)
    assert trainer.scheduler_interval == "batch"
    history = trainer.fit(train, val, epochs=3)
    assert [record["lr"] for record in history.steps] == expected


def test_per_epoch_schedules():
    train, val = _blobs()
    model = _mlp()
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1)
    scheduler = cr.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    history = Trainer(model, optimizer, scheduler=scheduler, progress=False).fit(train, val, epochs=5)
    assert history["lr"] == [0.1, 0.1, 0.05, 0.05, 0.025]

    model = _mlp()
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1)
    # mode 'max' on a falling val_loss: the first epoch sets the best, each later one is "worse", so with
    # patience 0 the rate halves at the end of every epoch from the second on (logs show the rate used).
    plateau = cr.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=0)
    history = Trainer(model, optimizer, scheduler=plateau, progress=False).fit(train, val, epochs=4)
    assert history["lr"] == [0.1, 0.1, 0.05, 0.025]


def test_gradient_clipping_bounds_each_step():
    train, val = _blobs()
    model = _mlp()
    before = [p.detach().numpy().copy() for p in model.parameters()]
    trainer = Trainer(model, cr.optim.SGD(model.parameters(), lr=1.0), clip_grad_norm=1e-3, progress=False,
                      callbacks=[LambdaCallback(on_batch_end=lambda batch, logs: setattr(trainer, "stop_training", True))])
    trainer.fit(train, val, epochs=1)
    assert trainer.step == 1
    change = math.sqrt(sum(float(((p.detach().numpy() - b) ** 2).sum()) for p, b in zip(model.parameters(), before)))
    assert 0 < change <= 1e-3 * (1 + 1e-5)


def test_gradient_norms_are_recorded_per_layer():
    train, val = _blobs()
    model = _mlp()
    seen = {}

    def remember(step, logs):
        if step == 1:
            seen.update({name: float(numpy.sqrt((p.grad.detach().numpy().astype(numpy.float64) ** 2).sum()))
                         for name, p in model.named_parameters()})

    trainer = Trainer(model, cr.optim.SGD(model.parameters(), lr=0.1), progress=False,
                      callbacks=[GradientNormRecorder(), LambdaCallback(on_before_optimizer_step=remember)])
    history = trainer.fit(train, val, epochs=1)
    norms = history.grad_norms
    assert norms["steps"] == list(range(1, 7)) and sorted(norms["layers"]) == ["0", "2"]
    expected = math.sqrt(seen["0.weight"] ** 2 + seen["0.bias"] ** 2)
    assert norms["layers"]["0"][0] == pytest.approx(expected, rel=1e-6)


def test_early_stopping_stops_when_the_metric_stalls():
    train, val = _blobs()
    model = _mlp()
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    # lr 0: nothing changes, so val_loss never improves after the first epoch.
    history = Trainer(model, cr.optim.SGD(model.parameters(), lr=0.0), callbacks=[stopper], progress=False).fit(
        train, val, epochs=10)
    assert len(history) == 3 and stopper.stopped_epoch == 2
    with pytest.raises(KeyError, match="val_nope"):
        Trainer(_mlp(), cr.optim.SGD(_mlp().parameters(), lr=0.1), progress=False,
                callbacks=[EarlyStopping(monitor="val_nope")]).fit(train, val, epochs=1)


def test_regression_with_fit():
    X, y = make_linear_regression(300, n_features=3, noise=0.05, seed=0)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, generator=cr.Generator().manual_seed(0))
    val = DataLoader(TensorDataset(X, y), batch_size=300)
    cr.manual_seed(0)
    history = fit(nn.Linear(3, 1), loader, val, epochs=15, lr=0.1, task="regression", progress=False)
    assert history["val_r2"][-1] > 0.98
    assert history["val_mse"][-1] < 0.02 and set(history.last) >= {"loss", "mae", "r2", "val_mae"}


def test_csv_and_jsonl_logs(tmp_path):
    train, val = _blobs()
    model = _mlp()
    Trainer(model, cr.optim.Adam(model.parameters(), lr=0.01), progress=False,
            callbacks=[CSVLogger(tmp_path / "log.csv"), JSONLLogger(tmp_path / "log.jsonl", step_every=2)]).fit(
        train, val, epochs=3)
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [row["epoch"] for row in rows] == ["1", "2", "3"] and "val_accuracy" in rows[0]
    lines = [json.loads(line) for line in open(tmp_path / "log.jsonl")]
    assert [line["kind"] for line in lines].count("epoch") == 3
    assert [line["step"] for line in lines if line["kind"] == "step"] == list(range(2, 19, 2))


def test_progress_bar_shows_loss_accuracy_and_lr_and_is_quiet_off_a_terminal():
    train, val = _blobs()
    shown, quiet = io.StringIO(), io.StringIO()
    model = _mlp()
    Trainer(model, cr.optim.Adam(model.parameters(), lr=0.01), progress=False,
            callbacks=[ProgressBar(file=shown, enabled=True, mininterval=0), ProgressBar(file=quiet)]).fit(train, val, epochs=1)
    text = shown.getvalue()
    assert "loss=" in text and "acc=" in text and "lr=" in text and "epoch 1/1" in text
    assert quiet.getvalue() == ""  # a StringIO is not a terminal


def test_tensorboard_without_tensorboardx_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match="pip install"):
        TensorBoardLogger("runs/tb")


def test_tensorboard_writes_event_files_when_installed(tmp_path):
    pytest.importorskip("tensorboardX")
    train, val = _blobs()
    model = _mlp()
    Trainer(model, cr.optim.Adam(model.parameters(), lr=0.01), progress=False,
            callbacks=[TensorBoardLogger(tmp_path)]).fit(train, val, epochs=1)
    assert any(path.name.startswith("events.out.tfevents") for path in tmp_path.iterdir())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_non_finite_loss_stops_with_advice():
    train, val = _blobs()
    model = _mlp()
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        Trainer(model, cr.optim.SGD(model.parameters(), lr=1e30), progress=False).fit(train, val, epochs=3)


@pytest.mark.parametrize("make, error, message", [
    (lambda m: Trainer(m, cr.optim.SGD(m.parameters(), lr=0.1), task="ranking"), ValueError, "task"),
    (lambda m: Trainer(m, "adam"), TypeError, "optimizer"),
    (lambda m: Trainer(m, cr.optim.SGD(m.parameters(), lr=0.1), clip_grad_norm=-1), ValueError, "clip_grad_norm"),
    (lambda m: Trainer(m, cr.optim.SGD(m.parameters(), lr=0.1), callbacks=[print]), TypeError, "Callback"),
    (lambda m: Trainer(m, cr.optim.SGD(m.parameters(), lr=0.1), progress=False).fit(_blobs()[0], epochs=0),
     ValueError, "epochs"),
    (lambda m: Trainer(m, cr.optim.SGD(m.parameters(), lr=0.1), progress=False).fit(
        DataLoader(TensorDataset(numpy.zeros((4, 2), numpy.float32)), batch_size=2)), TypeError, "pair"),
])
def test_bad_setup_gets_a_clear_error(make, error, message):
    with pytest.raises(error, match=message):
        make(_mlp())


def test_history_api():
    history = History()
    history.add_epoch({"epoch": 1, "loss": 1.0})
    history.add_epoch({"epoch": 2, "loss": 0.5, "val_loss": 0.7})
    assert history["loss"] == [1.0, 0.5] and history["val_loss"] == [None, 0.7]
    assert "val_loss" in history and len(history) == 2 and history.last["loss"] == 0.5
    with pytest.raises(KeyError, match="recorded metrics"):
        history["accuracy"]
    copy = History()
    copy.load_state_dict(json.loads(json.dumps(history.state_dict())))
    assert copy.history == history.history


def test_evaluate_can_keep_the_outputs_predict_would_give():
    train, val = _blobs()
    model = _mlp()
    trainer = Trainer(model, cr.optim.SGD(model.parameters(), lr=0.1), progress=False)
    trainer.fit(train, epochs=1)
    metrics, outputs, targets = trainer.evaluate(val, keep_outputs=True)
    predicted, predicted_targets = trainer.predict(val)
    assert metrics == trainer.evaluate(val)
    numpy.testing.assert_array_equal(outputs, predicted)
    numpy.testing.assert_array_equal(targets, predicted_targets)
    assert outputs.shape == (60, 3) and model.training
