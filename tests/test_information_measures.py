"""Information theory against SciPy, with gradient checks, bits and nats, and the docstring examples."""
import math

import numpy as np
import pytest
import scipy.spatial.distance as distance
import scipy.stats as ss
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import information
from chainrule.func import gradcheck
from chainrule.information import (
    cross_entropy, entropy, js_divergence, kl_divergence, model_perplexity, mutual_information,
    mutual_information_from_labels, perplexity,
)


def _distribution(data, k, rows=2, allow_zeros=False):
    low = 0.0 if allow_zeros else 1e-3
    raw = np.array(data.draw(st.lists(st.floats(low, 1.0), min_size=rows * k, max_size=rows * k))).reshape(rows, k)
    raw[:, 0] += 1e-3  # never an all-zero row
    return raw / raw.sum(-1, keepdims=True)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_measures_match_scipy(data):
    k = data.draw(st.integers(2, 7))
    p = _distribution(data, k, allow_zeros=data.draw(st.booleans()))
    q = _distribution(data, k)
    base = data.draw(st.sampled_from([None, 2, 10]))
    tp, tq = cr.tensor(p, dtype=cr.float64), cr.tensor(q, dtype=cr.float64)
    np.testing.assert_allclose(entropy(tp, base=base).array, ss.entropy(p, base=base, axis=-1), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(kl_divergence(tp, tq, base=base).array, ss.entropy(p, q, base=base, axis=-1), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(cross_entropy(tp, tq, base=base).array,
                               ss.entropy(p, base=base, axis=-1) + ss.entropy(p, q, base=base, axis=-1), rtol=1e-10)
    np.testing.assert_allclose(cross_entropy(tp, q_logits=cr.tensor(np.log(q) + 3.0), base=base).array,
                               cross_entropy(tp, tq, base=base).array, rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(js_divergence(tp, tq, base=base).array),
                               [distance.jensenshannon(p[i], q[i], base=base) for i in range(2)], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(perplexity(tp).array, np.exp(ss.entropy(p, axis=-1)), rtol=1e-10)
    assert np.all(js_divergence(tp, tq, base=2).array <= 1 + 1e-12)


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_mutual_information_matches_entropy_identity_and_labels(data):
    rows, cols = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    table = np.array(data.draw(st.lists(st.integers(0, 9), min_size=rows * cols, max_size=rows * cols)),
                     dtype=float).reshape(rows, cols)
    table[0, 0] += 1
    p = table / table.sum()
    identity = ss.entropy(p.sum(1)) + ss.entropy(p.sum(0)) - ss.entropy(p.ravel())
    assert mutual_information(cr.tensor(table)).item() == pytest.approx(identity, abs=1e-12)
    assert mutual_information(cr.tensor(p), base=2).item() == pytest.approx(identity / math.log(2), abs=1e-12)
    x = np.repeat(np.arange(rows)[:, None], cols, 1).ravel().repeat(table.astype(int).ravel())
    y = np.repeat(np.arange(cols)[None, :], rows, 0).ravel().repeat(table.astype(int).ravel())
    assert mutual_information_from_labels(x, y).item() == pytest.approx(identity, abs=1e-12)
    assert mutual_information(cr.tensor(table)).item() >= -1e-12


def test_gradients_by_gradcheck_and_torch():
    p = cr.tensor([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]], dtype=cr.float64, requires_grad=True)
    q = cr.tensor([[0.3, 0.3, 0.4], [0.2, 0.7, 0.1]], dtype=cr.float64, requires_grad=True)
    logits = cr.tensor([[0.1, -1.0, 2.0], [0.5, 0.5, -0.3]], dtype=cr.float64, requires_grad=True)
    table = cr.tensor([[0.1, 0.2], [0.4, 0.3]], dtype=cr.float64, requires_grad=True)
    # gradcheck moves one entry at a time, off the simplex: these functions only check sums on entry,
    # so the checks below perturb inside a tolerance-free wrapper that renormalizes.
    normalize = lambda t: t / t.sum(-1, keepdim=True)  # noqa: E731
    assert gradcheck(lambda a: entropy(normalize(a), base=2), (p,))
    assert gradcheck(lambda a, b: kl_divergence(normalize(a), normalize(b)), (p, q))
    assert gradcheck(lambda a, b: cross_entropy(normalize(a), normalize(b)), (p, q))
    assert gradcheck(lambda a, b: cross_entropy(normalize(a), q_logits=b), (p, logits))
    assert gradcheck(lambda a, b: js_divergence(normalize(a), normalize(b)), (p, q))
    assert gradcheck(lambda t: mutual_information(t), (table,))
    cross_entropy(p, q_logits=logits).sum().backward()
    torch_logits = torch.tensor(logits.array, requires_grad=True)
    torch.nn.functional.cross_entropy(torch_logits, torch.tensor(p.array), reduction="sum").backward()
    np.testing.assert_allclose(logits.grad.array, torch_logits.grad.numpy(), rtol=1e-12)
    torch_q = torch.tensor(q.array, requires_grad=True)
    torch.nn.functional.kl_div(torch_q.log(), torch.tensor(p.array), reduction="sum").backward()
    q.grad = None
    kl_divergence(p, q).sum().backward()
    np.testing.assert_allclose(q.grad.array, torch_q.grad.numpy(), rtol=1e-12)


def test_minimizing_cross_entropy_is_maximum_likelihood():
    """The empirical cross-entropy H(p̂, q) equals the average negative log-likelihood −(1/n) Σ ln q(xᵢ)."""
    labels = np.array([0, 2, 2, 1, 2, 0, 2, 2])
    empirical = np.bincount(labels, minlength=3) / labels.size
    q = np.array([0.2, 0.3, 0.5])
    average_nll = -np.log(q[labels]).mean()
    assert cross_entropy(cr.tensor(empirical), cr.tensor(q)).item() == pytest.approx(average_nll, rel=1e-12)
    assert model_perplexity(cr.tensor(np.log(q[labels]))).item() == pytest.approx(math.exp(average_nll), rel=1e-12)
    # The minimizer over q of H(p̂, q) is p̂ itself, the MLE of a categorical distribution.
    logits = cr.zeros(3, dtype=cr.float64, requires_grad=True)
    for _ in range(500):
        loss = cross_entropy(cr.tensor(empirical), q_logits=logits)
        (gradient,) = cr.autograd.grad([loss], [logits])
        with cr.no_grad():
            logits -= 2.0 * gradient
    np.testing.assert_allclose(cr.softmax(logits, -1).array, empirical, atol=1e-6)


def test_stable_and_exact_at_the_edges():
    assert entropy(cr.tensor([1.0, 0.0, 0.0])).item() == 0.0
    assert kl_divergence(cr.tensor([0.5, 0.5]), cr.tensor([1.0, 0.0])).item() == math.inf
    assert kl_divergence(cr.tensor([1.0, 0.0]), cr.tensor([0.5, 0.5]), base=2).item() == pytest.approx(1.0)
    assert js_divergence(cr.tensor([1.0, 0.0]), cr.tensor([0.0, 1.0])).item() == pytest.approx(math.log(2))
    huge = cr.tensor([[1000.0, 0.0, -1000.0]], dtype=cr.float64)
    assert cross_entropy(cr.tensor([[0.0, 0.0, 1.0]]), q_logits=huge).item() == pytest.approx(2000.0)
    assert perplexity(cr.full((8,), 1 / 8, dtype=cr.float64)).item() == pytest.approx(8.0)


@pytest.mark.parametrize("call, message", [
    (lambda: entropy(cr.tensor([0.5, 0.6])), r"entropy: p must sum to 1 along dim=-1, but a slice sums to 1\.1"),
    (lambda: entropy(cr.tensor([1.5, -0.5])), r"entropy: p must be non-negative, but it holds -0\.5"),
    (lambda: kl_divergence(cr.tensor([0.5, 0.5]), cr.tensor([0.2, 0.3, 0.5])), r"p and q must have the same shape"),
    (lambda: cross_entropy(cr.tensor([0.5, 0.5])), "exactly one of q="),
    (lambda: entropy(cr.tensor([0.5, 0.5]), base=1), "base must be positive and not 1"),
    (lambda: mutual_information(cr.tensor([0.5, 0.5])), r"must be 2-D .* got shape \(2,\)"),
    (lambda: mutual_information_from_labels([0, 1], [0]), "equal length"),
    (lambda: model_perplexity(cr.tensor([0.1])), "must be ≤ 0"),
])
def test_bad_input_raises_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
