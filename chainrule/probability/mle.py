"""Maximum likelihood by automatic differentiation, with standard errors from the observed information.

The maximum-likelihood estimate maximizes ℓ(φ) = Σᵢ ln p(xᵢ; φ). Constrained
parameters are optimized in an unconstrained form θ (a positive φ = e^θ, a
probability φ = σ(θ)), so every Newton step stays valid. At the optimum θ̂:

    observed information   I(θ̂) = −∇²ℓ(θ̂)   (the Hessian of the negative log-likelihood),
    Cov(θ̂) ≈ I(θ̂)⁻¹,        Cov(φ̂) ≈ J Cov(θ̂) Jᵀ,   J = ∂φ/∂θ   (the delta method),

and the standard errors are the square roots of the diagonal of Cov(φ̂). Gradients
come from ``chainrule.func.value_and_grad``, the Hessian from ``chainrule.func.hessian``.
"""
from dataclasses import dataclass, field

import numpy
from statistics import NormalDist

from chainrule.core.tensor import Tensor
from chainrule.func import hessian, value_and_grad
from chainrule.ops import exp, sigmoid
from chainrule.probability.continuous import Beta, Exponential, Gamma, LogNormal, Normal, StudentT
from chainrule.probability.discrete import Bernoulli, Binomial, Poisson
from chainrule.probability.distribution import _first_bad
from chainrule.probability.multivariate import Dirichlet


# ----- unconstrained parameterizations: φ = transform(θ) ---------------------------------------
def _to_natural(kind, theta):
    if kind == "real":
        return theta
    if kind == "positive":
        return exp(theta)
    return sigmoid(theta)


def _to_unconstrained(kind, phi):
    if kind == "real":
        return phi
    if kind == "positive":
        return numpy.log(phi)
    return numpy.log(phi) - numpy.log1p(-phi)


def _derivative(kind, phi):
    """dφ/dθ expressed through φ: 1, φ (for e^θ), φ(1 − φ) (for σ(θ))."""
    if kind == "real":
        return numpy.ones_like(phi)
    if kind == "positive":
        return phi
    return phi * (1 - phi)


# ----- starting points: the method of moments (the MLE itself for Normal, Exponential, ...) ----
def _moments(x):
    return x.mean(0), x.var(0)


def _start_beta(x, fixed):
    m, v = _moments(x)
    common = m * (1 - m) / v - 1
    return {"concentration1": m * common, "concentration0": (1 - m) * common}


def _start_dirichlet(x, fixed):
    m, v = _moments(x)
    common = numpy.median(m * (1 - m) / v - 1)
    return {"concentration": m * common}


_STARTS = {
    Normal: lambda x, fixed: {"loc": x.mean(0), "scale": x.std(0)},
    LogNormal: lambda x, fixed: {"loc": numpy.log(x).mean(0), "scale": numpy.log(x).std(0)},
    Exponential: lambda x, fixed: {"rate": 1 / x.mean(0)},
    Poisson: lambda x, fixed: {"rate": x.mean(0)},
    Bernoulli: lambda x, fixed: {"probs": x.mean(0)},
    Binomial: lambda x, fixed: {"probs": x.mean(0) / numpy.asarray(fixed["total_count"], dtype=numpy.float64)},
    Gamma: lambda x, fixed: {"concentration": x.mean(0) ** 2 / x.var(0), "rate": x.mean(0) / x.var(0)},
    Beta: _start_beta,
    StudentT: lambda x, fixed: {"df": numpy.float64(10.0), "loc": numpy.median(x, 0), "scale": x.std(0)},
    Dirichlet: _start_dirichlet,
}

PARAMETERIZATIONS = {
    Normal: {"loc": "real", "scale": "positive"},
    LogNormal: {"loc": "real", "scale": "positive"},
    Exponential: {"rate": "positive"},
    Poisson: {"rate": "positive"},
    Bernoulli: {"probs": "probability"},
    Binomial: {"probs": "probability"},
    Gamma: {"concentration": "positive", "rate": "positive"},
    Beta: {"concentration1": "positive", "concentration0": "positive"},
    StudentT: {"df": "positive", "loc": "real", "scale": "positive"},
    Dirichlet: {"concentration": "positive"},
}


@dataclass
class MLEResult:
    """A maximum-likelihood fit: estimates, standard errors and how the optimization went.

    ``params`` = φ̂ = argmax_φ ℓ(φ), ℓ(φ) = Σᵢ ln p(xᵢ; φ); ``standard_errors`` = √diag Cov(φ̂), with
    Cov(φ̂) ≈ J I(θ̂)⁻¹ Jᵀ (see the module docstring); ``log_likelihood`` = ℓ(φ̂).

    Example (a Normal's MLE is the mean and the standard deviation with divisor n):
        >>> import chainrule as cr
        >>> from chainrule.probability import Normal, fit_mle
        >>> fit = fit_mle(Normal, cr.tensor([1.0, 2.0, 3.0, 4.0]))
        >>> fit.names, round(fit.params["loc"].item(), 6), round(fit.params["scale"].item(), 6), fit.converged
        (['loc', 'scale'], 2.5, 1.118034, True)
    """

    distribution: object                 # the fitted distribution
    params: dict                         # name → estimate (float64 tensor)
    standard_errors: dict                # name → standard error (float64 tensor)
    covariance: numpy.ndarray            # Cov(φ̂) over the free parameters, flattened in ``names`` order
    names: list                          # the free parameters' names, one per row of ``covariance``
    log_likelihood: float                # ℓ(φ̂) = Σ ln p(xᵢ; φ̂)
    iterations: int
    converged: bool
    fixed: dict = field(default_factory=dict)

    def confidence_interval(self, level=0.95):
        """Wald intervals φ̂ ± z_{(1+level)/2} · SE(φ̂), name → (low, high)."""
        z = NormalDist().inv_cdf(0.5 + level / 2)   # the stdlib's normal quantile: scipy.stats takes ~1 s to import
        return {name: (self.params[name] - z * se, self.params[name] + z * se)
                for name, se in self.standard_errors.items()}


def fit_mle(distribution_class, data, fixed=None, init=None, max_iter=100, tol=1e-9):
    r"""Fit ``distribution_class`` to i.i.d. ``data`` (observations along axis 0) by maximum likelihood.

    Damped Newton on the unconstrained parameters θ: solve (H + λI) Δ = −∇ with the
    Hessian H of the negative log-likelihood (λ = 0 when H is positive definite),
    then halve the step until the likelihood rises. Standard errors come from the
    observed information at the optimum, mapped to the natural parameters by the
    delta method (see the module docstring). ``fixed`` holds parameters that are
    not estimated (Binomial's ``total_count``); ``init`` overrides the starting
    point (by default the method of moments).

    Supported: Normal, LogNormal, Exponential, Poisson, Bernoulli, Binomial, Gamma,
    Beta, StudentT, Dirichlet.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.probability import Exponential, fit_mle
        >>> fit = fit_mle(Exponential, cr.tensor([0.5, 1.0, 1.5]))
        >>> round(fit.params["rate"].item(), 6), round(fit.standard_errors["rate"].item(), 6)  # 1/x̄, λ̂/√n
        (1.0, 0.57735)
    """
    if distribution_class not in PARAMETERIZATIONS:
        supported = ", ".join(c.__name__ for c in PARAMETERIZATIONS)
        raise ValueError(
            f"fit_mle: no parameterization for {getattr(distribution_class, '__name__', distribution_class)}; "
            f"supported distributions are {supported}"
        )
    fixed = dict(fixed or {})
    if distribution_class is Binomial and "total_count" not in fixed:
        raise ValueError("fit_mle: Binomial needs its number of trials: pass fixed={'total_count': n}")
    data = _as_float64_data(data)
    kinds = {name: kind for name, kind in PARAMETERIZATIONS[distribution_class].items() if name not in fixed}
    start = _STARTS[distribution_class](data.array, fixed)
    start.update({name: numpy.asarray(value, dtype=numpy.float64) for name, value in (init or {}).items()})
    _check_start(distribution_class, start, kinds)
    shapes = {name: numpy.shape(start[name]) for name in kinds}
    theta = numpy.concatenate([numpy.ravel(_to_unconstrained(kind, numpy.asarray(start[name], dtype=numpy.float64)))
                               for name, kind in kinds.items()])
    fixed_tensors = {name: Tensor(numpy.asarray(value, dtype=numpy.float64)) for name, value in fixed.items()}

    def natural_parameters(theta_tensor):
        params, offset = {}, 0
        for name, kind in kinds.items():
            size = int(numpy.prod(shapes[name], dtype=numpy.int64))
            piece = theta_tensor[offset:offset + size].reshape(shapes[name])
            params[name] = _to_natural(kind, piece)
            offset += size
        return params

    def negative_log_likelihood(theta_tensor):
        distribution = distribution_class(**natural_parameters(theta_tensor), **fixed_tensors, validate_args=False)
        return -distribution.log_prob(data).sum()

    # Validate the data once, against the starting distribution's support.
    distribution_class(**natural_parameters(Tensor(theta)), **fixed_tensors).log_prob(data)

    objective = value_and_grad(negative_log_likelihood)
    curvature = hessian(negative_log_likelihood)
    converged, iteration = False, 0
    for iteration in range(1, max_iter + 1):
        value, gradient = objective(Tensor(theta))
        value, gradient = float(value.item()), numpy.asarray(gradient.array)
        if numpy.abs(gradient).max() <= tol * max(1.0, data.shape[0]):
            converged = True
            break
        step = _newton_step(numpy.asarray(curvature(Tensor(theta)).array), gradient)
        theta, moved = _line_search(negative_log_likelihood, theta, value, gradient, step)
        if not moved:
            converged = numpy.abs(gradient).max() <= 1e-5 * max(1.0, data.shape[0])
            break

    information = numpy.asarray(curvature(Tensor(theta)).array)
    natural = {name: value.detach() for name, value in natural_parameters(Tensor(theta)).items()}
    jacobian = numpy.concatenate([numpy.ravel(_derivative(kind, natural[name].array)) for name, kind in kinds.items()])
    covariance = _inverse_information(information) * numpy.outer(jacobian, jacobian)
    errors, offset = {}, 0
    for name in kinds:
        size = int(numpy.prod(shapes[name], dtype=numpy.int64))
        errors[name] = Tensor(numpy.sqrt(numpy.diag(covariance)[offset:offset + size]).reshape(shapes[name]))
        offset += size
    fitted = distribution_class(**natural, **fixed_tensors)
    log_likelihood = float(fitted.log_prob(data).sum().item())
    names = [name for name in kinds for _ in range(int(numpy.prod(shapes[name], dtype=numpy.int64)))]
    return MLEResult(fitted, natural, errors, covariance, names, log_likelihood, iteration, converged, fixed)


def _as_float64_data(data):
    array = numpy.asarray(data.detach() if isinstance(data, Tensor) else data, dtype=numpy.float64)
    if array.ndim == 0 or array.shape[0] < 2:
        raise ValueError(f"fit_mle: need at least 2 observations along axis 0, got data of shape {array.shape}")
    ok = numpy.isfinite(array)
    if not ok.all():
        raise ValueError(f"fit_mle: the data must be finite, got {_first_bad(ok, array)}")
    return Tensor(array)


def _check_start(distribution_class, start, kinds):
    """A start on the boundary (all-zero counts, all-equal data) has no interior MLE: say so."""
    for name, kind in kinds.items():
        value = numpy.asarray(start[name], dtype=numpy.float64)
        bad = ~numpy.isfinite(value) | ((value <= 0) if kind == "positive" else False) | \
            (((value <= 0) | (value >= 1)) if kind == "probability" else False)
        if numpy.any(bad):
            raise ValueError(
                f"fit_mle: {distribution_class.__name__}'s {name} would be estimated at the edge of its range "
                f"({value.tolist()!r}), where the likelihood has no interior maximum and no standard error "
                f"(e.g. all-zero counts, all-equal values, or all successes); collect more varied data"
            )


def _newton_step(hessian_matrix, gradient):
    """Solve (H + λI) Δ = −g with the smallest λ ≥ 0 that makes H + λI positive definite."""
    identity = numpy.eye(len(gradient))
    damping = 0.0
    scale = max(1e-12, numpy.abs(numpy.diag(hessian_matrix)).max())
    for _ in range(60):
        try:
            factor = numpy.linalg.cholesky(hessian_matrix + damping * identity)
            return -numpy.linalg.solve(factor.T, numpy.linalg.solve(factor, gradient))
        except numpy.linalg.LinAlgError:
            damping = max(2 * damping, 1e-8 * scale)
    return -gradient / scale


def _line_search(function, theta, value, gradient, step):
    """Halve the step until the objective decreases enough (Armijo): f(θ + tΔ) ≤ f(θ) + 10⁻⁴ t gᵀΔ."""
    slope = float(gradient @ step)
    if abs(slope) <= 1e-10 * (1 + abs(value)):
        # Near the optimum the predicted decrease is below the rounding noise of f itself, so the
        # Armijo test cannot be decided; there the full Newton step is the right one.
        return theta + step, True
    t = 1.0
    for _ in range(50):
        candidate = theta + t * step
        new_value = float(function(Tensor(candidate)).item())
        if numpy.isfinite(new_value) and new_value <= value + 1e-4 * t * slope:
            return candidate, True
        t /= 2
    return theta, False


def _inverse_information(information):
    try:
        return numpy.linalg.inv(information)
    except numpy.linalg.LinAlgError:
        return numpy.full_like(information, numpy.nan)
