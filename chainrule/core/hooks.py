"""Hooks: functions the backward walk (tensor hooks) or a module call (module hooks) runs on the way.

``tensor.register_hook(fn)``: when the walk has ∂L/∂tensor, it calls ``fn(grad)``; a returned
tensor replaces the gradient (before it is added into a leaf's ``.grad`` or passed on to the
inputs), None keeps it. Module hooks (``chainrule/nn/hooks.py``) are built on these.
Every registration returns a ``RemovableHandle``.
"""
import itertools

__all__ = ["RemovableHandle", "add_tensor_hook", "run_tensor_hooks"]

_next_id = itertools.count()


class RemovableHandle:
    """What a ``register_*hook`` returns: ``handle.remove()`` takes the hook out again (also as a ``with`` block).

    Example:
        >>> import chainrule as cr
        >>> x = cr.ones(2, requires_grad=True)
        >>> handle = x.register_hook(lambda grad: grad * 10)
        >>> (x * 1).sum().backward(); x.grad
        tensor([10., 10.])
        >>> handle.remove(); x.grad = None
        >>> (x * 1).sum().backward(); x.grad
        tensor([1., 1.])
    """

    def __init__(self, table):
        self._table = table
        self.id = next(_next_id)

    def remove(self):
        self._table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def add_tensor_hook(tensor, hook):
    """Register ``hook(grad)`` on ``tensor`` (which must require grad); returns a RemovableHandle."""
    if not callable(hook):
        raise TypeError(f"register_hook: expected a function of the gradient, got {type(hook).__name__}")
    if not tensor.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require gradient; "
                           "call x.requires_grad_() first (hooks watch the gradient flowing through x)")
    if tensor._hooks is None:
        tensor._hooks = {}
    handle = RemovableHandle(tensor._hooks)
    tensor._hooks[handle.id] = hook
    return handle


def run_tensor_hooks(tensor, grad):
    """∂L/∂tensor after every hook of ``tensor`` (in registration order) has seen it, and maybe replaced it."""
    for hook in list(tensor._hooks.values()):
        replaced = hook(grad)
        if replaced is None:
            continue
        if not hasattr(replaced, "shape") or tuple(replaced.shape) != tuple(grad.shape):
            shape = getattr(replaced, "shape", type(replaced).__name__)
            raise RuntimeError(f"register_hook: a hook returned {shape} for a gradient of shape {grad.shape}; "
                               "return a tensor of the gradient's shape, or None to keep it")
        grad = replaced
    return grad
