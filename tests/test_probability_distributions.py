"""Every scalar distribution against SciPy and torch.distributions, with float64 gradient checks.

One registry lists each distribution once: how to build it in chainrule, SciPy and
torch from the same parameters, and the range its parameters are drawn from. The
tests sweep the registry with parameters drawn by hypothesis.
"""
import math

import numpy as np
import pytest
import scipy.stats as ss
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.func import gradcheck, gradgradcheck
from chainrule.probability import (
    Bernoulli, Beta, Binomial, Categorical, Exponential, Gamma, Laplace, LogNormal, NoClosedFormError, Normal,
    OneHotCategorical, Poisson, StudentT, Uniform,
)

TD = torch.distributions


def _t(value):
    return torch.tensor(np.asarray(value, dtype=np.float64))


# name: (chainrule factory, scipy factory, torch factory, {parameter: (low, high)}, has closed-form cdf)
CONTINUOUS = {
    "Normal": (lambda p: Normal(p["loc"], p["scale"]),
               lambda p: ss.norm(p["loc"], p["scale"]),
               lambda p: TD.Normal(_t(p["loc"]), _t(p["scale"])),
               {"loc": (-3, 3), "scale": (0.2, 3)}, True),
    "LogNormal": (lambda p: LogNormal(p["loc"], p["scale"]),
                  lambda p: ss.lognorm(s=p["scale"], scale=np.exp(p["loc"])),
                  lambda p: TD.LogNormal(_t(p["loc"]), _t(p["scale"])),
                  {"loc": (-1, 1), "scale": (0.2, 1.5)}, True),
    "Uniform": (lambda p: Uniform(p["low"], p["low"] + p["width"]),
                lambda p: ss.uniform(p["low"], p["width"]),
                lambda p: TD.Uniform(_t(p["low"]), _t(p["low"] + p["width"])),
                {"low": (-3, 3), "width": (0.5, 4)}, True),
    "Exponential": (lambda p: Exponential(p["rate"]),
                    lambda p: ss.expon(scale=1 / p["rate"]),
                    lambda p: TD.Exponential(_t(p["rate"])),
                    {"rate": (0.2, 5)}, True),
    "Laplace": (lambda p: Laplace(p["loc"], p["scale"]),
                lambda p: ss.laplace(p["loc"], p["scale"]),
                lambda p: TD.Laplace(_t(p["loc"]), _t(p["scale"])),
                {"loc": (-3, 3), "scale": (0.2, 3)}, True),
    "StudentT": (lambda p: StudentT(p["df"], p["loc"], p["scale"]),
                 lambda p: ss.t(p["df"], p["loc"], p["scale"]),
                 lambda p: TD.StudentT(_t(p["df"]), _t(p["loc"]), _t(p["scale"])),
                 {"df": (2.5, 12), "loc": (-2, 2), "scale": (0.3, 3)}, False),
    "Gamma": (lambda p: Gamma(p["concentration"], p["rate"]),
              lambda p: ss.gamma(p["concentration"], scale=1 / p["rate"]),
              lambda p: TD.Gamma(_t(p["concentration"]), _t(p["rate"])),
              {"concentration": (0.3, 8), "rate": (0.3, 4)}, False),
    "Beta": (lambda p: Beta(p["a"], p["b"]),
             lambda p: ss.beta(p["a"], p["b"]),
             lambda p: TD.Beta(_t(p["a"]), _t(p["b"])),
             {"a": (0.5, 6), "b": (0.5, 6)}, False),
}


def _parameters(data, ranges, size=3):
    """float64 arrays of ``size`` parameter values each, drawn by hypothesis inside ``ranges``."""
    return {name: np.array(data.draw(st.lists(st.floats(low, high), min_size=size, max_size=size)))
            for name, (low, high) in ranges.items()}


def _float64(parameters, requires_grad=False):
    return {name: cr.tensor(value, dtype=cr.float64, requires_grad=requires_grad)
            for name, value in parameters.items()}


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_continuous_matches_scipy_and_torch(name, data):
    make, make_scipy, make_torch, ranges, has_cdf = CONTINUOUS[name]
    parameters = _parameters(data, ranges)
    ours, reference, theirs = make(_float64(parameters)), make_scipy(parameters), make_torch(parameters)
    seed = data.draw(st.integers(0, 2**31 - 1))
    values = ours.sample((4,), generator=cr.Generator().manual_seed(seed))
    assert values.shape == (4, 3) and values.dtype == np.float64
    x = values.array
    np.testing.assert_allclose(ours.log_prob(values).array, reference.logpdf(x), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours.log_prob(values).array, theirs.log_prob(_t(x)).numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours.entropy().array, reference.entropy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.entropy().array, theirs.entropy().numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.mean.array, reference.mean(), rtol=1e-10)
    np.testing.assert_allclose(ours.variance.array, reference.var(), rtol=1e-9)
    np.testing.assert_allclose(ours.stddev.array, reference.std(), rtol=1e-9)
    if has_cdf:
        q = np.array(data.draw(st.lists(st.floats(0.01, 0.99), min_size=3, max_size=3)))
        np.testing.assert_allclose(ours.cdf(values).array, reference.cdf(x), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ours.cdf(values).array, theirs.cdf(_t(x)).numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ours.icdf(cr.tensor(q, dtype=cr.float64)).array, reference.ppf(q), rtol=1e-8)
        np.testing.assert_allclose(ours.icdf(cr.tensor(q, dtype=cr.float64)).array,
                                   theirs.icdf(_t(q)).numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_continuous_gradients_by_gradcheck(name):
    """log_prob (parameters and value), entropy, cdf and icdf: analytic vs central differences."""
    make, _, _, ranges, has_cdf = CONTINUOUS[name]
    rng = np.random.default_rng(0)
    parameters = {k: rng.uniform(low + 0.1 * (high - low), high - 0.1 * (high - low), size=2)
                  for k, (low, high) in ranges.items()}
    names = list(parameters)
    leaves = [cr.tensor(parameters[k], dtype=cr.float64, requires_grad=True) for k in names]
    values = make(_float64(parameters)).sample((3,), generator=cr.Generator().manual_seed(1))
    value_leaf = cr.tensor(values.array, dtype=cr.float64, requires_grad=True)

    def build(tensors):
        return make(dict(zip(names, tensors)))

    assert gradcheck(lambda *t: build(t).log_prob(values), tuple(leaves))
    if name != "Uniform":  # a uniform density is flat in x, and its support moves with the value
        assert gradcheck(lambda v: make(_float64(parameters)).log_prob(v), (value_leaf,))
    assert gradcheck(lambda *t: build(t).entropy(), tuple(leaves))
    if has_cdf:
        q = cr.tensor([0.2, 0.7], dtype=cr.float64, requires_grad=True)
        assert gradcheck(lambda *t: build(t[:-1]).cdf(values), tuple(leaves) + (value_leaf,))
        assert gradcheck(lambda *t: build(t[:-1]).icdf(t[-1]), tuple(leaves) + (q,))


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_log_prob_and_entropy_gradients_match_torch(name):
    make, _, _, ranges, _ = CONTINUOUS[name]
    torch_makers = {
        "Normal": lambda p: TD.Normal(p["loc"], p["scale"]),
        "LogNormal": lambda p: TD.LogNormal(p["loc"], p["scale"]),
        "Uniform": lambda p: TD.Uniform(p["low"], p["low"] + p["width"]),
        "Exponential": lambda p: TD.Exponential(p["rate"]),
        "Laplace": lambda p: TD.Laplace(p["loc"], p["scale"]),
        "StudentT": lambda p: TD.StudentT(p["df"], p["loc"], p["scale"]),
        "Gamma": lambda p: TD.Gamma(p["concentration"], p["rate"]),
        "Beta": lambda p: TD.Beta(p["a"], p["b"]),
    }
    rng = np.random.default_rng(2)
    parameters = {k: rng.uniform(low + 0.1 * (high - low), high - 0.1 * (high - low), size=3)
                  for k, (low, high) in ranges.items()}
    ours_leaves = _float64(parameters, requires_grad=True)
    ours = make(ours_leaves)
    values = ours.sample((2,), generator=cr.Generator().manual_seed(3))
    q = [0.15, 0.5, 0.8]
    total = ours.log_prob(values).sum() + ours.entropy().sum()
    if CONTINUOUS[name][4]:  # closed-form cdf and icdf: their parameter gradients too
        total = total + ours.cdf(values).sum() + ours.icdf(cr.tensor(q, dtype=cr.float64)).sum()
    total.backward()
    torch_leaves = {k: _t(v).requires_grad_(True) for k, v in parameters.items()}
    theirs = torch_makers[name](torch_leaves)
    total = theirs.log_prob(_t(values.array)).sum() + theirs.entropy().sum()
    if CONTINUOUS[name][4]:
        total = total + theirs.cdf(_t(values.array)).sum() + theirs.icdf(_t(q)).sum()
    total.backward()
    for k in parameters:
        np.testing.assert_allclose(ours_leaves[k].grad.array, torch_leaves[k].grad.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", ["Normal", "StudentT", "Gamma", "Beta"])
def test_log_prob_second_derivatives_by_gradgradcheck(name):
    """The Hessians that fit_mle's Newton steps and standard errors rely on."""
    make, _, _, ranges, _ = CONTINUOUS[name]
    names = list(ranges)
    middles = {k: np.array([(low + high) / 2, low + 0.3 * (high - low)]) for k, (low, high) in ranges.items()}
    leaves = tuple(cr.tensor(middles[k], dtype=cr.float64, requires_grad=True) for k in names)
    values = make(_float64(middles)).sample((2,), generator=cr.Generator().manual_seed(6))
    assert gradgradcheck(lambda *t: make(dict(zip(names, t))).log_prob(values), leaves)


# ----- discrete ----------------------------------------------------------------------------------
DISCRETE = {
    "Bernoulli": (lambda p: Bernoulli(probs=p["p"]), lambda p: ss.bernoulli(p["p"]),
                  lambda p: TD.Bernoulli(probs=_t(p["p"])), {"p": (0.05, 0.95)}),
    "Binomial": (lambda p: Binomial(7, probs=p["p"]), lambda p: ss.binom(7, p["p"]),
                 lambda p: TD.Binomial(7, probs=_t(p["p"])), {"p": (0.05, 0.95)}),
    "Poisson": (lambda p: Poisson(p["rate"]), lambda p: ss.poisson(p["rate"]),
                lambda p: TD.Poisson(_t(p["rate"])), {"rate": (0.2, 20)}),
}


@pytest.mark.parametrize("name", sorted(DISCRETE))
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_discrete_matches_scipy_and_torch(name, data):
    make, make_scipy, make_torch, ranges = DISCRETE[name]
    parameters = _parameters(data, ranges)
    ours, reference, theirs = make(_float64(parameters)), make_scipy(parameters), make_torch(parameters)
    values = ours.sample((5,), generator=cr.Generator().manual_seed(data.draw(st.integers(0, 10**6))))
    x = values.array
    np.testing.assert_allclose(ours.log_prob(values).array, reference.logpmf(x), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours.log_prob(values).array, theirs.log_prob(_t(x)).numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours.entropy().array, reference.entropy(), rtol=1e-8, atol=1e-12)
    if name != "Poisson":  # torch has no Poisson entropy
        np.testing.assert_allclose(ours.entropy().array, theirs.entropy().numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ours.mean.array, reference.mean(), rtol=1e-10)
    np.testing.assert_allclose(ours.variance.array, reference.var(), rtol=1e-10)


@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_discrete_gradients(name):
    make, _, _, ranges = DISCRETE[name]
    key = next(iter(ranges))
    parameter = np.array([0.3, 0.6]) if key == "p" else np.array([1.5, 4.0])
    leaf = cr.tensor(parameter, dtype=cr.float64, requires_grad=True)
    values = make({key: cr.tensor(parameter, dtype=cr.float64)}).sample((3,), generator=cr.Generator().manual_seed(4))
    assert gradcheck(lambda t: make({key: t}).log_prob(values), (leaf,))
    assert gradcheck(lambda t: make({key: t}).entropy(), (leaf,))
    ours = make({key: leaf})
    ours.log_prob(values).sum().backward()
    torch_leaf = _t(parameter).requires_grad_(True)
    theirs = {"Bernoulli": lambda t: TD.Bernoulli(probs=t), "Binomial": lambda t: TD.Binomial(7, probs=t),
              "Poisson": lambda t: TD.Poisson(t)}[name](torch_leaf)
    theirs.log_prob(_t(values.array)).sum().backward()
    np.testing.assert_allclose(leaf.grad.array, torch_leaf.grad.numpy(), rtol=1e-8)


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_categorical_and_one_hot_match_torch(data):
    k = data.draw(st.integers(2, 6))
    logits = np.array(data.draw(st.lists(st.floats(-4, 4), min_size=2 * k, max_size=2 * k))).reshape(2, k)
    ours = Categorical(logits=cr.tensor(logits, dtype=cr.float64))
    theirs = TD.Categorical(logits=_t(logits))
    labels = ours.sample((5,), generator=cr.Generator().manual_seed(data.draw(st.integers(0, 10**6))))
    assert labels.shape == (5, 2) and labels.dtype == np.int64
    np.testing.assert_allclose(ours.log_prob(labels).array, theirs.log_prob(torch.tensor(labels.array)).numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.entropy().array, ss.entropy(ours.probs.array, axis=-1), rtol=1e-10)
    np.testing.assert_allclose(ours.entropy().array, theirs.entropy().numpy(), rtol=1e-10)
    one_hot = OneHotCategorical(logits=cr.tensor(logits, dtype=cr.float64))
    vectors = one_hot.sample((5,), generator=cr.Generator().manual_seed(1))
    assert vectors.shape == (5, 2, k) and bool((vectors.sum(-1) == 1).all())
    torch_one_hot = TD.OneHotCategorical(logits=_t(logits))
    np.testing.assert_allclose(one_hot.log_prob(vectors).array, torch_one_hot.log_prob(_t(vectors.array)).numpy(), rtol=1e-10)
    np.testing.assert_allclose(one_hot.variance.array, torch_one_hot.variance.numpy(), rtol=1e-10)


def test_categorical_gradients_and_probs_form():
    logits = cr.tensor([[0.1, -0.4, 1.2], [2.0, 0.0, -1.0]], dtype=cr.float64, requires_grad=True)
    labels = cr.tensor([2, 0])
    assert gradcheck(lambda t: Categorical(logits=t).log_prob(labels), (logits,))
    assert gradcheck(lambda t: Categorical(logits=t).entropy(), (logits,))
    probs = cr.tensor([0.2, 0.5, 0.3], dtype=cr.float64)
    np.testing.assert_allclose(Categorical(probs=probs).log_prob(cr.tensor([1])).array, [math.log(0.5)], rtol=1e-12)
    np.testing.assert_allclose(Categorical(probs=probs).entropy().item(), ss.entropy([0.2, 0.5, 0.3]), rtol=1e-12)


# ----- sampling -------------------------------------------------------------------------------------
ALL_FOR_SAMPLING = [
    Normal(1.0, 2.0), LogNormal(0.0, 0.5), Uniform(-1.0, 3.0), Exponential(2.0), Laplace(1.0, 0.5),
    StudentT(6.0, 1.0, 2.0), Gamma(2.5, 1.5), Beta(2.0, 3.0), Bernoulli(probs=0.3), Binomial(10, probs=0.4),
    Poisson(3.5),
]


@pytest.mark.parametrize("distribution", ALL_FOR_SAMPLING, ids=lambda d: type(d).__name__)
def test_same_seed_gives_bitwise_same_samples_and_right_moments(distribution):
    first = distribution.sample((20000,), generator=cr.Generator().manual_seed(7))
    second = distribution.sample((20000,), generator=cr.Generator().manual_seed(7))
    assert first.shape == (20000,) and np.array_equal(first.array, second.array)
    other = distribution.sample((20000,), generator=cr.Generator().manual_seed(8))
    assert not np.array_equal(first.array, other.array)
    cr.manual_seed(11)
    from_default = distribution.sample((5,))
    cr.manual_seed(11)
    assert np.array_equal(from_default.array, distribution.sample((5,)).array)
    x = first.array.astype(np.float64)
    mean, variance = distribution.mean.item(), distribution.variance.item()
    assert abs(x.mean() - mean) < 5 * math.sqrt(variance / x.size)
    fourth = np.mean((x - x.mean()) ** 4)  # the sample variance's own standard error is √((m₄ − σ⁴)/n)
    assert abs(x.var() - variance) < 6 * math.sqrt(max(fourth - variance**2, 1e-12) / x.size)


@pytest.mark.parametrize("distribution", ALL_FOR_SAMPLING, ids=lambda d: type(d).__name__)
def test_samples_follow_the_distribution_by_kolmogorov_smirnov(distribution):
    x = distribution.sample((4000,), generator=cr.Generator().manual_seed(3)).array.astype(np.float64)
    scipy_of = {
        Normal: lambda d: ss.norm(1.0, 2.0), LogNormal: lambda d: ss.lognorm(0.5), Uniform: lambda d: ss.uniform(-1, 4),
        Exponential: lambda d: ss.expon(scale=0.5), Laplace: lambda d: ss.laplace(1.0, 0.5),
        StudentT: lambda d: ss.t(6.0, 1.0, 2.0), Gamma: lambda d: ss.gamma(2.5, scale=1 / 1.5),
        Beta: lambda d: ss.beta(2.0, 3.0),
    }
    if type(distribution) not in scipy_of:
        counts = np.bincount(x.astype(int))
        reference = {Bernoulli: ss.bernoulli(0.3), Binomial: ss.binom(10, 0.4), Poisson: ss.poisson(3.5)}[type(distribution)]
        expected = reference.pmf(np.arange(len(counts))) * x.size
        keep = expected > 5
        assert ss.chisquare(counts[keep], expected[keep] * counts[keep].sum() / expected[keep].sum()).pvalue > 1e-3
        return
    assert ss.kstest(x, scipy_of[type(distribution)](distribution).cdf).pvalue > 1e-3


def test_sample_shapes_follow_sample_batch_event():
    d = Normal(cr.zeros(2, 3), 1.0)
    assert d.batch_shape == (2, 3) and d.event_shape == ()
    assert d.sample().shape == (2, 3)
    assert d.sample((4, 5)).shape == (4, 5, 2, 3)
    assert d.sample(4).shape == (4, 2, 3)
    assert d.sample((2,)).requires_grad is False


def test_float32_parameters_give_float32_results():
    d = Gamma(2.0, 1.0)
    x = d.rsample((3,), generator=cr.Generator().manual_seed(0))
    assert x.dtype == np.float32 and d.log_prob(x).dtype == np.float32 and d.entropy().dtype == np.float32


# ----- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize("build, message", [
    (lambda: Normal(0.0, -1.0), r"Normal: parameter scale must be > 0.*-1\.0"),
    (lambda: Exponential(cr.tensor([1.0, 0.0])), r"Exponential: parameter rate must be > 0.*0\.0 at index \(1,\)"),
    (lambda: Gamma(-2.0, 1.0), r"Gamma: parameter concentration must be > 0"),
    (lambda: Beta(1.0, 0.0), r"Beta: parameter concentration0 must be > 0"),
    (lambda: Bernoulli(probs=1.5), r"Bernoulli: parameter probs must be in \[0.0, 1.0\].*1\.5.*logits"),
    (lambda: Bernoulli(probs=0.5, logits=0.0), r"Bernoulli: pass exactly one of probs= and logits="),
    (lambda: Binomial(2.5, probs=0.5), r"Binomial: parameter total_count must be a non-negative integer.*2\.5"),
    (lambda: Categorical(probs=cr.tensor([0.5, 0.6])), r"Categorical: probs must be non-negative and sum to 1.*sum 1\.1"),
    (lambda: Categorical(probs=cr.tensor([1.2, -0.2])), r"Categorical: probs must be non-negative"),
    (lambda: Uniform(2.0, 1.0), r"Uniform: low must be smaller than high"),
    (lambda: Poisson(-1.0), r"Poisson: parameter rate must be ≥ 0"),
    (lambda: StudentT(0.0), r"StudentT: parameter df must be > 0"),
    (lambda: Normal(cr.zeros(2), cr.ones(3)), r"Normal: parameter shapes .* do not broadcast"),
])
def test_invalid_parameters_raise_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("distribution, value, message", [
    (Exponential(1.0), -1.0, r"Exponential.log_prob: the value must be ≥ 0.0.*-1\.0"),
    (Beta(2.0, 2.0), 1.5, r"Beta.log_prob: the value must be in \[0.0, 1.0\]"),
    (Bernoulli(probs=0.3), 0.5, r"Bernoulli.log_prob: the value must be 0 or 1"),
    (Poisson(2.0), 1.5, r"Poisson.log_prob: the value must be a non-negative integer"),
    (Binomial(3, probs=0.2), 4.0, r"Binomial.log_prob: the value must be an integer in \[0, total_count\]"),
    (Categorical(probs=cr.tensor([0.5, 0.5])), 2, r"Categorical.log_prob: class indices must be in \[0, 1\]"),
    (Uniform(0.0, 1.0), 2.0, r"Uniform.log_prob: the value must be in \[low, high\]"),
    (Normal(cr.zeros(3), 1.0), cr.zeros(2), r"does not broadcast against batch_shape"),
])
def test_values_outside_the_support_raise_clear_errors(distribution, value, message):
    with pytest.raises(ValueError, match=message):
        distribution.log_prob(value)


def test_icdf_argument_must_be_a_probability_and_missing_forms_say_so():
    with pytest.raises(ValueError, match=r"Normal.icdf: the argument must be a probability in \[0, 1\].*1\.5"):
        Normal(0.0, 1.0).icdf(1.5)
    with pytest.raises(NoClosedFormError, match="Gamma.cdf: no closed-form CDF"):
        Gamma(2.0, 1.0).cdf(1.0)
    with pytest.raises(NoClosedFormError, match="Poisson.rsample: this distribution has no reparameterized sampler"):
        Poisson(2.0).rsample()


def test_validate_args_false_evaluates_outside_the_support():
    assert Uniform(0.0, 1.0, validate_args=False).log_prob(2.0).item() == -math.inf
    assert Exponential(1.0, validate_args=False).log_prob(-1.0).item() == pytest.approx(1.0)


def test_extreme_logits_stay_finite():
    d = Bernoulli(logits=cr.tensor([-800.0, 800.0], dtype=cr.float64))
    np.testing.assert_allclose(d.log_prob(cr.tensor([0.0, 1.0], dtype=cr.float64)).array, [0.0, 0.0], atol=1e-300)
    assert d.log_prob(cr.tensor([1.0, 0.0], dtype=cr.float64)).array.tolist() == [-800.0, -800.0]
    assert np.all(np.isfinite(d.entropy().array))
    p = Bernoulli(probs=cr.tensor([0.0, 1.0], dtype=cr.float64))
    assert p.entropy().array.tolist() == [0.0, 0.0]
