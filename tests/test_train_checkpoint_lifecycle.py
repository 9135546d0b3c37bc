"""Losing no data: re-saves recoverable between renames, rotation that never half-deletes or deletes the newest,
resumes that start a new timeline, one writer per folder, errors that name the file, the last batch checkpointed."""
import errno
import os
import shutil
import subprocess
import sys
import textwrap
import time

import numpy
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import DataLoader, TensorDataset, make_blobs
from chainrule.train import Callback, CheckpointManager, ModelCheckpoint, Trainer, checkpoint, load_checkpoint
from chainrule.train.checkpoint import FolderLock, recover_checkpoints, save_checkpoint
from chainrule.train.job import OPTIMIZERS, SCHEDULES, build_optimizer, build_scheduler
from train_helpers import assert_same_arrays, make_digit_trainer, parameters_of


def _weights(value):
    return {"w": numpy.full(100, value, dtype=numpy.float32)}


def _crash_on_replace(monkeypatch, crash_at):
    """Make the ``crash_at``-th os.replace of the checkpoint module raise, as a kill at that moment would."""
    original, calls = os.replace, []

    def replace(source, destination):
        calls.append((source, destination))
        if len(calls) == crash_at:
            raise KeyboardInterrupt("killed")
        original(source, destination)

    monkeypatch.setattr(checkpoint.os, "replace", replace)


@pytest.mark.parametrize("crash_at, survivor", [(1, 1.0), (2, 2.0)], ids=["before-first-rename", "between-renames"])
def test_resaving_a_step_is_recoverable_at_every_moment(tmp_path, monkeypatch, crash_at, survivor):
    save_checkpoint(tmp_path / "step-00000005", _weights(1.0), {"version": "old"})
    _crash_on_replace(monkeypatch, crash_at)
    # save_checkpoint's except-clause removes its temporary folder on the way out; a kill does not,
    # so keep it: the folder is then as a killed process leaves it.
    monkeypatch.setattr(checkpoint.shutil, "rmtree", lambda *args, **kwargs: None)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "step-00000005", _weights(2.0), {"version": "new"})
    monkeypatch.undo()
    manager = CheckpointManager(tmp_path).acquire()  # a new process opening the folder for writing
    assert [path.name for path in manager.checkpoints()] == ["step-00000005"]
    tensors, _ = load_checkpoint(manager.latest())
    assert float(tensors["w"][0]) == survivor
    assert sorted(os.listdir(tmp_path)) == [".lock", "step-00000005"]
    manager.release()


def test_an_old_copy_whose_new_copy_is_damaged_is_put_back(tmp_path):
    save_checkpoint(tmp_path / "step-00000005", _weights(1.0), {})
    save_checkpoint(tmp_path / "new", _weights(2.0), {})
    os.replace(tmp_path / "step-00000005", tmp_path / ".old-step-00000005-7-0a1b2c3d")
    os.replace(tmp_path / "new", tmp_path / ".tmp-step-00000005-7-0a1b2c3d")
    (tmp_path / ".tmp-step-00000005-7-0a1b2c3d" / "tensors.safetensors").write_bytes(b"torn")
    assert recover_checkpoints(tmp_path) == ["step-00000005"]
    assert float(load_checkpoint(tmp_path / "step-00000005")[0]["w"][0]) == 1.0
    assert os.listdir(tmp_path) == ["step-00000005"]


def test_an_interrupted_rotation_never_leaves_a_step_without_its_tensors(tmp_path, monkeypatch):
    manager = CheckpointManager(tmp_path, keep_last=1)
    manager.save(1, _weights(1.0), {})
    real_rmtree = checkpoint.shutil.rmtree

    def killed_half_way(path, ignore_errors=False):
        os.remove(os.path.join(path, "tensors.safetensors"))  # the first file is gone, then the process dies
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(checkpoint.shutil, "rmtree", killed_half_way)
    with pytest.raises(KeyboardInterrupt):
        manager.save(2, _weights(2.0), {})
    monkeypatch.setattr(checkpoint.shutil, "rmtree", real_rmtree)
    for path in tmp_path.glob("step-*"):  # only whole checkpoints carry a step name
        load_checkpoint(path)
    manager.release()
    reopened = CheckpointManager(tmp_path, keep_last=1).acquire()
    assert [path.name for path in reopened.checkpoints()] == ["step-00000002"]
    assert not list(tmp_path.glob(".del-*"))
    reopened.release()


def test_rotation_never_deletes_what_was_just_written(tmp_path):
    manager = CheckpointManager(tmp_path, keep_last=1)
    for step in (10, 20, 30):
        manager.save(step, _weights(step), {})
    path = manager.save(15, _weights(15), {})  # a lower step than those on disk: still kept
    assert path.exists() and load_checkpoint(path)[0]["w"][0] == 15
    manager.release()


def test_the_best_breaks_ties_by_validation_loss(tmp_path):
    manager = CheckpointManager(tmp_path, keep_last=None, monitor="val_accuracy", mode="max")
    for step, accuracy, loss in [(1, 0.9, 0.40), (2, 0.9, 0.30), (3, 0.9, 0.35), (4, 0.8, 0.10)]:
        manager.save(step, _weights(step), {}, metrics={"val_accuracy": accuracy, "val_loss": loss})
    assert manager.best().name == "step-00000002"
    manager.release()


def test_choosing_the_best_never_blocks_on_a_pipe(tmp_path):
    manager = CheckpointManager(tmp_path, keep_last=None, monitor="val_loss", mode="min")
    manager.save(1, _weights(1.0), {}, metrics={"val_loss": 0.5})
    manager.save(2, _weights(2.0), {}, metrics={"val_loss": 0.1})
    (tmp_path / "step-00000002" / "meta.json").unlink()
    os.mkfifo(tmp_path / "step-00000002" / "meta.json")  # reading it plainly would wait forever
    assert manager.best().name == "step-00000001"
    manager.release()


def test_resuming_from_an_older_step_sets_the_later_ones_aside(tmp_path, capsys):
    trainer, train_loader, val_loader = make_digit_trainer(tmp_path)
    trainer.fit(train_loader, val_loader, epochs=2)
    later = sorted(path.name for path in (tmp_path / "checkpoints").glob("step-*") if int(path.name[5:]) > 9)
    resumed, train_loader, val_loader = make_digit_trainer(tmp_path, seed=5)
    resumed.fit(train_loader, val_loader, epochs=2, resume_from=tmp_path / "checkpoints" / "step-00000009")
    assert "abandoned timeline" in capsys.readouterr().out
    aside = list((tmp_path / "checkpoints").glob("abandoned-*"))
    assert len(aside) == 1 and sorted(os.listdir(aside[0])) == later
    manager = CheckpointManager(tmp_path / "checkpoints")
    assert manager.latest().name == "step-00000026"  # the new timeline's end, written by this run
    assert_same_arrays(load_checkpoint(aside[0] / "step-00000026")[0], load_checkpoint(manager.latest())[0])


class StopOnStep(Callback):
    def __init__(self, step):
        self.step = step

    def on_batch_end(self, batch, logs):
        if logs["step"] == self.step:
            self.trainer.stop_training = True


def test_stopping_on_the_last_batch_of_an_epoch_writes_its_checkpoint(tmp_path):
    trainer, train_loader, val_loader = make_digit_trainer(tmp_path, checkpoint_every=None)
    trainer.callbacks.append(StopOnStep(13))  # 13 batches per epoch: the last batch of epoch 1
    trainer.fit(train_loader, val_loader, epochs=3)
    assert trainer.epoch == 1 and trainer.step == 13
    assert load_checkpoint(tmp_path / "checkpoints" / "step-00000013")[1]["epoch"] == 1


def test_a_full_disk_names_the_file(tmp_path, monkeypatch):
    def no_space(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint.os, "fsync", no_space)
    with pytest.raises(OSError, match="No space left on device") as error:
        save_checkpoint(tmp_path / "step-00000001", _weights(1.0), {})
    assert "tensors.safetensors" in str(error.value) and str(tmp_path) in str(error.value)
    assert not list(tmp_path.iterdir())  # nothing half-written left behind


HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from chainrule.train.checkpoint import FolderLock
    with FolderLock(sys.argv[1], "run folder"):
        print("holding", flush=True)
        time.sleep(60)
""")


def test_a_second_process_on_one_folder_fails_at_once(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.perf_counter()
        with pytest.raises(RuntimeError, match=f"run folder {tmp_path} is in use by another process \\(pid "
                                               f"{holder.pid}\\)"):
            FolderLock(tmp_path, "run folder").acquire()
        assert time.perf_counter() - started < 1.0  # at once, not after a wait
    finally:
        holder.kill()
        holder.wait(timeout=30)
    with FolderLock(tmp_path, "run folder"):  # the OS released the dead holder's lock
        pass


def test_a_second_trainer_on_a_busy_folder_fails_before_touching_its_logs(tmp_path):
    (tmp_path / "log.csv").write_text("the first run's log\n")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path / "checkpoints")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        trainer, train_loader, val_loader = make_digit_trainer(tmp_path)  # CSVLogger comes before ModelCheckpoint
        with pytest.raises(RuntimeError, match="is in use by another process"):
            trainer.fit(train_loader, val_loader, epochs=1)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert (tmp_path / "log.csv").read_text() == "the first run's log\n"
    trainer.fit(train_loader, val_loader, epochs=1)  # once the other process is gone, training goes ahead
    assert trainer.epoch == 1


# Every optimizer under one-cycle (which also cycles momentum or beta1), every schedule under SGD with momentum
# (whose buffer is created lazily, not by init_state).
COMBINATIONS = [(name, "onecycle") for name in OPTIMIZERS] + [("sgd", name) for name in SCHEDULES if name != "onecycle"]


@pytest.mark.parametrize("optimizer, schedule", COMBINATIONS, ids=[f"{a}-{b}" for a, b in COMBINATIONS])
def test_every_optimizer_and_schedule_resumes_bitwise_through_the_checks(tmp_path, optimizer, schedule):
    """The checks refuse lies, never an honest checkpoint: each optimizer and schedule of the main job resumes."""
    def build(folder, seed):
        cr.manual_seed(seed)
        X, y = make_blobs(60, n_classes=3, seed=0)
        loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True,
                            generator=cr.Generator().manual_seed(seed))
        model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3))
        built = build_optimizer(optimizer, model.parameters(), 0.01, weight_decay=0.01, momentum=0.9)
        scheduler = build_scheduler(schedule, built, 0.01, 3, len(loader))
        callbacks = [ModelCheckpoint(folder, every_n_steps=3, keep_last=None, monitor="val_loss")]
        trainer = Trainer(model, built, scheduler=scheduler, callbacks=callbacks, progress=False)
        return trainer, loader, DataLoader(TensorDataset(X, y), batch_size=60)

    reference, loader, val_loader = build(tmp_path / "reference", 0)
    reference.fit(loader, val_loader, epochs=3)
    for step in (3, 4, 8):  # mid-epoch and at epoch ends (4 batches per epoch)
        resumed, loader, val_loader = build(tmp_path / f"resumed-{step}", 7)
        shutil.copytree(tmp_path / "reference" / f"step-{step:08d}", tmp_path / f"resumed-{step}" / f"step-{step:08d}")
        resumed.fit(loader, val_loader, epochs=3, resume_from=tmp_path / f"resumed-{step}" / f"step-{step:08d}")
        assert_same_arrays(parameters_of(reference.model), parameters_of(resumed.model))
