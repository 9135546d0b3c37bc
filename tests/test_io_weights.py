"""Weights to and from PyTorch through safetensors: same names and layouts, bitwise round trips, no pickle."""
import pickle

import numpy
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import chainrule as cr
import chainrule.io
import chainrule.nn as nn
from io_cases import LAYER_CASES, MODEL_NAMES, build_pair, model_pair, run_ours, run_theirs

PAIRS = [("layer", name) for name in LAYER_CASES] + [("model", name) for name in MODEL_NAMES]


def _pair(kind, name, seed=0):
    return build_pair(name, seed) if kind == "layer" else model_pair(name, seed)


@pytest.mark.parametrize("kind, name", PAIRS)
def test_chainrule_to_torch_to_chainrule_is_bitwise_and_outputs_agree(kind, name, tmp_path):
    ours, _, make_input = _pair(kind, name)
    torch_model = _pair(kind, name)[1]
    for parameter in torch_model.parameters():       # so that loading really has to overwrite them
        torch.nn.init.zeros_(parameter)
    ours_file, theirs_file = tmp_path / "ours.safetensors", tmp_path / "theirs.safetensors"
    chainrule.io.save_state_dict(ours, ours_file)
    torch_model.load_state_dict(safetensors.torch.load_file(ours_file), strict=True)
    x = make_input(3)
    numpy.testing.assert_allclose(run_theirs(torch_model, x), run_ours(ours, x), rtol=1e-5, atol=1e-5)

    safetensors.torch.save_file(torch_model.state_dict(), theirs_file)
    fresh, _, _ = _pair(kind, name, seed=1)            # other weights, which the file must overwrite
    fresh.load_state_dict(safetensors.numpy.load_file(theirs_file))
    before, after = ours.state_dict(), fresh.state_dict()
    assert list(before) == list(after)
    for key in before:
        assert before[key].dtype == after[key].dtype and numpy.array_equal(before[key].array, after[key].array), key


def test_state_dict_names_shapes_and_order_match_torch_for_every_layer():
    for name in LAYER_CASES:
        ours, theirs, _ = build_pair(name)
        ours_layout = [(key, value.shape, str(value.dtype)) for key, value in ours.state_dict().items()]
        theirs_layout = [(key, tuple(value.shape), str(value.dtype).removeprefix("torch."))
                         for key, value in theirs.state_dict().items()]
        assert ours_layout == theirs_layout, name


def test_lstm_gates_are_stacked_i_f_g_o_as_in_torch():
    ours, theirs, make_input = build_pair("lstm")
    # Zero the forget gate's rows of layer 0 in both: outputs still agree only if the row blocks mean the same gate.
    hidden = ours.rnn.hidden_size
    with cr.no_grad():
        ours.rnn.weight_ih_l0.array[hidden:2 * hidden] = 0.0
    with torch.no_grad():
        theirs.rnn.weight_ih_l0[hidden:2 * hidden] = 0.0
    x = make_input(2)
    numpy.testing.assert_allclose(run_ours(ours, x), run_theirs(theirs, x), rtol=1e-5, atol=1e-6)


def test_load_state_dict_from_file_gives_chainrule_tensors(tmp_path):
    path = tmp_path / "bn.safetensors"
    safetensors.torch.save_file(torch.nn.BatchNorm2d(3).state_dict(), path)
    state = chainrule.io.load_state_dict(path)
    assert all(isinstance(value, cr.Tensor) for value in state.values())
    assert state["num_batches_tracked"].dtype == numpy.int64
    nn.BatchNorm2d(3).load_state_dict(state)


@pytest.mark.parametrize("legacy", [False, True])
def test_a_torch_save_file_is_refused_and_never_unpickled(legacy, tmp_path):
    marker = tmp_path / "ran"

    class Payload:                                       # unpickling this would create the marker file
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "model.pt"
    torch.save({"weight": torch.ones(2), "payload": Payload()}, path, _use_new_zipfile_serialization=not legacy)
    with pytest.raises(chainrule.io.WeightsFileError, match="never unpickles.*safetensors.torch.save_file"):
        chainrule.io.load_state_dict(path)
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(chainrule.io.WeightsFileError, match="pickle"):
        chainrule.io.load_state_dict(plain)
    assert not marker.exists()


def test_a_truncated_or_damaged_safetensors_file_is_a_clear_error(tmp_path):
    path = tmp_path / "w.safetensors"
    chainrule.io.save_state_dict(nn.Linear(4, 3), path)
    data = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-5])
    with pytest.raises(chainrule.io.WeightsFileError, match="cut.safetensors cannot be read as safetensors"):
        chainrule.io.load_state_dict(tmp_path / "cut.safetensors")
    (tmp_path / "huge.safetensors").write_bytes((10 ** 12).to_bytes(8, "little") + data[8:])
    with pytest.raises(chainrule.io.WeightsFileError, match="header claims 1000000000000 bytes"):
        chainrule.io.load_state_dict(tmp_path / "huge.safetensors")
    (tmp_path / "tiny.safetensors").write_bytes(b"{}")
    with pytest.raises(chainrule.io.WeightsFileError, match="too short"):
        chainrule.io.load_state_dict(tmp_path / "tiny.safetensors")


def test_missing_extra_or_misshaped_keys_name_the_key_and_load_nothing():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    before = {key: value.array.copy() for key, value in model.state_dict().items()}
    good = {key: numpy.ones_like(value) for key, value in before.items()}

    def unchanged():
        return all(numpy.array_equal(before[key], value.array) for key, value in model.state_dict().items())

    misshaped = dict(good, **{"1.weight": numpy.ones((2, 5), numpy.float32)})
    with pytest.raises(ValueError, match=r"'1.weight'.*\(2, 5\).*\(2, 4\)"):
        model.load_state_dict(misshaped)
    assert unchanged()
    with pytest.raises(KeyError, match="missing keys.*'1.bias'"):
        model.load_state_dict({key: value for key, value in good.items() if key != "1.bias"})
    assert unchanged()
    with pytest.raises(KeyError, match="unexpected keys.*'2.weight'"):
        model.load_state_dict(dict(good, **{"2.weight": numpy.ones(1, numpy.float32)}))
    assert unchanged()


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    chainrule.io.save_state_dict(nn.Linear(2, 2), path)
    good = path.read_bytes()
    import chainrule.train.checkpoint as checkpoint

    def crash(*args):
        raise OSError("disk full")
    monkeypatch.setattr(checkpoint.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        chainrule.io.save_state_dict(nn.Linear(2, 2), path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]
