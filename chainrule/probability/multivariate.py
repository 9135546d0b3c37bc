"""Distributions over vectors: MultivariateNormal and Dirichlet (event_shape = (k,)).

MultivariateNormal works with the Cholesky factor L of the covariance (Σ = L Lᵀ):
solving L z = x − μ gives the Mahalanobis distance ‖z‖² and ln det Σ = 2 Σᵢ ln Lᵢᵢ,
without ever forming Σ⁻¹. The triangular solve and the Cholesky factorization
come from chainrule.linalg, with their derivatives.
"""
import math

import numpy

from chainrule.linalg import cholesky, solve_triangular
from chainrule.ops import digamma, lgamma, log, matmul
from chainrule.probability import constraints
from chainrule.probability.continuous import HALF_LOG_TWO_PI, _tensor_like
from chainrule.probability.discrete import xlogy
from chainrule.probability.distribution import Distribution, as_float_tensor, check_parameter
from chainrule.probability.implicit import standard_gamma


def _matrix_diagonal(matrix):
    return matrix.diagonal(0, -2, -1)


def mahalanobis_solve(scale_tril, vectors):
    """z with L z = v for each vector v (the last axis), by forward substitution."""
    return solve_triangular(scale_tril, vectors.unsqueeze(-1), upper=False).squeeze(-1)


class MultivariateNormal(Distribution):
    r"""The k-dimensional normal distribution N(μ, Σ), given by Σ or by its Cholesky factor L (Σ = L Lᵀ).

    log p(x) = −½ (k ln 2π + ‖L⁻¹(x − μ)‖² ) − Σᵢ ln Lᵢᵢ,   H = ½ k (1 + ln 2π) + Σᵢ ln Lᵢᵢ.
    rsample: x = μ + L ε with ε ~ N(0, I).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.probability import MultivariateNormal
        >>> d = MultivariateNormal(cr.zeros(2), covariance_matrix=cr.eye(2))
        >>> round(d.log_prob(cr.zeros(2)).item(), 4)   # −ln 2π
        -1.8379
    """

    arg_constraints = {"loc": constraints.real_vector, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, scale_tril=None, validate_args=True):
        if (covariance_matrix is None) == (scale_tril is None):
            raise ValueError("MultivariateNormal: pass exactly one of covariance_matrix= and scale_tril=")
        matrix = covariance_matrix if covariance_matrix is not None else scale_tril
        loc = as_float_tensor(loc)
        matrix = as_float_tensor(matrix)
        dtype = numpy.result_type(loc.dtype, matrix.dtype)
        loc, matrix = loc.to(dtype), matrix.to(dtype)
        if loc.ndim < 1 or matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2] or matrix.shape[-1] != loc.shape[-1]:
            raise ValueError(
                f"MultivariateNormal: loc must have shape (..., k) and the covariance/scale_tril shape (..., k, k), "
                f"but got loc {loc.shape} and matrix {matrix.shape}"
            )
        if covariance_matrix is not None:
            if validate_args:
                check_parameter(self, "covariance_matrix", matrix, constraints.positive_definite)
            self.scale_tril = cholesky(matrix)
        else:
            self.scale_tril = matrix
        batch_shape = numpy.broadcast_shapes(loc.shape[:-1], self.scale_tril.shape[:-2])
        k = loc.shape[-1]
        self.loc = loc.expand(batch_shape + (k,)) if loc.shape != batch_shape + (k,) else loc
        super().__init__(batch_shape, (k,), validate_args)

    @property
    def covariance_matrix(self):
        """Σ = L Lᵀ."""
        return matmul(self.scale_tril, self.scale_tril.mT)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        """The diagonal of Σ: Σⱼ Lᵢⱼ²."""
        return (self.scale_tril * self.scale_tril).sum(-1).expand(self.batch_shape + self.event_shape)

    def _half_log_det(self):
        return log(_matrix_diagonal(self.scale_tril)).sum(-1)

    def _rsample(self, shape, generator):
        noise = _tensor_like(generator.normal(shape, 0.0, 1.0, self._dtype, self._xp), self.loc)
        return self.loc + matmul(self.scale_tril, noise.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        value = self._value(value)
        difference = value - self.loc
        scale_tril = self.scale_tril
        batch = difference.shape[:-1]
        if scale_tril.shape[:-2] != batch:
            scale_tril = scale_tril.expand(batch + scale_tril.shape[-2:])
        z = mahalanobis_solve(scale_tril, difference)
        k = self.event_shape[0]
        return -0.5 * (z * z).sum(-1) - k * HALF_LOG_TWO_PI - self._half_log_det()

    def entropy(self):
        k = self.event_shape[0]
        entropy = 0.5 * k * (1 + math.log(2 * math.pi)) + self._half_log_det()
        return entropy.expand(self.batch_shape) if entropy.shape != self.batch_shape else entropy


class Dirichlet(Distribution):
    r"""The Dirichlet distribution on the probability simplex, with concentrations α₁..α_K.

    log p(x) = Σⱼ (αⱼ − 1) ln xⱼ − ln B(α),   ln B(α) = Σⱼ ln Γ(αⱼ) − ln Γ(α₀),   α₀ = Σⱼ αⱼ;
    E[Xⱼ] = αⱼ/α₀,   H = ln B(α) + (α₀ − K) ψ(α₀) − Σⱼ (αⱼ − 1) ψ(αⱼ).
    rsample normalizes K implicitly reparameterized Gamma(αⱼ, 1) draws.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.probability import Dirichlet
        >>> Dirichlet(cr.tensor([1.0, 3.0])).mean
        tensor([0.25, 0.75])
    """

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=True):
        self.concentration = as_float_tensor(concentration)
        if self.concentration.ndim < 1 or self.concentration.shape[-1] < 2:
            raise ValueError(
                f"Dirichlet: concentration must have shape (..., K) with K ≥ 2 categories, "
                f"got shape {self.concentration.shape}"
            )
        super().__init__(self.concentration.shape[:-1], self.concentration.shape[-1:], validate_args)

    def _total(self):
        return self.concentration.sum(-1, keepdim=True)

    @property
    def mean(self):
        return self.concentration / self._total()

    @property
    def variance(self):
        total = self._total()
        return self.concentration * (total - self.concentration) / (total * total * (total + 1))

    def _rsample(self, shape, generator):
        gammas = standard_gamma(self.concentration, shape, generator)
        return gammas / gammas.sum(-1, keepdim=True)

    def _log_normalizer(self):
        return lgamma(self.concentration).sum(-1) - lgamma(self.concentration.sum(-1))

    def log_prob(self, value):
        value = self._value(value)
        return xlogy(self.concentration - 1, value).sum(-1) - self._log_normalizer()

    def entropy(self):
        alpha = self.concentration
        total = alpha.sum(-1)
        k = alpha.shape[-1]
        return self._log_normalizer() + (total - k) * digamma(total) - ((alpha - 1) * digamma(alpha)).sum(-1)
