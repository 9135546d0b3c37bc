"""A missing name, said plainly: whether PyTorch has it, and what chainrule has that is close.

``import chainrule as torch`` makes every ``torch.X`` a question to chainrule. When chainrule
has no X, Python's own answer ("module has no attribute", with a guess that may point
somewhere unrelated) does not tell a porting user what they need to know: that PyTorch has
X and chainrule does not yet. ``missing_attribute`` builds that answer; the module-level
``__getattr__`` of ``chainrule``, ``chainrule.nn`` and ``chainrule.nn.functional`` raise it, and
on ``Tensor`` each PyTorch name it lacks holds a ``MissingName`` that raises it when read
(``stand_in_for_missing_names``). It is an ``AttributeError``, so ``hasattr`` and
``getattr(x, name, default)`` behave exactly as before.

Why not ``Tensor.__getattr__``: in CPython a class that defines it loses the interpreter's fast
path for *every* attribute read of its instances (3.11 specializes ``LOAD_ATTR`` for slots and
properties only under the generic lookup), and every op reads a tensor's slots dozens of times:
measured, it cost 8-10 % of the per-op time of a chain of small ops. A typo that PyTorch does
not have either gets Python's own error, whose traceback adds "Did you mean: ...?".

``torch_names.json`` holds the public names of ``torch``, ``torch.Tensor``, ``torch.nn`` and
``torch.nn.functional`` in the PyTorch version it names (tests/test_parity_coverage.py checks it
against the installed PyTorch and prints chainrule's coverage of each).
"""
import functools
import importlib.resources
import json

__all__ = ["TORCH_NAMESPACE", "MissingName", "missing_attribute", "stand_in_for_missing_names", "torch_names"]

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
    import difflib   # only a missing name needs it

    if name.startswith("_"):   # dunders and private names: the plain answer, fast (hasattr probes these often)
        return AttributeError(f"'{where}' has no attribute '{name}'")
    available = [candidate for candidate in dir(owner)
                 if not candidate.startswith("_") and not is_missing_name(owner, candidate)]
    close = difflib.get_close_matches(name, available, n=3, cutoff=0.75)
    similar = f"; similar names here: {', '.join(close)}" if close else ""
    torch_namespace = TORCH_NAMESPACE[where]
    if name in torch_names(torch_namespace):
        return AttributeError(f"chainrule has no `{torch_namespace}.{name}` yet (so no `{where}.{name}`){similar}; "
                              "docs/porting.md says what maps and what differs")
    kind = "'Tensor' object" if where == "chainrule.Tensor" else f"module '{where}'"
    return AttributeError(f"{kind} has no attribute '{name}'{similar}")


class MissingName:
    """Stands on a class for a name PyTorch's twin class has and chainrule's lacks: reading it raises the hint.

    A descriptor whose ``__get__`` raises ``missing_attribute``'s ``AttributeError``, so
    ``hasattr`` is False and ``getattr(x, name, default)`` gives the default, as for any missing name.

    Example:
        >>> import chainrule as cr
        >>> try:
        ...     cr.ones(2).stft
        ... except AttributeError as error:
        ...     print(str(error).split(";")[0])
        chainrule has no `torch.Tensor.stft` yet (so no `chainrule.Tensor.stft`)
    """

    def __init__(self, where, name):
        self.where, self.name = where, name

    def __get__(self, instance, owner=None):
        raise missing_attribute(self.where, self.name, owner)


def is_missing_name(owner, name):
    """True if ``name`` on class ``owner`` (or a module) is only a ``MissingName`` stand-in."""
    return isinstance(owner, type) and any(isinstance(klass.__dict__.get(name), MissingName) for klass in owner.__mro__)


def stand_in_for_missing_names(cls, where):
    """Give ``cls`` a ``MissingName`` for each public name of its PyTorch twin (``TORCH_NAMESPACE[where]``) it lacks.

    Example (tensor.py does this for ``Tensor``, once, when it is defined):
        >>> import chainrule as cr
        >>> from chainrule.core.porting import is_missing_name
        >>> is_missing_name(cr.Tensor, "stft"), hasattr(cr.ones(1), "stft"), is_missing_name(cr.Tensor, "sum")
        (True, False, False)
    """
    present = set(dir(cls))
    for name in sorted(torch_names(TORCH_NAMESPACE[where]) - present):
        if not name.startswith("_"):
            setattr(cls, name, MissingName(where, name))
