"""Implicit reparameterization of the Gamma distribution (and through it Beta, Dirichlet, StudentT).

A Gamma(α, 1) draw is made by inverting its CDF at a uniform draw u:

    x = P⁻¹(α, u),   where  P(α, x) = γ(α, x) / Γ(α)   (the regularized lower incomplete gamma).

Holding u fixed and differentiating P(α, x) = u (Figurnov, Mohamed & Mnih 2018,
"Implicit Reparameterization Gradients"):

    dx/dα = −(∂P/∂α)(α, x) / p(x; α),     p(x; α) = x^{α−1} e^{−x} / Γ(α).

∂P/∂α comes from differentiating the series P(α, x) = Σₙ xᵅ⁺ⁿ e⁻ˣ / Γ(α + n + 1)
term by term:

    ∂P/∂α = Σₙ tₙ (ln x − ψ(α + n + 1)),   tₙ = exp((α + n) ln x − x − ln Γ(α + n + 1)).

The series converges for every x > 0 (terms peak near n ≈ x − α and then fall
faster than geometrically); in the far upper tail (P within ~1e-12 of 1) its
terms cancel and the relative accuracy degrades, which matters only for draws
with probability below ~1e-12.
"""
import math

import numpy

from chainrule.backends import special_module
from chainrule.core.primitive import Primitive, apply
from chainrule.ops import exp, lgamma, log


def _lower_gamma_derivative_in_shape(xp, alpha, x):
    """∂P(α, x)/∂α by the series above, in float64 (0 where x = 0), for arrays of one shape."""
    alpha = xp.broadcast_to(alpha.astype(xp.float64), x.shape).reshape(-1)
    flat_x = x.astype(xp.float64).reshape(-1)
    derivative = xp.zeros_like(flat_x)
    # Chunks keep the (elements × series terms) table near 4 million entries, whatever the sample size.
    chunk = max(1, 4_000_000 // _series_length(xp, alpha, flat_x))
    for start in range(0, flat_x.size, chunk):
        part = slice(start, start + chunk)
        derivative[part] = _series(xp, alpha[part], flat_x[part])
    return derivative.reshape(x.shape)


def _series_length(xp, alpha, x):
    """Enough terms for every element: the terms peak near n ≈ x − α and decay over a width ~ √x."""
    if x.size == 0:
        return 1
    largest_excess = float(xp.max(xp.maximum(x - alpha, 0.0)))
    return int(math.ceil(largest_excess + 12 * math.sqrt(float(xp.max(x))) + 40))


def _series(xp, alpha, x):
    special = special_module(xp)
    positive = x > 0
    safe_x = xp.where(positive, x, 1.0)
    n = xp.arange(_series_length(xp, alpha, safe_x), dtype=xp.float64)
    a = alpha[:, None] + n
    log_x = xp.log(safe_x)[:, None]
    log_terms = a * log_x - safe_x[:, None] - special.gammaln(a + 1)
    derivative = xp.sum(xp.exp(log_terms) * (log_x - special.digamma(a + 1)), axis=-1)
    return xp.where(positive, derivative, 0.0)


class RegularizedGammaDerivativeA(Primitive):
    """∂P(α, x)/∂α, the α-derivative of the regularized lower incomplete gamma function.

    Used only inside the Gamma sampler's derivative; it has no derivative of its
    own, so a second derivative of a Gamma rsample with respect to α raises.
    """

    name = "regularized_gamma_derivative_a"
    formula = r"y = \frac{\partial P(\alpha, x)}{\partial \alpha} = \sum_n t_n\,(\ln x - \psi(\alpha + n + 1))"
    derivatives = ()
    vjps = ()

    @staticmethod
    def forward(xp, alpha, x):
        return _lower_gamma_derivative_in_shape(xp, alpha, x).astype(alpha.dtype, copy=False)


class StandardGammaQuantile(Primitive):
    """x = P⁻¹(α, u): a Gamma(α, 1) draw from the uniform draw u (held fixed, a parameter)."""

    name = "standard_gamma_quantile"
    formula = r"x = P^{-1}(\alpha, u),\quad P(\alpha, x) = \gamma(\alpha, x) / \Gamma(\alpha)"
    derivatives = (r"\bar{\alpha} = -\bar{x}\,\frac{\partial_\alpha P(\alpha, x)}{p(x;\alpha)},\quad "
                   r"p(x;\alpha) = x^{\alpha-1}e^{-x}/\Gamma(\alpha)",)

    @staticmethod
    def forward(xp, alpha, uniform):
        special = special_module(xp)
        x = special.gammaincinv(alpha.astype(xp.float64), uniform)
        # The smallest normal float keeps log x finite where the quantile underflows (tiny α).
        tiny = xp.finfo(alpha.dtype).tiny
        return xp.maximum(x, tiny).astype(alpha.dtype, copy=False)

    @staticmethod
    def grad_alpha(g, out, alpha, uniform):
        log_density = (alpha - 1) * log(out) - out - lgamma(alpha)
        dP_dalpha = apply(RegularizedGammaDerivativeA, alpha, out)
        return -(g * dP_dalpha * exp(-log_density))

    vjps = (grad_alpha,)


def standard_gamma(concentration, shape, generator):
    """Differentiable Gamma(α, 1) draws of ``shape`` (α is broadcast to it)."""
    uniform = generator.uniform(shape, 0.0, 1.0, numpy.float64, concentration.xp)
    if concentration.shape != tuple(shape):
        concentration = concentration.expand(shape)
    return apply(StandardGammaQuantile, concentration, uniform=uniform)
