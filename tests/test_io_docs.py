"""docs/interop.md shows the three round trips as code: every python block runs, in order, as written."""
import os
import pathlib
import re

import matplotlib

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "interop.md"
matplotlib.use("Agg")


def _python_blocks(text):
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_every_code_block_of_docs_interop_runs(tmp_path, monkeypatch):
    blocks = _python_blocks(DOC.read_text("utf-8"))
    assert len(blocks) >= 5, "docs/interop.md lost its examples"
    monkeypatch.chdir(tmp_path)                     # the examples write their files here
    namespace = {"__name__": "docs_interop"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"{DOC.name} block {number}", "exec"), namespace)
    assert sorted(os.listdir(tmp_path)) == ["lenet.onnx", "model.pt", "ours.safetensors", "small_cnn.onnx",
                                            "theirs.safetensors", "tuned.safetensors"]
