"""Checkpoints: atomic writes survive crashes; damaged, truncated or foreign ones are refused and change nothing."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy
import pytest

import chainrule as cr
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import (
    CheckpointError, EarlyStopping, EpochPrinter, CheckpointManager, checkpoint, decode_state, encode_state, load_checkpoint, save_checkpoint,
)
from train_helpers import assert_same_arrays, make_digit_trainer, parameters_of


def _weights(value, size=1000):
    return {"layer.weight": numpy.full(size, value, dtype=numpy.float32), "layer.bias": numpy.arange(3.0)}


def test_save_and_load_round_trip(tmp_path):
    path = save_checkpoint(tmp_path / "step-1", _weights(1.5), {"step": 1, "note": "hello", "inf": float("inf")})
    tensors, metadata = load_checkpoint(path)
    assert_same_arrays(tensors, _weights(1.5))
    assert metadata == {"step": 1, "note": "hello", "inf": float("inf")}
    assert sorted(os.listdir(path)) == ["manifest.json", "meta.json", "tensors.safetensors"]
    assert not any(name.startswith(".tmp") for name in os.listdir(tmp_path))


def test_nested_state_round_trips_exactly():
    state = {"state": {0: {"step": 3, "exp_avg": cr.tensor([0.1, 0.2])}, 1: {"step": 3}},
             "param_groups": [{"lr": 0.1 + 0.2, "betas": (0.9, 0.999), "params": [0, 1]}], "best": float("-inf")}
    tensors = {}
    encoded = json.loads(json.dumps(encode_state(state, "optimizer", tensors)))  # through JSON text and back
    decoded = decode_state(encoded, tensors)
    assert decoded["state"][0]["exp_avg"].numpy().tobytes() == state["state"][0]["exp_avg"].numpy().tobytes()
    assert decoded["state"][1] == {"step": 3}
    assert decoded["param_groups"][0]["betas"] == (0.9, 0.999)
    assert decoded["param_groups"][0]["lr"] == 0.1 + 0.2  # bitwise: JSON keeps the shortest repr
    assert decoded["best"] == float("-inf")


def test_unsaveable_objects_are_refused_with_their_place():
    with pytest.raises(TypeError, match="optimizer/fn"):
        encode_state({"fn": lambda x: x}, "optimizer", {})


def _crash_after_half(monkeypatch, which):
    """Make the write of file ``which`` put half its bytes on disk and then fail, like a full disk or a crash."""
    original = checkpoint._write_bytes

    def half_then_fail(path, data):
        if path.name == which:
            with open(path, "xb") as handle:
                handle.write(data[:len(data) // 2])
            raise OSError(28, "No space left on device")
        original(path, data)

    monkeypatch.setattr(checkpoint, "_write_bytes", half_then_fail)


@pytest.mark.parametrize("which", ["tensors.safetensors", "meta.json"])
@pytest.mark.parametrize("same_path", [False, True], ids=["new-path", "overwrite"])
def test_a_crash_mid_write_leaves_the_previous_checkpoint_loadable(tmp_path, monkeypatch, which, same_path):
    manager = CheckpointManager(tmp_path, keep_last=2)
    manager.save(1, _weights(1.0), {"step": 1})
    _crash_after_half(monkeypatch, which)
    with pytest.raises(OSError, match="No space"):
        manager.save(1 if same_path else 2, _weights(2.0), {"step": 2})
    monkeypatch.undo()
    assert [path.name for path in manager.checkpoints()] == ["step-00000001"]
    tensors, metadata = load_checkpoint(manager.latest())
    assert_same_arrays(tensors, _weights(1.0))
    assert metadata["step"] == 1
    assert sorted(os.listdir(tmp_path)) == [".lock", "step-00000001"]  # the partial temporary folder was removed


SIGKILL_SCRIPT = textwrap.dedent("""
    import sys, time, numpy
    from chainrule.train import checkpoint

    target = sys.argv[1]
    checkpoint.save_checkpoint(target, {"w": numpy.full(10, 1.0)}, {"version": "old"})
    original = checkpoint._write_bytes

    def slow_write(path, data):
        with open(path, "xb") as handle:
            for start in range(0, len(data), 1 << 16):
                handle.write(data[start:start + (1 << 16)])
                handle.flush()
                if start == 0:
                    print("writing", flush=True)
                time.sleep(0.05)

    checkpoint._write_bytes = slow_write
    checkpoint.save_checkpoint(target, {"w": numpy.full(4_000_000, 2.0)}, {"version": "new"})
    print("finished", flush=True)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_during_a_write_leaves_the_previous_checkpoint_loadable(tmp_path):
    target = tmp_path / "checkpoints" / "step-00000005"
    process = subprocess.Popen([sys.executable, "-c", SIGKILL_SCRIPT, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "writing"
        time.sleep(0.2)  # a few chunks of the new tensors file are on disk
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    leftovers = [name for name in os.listdir(target.parent) if name.startswith(".tmp-")]
    assert len(leftovers) == 1  # the killed write's temporary folder, never looked at by the loader
    tensors, metadata = load_checkpoint(target)
    assert metadata == {"version": "old"} and tensors["w"].tolist() == [1.0] * 10
    manager = CheckpointManager(target.parent).acquire()  # opening the folder for writing clears the leftover
    assert [path.name for path in manager.checkpoints()] == ["step-00000005"]
    assert not [name for name in os.listdir(target.parent) if name.startswith(".tmp-")]


def test_rotation_keeps_the_last_n_and_the_best(tmp_path):
    manager = CheckpointManager(tmp_path, keep_last=2, monitor="val_accuracy", mode="max")
    for step, accuracy in [(10, 0.5), (20, 0.9), (30, 0.7), (40, 0.8), (50, None)]:
        manager.save(step, _weights(step), {"step": step}, metrics={} if accuracy is None else {"val_accuracy": accuracy})
    assert [path.name for path in manager.checkpoints()] == ["step-00000020", "step-00000040", "step-00000050"]
    assert manager.best().name == "step-00000020"
    assert manager.latest().name == "step-00000050"


# ----- refusing bad checkpoints, changing nothing ---------------------------------------------------
@pytest.fixture()
def trained(tmp_path):
    """A trainer after one epoch with its checkpoints, and a copy of its state to compare against."""
    trainer, train_loader, val_loader = make_digit_trainer(tmp_path / "run", checkpoint_every=None)
    trainer.fit(train_loader, val_loader, epochs=1)
    good = CheckpointManager(tmp_path / "run" / "checkpoints").latest()
    return trainer, good, tmp_path


def _state(trainer):
    optimizer = trainer.optimizer.state_dict()
    buffers = {f"{index}/{name}": value.numpy().copy() for index, state in optimizer["state"].items()
               for name, value in state.items() if hasattr(value, "numpy")}
    return (parameters_of(trainer.model), buffers, json.dumps(trainer.scheduler.state_dict(), default=str),
            json.dumps(trainer.history.state_dict()), trainer.step, trainer.epoch, cr.get_rng_state(),
            json.dumps(trainer.train_loader.state_dict()))


def _assert_unchanged(trainer, before):
    after = _state(trainer)
    assert_same_arrays(before[0], after[0])
    assert_same_arrays(before[1], after[1])
    assert before[2:] == after[2:]


def _copy(source, destination):
    destination.mkdir(parents=True)
    for name in os.listdir(source):
        (destination / name).write_bytes((source / name).read_bytes())
    return destination


def _truncate_tensors(folder):
    data = (folder / "tensors.safetensors").read_bytes()
    (folder / "tensors.safetensors").write_bytes(data[:len(data) // 3])


def _flip_a_byte(folder):
    data = bytearray((folder / "tensors.safetensors").read_bytes())
    data[-5] ^= 0xFF
    (folder / "tensors.safetensors").write_bytes(bytes(data))


def _garble_meta(folder):
    (folder / "meta.json").write_text('{"format": "chainrule-checkpoint", "vers')


def _foreign_meta(folder):
    (folder / "meta.json").write_text(json.dumps({"model": "something else"}))


def _remove_tensors(folder):
    (folder / "tensors.safetensors").unlink()


def _binary_meta(folder):
    (folder / "meta.json").write_bytes(bytes(range(256)))


@pytest.mark.parametrize("damage, message", [
    (_truncate_tensors, "records"), (_flip_a_byte, "does not match the SHA-256"), (_garble_meta, "records"),
    (_foreign_meta, "records"), (_remove_tensors, "incomplete"), (_binary_meta, "records"),
])
def test_a_damaged_checkpoint_is_refused_and_changes_nothing(trained, damage, message):
    trainer, good, tmp_path = trained
    bad = _copy(good, tmp_path / "bad")
    damage(bad)
    before = _state(trainer)
    with pytest.raises(CheckpointError, match=message):
        trainer.load_checkpoint(bad)
    _assert_unchanged(trainer, before)


def test_a_file_or_missing_folder_is_refused(trained):
    trainer, _, tmp_path = trained
    (tmp_path / "model.pt").write_bytes(b"\x80\x04 not a checkpoint")
    before = _state(trainer)
    for path, message in [(tmp_path / "model.pt", "is not a checkpoint"), (tmp_path / "nowhere", "no checkpoint")]:
        with pytest.raises(CheckpointError, match=message):
            trainer.load_checkpoint(path)
    _assert_unchanged(trainer, before)


def test_a_checkpoint_of_another_model_is_refused_and_changes_nothing(trained):
    trainer, good, tmp_path = trained
    other, train_loader, val_loader = make_digit_trainer(tmp_path / "other", checkpoint_every=None)
    other.train_loader, other.val_loader = train_loader, val_loader
    other.model[0].weight.array = numpy.zeros((5, 1, 3, 3), dtype=numpy.float32)  # a different shape
    other_state = _state(other)
    with pytest.raises(CheckpointError, match="shape"):
        other.load_checkpoint(good)
    _assert_unchanged(other, other_state)


def test_a_failure_half_way_through_restoring_rolls_everything_back(trained):
    trainer, good, tmp_path = trained
    # Same model, optimizer, scheduler and callbacks, but a loader with another batch size: the model and
    # optimizer load fine, then the loader's state is refused; all that was restored must be undone.
    fresh, _, val_loader = make_digit_trainer(tmp_path / "fresh", seed=5, checkpoint_every=None)
    images, labels = trainer.train_loader.dataset.arrays
    fresh.train_loader = DataLoader(TensorDataset(images, labels), batch_size=64, shuffle=True)
    before = _state(fresh)
    with pytest.raises(CheckpointError, match="batch_size"):
        fresh.load_checkpoint(good)
    _assert_unchanged(fresh, before)


def test_callbacks_with_state_must_be_there_to_resume(trained):
    trainer, good, tmp_path = trained
    fresh, train_loader, val_loader = make_digit_trainer(tmp_path / "fresh", checkpoint_every=None)
    fresh.train_loader, fresh.val_loader = train_loader, val_loader
    fresh.callbacks.append(EarlyStopping(patience=2))  # it has state that the checkpoint does not hold
    fresh_state = _state(fresh)
    with pytest.raises(CheckpointError, match="no state for the callback EarlyStopping"):
        fresh.load_checkpoint(good)
    _assert_unchanged(fresh, fresh_state)


def test_the_good_checkpoint_still_loads_after_all_that(trained):
    trainer, good, tmp_path = trained
    fresh, train_loader, val_loader = make_digit_trainer(tmp_path / "fresh", seed=9, checkpoint_every=None)
    fresh.train_loader, fresh.val_loader = train_loader, val_loader
    fresh.callbacks.append(EpochPrinter())  # a stateless callback may be added when resuming
    fresh.load_checkpoint(good)
    assert_same_arrays(parameters_of(trainer.model), parameters_of(fresh.model))
    assert fresh.epoch == 1 and fresh.step == trainer.step
