"""Primitive ops: the small set of operations whose derivatives are written by hand.

A primitive is a class with
  * ``forward(xp, *arrays, **params)``: the value, computed on raw arrays with the
    array module ``xp`` (NumPy or CuPy);
  * ``vjps``: one rule per tensor input, ``rule(grad, out, *inputs, **params)``,
    that maps the upstream gradient ``grad`` (∂L/∂out) to that input's share of
    ∂L/∂input. Rules are written with tensor ops, so the backward pass can itself
    be recorded (``create_graph=True``) and differentiated again;
  * ``formula`` and ``derivatives``: the LaTeX of the forward and of each rule, for
    the docs, the explainer and error messages.

Every other op in chainrule is composed from primitives and gets its derivative
from the chain rule alone. ``apply`` runs a primitive and, when gradients are
wanted, records the output's parents so that ``backward`` can walk back.
"""
from chainrule.backends import array_module
from chainrule.core import anomaly
from chainrule.core.grad_mode import is_grad_enabled
from chainrule.core.tensor import Tensor


class Primitive:
    """Base class of primitive ops. Subclasses set the class attributes below."""

    name = "primitive"
    formula = ""
    derivatives = ()
    vjps = ()

    def __init_subclass__(cls, **kwargs):
        # Checked when the class is defined, so a primitive without a forward never runs.
        super().__init_subclass__(**kwargs)
        if not callable(getattr(cls, "forward", None)):
            raise TypeError(f"primitive {cls.__name__} must define forward(xp, *arrays, **params)")

    @classmethod
    def vjp(cls, index, grad, out, /, *inputs, **params):
        """Input ``index``'s share of the gradient: ``vjps[index](grad, out, *inputs, **params)``."""
        rule = cls.vjps[index] if index < len(cls.vjps) else None
        if rule is None:
            raise RuntimeError(
                f"{cls.name}: no derivative with respect to input {index} is defined; "
                f"detach that input (x.detach()) if it does not need a gradient"
            )
        return rule(grad, out, *inputs, **params)

    @classmethod
    def describe(cls) -> str:
        """The forward formula and the derivative of each input, as LaTeX lines."""
        lines = [f"{cls.name}: {cls.formula}"]
        lines += [f"  {rule}" for rule in cls.derivatives]
        return "\n".join(lines)


def apply(op, *inputs, **params):
    """Run primitive ``op`` on tensors ``inputs`` and record the graph if a gradient is wanted.

    y = op.forward(xp, x₁, ..., xₙ, **params). If grad mode is on and some input requires a
    gradient, y remembers ``op``, its inputs and params, so that ``backward`` can later form
    x̄ₖ = op.vjps[k](ȳ, y, x₁, ..., xₙ, **params) for each input.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.core.primitive import apply
        >>> from chainrule.ops.elementwise import Exp
        >>> apply(Exp, cr.tensor([0.0, 1.0], requires_grad=True))
        tensor([1.    , 2.7183], grad_fn=<exp>)
    """
    arrays = [t.data for t in inputs]
    out = Tensor._wrap(op.forward(array_module(arrays[0]), *arrays, **params))
    if is_grad_enabled():
        for t in inputs:
            if t.requires_grad:
                out.requires_grad = True
                out._op = op
                out._inputs = inputs
                out._params = params
                break
    if anomaly._enabled:
        anomaly.check_forward(op, inputs, out)
    return out
