"""The ``Distribution`` base class and the helpers every distribution shares.

A distribution holds its parameters as tensors, so that ``log_prob``, ``entropy``,
``rsample`` and ``kl_divergence`` are ordinary differentiable tensor expressions.
Shapes follow torch.distributions:

    sample.shape = sample_shape + batch_shape + event_shape

``batch_shape`` indexes independent distributions with different parameters;
``event_shape`` is the shape of one draw (``()`` for a scalar distribution,
``(k,)`` for a k-dimensional one such as MultivariateNormal or Dirichlet).
"""
import numbers

import numpy

from chainrule.core import dtypes
from chainrule.core.grad_mode import no_grad
from chainrule.core.random import default_generator
from chainrule.core.tensor import Tensor


class NoClosedFormError(TypeError):
    """Raised when a quantity (a CDF, an inverse CDF, a KL divergence) has no closed form here."""


class Distribution:
    """Base class: a probability distribution with differentiable parameters.

    Subclasses set ``arg_constraints`` (parameter name → constraint), ``support``,
    ``has_rsample``, and define ``log_prob`` and the moments they have.

    Example (every distribution shares this interface):
        >>> import chainrule as cr
        >>> from chainrule.probability import Normal
        >>> d = Normal(cr.zeros(3), 2.0)
        >>> d.batch_shape, d.event_shape, d.sample((5,), generator=cr.Generator().manual_seed(0)).shape
        ((3,), (), (5, 3))
        >>> d.stddev
        tensor([2., 2., 2.])
    """

    arg_constraints = {}
    support = None
    has_rsample = False

    def __init__(self, batch_shape=(), event_shape=(), validate_args=True):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        self._validate_args = validate_args
        if validate_args:
            for name, constraint in self.arg_constraints.items():
                check_parameter(self, name, getattr(self, name), constraint)

    # ----- shapes --------------------------------------------------------------------
    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        if isinstance(sample_shape, numbers.Integral):
            sample_shape = (int(sample_shape),)
        return tuple(sample_shape) + self._batch_shape + self._event_shape

    @property
    def _dtype(self):
        return next(iter(self._parameters())).dtype

    @property
    def _xp(self):
        return next(iter(self._parameters())).xp

    def _parameters(self):
        return [getattr(self, name) for name in self.arg_constraints]

    # ----- drawing ---------------------------------------------------------------------
    def sample(self, sample_shape=(), generator=None):
        """A draw of shape ``sample_shape + batch_shape + event_shape``, with no gradient."""
        with no_grad():
            if self.has_rsample:
                return self.rsample(sample_shape, generator=generator)
            return self._sample(self._extended_shape(sample_shape), generator or default_generator())

    def rsample(self, sample_shape=(), generator=None):
        """A reparameterized draw: a differentiable function of the parameters and of noise."""
        if not self.has_rsample:
            raise NoClosedFormError(
                f"{type(self).__name__}.rsample: this distribution has no reparameterized sampler "
                f"(its samples are discrete or not differentiable in its parameters); use .sample() and a "
                f"score-function estimator (log_prob(sample) * reward) instead"
            )
        return self._rsample(self._extended_shape(sample_shape), generator or default_generator())

    # ----- quantities without a closed form unless a subclass defines them ------------
    def cdf(self, value):
        """P(X ≤ value)."""
        raise NoClosedFormError(f"{type(self).__name__}.cdf: no closed-form CDF is provided for this distribution")

    def icdf(self, value):
        """The quantile function: the x with P(X ≤ x) = value."""
        raise NoClosedFormError(f"{type(self).__name__}.icdf: no closed-form inverse CDF is provided for this distribution")

    def entropy(self):
        """H = −E[log p(X)]."""
        raise NoClosedFormError(f"{type(self).__name__}.entropy: no closed-form entropy is provided")

    def prob(self, value):
        """p(value) = exp(log_prob(value))."""
        return self.log_prob(value).exp()

    @property
    def stddev(self):
        """√Var[X]."""
        return self.variance.sqrt()

    # ----- checking values ---------------------------------------------------------------
    def _value(self, value, method="log_prob"):
        """``value`` as a float tensor, checked against the support.

        Numbers, lists and arrays take the distribution's dtype; a float tensor keeps
        its own (arithmetic then promotes, so float64 values are never rounded to float32).
        """
        if not (isinstance(value, Tensor) and value.dtype.kind == "f"):
            value = as_float_tensor(value, self._dtype)
        if self._validate_args:
            check_value(self, value, method)
        return value

    def __repr__(self):
        shown = ", ".join(f"{name}: {tuple(getattr(self, name).shape)}" for name in self.arg_constraints)
        return f"{type(self).__name__}({shown})"


# ----- helpers ------------------------------------------------------------------------------
def as_float_tensor(value, dtype=None):
    """A tensor of a floating dtype: ``dtype`` if given, else the value's own float dtype or the default."""
    if not isinstance(value, Tensor):
        if isinstance(value, numpy.ndarray) and value.dtype.kind == "f" and dtype is None:
            value = Tensor(value)
        else:
            value = Tensor(numpy.asarray(value, dtype=dtype or dtypes.get_default_dtype()))
    if dtype is not None and value.dtype != dtype:
        return value.to(dtype)
    if value.dtype.kind != "f":
        return value.to(dtypes.get_default_dtype())
    return value


def broadcast_parameters(name, **parameters):
    """The parameters as tensors of one common float dtype, broadcast to one common shape.

    Python numbers take the dtype of the tensor parameters (float32 by default,
    float64 if any parameter is float64), as arithmetic does.
    """
    float_dtypes = [p.dtype for p in parameters.values()
                    if (isinstance(p, (Tensor, numpy.ndarray)) and p.dtype.kind == "f")]
    dtype = numpy.result_type(*float_dtypes) if float_dtypes else dtypes.get_default_dtype()
    tensors = {key: as_float_tensor(value, dtype) for key, value in parameters.items()}
    try:
        shape = numpy.broadcast_shapes(*(t.shape for t in tensors.values()))
    except ValueError:
        shown = ", ".join(f"{key} {t.shape}" for key, t in tensors.items())
        raise ValueError(
            f"{name}: parameter shapes {shown} do not broadcast together; each dimension, compared from "
            f"the right, must be equal or 1"
        ) from None
    return tuple(t if t.shape == shape else t.expand(shape) for t in tensors.values())


def _first_bad(mask, array):
    """A short description of the first offending entry, for error messages."""
    host = numpy.asarray(array.get() if hasattr(array, "get") else array)
    bad = numpy.argwhere(~numpy.asarray(mask.get() if hasattr(mask, "get") else mask))
    if host.ndim == 0 or bad.size == 0:
        return f"{host.tolist()!r}"
    index = tuple(int(i) for i in bad[0])
    entry = host[index] if len(index) <= host.ndim else host
    return f"{numpy.asarray(entry).tolist()!r} at index {index}"


def check_parameter(distribution, name, value, constraint):
    """Raise a ValueError naming the distribution, the parameter and the bad value if ``value`` breaks ``constraint``."""
    ok = constraint.check(value.array)
    if not bool(ok.all()):
        raise ValueError(
            f"{type(distribution).__name__}: parameter {name} must be {constraint.describe()}, but got "
            f"{name} = {_first_bad(ok, value.array)}; {_advice(name, constraint)}"
        )


def check_value(distribution, value, method):
    """Raise a ValueError if ``value`` lies outside the distribution's support or has a wrong event shape."""
    event = distribution.event_shape
    if event and tuple(value.shape[-len(event):]) != event:
        raise ValueError(
            f"{type(distribution).__name__}.{method}: each value must have event shape {event} (the trailing "
            f"dimensions), but got a value of shape {value.shape}"
        )
    try:
        numpy.broadcast_shapes(value.shape, distribution.batch_shape + event)
    except ValueError:
        raise ValueError(
            f"{type(distribution).__name__}.{method}: a value of shape {value.shape} does not broadcast against "
            f"batch_shape + event_shape = {distribution.batch_shape + event}"
        ) from None
    ok = distribution.support.check(value.array)
    if not bool(ok.all()):
        raise ValueError(
            f"{type(distribution).__name__}.{method}: the value must be {distribution.support.describe()} "
            f"(the support), but got {_first_bad(ok, value.array)}; pass validate_args=False to evaluate outside "
            f"the support anyway"
        )


def _advice(name, constraint):
    text = constraint.describe()
    if "sum to 1" in text:
        return "normalize it (p / p.sum(-1, keepdim=True)) or pass logits= instead"
    if "[0.0, 1.0]" in text or "(0.0, 1.0)" in text:
        return f"pass a probability, or pass logits= (any real number) instead of {name}"
    if "> 0" in text:
        return f"pass a positive {name}, e.g. the exp or softplus of an unconstrained parameter"
    if "positive-definite" in text:
        return "pass a symmetric positive-definite covariance (e.g. A @ A.T + eps * I) or a scale_tril"
    return "check how it was computed"
