"""Module hooks, PyTorch's three: before ``forward``, after it, and when the module's gradients are known.

    handle = model.conv1.register_forward_hook(lambda module, inputs, output: print(output.shape))
    handle.remove()

* forward pre-hook ``hook(module, args)``: may return new args (a tuple, or one value);
* forward hook ``hook(module, args, output)``: may return a new output;
* full backward hook ``hook(module, grad_input, grad_output)``: ∂L/∂(the tensor arguments) and
  ∂L/∂(the outputs), tuples with None where there is no gradient; may return a new grad_input.

The backward hook sees the gradients through the tensor hooks of the walk
(``core/hooks.py``): each tensor argument that requires grad and each output pass through an
identity (recorded as ``BackwardHook``), whose tensor hook collects its gradient; when the last
argument's gradient arrives (or, with no argument needing one, the last output's), the hook is called.
"""
from chainrule.core.function import Function
from chainrule.core.grad_mode import is_grad_enabled
from chainrule.core.hooks import RemovableHandle
from chainrule.core.tensor import Tensor

KINDS = ("forward_pre", "forward", "backward")


def add_module_hook(module, kind, hook):
    """Register ``hook`` of ``kind`` ('forward_pre', 'forward' or 'backward') on ``module``; returns a handle."""
    if not callable(hook):
        raise TypeError(f"register_{kind}_hook: expected a function, got {type(hook).__name__}")
    tables = module.__dict__.get("_hooks")
    if tables is None:
        tables = {name: {} for name in KINDS}
        object.__setattr__(module, "_hooks", tables)
    handle = RemovableHandle(tables[kind])
    tables[kind][handle.id] = hook
    return handle


class BackwardHook(Function):
    """The identity, recorded so that a module's inputs and outputs have a gradient of their own to watch."""

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, grad):
        return grad


def call_with_hooks(module, forward, args, kwargs):
    """``forward(*args, **kwargs)`` with ``module``'s hooks around it (Module.__call__ comes here when it has any)."""
    tables = module._hooks
    for hook in list(tables["forward_pre"].values()):
        replaced = hook(module, args)
        if replaced is not None:
            args = replaced if isinstance(replaced, tuple) else (replaced,)
    watcher = None
    if tables["backward"] and is_grad_enabled():
        watcher = _GradientWatcher(module, tables["backward"])
        args = watcher.watch_inputs(args)
    output = forward(*args, **kwargs)
    for hook in list(tables["forward"].values()):
        replaced = hook(module, args, output)
        if replaced is not None:
            output = replaced
    if watcher is not None:
        output = watcher.watch_outputs(output)
    return output


class _GradientWatcher:
    """Collects one call's ∂L/∂inputs and ∂L/∂outputs and hands them to the backward hooks."""

    def __init__(self, module, hooks):
        self.module = module
        self.hooks = hooks
        self.grad_inputs = []
        self.grad_outputs = []
        self.inputs_waiting = 0
        self.outputs_waiting = 0

    def watch_inputs(self, args):
        watched = []
        for position, arg in enumerate(args):
            if isinstance(arg, Tensor):
                self.grad_inputs.append(None)
            if isinstance(arg, Tensor) and arg.requires_grad:
                arg = BackwardHook.apply(arg)
                arg.register_hook(self._input_hook(len(self.grad_inputs) - 1))
                self.inputs_waiting += 1
            watched.append(arg)
        return tuple(watched)

    def watch_outputs(self, output):
        outputs = output if isinstance(output, tuple) else (output,)
        watched = []
        for arg in outputs:
            if isinstance(arg, Tensor):
                self.grad_outputs.append(None)
                if arg.requires_grad:
                    arg = BackwardHook.apply(arg)
                    arg.register_hook(self._output_hook(len(self.grad_outputs) - 1))
                    self.outputs_waiting += 1
            watched.append(arg)
        return tuple(watched) if isinstance(output, tuple) else watched[0]

    def _output_hook(self, position):
        def record(grad):
            self.grad_outputs[position] = grad
            self.outputs_waiting -= 1
            if self.inputs_waiting == 0 and self.outputs_waiting == 0:
                self._call_hooks()      # no input needs a gradient: the outputs' gradients are all there is
        return record

    def _input_hook(self, position):
        def record(grad):
            self.grad_inputs[position] = grad
            self.inputs_waiting -= 1
            if self.inputs_waiting:
                return None
            before = list(self.grad_inputs)
            replaced = self._call_hooks()
            if replaced is None:
                return None
            moved_on = [i for i, old in enumerate(before) if i != position and old is not None and replaced[i] is not old]
            if moved_on:
                raise RuntimeError(f"{type(self.module).__name__} backward hook replaced grad_input {moved_on}, whose "
                                   "gradient had already flowed on; chainrule honours a replaced grad_input only for "
                                   "the input whose gradient arrives last (all of it for a module with one input)")
            return replaced[position]
        return record

    def _call_hooks(self):
        """Call every backward hook; the last replacement of grad_input (a tuple), or None."""
        replaced = None
        for hook in list(self.hooks.values()):
            answer = hook(self.module, tuple(self.grad_inputs), tuple(self.grad_outputs))
            if answer is None:
                continue
            answer = tuple(answer) if isinstance(answer, (tuple, list)) else (answer,)
            if len(answer) != len(self.grad_inputs):
                raise RuntimeError(f"{type(self.module).__name__} backward hook returned {len(answer)} "
                                   f"gradient(s) for {len(self.grad_inputs)} tensor input(s)")
            self.grad_inputs = list(answer)
            replaced = answer
        return replaced
