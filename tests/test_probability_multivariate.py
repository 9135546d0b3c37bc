"""MultivariateNormal and Dirichlet against SciPy and torch.distributions, with gradient checks."""
import numpy as np
import pytest
import scipy.stats as ss
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.func import gradcheck
from chainrule.probability import Dirichlet, MultivariateNormal

TD = torch.distributions


def _covariance(entries, k):
    a = np.asarray(entries).reshape(k, k)
    return a @ a.T + 0.5 * np.eye(k)


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_mvn_matches_scipy_and_torch(data):
    k = data.draw(st.integers(1, 4))
    floats = lambda n, low, high: np.array(data.draw(st.lists(st.floats(low, high), min_size=n, max_size=n)))  # noqa: E731
    loc, covariance = floats(k, -2, 2), _covariance(floats(k * k, -1, 1), k)
    ours = MultivariateNormal(cr.tensor(loc, dtype=cr.float64), covariance_matrix=cr.tensor(covariance, dtype=cr.float64))
    reference = ss.multivariate_normal(loc, covariance)
    theirs = TD.MultivariateNormal(torch.tensor(loc), covariance_matrix=torch.tensor(covariance))
    x = ours.sample((5,), generator=cr.Generator().manual_seed(data.draw(st.integers(0, 1000))))
    assert x.shape == (5, k) and ours.batch_shape == () and ours.event_shape == (k,)
    np.testing.assert_allclose(ours.log_prob(x).array, reference.logpdf(x.array).reshape(5), rtol=1e-9)
    np.testing.assert_allclose(ours.log_prob(x).array, theirs.log_prob(torch.tensor(x.array)).numpy(), rtol=1e-9)
    np.testing.assert_allclose(ours.entropy().item(), reference.entropy(), rtol=1e-9)
    np.testing.assert_allclose(ours.variance.array, np.diag(covariance), rtol=1e-9)
    np.testing.assert_allclose(ours.covariance_matrix.array, covariance, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.scale_tril.array, np.linalg.cholesky(covariance), rtol=1e-9, atol=1e-12)


def test_mvn_batches_and_sample_moments():
    covariance = np.array([[2.0, 0.6], [0.6, 1.0]])
    d = MultivariateNormal(cr.tensor([[0.0, 1.0], [2.0, -1.0]], dtype=cr.float64),
                           covariance_matrix=cr.tensor(covariance, dtype=cr.float64))
    assert d.batch_shape == (2,) and d.event_shape == (2,)
    x = d.sample((40000,), generator=cr.Generator().manual_seed(0)).array
    assert x.shape == (40000, 2, 2)
    np.testing.assert_allclose(x.mean(0), d.mean.array, atol=0.05)
    np.testing.assert_allclose(np.cov(x[:, 1].T), covariance, atol=0.06)
    assert d.log_prob(cr.tensor(x[:3], dtype=cr.float64)).shape == (3, 2)
    assert d.entropy().shape == (2,)


def test_mvn_gradients_by_gradcheck_and_torch():
    loc = cr.tensor([0.3, -0.5, 1.0], dtype=cr.float64, requires_grad=True)
    a = np.array([[1.0, 0.2, 0.0], [0.3, 1.5, 0.1], [-0.4, 0.2, 0.8]])
    covariance = cr.tensor(a @ a.T + 0.3 * np.eye(3), dtype=cr.float64, requires_grad=True)
    x = cr.tensor([[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]], dtype=cr.float64, requires_grad=True)

    def log_density(mu, sigma, value):
        symmetric = (sigma + sigma.mT) / 2  # gradcheck perturbs entries one at a time
        return MultivariateNormal(mu, covariance_matrix=symmetric, validate_args=False).log_prob(value)

    assert gradcheck(log_density, (loc, covariance, x))
    assert gradcheck(lambda sigma: MultivariateNormal(loc.detach(), covariance_matrix=(sigma + sigma.mT) / 2,
                                                      validate_args=False).entropy(), (covariance,))
    log_density(loc, covariance, x).sum().backward()
    torch_loc = torch.tensor(loc.array, requires_grad=True)
    torch_covariance = torch.tensor(covariance.array, requires_grad=True)
    torch_x = torch.tensor(x.array, requires_grad=True)
    TD.MultivariateNormal(torch_loc, covariance_matrix=(torch_covariance + torch_covariance.mT) / 2).log_prob(torch_x).sum().backward()
    np.testing.assert_allclose(loc.grad.array, torch_loc.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(covariance.grad.array, torch_covariance.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(x.grad.array, torch_x.grad.numpy(), rtol=1e-9)


def test_mvn_invalid_input_raises_clearly():
    with pytest.raises(ValueError, match="MultivariateNormal: parameter covariance_matrix must be a symmetric positive-definite"):
        MultivariateNormal(cr.zeros(2), covariance_matrix=cr.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="MultivariateNormal: parameter scale_tril must be a lower-triangular"):
        MultivariateNormal(cr.zeros(2), scale_tril=cr.tensor([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="pass exactly one of covariance_matrix= and scale_tril="):
        MultivariateNormal(cr.zeros(2))
    with pytest.raises(ValueError, match=r"loc \(3,\) and matrix \(2, 2\)"):
        MultivariateNormal(cr.zeros(3), covariance_matrix=cr.eye(2))
    with pytest.raises(ValueError, match=r"MultivariateNormal.log_prob: each value must have event shape \(2,\)"):
        MultivariateNormal(cr.zeros(2), covariance_matrix=cr.eye(2)).log_prob(cr.zeros(3))


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_dirichlet_matches_scipy_and_torch(data):
    k = data.draw(st.integers(2, 5))
    alpha = np.array(data.draw(st.lists(st.floats(0.3, 8.0), min_size=k, max_size=k)))
    ours = Dirichlet(cr.tensor(alpha, dtype=cr.float64))
    reference = ss.dirichlet(alpha)
    theirs = TD.Dirichlet(torch.tensor(alpha))
    x = ours.sample((4,), generator=cr.Generator().manual_seed(data.draw(st.integers(0, 1000))))
    x = cr.tensor(np.clip(x.array, 1e-12, None) / np.clip(x.array, 1e-12, None).sum(-1, keepdims=True), dtype=cr.float64)
    np.testing.assert_allclose(ours.log_prob(x).array, [reference.logpdf(row) for row in x.array], rtol=1e-8)
    np.testing.assert_allclose(ours.log_prob(x).array, theirs.log_prob(torch.tensor(x.array)).numpy(), rtol=1e-8)
    np.testing.assert_allclose(ours.entropy().item(), reference.entropy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.mean.array, reference.mean(), rtol=1e-12)
    np.testing.assert_allclose(ours.variance.array, reference.var(), rtol=1e-10)


def test_dirichlet_gradients_by_gradcheck_and_torch():
    alpha = cr.tensor([[0.8, 2.0, 3.5], [1.5, 1.0, 0.6]], dtype=cr.float64, requires_grad=True)
    x = cr.tensor([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]], dtype=cr.float64)
    assert gradcheck(lambda a: Dirichlet(a).log_prob(x), (alpha,))
    assert gradcheck(lambda a: Dirichlet(a).entropy(), (alpha,))
    (Dirichlet(alpha).log_prob(x).sum() + Dirichlet(alpha).entropy().sum()).backward()
    torch_alpha = torch.tensor(alpha.array, requires_grad=True)
    (TD.Dirichlet(torch_alpha).log_prob(torch.tensor(x.array)).sum() + TD.Dirichlet(torch_alpha).entropy().sum()).backward()
    np.testing.assert_allclose(alpha.grad.array, torch_alpha.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_dirichlet_invalid_input_raises_clearly():
    with pytest.raises(ValueError, match="Dirichlet: parameter concentration must be > 0"):
        Dirichlet(cr.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"K ≥ 2 categories, got shape \(1,\)"):
        Dirichlet(cr.tensor([1.0]))
    with pytest.raises(ValueError, match="Dirichlet.log_prob: the value must be a probability vector"):
        Dirichlet(cr.tensor([1.0, 2.0])).log_prob(cr.tensor([0.5, 0.7]))
