"""Probability: distributions, KL divergences, Bayes' theorem, maximum likelihood and information theory.

The distributions follow torch.distributions (names, ``batch_shape``/``event_shape``,
``sample``/``rsample``/``log_prob``/``entropy``); their parameters are tensors, so
log-likelihoods, entropies and KL divergences are differentiable, and ``rsample``
passes gradients through the draw (the reparameterization trick).

    >>> import chainrule as cr
    >>> from chainrule.probability import Normal, kl_divergence
    >>> g = cr.Generator().manual_seed(0)
    >>> x = Normal(0.0, 1.0).sample((3,), generator=g)
    >>> x.shape
    (3,)

Information theory on probability vectors (entropy, cross-entropy, KL, Jensen-Shannon,
mutual information) is the module ``information`` (also reachable as ``chainrule.information``).

Sampling draws from a chainrule ``Generator`` (``generator=``, else the default
one seeded by ``cr.manual_seed``): the same seed gives bitwise the same samples.
"""
from chainrule.probability import constraints, information
from chainrule.probability.bayes import (
    BayesResult, bayes_rule, beta_bernoulli, dirichlet_categorical, gamma_poisson, normal_normal,
)
from chainrule.probability.continuous import (
    Beta, Exponential, Gamma, Laplace, LogNormal, Normal, StudentT, Uniform,
)
from chainrule.probability.discrete import Bernoulli, Binomial, Categorical, OneHotCategorical, Poisson
from chainrule.probability.distribution import Distribution, NoClosedFormError
from chainrule.probability.kl import kl_divergence, register_kl
from chainrule.probability.mle import MLEResult, fit_mle
from chainrule.probability.multivariate import Dirichlet, MultivariateNormal

__all__ = [
    "Distribution", "NoClosedFormError", "constraints", "information",
    "Normal", "LogNormal", "Uniform", "Exponential", "Laplace", "StudentT", "Gamma", "Beta",
    "Bernoulli", "Binomial", "Categorical", "OneHotCategorical", "Poisson",
    "MultivariateNormal", "Dirichlet",
    "kl_divergence", "register_kl",
    "BayesResult", "bayes_rule", "beta_bernoulli", "normal_normal", "gamma_poisson", "dirichlet_categorical",
    "MLEResult", "fit_mle",
]
