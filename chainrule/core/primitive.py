"""Primitive ops: the small set of operations whose derivatives are written by hand.

A primitive is a card, a class with
  * ``forward(xp, *arrays, **params)``: the value, computed on raw arrays with the
    array module ``xp`` (NumPy or CuPy);
  * ``vjps``: one rule per tensor input, ``rule(grad, out, *inputs, **params)``,
    that maps the upstream gradient ``grad`` (∂L/∂out) to that input's share of
    ∂L/∂input; or, where the inputs' gradients share work (a recurrent sweep), one
    rule ``vjp_all(grad, out, *inputs, **params)`` returning every input's share at
    once. Rules are written with tensor ops, so the backward pass can itself be
    recorded (``create_graph=True``) and differentiated again;
  * ``formula`` and ``derivatives``: the LaTeX of the forward and of each rule, for
    the docs, the explainer and error messages;
  * ``checks``: how the tests exercise it (``Check``: the call, the shapes, the domain
    to draw inputs from), which tests/op_registry.py reads;
and, right below the class, the public function that applies it, with the docstring.

Every primitive registers itself when its class is defined (``registered_primitives``),
so no list of them is kept by hand. Every other op in chainrule is composed from
primitives and gets its derivative from the chain rule alone. ``apply`` runs a
primitive and, when gradients are wanted, records the output's parents so that
``backward`` can walk back.
"""
from dataclasses import dataclass

import numpy as _numpy

from chainrule.backends import array_module
from chainrule.core import anomaly
from chainrule.core.convert import check_broadcast, promote_pair
from chainrule.core.grad_mode import _state as _grad_mode
from chainrule.core.tensor import Tensor


# Shapes the checks try, chosen to exercise broadcasting, 0-d tensors and size-1 dims.
UNARY = (((3, 4),), ((),), ((2, 1, 3),))
BINARY = (((3, 4), (3, 4)), ((3, 1), (1, 4)), ((), (2, 3)), ((2, 1, 3), (3,)), ((4,), ()))
MATRIX = (((3, 4),), ((2, 3, 4),))


@dataclass(frozen=True)
class Check:
    """How the tests exercise an op, declared on its card (as MiniTorch declares each op's domain).

    ``call(lib, *tensors)`` is the op written once for both libraries: the tests run it with
    ``lib`` = chainrule and again, as its twin, with ``lib`` = torch (``torch_call`` where
    PyTorch spells it differently); without a ``call`` it is ``lib.<name>(*tensors)``.
    Inputs of ``shapes`` are drawn from ``domain``: real | positive | unit (−0.8..0.8) |
    nonzero | away_from_int | distinct (no ties). Every check runs a float64 gradient check
    (and a second-order one where ``second_order``) and a comparison with PyTorch.

    Example:
        >>> from chainrule.core.primitive import Check
        >>> check = Check("log", domain="positive")
        >>> import chainrule as cr
        >>> check.call(cr, cr.tensor([1.0]))
        tensor([0.])
    """

    name: str
    call: object = None
    shapes: tuple = UNARY
    domain: str = "real"
    second_order: bool = True
    torch_call: object = None
    atol: float = 1e-5
    rtol: float = 1e-3

    def __post_init__(self):
        if self.call is None:
            name = self.name
            object.__setattr__(self, "call", lambda lib, *tensors: getattr(lib, name)(*tensors))


_REGISTRY = {}   # "module.ClassName" → primitive class, in the order the classes are defined
_COMPOSITES = {}  # "module.function" → (function, its checks), for ops composed from primitives


def composite(*checks):
    """Mark a function as an op composed from primitives and declare how the tests exercise it.

    It returns the function itself; ``registered_checks`` then lists ``checks`` with those of
    the primitives' cards. A composite needs no derivative: the chain rule gives it.

    Example (ops/elementwise.py declares ``@composite(Check("reciprocal", domain="nonzero"))``):
        >>> import chainrule as cr
        >>> from chainrule.core.primitive import registered_checks
        >>> [check.domain for check in registered_checks() if check.name == "reciprocal"]
        ['nonzero']
    """
    def register(function):
        _COMPOSITES[f"{function.__module__}.{function.__qualname__}"] = (function, checks)
        return function
    return register


def registered_primitives(package="chainrule."):
    """Every primitive defined in ``package`` (all of chainrule's by default), in definition order.

    Primitives register themselves when their class is defined; the op table, the
    tests' sweeps and ``chainrule.ops.PRIMITIVES`` read this list.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.core.primitive import registered_primitives
        >>> from chainrule.ops.elementwise import Exp
        >>> Exp in registered_primitives()
        True
    """
    return tuple(cls for key, cls in _REGISTRY.items() if key.startswith(package))


def registered_checks(package="chainrule."):
    """The ``Check`` of every primitive card and every composite op defined in ``package``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.core.primitive import registered_checks
        >>> "exp" in [check.name for check in registered_checks()]
        True
    """
    checks = [check for cls in registered_primitives(package) for check in cls.checks]
    checks += [check for key, (_, declared) in _COMPOSITES.items() if key.startswith(package) for check in declared]
    return tuple(checks)


class Primitive:
    """Base class of primitive ops. Subclasses set the class attributes below."""

    name = "primitive"
    formula = ""
    derivatives = ()
    vjps = ()
    vjp_all = None
    checks = ()
    direct_vjps = None   # set per card when the class is defined (__init_subclass__)

    def __init_subclass__(cls, **kwargs):
        # Checked when the class is defined, so a primitive without a forward never runs.
        super().__init_subclass__(**kwargs)
        if not callable(getattr(cls, "forward", None)):
            raise TypeError(f"primitive {cls.__name__} must define forward(xp, *arrays, **params)")
        _REGISTRY[f"{cls.__module__}.{cls.__qualname__}"] = cls
        # The walk calls a card's rules itself when the card keeps the plain lookup of ``vjp`` below
        # (one Python call less per rule); a card with vjp_all or its own vjp is asked through vjp.
        plain = cls.vjp.__func__ is Primitive.vjp.__func__ and cls.vjp_all is None
        # The rules are unwrapped from staticmethod: a staticmethod object is called through C, a plain
        # function (with plain arguments) runs in the caller's Python frame loop.
        unwrapped = tuple(rule.__func__ if isinstance(rule, staticmethod) else rule for rule in cls.vjps)
        cls.direct_vjps = unwrapped if plain else None

    @classmethod
    def vjp(cls, index, grad, out, /, *inputs, **params):
        """Input ``index``'s share of the gradient: ``vjps[index](grad, out, *inputs, **params)``."""
        if cls.vjp_all is not None:
            return cls.vjp_all(grad, out, *inputs, **params)[index]
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
    # Every op and every rule op of a backward passes here, so it is kept to the bare steps: the
    # arrays of one or two inputs read without a comprehension's frame, grad mode read as an attribute.
    first = inputs[0].array
    xp = _numpy if type(first) is _ndarray else array_module(first)   # array_module's common case, without its call
    # One or two inputs as plain arguments, not *arrays (Python 3.11 then runs a forward without
    # params in the caller's frame loop, not through a C-level call); no empty **params copied.
    count = len(inputs)
    if count == 2:
        second = inputs[1].array
        value = op.forward(xp, first, second, **params) if params else op.forward(xp, first, second)
    elif count == 1:
        value = op.forward(xp, first, **params) if params else op.forward(xp, first)
    else:
        value = op.forward(xp, *[t.array for t in inputs], **params)
    out = _wrap(value)
    if _grad_mode.enabled:
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


def apply_binary(op, x, y):
    """Run elementwise primitive ``op`` of two inputs: tensors or numbers, promoted to one dtype, broadcast.

    Two tensors of one dtype (every rule op of a backward, most forward steps) go straight to
    ``apply``: nothing to promote, and no shapes compared up front (reading two shapes costs about
    as much as the rest of the dispatch); NumPy checks the broadcast itself, and when it refuses,
    ``check_broadcast`` says which op and which shapes in chainrule's words.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.core.primitive import apply_binary
        >>> from chainrule.ops.binary import Mul
        >>> apply_binary(Mul, cr.tensor([1.0, 2.0]), 3.0)
        tensor([3., 6.])
    """
    if type(x) is not Tensor or type(y) is not Tensor or x.array.dtype != y.array.dtype:
        x, y = promote_pair(x, y, op.name)
    try:
        return apply(op, x, y)
    except ValueError:
        if x.array.shape != y.array.shape:
            check_broadcast(op.name, x.shape, y.shape)   # raises, naming the op, when the shapes are the cause
        raise


_wrap = Tensor._wrap
_ndarray = _numpy.ndarray
