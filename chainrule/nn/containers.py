"""Containers of parameters: ``ParameterList`` and ``ParameterDict`` (the module containers are in module.py).

A parameter held in one is found by the attribute walk like any other (named ``0``, ``1``, ...
or by key), so ``parameters()``, ``state_dict()`` and optimizers see it.
"""
from chainrule.core.tensor import Tensor
from chainrule.nn.module import ModuleDict, ModuleList, Parameter


def _as_parameter(value, container, position):
    """A Parameter for ``value``: itself, or a tensor wrapped (as PyTorch wraps plain tensors assigned in)."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"{container}: item {position!r} is a {type(value).__name__}, not a Parameter or Tensor")


class ParameterList(ModuleList):
    """A list of parameters whose entries the walk finds (named ``0``, ``1``, ...); tensors become Parameters.

    It is ``ModuleList``'s list with Parameters for items.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> weights = nn.ParameterList([nn.Parameter(cr.ones(2)) for _ in range(3)])
        >>> [name for name, _ in weights.named_parameters()]
        ['0', '1', '2']
    """

    def __init__(self, values=None):
        super().__init__(() if values is None else values)

    def append(self, value):
        self._items.append(_as_parameter(value, "ParameterList", len(self._items)))
        return self

    def insert(self, index, value):
        self._items.insert(index, _as_parameter(value, "ParameterList", index))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ParameterList(self._items[index])
        return self._items[index]

    def __setitem__(self, index, value):
        self._items[index] = _as_parameter(value, "ParameterList", index)

    def extra_repr(self):
        return "\n".join(f"({i}): Parameter containing: shape {p.shape}, dtype {p.dtype}" for i, p in enumerate(self._items))

    _why_not_callable = "ParameterList has no forward: use its parameters in your own module's forward"


class ParameterDict(ModuleDict):
    """A dict of parameters (string keys) whose entries the walk finds (named by key); tensors become Parameters.

    It is ``ModuleDict``'s dict with Parameters for values.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> scales = nn.ParameterDict({"a": nn.Parameter(cr.ones(1)), "b": cr.zeros(2)})
        >>> sorted(name for name, _ in scales.named_parameters())
        ['a', 'b']
    """

    def __setitem__(self, key, value):
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict: keys must be strings, got {type(key).__name__}")
        self._items[key] = _as_parameter(value, "ParameterDict", key)

    _why_not_callable = "ParameterDict has no forward: pick a parameter by key in your own module's forward"
