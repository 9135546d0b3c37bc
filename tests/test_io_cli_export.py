"""chainrule export RUN --onnx/--safetensors: a trained run leaves as ONNX (run by onnxruntime) and safetensors."""
import subprocess
import sys

import numpy
import onnxruntime
import pytest
import safetensors.torch

import chainrule as cr
from chainrule.cli import main
from chainrule.models import build_model
from chainrule.train.checkpoint import save_checkpoint
from io_cases import run_ours, run_theirs, torch_twin


@pytest.fixture
def checkpoint(tmp_path):
    """A checkpoint folder as chainrule train writes one: the model's tensors and its spec."""
    spec = {"name": "cnn", "kwargs": {"channels": [4, 8], "hidden": 16, "num_classes": 10}}
    cr.manual_seed(3)
    model = build_model(spec)
    tensors = {f"model/{key}": value.array for key, value in model.state_dict().items()}
    folder = save_checkpoint(tmp_path / "step-00000010", tensors,
                             {"step": 10, "extra": {"config": {}, "model_spec": spec, "num_classes": 10}})
    return folder, model.eval()


def test_export_writes_an_onnx_file_and_weights_torch_takes(checkpoint, tmp_path):
    folder, model = checkpoint
    onnx_path, weights_path = tmp_path / "model.onnx", tmp_path / "model.safetensors"
    result = subprocess.run([sys.executable, "-m", "chainrule", "export", str(folder), "--onnx", str(onnx_path),
                             "--safetensors", str(weights_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and "input 'input' (batch, 1, 28, 28)" in result.stdout
    x = numpy.random.default_rng(0).standard_normal((5, 1, 28, 28)).astype(numpy.float32)
    (logits,) = onnxruntime.InferenceSession(str(onnx_path)).run(None, {"input": x})
    numpy.testing.assert_allclose(logits, run_ours(model, x), rtol=1e-5, atol=1e-5)
    twin = torch_twin(model)
    twin.load_state_dict(safetensors.torch.load_file(weights_path), strict=True)
    numpy.testing.assert_allclose(run_theirs(twin, x), run_ours(model, x), rtol=1e-5, atol=1e-5)


def test_export_errors_are_one_clean_line(checkpoint, tmp_path, capsys):
    folder, _ = checkpoint
    assert main(["export", str(folder)]) == 1
    assert "nothing to write: give --onnx FILE" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "nowhere"), "--onnx", str(tmp_path / "m.onnx")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", str(folder), "--onnx", str(tmp_path / "m.onnx"), "--input-shape", "1,x"]) == 2
    assert "comma-separated sizes" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
