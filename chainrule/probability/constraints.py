"""Supports and parameter domains: where a value or a parameter is allowed to live.

A constraint answers two questions: ``check(array)`` (a boolean array, True where
the value is allowed) and ``describe()`` (a phrase for error messages, such as
"positive (> 0)"). Distributions list one per parameter in ``arg_constraints``
and one for their values in ``support``, as torch.distributions does.

    >>> import numpy
    >>> from chainrule.probability import constraints
    >>> constraints.positive.check(numpy.array([1.0, 0.0])).tolist(), constraints.positive.describe()
    ([True, False], '> 0.0')
"""
import numpy

from chainrule.backends import array_module


class Constraint:
    """A set of allowed values. Subclasses define ``check`` and ``text``."""

    text = "any value"
    is_discrete = False
    event_dim = 0

    def check(self, array):
        """True where ``array`` (a raw NumPy/CuPy array) lies in the set."""
        return array == array  # everything but NaN

    def describe(self):
        return self.text

    def __repr__(self):
        return f"constraints.{type(self).__name__}({self.text})"


class _Real(Constraint):
    text = "a real number (not NaN)"


class _RealVector(_Real):
    text = "a vector of real numbers"
    event_dim = 1

    def check(self, array):
        return (array == array).all(axis=-1)


class _GreaterThan(Constraint):
    def __init__(self, lower, inclusive=False):
        self.lower = lower
        self.inclusive = inclusive
        self.text = f"{'≥' if inclusive else '>'} {lower}"

    def check(self, array):
        return array >= self.lower if self.inclusive else array > self.lower


class _Interval(Constraint):
    def __init__(self, low, high, closed=True):
        self.low, self.high, self.closed = low, high, closed
        shown_low = low if isinstance(low, (int, float)) else "low"
        shown_high = high if isinstance(high, (int, float)) else "high"
        self.text = f"in [{shown_low}, {shown_high}]" if closed else f"in ({shown_low}, {shown_high})"

    def check(self, array):
        if self.closed:
            return (array >= self.low) & (array <= self.high)
        return (array > self.low) & (array < self.high)


class _Boolean(Constraint):
    text = "0 or 1"
    is_discrete = True

    def check(self, array):
        return (array == 0) | (array == 1)


class _NonnegativeInteger(Constraint):
    text = "a non-negative integer (0, 1, 2, ...)"
    is_discrete = True

    def check(self, array):
        return (array >= 0) & (array == array.round())


class _IntegerInterval(Constraint):
    """Integers in [low, high]; ``high`` may be an array (Binomial's total_count)."""

    is_discrete = True

    def __init__(self, low, high):
        self.low, self.high = low, high
        self.text = f"an integer in [{low}, total_count]" if not isinstance(high, (int, float)) else \
            f"an integer in [{low}, {high}]"

    def check(self, array):
        return (array >= self.low) & (array <= self.high) & (array == array.round())


class _Simplex(Constraint):
    text = "a probability vector (entries ≥ 0 that sum to 1 along the last axis)"
    event_dim = 1

    def check(self, array):
        total = array.sum(axis=-1)
        tolerance = 1e-6 if array.dtype.itemsize >= 8 else 1e-4
        return (array >= 0).all(axis=-1) & (abs(total - 1) < tolerance * array.shape[-1])


class _OneHot(Constraint):
    text = "a one-hot vector (a single 1, zeros elsewhere)"
    is_discrete = True
    event_dim = 1

    def check(self, array):
        return ((array == 0) | (array == 1)).all(axis=-1) & (array.sum(axis=-1) == 1)


class _LowerCholesky(Constraint):
    text = "a lower-triangular matrix with a positive diagonal"
    event_dim = 2

    def check(self, array):
        xp = array_module(array)
        upper = xp.triu(array, k=1)
        diagonal = xp.diagonal(array, axis1=-2, axis2=-1)
        return (upper == 0).all(axis=(-2, -1)) & (diagonal > 0).all(axis=-1)


class _PositiveDefinite(Constraint):
    text = "a symmetric positive-definite matrix"
    event_dim = 2

    def check(self, array):
        host = numpy.asarray(array.get() if hasattr(array, "get") else array, dtype=numpy.float64)
        symmetric = numpy.allclose(host, numpy.swapaxes(host, -1, -2), rtol=1e-5, atol=1e-8)
        if not symmetric:
            return numpy.zeros(host.shape[:-2], dtype=bool)
        return numpy.linalg.eigvalsh(host).min(axis=-1) > 0


real = _Real()
real_vector = _RealVector()
positive = _GreaterThan(0.0)
nonnegative = _GreaterThan(0.0, inclusive=True)
unit_interval = _Interval(0.0, 1.0)
open_unit_interval = _Interval(0.0, 1.0, closed=False)
boolean = _Boolean()
nonnegative_integer = _NonnegativeInteger()
simplex = _Simplex()
one_hot = _OneHot()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()


def greater_than(lower):
    """Values strictly above ``lower``."""
    return _GreaterThan(lower)


def interval(low, high):
    """Values in the closed interval [low, high] (low, high may be arrays)."""
    return _Interval(low, high)


def integer_interval(low, high):
    """Integers in [low, high]."""
    return _IntegerInterval(low, high)
