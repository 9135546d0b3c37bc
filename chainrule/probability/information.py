"""Information theory on discrete distributions: entropy, cross-entropy, KL, Jensen-Shannon, mutual information.

Probability vectors lie along ``dim`` (the last axis by default). Every function
is a tensor expression, so it is differentiable, and uses 0 · ln 0 = 0. Results
are in nats; ``base=2`` gives bits (a quantity in base b is the one in nats
divided by ln b).

Why cross-entropy is the loss of classification: for data x₁..xₙ with empirical
distribution p̂ (p̂(x) = count(x)/n) and a model q,

    H(p̂, q) = −Σₓ p̂(x) ln q(x) = −(1/n) Σᵢ ln q(xᵢ),

which is the average negative log-likelihood. So minimizing cross-entropy over q
is maximum likelihood; and since H(p̂, q) = H(p̂) + KL(p̂ ‖ q) with H(p̂) fixed by
the data, it is also minimizing the KL divergence from the data to the model.
"""
import math

import numpy

from chainrule.core.tensor import Tensor
from chainrule.ops import exp, log_softmax, where
from chainrule.probability.discrete import xlogy

__all__ = [
    "entropy", "cross_entropy", "kl_divergence", "js_divergence", "mutual_information",
    "mutual_information_from_labels", "perplexity", "model_perplexity",
]


def _probabilities(function, name, values, dim, tolerance=1e-5):
    """``values`` as a float tensor, checked to be non-negative and to sum to 1 along ``dim``."""
    if not isinstance(values, Tensor):
        values = Tensor(numpy.asarray(values, dtype=numpy.float64))
    if values.dtype.kind != "f":
        values = values.double()
    if values.ndim == 0:
        raise ValueError(f"{function}: {name} must have at least one axis of outcomes, got a scalar")
    host = numpy.asarray(values.detach().__array__(), dtype=numpy.float64)
    negative = host < 0
    if negative.any():
        raise ValueError(
            f"{function}: {name} must be non-negative, but it holds {float(host[negative].min())!r}; "
            f"turn scores into probabilities with softmax first"
        )
    sums = host.sum(axis=dim)
    if not numpy.allclose(sums, 1.0, atol=tolerance * host.shape[dim]):
        worst = sums.flat[numpy.argmax(numpy.abs(sums - 1.0))]
        raise ValueError(
            f"{function}: {name} must sum to 1 along dim={dim}, but a slice sums to {worst:.6g}; normalize it "
            f"({name} / {name}.sum({dim}, keepdim=True)) or check that dim points at the outcomes"
        )
    return values


def _log_base(base):
    if base is None:
        return 1.0
    if base <= 0 or base == 1:
        raise ValueError(f"base must be positive and not 1 (use 2 for bits, math.e or None for nats), got {base}")
    return math.log(base)


def _same_shape(function, p, q):
    if p.shape != q.shape:
        raise ValueError(f"{function}: p and q must have the same shape, got {p.shape} and {q.shape}")


def entropy(p, dim=-1, base=None):
    r"""Shannon entropy H(p) = −Σₓ p(x) ln p(x) (0 ln 0 = 0), in nats or in ``base``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.information import entropy
        >>> entropy(cr.tensor([0.5, 0.5]), base=2).item()   # one fair coin: one bit
        1.0
    """
    p = _probabilities("entropy", "p", p, dim)
    return -xlogy(p, p).sum(dim) / _log_base(base)


def cross_entropy(p, q=None, dim=-1, base=None, q_logits=None):
    r"""Cross-entropy H(p, q) = −Σₓ p(x) ln q(x) = H(p) + KL(p ‖ q).

    Give the model either as probabilities ``q`` or as unnormalized ``q_logits``
    (then ln q = log_softmax(q_logits), exact where q underflows). With p the
    empirical distribution of data, H(p, q) is the average negative
    log-likelihood of q, so minimizing it is maximum likelihood (module docstring).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.information import cross_entropy
        >>> round(cross_entropy(cr.tensor([1.0, 0.0]), cr.tensor([0.8, 0.2])).item(), 4)   # −ln 0.8
        0.2231
    """
    p = _probabilities("cross_entropy", "p", p, dim)
    if (q is None) == (q_logits is None):
        raise ValueError("cross_entropy: pass exactly one of q= (probabilities) and q_logits=")
    if q_logits is not None:
        q_logits = q_logits if isinstance(q_logits, Tensor) else Tensor(numpy.asarray(q_logits, dtype=numpy.float64))
        _same_shape("cross_entropy", p, q_logits)
        log_q = log_softmax(q_logits, dim)
        return -where(p == 0, 0.0, p * log_q).sum(dim) / _log_base(base)
    q = _probabilities("cross_entropy", "q", q, dim)
    _same_shape("cross_entropy", p, q)
    return -xlogy(p, q).sum(dim) / _log_base(base)


def kl_divergence(p, q, dim=-1, base=None):
    r"""KL(p ‖ q) = Σₓ p(x) ln(p(x)/q(x)) ≥ 0; ∞ where q(x) = 0 < p(x). Not symmetric.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.information import kl_divergence
        >>> kl_divergence(cr.tensor([0.5, 0.5]), cr.tensor([0.25, 0.75]), base=2).item() > 0
        True
    """
    p = _probabilities("kl_divergence", "p", p, dim)
    q = _probabilities("kl_divergence", "q", q, dim)
    _same_shape("kl_divergence", p, q)
    terms = xlogy(p, p) - xlogy(p, q)
    terms = where((q == 0) & (p > 0), math.inf, terms)
    return terms.sum(dim) / _log_base(base)


def js_divergence(p, q, dim=-1, base=None):
    r"""Jensen-Shannon divergence JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = ½(p + q).

    Symmetric, always finite, at most ln 2 (1 bit); √JS is a metric, the
    Jensen-Shannon distance (what scipy.spatial.distance.jensenshannon returns).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.information import js_divergence
        >>> js_divergence(cr.tensor([1.0, 0.0]), cr.tensor([0.0, 1.0]), base=2).item()   # disjoint: 1 bit
        1.0
    """
    p = _probabilities("js_divergence", "p", p, dim)
    q = _probabilities("js_divergence", "q", q, dim)
    _same_shape("js_divergence", p, q)
    m = (p + q) / 2
    # m ≥ p/2 > 0 wherever p > 0, so both KL terms are finite.
    half_kl_p = (xlogy(p, p) - xlogy(p, m)).sum(dim)
    half_kl_q = (xlogy(q, q) - xlogy(q, m)).sum(dim)
    return 0.5 * (half_kl_p + half_kl_q) / _log_base(base)


def mutual_information(joint, base=None):
    r"""I(X; Y) = Σ_{x,y} p(x, y) ln(p(x, y) / (p(x) p(y))) = H(X) + H(Y) − H(X, Y), from a joint table.

    ``joint`` is a 2-D table of probabilities or of counts (it is divided by its
    total); rows index X, columns index Y. Differentiable in the table.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.information import mutual_information
        >>> mutual_information(cr.tensor([[0.5, 0.0], [0.0, 0.5]]), base=2).item()   # Y = X: one bit
        1.0
    """
    if not isinstance(joint, Tensor):
        joint = Tensor(numpy.asarray(joint, dtype=numpy.float64))
    if joint.dtype.kind != "f":
        joint = joint.double()
    if joint.ndim != 2:
        raise ValueError(f"mutual_information: the joint table must be 2-D (rows: X, columns: Y), got shape {joint.shape}")
    host = numpy.asarray(joint.detach().__array__())
    if (host < 0).any() or host.sum() <= 0:
        raise ValueError("mutual_information: the joint table must hold non-negative probabilities or counts with a positive total")
    p_xy = joint / joint.sum()
    p_x = p_xy.sum(1, keepdim=True)
    p_y = p_xy.sum(0, keepdim=True)
    return (xlogy(p_xy, p_xy) - xlogy(p_xy, p_x * p_y)).sum() / _log_base(base)


def mutual_information_from_labels(x, y, base=None):
    r"""I(X; Y) of two paired label sequences, from their contingency table (plug-in estimate).

    Example:
        >>> from chainrule.information import mutual_information_from_labels
        >>> round(mutual_information_from_labels([0, 0, 1, 1], [1, 1, 0, 0], base=2).item(), 6)
        1.0
    """
    x = numpy.asarray(x.detach().__array__() if isinstance(x, Tensor) else x)
    y = numpy.asarray(y.detach().__array__() if isinstance(y, Tensor) else y)
    if x.ndim != 1 or x.shape != y.shape or x.size == 0:
        raise ValueError(
            f"mutual_information_from_labels: x and y must be non-empty 1-D sequences of equal length, "
            f"got shapes {x.shape} and {y.shape}"
        )
    x_values, x_codes = numpy.unique(x, return_inverse=True)
    y_values, y_codes = numpy.unique(y, return_inverse=True)
    table = numpy.zeros((x_values.size, y_values.size))
    numpy.add.at(table, (x_codes, y_codes), 1.0)
    return mutual_information(Tensor(table), base=base)


def perplexity(p, dim=-1):
    r"""The perplexity of a distribution, e^{H(p)} (= 2^{H in bits}): the size of a uniform choice as uncertain.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.information import perplexity
        >>> round(perplexity(cr.tensor([0.25, 0.25, 0.25, 0.25])).item(), 6)
        4.0
    """
    return exp(entropy(p, dim))


def model_perplexity(log_likelihoods):
    r"""A model's perplexity on data: exp(−(1/n) Σᵢ ln q(xᵢ)), the exponential of the cross-entropy.

    ``log_likelihoods`` holds ln q(xᵢ) for each observation (e.g. each token).

    Example:
        >>> import math
        >>> import chainrule as cr
        >>> from chainrule.information import model_perplexity
        >>> round(model_perplexity(cr.tensor([math.log(0.5), math.log(0.125)])).item(), 6)   # 1/√(0.5·0.125)
        4.0
    """
    if not isinstance(log_likelihoods, Tensor):
        log_likelihoods = Tensor(numpy.asarray(log_likelihoods, dtype=numpy.float64))
    if log_likelihoods.numel() == 0:
        raise ValueError("model_perplexity: no log-likelihoods were given")
    if bool((log_likelihoods.detach().array > 0).any()):
        raise ValueError("model_perplexity: log-likelihoods of discrete outcomes must be ≤ 0 (probabilities ≤ 1)")
    return exp(-log_likelihoods.mean())
