"""Comparisons and logic: not differentiable, so they return plain bool tensors.

Their outputs are piecewise constant in the inputs, so no gradient flows through
them; they are declared here rather than given a silent zero derivative. They
make masks for ``where``, ``masked_fill`` and the derivative rules of relu, max
and friends.
"""
from chainrule.core.tensor import Tensor
from chainrule.ops.convert import as_tensor, check_broadcast, promote_pair

NON_DIFFERENTIABLE = (
    "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "isfinite",
    "logical_and", "logical_or", "logical_xor", "logical_not", "argmax", "argmin", "all", "any", "one_hot",
)


def _compare(function, x, y):
    x, y = promote_pair(x, y, function)
    if x.shape != y.shape:
        check_broadcast(function, x.shape, y.shape)
    return Tensor._wrap(getattr(x.xp, function)(x.data, y.data))


def eq(x, y):
    """x == y, elementwise."""
    return _compare("equal", x, y)


def ne(x, y):
    """x != y, elementwise."""
    return _compare("not_equal", x, y)


def lt(x, y):
    """x < y, elementwise."""
    return _compare("less", x, y)


def le(x, y):
    """x ≤ y, elementwise."""
    return _compare("less_equal", x, y)


def gt(x, y):
    """x > y, elementwise."""
    return _compare("greater", x, y)


def ge(x, y):
    """x ≥ y, elementwise."""
    return _compare("greater_equal", x, y)


def logical_and(x, y):
    """x ∧ y."""
    return _compare("logical_and", x, y)


def logical_or(x, y):
    """x ∨ y."""
    return _compare("logical_or", x, y)


def logical_xor(x, y):
    """x ⊕ y."""
    return _compare("logical_xor", x, y)


def logical_not(x):
    """¬x."""
    x = as_tensor(x)
    return Tensor._wrap(x.xp.logical_not(x.data))


def isnan(x):
    """True where x is nan."""
    x = as_tensor(x)
    return Tensor._wrap(x.xp.isnan(x.data))


def isinf(x):
    """True where x is ±inf."""
    x = as_tensor(x)
    return Tensor._wrap(x.xp.isinf(x.data))


def isfinite(x):
    """True where x is neither nan nor ±inf."""
    x = as_tensor(x)
    return Tensor._wrap(x.xp.isfinite(x.data))


def allclose(x, y, rtol=1e-5, atol=1e-8, equal_nan=False):
    """True if |x − y| ≤ atol + rtol·|y| everywhere (a Python bool)."""
    x, y = as_tensor(x), as_tensor(y)
    return bool(x.xp.allclose(x.data, y.data, rtol=rtol, atol=atol, equal_nan=equal_nan))
