"""chainrule.save / chainrule.load: PyTorch's round trips through one safetensors file, and nothing unchecked read back."""
import io
import json
import math
import os
import pathlib
import pickle

import numpy
import pytest
import torch
from safetensors.numpy import save as safetensors_bytes

import chainrule as cr
import chainrule.nn as nn
import chainrule.optim as optim
from chainrule.io import WeightsFileError


def _model():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))


def _train(model, optimizer, steps, seed):
    generator = cr.Generator().manual_seed(seed)
    for _ in range(steps):
        x = cr.randn(8, 4, generator=generator)
        optimizer.zero_grad()
        (model(x) ** 2).mean().backward()
        optimizer.step()


def test_a_state_dict_round_trips_bitwise(tmp_path):
    model = _model()
    cr.save(model.state_dict(), tmp_path / "model.pt")
    loaded = cr.load(tmp_path / "model.pt")
    assert list(loaded) == list(model.state_dict())
    for name, value in model.state_dict().items():
        assert loaded[name].dtype == value.dtype and numpy.array_equal(loaded[name].numpy(), value.numpy())
    other = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    other.load_state_dict(loaded)
    x = cr.randn(5, 4)
    model.eval(), other.eval()
    assert numpy.array_equal(model(x).detach().numpy(), other(x).detach().numpy())


@pytest.mark.parametrize("make", [lambda p: optim.Adam(p, lr=0.01, betas=(0.8, 0.95)),
                                  lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
                                  lambda p: optim.Adadelta(p, lr=1.0)])
def test_an_optimizer_resumes_from_a_saved_state_as_if_it_never_stopped(tmp_path, make):
    straight = _model()
    straight_optimizer = make(straight.parameters())
    _train(straight, straight_optimizer, 3, seed=1)
    _train(straight, straight_optimizer, 3, seed=2)

    first = _model()
    first_optimizer = make(first.parameters())
    _train(first, first_optimizer, 3, seed=1)
    cr.save({"model": first.state_dict(), "optimizer": first_optimizer.state_dict(), "epoch": 3}, tmp_path / "c.pt")
    checkpoint = cr.load(tmp_path / "c.pt")
    resumed = _model()
    resumed_optimizer = make(resumed.parameters())
    resumed.load_state_dict(checkpoint["model"])
    resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    assert checkpoint["epoch"] == 3
    _train(resumed, resumed_optimizer, 3, seed=2)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert numpy.array_equal(a.numpy(), b.numpy()), name


def test_nested_leaves_come_back_as_they_went():
    obj = {"tensors": [cr.tensor(2.5), cr.arange(4).reshape(2, 2), cr.tensor([True, False]),
                       cr.zeros(0, 3, dtype=cr.float64)],
           "numbers": (1, -2.5, math.inf, None, "text"), 7: {"inner": [[], {}]}, "array": numpy.arange(3.0)}
    buffer = io.BytesIO()
    cr.save(obj, buffer)
    buffer.seek(0)
    loaded = cr.load(buffer)
    assert loaded["numbers"] == obj["numbers"] and loaded[7] == obj[7]
    for ours, theirs in zip(loaded["tensors"], obj["tensors"]):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        assert numpy.array_equal(ours.numpy(), theirs.numpy())
    assert isinstance(loaded["array"], cr.Tensor) and loaded["array"].tolist() == [0.0, 1.0, 2.0]
    assert math.isnan(_round_trip(float("nan")))


def _round_trip(obj):
    buffer = io.BytesIO()
    cr.save(obj, buffer)
    buffer.seek(0)
    return cr.load(buffer)


def test_torch_tensors_inside_are_saved_so_a_torch_file_converts(tmp_path):
    torch_state = torch.nn.Linear(3, 2).state_dict()
    cr.save({"state": torch_state, "step": torch.tensor(4)}, tmp_path / "converted.pt")
    loaded = cr.load(tmp_path / "converted.pt", map_location="cpu", weights_only=True)
    numpy.testing.assert_array_equal(loaded["state"]["weight"].numpy(), torch_state["weight"].numpy())
    assert loaded["step"].item() == 4


def test_a_plain_safetensors_file_loads_as_its_dict_of_tensors(tmp_path):
    (tmp_path / "w.safetensors").write_bytes(safetensors_bytes({"b": numpy.ones(2, numpy.float32),
                                                                "a": numpy.zeros((1, 2), numpy.int64)}))
    loaded = cr.load(tmp_path / "w.safetensors")
    assert sorted(loaded) == ["a", "b"] and loaded["a"].dtype == cr.int64


def test_what_cannot_be_saved_is_refused_and_the_old_file_is_kept(tmp_path):
    path = tmp_path / "keep.pt"
    cr.save({"w": cr.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="chainrule.save: .*cannot save a object"):
        cr.save({"w": object()}, path)
    with pytest.raises(TypeError, match="path or a binary file object"):
        cr.save({"w": cr.ones(1)}, 3)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.pt"]


def test_a_crash_mid_write_leaves_the_last_good_file(tmp_path, monkeypatch):
    path = tmp_path / "keep.pt"
    cr.save({"w": cr.ones(2)}, path)
    before = path.read_bytes()

    def crash(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space"):
        cr.save({"w": cr.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.pt"]


class _Trap:
    """Unpickling this would create a file: the test proves load never unpickles."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


@pytest.mark.parametrize("zipped", [True, False])
def test_a_pytorch_pickle_is_refused_with_the_way_to_convert_it(tmp_path, zipped):
    path, marker = tmp_path / "model.pt", tmp_path / "ran"
    torch.save({"w": torch.ones(2), "trap": _Trap(str(marker))}, path, _use_new_zipfile_serialization=zipped)
    with pytest.raises(WeightsFileError) as caught:
        cr.load(path)
    message = str(caught.value)
    assert "never unpickles" in message and f"chainrule.save(torch.load('{path}', weights_only=True)" in message
    with pytest.raises(WeightsFileError, match="pickle"):
        cr.load(io.BytesIO(path.read_bytes()))
    with pytest.raises(WeightsFileError, match="pickle"):
        cr.load(io.BytesIO(pickle.dumps({"w": 1})))
    assert not marker.exists()


def _file(tensors, structure, version="1"):
    metadata = {"format": "chainrule.save", "version": version,
                "structure": structure if isinstance(structure, str) else json.dumps(structure)}
    return io.BytesIO(safetensors_bytes(tensors, metadata=metadata))


@pytest.mark.parametrize("payload, words", [
    (io.BytesIO(b"\x05\x00"), "too short"),
    (io.BytesIO((10**9).to_bytes(8, "little") + b"{}"), "header claims"),
    (io.BytesIO((13).to_bytes(8, "little") + b'{"a":1,"a":2}'), "appear twice"),
    (io.BytesIO((5).to_bytes(8, "little") + b"{oops"), "JSON is damaged"),
    (_file({"obj": numpy.ones(1)}, {"__tensor__": "elsewhere"}), "tensor 'elsewhere' the file lacks"),
    (_file({"obj": numpy.ones(1), "extra": numpy.ones(1)}, {"__tensor__": "obj"}), "does not name: \\['extra'\\]"),
    (_file({"obj": numpy.ones(1)}, [{"__tensor__": "obj"}, {"__tensor__": "obj"}]), "one tensor twice"),
    (_file({}, {"__code__": "rm -rf"}), "unknown marker"),
    (_file({}, {"__items__": [[1]]}), "__items__ holds"),
    (_file({}, {"__tuple__": 5}), "__tuple__ holds"),
    (_file({}, "[" * 100 + "]" * 100), "nests deeper"),
    (_file({}, {"a": 1}, version="9"), "format version '9'"),
])
def test_a_damaged_or_forged_file_is_refused_naming_what_is_wrong(payload, words):
    with pytest.raises(WeightsFileError, match=words):
        cr.load(payload)


def test_damaged_tensor_offsets_are_refused():
    good = bytearray(_file({"obj": numpy.ones(4, numpy.float32)}, {"__tensor__": "obj"}).getvalue())
    with pytest.raises(WeightsFileError, match="cannot be read as safetensors"):
        cr.load(io.BytesIO(bytes(good[:-4])))


def test_load_arguments_are_checked():
    buffer = io.BytesIO()
    cr.save(cr.ones(1), buffer)
    with pytest.raises(TypeError, match="map_location must be a device"):
        cr.load(io.BytesIO(buffer.getvalue()), map_location=lambda storage, location: storage)
    with pytest.raises(TypeError, match="unexpected argument"):
        cr.load(io.BytesIO(buffer.getvalue()), pickle_module=pickle)
    with pytest.raises(FileNotFoundError):
        cr.load("/nonexistent/file.pt")


@pytest.mark.parametrize("header_bytes", [640, 896, 1152, 1408])
def test_a_safetensors_header_whose_length_starts_like_a_pickle_is_still_read(tmp_path, header_bytes):
    # 640 = 0x0280: the file's first two bytes are 0x80 0x02, a pickle's protocol-2 opening.
    metadata = {"pad": ""}
    payload = safetensors_bytes({"w": numpy.ones(2, numpy.float32)}, metadata=metadata)
    padding = header_bytes - int.from_bytes(payload[:8], "little")
    payload = safetensors_bytes({"w": numpy.ones(2, numpy.float32)}, metadata={"pad": "x" * padding})
    assert int.from_bytes(payload[:8], "little") == header_bytes
    (tmp_path / "w.safetensors").write_bytes(payload)
    assert cr.load(tmp_path / "w.safetensors")["w"].tolist() == [1.0, 1.0]
    assert cr.io.load_state_dict(tmp_path / "w.safetensors")["w"].tolist() == [1.0, 1.0]
