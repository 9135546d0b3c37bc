"""Discrete distributions: Bernoulli, Binomial, Categorical, OneHotCategorical, Poisson.

Probabilities may be given as ``probs`` or as unconstrained ``logits``; the
log-probabilities are computed from the logits (log σ(l) = −softplus(−l),
log softmax) so that they stay finite and accurate where a probability is tiny.
Samples are discrete, so these distributions have no ``rsample``.
"""
import math

import numpy

from chainrule.core.tensor import Tensor
from chainrule.ops import exp, lgamma, log, log_softmax, sigmoid, softmax, softplus, where
from chainrule.probability import constraints
from chainrule.probability.distribution import (
    Distribution, _first_bad, as_float_tensor, broadcast_parameters, check_parameter,
)


def xlogy(x, y):
    """x · ln y with 0 · ln 0 = 0.

    Where x = 0 < y the value is 0 and the derivative in x is still ln y (the
    Dirichlet log-density at α = 1 needs it); only where x = y = 0 is ln y
    replaced by ln 1, so that 0 · ln 0 is 0 with zero derivatives.
    """
    both_zero = (x == 0) & (y == 0)
    with numpy.errstate(divide="ignore"):  # ln 0 = −∞ where x > 0 is the right answer, not a warning
        return x * log(where(both_zero, 1.0, y))


def probs_to_logits(probs, is_binary):
    """Logits from probabilities, clamped one ulp inside (0, 1) so that they stay finite."""
    eps = float(numpy.finfo(probs.dtype).eps)
    tiny = float(numpy.finfo(probs.dtype).tiny)
    if is_binary:
        clamped = probs.clamp(eps, 1 - eps)
        return log(clamped) - log(1 - clamped)
    return log(probs.clamp(tiny, None))


def _probs_or_logits(name, probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError(f"{name}: pass exactly one of probs= and logits=, not {'both' if probs is not None else 'neither'}")
    return probs, logits


class Bernoulli(Distribution):
    r"""One coin flip: P(X = 1) = p.

    log p(x) = x ln p + (1 − x) ln(1 − p) = x·l − softplus(l),  with logit l = ln(p/(1 − p));
    E[X] = p,  Var[X] = p(1 − p),  H = −p ln p − (1 − p) ln(1 − p).

    Example:
        >>> from chainrule.probability import Bernoulli
        >>> round(Bernoulli(probs=0.25).entropy().item(), 4)
        0.5623
    """

    support = constraints.boolean
    arg_constraints = {"probs": constraints.unit_interval}

    def __init__(self, probs=None, logits=None, validate_args=True):
        probs, logits = _probs_or_logits("Bernoulli", probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_parameters("Bernoulli", probs=probs)
            if validate_args:
                check_parameter(self, "probs", self.probs, constraints.unit_interval)
            self.logits = probs_to_logits(self.probs, is_binary=True)
        else:
            (self.logits,) = broadcast_parameters("Bernoulli", logits=logits)
            self.probs = sigmoid(self.logits)
        super().__init__(self.probs.shape, (), validate_args=False)
        self._validate_args = validate_args

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def _sample(self, shape, generator):
        u = generator.uniform(shape, 0.0, 1.0, self._dtype, self._xp)
        return Tensor._wrap((u < self.probs.array).astype(self._dtype))

    def log_prob(self, value):
        value = self._value(value)
        return value * self.logits - softplus(self.logits)

    def entropy(self):
        p = self.probs
        return -(xlogy(p, p) + xlogy(1 - p, 1 - p))


class Binomial(Distribution):
    r"""The number of successes in n independent trials with success probability p.

    log p(k) = ln C(n, k) + k ln p + (n − k) ln(1 − p) = ln C(n, k) + k·l − n·softplus(l),
    E[K] = np,  Var[K] = np(1 − p).  The entropy is summed over the support 0..n.

    Example:
        >>> from chainrule.probability import Binomial
        >>> Binomial(10, probs=0.3).mean.item()
        3.0
    """

    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=True):
        probs, logits = _probs_or_logits("Binomial", probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_parameters("Binomial", total_count=total_count, probs=probs)
            self.logits = probs_to_logits(self.probs, is_binary=True)
        else:
            self.total_count, self.logits = broadcast_parameters("Binomial", total_count=total_count, logits=logits)
            self.probs = sigmoid(self.logits)
        self.total_count = self.total_count.detach()
        super().__init__(self.probs.shape, (), validate_args)

    @property
    def support(self):
        return constraints.integer_interval(0, self.total_count.array)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def _sample(self, shape, generator):
        n = numpy.broadcast_to(numpy.asarray(self.total_count.__array__(), dtype=numpy.int64), shape)
        p = numpy.broadcast_to(numpy.asarray(self.probs.detach().__array__(), dtype=numpy.float64), shape)
        draws = generator.numpy_generator.binomial(n, p).astype(self._dtype)
        return Tensor._wrap(self._xp.asarray(draws))

    def log_prob(self, value):
        return self._unchecked_log_prob(self._value(value))

    def entropy(self):
        """H = −Σ_{k=0}^{n} p(k) ln p(k), enumerated over the support."""
        largest = int(self.total_count.array.max()) if self.total_count.numel() else 0
        k = as_float_tensor(numpy.arange(largest + 1).reshape((-1,) + (1,) * len(self.batch_shape)), self._dtype)
        inside = k <= self.total_count
        safe_k = where(inside, k, 0.0)
        log_p = self._unchecked_log_prob(safe_k)
        return -where(inside, exp(log_p) * log_p, 0.0).sum(0)

    def _unchecked_log_prob(self, value):
        # k ln p + (n − k) ln(1 − p) = −k·softplus(−l) − (n − k)·softplus(l): finite for every logit.
        n = self.total_count
        log_choose = lgamma(n + 1) - lgamma(value + 1) - lgamma(n - value + 1)
        return log_choose - value * softplus(-self.logits) - (n - value) * softplus(self.logits)


def _check_simplex(distribution, probs):
    ok = constraints.simplex.check(probs.array)
    if not bool(ok.all()):
        host = numpy.asarray(probs.array)
        bad_row = numpy.argwhere(~numpy.asarray(ok).reshape(-1))[0][0] if host.ndim > 1 else 0
        row = host.reshape(-1, host.shape[-1])[bad_row]
        raise ValueError(
            f"{type(distribution).__name__}: probs must be non-negative and sum to 1 along the last axis, but a row "
            f"is {row.tolist()!r} (sum {row.sum():.6g}); normalize it (probs / probs.sum(-1, keepdim=True)) "
            f"or pass logits= instead"
        )


class Categorical(Distribution):
    r"""One draw from K classes with probabilities p₁..p_K (the last axis of probs/logits).

    log p(k) = log softmax(l)_k,   H = −Σ_k p_k ln p_k.   Samples are class indices (int64).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.probability import Categorical
        >>> d = Categorical(probs=cr.tensor([0.5, 0.25, 0.25]))
        >>> round(d.entropy().item(), 4)
        1.0397
    """

    arg_constraints = {}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=True):
        probs, logits = _probs_or_logits(type(self).__name__, probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_parameters(type(self).__name__, probs=probs)
            self._check_has_classes(self.probs)
            if validate_args:
                _check_simplex(self, self.probs)
            # Renormalize, so that probabilities summing to 1 only within the tolerance give exact log-probabilities.
            self.probs = self.probs / self.probs.sum(-1, keepdim=True)
            self.logits = probs_to_logits(self.probs, is_binary=False)
        else:
            (logits,) = broadcast_parameters(type(self).__name__, logits=logits)
            self._check_has_classes(logits)
            self.logits = log_softmax(logits, -1)
            self.probs = softmax(logits, -1)
        self.num_classes = self.probs.shape[-1]
        super().__init__(self.probs.shape[:-1], self._event_shape_for(), validate_args=False)
        self._validate_args = validate_args

    def _check_has_classes(self, parameter):
        if parameter.ndim == 0 or parameter.shape[-1] == 0:
            raise ValueError(
                f"{type(self).__name__}: probs/logits need a last axis of classes (shape (..., K) with K ≥ 1), "
                f"got shape {parameter.shape}"
            )

    def _event_shape_for(self):
        return ()

    def _parameters(self):
        return [self.probs]

    @property
    def support(self):
        return constraints.integer_interval(0, self.num_classes - 1)

    @property
    def mean(self):
        """Undefined for class labels: nan, as in torch.distributions."""
        return as_float_tensor(numpy.full(self.batch_shape, math.nan), self._dtype)

    @property
    def variance(self):
        return as_float_tensor(numpy.full(self.batch_shape, math.nan), self._dtype)

    def _sample_indices(self, shape, generator):
        """Inverse-CDF draws: the first class whose cumulative probability exceeds a uniform u."""
        xp = self._xp
        sample_shape = shape[:len(shape) - len(self.batch_shape) - len(self.event_shape)]
        u = generator.uniform(tuple(sample_shape) + self.batch_shape + (1,), 0.0, 1.0, numpy.float64, xp)
        cumulative = xp.cumsum(self.probs.array.astype(numpy.float64), axis=-1)
        cumulative = cumulative / cumulative[..., -1:]
        index = (cumulative <= u).sum(axis=-1)
        return xp.minimum(index, self.num_classes - 1).astype(xp.int64)

    def _sample(self, shape, generator):
        return Tensor._wrap(self._sample_indices(shape, generator))

    def _value(self, value, method="log_prob"):
        value = value if isinstance(value, Tensor) else Tensor(numpy.asarray(value))
        if value.dtype.kind == "f":
            if not bool((value.array == value.array.round()).all()):
                raise ValueError(f"Categorical.{method}: values must be integer class indices, got {value.array!r}")
            value = value.long()
        ok = (value.array >= 0) & (value.array < self.num_classes)
        if not bool(ok.all()):
            raise ValueError(
                f"Categorical.{method}: class indices must be in [0, {self.num_classes - 1}], but got "
                f"{_first_bad(ok, value.array)}"
            )
        return value

    def log_prob(self, value):
        value = self._value(value)
        shape = numpy.broadcast_shapes(value.shape, self.batch_shape)
        log_probs = self.logits.expand(shape + (self.num_classes,))
        index = value.expand(shape).unsqueeze(-1)
        return log_probs.gather(-1, index).squeeze(-1)

    def entropy(self):
        return -xlogy(self.probs, self.probs).sum(-1)


class OneHotCategorical(Categorical):
    r"""A Categorical draw written as a one-hot vector of length K.

    log p(x) = Σ_k x_k log softmax(l)_k,   E[X] = p,   Var[X] = p(1 − p).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.probability import OneHotCategorical
        >>> OneHotCategorical(probs=cr.tensor([0.2, 0.8])).mean
        tensor([0.2, 0.8])
    """

    support = constraints.one_hot

    def _event_shape_for(self):
        return (self.num_classes,)

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def _sample(self, shape, generator):
        indices = self._sample_indices(shape, generator)
        return Tensor._wrap((indices[..., None] == self._xp.arange(self.num_classes)).astype(self._dtype))

    def _value(self, value, method="log_prob"):
        return Distribution._value(self, value, method)

    def log_prob(self, value):
        value = self._value(value)
        return (value * self.logits).sum(-1)


class Poisson(Distribution):
    r"""The number of events in a unit interval at rate λ.

    log p(k) = k ln λ − λ − ln k!,   E[K] = Var[K] = λ.

    Example:
        >>> from chainrule.probability import Poisson
        >>> round(Poisson(2.0).log_prob(0.0).item(), 4)
        -2.0
    """

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=True):
        (self.rate,) = broadcast_parameters("Poisson", rate=rate)
        super().__init__(self.rate.shape, (), validate_args)

    @property
    def mean(self):
        return self.rate

    @property
    def variance(self):
        return self.rate

    def _sample(self, shape, generator):
        rate = numpy.broadcast_to(numpy.asarray(self.rate.detach().__array__(), dtype=numpy.float64), shape)
        return Tensor._wrap(self._xp.asarray(generator.numpy_generator.poisson(rate).astype(self._dtype)))

    def log_prob(self, value):
        value = self._value(value)
        return xlogy(value, self.rate) - self.rate - lgamma(value + 1)

    def entropy(self):
        """H = −Σ_k p(k) ln p(k), summed over k = 0..⌈λ + 12√λ + 30⌉ (the rest of the mass is < 1e-25)."""
        largest_rate = float(self.rate.array.max()) if self.rate.numel() else 0.0
        last = int(math.ceil(largest_rate + 12 * math.sqrt(largest_rate) + 30))
        k = as_float_tensor(numpy.arange(last + 1).reshape((-1,) + (1,) * len(self.batch_shape)), self._dtype)
        p = exp(xlogy(k, self.rate) - self.rate - lgamma(k + 1))
        return -xlogy(p, p).sum(0)
