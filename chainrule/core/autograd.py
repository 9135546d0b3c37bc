"""Reverse-mode automatic differentiation: the backward walk.

The graph is made of tensors: a tensor made by a primitive remembers the
primitive (``_op``), its input tensors (``_inputs``) and the op's parameters.
Backpropagation is the chain rule applied in reverse topological order:

    ∂L/∂x = Σ over the ops y = f(..., x, ...) that used x of  vjp_f,x(∂L/∂y)

1. sort the tensors so that every tensor comes after the tensors it was made from;
2. walk that order backwards, starting with ∂L/∂L = 1 (or the given ``gradient``);
3. at each tensor, ask its primitive for each input's share of the gradient,
   un-broadcast it to the input's shape, and add it to that input's running sum;
4. at a leaf, add the finished gradient into ``leaf.grad``.

Others watch the walk rather than copy it: ``run_backward(observer=...)`` is called
at every op with its gradient and each input's share (the explainer records the
steps so; anomaly mode checks them so).
"""
from chainrule.core import anomaly
from chainrule.core.grad_mode import set_grad_enabled
from chainrule.core.hooks import run_tensor_hooks
from chainrule.core.tensor import Tensor, tensor as make_tensor


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting.

    If ``x`` of shape ``shape`` was broadcast to ``grad.shape`` in the forward pass,
    every copy of an element received part of the gradient, so the gradient of
    ``x`` is the sum over the broadcast axes. This is the one place in chainrule
    that un-broadcasts gradients.
    """
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    leading = grad.ndim - len(shape)
    if leading < 0:
        raise RuntimeError(f"unbroadcast: gradient of shape {grad.shape} cannot be summed to shape {shape}")
    axes = tuple(range(leading)) + tuple(
        leading + i for i, size in enumerate(shape) if size == 1 and grad.shape[leading + i] != 1
    )
    if axes:
        grad = grad.sum(dim=axes, keepdim=True)
    if grad.shape != shape:
        grad = grad.reshape(shape)
    return grad


def topological_order(roots):
    """The tensors that ``roots`` depend on (and that require grad), parents before children.

    An iterative depth-first search, so deep graphs (long RNN unrolls) do not hit
    Python's recursion limit. A tensor whose parents are being visited lies on the stack
    under a ``_PARENTS_DONE`` mark: when the mark comes back up, the tensor is finished.
    """
    order, visited = [], set()
    stack = list(roots)
    while stack:
        tensor = stack.pop()
        if tensor is _PARENTS_DONE:
            order.append(stack.pop())
            continue
        if tensor in visited:
            continue
        visited.add(tensor)
        stack.append(tensor)
        stack.append(_PARENTS_DONE)
        parents = tensor._inputs
        if parents is not None:
            for parent in parents:
                if parent.requires_grad and parent not in visited:
                    stack.append(parent)
    return order


_PARENTS_DONE = object()   # a mark on topological_order's stack (cheaper than a (tensor, flag) pair per entry)


def _freed_graph_error(tensor):
    return RuntimeError(
        f"backward: trying to backward through the graph a second time (at '{tensor._op.name}'); "
        "its saved values were freed by the first backward. Pass retain_graph=True to the first "
        "backward() (or to chainrule.autograd.grad) if you need to walk the graph again."
    )


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None, observer=None):
    """Backpropagate ``root_grads`` from ``roots``: the one backward walk.

    With ``inputs=None`` the finished gradients are added into ``.grad`` of every
    leaf that requires grad (``Tensor.backward``). With a list of ``inputs`` they
    are returned instead, one per input, and no ``.grad`` is touched
    (``chainrule.autograd.grad``, ``chainrule.func`` and the explainer).

    ``observer(tensor, grad, shares)``, if given, is called at each op the walk passes,
    with ∂L/∂tensor and ``shares``, one ``(input index, input, its share of the gradient)``
    per input that receives one (un-broadcast, before it is added in). The explainer
    records its steps this way, and anomaly mode checks the shares the same way.
    """
    order = topological_order(roots)
    # Dicts and sets keyed by the tensors themselves (Tensor hashes by identity, from C: no id() calls).
    targets = None if inputs is None else {t: None for t in inputs}
    # Without targets every tensor in the order leads to a leaf (None: no need to ask); with them, few may.
    wanted = None if targets is None else _leads_to_target(order, targets)
    grads = {}
    for root, grad in zip(roots, root_grads):
        grads[root] = grad if root not in grads else grads[root] + grad
    stored = {id(g.array) for g in root_grads}  # arrays that a leaf's .grad must not share
    observers = [watch for watch in (observer, anomaly.backward_observer()) if watch is not None]

    with set_grad_enabled(create_graph), anomaly.forward_checks_paused():
        while order:
            # Popping (rather than iterating) drops the walk's reference to each tensor once
            # it is done, so a freed graph's activations are released during the walk.
            tensor = order.pop()
            grad = grads.pop(tensor, None)
            if grad is None or (wanted is not None and not wanted[tensor]):
                continue
            if not isinstance(grad, Tensor):   # a running sum of several shares, kept as a raw array (_add)
                grad = Tensor._wrap(grad)
            if tensor._hooks:   # tensor.register_hook: the hooks see (and may replace) ∂L/∂tensor first
                grad = run_tensor_hooks(tensor, grad)
            if targets is not None and tensor in targets:
                targets[tensor] = grad
            elif targets is None and (tensor._op is None or tensor._retains_grad):
                _accumulate_into_grad(tensor, grad, create_graph, stored)
                if _post_accumulate_grad_hooks and id(tensor) in _post_accumulate_grad_hooks:
                    _run_post_accumulate_grad_hooks(tensor)
            if tensor._op is None:
                continue
            shares = input_shares(tensor, grad, wanted)
            for watch in observers:
                watch(tensor, grad, shares)
            for _, parent, share in shares:
                previous = grads.get(parent)
                grads[parent] = share if previous is None else _add(previous, share, create_graph)
            if not retain_graph:
                tensor._inputs = None
                tensor._params = None

    if targets is None:
        return None
    return [targets[t] for t in inputs]


def input_shares(tensor, grad, wanted=None):
    """Ask ``tensor``'s primitive for each wanted input's share of ∂L/∂tensor, at that input's shape and dtype.

    ``wanted`` (tensor → bool) names the inputs whose gradients lead somewhere; None: all that require grad.
    """
    if tensor._inputs is None:
        raise _freed_graph_error(tensor)
    op, inputs, params = tensor._op, tensor._inputs, tensor._params
    rules = getattr(op, "direct_vjps", None)   # a card's rules, called without its vjp lookup
    # A card with one rule for all inputs (their gradients share work) is asked once; others per input.
    every = None if rules is not None or op.vjp_all is None else op.vjp_all(grad, tensor, *inputs, **params)
    # One or two inputs without params (every elementwise op) are passed as plain arguments, not
    # *inputs: Python 3.11 then runs the rule without a C-level call.
    plain = 0 if params else len(inputs)
    shares = []
    for index, parent in enumerate(inputs):
        if not parent.requires_grad or (wanted is not None and not wanted.get(parent, False)):
            continue
        if every is not None:
            share = every[index]
        elif rules is not None and index < len(rules) and rules[index] is not None:
            rule = rules[index]
            if plain == 2:
                share = rule(grad, tensor, inputs[0], inputs[1])
            elif plain == 1:
                share = rule(grad, tensor, inputs[0])
            else:
                share = rule(grad, tensor, *inputs, **params)
        else:
            share = op.vjp(index, grad, tensor, *inputs, **params)
        if share.array.shape != parent.array.shape:
            share = unbroadcast(share, parent.shape)
        if share.array.dtype is not parent.array.dtype and share.array.dtype != parent.array.dtype:
            share = share.to(parent.dtype)
        shares.append((index, parent, share))
    return shares


def _add(running_sum, share, create_graph):
    """running sum + share of one tensor's gradient; on raw arrays unless the walk is itself recorded.

    The first sum is a new array (the first share may be held elsewhere: add hands ∂L/∂z to both of
    its inputs); later shares are added into that array, the walk's own, in place: the same
    additions in the same order, without a new array and tensor for each.
    """
    if create_graph:
        return running_sum + share
    if isinstance(running_sum, Tensor):
        return running_sum.array + share.array
    running_sum += share.array
    return running_sum


def _leads_to_target(order, targets):
    """tensor → whether it leads to a target (a leaf, without targets): only those gradients are worth forming."""
    leads = {}
    for tensor in order:
        if targets is None:
            reaches = tensor._op is None or tensor._inputs is None
        else:
            reaches = tensor in targets
        for parent in tensor._inputs or ():
            reaches = reaches or leads.get(parent, False)
        leads[tensor] = reaches
    return leads


def _accumulate_into_grad(tensor, grad, create_graph, stored):
    """Add ``grad`` into ``tensor.grad`` as PyTorch does: sum over backward calls."""
    # The walk writes ._grad itself: its gradients have the tensor's shape and dtype by construction
    # (un-broadcast and cast above), so the checks of the public .grad setter would only cost time.
    if create_graph:
        tensor._grad = grad if tensor._grad is None else tensor._grad + grad
        return
    if tensor._grad is None:
        # .grad must not share memory with anything else the user can see, because
        # optimizers and zero_grad write into it. The walk may hand one array to several
        # tensors (add passes ∂L/∂z to both inputs), views of the caller's gradient, or
        # read-only broadcast views: copy those; a fresh array (or a view of one) is kept.
        data = grad.array
        owner = data if data.base is None else data.base
        if not data.flags.writeable or id(data) in stored or id(owner) in stored:
            data = grad.xp.array(data, copy=True, order="C")
            owner = data
        stored.add(id(data))
        stored.add(id(owner))
        tensor._grad = Tensor._wrap(data)
    else:
        tensor._grad.array += grad.array


# Hooks run after a leaf's .grad is final for this backward (DistributedDataParallel starts its
# gradient messages from them). Kept beside the walk, by id, so Tensor needs no extra slot; a
# weakref.finalize drops a tensor's entry when it dies, before its id can be reused.
_post_accumulate_grad_hooks = {}


class RemovableHandle:
    """What ``register_post_accumulate_grad_hook`` returns: ``remove()`` unregisters the hook."""

    def __init__(self, tensor_id, hook):
        self._tensor_id, self._hook = tensor_id, hook

    def remove(self):
        hooks = _post_accumulate_grad_hooks.get(self._tensor_id)
        if hooks and self._hook in hooks:
            hooks.remove(self._hook)
            if not hooks:
                del _post_accumulate_grad_hooks[self._tensor_id]


def register_post_accumulate_grad_hook(tensor, hook):
    """Call ``hook(tensor)`` whenever ``backward()`` has added into leaf ``tensor``'s ``.grad`` (see Tensor's method)."""
    import weakref

    if tensor._op is not None:
        raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks cannot be registered on "
                           "non-leaf tensors (this one was made by an op); register it on the leaf it came from")
    if not tensor.requires_grad:
        raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a tensor that doesn't "
                           "require gradient; call .requires_grad_() first")
    if not callable(hook):
        raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got {type(hook).__name__}")
    key = id(tensor)
    if key not in _post_accumulate_grad_hooks:
        _post_accumulate_grad_hooks[key] = []
        weakref.finalize(tensor, _post_accumulate_grad_hooks.pop, key, None)
    _post_accumulate_grad_hooks[key].append(hook)
    return RemovableHandle(key, hook)


def _run_post_accumulate_grad_hooks(tensor):
    for hook in list(_post_accumulate_grad_hooks.get(id(tensor), ())):
        result = hook(tensor)
        if result is not None:
            raise TypeError(f"post accumulate grad hook {getattr(hook, '__name__', hook)!r} returned "
                            f"{type(result).__name__}; it must return None (change tensor.grad in place instead)")


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of accumulated.

    Computes ``Σ_k grad_outputs[k]ᵀ ∂outputs[k]/∂inputs[i]`` for each input ``i``, as
    ``torch.autograd.grad`` does. With ``create_graph=True`` the result is itself
    differentiable.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor(3.0, requires_grad=True)
        >>> (dx,) = cr.autograd.grad(x ** 3, x, create_graph=True)   # 3x² = 27
        >>> (d2x,) = cr.autograd.grad(dx, x)                          # 6x = 18
        >>> dx.item(), d2x.item()
        (27.0, 18.0)
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError(
                f"autograd.grad: an input of shape {t.shape} does not require grad; "
                "call .requires_grad_() on it before computing the outputs"
            )
    root_grads = [_initial_grad(out, g, "autograd.grad") for out, g in zip(outputs, grad_outputs)]
    if retain_graph is None:
        retain_graph = create_graph
    roots = [out for out in outputs if out.requires_grad]
    root_grads = [g for out, g in zip(outputs, root_grads) if out.requires_grad]
    results = run_backward(roots, root_grads, retain_graph, create_graph, inputs=inputs)
    for t, r in zip(inputs, results):
        if r is None and not allow_unused:
            raise RuntimeError(
                f"autograd.grad: an input of shape {t.shape} was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return tuple(results)


def _initial_grad(output, gradient, caller):
    """∂L/∂output to start the walk with: ``gradient``, or 1 for a scalar output."""
    if gradient is None:
        if output.numel() != 1:
            raise RuntimeError(
                f"{caller}: grad can be implicitly created only for scalar outputs, but the output has "
                f"shape {output.shape}; pass gradient= (a tensor of that shape, ∂L/∂output), "
                "or reduce the output first (e.g. output.sum())"
            )
        return Tensor._wrap(output.xp.ones(output.shape, dtype=output.dtype))
    if not isinstance(gradient, Tensor):
        gradient = make_tensor(gradient, dtype=output.dtype)
    if tuple(gradient.shape) != tuple(output.shape):
        raise RuntimeError(
            f"{caller}: gradient has shape {gradient.shape} but the output has shape {output.shape}; "
            "they must match"
        )
    return gradient


# torch.autograd.Function's home is chainrule.autograd too; it builds on the walk above (core/function.py).
from chainrule.core.function import Function, FunctionCtx  # noqa: E402,F401
