"""Elementwise primitives of two inputs, with NumPy broadcasting, each on one card (the class,
then its public function).

Each rule returns the gradient at the broadcast shape; the backward walk sums it
back to the input's shape (``unbroadcast`` in core/autograd.py, the one place that
does so).
"""
from chainrule.core import dtypes
from chainrule.core.convert import as_tensor, check_broadcast, promote_pair
from chainrule.core.primitive import BINARY, Check, Primitive, apply, apply_binary
from chainrule.core.tensor import Tensor
from chainrule.ops.elementwise import floor, neg, trunc

__all__ = [
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "logaddexp", "where", "floor_divide", "remainder",
]


class Add(Primitive):
    name = "add"
    formula = r"z = x + y"
    derivatives = (r"\bar{x} = \bar{z}", r"\bar{y} = \bar{z}")
    checks = (Check("add", shapes=BINARY),)

    @staticmethod
    def forward(xp, x, y):
        return x + y

    @staticmethod
    def grad_x(g, out, x, y):
        return g

    @staticmethod
    def grad_y(g, out, x, y):
        return g

    vjps = (grad_x, grad_y)


def add(x, y):
    """x + y with broadcasting: z = x + y; ∂z/∂x = 1, ∂z/∂y = 1 (summed over broadcast dimensions).

    Example:
        >>> import chainrule as cr
        >>> cr.add(cr.tensor([[1.0], [2.0]]), cr.tensor([10.0, 20.0, 30.0]))    # (2, 1) + (3,) → (2, 3)
        tensor([[11., 21., 31.],
                [12., 22., 32.]])
        >>> cr.func.grad(lambda y: cr.add(cr.zeros(2, 3), y).sum())(cr.tensor([1.0, 2.0, 3.0]))
        tensor([2., 2., 2.])
    """
    return apply_binary(Add, x, y)


class Sub(Primitive):
    name = "sub"
    formula = r"z = x - y"
    derivatives = (r"\bar{x} = \bar{z}", r"\bar{y} = -\bar{z}")
    checks = (Check("sub", shapes=BINARY),)

    @staticmethod
    def forward(xp, x, y):
        return x - y

    @staticmethod
    def grad_x(g, out, x, y):
        return g

    @staticmethod
    def grad_y(g, out, x, y):
        return neg(g)   # not -g: the operator costs a C-level slot call and a frame more

    vjps = (grad_x, grad_y)


def sub(x, y):
    """x − y with broadcasting: z = x − y; ∂z/∂x = 1, ∂z/∂y = −1.

    Example:
        >>> import chainrule as cr
        >>> cr.sub(cr.tensor([5.0, 3.0]), 1.5)
        tensor([3.5, 1.5])
        >>> cr.func.grad(cr.sub, argnums=(0, 1))(cr.tensor(5.0), cr.tensor(2.0))
        (tensor(1.), tensor(-1.))
    """
    return apply_binary(Sub, x, y)


class Mul(Primitive):
    name = "mul"
    formula = r"z = x \cdot y"
    derivatives = (r"\bar{x} = \bar{z}\, y", r"\bar{y} = \bar{z}\, x")
    checks = (Check("mul", shapes=BINARY),)

    @staticmethod
    def forward(xp, x, y):
        return x * y

    # mul(g, y) rather than g * y: the operator costs a C-level slot call and a frame more per rule op.
    @staticmethod
    def grad_x(g, out, x, y):
        return mul(g, y)

    @staticmethod
    def grad_y(g, out, x, y):
        return mul(g, x)

    vjps = (grad_x, grad_y)


def mul(x, y):
    """x · y elementwise, with broadcasting: z = x·y; ∂z/∂x = y, ∂z/∂y = x.

    Example:
        >>> import chainrule as cr
        >>> cr.mul(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), cr.tensor([10.0, 100.0]))
        tensor([[ 10., 200.],
                [ 30., 400.]])
        >>> cr.func.grad(cr.mul, argnums=(0, 1))(cr.tensor(3.0), cr.tensor(2.0))
        (tensor(2.), tensor(3.))
    """
    return apply_binary(Mul, x, y)


class Div(Primitive):
    name = "div"
    formula = r"z = x / y"
    derivatives = (r"\bar{x} = \bar{z} / y", r"\bar{y} = -\bar{z}\, x / y^2")
    checks = (Check("div", shapes=BINARY, domain="nonzero"),)

    @staticmethod
    def forward(xp, x, y):
        return x / y

    @staticmethod
    def grad_x(g, out, x, y):
        return g / y

    @staticmethod
    def grad_y(g, out, x, y):
        return -(g * x) / (y * y)

    vjps = (grad_x, grad_y)


def div(x, y, *, rounding_mode=None):
    """x / y elementwise (true division; integers give floats), with broadcasting.

    z = x / y; ∂z/∂x = 1/y, ∂z/∂y = −x/y². As ``torch.div``, ``rounding_mode='floor'``
    gives ⌊x/y⌋ and ``'trunc'`` rounds toward zero; both keep an integer dtype for
    integer inputs and have gradient 0 (they are piecewise constant).

    Example:
        >>> import chainrule as cr
        >>> cr.div(cr.tensor([7, -7]), cr.tensor([2, 2]))
        tensor([ 3.5, -3.5])
        >>> cr.div(cr.tensor([7, -7]), 2, rounding_mode="floor"), cr.div(cr.tensor([7, -7]), 2, rounding_mode="trunc")
        (tensor([ 3, -4]), tensor([ 3, -3]))
        >>> cr.func.grad(cr.div, argnums=(0, 1))(cr.tensor(3.0), cr.tensor(2.0))   # 1/2, −3/2²
        (tensor(0.5), tensor(-0.75))
    """
    if rounding_mode == "floor":
        return _floor_divide(x, y, "div")
    if rounding_mode == "trunc":
        return _truncated_divide(x, y)
    if rounding_mode is not None:
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")
    x, y = promote_pair(x, y, "div")
    if x.dtype.kind in "iub" and y.dtype.kind in "iub":
        x, y = x.to(dtypes.get_default_dtype()), y.to(dtypes.get_default_dtype())
    return apply_binary(Div, x, y)


class Pow(Primitive):
    name = "pow"
    formula = r"z = x^{y}"
    derivatives = (r"\bar{x} = \bar{z}\, y\, x^{y-1}", r"\bar{y} = \bar{z}\, x^{y} \ln x")
    checks = (
        Check("pow", shapes=BINARY, domain="positive"),
        Check("pow_scalar", call=lambda lib, x: x ** 3),
        Check("pow_fractional", call=lambda lib, x: x ** 1.5, domain="positive"),
        Check("rpow", call=lambda lib, x: 2.0 ** x),
    )

    @staticmethod
    def forward(xp, x, y):
        return xp.power(x, y)

    @staticmethod
    def grad_x(g, out, x, y):
        # y·x^(y−1); where y == 0 the derivative is 0 even at x = 0 (PyTorch does the same).
        return where(y == 0, 0.0, g * y * pow(x, y - 1))

    @staticmethod
    def grad_y(g, out, x, y):
        # x^y ln x; at x = 0 with y ≥ 0 the limit is 0, not nan.
        at_zero = (x == 0) & (y >= 0)
        safe_x = where(at_zero, 1.0, x)
        return where(at_zero, 0.0, g * out * safe_x.log())

    vjps = (grad_x, grad_y)


def pow(x, y):
    """xʸ elementwise, with broadcasting: z = xʸ; ∂z/∂x = y·xʸ⁻¹, ∂z/∂y = xʸ ln x.

    Where y = 0, ∂z/∂x is 0 (even at x = 0); at x = 0 with y ≥ 0, ∂z/∂y is 0 (its limit), not
    nan, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([2.0]) ** 3
        tensor([8.])
        >>> cr.pow(2, cr.tensor([0.0, 1.0, 3.0]))
        tensor([1., 2., 8.])
        >>> cr.func.grad(cr.pow, argnums=(0, 1))(cr.tensor(2.0), cr.tensor(3.0))   # 3·2², 2³ ln 2
        (tensor(12.), tensor(5.5452))
    """
    return apply_binary(Pow, x, y)


class Maximum(Primitive):
    name = "maximum"
    formula = r"z = \max(x, y)"
    derivatives = (
        r"\bar{x} = \bar{z}\,(1 - [x < y] - \tfrac{1}{2}[x = y])",
        r"\bar{y} = \bar{z}\,(1 - [y < x] - \tfrac{1}{2}[x = y])",
    )
    checks = (Check("maximum", shapes=BINARY, domain="distinct"),)

    @staticmethod
    def forward(xp, x, y):
        return xp.maximum(x, y)

    @staticmethod
    def grad_x(g, out, x, y):
        return g * _share(x, y)

    @staticmethod
    def grad_y(g, out, x, y):
        return g * _share(y, x)

    vjps = (grad_x, grad_y)


def maximum(x, y):
    """max(x, y) elementwise; at ties each input gets half the gradient (as in PyTorch).

    z = max(x, y); ∂z/∂x = [x > y] + ½[x = y], ∂z/∂y = [y > x] + ½[x = y]. A nan in either
    input gives nan, and then both inputs get the whole gradient, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.maximum(cr.tensor([1.0, 5.0, 3.0]), cr.tensor([4.0, 2.0, 3.0]))
        tensor([4., 5., 3.])
        >>> cr.func.grad(cr.maximum, argnums=(0, 1))(cr.tensor(3.0), cr.tensor(3.0))
        (tensor(0.5), tensor(0.5))
    """
    return apply_binary(Maximum, x, y)


class Minimum(Primitive):
    name = "minimum"
    formula = r"z = \min(x, y)"
    derivatives = (
        r"\bar{x} = \bar{z}\,(1 - [x > y] - \tfrac{1}{2}[x = y])",
        r"\bar{y} = \bar{z}\,(1 - [y > x] - \tfrac{1}{2}[x = y])",
    )
    checks = (Check("minimum", shapes=BINARY, domain="distinct"),)

    @staticmethod
    def forward(xp, x, y):
        return xp.minimum(x, y)

    @staticmethod
    def grad_x(g, out, x, y):
        return g * _share(y, x)

    @staticmethod
    def grad_y(g, out, x, y):
        return g * _share(x, y)

    vjps = (grad_x, grad_y)


def _share(winner, other):
    """0 where ``other`` beats ``winner``, ½ at ties, 1 elsewhere: who gets the gradient of max.

    "Elsewhere" includes a nan on either side: nan wins max and min, so both inputs of a nan
    pair get the full gradient, as in PyTorch (a rule [winner > other] would give a nan 0).
    """
    loses = (other > winner).to(winner.dtype)
    ties = (winner == other).to(winner.dtype)
    return 1 - loses - ties * 0.5


def minimum(x, y):
    """min(x, y) elementwise; at ties each input gets half the gradient (as in PyTorch).

    z = min(x, y); ∂z/∂x = [x < y] + ½[x = y], ∂z/∂y = [y < x] + ½[x = y]. A nan in either
    input gives nan, and then both inputs get the whole gradient, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.minimum(cr.tensor([1.0, -1.0]), 0.0)
        tensor([ 0., -1.])
        >>> cr.func.grad(cr.minimum, argnums=(0, 1))(cr.tensor(1.0), cr.tensor(3.0))
        (tensor(1.), tensor(0.))
    """
    return apply_binary(Minimum, x, y)


class Atan2(Primitive):
    name = "atan2"
    formula = r"z = \operatorname{atan2}(y, x)"
    derivatives = (
        r"\bar{y} = \bar{z}\, x / (x^2 + y^2)",
        r"\bar{x} = -\bar{z}\, y / (x^2 + y^2)\ (\text{both } 0 \text{ at the origin})",
    )
    checks = (Check("atan2", shapes=BINARY, domain="nonzero"),)

    @staticmethod
    def forward(xp, y, x):
        return xp.arctan2(y, x)

    @staticmethod
    def grad_y(g, out, y, x):
        return g * x * _inverse_squared_radius(y, x)

    @staticmethod
    def grad_x(g, out, y, x):
        return g * -y * _inverse_squared_radius(y, x)

    vjps = (grad_y, grad_x)


def _inverse_squared_radius(y, x):
    """1/(x² + y²), and 0 at the origin, where atan2 has no slope to follow (PyTorch gives 0 there, not nan)."""
    radius_squared = x * x + y * y
    at_origin = radius_squared == 0
    return where(at_origin, 0.0, 1 / where(at_origin, 1.0, radius_squared))


def atan2(y, x):
    """The angle of the point (x, y): atan2(y, x) ∈ (−π, π] (−π only for y = −0.0, x < 0).

    z = atan2(y, x); the signs of both inputs pick the quadrant (the example gives π/4, 3π/4,
    −3π/4, π). ∂z/∂y = x/(x² + y²), ∂z/∂x = −y/(x² + y²).

    Example:
        >>> import chainrule as cr
        >>> cr.atan2(cr.tensor([1.0, 1.0, -1.0, 0.0]), cr.tensor([1.0, -1.0, -1.0, -1.0]))
        tensor([ 0.7854,  2.3562, -2.3562,  3.1416])
        >>> cr.func.grad(cr.atan2, argnums=(0, 1))(cr.tensor(1.0), cr.tensor(1.0))   # ∂/∂y, ∂/∂x
        (tensor(0.5), tensor(-0.5))
    """
    return apply_binary(Atan2, y, x)


class LogAddExp(Primitive):
    name = "logaddexp"
    formula = r"z = \ln(e^{x} + e^{y}) = \max(x, y) + \ln(1 + e^{-|x - y|})"
    derivatives = (r"\bar{x} = \bar{z} / (1 + e^{y - x})", r"\bar{y} = \bar{z} / (1 + e^{x - y})")
    checks = (Check("logaddexp", shapes=BINARY),)

    @staticmethod
    def forward(xp, x, y):
        return xp.logaddexp(x, y)

    @staticmethod
    def grad_x(g, out, x, y):
        # e^{x − z} = 1/(1 + e^{y − x}): never overflows to inf·0, and is PyTorch's form (same nan at −inf, −inf)
        return g / (1 + (y - x).exp())

    @staticmethod
    def grad_y(g, out, x, y):
        return g / (1 + (x - y).exp())

    vjps = (grad_x, grad_y)


def logaddexp(x, y):
    """ln(eˣ + eʸ) elementwise with broadcasting, computed without overflow (as ``torch.logaddexp``).

    z = max(x, y) + ln(1 + e^{−|x − y|}); ∂z/∂x = 1/(1 + e^{y−x}) = σ(x − y), ∂z/∂y = σ(y − x):
    the two softmax weights of (x, y). Integers are added as floats.

    Example:
        >>> import chainrule as cr
        >>> cr.logaddexp(cr.tensor([1e4, 0.0, float("-inf")]), cr.tensor([1e4, -1e4, 0.0]))   # e^(1e4) overflows
        tensor([10000.693,     0.   ,     0.   ])
        >>> cr.func.grad(cr.logaddexp, argnums=(0, 1))(cr.tensor(0.0), cr.tensor(0.0))
        (tensor(0.5), tensor(0.5))
    """
    x, y = promote_pair(x, y, "logaddexp")
    if x.dtype.kind in "iub":
        x, y = x.to(dtypes.get_default_dtype()), y.to(dtypes.get_default_dtype())
    return apply_binary(LogAddExp, x, y)


class Where(Primitive):
    name = "where"
    formula = r"z = \begin{cases} x & c \\ y & \neg c \end{cases}"
    derivatives = (r"\bar{x} = \bar{z}\,[c]", r"\bar{y} = \bar{z}\,[\neg c]")
    checks = (Check("where", call=lambda lib, a, b: lib.where(a > 0, a, b), shapes=BINARY, domain="nonzero"),)

    @staticmethod
    def forward(xp, x, y, condition):
        return xp.where(condition, x, y)

    @staticmethod
    def grad_x(g, out, x, y, condition):
        return where(condition, g, 0.0)

    @staticmethod
    def grad_y(g, out, x, y, condition):
        return where(condition, 0.0, g)

    vjps = (grad_x, grad_y)


def where(condition, x, y):
    """Pick ``x`` where ``condition`` holds and ``y`` elsewhere (broadcasting all three).

    Example:
        >>> import chainrule as cr
        >>> cr.where(cr.tensor([True, False]), cr.tensor([1.0, 2.0]), 0.0)
        tensor([1., 0.])
    """
    condition = as_tensor(condition)
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        x = as_tensor(x).to(dtypes.get_default_dtype()) if isinstance(x, float) else as_tensor(x)
    x, y = promote_pair(x, y, "where")
    if x.dtype != y.dtype:
        common = dtypes.promote_types(x.dtype, y.dtype)
        x, y = x.to(common), y.to(common)
    shape = check_broadcast("where", condition.shape, x.shape, y.shape)
    if condition.shape != shape:
        condition = condition.expand(shape)
    if x.shape != shape:
        x = x.expand(shape)
    if y.shape != shape:
        y = y.expand(shape)
    return apply(Where, x, y, condition=condition.array.astype(bool, copy=False))


# ----- composed from the primitives above (their derivatives come from the chain rule)


def floor_divide(x, y):
    """⌊x / y⌋, rounding toward −∞ like Python's ``//`` (gradient 0: piecewise constant).

    Integers divided by 0 raise (as in PyTorch); floats give ±inf or nan.

    Example:
        >>> import chainrule as cr
        >>> cr.floor_divide(cr.tensor([7, -7]), 2), cr.tensor([7.5, -7.5]) // 2
        (tensor([ 3, -4]), tensor([ 3., -4.]))
    """
    return _floor_divide(x, y, "floor_divide")


def _floor_divide(x, y, op_name):
    x, y = promote_pair(x, y, op_name)
    if x.dtype.kind in "iu" and y.dtype.kind in "iu":
        return _no_gradapply_binary("floor_divide", x, y, op_name)
    return floor(x / y)


def _truncated_divide(x, y):
    """x / y rounded toward zero; integers stay integers (div's rounding_mode='trunc')."""
    x, y = promote_pair(x, y, "div")
    if x.dtype.kind in "iu" and y.dtype.kind in "iu":
        # Exact for any integer size (a float detour would round past 2⁵³): |x| // |y| with the quotient's sign.
        return _floor_divide(x.abs(), y.abs(), "div") * (x.sign() * y.sign())
    return trunc(x / y)


def remainder(x, y):
    """x mod y with the sign of y (Python's %): x − ⌊x/y⌋·y.

    As ``torch.remainder`` (C's ``fmod`` would take the sign of x instead). For floats, with
    r = x − ⌊x/y⌋·y: ∂r/∂x = 1 and ∂r/∂y = −⌊x/y⌋. Integer inputs give an integer result
    with no gradient, and raise on a 0 divisor (as in PyTorch).

    Example:
        >>> import chainrule as cr
        >>> cr.remainder(cr.tensor([5.0, -5.0, 5.0, -5.0]), cr.tensor([3.0, 3.0, -3.0, -3.0]))
        tensor([ 2.,  1., -1., -2.])
        >>> cr.func.grad(cr.remainder, argnums=(0, 1))(cr.tensor(-5.0), cr.tensor(3.0))   # 1, −⌊−5/3⌋
        (tensor(1.), tensor(2.))
    """
    x, y = promote_pair(x, y, "remainder")
    if x.dtype.kind in "iu" and y.dtype.kind in "iu":
        return _no_gradapply_binary("remainder", x, y)  # raises on a 0 divisor, as PyTorch does
    return x - floor_divide(x, y).detach() * y


def _no_gradapply_binary(function, x, y, op_name=None):
    op_name = op_name or function
    check_broadcast(op_name, x.shape, y.shape)
    if function in ("floor_divide", "remainder") and bool((y.array == 0).any()):
        # NumPy would return 0 with a warning; a silent 0 is a wrong value, so refuse as PyTorch does.
        raise RuntimeError(
            f"ZeroDivisionError: {op_name}: integer division by zero ({int((y.array == 0).sum())} of the "
            f"divisor's {y.numel()} elements are 0, dtypes {x.dtype} and {y.dtype}); an integer quotient has "
            "no value there. Mask those elements out, or divide floats (x.float()) to get ±inf or nan"
        )
    return Tensor._wrap(getattr(x.xp, function)(x.array, y.array))
