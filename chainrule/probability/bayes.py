"""Bayes' theorem: a prior belief, updated by data, becomes a posterior.

    P(h | D) = P(D | h) P(h) / P(D),     P(D) = Σ_h P(D | h) P(h)   (the evidence).

``bayes_rule`` applies it to a finite set of hypotheses, in log space so that
tiny likelihoods do not underflow. The conjugate updates apply it in closed form
where the prior and the posterior belong to the same family:

    Beta(a, b) prior on p,   Bernoulli data   → Beta(a + Σx, b + n − Σx)
    Normal(μ₀, σ₀²) on μ,    Normal(μ, σ²) data, σ known
                                              → Normal(μₙ, σₙ²), 1/σₙ² = 1/σ₀² + n/σ², μₙ = σₙ²(μ₀/σ₀² + Σx/σ²)
    Gamma(α, β) prior on λ,  Poisson data     → Gamma(α + Σx, β + n)
    Dirichlet(α) prior on p, Categorical data → Dirichlet(α + counts)
"""
from dataclasses import dataclass

import numpy

from chainrule.core.tensor import Tensor
from chainrule.ops import exp, log, logsumexp
from chainrule.probability.continuous import Beta, Gamma, Normal
from chainrule.probability.distribution import _first_bad, as_float_tensor
from chainrule.probability.multivariate import Dirichlet


@dataclass
class BayesResult:
    """The outcome of Bayes' rule over a finite set of hypotheses.

    ``posterior`` = P(h | D) = P(D | h) P(h) / P(D), ``evidence`` = P(D) = Σ_h P(D | h) P(h),
    ``log_evidence`` = ln P(D).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.probability import bayes_rule
        >>> result = bayes_rule(cr.tensor([0.5, 0.5]), likelihood=cr.tensor([0.2, 0.6]))
        >>> result.posterior.tolist(), round(result.evidence.item(), 6), round(result.log_evidence.item(), 4)
        ([0.25, 0.75], 0.4, -0.9163)
    """

    posterior: Tensor       # P(h | D), sums to 1 along the last axis
    evidence: Tensor        # P(D) = Σ_h P(D | h) P(h)
    log_evidence: Tensor    # ln P(D), accurate even where P(D) underflows


def bayes_rule(prior, likelihood=None, log_likelihood=None):
    r"""Posterior over hypotheses: P(h | D) = P(D | h) P(h) / Σ_h' P(D | h') P(h').

    ``prior`` holds P(h) along the last axis; give either ``likelihood`` P(D | h) or
    ``log_likelihood`` ln P(D | h) (better for many observations: sum their logs).
    Computed as ln P(h | D) = ln P(h) + ln P(D | h) − logsumexp_h(ln P(h) + ln P(D | h)).

    Example (a test with 99% sensitivity and 95% specificity for a condition with 1% prevalence):
        >>> import chainrule as cr
        >>> from chainrule.probability import bayes_rule
        >>> result = bayes_rule(cr.tensor([0.01, 0.99]), likelihood=cr.tensor([0.99, 0.05]))
        >>> round(result.posterior[0].item(), 4)   # P(condition | positive test)
        0.1667
    """
    if (likelihood is None) == (log_likelihood is None):
        raise ValueError("bayes_rule: pass exactly one of likelihood= and log_likelihood=")
    prior = as_float_tensor(prior)
    _check_probability_vector("bayes_rule", "prior", prior)
    if likelihood is not None:
        likelihood = as_float_tensor(likelihood, prior.dtype if not isinstance(likelihood, Tensor) else None)
        ok = likelihood.array >= 0
        if not bool(ok.all()):
            raise ValueError(
                f"bayes_rule: likelihood values P(D | h) must be ≥ 0, got {_first_bad(ok, likelihood.array)}"
            )
        with numpy.errstate(divide="ignore"):  # a zero likelihood is a legitimate −∞ log-likelihood
            log_likelihood = log(likelihood)
    else:
        log_likelihood = as_float_tensor(log_likelihood, prior.dtype if not isinstance(log_likelihood, Tensor) else None)
    if log_likelihood.shape[-1:] != prior.shape[-1:]:
        raise ValueError(
            f"bayes_rule: the likelihood has {log_likelihood.shape[-1:]} hypotheses on its last axis but the prior "
            f"has {prior.shape[-1:]}; they must match"
        )
    with numpy.errstate(divide="ignore"):  # a hypothesis with prior 0 has log-prior −∞
        joint = log(prior) + log_likelihood
    log_evidence = logsumexp(joint, -1, keepdim=True)
    if not bool(numpy.isfinite(numpy.asarray(log_evidence.detach())).all()):
        raise ValueError(
            "bayes_rule: the evidence P(D) is 0 (every hypothesis with prior mass gives the data probability 0), "
            "so the posterior is undefined; check the likelihood or give those hypotheses prior mass"
        )
    posterior = exp(joint - log_evidence)
    log_evidence = log_evidence.squeeze(-1)
    return BayesResult(posterior=posterior, evidence=exp(log_evidence), log_evidence=log_evidence)


def _check_probability_vector(function, name, values):
    host = numpy.asarray(values.detach())
    if host.ndim == 0 or (host < 0).any() or not numpy.allclose(host.sum(-1), 1.0, atol=1e-5):
        raise ValueError(
            f"{function}: {name} must be a probability vector (entries ≥ 0 summing to 1 along the last axis), "
            f"got {host.tolist()!r}; normalize it with {name} / {name}.sum(-1, keepdim=True)"
        )


def _data(function, data, dtype):
    data = as_float_tensor(data, dtype).detach()
    if data.ndim == 0:
        data = data.reshape((1,))
    if data.shape[0] == 0:
        raise ValueError(f"{function}: the data is empty; pass at least one observation")
    return data


def beta_bernoulli(prior, data):
    r"""Beta(a, b) prior on p, Bernoulli(p) observations x ∈ {0, 1} → Beta(a + Σx, b + n − Σx).

    The observations are along the first axis of ``data``.

    Example:
        >>> from chainrule.probability import Beta, beta_bernoulli
        >>> posterior = beta_bernoulli(Beta(1.0, 1.0), [1, 1, 0, 1])
        >>> posterior.concentration1.item(), posterior.concentration0.item()
        (4.0, 2.0)
    """
    _check_prior("beta_bernoulli", prior, Beta)
    data = _data("beta_bernoulli", data, prior.concentration1.dtype)
    ok = (data.array == 0) | (data.array == 1)
    if not bool(ok.all()):
        raise ValueError(f"beta_bernoulli: Bernoulli observations must be 0 or 1, got {_first_bad(ok, data.array)}")
    successes = data.sum(0)
    return Beta(prior.concentration1 + successes, prior.concentration0 + (data.shape[0] - successes))


def normal_normal(prior, data, noise_scale):
    r"""Normal(μ₀, σ₀²) prior on the mean μ of Normal(μ, σ²) data with known σ → Normal(μₙ, σₙ²).

    Precisions add: 1/σₙ² = 1/σ₀² + n/σ²; the posterior mean is the precision-weighted
    average μₙ = σₙ² (μ₀/σ₀² + Σx/σ²).

    Example:
        >>> from chainrule.probability import Normal, normal_normal
        >>> posterior = normal_normal(Normal(0.0, 1.0), [2.0, 2.0, 2.0], noise_scale=1.0)
        >>> posterior.loc.item(), round(posterior.scale.item() ** 2, 4)
        (1.5, 0.25)
    """
    _check_prior("normal_normal", prior, Normal)
    data = _data("normal_normal", data, prior.loc.dtype)
    noise_scale = as_float_tensor(noise_scale, prior.loc.dtype if not isinstance(noise_scale, Tensor) else None)
    if not bool((noise_scale.array > 0).all()):
        raise ValueError(f"normal_normal: noise_scale σ must be > 0, got {noise_scale.array.tolist()!r}")
    noise_precision = 1 / (noise_scale * noise_scale)
    prior_precision = 1 / (prior.scale * prior.scale)
    posterior_precision = prior_precision + data.shape[0] * noise_precision
    posterior_mean = (prior.loc * prior_precision + data.sum(0) * noise_precision) / posterior_precision
    return Normal(posterior_mean, 1 / posterior_precision.sqrt())


def gamma_poisson(prior, data):
    r"""Gamma(α, β) prior on a Poisson rate λ, counts x → Gamma(α + Σx, β + n).

    Example:
        >>> from chainrule.probability import Gamma, gamma_poisson
        >>> posterior = gamma_poisson(Gamma(2.0, 1.0), [3, 5])
        >>> posterior.concentration.item(), posterior.rate.item()
        (10.0, 3.0)
    """
    _check_prior("gamma_poisson", prior, Gamma)
    data = _data("gamma_poisson", data, prior.rate.dtype)
    ok = (data.array >= 0) & (data.array == numpy.round(data.array))
    if not bool(ok.all()):
        raise ValueError(f"gamma_poisson: Poisson counts must be non-negative integers, got {_first_bad(ok, data.array)}")
    return Gamma(prior.concentration + data.sum(0), prior.rate + data.shape[0])


def dirichlet_categorical(prior, data):
    r"""Dirichlet(α) prior on class probabilities, class labels y ∈ {0..K−1} → Dirichlet(α + counts).

    ``data`` is a 1-D sequence of integer labels.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.probability import Dirichlet, dirichlet_categorical
        >>> dirichlet_categorical(Dirichlet(cr.ones(3)), [0, 2, 2]).concentration
        tensor([2., 1., 3.])
    """
    _check_prior("dirichlet_categorical", prior, Dirichlet)
    labels = numpy.asarray(data.detach() if isinstance(data, Tensor) else data)
    k = prior.concentration.shape[-1]
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"dirichlet_categorical: data must be a non-empty 1-D sequence of labels, got shape {labels.shape}")
    ok = (labels >= 0) & (labels < k) & (labels == numpy.round(labels))
    if not bool(ok.all()):
        raise ValueError(
            f"dirichlet_categorical: labels must be integers in [0, {k - 1}], got {_first_bad(ok, labels)}"
        )
    counts = numpy.bincount(labels.astype(numpy.int64), minlength=k)
    return Dirichlet(prior.concentration + as_float_tensor(counts, prior.concentration.dtype))


def _check_prior(function, prior, expected):
    if not isinstance(prior, expected):
        raise TypeError(f"{function}: the prior must be a {expected.__name__}, got {type(prior).__name__}")
