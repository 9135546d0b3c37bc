"""Comparisons and logic: not differentiable, so they return plain bool tensors.

Their outputs are piecewise constant in the inputs, so no gradient flows through
them; they are declared here rather than given a silent zero derivative. They
make masks for ``where``, ``masked_fill`` and the derivative rules of relu, max
and friends.
"""
from chainrule.core.convert import as_tensor, check_broadcast, promote_pair
from chainrule.core.tensor import Tensor

__all__ = [
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "logical_not",
    "isnan", "isinf", "isfinite", "allclose",
]

# The ops whose outputs are piecewise constant (truth values and indices): they record no graph and
# pass no gradient, declared rather than given a silent zero (tests/test_core_nondifferentiable.py
# checks each of them on an input that requires grad).
NON_DIFFERENTIABLE = (
    "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "isfinite",
    "logical_and", "logical_or", "logical_xor", "logical_not", "argmax", "argmin", "all", "any", "one_hot",
)


def _compare(function, x, y):
    x, y = promote_pair(x, y, function)
    if x.shape != y.shape:
        check_broadcast(function, x.shape, y.shape)
    return Tensor._wrap(getattr(x.xp, function)(x.array, y.array))


def eq(x, y):
    """x == y, elementwise, with broadcasting; a bool tensor (nan equals nothing, not even nan).

    Example:
        >>> import chainrule as cr
        >>> cr.eq(cr.tensor([1.0, 2.0, float("nan")]), cr.tensor([1.0, 3.0, float("nan")]))
        tensor([ True, False, False])
    """
    return _compare("equal", x, y)


def ne(x, y):
    """x != y, elementwise, with broadcasting; a bool tensor (the negation of ``eq``, so nan != nan).

    Example:
        >>> import chainrule as cr
        >>> cr.ne(cr.tensor([1.0, 2.0, float("nan")]), cr.tensor([1.0, 3.0, float("nan")]))
        tensor([False,  True,  True])
    """
    return _compare("not_equal", x, y)


def lt(x, y):
    """x < y, elementwise, with broadcasting; a bool tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.lt(cr.tensor([1.0, 2.0, 3.0]), 2)
        tensor([ True, False, False])
    """
    return _compare("less", x, y)


def le(x, y):
    """x ≤ y, elementwise, with broadcasting; a bool tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.le(cr.tensor([1.0, 2.0, 3.0]), 2)
        tensor([ True,  True, False])
    """
    return _compare("less_equal", x, y)


def gt(x, y):
    """x > y, elementwise, with broadcasting; a bool tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.gt(cr.tensor([[1.0], [3.0]]), cr.tensor([0.0, 2.0, 4.0]))    # (2, 1) vs (3,) → (2, 3)
        tensor([[ True, False, False],
                [ True,  True, False]])
    """
    return _compare("greater", x, y)


def ge(x, y):
    """x ≥ y, elementwise, with broadcasting; a bool tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.ge(cr.tensor([1.0, 2.0, 3.0]), 2)
        tensor([False,  True,  True])
    """
    return _compare("greater_equal", x, y)


def logical_and(x, y):
    """x ∧ y, elementwise; nonzero counts as True. A bool tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.logical_and(cr.tensor([True, True, False]), cr.tensor([True, False, False]))
        tensor([ True, False, False])
    """
    return _compare("logical_and", x, y)


def logical_or(x, y):
    """x ∨ y, elementwise; nonzero counts as True. A bool tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.logical_or(cr.tensor([True, True, False]), cr.tensor([True, False, False]))
        tensor([ True,  True, False])
    """
    return _compare("logical_or", x, y)


def logical_xor(x, y):
    """x ⊕ y (true where exactly one is true), elementwise; nonzero counts as True. A bool tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.logical_xor(cr.tensor([True, True, False]), cr.tensor([True, False, False]))
        tensor([False,  True, False])
    """
    return _compare("logical_xor", x, y)


def logical_not(x):
    """¬x, elementwise; nonzero counts as True. A bool tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.logical_not(cr.tensor([0.0, 2.0]))
        tensor([ True, False])
    """
    x = as_tensor(x)
    return Tensor._wrap(x.xp.logical_not(x.array))


def isnan(x):
    """True where x is nan.

    Example:
        >>> import chainrule as cr
        >>> cr.isnan(cr.tensor([1.0, float("nan"), float("inf")]))
        tensor([False,  True, False])
    """
    x = as_tensor(x)
    return Tensor._wrap(x.xp.isnan(x.array))


def isinf(x):
    """True where x is ±inf.

    Example:
        >>> import chainrule as cr
        >>> cr.isinf(cr.tensor([1.0, float("nan"), float("inf"), -float("inf")]))
        tensor([False, False,  True,  True])
    """
    x = as_tensor(x)
    return Tensor._wrap(x.xp.isinf(x.array))


def isfinite(x):
    """True where x is neither nan nor ±inf.

    Example:
        >>> import chainrule as cr
        >>> cr.isfinite(cr.tensor([1.0, float("nan"), float("inf"), -float("inf")]))
        tensor([ True, False, False, False])
    """
    x = as_tensor(x)
    return Tensor._wrap(x.xp.isfinite(x.array))


def allclose(x, y, rtol=1e-5, atol=1e-8, equal_nan=False):
    """True if |x − y| ≤ atol + rtol·|y| everywhere (a Python bool).

    Not symmetric in x and y (the tolerance scales with |y|); nan is close to nan only with
    ``equal_nan=True``.

    Example:
        >>> import chainrule as cr
        >>> x, y = cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.1])
        >>> cr.allclose(x, y), cr.allclose(x, y, atol=0.2)
        (False, True)
        >>> cr.allclose(cr.tensor([float("nan")]), cr.tensor([float("nan")]), equal_nan=True)
        True
    """
    x, y = as_tensor(x), as_tensor(y)
    return bool(x.xp.allclose(x.array, y.array, rtol=rtol, atol=atol, equal_nan=equal_nan))
