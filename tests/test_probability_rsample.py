"""Reparameterized sampling: gradients of rsample by gradcheck, by torch, and by Monte Carlo.

A draw is a deterministic function of the parameters once the generator's seed
is fixed, so gradcheck can difference it: each evaluation below reseeds.
"""
import numpy as np
import pytest
import scipy.special as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.func import gradcheck
from chainrule.probability import (
    Beta, Dirichlet, Exponential, Gamma, Laplace, LogNormal, MultivariateNormal, Normal, StudentT, Uniform,
)
from chainrule.probability.implicit import _lower_gamma_derivative_in_shape


def f64(values):
    return cr.tensor(np.asarray(values, dtype=np.float64), dtype=cr.float64, requires_grad=True)


RSAMPLE_CASES = {
    "Normal": (lambda a, b: Normal(a, b), [0.5, -1.0], [1.5, 0.7]),
    "LogNormal": (lambda a, b: LogNormal(a, b), [0.2, -0.3], [0.5, 0.9]),
    "Uniform": (lambda a, b: Uniform(a, a + b), [0.0, -2.0], [1.0, 3.0]),
    "Laplace": (lambda a, b: Laplace(a, b), [0.3, 1.0], [0.8, 2.0]),
    "Exponential": (lambda a: Exponential(a), [0.7, 2.5]),
    "Gamma": (lambda a, b: Gamma(a, b), [0.6, 3.0], [1.3, 0.5]),
    "Beta": (lambda a, b: Beta(a, b), [0.8, 2.5], [1.7, 4.0]),
    "StudentT": (lambda a, b: StudentT(a, b, 1.5), [3.0, 7.0], [0.0, 1.0]),
    "Dirichlet": (lambda a: Dirichlet(a), [[0.7, 2.0, 3.5]]),
}


@pytest.mark.parametrize("name", sorted(RSAMPLE_CASES))
def test_rsample_gradient_by_gradcheck(name):
    make, *parameters = RSAMPLE_CASES[name]
    leaves = tuple(f64(p) for p in parameters)

    def draw(*tensors):
        return make(*tensors).rsample((3,), generator=cr.Generator().manual_seed(5))

    assert make(*leaves).has_rsample
    assert gradcheck(draw, leaves, eps=1e-6, atol=1e-6, rtol=1e-4)


def test_mvn_rsample_gradient_by_gradcheck():
    loc = f64([0.5, -1.0])
    tril = f64([[1.2, 0.0], [0.4, 0.8]])

    def draw(mu, scale_tril):
        return MultivariateNormal(mu, scale_tril=scale_tril, validate_args=False).rsample(
            (4,), generator=cr.Generator().manual_seed(2))

    assert gradcheck(draw, (loc, tril))


@settings(max_examples=15, deadline=None)
@given(alpha=st.floats(0.05, 200.0), u=st.floats(1e-6, 1 - 1e-6))
def test_implicit_gamma_derivative_matches_torch_and_finite_differences(alpha, u):
    """dx/dα = −∂_αP(α, x)/p(x; α): against torch's implicit gradient and a difference of scipy's gammainc."""
    x = sp.gammaincinv(alpha, u)
    if x <= 1e-300:
        return
    dP = _lower_gamma_derivative_in_shape(np, np.array([alpha]), np.array([x]))[0]
    h = 1e-5 * alpha
    dP_numeric = (sp.gammainc(alpha + h, x) - sp.gammainc(alpha - h, x)) / (2 * h)
    assert dP == pytest.approx(dP_numeric, rel=1e-6, abs=1e-12)
    log_density = (alpha - 1) * np.log(x) - x - sp.gammaln(alpha)
    ours = -dP / np.exp(log_density)
    theirs = torch._standard_gamma_grad(torch.tensor([alpha], dtype=torch.float64),
                                        torch.tensor([x], dtype=torch.float64)).item()
    # torch's gradient is itself an approximation, good to about 1e-3 relative.
    assert ours == pytest.approx(theirs, rel=5e-3, abs=1e-10)


def test_gamma_rsample_gradient_through_the_chainrule_primitive_matches_torch():
    alpha = f64([0.4, 1.0, 5.0, 40.0])
    x = Gamma(alpha, 1.0).rsample((50,), generator=cr.Generator().manual_seed(0))
    x.sum().backward()
    torch_grad = torch._standard_gamma_grad(torch.tensor(np.broadcast_to(alpha.array, x.shape).copy()),
                                            torch.tensor(x.array)).sum(0).numpy()
    np.testing.assert_allclose(alpha.grad.array, torch_grad, rtol=2e-3)


@pytest.mark.parametrize("make, mean_gradient", [
    (lambda a, b: Gamma(a, b), lambda a, b: (1 / b, -a / b**2)),                       # E = α/β
    (lambda a, b: Beta(a, b), lambda a, b: (b / (a + b) ** 2, -a / (a + b) ** 2)),     # E = a/(a + b)
], ids=["Gamma", "Beta"])
def test_mean_of_rsample_gradients_is_the_gradient_of_the_mean(make, mean_gradient):
    """E[∂x/∂θ] = ∂E[x]/∂θ: a Monte Carlo check of the reparameterized gradient (20000 draws)."""
    a, b = f64(1.7), f64(2.3)
    draws = make(a, b).rsample((20000,), generator=cr.Generator().manual_seed(9))
    draws.mean().backward()
    for leaf, exact in zip((a, b), mean_gradient(1.7, 2.3)):
        assert leaf.grad.item() == pytest.approx(exact, rel=0.05, abs=0.01)


def test_normal_rsample_gradient_matches_torch_with_the_same_noise():
    loc, scale = f64([0.3, -0.2]), f64([1.1, 0.4])
    x = Normal(loc, scale).rsample((6,), generator=cr.Generator().manual_seed(4))
    x.sum().backward()
    noise = (x.array - loc.array) / scale.array
    torch_loc = torch.tensor(loc.array, requires_grad=True)
    torch_scale = torch.tensor(scale.array, requires_grad=True)
    (torch_loc + torch_scale * torch.tensor(noise)).sum().backward()
    np.testing.assert_allclose(loc.grad.array, torch_loc.grad.numpy())
    np.testing.assert_allclose(scale.grad.array, torch_scale.grad.numpy(), rtol=1e-12)


def test_second_derivative_of_gamma_rsample_raises_clearly():
    alpha = f64(2.0)
    x = Gamma(alpha, 1.0).rsample((2,), generator=cr.Generator().manual_seed(0))
    (first,) = cr.autograd.grad([x.sum()], [alpha], create_graph=True)
    with pytest.raises(RuntimeError, match="regularized_gamma_derivative_a: no derivative"):
        cr.autograd.grad([first], [alpha])


def test_rsample_is_deterministic_and_sample_has_no_graph():
    alpha = f64([1.5, 2.5])
    first = Dirichlet(alpha).rsample((3,), generator=cr.Generator().manual_seed(1))
    second = Dirichlet(alpha).rsample((3,), generator=cr.Generator().manual_seed(1))
    assert first.requires_grad and np.array_equal(first.array, second.array)
    np.testing.assert_allclose(first.array.sum(-1), 1.0, rtol=1e-12)
    assert not Dirichlet(alpha).sample((3,), generator=cr.Generator().manual_seed(1)).requires_grad
