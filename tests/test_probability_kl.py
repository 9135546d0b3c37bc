"""kl_divergence for every registered pair: against torch.distributions, by gradcheck, and by Monte Carlo."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.func import gradcheck
from chainrule.probability import (
    Bernoulli, Beta, Binomial, Categorical, Dirichlet, Exponential, Gamma, Laplace, LogNormal, MultivariateNormal,
    NoClosedFormError, Normal, OneHotCategorical, Poisson, StudentT, Uniform, kl_divergence,
)

TD = torch.distributions


def _t(values):
    return torch.tensor(np.asarray(values, dtype=np.float64))


def _tril(entries):
    """A lower-triangular 2×2 factor with a positive diagonal from three numbers."""
    a, b, c = entries
    return np.array([[abs(a) + 0.3, 0.0], [b, abs(c) + 0.3]])


# name: (chainrule factory, torch factory, number of parameters per side, low, high)
PAIRS = {
    "Normal": (lambda p: Normal(p[0], p[1]), lambda p: TD.Normal(p[0], p[1]), 2, 0.2, 3.0),
    "LogNormal": (lambda p: LogNormal(p[0], p[1]), lambda p: TD.LogNormal(p[0], p[1]), 2, 0.2, 3.0),
    "Laplace": (lambda p: Laplace(p[0], p[1]), lambda p: TD.Laplace(p[0], p[1]), 2, 0.2, 3.0),
    "Exponential": (lambda p: Exponential(p[0]), lambda p: TD.Exponential(p[0]), 1, 0.2, 5.0),
    "Gamma": (lambda p: Gamma(p[0], p[1]), lambda p: TD.Gamma(p[0], p[1]), 2, 0.3, 6.0),
    "Beta": (lambda p: Beta(p[0], p[1]), lambda p: TD.Beta(p[0], p[1]), 2, 0.3, 6.0),
    "Poisson": (lambda p: Poisson(p[0]), lambda p: TD.Poisson(p[0]), 1, 0.2, 10.0),
    "Bernoulli": (lambda p: Bernoulli(probs=p[0]), lambda p: TD.Bernoulli(probs=p[0]), 1, 0.02, 0.98),
    "Binomial": (lambda p: Binomial(6, probs=p[0]), lambda p: TD.Binomial(6, probs=p[0]), 1, 0.02, 0.98),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_kl_matches_torch(name, data):
    make, make_torch, count, low, high = PAIRS[name]
    draw = lambda: [np.array(data.draw(st.lists(st.floats(low, high), min_size=3, max_size=3))) for _ in range(count)]  # noqa: E731
    p, q = draw(), draw()
    ours = kl_divergence(make([cr.tensor(v, dtype=cr.float64) for v in p]),
                         make([cr.tensor(v, dtype=cr.float64) for v in q]))
    theirs = TD.kl_divergence(make_torch([_t(v) for v in p]), make_torch([_t(v) for v in q]))
    np.testing.assert_allclose(ours.array, theirs.numpy(), rtol=1e-8, atol=1e-10)
    assert np.all(ours.array >= -1e-12)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_kl_gradients_by_gradcheck_and_torch(name):
    make, make_torch, count, low, high = PAIRS[name]
    rng = np.random.default_rng(1)
    values = [rng.uniform(low + 0.1 * (high - low), high - 0.1 * (high - low), size=2) for _ in range(2 * count)]
    leaves = tuple(cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in values)
    assert gradcheck(lambda *t: kl_divergence(make(t[:count]), make(t[count:])), leaves)
    kl_divergence(make(leaves[:count]), make(leaves[count:])).sum().backward()
    torch_leaves = [_t(v).requires_grad_(True) for v in values]
    TD.kl_divergence(make_torch(torch_leaves[:count]), make_torch(torch_leaves[count:])).sum().backward()
    for ours, theirs in zip(leaves, torch_leaves):
        np.testing.assert_allclose(ours.grad.array, theirs.grad.numpy(), rtol=1e-7, atol=1e-10)


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_categorical_dirichlet_uniform_and_mvn_kl_match_torch(data):
    floats = lambda n, low, high: np.array(data.draw(st.lists(st.floats(low, high), min_size=n, max_size=n)))  # noqa: E731
    lp, lq = floats(8, -3, 3).reshape(2, 4), floats(8, -3, 3).reshape(2, 4)
    ours = kl_divergence(Categorical(logits=cr.tensor(lp, dtype=cr.float64)), Categorical(logits=cr.tensor(lq, dtype=cr.float64)))
    np.testing.assert_allclose(ours.array, TD.kl_divergence(TD.Categorical(logits=_t(lp)), TD.Categorical(logits=_t(lq))).numpy(), rtol=1e-9, atol=1e-12)
    ours = kl_divergence(OneHotCategorical(logits=cr.tensor(lp, dtype=cr.float64)),
                         OneHotCategorical(logits=cr.tensor(lq, dtype=cr.float64)))
    np.testing.assert_allclose(ours.array, TD.kl_divergence(TD.OneHotCategorical(logits=_t(lp)), TD.OneHotCategorical(logits=_t(lq))).numpy(), rtol=1e-9, atol=1e-12)
    ap, aq = floats(6, 0.3, 5).reshape(2, 3), floats(6, 0.3, 5).reshape(2, 3)
    ours = kl_divergence(Dirichlet(cr.tensor(ap, dtype=cr.float64)), Dirichlet(cr.tensor(aq, dtype=cr.float64)))
    np.testing.assert_allclose(ours.array, TD.kl_divergence(TD.Dirichlet(_t(ap)), TD.Dirichlet(_t(aq))).numpy(), rtol=1e-8, atol=1e-10)
    low, width, shrink = floats(2, -2, 2), floats(2, 0.5, 3), floats(2, 0.0, 1.0)
    inner_low = low + shrink * width / 3
    inner_width = width * (1 - shrink / 2) - shrink * width / 3
    ours = kl_divergence(Uniform(cr.tensor(inner_low, dtype=cr.float64), cr.tensor(inner_low + inner_width, dtype=cr.float64)),
                         Uniform(cr.tensor(low, dtype=cr.float64), cr.tensor(low + width, dtype=cr.float64)))
    theirs = TD.kl_divergence(TD.Uniform(_t(inner_low), _t(inner_low + inner_width)), TD.Uniform(_t(low), _t(low + width)))
    np.testing.assert_allclose(ours.array, theirs.numpy(), rtol=1e-9, atol=1e-12)
    mp, mq = floats(2, -2, 2), floats(2, -2, 2)
    tp, tq = _tril(floats(3, -1.5, 1.5)), _tril(floats(3, -1.5, 1.5))
    ours = kl_divergence(MultivariateNormal(cr.tensor(mp, dtype=cr.float64), scale_tril=cr.tensor(tp, dtype=cr.float64)),
                         MultivariateNormal(cr.tensor(mq, dtype=cr.float64), scale_tril=cr.tensor(tq, dtype=cr.float64)))
    theirs = TD.kl_divergence(TD.MultivariateNormal(_t(mp), scale_tril=_t(tp)), TD.MultivariateNormal(_t(mq), scale_tril=_t(tq)))
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-8, atol=1e-10)


def test_more_kl_gradients_by_gradcheck():
    f64 = lambda v: cr.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)  # noqa: E731
    lp, lq = f64([[0.2, -1.0, 0.5]]), f64([[1.0, 0.3, -0.4]])
    assert gradcheck(lambda a, b: kl_divergence(Categorical(logits=a), Categorical(logits=b)), (lp, lq))
    ap, aq = f64([0.7, 2.0, 1.3]), f64([1.5, 0.6, 2.2])
    assert gradcheck(lambda a, b: kl_divergence(Dirichlet(a), Dirichlet(b)), (ap, aq))
    mp, mq = f64([0.1, -0.3]), f64([0.5, 0.2])
    tp, tq = f64([[1.1, 0.0], [0.3, 0.7]]), f64([[0.9, 0.0], [-0.2, 1.3]])
    assert gradcheck(lambda a, b, c, d: kl_divergence(MultivariateNormal(a, scale_tril=b, validate_args=False),
                                                     MultivariateNormal(c, scale_tril=d, validate_args=False)),
                     (mp, tp, mq, tq))
    rate, concentration, rate_q = f64([1.5]), f64([2.0]), f64([0.7])
    assert gradcheck(lambda r, a, b: kl_divergence(Exponential(r), Gamma(a, b)), (rate, concentration, rate_q))
    np.testing.assert_allclose(
        kl_divergence(Exponential(rate.detach()), Gamma(concentration.detach(), rate_q.detach())).array,
        TD.kl_divergence(TD.Exponential(_t([1.5])), TD.Gamma(_t([2.0]), _t([0.7]))).numpy(), rtol=1e-10)


@pytest.mark.parametrize("p, q", [
    (Normal(0.5, 1.2), Normal(-0.3, 0.8)),
    (Gamma(2.0, 1.5), Gamma(3.0, 1.0)),
    (Beta(2.0, 3.0), Beta(1.5, 1.5)),
    (Laplace(0.0, 1.0), Laplace(1.0, 2.0)),
], ids=["Normal", "Gamma", "Beta", "Laplace"])
def test_kl_equals_the_monte_carlo_average_of_the_log_ratio(p, q):
    """KL(p‖q) = E_p[ln p(X) − ln q(X)], estimated from 40000 draws within 5 standard errors."""
    x = p.sample((40000,), generator=cr.Generator().manual_seed(0)).to(cr.float64)
    log_ratio = (p.log_prob(x) - q.log_prob(x)).array.astype(np.float64)
    standard_error = log_ratio.std() / np.sqrt(log_ratio.size)
    assert abs(log_ratio.mean() - kl_divergence(p, q).item()) < 5 * standard_error


def test_edge_cases_are_exact():
    assert kl_divergence(Normal(1.0, 2.0), Normal(1.0, 2.0)).item() == 0.0
    assert kl_divergence(Uniform(0.0, 2.0), Uniform(0.5, 1.0)).item() == np.inf
    p0 = Bernoulli(probs=cr.tensor([0.0, 0.3], dtype=cr.float64))
    q = Bernoulli(probs=cr.tensor([0.4, 0.0], dtype=cr.float64))
    np.testing.assert_allclose(kl_divergence(p0, q).array, [-np.log(0.6), np.inf])
    cp = Categorical(probs=cr.tensor([0.5, 0.5, 0.0], dtype=cr.float64))
    cq = Categorical(probs=cr.tensor([0.25, 0.75, 0.0], dtype=cr.float64))
    assert kl_divergence(cp, cq).item() == pytest.approx(0.5 * np.log(2) + 0.5 * np.log(2 / 3))
    assert kl_divergence(cq, Categorical(probs=cr.tensor([1.0, 0.0, 0.0], dtype=cr.float64))).item() == np.inf


def test_pairs_without_a_closed_form_raise_clearly():
    with pytest.raises(NoClosedFormError, match=r"KL\(Normal ‖ StudentT\).*Monte Carlo.*Normal‖Normal"):
        kl_divergence(Normal(0.0, 1.0), StudentT(3.0))
    with pytest.raises(NoClosedFormError, match="equal total_count"):
        kl_divergence(Binomial(3, probs=0.5), Binomial(4, probs=0.5))
    with pytest.raises(ValueError, match="class counts differ: 2 and 3"):
        kl_divergence(Categorical(probs=cr.tensor([0.5, 0.5])), Categorical(probs=cr.tensor([0.2, 0.3, 0.5])))
