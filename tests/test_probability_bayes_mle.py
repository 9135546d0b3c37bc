"""Bayes' theorem (discrete and conjugate) and maximum likelihood with standard errors."""
import math

import numpy as np
import pytest
import scipy.stats as ss
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.func import gradcheck
from chainrule.probability import (
    Bernoulli, Beta, Binomial, Dirichlet, Exponential, Gamma, LogNormal, Normal, Poisson, StudentT, Uniform,
    bayes_rule, beta_bernoulli, dirichlet_categorical, fit_mle, gamma_poisson, normal_normal,
)


# ----- discrete Bayes ----------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_bayes_rule_matches_direct_normalization(data):
    k = data.draw(st.integers(2, 6))
    prior = np.array(data.draw(st.lists(st.floats(0.01, 1.0), min_size=k, max_size=k)))
    prior /= prior.sum()
    likelihood = np.array(data.draw(st.lists(st.floats(1e-6, 1.0), min_size=k, max_size=k)))
    result = bayes_rule(cr.tensor(prior, dtype=cr.float64), likelihood=cr.tensor(likelihood, dtype=cr.float64))
    joint = prior * likelihood
    np.testing.assert_allclose(result.posterior.array, joint / joint.sum(), rtol=1e-12)
    np.testing.assert_allclose(result.evidence.item(), joint.sum(), rtol=1e-12)
    same = bayes_rule(cr.tensor(prior, dtype=cr.float64), log_likelihood=cr.tensor(np.log(likelihood), dtype=cr.float64))
    np.testing.assert_allclose(same.posterior.array, result.posterior.array, rtol=1e-12)


def test_bayes_rule_in_log_space_survives_underflow_and_is_differentiable():
    # 2000 coin flips with 1200 heads: each likelihood underflows to 0 in float64, the log form does not.
    biases = np.array([0.3, 0.5, 0.6, 0.7])
    log_likelihood = 1200 * np.log(biases) + 800 * np.log1p(-biases)
    result = bayes_rule(cr.full((4,), 0.25, dtype=cr.float64), log_likelihood=cr.tensor(log_likelihood))
    expected = np.exp(log_likelihood - log_likelihood.max())
    np.testing.assert_allclose(result.posterior.array, expected / expected.sum(), rtol=1e-10)
    assert result.evidence.item() == 0.0 and math.isfinite(result.log_evidence.item())
    prior = cr.tensor([0.2, 0.3, 0.5], dtype=cr.float64, requires_grad=True)
    likelihood = cr.tensor([0.9, 0.1, 0.4], dtype=cr.float64, requires_grad=True)
    assert gradcheck(lambda p, l: bayes_rule(p, likelihood=l).posterior, (prior, likelihood))


def test_bayes_rule_rejects_bad_input():
    with pytest.raises(ValueError, match="prior must be a probability vector"):
        bayes_rule(cr.tensor([0.5, 0.6]), likelihood=cr.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match=r"likelihood values P\(D \| h\) must be ≥ 0, got -0.1"):
        bayes_rule(cr.tensor([0.5, 0.5]), likelihood=cr.tensor([-0.1, 0.2]))
    with pytest.raises(ValueError, match="the evidence P\\(D\\) is 0"):
        bayes_rule(cr.tensor([1.0, 0.0]), likelihood=cr.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="3 hypotheses|hypotheses on its last axis"):
        bayes_rule(cr.tensor([0.5, 0.5]), likelihood=cr.tensor([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="exactly one of likelihood= and log_likelihood="):
        bayes_rule(cr.tensor([0.5, 0.5]))


# ----- conjugate updates: the closed form equals Bayes' rule on a fine grid ------------------------
def _grid_posterior(grid, log_prior, log_likelihood):
    log_post = log_prior + log_likelihood
    weights = np.exp(log_post - log_post.max())
    return weights / np.trapezoid(weights, grid)


def test_beta_bernoulli_matches_grid_bayes():
    flips = np.array([1, 0, 1, 1, 1, 0, 1, 0, 1, 1])
    posterior = beta_bernoulli(Beta(2.0, 3.0), cr.tensor(flips))
    assert (posterior.concentration1.item(), posterior.concentration0.item()) == (9.0, 6.0)
    grid = np.linspace(1e-4, 1 - 1e-4, 4001)
    numeric = _grid_posterior(grid, ss.beta(2, 3).logpdf(grid), ss.bernoulli(grid[:, None]).logpmf(flips).sum(1))
    closed = np.exp(Beta(9.0, 6.0).log_prob(cr.tensor(grid, dtype=cr.float64)).array)
    np.testing.assert_allclose(closed, numeric, rtol=1e-4, atol=1e-6)


def test_normal_normal_matches_grid_bayes_and_shrinks():
    data = np.array([1.2, 0.8, 1.9, 1.4])
    posterior = normal_normal(Normal(0.0, 2.0), cr.tensor(data, dtype=cr.float64), noise_scale=0.5)
    precision = 1 / 4 + 4 / 0.25
    assert posterior.loc.item() == pytest.approx((data.sum() / 0.25) / precision)
    assert posterior.scale.item() == pytest.approx(1 / math.sqrt(precision))
    grid = np.linspace(-1, 3, 4001)
    numeric = _grid_posterior(grid, ss.norm(0, 2).logpdf(grid), ss.norm(grid[:, None], 0.5).logpdf(data).sum(1))
    closed = np.exp(posterior.log_prob(cr.tensor(grid, dtype=cr.float64)).array)
    np.testing.assert_allclose(closed, numeric, rtol=1e-4, atol=1e-6)


def test_gamma_poisson_matches_grid_bayes():
    counts = np.array([3, 5, 2, 4, 6])
    posterior = gamma_poisson(Gamma(2.0, 1.0), cr.tensor(counts))
    assert (posterior.concentration.item(), posterior.rate.item()) == (22.0, 6.0)
    grid = np.linspace(1e-3, 12, 6001)
    numeric = _grid_posterior(grid, ss.gamma(2.0).logpdf(grid), ss.poisson(grid[:, None]).logpmf(counts).sum(1))
    closed = np.exp(Gamma(22.0, 6.0).log_prob(cr.tensor(grid, dtype=cr.float64)).array)
    np.testing.assert_allclose(closed, numeric, rtol=1e-4, atol=1e-6)


def test_dirichlet_categorical_counts_labels_and_is_differentiable():
    prior = cr.tensor([1.0, 2.0, 0.5], dtype=cr.float64, requires_grad=True)
    posterior = dirichlet_categorical(Dirichlet(prior), cr.tensor([0, 2, 2, 1, 2]))
    np.testing.assert_allclose(posterior.concentration.array, [2.0, 3.0, 3.5])
    posterior.mean[0].backward()
    assert prior.grad is not None
    np.testing.assert_allclose(prior.grad.array, [(8.5 - 2.0) / 8.5**2, -2.0 / 8.5**2, -2.0 / 8.5**2])


def test_conjugate_updates_reject_bad_data():
    with pytest.raises(ValueError, match="beta_bernoulli: Bernoulli observations must be 0 or 1, got 2"):
        beta_bernoulli(Beta(1.0, 1.0), [1, 2])
    with pytest.raises(ValueError, match="gamma_poisson: Poisson counts must be non-negative integers, got -1"):
        gamma_poisson(Gamma(1.0, 1.0), [1, -1])
    with pytest.raises(ValueError, match=r"dirichlet_categorical: labels must be integers in \[0, 1\], got 3"):
        dirichlet_categorical(Dirichlet(cr.ones(2)), [0, 3])
    with pytest.raises(ValueError, match="noise_scale σ must be > 0"):
        normal_normal(Normal(0.0, 1.0), [1.0], noise_scale=0.0)
    with pytest.raises(TypeError, match="the prior must be a Beta, got Normal"):
        beta_bernoulli(Normal(0.0, 1.0), [1, 0])
    with pytest.raises(ValueError, match="the data is empty"):
        gamma_poisson(Gamma(1.0, 1.0), [])


# ----- maximum likelihood -------------------------------------------------------------------------
def _draw(distribution, n, seed):
    return distribution.sample((n,), generator=cr.Generator().manual_seed(seed)).to(cr.float64)


def test_mle_matches_the_closed_forms():
    x = _draw(Normal(1.5, 2.0), 300, 0).array
    fit = fit_mle(Normal, x)
    assert fit.converged
    assert fit.params["loc"].item() == pytest.approx(x.mean(), rel=1e-9)
    assert fit.params["scale"].item() == pytest.approx(x.std(), rel=1e-9)
    # Observed information of the Normal: SE(μ̂) = σ̂/√n, SE(σ̂) = σ̂/√(2n).
    assert fit.standard_errors["loc"].item() == pytest.approx(x.std() / math.sqrt(300), rel=1e-6)
    assert fit.standard_errors["scale"].item() == pytest.approx(x.std() / math.sqrt(600), rel=1e-6)
    assert fit.log_likelihood == pytest.approx(ss.norm(x.mean(), x.std()).logpdf(x).sum(), rel=1e-10)

    waits = _draw(Exponential(0.7), 200, 1).array
    fit = fit_mle(Exponential, waits)
    assert fit.params["rate"].item() == pytest.approx(1 / waits.mean(), rel=1e-9)
    assert fit.standard_errors["rate"].item() == pytest.approx(1 / waits.mean() / math.sqrt(200), rel=1e-6)

    flips = _draw(Bernoulli(probs=0.3), 400, 2).array
    fit = fit_mle(Bernoulli, flips)
    p = flips.mean()
    assert fit.params["probs"].item() == pytest.approx(p, rel=1e-9)
    assert fit.standard_errors["probs"].item() == pytest.approx(math.sqrt(p * (1 - p) / 400), rel=1e-6)

    counts = _draw(Poisson(4.2), 250, 3).array
    fit = fit_mle(Poisson, counts)
    assert fit.params["rate"].item() == pytest.approx(counts.mean(), rel=1e-9)
    assert fit.standard_errors["rate"].item() == pytest.approx(math.sqrt(counts.mean() / 250), rel=1e-6)

    trials = _draw(Binomial(12, probs=0.35), 150, 4).array
    fit = fit_mle(Binomial, trials, fixed={"total_count": 12})
    assert fit.params["probs"].item() == pytest.approx(trials.mean() / 12, rel=1e-9)


@pytest.mark.parametrize("distribution_class, truth", [
    (Gamma, {"concentration": 2.5, "rate": 1.5}),
    (Beta, {"concentration1": 2.0, "concentration0": 5.0}),
    (LogNormal, {"loc": 0.3, "scale": 0.8}),
    (StudentT, {"df": 6.0, "loc": 1.0, "scale": 2.0}),
], ids=lambda v: getattr(v, "__name__", ""))
def test_mle_recovers_known_parameters_within_its_standard_errors(distribution_class, truth):
    x = _draw(distribution_class(**truth), 1500, 5)
    fit = fit_mle(distribution_class, x)
    assert fit.converged
    for name, value in truth.items():
        estimate, error = fit.params[name].item(), fit.standard_errors[name].item()
        assert 0 < error < 0.5 * value + 0.5
        assert abs(estimate - value) < 4 * error, (name, estimate, value, error)
    low, high = fit.confidence_interval(0.99)[next(iter(truth))]
    assert low.item() < fit.params[next(iter(truth))].item() < high.item()


def test_mle_standard_errors_match_the_expected_fisher_information_for_gamma():
    """For Gamma, I(α, β) per observation = [[ψ'(α), −1/β], [−1/β, α/β²]]: the SEs agree at the MLE."""
    x = _draw(Gamma(3.0, 2.0), 2000, 6)
    fit = fit_mle(Gamma, x)
    alpha, beta = fit.params["concentration"].item(), fit.params["rate"].item()
    from scipy.special import polygamma
    information = 2000 * np.array([[polygamma(1, alpha), -1 / beta], [-1 / beta, alpha / beta**2]])
    expected = np.sqrt(np.diag(np.linalg.inv(information)))
    np.testing.assert_allclose([fit.standard_errors["concentration"].item(), fit.standard_errors["rate"].item()],
                               expected, rtol=1e-6)
    a_scipy, _, scale_scipy = ss.gamma.fit(x.array, floc=0)
    assert alpha == pytest.approx(a_scipy, rel=1e-4) and beta == pytest.approx(1 / scale_scipy, rel=1e-4)


def test_mle_fits_a_dirichlet():
    truth = np.array([1.0, 2.5, 4.0])
    x = _draw(Dirichlet(cr.tensor(truth)), 1500, 7)
    fit = fit_mle(Dirichlet, x)
    estimate, error = fit.params["concentration"].array, fit.standard_errors["concentration"].array
    assert fit.converged and np.all(np.abs(estimate - truth) < 4 * error)


def test_mle_rejects_bad_input():
    with pytest.raises(ValueError, match="fit_mle: no parameterization for Uniform; supported distributions are Normal"):
        fit_mle(Uniform, [0.1, 0.5])
    with pytest.raises(ValueError, match="need at least 2 observations"):
        fit_mle(Normal, [1.0])
    with pytest.raises(ValueError, match="fit_mle: the data must be finite, got nan"):
        fit_mle(Normal, [1.0, float("nan")])
    with pytest.raises(ValueError, match="Poisson's rate would be estimated at the edge of its range"):
        fit_mle(Poisson, [0, 0, 0])
    with pytest.raises(ValueError, match=r"Exponential.log_prob: the value must be ≥ 0.0.*-1\.0"):
        fit_mle(Exponential, [1.0, -1.0, 2.0])
    with pytest.raises(ValueError, match="Binomial needs its number of trials"):
        fit_mle(Binomial, [1, 2])
