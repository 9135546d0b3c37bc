"""A resumed run continues bitwise as if it had never stopped; two runs with one seed are bitwise equal."""
import json

import numpy
import pytest

from chainrule.train import CheckpointManager, load_checkpoint
from train_helpers import StopAtStep, assert_same_arrays, make_digit_trainer, parameters_of

EPOCHS = 3
BATCHES = 13  # 200 images in batches of 16: steps 1..39; checkpoints every 3 steps and at each epoch end


def _finished_run(folder, seed=0):
    trainer, train_loader, val_loader = make_digit_trainer(folder, seed=seed)
    history = trainer.fit(train_loader, val_loader, epochs=EPOCHS)
    return trainer, history


def _optimizer_arrays(trainer):
    state = trainer.optimizer.state_dict()["state"]
    return {f"{index}/{name}": (value.numpy() if hasattr(value, "numpy") else numpy.asarray(value))
            for index, buffers in state.items() for name, value in buffers.items()}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uninterrupted")
    trainer, history = _finished_run(folder)
    return folder, trainer, history


def test_the_tiny_run_learns(uninterrupted):
    _, trainer, history = uninterrupted
    losses = history["loss"]
    assert losses[-1] < 0.8 * losses[0]
    assert history["val_accuracy"][-1] > 0.4  # chance is 0.1; 200 images and 39 steps
    assert trainer.step == EPOCHS * BATCHES and trainer.epoch == EPOCHS


def test_same_seed_gives_bitwise_the_same_run(tmp_path, uninterrupted):
    folder, first, first_history = uninterrupted
    second, second_history = _finished_run(tmp_path)
    assert_same_arrays(parameters_of(first.model), parameters_of(second.model))
    assert_same_arrays(_optimizer_arrays(first), _optimizer_arrays(second))
    assert first_history.state_dict() == second_history.state_dict()
    for name in ("log.csv", "log.jsonl"):
        assert (folder / name).read_bytes() == (tmp_path / name).read_bytes()


def test_another_seed_gives_another_run(tmp_path, uninterrupted):
    _, first, _ = uninterrupted
    other, _ = _finished_run(tmp_path, seed=1)
    assert parameters_of(first.model)["0.weight"].tobytes() != parameters_of(other.model)["0.weight"].tobytes()


@pytest.mark.parametrize("stop_at, resume_step", [(17, 15), (14, 13)], ids=["mid-epoch", "epoch-boundary"])
def test_resume_equals_the_uninterrupted_run_bitwise(tmp_path, uninterrupted, stop_at, resume_step):
    reference_folder, reference, reference_history = uninterrupted

    stopped, train_loader, val_loader = make_digit_trainer(tmp_path, stop_at=stop_at)
    with pytest.raises(StopAtStep.Interrupted):
        stopped.fit(train_loader, val_loader, epochs=EPOCHS)
    latest = CheckpointManager(tmp_path / "checkpoints").latest()
    assert latest.name == f"step-{resume_step:08d}"
    assert load_checkpoint(latest)[1]["step"] == resume_step

    # A fresh process would build everything anew (with another initialization) and resume.
    resumed, train_loader, val_loader = make_digit_trainer(tmp_path, seed=123)
    history = resumed.fit(train_loader, val_loader, epochs=EPOCHS, resume_from=latest)

    assert_same_arrays(parameters_of(reference.model), parameters_of(resumed.model))
    assert_same_arrays(_optimizer_arrays(reference), _optimizer_arrays(resumed))
    assert reference.scheduler.state_dict() == resumed.scheduler.state_dict()
    assert reference_history.state_dict() == history.state_dict()
    for name in ("log.csv", "log.jsonl"):
        assert (reference_folder / name).read_bytes() == (tmp_path / name).read_bytes(), name

    # The checkpoints written after the resume hold the same bytes as the uninterrupted run's.
    final = f"step-{EPOCHS * BATCHES:08d}"
    reference_tensors, reference_meta = load_checkpoint(reference_folder / "checkpoints" / final)
    resumed_tensors, resumed_meta = load_checkpoint(tmp_path / "checkpoints" / final)
    assert_same_arrays(reference_tensors, resumed_tensors)
    assert json.dumps(reference_meta["history"]) == json.dumps(resumed_meta["history"])
    assert reference_meta["default_generator"] == resumed_meta["default_generator"]


def test_fit_can_be_called_again_to_train_further(tmp_path, uninterrupted):
    reference_folder, reference, _ = uninterrupted
    trainer, train_loader, val_loader = make_digit_trainer(tmp_path, epochs_for_schedule=3)
    trainer.fit(train_loader, val_loader, epochs=1)
    trainer.fit(train_loader, val_loader, epochs=3)
    assert trainer.epoch == 3 and len(trainer.history) == 3 and trainer.step == 3 * BATCHES
    assert_same_arrays(parameters_of(reference.model), parameters_of(trainer.model))
    for name in ("log.csv", "log.jsonl"):  # the logs continue rather than start over
        assert (reference_folder / name).read_bytes() == (tmp_path / name).read_bytes(), name
