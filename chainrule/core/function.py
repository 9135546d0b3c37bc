"""``chainrule.autograd.Function``: a derivative written by hand, PyTorch's way, run by chainrule's walk.

PyTorch's tutorial writes a custom op as a class with two static methods::

    class MyReLU(chainrule.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):          # ∂L/∂y in, ∂L/∂x out: a vector-Jacobian product
            (x,) = ctx.saved_tensors
            return grad_output * (x > 0)

    y = MyReLU.apply(x)

This is the same idea as a primitive (core/primitive.py), written the other way round:
a primitive gives one rule per input, ``vjps[k](ȳ, y, x₁, ..., xₙ)``, and the backward walk
(core/autograd.py) asks each rule for its input's share. A Function's ``backward`` returns
every input's share at once. ``apply`` makes the output a graph node whose op, a
``FunctionBackward``, answers the walk's per-input question by calling ``backward`` once and
handing out its answers one by one. ``forward`` runs with recording off, as in PyTorch;
``backward`` runs with recording on under ``create_graph=True``, so a backward written with
chainrule's ops can be differentiated again (``gradgradcheck``) like any primitive's rule.

With several outputs, each output that receives a gradient calls ``backward`` with its own
gradient and zeros for the others: a vector-Jacobian product is linear in the output
gradients, so the shares the walk adds up are PyTorch's (one call with all of them).

``GradFn`` is what ``tensor.grad_fn`` returns: the op that made a tensor, with PyTorch's
``name()`` and ``next_functions`` (the ops of its inputs, ``AccumulateGrad`` for a leaf), so
a tutorial can walk the graph backwards from a loss.
"""
from chainrule.core.grad_mode import is_grad_enabled, no_grad
from chainrule.core.tensor import Tensor

__all__ = ["AccumulateGrad", "Function", "FunctionCtx", "GradFn"]


class FunctionCtx:
    """What ``forward`` leaves for ``backward``: saved tensors, which inputs need a gradient, any attribute you set.

    Example:
        >>> import chainrule as cr
        >>> class Cube(cr.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x ** 3
        ...     @staticmethod
        ...     def backward(ctx, grad):
        ...         (x,) = ctx.saved_tensors
        ...         return grad * 3 * x ** 2
        >>> x = cr.tensor([2.0], requires_grad=True)
        >>> Cube.apply(x).sum().backward(); x.grad
        tensor([12.])
    """

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._saved = ()
        self._non_differentiable = set()

    def save_for_backward(self, *tensors):
        """Keep tensors (or None) for ``backward``; read them back as ``ctx.saved_tensors``."""
        for position, value in enumerate(tensors):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"save_for_backward: argument {position} is a {type(value).__name__}; only tensors "
                                "(or None) are saved this way - store other values as attributes, ctx.name = value")
        self._saved = tensors

    @property
    def saved_tensors(self):
        """The tensors given to ``save_for_backward``, in order."""
        return self._saved

    def mark_non_differentiable(self, *outputs):
        """Outputs that carry no gradient (indices, masks): they will not require grad."""
        self._non_differentiable.update(id(output) for output in outputs)


class FunctionBackward:
    """The op of an output of ``Function.apply``: answers the backward walk with ``backward``'s results.

    ``backward(ctx, ȳ...)`` returns every input's share at once, so this op gives the walk
    one rule for all inputs, ``vjp_all(ȳ, y, *inputs)`` (as the fused LSTM and GRU cards do).
    """

    derivatives = ()

    def __init__(self, function, ctx, tensor_positions, outputs, output_index):
        self.function = function
        self.ctx = ctx
        self.name = f"{function.__name__}Backward"
        self.formula = rf"\text{{{function.__name__}: a custom autograd.Function (forward and backward by hand)}}"
        self._tensor_positions = tensor_positions   # where each tensor input sits among forward's arguments
        self._outputs = outputs                      # each output's (shape, dtype, xp), None where forward gave None
        self._output_index = output_index

    def vjp_all(self, grad, out, /, *inputs, **params):
        """Every input's share of the gradient, from one call of the user's ``backward``."""
        return self._run_backward(grad, inputs)

    def vjp(self, index, grad, out, /, *inputs, **params):
        """Input ``index``'s share (``vjp_all``'s answer for that input)."""
        return self.vjp_all(grad, out, *inputs, **params)[index]

    def describe(self):
        return f"{self.name}: {self.formula}"

    def _run_backward(self, grad, inputs):
        name = self.function.__name__
        grads = []
        for position, output in enumerate(self._outputs):
            if position == self._output_index:
                grads.append(grad)
            elif output is None:
                grads.append(None)
            else:
                shape, dtype, xp = output
                grads.append(Tensor._wrap(xp.zeros(shape, dtype=dtype)))
        results = self.function.backward(self.ctx, *grads)
        if not isinstance(results, tuple):
            results = (results,)
        expected = len(self.ctx.needs_input_grad)
        if len(results) != expected:
            raise RuntimeError(f"{name}.backward returned {len(results)} gradient(s) but forward took {expected} "
                               "argument(s); return one per argument of forward (None for those without one)")
        answers = []
        for tensor_index, (position, parent) in enumerate(zip(self._tensor_positions, inputs)):
            share = results[position]
            if share is None:   # PyTorch's meaning: this input's gradient is zero
                share = Tensor._wrap(parent.xp.zeros(parent.shape, dtype=parent.dtype))
            elif not isinstance(share, Tensor):
                raise TypeError(f"{name}.backward: the gradient for argument {position} is a {type(share).__name__}; "
                                "return a tensor (or None)")
            elif parent.requires_grad and not _broadcasts_to(share.shape, parent.shape):
                raise RuntimeError(f"{name}.backward: the gradient for argument {position} has shape {share.shape} "
                                   f"but that input has shape {parent.shape}; they must match")
            answers.append(share)
        return answers


def _broadcasts_to(grad_shape, input_shape):
    """True if ``input_shape`` broadcasts to ``grad_shape`` (the walk then sums the gradient back)."""
    if len(grad_shape) < len(input_shape):
        return False
    tail = grad_shape[len(grad_shape) - len(input_shape):]
    return all(size == 1 or size == other for size, other in zip(input_shape, tail))


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``; call ``YourFunction.apply``.

    ``backward`` gets ∂L/∂output for each output of ``forward`` and returns ∂L/∂argument
    for each argument of ``forward`` (None where there is none): x̄ = Jᵀ ȳ. PyTorch's
    newer style, ``forward(*args)`` plus ``setup_context(ctx, inputs, output)``, works too.

    Example:
        >>> import chainrule as cr
        >>> class Exp(cr.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         y = x.exp()
        ...         ctx.save_for_backward(y)
        ...         return y
        ...     @staticmethod
        ...     def backward(ctx, grad):          # d eˣ/dx = eˣ
        ...         (y,) = ctx.saved_tensors
        ...         return grad * y
        >>> x = cr.tensor([0.0, 1.0], requires_grad=True)
        >>> y = Exp.apply(x); y.grad_fn.name()
        'ExpBackward'
        >>> y.sum().backward(); x.grad
        tensor([1.    , 2.7183])
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise TypeError("autograd.Function: define forward(ctx, *args) as a @staticmethod in your subclass")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise TypeError("autograd.Function: define backward(ctx, *grad_outputs) as a @staticmethod in your subclass "
                        "(it returns one gradient per argument of forward)")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise TypeError("autograd.Function: setup_context is only called when forward does not take ctx")

    @classmethod
    def apply(cls, *args):
        """Run ``forward`` on ``args`` and, if a tensor argument requires grad, record one graph node per output."""
        if cls.forward is Function.forward:
            raise TypeError(f"{cls.__name__}: define forward(ctx, *args) as a @staticmethod")
        recording = is_grad_enabled()
        needs = tuple(recording and isinstance(arg, Tensor) and arg.requires_grad for arg in args)
        ctx = FunctionCtx(needs)
        with no_grad():
            if cls.setup_context is not Function.setup_context:
                result = cls.forward(*args)
                cls.setup_context(ctx, args, result)
            else:
                result = cls.forward(ctx, *args)
        if not any(needs):
            return result
        outputs = result if isinstance(result, tuple) else (result,)
        if not all(isinstance(output, Tensor) or output is None for output in outputs):
            kinds = [type(output).__name__ for output in outputs]
            raise TypeError(f"{cls.__name__}.forward must return a tensor or a tuple of tensors, got {kinds}")
        positions = tuple(position for position, arg in enumerate(args) if isinstance(arg, Tensor))
        inputs = tuple(args[position] for position in positions)
        shapes = [None if output is None else (output.shape, output.dtype, output.xp) for output in outputs]
        nodes, replaced = [], {}
        for position, output in enumerate(outputs):
            if output is None or not _carries_grad(output, ctx):
                nodes.append(output)
                continue
            node = Tensor._wrap(output.array)
            node.requires_grad = True
            node._op = FunctionBackward(cls, ctx, positions, shapes, position)
            node._inputs = inputs
            node._params = {}
            replaced[id(output)] = node
            nodes.append(node)
        # a saved output must be the recorded one, so that backward's use of it stays on the graph
        ctx._saved = tuple(replaced.get(id(value), value) for value in ctx._saved)
        return tuple(nodes) if isinstance(result, tuple) else nodes[0]


def _carries_grad(output, ctx):
    return output.is_floating_point() and id(output) not in ctx._non_differentiable


class _CallableName(str):
    """A string that also answers when called: chainrule reads ``grad_fn.name``, PyTorch calls ``grad_fn.name()``."""

    def __call__(self):
        return str(self)


class GradFn:
    """The op that made a tensor, as ``tensor.grad_fn`` shows it: ``name()``, ``next_functions``, the op's formula.

    ``next_functions`` holds one ``(node, 0)`` per input: the input's ``GradFn``, an
    ``AccumulateGrad`` for a leaf that requires grad, or None for an input without a gradient.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> loss = (w * 3).sum()
        >>> loss.grad_fn.name(), loss.grad_fn.next_functions[0][0].name()
        ('sum', 'mul')
        >>> loss.grad_fn.next_functions[0][0].next_functions
        ((<AccumulateGrad>, 0), (None, 0))
    """

    __slots__ = ("_tensor",)

    def __init__(self, tensor):
        self._tensor = tensor

    @property
    def op(self):
        """The primitive (or custom Function's node) that made the tensor."""
        return self._tensor._op

    @property
    def name(self):
        return _CallableName(self._tensor._op.name)

    @property
    def formula(self):
        return self._tensor._op.formula

    @property
    def derivatives(self):
        return self._tensor._op.derivatives

    @property
    def next_functions(self):
        return tuple((_node_of(parent), 0) for parent in self._tensor._inputs or ())

    def __eq__(self, other):
        return isinstance(other, GradFn) and other._tensor is self._tensor

    def __hash__(self):
        return id(self._tensor)

    def __repr__(self):
        return f"<{self._tensor._op.name}Backward>"


class AccumulateGrad:
    """The end of a path in the graph: a leaf that requires grad, where ``backward`` adds into ``.grad``.

    Example:
        >>> import chainrule as cr
        >>> x = cr.ones(2, requires_grad=True)
        >>> node = (2 * x).grad_fn.next_functions[1][0]
        >>> node.name(), node.variable is x, node.next_functions
        ('AccumulateGrad', True, ())
    """

    __slots__ = ("variable",)
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)

    def __repr__(self):
        return "<AccumulateGrad>"


def _node_of(tensor):
    if not tensor.requires_grad:
        return None
    return AccumulateGrad(tensor) if tensor._op is None else GradFn(tensor)
