"""KL divergences with a closed form: KL(p ‖ q) = E_p[ln p(X) − ln q(X)].

One function per pair of distribution types, registered with ``@register_kl``;
``kl_divergence(p, q)`` looks the pair up (walking base classes, so a subclass
inherits its parent's rule) and raises ``NoClosedFormError`` naming the pair
when there is none. Every rule is a tensor expression, differentiable in the
parameters of both p and q.
"""
import math

import numpy

from chainrule.core.creation import ones_like
from chainrule.ops import digamma, exp, lgamma, log, softplus, where
from chainrule.linalg import solve_triangular
from chainrule.probability.continuous import (
    Beta, Exponential, Gamma, Laplace, LogNormal, Normal, Uniform, log_beta_function,
)
from chainrule.probability.discrete import Bernoulli, Binomial, Categorical, Poisson, xlogy
from chainrule.probability.distribution import NoClosedFormError
from chainrule.probability.multivariate import Dirichlet, MultivariateNormal, mahalanobis_solve

_KL_RULES = {}


def register_kl(type_p, type_q):
    """Decorator: register ``rule(p, q)`` as KL(p ‖ q) for p of ``type_p`` and q of ``type_q``.

    Example (a new distribution type brings its own rule; subclasses inherit their parents'):
        >>> import math
        >>> import chainrule as cr
        >>> from chainrule.probability import Exponential, Normal, kl_divergence, register_kl
        >>> class PointMass(Normal):                       # a made-up type, for the example only
        ...     pass
        >>> @register_kl(PointMass, Exponential)
        ... def _kl_point_mass_exponential(p, q):
        ...     return cr.full(p.batch_shape, math.inf)   # no density against a density: KL is infinite
        >>> kl_divergence(PointMass(0.0, 1.0), Exponential(1.0)).item()
        inf
    """
    def decorator(rule):
        _KL_RULES[(type_p, type_q)] = rule
        return rule
    return decorator


def kl_divergence(p, q):
    r"""KL(p ‖ q) = E_{x∼p}[ln p(x) − ln q(x)] ≥ 0, in nats, for the pairs with a closed form.

    Shaped like the broadcast of the two batch shapes. Pairs: Normal, LogNormal,
    MultivariateNormal, Bernoulli, Binomial (equal n), Categorical (and OneHotCategorical, a subclass),
    Exponential, Gamma, Exponential‖Gamma, Beta, Dirichlet, Poisson, Laplace, Uniform.

    Example:
        >>> from chainrule.probability import Normal, kl_divergence
        >>> kl_divergence(Normal(0.0, 1.0), Normal(1.0, 1.0)).item()   # (μp − μq)²/2
        0.5
    """
    for type_p in type(p).__mro__:
        for type_q in type(q).__mro__:
            rule = _KL_RULES.get((type_p, type_q))
            if rule is not None:
                return rule(p, q)
    known = ", ".join(sorted(f"{a.__name__}‖{b.__name__}" for a, b in _KL_RULES))
    raise NoClosedFormError(
        f"kl_divergence: no closed form is known here for KL({type(p).__name__} ‖ {type(q).__name__}); "
        f"estimate it by Monte Carlo instead, mean(p.log_prob(x) - q.log_prob(x)) over x = p.sample((n,)). "
        f"Closed forms exist for: {known}"
    )


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    """ln(σq/σp) + (σp² + (μp − μq)²)/(2σq²) − ½."""
    ratio = p.scale / q.scale
    shift = (p.loc - q.loc) / q.scale
    return -log(ratio) + 0.5 * (ratio * ratio + shift * shift) - 0.5


@register_kl(LogNormal, LogNormal)
def _kl_lognormal_lognormal(p, q):
    """KL is invariant under the map x ↦ eˣ, so it equals KL of the underlying normals."""
    return _kl_normal_normal(p.base, q.base)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    """½ [tr(Σq⁻¹Σp) + (μq − μp)ᵀ Σq⁻¹ (μq − μp) − k + ln det Σq − ln det Σp], via M = Lq⁻¹ Lp."""
    if p.event_shape != q.event_shape:
        raise ValueError(f"kl_divergence: MultivariateNormal dimensions differ: {p.event_shape} and {q.event_shape}")
    k = p.event_shape[0]
    batch = tuple(numpy.broadcast_shapes(p.batch_shape, q.batch_shape))
    q_tril = q.scale_tril.expand(batch + (k, k))
    p_tril = p.scale_tril.expand(batch + (k, k))
    m = solve_triangular(q_tril, p_tril, upper=False)
    z = mahalanobis_solve(q_tril, (q.loc - p.loc).expand(batch + (k,)))
    trace = (m * m).sum((-2, -1))
    return 0.5 * (trace + (z * z).sum(-1) - k) + q._half_log_det() - p._half_log_det()


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    """p ln(p/q) + (1 − p) ln((1 − p)/(1 − q)), from the logits; ∞ where q puts zero mass on p's support."""
    ones = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    zeros = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    ones = where(p.probs == 0, 0.0, where(q.probs == 0, math.inf, ones))
    zeros = where(p.probs == 1, 0.0, where(q.probs == 1, math.inf, zeros))
    return ones + zeros


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    """n · KL(Bernoulli(p) ‖ Bernoulli(q)) for equal numbers of trials n."""
    if not bool((p.total_count.array == q.total_count.array).all()):
        raise NoClosedFormError(
            "kl_divergence: Binomial‖Binomial has a closed form only for equal total_count; got "
            f"{p.total_count.array.tolist()} and {q.total_count.array.tolist()}"
        )
    per_trial = _kl_bernoulli_bernoulli(Bernoulli(probs=p.probs, validate_args=False),
                                        Bernoulli(probs=q.probs, validate_args=False))
    return p.total_count * per_trial


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    """Σₖ pₖ (ln pₖ − ln qₖ), with 0 ln 0 = 0 and ∞ where qₖ = 0 < pₖ."""
    if p.num_classes != q.num_classes:
        raise ValueError(f"kl_divergence: Categorical class counts differ: {p.num_classes} and {q.num_classes}")
    terms = xlogy(p.probs, p.probs) - p.probs * q.logits
    terms = where((q.probs == 0) & (p.probs > 0), math.inf, terms)
    return terms.sum(-1)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    """ln(λp/λq) + λq/λp − 1."""
    ratio = q.rate / p.rate
    return ratio - log(ratio) - 1


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    """(αp − αq)ψ(αp) − ln Γ(αp) + ln Γ(αq) + αq(ln βp − ln βq) + αp(βq − βp)/βp."""
    ap, bp, aq, bq = p.concentration, p.rate, q.concentration, q.rate
    return ((ap - aq) * digamma(ap) - lgamma(ap) + lgamma(aq) + aq * (log(bp) - log(bq))
            + ap * (bq - bp) / bp)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    """An Exponential(λ) is a Gamma(1, λ)."""
    return _kl_gamma_gamma(Gamma(ones_like(p.rate), p.rate, validate_args=False), q)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    """ln B(aq, bq) − ln B(ap, bp) + (ap − aq)ψ(ap) + (bp − bq)ψ(bp) + (aq − ap + bq − bp)ψ(ap + bp)."""
    ap, bp, aq, bq = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    return (log_beta_function(aq, bq) - log_beta_function(ap, bp) + (ap - aq) * digamma(ap)
            + (bp - bq) * digamma(bp) + (aq - ap + bq - bp) * digamma(ap + bp))


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    """ln Γ(α₀) − Σ ln Γ(αⱼ) − ln Γ(β₀) + Σ ln Γ(βⱼ) + Σ (αⱼ − βⱼ)(ψ(αⱼ) − ψ(α₀))."""
    alpha, beta = p.concentration, q.concentration
    alpha_total = alpha.sum(-1, keepdim=True)
    return (q._log_normalizer() - p._log_normalizer()
            + ((alpha - beta) * (digamma(alpha) - digamma(alpha_total))).sum(-1))


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    """λp ln(λp/λq) − λp + λq (∞ where λq = 0 < λp)."""
    terms = xlogy(p.rate, p.rate) - xlogy(p.rate, q.rate) - p.rate + q.rate
    return where((q.rate == 0) & (p.rate > 0), math.inf, terms)


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    """ln(bq/bp) + |μp − μq|/bq + (bp/bq) e^{−|μp − μq|/bp} − 1."""
    ratio = p.scale / q.scale
    distance = (p.loc - q.loc).abs()
    return -log(ratio) + distance / q.scale + ratio * exp(-distance / p.scale) - 1


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    """ln((hq − lq)/(hp − lp)) when [lp, hp] ⊆ [lq, hq]; ∞ otherwise."""
    inside = (q.low <= p.low) & (p.high <= q.high)
    return where(inside, log((q.high - q.low) / (p.high - p.low)), math.inf)

