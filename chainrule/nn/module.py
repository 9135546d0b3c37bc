"""Modules and parameters: a layer is a plain object whose parameters are found by walking its attributes.

A ``Module`` needs no registration calls. Assigning a ``Parameter`` (or another
``Module``, or a list/tuple/dict of them) to an attribute is enough: every walk
(``parameters()``, ``state_dict()``, ``train()``, ``zero_grad()``...) looks at the
object's attributes in the order they were assigned. Buffers (non-learned state
such as BatchNorm's running mean) are plain tensors named with ``register_buffer``.

    class Affine(Module):
        def __init__(self, n):
            super().__init__()
            self.weight = Parameter(chainrule.ones(n))    # found by the walk
            self.bias = Parameter(chainrule.zeros(n))
        def forward(self, x):
            return x * self.weight + self.bias
"""
from collections import OrderedDict

import numpy

from chainrule.core import dtypes
from chainrule.core.device import split_to_arguments
from chainrule.core.grad_mode import no_grad
from chainrule.core.tensor import Tensor
from chainrule.nn.hooks import add_module_hook, call_with_hooks


class Parameter(Tensor):
    """A tensor that is a learned weight of a module: it always requires grad (unless asked not to).

    ``Parameter(t)`` shares ``t``'s data; it is a leaf of the graph, so ``backward``
    fills its ``.grad`` and optimizers update its ``.data`` in place.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> w = nn.Parameter(cr.zeros(2, 3))
        >>> w.requires_grad, w.shape
        (True, (2, 3))
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = numpy.zeros((0,), dtype=dtypes.get_default_dtype())
        super().__init__(data.array if isinstance(data, Tensor) else data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (Tensor(self.array), self.requires_grad))


def _is_module_collection(value, kind):
    """True for a non-empty list/tuple/dict all of whose items are ``kind``."""
    items = value.values() if isinstance(value, dict) else value
    if not isinstance(value, (list, tuple, dict)) or len(value) == 0:
        return False
    return all(isinstance(item, kind) for item in items)


def _collection_items(value):
    if isinstance(value, dict):
        return [(str(key), item) for key, item in value.items()]
    return [(str(index), item) for index, item in enumerate(value)]


class Module:
    """Base class of layers and models.

    Subclasses set parameters and sub-modules as attributes in ``__init__`` and
    define ``forward``; calling the module calls ``forward``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> class Scale(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.factor = nn.Parameter(cr.tensor([2.0]))
        ...     def forward(self, x):
        ...         return x * self.factor
        >>> m = Scale()
        >>> [name for name, _ in m.named_parameters()]
        ['factor']
        >>> m(cr.tensor([1.0, 3.0]))
        tensor([2., 6.], grad_fn=<mul>)
    """

    def __init__(self):
        # Names of the attributes that are buffers, mapped to whether they are saved in state_dict.
        object.__setattr__(self, "_buffer_names", {})
        object.__setattr__(self, "training", True)

    def _check_initialized(self):
        if "_buffer_names" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}: Module.__init__() was not called; "
                "call super().__init__() at the start of your __init__"
            )

    def __setattr__(self, name, value):
        if isinstance(value, (Parameter, Module)) or _is_module_collection(value, (Module, Parameter)):
            self._check_initialized()
        buffer_names = self.__dict__.get("_buffer_names", {})
        if name in buffer_names and value is not None and not isinstance(value, Tensor):
            raise TypeError(
                f"{type(self).__name__}: cannot assign {type(value).__name__} to buffer '{name}'; "
                "a buffer holds a Tensor (or None)"
            )
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self.__dict__.get("_buffer_names", {}).pop(name, None)
        object.__delattr__(self, name)

    # ----- the attribute walk -----------------------------------------------------------
    def _members(self):
        """(name, value) pairs of this module's own attributes, in assignment order.

        Containers (Sequential, ModuleList, ModuleDict) override this to list their items.
        """
        return list(vars(self).items())

    def _own_parameters(self):
        """(name, Parameter) pairs held directly by this module (including inside lists/dicts)."""
        found = []
        for name, value in self._members():
            if isinstance(value, Parameter):
                found.append((name, value))
            elif _is_module_collection(value, Parameter):
                found += [(f"{name}.{key}", item) for key, item in _collection_items(value)]
        return found

    def _own_buffers(self, persistent_only=False):
        found = []
        for name, persistent in self.__dict__.get("_buffer_names", {}).items():
            value = self.__dict__.get(name)
            if value is not None and (persistent or not persistent_only):
                found.append((name, value))
        return found

    def named_children(self):
        """(name, module) for each direct sub-module; items of a list/dict attribute are named ``attr.key``."""
        for name, value in self._members():
            if isinstance(value, Module):
                yield name, value
            elif _is_module_collection(value, Module):
                for key, item in _collection_items(value):
                    yield f"{name}.{key}", item

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix=""):
        """(dotted name, module) for this module and every module below it, each once."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop(0)
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            stack[0:0] = [(f"{name}.{child_name}" if name else child_name, child)
                          for child_name, child in module.named_children()]

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, Parameter) for every parameter, each shared parameter once."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, parameter in module._own_parameters():
                if id(parameter) in seen:
                    continue
                seen.add(id(parameter))
                yield (f"{module_name}.{name}" if module_name else name), parameter

    def parameters(self, recurse=True):
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    def register_buffer(self, name, tensor, persistent=True):
        """Keep ``tensor`` as state of this module that is not learned (saved in state_dict if persistent).

        Example: ``self.register_buffer("running_mean", cr.zeros(n))``.
        """
        self._check_initialized()
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"{type(self).__name__}.register_buffer: '{name}' must be a Tensor or None, "
                f"got {type(tensor).__name__}"
            )
        if "." in name or name == "":
            raise KeyError(f"{type(self).__name__}.register_buffer: invalid buffer name {name!r}")
        self._buffer_names[name] = bool(persistent)
        object.__setattr__(self, name, tensor)

    def named_buffers(self, prefix="", recurse=True):
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, buffer in module._own_buffers():
                yield (f"{module_name}.{name}" if module_name else name), buffer

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # ----- modes and gradients ---------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (dropout active, batch statistics used) here and in every sub-module."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for parameter in self.parameters():
            parameter.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Forget accumulated gradients: set ``.grad`` to None (default) or fill it with zeros."""
        for parameter in self.parameters():
            if parameter.grad is None:
                continue
            if set_to_none:
                parameter.grad = None
            else:
                parameter.grad.array[...] = 0

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module (children first) and then on self; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ----- dtype and device -----------------------------------------------------------------
    def to(self, *args, dtype=None, device=None):
        """Convert parameters and floating buffers in place: ``m.to(cr.float64)``, ``m.to('cuda')``.

        Parameters keep their identity (optimizers holding them stay valid); only ``.data`` changes.
        """
        device, dtype = split_to_arguments(args, dtype, device)
        dtype = dtypes.to_dtype(dtype)

        def convert(tensor, floating_only):
            converted = tensor.detach()
            if device is not None:
                converted = converted.to(device)
            if dtype is not None and (dtypes.is_floating(tensor.dtype) or not floating_only):
                converted = converted.to(dtype)
            return converted.array

        for module in self.modules():
            for _, parameter in module._own_parameters():
                parameter.array = convert(parameter, floating_only=False)
                if parameter.grad is not None:
                    parameter.grad.array = convert(parameter.grad, floating_only=False)
            for _, buffer in module._own_buffers():
                buffer.array = convert(buffer, floating_only=True)
        return self

    def double(self):
        return self.to(dtypes.float64)

    def float(self):
        return self.to(dtypes.float32)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    # ----- saving and loading -----------------------------------------------------------------
    def state_dict(self, prefix=""):
        """An ordered dict: dotted name -> tensor, for every parameter and persistent buffer.

        For each module its own parameters come first, then its buffers, then its
        children's entries (PyTorch's order). The tensors share memory with the module.
        """
        state = OrderedDict()
        for module_name, module in self.named_modules(prefix):
            dotted = f"{module_name}." if module_name else ""
            for name, parameter in module._own_parameters():
                state[dotted + name] = parameter.detach()
            for name, buffer in module._own_buffers(persistent_only=True):
                state[dotted + name] = buffer.detach()
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from ``state_dict`` (tensors, NumPy arrays, or torch tensors) into this module.

        With ``strict=True`` the keys must match exactly; a missing or unexpected key,
        or a shape mismatch, raises an error naming it. Returns ``(missing_keys, unexpected_keys)``.
        """
        own = self.state_dict()
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        if strict and (missing or unexpected):
            lines = [f"{type(self).__name__}.load_state_dict: the keys do not match."]
            if missing:
                lines.append(f"  missing keys (in the module, not in the state dict): {missing}")
            if unexpected:
                lines.append(f"  unexpected keys (in the state dict, not in the module): {unexpected}")
            lines.append("  pass strict=False to load only the keys present in both")
            raise KeyError("\n".join(lines))
        for key, target in own.items():
            if key not in state_dict:
                continue
            source = _as_array(state_dict[key])
            if tuple(source.shape) != tuple(target.shape):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: size mismatch for '{key}': the state dict has "
                    f"shape {tuple(source.shape)} but the module's tensor has shape {tuple(target.shape)}"
                )
        with no_grad():
            for key, target in own.items():
                if key in state_dict:
                    # target shares memory with the module's tensor, so this writes into the module.
                    target.array[...] = target.xp.asarray(_as_array(state_dict[key])).astype(target.dtype)
        return missing, unexpected

    # ----- calling ------------------------------------------------------------------------------
    # Module itself has no forward: a subclass defines it. Containers that cannot be
    # called say why in this attribute, which the error below shows.
    _why_not_callable = "define forward(self, ...) in the subclass: it computes the module's output"

    def __call__(self, *args, **kwargs):
        forward = getattr(self, "forward", None)
        if forward is None:
            raise TypeError(f"{type(self).__name__} cannot be called: {self._why_not_callable}")
        if self.__dict__.get("_hooks"):
            return call_with_hooks(self, forward, args, kwargs)   # nn/hooks.py
        return forward(*args, **kwargs)

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, args)`` before each forward (a returned tuple replaces args); returns a handle."""
        return add_module_hook(self, "forward_pre", hook)

    def register_forward_hook(self, hook):
        """Call ``hook(module, args, output)`` after each forward (a returned value replaces output); returns a handle."""
        return add_module_hook(self, "forward", hook)

    def register_full_backward_hook(self, hook):
        """Call ``hook(module, grad_input, grad_output)`` once backward has this call's gradients; returns a handle."""
        return add_module_hook(self, "backward", hook)

    # ----- printing ------------------------------------------------------------------------------
    def extra_repr(self):
        """The text between the parentheses of this module's one-line repr (layers override it)."""
        return ""

    def num_parameters(self):
        """The number of scalar learned values in this module and below."""
        return sum(parameter.numel() for parameter in self.parameters())

    def _repr_lines(self):
        children = list(self.named_children())
        if not children:
            return [f"{type(self).__name__}({self.extra_repr()})"]
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in children:
            child_lines = child._repr_lines()
            lines.append(f"  ({name}): " + child_lines[0])
            lines += ["  " + line for line in child_lines[1:]]
        lines.append(")")
        return lines

    def __repr__(self):
        lines = self._repr_lines()
        count = self.num_parameters()
        lines[-1] += f"  # {count:,} parameters" if count else ""
        return "\n".join(lines)


def _as_array(value):
    """The raw array of a state-dict value: a chainrule Tensor, a NumPy array, or a torch tensor."""
    if isinstance(value, Tensor):
        return value.array
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        return value.detach().cpu().numpy()
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return value
    return numpy.asarray(value)


class Sequential(Module):
    """Modules applied one after another: ``y = f_n(… f_2(f_1(x)))``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> model(cr.zeros(3, 4)).shape
        (3, 2)
        >>> list(model.state_dict())[:2]
        ['0.weight', '0.bias']
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            items = list(modules[0].items())
        else:
            items = [(str(index), module) for index, module in enumerate(modules)]
        for name, module in items:
            _check_is_module(module, "Sequential", name)
        self._items = OrderedDict(items)

    def _members(self):
        return list(self._items.items())

    def forward(self, x):
        for module in self._items.values():
            x = module(x)
        return x

    def append(self, module):
        _check_is_module(module, "Sequential", len(self._items))
        self._items[str(len(self._items))] = module
        return self

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*list(self._items.values())[index])
        return list(self._items.values())[index]

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(self._items.values())

    def __getattr__(self, name):
        items = self.__dict__.get("_items", {})
        if name in items:
            return items[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")


class ModuleList(Module):
    """A list of modules whose parameters the walk finds (named ``0``, ``1``, ...).

    Example:
        >>> import chainrule.nn as nn
        >>> layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
        >>> len(list(layers.parameters()))
        6
    """

    def __init__(self, modules=()):
        super().__init__()
        self._items = []
        self.extend(modules)

    def _members(self):
        return [(str(index), module) for index, module in enumerate(self._items)]

    def append(self, module):
        _check_is_module(module, "ModuleList", len(self._items))
        self._items.append(module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        _check_is_module(module, "ModuleList", index)
        self._items.insert(index, module)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(self._items[index])
        return self._items[index]

    def __setitem__(self, index, module):
        _check_is_module(module, "ModuleList", index)
        self._items[index] = module

    def __delitem__(self, index):
        del self._items[index]

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    _why_not_callable = "ModuleList has no forward: iterate over it and call each module in your own forward"


class ModuleDict(Module):
    """A dict of modules (string keys) whose parameters the walk finds (named by key).

    Example:
        >>> import chainrule.nn as nn
        >>> heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
        >>> sorted(heads.keys())
        ['a', 'b']
    """

    def __init__(self, modules=None):
        super().__init__()
        self._items = OrderedDict()
        if modules is not None:
            self.update(modules)

    def _members(self):
        return list(self._items.items())

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for key, module in items:
            self[key] = module

    def __setitem__(self, key, module):
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: keys must be strings, got {type(key).__name__}")
        _check_is_module(module, "ModuleDict", key)
        self._items[key] = module

    def __getitem__(self, key):
        return self._items[key]

    def __delitem__(self, key):
        del self._items[key]

    def __contains__(self, key):
        return key in self._items

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    def keys(self):
        return self._items.keys()

    def values(self):
        return self._items.values()

    def items(self):
        return self._items.items()

    _why_not_callable = "ModuleDict has no forward: pick a module by key and call it"


def _check_is_module(value, container, position):
    if not isinstance(value, Module):
        raise TypeError(
            f"{container}: item {position!r} is a {type(value).__name__}, not a Module; "
            "wrap functions in a Module subclass (or use the nn layer of the same name)"
        )
