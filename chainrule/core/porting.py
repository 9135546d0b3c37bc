"""A missing name, said plainly: whether PyTorch has it, and what chainrule has that is close.

``import chainrule as torch`` makes every ``torch.X`` a question to chainrule. When chainrule
has no X, Python's own answer ("module has no attribute", with a guess that may point
somewhere unrelated) does not tell a porting user what they need to know: that PyTorch has
X and chainrule does not yet. ``missing_attribute`` builds that answer; the module-level
``__getattr__`` of ``chainrule``, ``chainrule.nn``, ``chainrule.nn.functional`` and
``Tensor.__getattr__`` raise it. It is an ``AttributeError``, so ``hasattr`` and
``getattr(x, name, default)`` behave exactly as before.

``torch_names.json`` holds the public names of ``torch``, ``torch.Tensor``, ``torch.nn`` and
``torch.nn.functional`` in the PyTorch version it names (tests/test_parity_coverage.py checks it
against the installed PyTorch and prints chainrule's coverage of each).
"""
import difflib
import functools
import importlib.resources
import json

__all__ = ["TORCH_NAMESPACE", "missing_attribute", "torch_names"]

TORCH_NAMESPACE = {"chainrule": "torch", "chainrule.Tensor": "torch.Tensor", "chainrule.nn": "torch.nn",
                   "chainrule.nn.functional": "torch.nn.functional"}


@functools.lru_cache(maxsize=None)
def _names_file():
    return json.loads(importlib.resources.files("chainrule.core").joinpath("torch_names.json").read_text())


def torch_names(namespace):
    """The public names PyTorch has in ``namespace`` ('torch', 'torch.Tensor', 'torch.nn', 'torch.nn.functional').

    Example:
        >>> from chainrule.core.porting import torch_names
        >>> "matmul" in torch_names("torch"), "Conv2d" in torch_names("torch.nn")
        (True, True)
    """
    return frozenset(_names_file()["names"][namespace])


def missing_attribute(where, name, owner):
    """The ``AttributeError`` for ``where.name`` missing from ``owner`` (a module or class), saying what PyTorch has.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.core.porting import missing_attribute
        >>> print(missing_attribute("chainrule", "stft", cr))
        chainrule has no `torch.stft` yet (so no `chainrule.stft`); docs/porting.md says what maps and what differs
        >>> print(missing_attribute("chainrule", "tensr", cr))
        module 'chainrule' has no attribute 'tensr'; similar names here: tensor
    """
    if name.startswith("_"):   # dunders and private names: the plain answer, fast (hasattr probes these often)
        return AttributeError(f"'{where}' has no attribute '{name}'")
    available = [candidate for candidate in dir(owner) if not candidate.startswith("_")]
    close = difflib.get_close_matches(name, available, n=3, cutoff=0.75)
    similar = f"; similar names here: {', '.join(close)}" if close else ""
    torch_namespace = TORCH_NAMESPACE[where]
    if name in torch_names(torch_namespace):
        return AttributeError(f"chainrule has no `{torch_namespace}.{name}` yet (so no `{where}.{name}`){similar}; "
                              "docs/porting.md says what maps and what differs")
    kind = "'Tensor' object" if where == "chainrule.Tensor" else f"module '{where}'"
    return AttributeError(f"{kind} has no attribute '{name}'{similar}")
