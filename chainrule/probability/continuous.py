"""Scalar continuous distributions: Normal, LogNormal, Uniform, Exponential, Laplace, StudentT, Gamma, Beta.

Every density is written in log space as a tensor expression, so its gradient
with respect to the parameters and to the value comes from the chain rule.
Reparameterized samples (``rsample``) push seeded noise through a differentiable
map: x = μ + σε for location-scale families, x = F⁻¹(u) for the inverse-CDF
ones, and implicit reparameterization for the Gamma family (see implicit.py).
"""
import math

import numpy

from chainrule.core.tensor import Tensor
from chainrule.ops import digamma, erf, erfinv, exp, expm1, lgamma, log, log1p, sign, where
from chainrule.probability import constraints
from chainrule.probability.distribution import Distribution, _first_bad, as_float_tensor, broadcast_parameters
from chainrule.probability.implicit import standard_gamma

HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


def open_uniform(generator, shape, dtype, xp):
    """Uniform draws strictly inside (0, 1) in ``dtype``, so that log u and log(1 − u) stay finite."""
    eps = numpy.finfo(dtype).eps
    draws = generator.uniform(shape, 0.0, 1.0, numpy.float64, xp)
    return xp.clip(draws, eps / 2, 1 - eps / 2).astype(dtype)


def _tensor_like(array, like):
    return Tensor._wrap(like.xp.asarray(array, dtype=like.dtype))


def log_beta_function(a, b):
    """ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b)."""
    return lgamma(a) + lgamma(b) - lgamma(a + b)


class Normal(Distribution):
    r"""The normal (Gaussian) distribution N(μ, σ²).

    p(x) = exp(−(x − μ)² / (2σ²)) / (σ√(2π)),   log p(x) = −(x − μ)²/(2σ²) − ln σ − ½ ln 2π.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.probability import Normal
        >>> d = Normal(cr.tensor(0.0), cr.tensor(1.0))
        >>> round(d.log_prob(cr.tensor(0.0)).item(), 4)
        -0.9189
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=True):
        self.loc, self.scale = broadcast_parameters("Normal", loc=loc, scale=scale)
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return self.scale * self.scale

    @property
    def stddev(self):
        return self.scale

    def _rsample(self, shape, generator):
        noise = generator.normal(shape, 0.0, 1.0, self._dtype, self._xp)
        return self.loc + self.scale * _tensor_like(noise, self.loc)

    def log_prob(self, value):
        value = self._value(value)
        z = (value - self.loc) / self.scale
        return -0.5 * z * z - log(self.scale) - HALF_LOG_TWO_PI

    def cdf(self, value):
        """Φ((x − μ)/σ) = ½(1 + erf((x − μ)/(σ√2)))."""
        value = self._value(value, "cdf")
        return 0.5 * (1 + erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def icdf(self, value):
        """μ + σ√2 erf⁻¹(2q − 1)."""
        value = check_probability_argument(self, value)
        return self.loc + self.scale * math.sqrt(2) * erfinv(2 * value - 1)

    def entropy(self):
        """H = ½ + ½ ln 2π + ln σ."""
        return 0.5 + HALF_LOG_TWO_PI + log(self.scale)


def check_probability_argument(distribution, value):
    """The argument of ``icdf`` as a tensor, checked to lie in [0, 1]."""
    value = as_float_tensor(value, distribution._dtype)
    ok = (value.array >= 0) & (value.array <= 1)
    if distribution._validate_args and not bool(ok.all()):
        raise ValueError(
            f"{type(distribution).__name__}.icdf: the argument must be a probability in [0, 1], "
            f"but got {_first_bad(ok, value.array)}"
        )
    return value


class LogNormal(Distribution):
    r"""X = e^Y with Y ~ N(μ, σ²).

    log p(x) = log N(ln x; μ, σ²) − ln x,   E[X] = e^{μ + σ²/2},   Var[X] = (e^{σ²} − 1) e^{2μ + σ²}.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.probability import LogNormal
        >>> round(LogNormal(0.0, 1.0).mean.item(), 4)
        1.6487
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args=True):
        self.loc, self.scale = broadcast_parameters("LogNormal", loc=loc, scale=scale)
        self.base = Normal(self.loc, self.scale, validate_args=False)
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self):
        return exp(self.loc + 0.5 * self.scale * self.scale)

    @property
    def variance(self):
        s2 = self.scale * self.scale
        return expm1(s2) * exp(2 * self.loc + s2)

    def _rsample(self, shape, generator):
        return exp(self.base._rsample(shape, generator))

    def log_prob(self, value):
        value = self._value(value)
        log_value = log(value)
        return self.base.log_prob(log_value) - log_value

    def cdf(self, value):
        """Φ((ln x − μ)/σ)."""
        return self.base.cdf(log(self._value(value, "cdf")))

    def icdf(self, value):
        """exp(μ + σ√2 erf⁻¹(2q − 1))."""
        return exp(self.base.icdf(check_probability_argument(self, value)))

    def entropy(self):
        """H = μ + ½ + ½ ln 2π + ln σ."""
        return self.loc + self.base.entropy()


class Uniform(Distribution):
    r"""The uniform distribution on [low, high).

    p(x) = 1/(high − low) on the interval,   F(x) = (x − low)/(high − low),   H = ln(high − low).

    Example:
        >>> from chainrule.probability import Uniform
        >>> Uniform(0.0, 4.0).variance.item()
        1.3333333730697632
    """

    arg_constraints = {"low": constraints.real, "high": constraints.real}
    has_rsample = True

    def __init__(self, low, high, validate_args=True):
        self.low, self.high = broadcast_parameters("Uniform", low=low, high=high)
        if validate_args and not bool((self.low.array < self.high.array).all()):
            ok = self.low.array < self.high.array
            raise ValueError(
                f"Uniform: low must be smaller than high, but got low = {_first_bad(ok, self.low.array)} and "
                f"high = {_first_bad(ok, self.high.array)}; swap them or widen the interval"
            )
        super().__init__(self.low.shape, (), validate_args)

    @property
    def support(self):
        return constraints.interval(self.low.array, self.high.array)

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def variance(self):
        width = self.high - self.low
        return width * width / 12

    def _rsample(self, shape, generator):
        u = generator.uniform(shape, 0.0, 1.0, self._dtype, self._xp)
        return self.low + (self.high - self.low) * _tensor_like(u, self.low)

    def log_prob(self, value):
        value = self._value(value)
        inside = (value >= self.low) & (value <= self.high)
        return where(inside, -log(self.high - self.low), -math.inf)

    def cdf(self, value):
        """(x − low)/(high − low), clamped to [0, 1]."""
        value = self._value(value, "cdf")
        fraction = (value - self.low) / (self.high - self.low)
        return where(fraction < 0, 0.0, where(fraction > 1, 1.0, fraction))

    def icdf(self, value):
        """low + q (high − low)."""
        value = check_probability_argument(self, value)
        return self.low + value * (self.high - self.low)

    def entropy(self):
        return log(self.high - self.low)


class Exponential(Distribution):
    r"""The exponential distribution with rate λ: the waiting time of a Poisson process.

    p(x) = λ e^{−λx} (x ≥ 0),   F(x) = 1 − e^{−λx},   E[X] = 1/λ,   H = 1 − ln λ.

    Example:
        >>> from chainrule.probability import Exponential
        >>> Exponential(2.0).mean.item()
        0.5
    """

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=True):
        (self.rate,) = broadcast_parameters("Exponential", rate=rate)
        super().__init__(self.rate.shape, (), validate_args)

    @property
    def mean(self):
        return 1 / self.rate

    @property
    def variance(self):
        return 1 / (self.rate * self.rate)

    def _rsample(self, shape, generator):
        u = _tensor_like(open_uniform(generator, shape, self._dtype, self._xp), self.rate)
        return -log1p(-u) / self.rate

    def log_prob(self, value):
        value = self._value(value)
        return log(self.rate) - self.rate * value

    def cdf(self, value):
        """1 − e^{−λx}, computed as −expm1(−λx)."""
        value = self._value(value, "cdf")
        return -expm1(-self.rate * value)

    def icdf(self, value):
        """−ln(1 − q)/λ."""
        return -log1p(-check_probability_argument(self, value)) / self.rate

    def entropy(self):
        return 1 - log(self.rate)


class Laplace(Distribution):
    r"""The Laplace (double exponential) distribution with location μ and scale b.

    p(x) = e^{−|x − μ|/b} / (2b),   F(x) = ½ − ½ sign(x − μ)(e^{−|x − μ|/b} − 1),   H = 1 + ln 2b.

    Example:
        >>> from chainrule.probability import Laplace
        >>> Laplace(0.0, 1.0).variance.item()
        2.0
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=True):
        self.loc, self.scale = broadcast_parameters("Laplace", loc=loc, scale=scale)
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale * self.scale

    @property
    def stddev(self):
        return math.sqrt(2) * self.scale

    def _rsample(self, shape, generator):
        u = _tensor_like(open_uniform(generator, shape, self._dtype, self._xp), self.loc)
        return self.icdf(u)

    def log_prob(self, value):
        value = self._value(value)
        return -log(2 * self.scale) - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        value = self._value(value, "cdf")
        shifted = value - self.loc
        return 0.5 - 0.5 * sign(shifted) * expm1(-shifted.abs() / self.scale)

    def icdf(self, value):
        """μ − b sign(q − ½) ln(1 − 2|q − ½|)."""
        centered = check_probability_argument(self, value) - 0.5
        return self.loc - self.scale * sign(centered) * log1p(-2 * centered.abs())

    def entropy(self):
        return 1 + log(2 * self.scale)


class StudentT(Distribution):
    r"""Student's t distribution with ν degrees of freedom, location μ and scale σ.

    log p(x) = ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(νπ) − ln σ − (ν+1)/2 · ln(1 + ((x − μ)/σ)²/ν).

    Samples are μ + σ Z / √(V/ν) with Z ~ N(0, 1), V ~ χ²(ν) = 2·Gamma(ν/2, 1); V is
    implicitly reparameterized, so rsample is differentiable in ν, μ and σ.

    Example:
        >>> from chainrule.probability import StudentT
        >>> StudentT(5.0).variance.item()   # ν/(ν − 2)
        1.6666666269302368
    """

    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=True):
        self.df, self.loc, self.scale = broadcast_parameters("StudentT", df=df, loc=loc, scale=scale)
        super().__init__(self.df.shape, (), validate_args)

    @property
    def mean(self):
        """μ for ν > 1; undefined (nan) otherwise."""
        return where(self.df > 1, self.loc, math.nan)

    @property
    def variance(self):
        """σ² ν/(ν − 2) for ν > 2, ∞ for 1 < ν ≤ 2, nan for ν ≤ 1."""
        safe_df = where(self.df > 2, self.df, 3.0)
        finite = self.scale * self.scale * safe_df / (safe_df - 2)
        return where(self.df > 2, finite, where(self.df > 1, math.inf, math.nan))

    def _rsample(self, shape, generator):
        normal = _tensor_like(generator.normal(shape, 0.0, 1.0, self._dtype, self._xp), self.loc)
        chi_square = 2 * standard_gamma(self.df / 2, shape, generator)
        return self.loc + self.scale * normal / (chi_square / self.df).sqrt()

    def log_prob(self, value):
        value = self._value(value)
        z = (value - self.loc) / self.scale
        half_df_plus = (self.df + 1) / 2
        return (lgamma(half_df_plus) - lgamma(self.df / 2) - 0.5 * log(self.df * math.pi) - log(self.scale)
                - half_df_plus * log1p(z * z / self.df))

    def entropy(self):
        """H = (ν+1)/2 (ψ((ν+1)/2) − ψ(ν/2)) + ½ ln ν + ln B(ν/2, ½) + ln σ."""
        half_df, half_df_plus = self.df / 2, (self.df + 1) / 2
        log_beta_half = lgamma(half_df) + math.lgamma(0.5) - lgamma(half_df_plus)  # ln B(ν/2, ½)
        return (half_df_plus * (digamma(half_df_plus) - digamma(half_df)) + 0.5 * log(self.df)
                + log_beta_half + log(self.scale))


class Gamma(Distribution):
    r"""The Gamma distribution with shape α (concentration) and rate β.

    log p(x) = α ln β + (α − 1) ln x − βx − ln Γ(α),   E[X] = α/β,   Var[X] = α/β²,
    H = α − ln β + ln Γ(α) + (1 − α) ψ(α).

    rsample is implicitly reparameterized (implicit.py): x = P⁻¹(α, u)/β with
    dx/dα = −∂_αP(α, x)/p(x; α).

    Example:
        >>> from chainrule.probability import Gamma
        >>> Gamma(2.0, 4.0).mean.item()
        0.5
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=True):
        self.concentration, self.rate = broadcast_parameters("Gamma", concentration=concentration, rate=rate)
        super().__init__(self.rate.shape, (), validate_args)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def variance(self):
        return self.concentration / (self.rate * self.rate)

    def _rsample(self, shape, generator):
        return standard_gamma(self.concentration, shape, generator) / self.rate

    def log_prob(self, value):
        value = self._value(value)
        alpha, beta = self.concentration, self.rate
        return alpha * log(beta) + (alpha - 1) * log(value) - beta * value - lgamma(alpha)

    def entropy(self):
        alpha = self.concentration
        return alpha - log(self.rate) + lgamma(alpha) + (1 - alpha) * digamma(alpha)


class Beta(Distribution):
    r"""The Beta distribution on (0, 1) with concentrations a (concentration1) and b (concentration0).

    log p(x) = (a − 1) ln x + (b − 1) ln(1 − x) − ln B(a, b),   E[X] = a/(a + b),
    H = ln B(a, b) − (a − 1)ψ(a) − (b − 1)ψ(b) + (a + b − 2)ψ(a + b).

    rsample draws X ~ Gamma(a, 1), Y ~ Gamma(b, 1) (implicitly reparameterized) and returns X/(X + Y).

    Example:
        >>> from chainrule.probability import Beta
        >>> Beta(2.0, 2.0).mean.item()
        0.5
    """

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=True):
        self.concentration1, self.concentration0 = broadcast_parameters(
            "Beta", concentration1=concentration1, concentration0=concentration0)
        super().__init__(self.concentration1.shape, (), validate_args)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        total = a + b
        return a * b / (total * total * (total + 1))

    def _rsample(self, shape, generator):
        x = standard_gamma(self.concentration1, shape, generator)
        y = standard_gamma(self.concentration0, shape, generator)
        return x / (x + y)

    def log_prob(self, value):
        value = self._value(value)
        a, b = self.concentration1, self.concentration0
        return (a - 1) * log(value) + (b - 1) * log1p(-value) - log_beta_function(a, b)

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        return (log_beta_function(a, b) - (a - 1) * digamma(a) - (b - 1) * digamma(b)
                + (a + b - 2) * digamma(a + b))
