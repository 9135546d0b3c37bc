"""How much of PyTorch's surface chainrule has, by name, and what a missing name says.

The sweep prints the coverage of dir(torch), dir(torch.Tensor), dir(torch.nn) and
dir(torch.nn.functional) (public names): a coverage figure, not a claim of completeness.
The floors are the figures measured when the sweep was written, so a name cannot
disappear unnoticed.
"""
import importlib.resources
import json
import subprocess
import sys

import pytest
import torch
import torch.nn
import torch.nn.functional

import chainrule
import chainrule.nn
import chainrule.nn.functional
from chainrule.core.porting import torch_names

PAIRS = [("torch", torch, chainrule, 324), ("torch.Tensor", torch.Tensor, chainrule.Tensor, 339),
         ("torch.nn", torch.nn, chainrule.nn, 126), ("torch.nn.functional", torch.nn.functional, chainrule.nn.functional, 99)]

# What the ported scripts (examples/ported/) and the tutorials they follow reach for.
NEEDED = {
    "torch": ["device", "accelerator", "cuda", "manual_seed", "save", "load", "utils", "no_grad", "inference_mode",
              "tensor", "randn", "linspace", "sin", "float", "float64", "Size", "numel", "bmm", "normal", "sort",
              "topk", "trace", "autograd", "flatten", "zeros_like", "randn_like", "einsum", "set_default_device"],
    "torch.Tensor": ["to", "cpu", "cuda", "device", "new_zeros", "new_ones", "new_full", "new_tensor", "register_hook",
                     "grad_fn", "sort", "topk", "trace", "item", "view_as", "eq", "argmax", "pow", "size", "numel",
                     "expand_as", "masked_fill", "scatter_", "gather", "index_select", "repeat_interleave", "unfold",
                     "chunk", "split", "roll", "flip", "tril", "triu", "clamp_", "lerp", "addmm", "baddbmm"],
    "torch.nn": ["Module", "Conv2d", "Linear", "Dropout", "LSTMCell", "MSELoss", "Sequential", "Flatten", "Parameter",
                 "Embedding", "Identity", "ModuleDict", "ParameterList", "LayerNorm", "GroupNorm", "PixelShuffle",
                 "Upsample", "TransformerEncoderLayer"],
    "torch.nn.functional": ["relu", "max_pool2d", "log_softmax", "nll_loss", "softmax", "binary_cross_entropy",
                            "interpolate", "pad", "one_hot", "normalize", "cosine_similarity", "smooth_l1_loss",
                            "huber_loss", "kl_div"],
}


def _public(namespace):
    return [name for name in dir(namespace) if not name.startswith("_")]


@pytest.mark.parametrize("name, theirs, ours, floor", PAIRS, ids=[pair[0] for pair in PAIRS])
def test_coverage_of_pytorchs_names(name, theirs, ours, floor, capsys):
    names = _public(theirs)
    covered = [n for n in names if hasattr(ours, n)]
    with capsys.disabled():
        print(f"\n{name}: chainrule has {len(covered)} of {len(names)} public names "
              f"({100 * len(covered) / len(names):.1f} %)")
    assert len(covered) >= floor, f"{name}: coverage fell from {floor} to {len(covered)} names"
    missing = [n for n in NEEDED[name] if not hasattr(ours, n)]
    assert not missing, f"{name}: the ported scripts need {missing}"


def test_the_shipped_name_lists_are_the_installed_pytorchs():
    shipped = json.loads(importlib.resources.files("chainrule.core").joinpath("torch_names.json").read_text())
    if shipped["torch_version"] != torch.__version__.split("+")[0]:
        pytest.skip(f"the list is of PyTorch {shipped['torch_version']}, this is {torch.__version__}")
    # In a fresh interpreter: a test that imports a torch submodule (torch.onnx, torch.func) adds names to dir(torch).
    script = ("import json, torch, torch.nn, torch.nn.functional\n"
              "spaces = {'torch': torch, 'torch.Tensor': torch.Tensor, 'torch.nn': torch.nn, "
              "'torch.nn.functional': torch.nn.functional}\n"
              "print(json.dumps({k: [n for n in dir(v) if not n.startswith('_')] for k, v in spaces.items()}))")
    fresh = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                                      timeout=120).stdout)
    for name, _, _, _ in PAIRS:
        assert torch_names(name) == frozenset(fresh[name]), name


@pytest.mark.parametrize("where, get, words", [
    ("torch", lambda: chainrule.stft, "chainrule has no `torch.stft` yet"),
    ("torch.Tensor", lambda: chainrule.ones(1).stft, "chainrule has no `torch.Tensor.stft` yet"),
    ("torch.nn", lambda: chainrule.nn.Transformer, "chainrule has no `torch.nn.Transformer` yet"),
    ("torch.nn.functional", lambda: chainrule.nn.functional.grid_sample,
     "chainrule has no `torch.nn.functional.grid_sample` yet"),
    ("typo", lambda: chainrule.tensr, "module 'chainrule' has no attribute 'tensr'; similar names here: tensor"),
    ("tensor typo", lambda: chainrule.ones(1).numpyy, "'Tensor' object has no attribute 'numpyy'"),
])
def test_a_missing_name_says_whether_pytorch_has_it(where, get, words):
    with pytest.raises(AttributeError) as caught:
        get()
    assert str(caught.value).startswith(words)


def test_a_tensor_typo_carries_what_pythons_did_you_mean_reads():
    # Tensor has no __getattr__ (core/porting.py: it would slow every attribute read), so a typo gets
    # Python's own error, whose traceback suggests from dir(obj): "Did you mean: 'numpy'?".
    with pytest.raises(AttributeError) as caught:
        chainrule.ones(1).numpyy
    assert caught.value.name == "numpyy" and "numpy" in dir(caught.value.obj)
    assert "stft" not in dir(caught.value.obj)   # the stand-ins for PyTorch's missing names stay out of dir()


def test_missing_names_still_behave_as_missing_attributes():
    assert not hasattr(chainrule, "stft") and getattr(chainrule.nn, "Transformer", None) is None
    assert not hasattr(chainrule.ones(1), "stft") and not hasattr(chainrule.ones(1), "__cuda_array_interface__")
    from chainrule import lab   # a submodule not yet imported is still found (import falls back past __getattr__)
    assert lab.__name__ == "chainrule.lab"
