"""Function transforms in the style of torch.func and JAX: grad, vjp, jvp, jacobians, Hessians.

A transform takes a function of tensors and returns a new function. ``grad(f)``
returns x ↦ ∇f(x); transforms compose, so ``grad(grad(f))`` is the second
derivative and ``jacfwd(jacrev(f))`` the Hessian.

How they work: each call makes fresh "watched" copies of the inputs that require
grad, runs ``f`` with the graph recorded, and walks the graph back with
``chainrule.autograd.grad``. When the call happens inside another transform (or
with outer tensors that require grad), the backward pass is itself recorded, so
the outer transform can differentiate through it.

Forward mode (``jvp``) uses the "double vjp" identity. The vjp u ↦ Jᵀu is linear
in u, and its own vjp maps a tangent t to (Jᵀ)ᵀt = Jt:

    Jt = ∂/∂u ⟨Jᵀu, t⟩

so a Jacobian-vector product costs two reverse passes and needs no separate
forward-mode rule per primitive (Townsend, "A new trick for calculating Jacobian
vector products", 2017).
"""
import functools

from chainrule.core import autograd
from chainrule.core.grad_mode import enable_grad, is_grad_enabled
from chainrule.core.tensor import Tensor
from chainrule.func.pytree import tree_flatten, tree_unflatten
from chainrule.ops import stack


def _argnums_tuple(argnums, nargs, transform):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in nums:
        if not -nargs <= n < nargs:
            raise ValueError(f"{transform}: argnums {argnums} is out of range for a function called with {nargs} arguments")
    return tuple(n % nargs for n in nums)


def _watch(leaf, transform):
    """A fresh tensor to differentiate with respect to; still connected to ``leaf`` if an outer trace needs it."""
    if not leaf.is_floating_point():
        raise TypeError(
            f"{transform}: can only differentiate with respect to floating-point tensors, got {leaf.dtype}; "
            "convert with .double() or .float()"
        )
    if leaf.requires_grad and is_grad_enabled():
        return leaf.clone()  # stays in the outer graph, so outer transforms see through this one
    return leaf.detach().requires_grad_()


def _watch_args(args, argnums, transform):
    """Replace the arguments at ``argnums`` by watched copies; return (new args, watched leaves, specs)."""
    args = list(args)
    watched, specs, originals = [], [], []
    for n in argnums:
        leaves, spec = tree_flatten(args[n])
        fresh = [_watch(leaf, transform) for leaf in leaves]
        originals += leaves
        watched.append(fresh)
        specs.append(spec)
        args[n] = tree_unflatten(spec, fresh)
    return args, watched, specs


def _outer_trace_active():
    return is_grad_enabled()


def _finish(result, watched_flat):
    """Detach a result unless it depends on tensors outside this transform (then an outer trace needs it)."""
    if not isinstance(result, Tensor) or not result.requires_grad:
        return result
    inner = {id(t) for t in watched_flat}
    for node in autograd.topological_order([result]):
        if node._op is None and node.requires_grad and id(node) not in inner:
            return result
        if node._op is not None and node._inputs is None:
            return result
    return result.detach()


def _grads(outputs, inputs, grad_outputs, create_graph):
    """autograd.grad that gives zeros (not None) for inputs the outputs do not depend on."""
    results = autograd.grad(outputs, inputs, grad_outputs, retain_graph=True, create_graph=create_graph, allow_unused=True)
    return [
        r if r is not None else Tensor._wrap(t.xp.zeros(t.shape, dtype=t.dtype))
        for r, t in zip(results, inputs)
    ]


def _scalar_output(out, transform):
    if not isinstance(out, Tensor):
        raise TypeError(f"{transform}: the function must return a tensor, got {type(out).__name__}")
    if out.numel() != 1:
        raise RuntimeError(
            f"{transform}: the function must return a scalar (one element), got shape {out.shape}; "
            "use jacrev/jacobian for vector outputs or reduce the output (e.g. .sum())"
        )
    return out


def value_and_grad(f, argnums=0, has_aux=False):
    """``x ↦ (f(x), ∇f(x))`` for a scalar-valued ``f``.

    Example:
        >>> import chainrule as cr
        >>> value, slope = cr.func.value_and_grad(lambda x: (x ** 3).sum())(cr.tensor([2.0]))
        >>> value.item(), slope.tolist()
        (8.0, [12.0])
    """

    @functools.wraps(f)
    def value_and_grad_f(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args), "grad")
        args, watched, specs = _watch_args(args, nums, "grad")
        with enable_grad():
            out = f(*args, **kwargs)
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError("grad: with has_aux=True the function must return a pair (output, aux)")
            out, aux = out
        out = _scalar_output(out, "grad")
        flat = [t for group in watched for t in group]
        create_graph = _outer_trace_active()
        grads = _grads([out], flat, None, create_graph) if out.requires_grad else [
            Tensor._wrap(t.xp.zeros(t.shape, dtype=t.dtype)) for t in flat
        ]
        grads = [_finish(g, flat) for g in grads]
        structured, start = [], 0
        for group, spec in zip(watched, specs):
            structured.append(tree_unflatten(spec, grads[start:start + len(group)]))
            start += len(group)
        gradient = structured[0] if isinstance(argnums, int) else tuple(structured)
        value = _finish(out, flat)
        if has_aux:
            return (value, aux), gradient
        return value, gradient

    return value_and_grad_f


def grad(f, argnums=0, has_aux=False):
    """The gradient transform: ``grad(f)(x) = ∇ₓ f(x)`` for a scalar-valued ``f``.

    ``argnums`` picks the argument(s) to differentiate (an int, or a tuple giving a
    tuple of gradients); an argument may be a tensor or a tuple/list/dict of tensors.
    With ``has_aux=True``, ``f`` returns ``(output, aux)`` and the result is ``(grad, aux)``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.func import grad
        >>> x = cr.tensor(1.0, dtype=cr.float64)
        >>> grad(cr.sin)(x).item() == cr.cos(x).item()
        True
        >>> round(grad(grad(cr.sin))(x).item(), 6)       # −sin(1)
        -0.841471
    """

    @functools.wraps(f)
    def grad_f(*args, **kwargs):
        result = value_and_grad(f, argnums, has_aux)(*args, **kwargs)
        if has_aux:
            (_, aux), gradient = result
            return gradient, aux
        return result[1]

    return grad_f


def vjp(f, *primals, has_aux=False):
    """``(f(primals), vjp_fn)`` where ``vjp_fn(v)`` returns vᵀ∂f/∂primals, one entry per primal.

    Example:
        >>> import chainrule as cr
        >>> out, vjp_fn = cr.func.vjp(lambda x: x * x, cr.tensor([1.0, 2.0]))
        >>> vjp_fn(cr.tensor([1.0, 1.0]))[0]     # vᵀ diag(2x)
        tensor([2., 4.])
    """
    args, watched, specs = _watch_args(primals, tuple(range(len(primals))), "vjp")
    with enable_grad():
        out = f(*args)
    aux = None
    if has_aux:
        out, aux = out
    out_leaves, out_spec = tree_flatten(out)
    flat = [t for group in watched for t in group]
    create_graph = _outer_trace_active()

    def vjp_fn(cotangents):
        cotangent_leaves, cotangent_spec = tree_flatten(cotangents)
        if len(cotangent_leaves) != len(out_leaves):
            raise ValueError(f"vjp: expected {len(out_leaves)} cotangents (one per output), got {len(cotangent_leaves)}")
        for c, o in zip(cotangent_leaves, out_leaves):
            if c.shape != o.shape:
                raise ValueError(f"vjp: cotangent shape {c.shape} does not match output shape {o.shape}")
        live = [(o, c) for o, c in zip(out_leaves, cotangent_leaves) if o.requires_grad]
        if live:
            grads = _grads([o for o, _ in live], flat, [c for _, c in live], create_graph)
        else:
            grads = [Tensor._wrap(t.xp.zeros(t.shape, dtype=t.dtype)) for t in flat]
        grads = [_finish(g, flat) for g in grads]
        structured, start = [], 0
        for group, spec in zip(watched, specs):
            structured.append(tree_unflatten(spec, grads[start:start + len(group)]))
            start += len(group)
        return tuple(structured)

    value = tree_unflatten(out_spec, [_finish(o, flat) for o in out_leaves])
    return (value, vjp_fn, aux) if has_aux else (value, vjp_fn)


class _Linearization:
    """f at a point, ready for many vjps and jvps: the recorded graph plus dummy cotangents.

    ``vjp(v)`` = vᵀJ (one reverse pass); ``jvp(t)`` = Jt by the double-vjp identity
    Jt = ∂/∂u ⟨Jᵀu, t⟩, using the recorded map u ↦ Jᵀu.
    """

    def __init__(self, f, args, argnums, transform):
        self.args, self.watched, self.specs = _watch_args(args, argnums, transform)
        self.inputs = [t for group in self.watched for t in group]
        with enable_grad():
            out = f(*self.args)
        self.out_leaves, self.out_spec = tree_flatten(out)
        self.create_graph = _outer_trace_active()
        self._transposed = None

    def vjp(self, cotangents):
        live = [(o, c) for o, c in zip(self.out_leaves, cotangents) if o.requires_grad]
        if not live:
            return [Tensor._wrap(t.xp.zeros(t.shape, dtype=t.dtype)) for t in self.inputs]
        return _grads([o for o, _ in live], self.inputs, [c for _, c in live], self.create_graph)

    def jvp(self, tangents):
        if self._transposed is None:
            # u ↦ Jᵀu, recorded so that it can be differentiated with respect to u.
            self.dummies = [
                Tensor._wrap(o.xp.zeros(o.shape, dtype=o.dtype)).requires_grad_() for o in self.out_leaves
            ]
            live = [(o, u) for o, u in zip(self.out_leaves, self.dummies) if o.requires_grad]
            if live:
                with enable_grad():
                    self._transposed = _grads([o for o, _ in live], self.inputs, [u for _, u in live], True)
            else:
                self._transposed = []
        pairing = None
        for jt_u, t in zip(self._transposed, tangents):
            if jt_u.requires_grad:
                term = (jt_u * t).sum()
                pairing = term if pairing is None else pairing + term
        if pairing is None:
            return [Tensor._wrap(o.xp.zeros(o.shape, dtype=o.dtype)) for o in self.out_leaves]
        return _grads([pairing], self.dummies, None, self.create_graph)


def jvp(f, primals, tangents, has_aux=False):
    """``(f(primals), J·tangents)``: the directional derivative of ``f`` along ``tangents``.

    ``primals`` and ``tangents`` are tuples of the same structure. Computed with
    the double-vjp identity Jt = ∂/∂u ⟨Jᵀu, t⟩ (see the module docstring).

    Example:
        >>> import chainrule as cr
        >>> out, tangent_out = cr.func.jvp(lambda x: x ** 2, (cr.tensor([3.0]),), (cr.tensor([1.0]),))
        >>> tangent_out          # 2x · 1
        tensor([6.])
    """
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise TypeError("jvp: primals and tangents must be tuples, e.g. jvp(f, (x,), (t,))")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primals but {len(tangents)} tangents")
    aux_box = []

    def f_without_aux(*args):
        out = f(*args)
        if has_aux:
            out, aux = out
            aux_box.append(aux)
        return out

    linear = _Linearization(f_without_aux, primals, tuple(range(len(primals))), "jvp")
    tangent_leaves, _ = tree_flatten(tangents)
    for t, x in zip(tangent_leaves, linear.inputs):
        if t.shape != x.shape:
            raise ValueError(f"jvp: tangent shape {t.shape} does not match primal shape {x.shape}")
    tangent_out = linear.jvp(tangent_leaves)
    value = tree_unflatten(linear.out_spec, [_finish(o, linear.inputs) for o in linear.out_leaves])
    tangent_out = tree_unflatten(linear.out_spec, [_finish(t, linear.inputs) for t in tangent_out])
    return (value, tangent_out, aux_box[0]) if has_aux else (value, tangent_out)


def _basis(like, index):
    """The unit tensor with a 1 at flat position ``index``, shaped like ``like``."""
    e = like.xp.zeros(like.numel(), dtype=like.dtype)
    e[index] = 1
    return Tensor._wrap(e.reshape(like.shape))


def _jacobian(f, argnums, mode):
    transform = "jacrev" if mode == "rev" else "jacfwd"

    def jacobian_f(*args):
        nums = _argnums_tuple(argnums, len(args), transform)
        linear = _Linearization(f, args, nums, transform)
        outs, ins = linear.out_leaves, linear.inputs
        if mode == "rev":
            # One reverse pass per output element gives one row of J.
            blocks = [[None] * len(ins) for _ in outs]
            for k, out in enumerate(outs):
                rows = [[] for _ in ins]
                for i in range(out.numel()):
                    cotangents = [_basis(o, i) if j == k else Tensor._wrap(o.xp.zeros(o.shape, dtype=o.dtype)) for j, o in enumerate(outs)]
                    for m, g in enumerate(linear.vjp(cotangents)):
                        rows[m].append(g)
                for m, x in enumerate(ins):
                    block = stack(rows[m]) if rows[m] else Tensor._wrap(x.xp.zeros((0,) + x.shape, dtype=x.dtype))
                    blocks[k][m] = block.reshape(out.shape + x.shape)
        else:
            # One forward (jvp) pass per input element gives one column of J.
            blocks = [[None] * len(ins) for _ in outs]
            for m, x in enumerate(ins):
                columns = [[] for _ in outs]
                for i in range(x.numel()):
                    tangents = [_basis(t, i) if j == m else Tensor._wrap(t.xp.zeros(t.shape, dtype=t.dtype)) for j, t in enumerate(ins)]
                    for k, column in enumerate(linear.jvp(tangents)):
                        columns[k].append(column)
                for k, out in enumerate(outs):
                    block = stack(columns[k], dim=-1) if columns[k] else Tensor._wrap(out.xp.zeros(out.shape + (0,), dtype=out.dtype))
                    blocks[k][m] = block.reshape(out.shape + x.shape)
        blocks = [[_finish(b, ins) for b in row] for row in blocks]
        # Rebuild: per output leaf, the argnums structure of its blocks.
        per_output = []
        for row in blocks:
            structured, start = [], 0
            for group, spec in zip(linear.watched, linear.specs):
                structured.append(tree_unflatten(spec, row[start:start + len(group)]))
                start += len(group)
            per_output.append(structured[0] if isinstance(argnums, int) else tuple(structured))
        return tree_unflatten(linear.out_spec, per_output)

    return jacobian_f


def jacrev(f, argnums=0):
    """The Jacobian by reverse mode: one vjp per output element. ``J[i..., j...] = ∂fᵢ/∂xⱼ``,
    of shape ``f(x).shape + x.shape``. Best when outputs are fewer than inputs.

    Example:
        >>> import chainrule as cr
        >>> cr.func.jacrev(lambda x: x ** 2)(cr.tensor([1.0, 2.0]))
        tensor([[2., 0.],
                [0., 4.]])
    """
    return _jacobian(f, argnums, "rev")


def jacfwd(f, argnums=0):
    """The Jacobian by forward mode: one jvp per input element (same result as ``jacrev``).
    Best when inputs are fewer than outputs.

    Example:
        >>> import chainrule as cr
        >>> cr.func.jacfwd(lambda x: x.sin())(cr.tensor([0.0]))
        tensor([[1.]])
    """
    return _jacobian(f, argnums, "fwd")


def jacobian(f, argnums=0):
    """``J = ∂f/∂x`` (reverse mode; see ``jacrev``): ``J[i, j] = ∂fᵢ/∂xⱼ``, of shape f(x).shape + x.shape.

    Example:
        >>> import chainrule as cr
        >>> f = lambda x: cr.stack([x[0] * x[1], x[0] + x[1]])
        >>> cr.func.jacobian(f)(cr.tensor([3.0, 4.0]))            # [[x₁, x₀], [1, 1]]
        tensor([[4., 3.],
                [1., 1.]])
    """
    return jacrev(f, argnums)


def hessian(f, argnums=0):
    """The Hessian ``H[i, j] = ∂²f/∂xᵢ∂xⱼ`` of a scalar function, as ``jacfwd(jacrev(f))``.

    Example:
        >>> import chainrule as cr
        >>> cr.func.hessian(lambda x: (x[0] ** 2) * x[1])(cr.tensor([1.0, 3.0]))
        tensor([[6., 2.],
                [2., 0.]])
    """
    return jacfwd(jacrev(f, argnums), argnums)


def hvp(f, primals, tangents):
    """``(f(primals), H·tangents)``: a Hessian-vector product without forming H.

    Computed as the jvp of ∇f (forward-over-reverse), costing a few gradient
    evaluations regardless of the dimension. Same convention as
    ``torch.autograd.functional.hvp``.

    Example:
        >>> import chainrule as cr
        >>> value, hv = cr.func.hvp(lambda x: (x ** 3).sum(), (cr.tensor([1.0, 2.0]),), (cr.tensor([1.0, 1.0]),))
        >>> hv                   # diag(6x)·1
        (tensor([ 6., 12.]),)
    """
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise TypeError("hvp: primals and tangents must be tuples, e.g. hvp(f, (x,), (v,))")
    argnums = tuple(range(len(primals)))
    _, hv = jvp(grad(f, argnums=argnums), primals, tangents)
    value = f(*[p.detach() for p in primals])
    return value, hv
