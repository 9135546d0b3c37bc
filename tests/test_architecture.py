"""The house's structure: what ``import chainrule`` loads."""
import subprocess
import sys

HEAVY = ("scipy.stats", "matplotlib", "torch", "tqdm", "safetensors", "graphviz", "PIL", "mpi4py", "onnx",
         "onnxruntime")


def test_import_chainrule_loads_no_heavy_module():
    """scipy.stats alone took about a second of a 1.3 s import; heavy modules load when first used."""
    code = "import sys, chainrule; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    heavy = sorted(name for name in loaded if any(name == h or name.startswith(h + ".") for h in HEAVY))
    assert not heavy, f"import chainrule loaded {heavy}"
