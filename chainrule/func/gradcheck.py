"""Numerical gradient checks: compare autodiff with central differences in float64.

For each input x and each direction e (a unit vector, or a random one for large
inputs), the central difference

    (f(x + εe) − f(x − εe)) / 2ε  =  J e + O(ε²)

must match the Jacobian-vector product that backpropagation gives. ``gradcheck``
compares first derivatives; ``gradgradcheck`` runs the same check on the
function that computes the vjp, so it tests the derivatives of the derivative
rules (second order).
"""
import numpy

from chainrule.core import autograd
from chainrule.core.grad_mode import enable_grad, no_grad
from chainrule.core.tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with the numerical one."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(fn, inputs):
    out = fn(*inputs)
    outs = _as_tuple(out)
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: the function must return tensors, got {type(o).__name__}")
    return outs


def _flat_outputs(fn, inputs):
    """All outputs concatenated into one float64 vector (floating outputs only)."""
    with no_grad():
        outs = _outputs(fn, inputs)
    parts = [numpy.asarray(o.detach().__array__(), dtype=numpy.float64).reshape(-1) for o in outs if o.is_floating_point()]
    return numpy.concatenate(parts) if parts else numpy.zeros(0)


def _check_inputs(inputs, caller):
    checked = []
    for position, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad:
            if x.dtype != numpy.float64:
                raise TypeError(
                    f"{caller}: input {position} is {x.dtype}; gradient checks need float64 to be meaningful "
                    "(central differences in float32 lose about half the digits). Pass x.double()"
                )
            checked.append(position)
    if not checked:
        raise ValueError(f"{caller}: no input requires grad; mark the inputs to check with requires_grad=True")
    return checked


def _numerical_directional(fn, inputs, position, direction, eps):
    """(f(x + εd) − f(x − εd)) / 2ε, flattened."""
    x = inputs[position]
    original = x.array.copy()
    try:
        x.array = original + eps * direction
        plus = _flat_outputs(fn, inputs)
        x.array = original - eps * direction
        minus = _flat_outputs(fn, inputs)
    finally:
        x.array = original
    return (plus - minus) / (2 * eps)


def _analytic_vjp(fn, inputs, checked, cotangent):
    """vᵀJ for each checked input (flattened), by one backward pass."""
    with enable_grad():
        outs = [o for o in _outputs(fn, inputs) if o.is_floating_point()]
    start, grad_outputs, roots = 0, [], []
    for o in outs:
        piece = cotangent[start:start + o.numel()].reshape(o.shape)
        start += o.numel()
        if o.requires_grad:
            roots.append(o)
            grad_outputs.append(Tensor._wrap(o.xp.asarray(piece, dtype=o.dtype)))
    results = []
    grads = autograd.grad(roots, [inputs[p] for p in checked], grad_outputs, allow_unused=True) if roots else [None] * len(checked)
    for p, g in zip(checked, grads):
        size = inputs[p].numel()
        results.append(numpy.zeros(size) if g is None else numpy.asarray(g.__array__(), dtype=numpy.float64).reshape(-1))
    return results


def _report(caller, position, shape, detail, analytic, numeric, atol, rtol):
    error = numpy.abs(analytic - numeric)
    tolerance = atol + rtol * numpy.abs(numeric)
    worst = int(numpy.argmax(error - tolerance))
    relative = error[worst] / max(abs(numeric[worst]), 1e-300)
    return (
        f"{caller}: the analytic gradient does not match the numerical one for input {position} (shape {shape}).\n"
        f"  {detail(worst)}\n"
        f"  analytic = {analytic[worst]!r}\n"
        f"  numeric  = {numeric[worst]!r}\n"
        f"  abs error = {error[worst]:.3e}, rel error = {relative:.3e} (atol={atol}, rtol={rtol})\n"
        f"  elements out of tolerance: {int(numpy.sum(error > tolerance))} of {error.size}"
    )


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, fast_mode=None, seed=0):
    """Check ``fn``'s analytic gradients against central differences, in float64.

    Full mode builds both Jacobians column by column (one perturbation per input
    element, one backward pass per output element) and compares every entry. Fast
    mode (used automatically when the Jacobian has more than 10,000 entries)
    compares vᵀJu for random unit directions u, v instead. Inputs that require
    grad must be float64.

    Returns True, or raises ``GradcheckError`` naming the input, the element, both
    values and the relative error (or returns False if ``raise_exception=False``).

    Example:
        >>> import chainrule as cr
        >>> x = cr.randn(3, dtype=cr.float64, requires_grad=True)
        >>> cr.func.gradcheck(lambda t: (t.sin() * t).sum(), (x,))
        True
    """
    inputs = _as_tuple(inputs)
    checked = _check_inputs(inputs, "gradcheck")
    n_out = _flat_outputs(fn, inputs).size
    n_in = sum(inputs[p].numel() for p in checked)
    if fast_mode is None:
        fast_mode = n_out * n_in > 10_000
    try:
        if fast_mode:
            _check_random_directions(fn, inputs, checked, eps, atol, rtol, n_out, seed)
        else:
            _check_full_jacobian(fn, inputs, checked, eps, atol, rtol, n_out)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def _check_full_jacobian(fn, inputs, checked, eps, atol, rtol, n_out):
    analytic_rows = {p: numpy.zeros((n_out, inputs[p].numel())) for p in checked}
    for i in range(n_out):
        cotangent = numpy.zeros(n_out)
        cotangent[i] = 1.0
        for p, row in zip(checked, _analytic_vjp(fn, inputs, checked, cotangent)):
            analytic_rows[p][i] = row
    for p in checked:
        x = inputs[p]
        numeric = numpy.zeros((n_out, x.numel()))
        for j in range(x.numel()):
            direction = numpy.zeros(x.numel())
            direction[j] = 1.0
            numeric[:, j] = _numerical_directional(fn, inputs, p, direction.reshape(x.shape), eps)
        analytic = analytic_rows[p]
        if not numpy.allclose(analytic, numeric, atol=atol, rtol=rtol):
            def detail(flat_index, x=x):
                out_index, in_index = divmod(flat_index, x.numel())
                return (f"at output element {out_index} (flat) and input element "
                        f"{numpy.unravel_index(in_index, x.shape) if x.ndim else ()}")
            raise GradcheckError(_report("gradcheck", p, x.shape, detail, analytic.ravel(), numeric.ravel(), atol, rtol))


def _check_random_directions(fn, inputs, checked, eps, atol, rtol, n_out, seed):
    rng = numpy.random.default_rng(seed)
    cotangent = rng.standard_normal(n_out)
    cotangent /= max(numpy.linalg.norm(cotangent), 1e-300)
    analytic_vjps = _analytic_vjp(fn, inputs, checked, cotangent)
    for p, vjp_row in zip(checked, analytic_vjps):
        x = inputs[p]
        for trial in range(2):
            direction = rng.standard_normal(x.numel())
            direction /= max(numpy.linalg.norm(direction), 1e-300)
            analytic = numpy.array([vjp_row @ direction])
            numeric = numpy.array([cotangent @ _numerical_directional(fn, inputs, p, direction.reshape(x.shape), eps)])
            if not numpy.allclose(analytic, numeric, atol=atol, rtol=rtol):
                def detail(_, trial=trial):
                    return f"in the random-direction check vᵀJu (trial {trial})"
                raise GradcheckError(_report("gradcheck (fast mode)", p, x.shape, detail, analytic, numeric, atol, rtol))


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, fast_mode=None, seed=0):
    """Check second derivatives: ``gradcheck`` of (inputs, v) ↦ vᵀ∂fn/∂inputs.

    The vjp is computed with ``create_graph=True``, so this checks that every
    derivative rule used by ``fn`` is itself correctly differentiable. ``grad_outputs``
    (the v's) are random float64 tensors unless given; they are checked too.

    Example:
        >>> import chainrule as cr
        >>> x = cr.randn(3, dtype=cr.float64, requires_grad=True)
        >>> cr.func.gradgradcheck(lambda t: t.exp() * t, (x,))
        True
    """
    inputs = _as_tuple(inputs)
    checked = _check_inputs(inputs, "gradgradcheck")
    with enable_grad():
        outs = [o for o in _outputs(fn, inputs) if o.is_floating_point() and o.requires_grad]
    if grad_outputs is None:
        rng = numpy.random.default_rng(seed)
        grad_outputs = tuple(
            Tensor._wrap(numpy.asarray(rng.standard_normal(o.shape), dtype=numpy.float64)).requires_grad_() for o in outs
        )
    grad_outputs = _as_tuple(grad_outputs)
    n_inputs = len(inputs)

    def first_derivative(*all_args):
        args, cotangents = all_args[:n_inputs], all_args[n_inputs:]
        with enable_grad():
            live = [o for o in _outputs(fn, args) if o.is_floating_point() and o.requires_grad]
        grads = autograd.grad(live, [args[p] for p in checked], list(cotangents), create_graph=True, allow_unused=True)
        return tuple(
            g if g is not None else Tensor._wrap(numpy.zeros(args[p].shape)) for p, g in zip(checked, grads)
        )

    return gradcheck(first_derivative, tuple(inputs) + tuple(grad_outputs), eps, atol, rtol, raise_exception, fast_mode, seed)
