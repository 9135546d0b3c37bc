"""Fuzzing checkpoint loading: every damaged, foreign or lying checkpoint is a clear error that changes nothing.

Three families of cases, each loaded into a live trainer:

- bytes: truncations, byte flips (header, body, metadata, manifest), lying sizes, missing files,
  strangers in the folder, a folder, a link or a pipe in place of a file, a pickle;
- lies with valid hashes (the manifest re-signed after the edit): metadata that is not an
  object or nests 10,000 deep, counters out of range or disagreeing with the history, a NaN or
  negative learning rate, weights stored as int32, a transposed optimizer buffer, missing or
  extra buffers, duplicate keys in the safetensors header and in meta.json, headers whose
  offsets overlap or leave gaps, scheduler and callback states of the wrong shape;
- the main job's model record: specs naming unknown models, huge layers, or a parameter count
  the tensors do not hold.

The oracle: a ``CheckpointError`` (a ``ValueError``) whose message names the checkpoint, and
the trainer's whole state bitwise as it was, or (for harmless byte changes, should one occur)
a load that equals the good checkpoint's. Never another exception, a hang, or a silent change.
"""
import hashlib
import json
import os
import pickle
import shutil

import numpy
import pytest

import chainrule as cr
import chainrule.optim  # noqa: F401  (registers cr.optim)
from chainrule import nn
from chainrule.data import DataLoader, TensorDataset, make_blobs
from chainrule.models import mlp, model_spec
from chainrule.train import (
    CheckpointError, CSVLogger, EarlyStopping, JSONLLogger, ModelCheckpoint, Trainer, load_checkpoint, save_checkpoint,
)
from chainrule.train.checkpoint import MANIFEST_FILE, META_FILE, TENSORS_FILE
from chainrule.train.job import TrainConfig, load_trained
from train_helpers import assert_same_arrays

FILES = (TENSORS_FILE, META_FILE, MANIFEST_FILE)
CASES = []  # (id, function(folder) -> None) of every case, counted by test_the_fuzzing_covers_enough_cases


def case(function):
    CASES.append((function.__name__, function))
    return function


def _trainer(folder, seed=0):
    cr.manual_seed(seed)
    X, y = make_blobs(96, n_classes=3, seed=0)
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, generator=cr.Generator().manual_seed(seed))
    val_loader = DataLoader(TensorDataset(X, y), batch_size=48)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer = cr.optim.Adam(model.parameters(), lr=0.01)
    scheduler = cr.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, epochs=3, steps_per_epoch=len(loader))
    callbacks = [CSVLogger(folder / "log.csv"), JSONLLogger(folder / "log.jsonl"),
                 EarlyStopping(monitor="val_loss", patience=5),
                 ModelCheckpoint(folder / "checkpoints", every_n_steps=4, keep_last=None, monitor="val_accuracy")]
    trainer = Trainer(model, optimizer, scheduler=scheduler, callbacks=callbacks, progress=False)
    trainer.train_loader, trainer.val_loader, trainer.batches_per_epoch = loader, val_loader, len(loader)
    return trainer, loader, val_loader


def _state(trainer):
    optimizer = trainer.optimizer.state_dict()
    buffers = {f"{index}/{name}": value.numpy().copy() for index, state in optimizer["state"].items()
               for name, value in state.items() if hasattr(value, "numpy")}
    plain = {index: {name: value for name, value in state.items() if not hasattr(value, "numpy")}
             for index, state in optimizer["state"].items()}
    return ({name: value.numpy().copy() for name, value in trainer.model.state_dict().items()}, buffers,
            json.dumps([plain, optimizer["param_groups"], trainer.scheduler.state_dict(), trainer.history.state_dict(),
                        trainer.train_accumulator.state_dict(), [c.state_dict() for c in trainer.callbacks],
                        cr.get_rng_state(), trainer.train_loader.state_dict(),
                        [trainer.step, trainer.epoch, trainer.batch_in_epoch]], default=str))


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A checkpoint after 10 steps (mid-epoch 2, optimizer buffers, scheduler and callback state in it)."""
    folder = tmp_path_factory.mktemp("fuzz")
    trainer, loader, val_loader = _trainer(folder / "run")
    trainer.fit(loader, val_loader, epochs=2)
    checkpoint = folder / "run" / "checkpoints" / "step-00000008"
    fresh, _, _ = _trainer(folder / "fresh", seed=1)
    fresh.load_checkpoint(checkpoint)
    return folder, checkpoint, _state(fresh)


def _sign(folder):
    """Rewrite the manifest so that it matches the files as they are now: the lie passes every hash."""
    files = {}
    for name in (META_FILE, TENSORS_FILE):
        data = (folder / name).read_bytes()
        files[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest = {"format": "chainrule-checkpoint-manifest", "version": 2, "files": files}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))


def _resave(folder, edit):
    """Load the good checkpoint in ``folder``, let ``edit(tensors, metadata)`` lie, save it back with valid hashes."""
    tensors, metadata = load_checkpoint(folder)
    edit(tensors, metadata)
    shutil.rmtree(folder)
    save_checkpoint(folder, tensors, metadata)


def _meta(folder):
    return json.loads((folder / META_FILE).read_text())


def _write_meta(folder, document, sign=True):
    (folder / META_FILE).write_text(json.dumps(document))
    if sign:
        _sign(folder)


def _header(folder):
    data = (folder / TENSORS_FILE).read_bytes()
    length = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + length]), data[8 + length:]


def _write_header(folder, header_text, body, length=None):
    raw = header_text.encode()
    (folder / TENSORS_FILE).write_bytes((len(raw) if length is None else length).to_bytes(8, "little") + raw + body)
    _sign(folder)


# ----- bytes --------------------------------------------------------------------------------------
def _truncation(name, keep):
    def damage(folder):
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[:keep(len(data))])
    damage.__name__ = f"truncate_{name}_{keep.__name__}"
    return damage


def _to_zero(size): return 0
def _to_one(size): return 1
def _to_eight(size): return 8
def _to_half(size): return size // 2
def _minus_one(size): return size - 1


for _name in FILES:
    for _keep in (_to_zero, _to_one, _to_eight, _to_half, _minus_one):
        case(_truncation(_name, _keep))


def _flip(name, position, region):
    def damage(folder):
        data = bytearray((folder / name).read_bytes())
        if region == "header":
            index = 8 + position % max(1, int.from_bytes(data[:8], "little"))
        elif region == "body":
            header = int.from_bytes(data[:8], "little")
            index = 8 + header + position % max(1, len(data) - 8 - header)
        else:
            index = position % len(data)
        data[index] ^= 0x01 << (position % 8)
        (folder / name).write_bytes(bytes(data))
    damage.__name__ = f"flip_{name}_{region}_{position}"
    return damage


_positions = numpy.random.default_rng(0).integers(0, 1 << 30, size=12).tolist()
for _position in _positions:
    case(_flip(TENSORS_FILE, _position, "header"))
    case(_flip(TENSORS_FILE, _position, "body"))
    case(_flip(META_FILE, _position, "any"))
    case(_flip(MANIFEST_FILE, _position, "any"))
case(_flip(TENSORS_FILE, 0, "length"))        # the header-length field itself (first byte)
case(_flip(TENSORS_FILE, 7 * 8 + 7, "length"))  # its top byte: a header claiming 2^63 bytes


def _flip_then_sign(name, position):
    """A flipped byte with the manifest re-signed: only the file's own structure can catch it."""
    flip = _flip(name, position, "header" if name == TENSORS_FILE else "any")

    def damage(folder):
        flip(folder)
        _sign(folder)
    damage.__name__ = f"flip_and_sign_{name}_{position}"
    return damage


for _position in _positions[:6]:
    case(_flip_then_sign(TENSORS_FILE, _position))
    case(_flip_then_sign(META_FILE, _position))


def _lying_size(name, delta):
    def damage(folder):
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        manifest["files"][name]["bytes"] += delta
        (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    damage.__name__ = f"manifest_size_{name}_{delta:+d}"
    return damage


for _name in (META_FILE, TENSORS_FILE):
    for _delta in (-1, 1, 1 << 40):
        case(_lying_size(_name, _delta))


def _missing(name):
    def damage(folder):
        (folder / name).unlink()
    damage.__name__ = f"missing_{name}"
    return damage


def _folder_instead(name):
    def damage(folder):
        (folder / name).unlink()
        (folder / name).mkdir()
    damage.__name__ = f"folder_instead_of_{name}"
    return damage


def _link_instead(name):
    def damage(folder):
        target = folder.parent / f"elsewhere-{name}"
        (folder / name).rename(target)
        (folder / name).symlink_to(target)
    damage.__name__ = f"link_instead_of_{name}"
    return damage


for _name in FILES:
    case(_missing(_name))
    case(_folder_instead(_name))
    case(_link_instead(_name))


@case
def pipe_instead_of_tensors(folder):
    (folder / TENSORS_FILE).unlink()
    os.mkfifo(folder / TENSORS_FILE)  # reading it would block forever: it must never be opened


@case
def pickle_instead_of_tensors(folder):
    (folder / TENSORS_FILE).write_bytes(pickle.dumps({"model/0.weight": numpy.zeros((8, 2))}))
    _sign(folder)


@case
def pickle_beside_the_files(folder):
    (folder / "model.pt").write_bytes(pickle.dumps(os.system))


@case
def python_file_beside_the_files(folder):
    (folder / "model.py").write_text("raise SystemExit(3)\n")


@case
def manifest_not_an_object(folder):
    (folder / MANIFEST_FILE).write_text("[1, 2, 3]")


@case
def manifest_with_an_extra_file(folder):
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["files"]["model.py"] = manifest["files"][META_FILE]
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))


@case
def manifest_of_a_future_version(folder):
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["version"] = 3
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))


@case
def manifest_huge(folder):
    (folder / MANIFEST_FILE).write_text(" " * (1 << 17) + "{}")


@case
def duplicate_key_in_manifest(folder):
    text = (folder / MANIFEST_FILE).read_text()
    (folder / MANIFEST_FILE).write_text(text.replace('"version": 2', '"version": 2, "version": 2', 1))


# ----- lies with valid hashes: the metadata -------------------------------------------------------
def _metadata_is(value, name):
    def damage(folder):
        document = _meta(folder)
        document["metadata"] = value
        _write_meta(folder, document)
    damage.__name__ = f"metadata_is_{name}"
    return damage


for _value, _name in (("a string", "string"), ([1, 2], "list"), (3, "number"), (None, "null"),
                      ({"step": 3}, "missing_fields")):
    case(_metadata_is(_value, _name))


def _metadata_nested(depth):
    def damage(folder):
        (folder / META_FILE).write_text('{"format": "chainrule-checkpoint", "version": 2, "metadata": '
                                        + "[" * depth + "]" * depth + "}")
        _sign(folder)
    damage.__name__ = f"metadata_nested_{depth}_deep"
    return damage


for _depth in (65, 900, 10_000):
    case(_metadata_nested(_depth))


@case
def meta_nested_beyond_the_parser(folder):
    (folder / META_FILE).write_text("[" * 200_000 + "]" * 200_000)
    _sign(folder)


@case
def duplicate_key_in_meta(folder):
    text = (folder / META_FILE).read_text()
    (folder / META_FILE).write_text(text.replace('"step": 8', '"step": 8, "step": 0', 1))
    _sign(folder)


@case
def meta_of_another_format(folder):
    document = _meta(folder)
    document["format"] = "keras"
    _write_meta(folder, document)


def _field(path, value):
    """Set ``metadata[path...]`` to value; the path is a tuple of keys and indices."""
    def damage(folder):
        document = _meta(folder)
        target = document["metadata"]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        _write_meta(folder, document)
    damage.__name__ = "field_" + "_".join(map(str, path)) + f"_is_{value!r}"[:40]
    return damage


for _path, _value in [
    (("step",), 999_999), (("step",), -1), (("step",), 1.5), (("step",), "8"), (("step",), True),
    (("step",), 10 ** 30), (("epoch",), 2), (("epoch",), -3), (("batch_in_epoch",), 6), (("batch_in_epoch",), 99),
    (("task",), "regression"), (("model_keys",), "0.weight"), (("model_keys",), ["0.weight"]),
    (("model_keys",), [["0.weight"], {"a": 1}]), (("model_keys",), ["0.weight", "0.bias", "2.weight", "2.weight"]),
    (("optimizer_class",), "SGD"), (("scheduler_class",), "StepLR"),
    (("optimizer", "param_groups", 0, "lr"), float("nan")), (("optimizer", "param_groups", 0, "lr"), -0.1),
    (("optimizer", "param_groups", 0, "lr"), float("inf")), (("optimizer", "param_groups", 0, "lr"), "0.1"),
    (("optimizer", "param_groups", 0, "eps"), float("nan")), (("optimizer", "param_groups", 0, "amsgrad"), 1),
    (("optimizer", "param_groups", 0, "betas"), {"__tuple__": [2.0, 0.9]}),
    (("optimizer", "param_groups", 0, "params"), [0, 0, 1, 2]),
    (("optimizer", "param_groups", 0, "params"), [0, 1, 2, 9]),
    (("optimizer", "param_groups", 0, "weight_decay"), -1.0),
    (("optimizer", "param_groups"), []),
    (("scheduler", "last_epoch"), 7.5), (("scheduler", "last_epoch"), None), (("scheduler", "total_steps"), "18"),
    (("scheduler", "_last_lr"), [float("nan")]), (("scheduler", "base_lrs"), [-1.0]),
    (("scheduler", "extra_field"), 1),
    (("history",), "history"), (("history", "steps"), []), (("history", "epochs"), [{"epoch": 1}] * 5),
    (("history", "steps", 3, "loss"), "low"), (("history", "steps", 3, "step"), 7),
    (("history", "steps", 3, "lr"), float("nan")), (("history", "epochs", 0, "val_loss"), "good"),
    (("history", "grad_norms", "steps"), [99]), (("history", "grad_norms", "steps"), [2, 1]),
    (("train_accumulator", "first"), [[1, 2, 3]]), (("train_accumulator", "second", 0), [1, 0]),
    (("train_accumulator", "correct"), 1000), (("train_accumulator", "task"), "regression"),
    (("scheduler", "anneal_strategy"), "sideways"),
    (("history", "grad_norms"), []),
    (("default_generator",), "seed"), (("default_generator", "seed"), "zero"),
    (("default_generator", "bit_generator", "bit_generator"), "MT19937"),
    (("train_loader", "batch_size"), 32), (("train_loader", "batches_yielded"), 50),
    (("train_loader", "generator_state"), 5),
    (("train_accumulator", "count"), "many"), (("train_accumulator", "first"), [["a", "b"]]),
    (("callbacks",), {"class": "CSVLogger"}), (("callbacks",), []),
    (("callbacks", 0, "state", "length"), -5), (("callbacks", 0, "state", "length"), "long"),
    (("callbacks", 0, "state", "columns"), [1, 2]), (("callbacks", 2, "state", "wait"), -1),
    (("callbacks", 2, "state", "best"), float("nan")), (("callbacks", 2, "state", "extra"), 0),
]:
    case(_field(_path, _value))


def _optimizer_buffer(edit_name):
    def damage(folder):
        def edit(tensors, metadata):
            state = {int(name): buffers for name, buffers in
                     ((item[0], item[1]) for item in metadata["optimizer"]["state"]["__items__"])}
            buffers = state[0]
            key = buffers["exp_avg"]["__tensor__"]
            if edit_name == "transposed":
                tensors[key] = numpy.ascontiguousarray(tensors[key].T)
            elif edit_name == "float64":
                tensors[key] = tensors[key].astype(numpy.float64)
            elif edit_name == "missing":
                del buffers["exp_avg_sq"]
            elif edit_name == "extra":
                buffers["momentum_buffer"] = {"__tensor__": key}
            elif edit_name == "step_negative":
                buffers["step"] = -4
            elif edit_name == "step_nan":
                buffers["step"] = float("nan")
            elif edit_name == "step_ahead_of_the_run":
                buffers["step"] = 9
            elif edit_name == "dangling":
                buffers["exp_avg"] = {"__tensor__": "optimizer/nowhere"}
            elif edit_name == "unknown_parameter":
                metadata["optimizer"]["state"]["__items__"][0][0] = 17
            elif edit_name == "items_malformed":
                metadata["optimizer"]["state"]["__items__"] = [[0]]
        _resave(folder, edit)
    damage.__name__ = f"optimizer_buffer_{edit_name}"
    return damage


for _edit in ("transposed", "float64", "missing", "extra", "step_negative", "step_nan", "step_ahead_of_the_run",
              "dangling",
              "unknown_parameter", "items_malformed"):
    case(_optimizer_buffer(_edit))


def _model_tensor(edit_name):
    def damage(folder):
        def edit(tensors, metadata):
            if edit_name == "int32":
                tensors["model/0.weight"] = tensors["model/0.weight"].astype(numpy.int32)
            elif edit_name == "transposed":
                tensors["model/0.weight"] = numpy.ascontiguousarray(tensors["model/0.weight"].T)
            elif edit_name == "missing":
                del tensors["model/2.bias"]
            elif edit_name == "renamed":
                tensors["model/9.bias"] = tensors.pop("model/2.bias")
            elif edit_name == "stranger":
                tensors["payload"] = numpy.zeros(1000)
            elif edit_name == "float16":
                tensors["model/2.bias"] = tensors["model/2.bias"].astype(numpy.float16)
        _resave(folder, edit)
    damage.__name__ = f"model_tensor_{edit_name}"
    return damage


for _edit in ("int32", "transposed", "missing", "renamed", "stranger", "float16"):
    case(_model_tensor(_edit))


# ----- lies with valid hashes: the safetensors header ---------------------------------------------
@case
def duplicate_key_in_tensors_header(folder):
    header, body = _header(folder)
    first = json.dumps({"model/0.weight": header["model/0.weight"]})[1:-1]
    text = json.dumps(header)
    _write_header(folder, "{" + first + ", " + text[1:], body)  # the same name twice; the last would win


def _header_edit(name, edit):
    def damage(folder):
        header, body = _header(folder)
        edit(header)
        _write_header(folder, json.dumps(header), body)
    damage.__name__ = f"header_{name}"
    return damage


def _set(key, field, value):
    def edit(header):
        header[key][field] = value
    return edit


for _name, _edit in [
    ("unknown_dtype", _set("model/0.weight", "dtype", "F8_E4M3")),
    ("dtype_as_number", _set("model/0.weight", "dtype", 4)),
    ("shape_too_big", _set("model/0.weight", "shape", [8, 3])),
    ("shape_negative", _set("model/0.weight", "shape", [-8, -2])),
    ("shape_huge", _set("model/0.weight", "shape", [1 << 40, 1 << 40])),
    ("shape_not_list", _set("model/0.weight", "shape", "8x2")),
    ("offsets_out_of_range", _set("model/0.weight", "data_offsets", [0, 1 << 40])),
    ("offsets_reversed", _set("model/0.weight", "data_offsets", [64, 0])),
    ("offsets_three", _set("model/0.weight", "data_offsets", [0, 32, 64])),
    ("extra_field", _set("model/0.weight", "scale", 2)),
    ("metadata_not_strings", lambda header: header.__setitem__("__metadata__", {"a": 1})),
    ("not_an_object", lambda header: header.__setitem__("model/0.weight", [1, 2])),
]:
    case(_header_edit(_name, _edit))


@case
def header_offsets_overlap(folder):
    header, body = _header(folder)
    names = sorted(header, key=lambda name: header[name]["data_offsets"][0])
    first, second = header[names[0]], header[names[1]]
    size = second["data_offsets"][1] - second["data_offsets"][0]
    second["data_offsets"] = [first["data_offsets"][0], first["data_offsets"][0] + size]
    _write_header(folder, json.dumps(header), body)


@case
def header_leaves_a_gap(folder):
    header, body = _header(folder)
    _write_header(folder, json.dumps(header), body + b"\0" * 16)


@case
def header_length_beyond_the_file(folder):
    header, body = _header(folder)
    _write_header(folder, json.dumps(header), body, length=len(body) + 10 ** 6)


@case
def header_length_huge(folder):
    header, body = _header(folder)
    _write_header(folder, json.dumps(header), body, length=(1 << 64) - 1)


@case
def header_is_a_list(folder):
    _, body = _header(folder)
    _write_header(folder, "[]", body)


@case
def bool_tensor_with_other_bytes(folder):
    header, body = _header(folder)
    start, end = header["model/2.bias"]["data_offsets"]
    header["model/2.bias"]["dtype"] = "BOOL"
    header["model/2.bias"]["shape"] = [end - start]
    _write_header(folder, json.dumps(header), body)


# ----- the tests ----------------------------------------------------------------------------------
def test_the_fuzzing_covers_enough_cases():
    names = [name for name, _ in CASES]
    assert len(names) == len(set(names)) and len(names) >= 190, len(names)


@pytest.mark.parametrize("name, damage", CASES, ids=[name for name, _ in CASES])
def test_a_bad_checkpoint_is_a_clear_error_that_changes_nothing(good, tmp_path, name, damage):
    folder, checkpoint, good_state = good
    bad = tmp_path / "step-00000008"
    shutil.copytree(checkpoint, bad)
    damage(bad)
    trainer, _, _ = _trainer(tmp_path / "victim", seed=3)
    before = _state(trainer)
    try:
        trainer.load_checkpoint(bad)
    except CheckpointError as error:
        assert str(bad) in str(error), error  # names the checkpoint (and, from there, the file and field)
        after = _state(trainer)
        assert_same_arrays(before[0], after[0])
        assert_same_arrays(before[1], after[1])
        assert before[2] == after[2]
    else:  # a change that does not matter: the load must equal the good checkpoint's, bitwise
        after = _state(trainer)
        assert_same_arrays(good_state[0], after[0])
        assert_same_arrays(good_state[1], after[1])
        assert good_state[2] == after[2], name


def test_the_good_checkpoint_loads_and_resumes_to_the_same_end(good, tmp_path):
    folder, checkpoint, good_state = good
    trainer, loader, val_loader = _trainer(tmp_path / "resumed", seed=4)
    (tmp_path / "resumed").mkdir()
    for name in ("log.csv", "log.jsonl"):
        shutil.copy(folder / "run" / name, tmp_path / "resumed" / name)
    trainer.fit(loader, val_loader, epochs=2, resume_from=checkpoint)
    final = load_checkpoint(folder / "run" / "checkpoints" / "step-00000012")[0]
    resumed = load_checkpoint(tmp_path / "resumed" / "checkpoints" / "step-00000012")[0]
    assert_same_arrays(final, resumed)


# ----- the main job's record of its model -----------------------------------------------------------
@pytest.fixture(scope="module")
def job_checkpoint(tmp_path_factory):
    """A checkpoint as ``chainrule train`` writes it for a tiny MLP: weights plus the extra record."""
    folder = tmp_path_factory.mktemp("job") / "step-00000001"
    cr.manual_seed(0)
    spec = model_spec("mlp", in_features=784, hidden=[8], num_classes=10)
    weights = {f"model/{name}": value.numpy() for name, value in mlp(hidden=[8]).state_dict().items()}
    extra = {"config": TrainConfig(model="mlp").to_dict(), "model_spec": spec, "num_classes": 10}
    save_checkpoint(folder, weights, {"extra": extra})
    return folder


JOB_LIES = [
    ("spec_unknown_model", ("model_spec",), {"name": "resnet152"}, "unknown model"),
    ("spec_huge_layer", ("model_spec",), {"name": "mlp", "kwargs": {"hidden": [1 << 15] * 40}}, "parameters"),
    ("spec_other_size", ("model_spec",), {"name": "mlp", "kwargs": {"hidden": [9]}}, "parameters"),
    ("spec_unknown_argument", ("model_spec",), {"name": "mlp", "kwargs": {"activation": "os.system"}}, "no argument"),
    ("spec_float_width", ("model_spec",), {"name": "mlp", "kwargs": {"hidden": [8.0]}}, "whole number"),
    ("spec_names_a_file", ("model_spec",), {"user_file": "model.py"}, "disagree"),
    ("spec_is_a_string", ("model_spec",), "mlp.py", "must be a JSON object"),
    ("config_is_a_list", ("config",), [1, 2], "config"),
    ("config_std_zero", ("config", "normalize_std"), 0.0, "normalize std"),
    ("config_mean_nan", ("config", "normalize_mean"), float("nan"), "normalize mean"),
    ("config_unknown_setting", ("config", "exec"), "print(1)", "unknown settings"),
    ("classes_string", ("num_classes",), "ten", "num_classes"),
    ("extra_missing", (), None, "extra.model_spec"),
]


@pytest.mark.parametrize("name, path, value, message", JOB_LIES, ids=[lie[0] for lie in JOB_LIES])
def test_load_trained_refuses_a_lying_model_record(job_checkpoint, tmp_path, name, path, value, message):
    model, extra, _ = load_trained(job_checkpoint)  # the honest record loads
    assert extra["model_spec"]["kwargs"]["hidden"] == [8]
    bad = tmp_path / "step-00000001"
    shutil.copytree(job_checkpoint, bad)
    tensors, metadata = load_checkpoint(bad)
    if path:
        target = metadata["extra"]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    else:
        metadata.pop("extra")
    shutil.rmtree(bad)
    save_checkpoint(bad, tensors, metadata)
    with pytest.raises(CheckpointError, match=message):
        load_trained(bad)
