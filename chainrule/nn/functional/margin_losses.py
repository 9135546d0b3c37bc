"""Margin and likelihood losses: soft margin, hinge embedding, triplet, multi-class and multi-label margins, Poisson and Gaussian NLL.

Each is its formula in ops (so the chain rule gives its gradient), with ``torch.nn.functional``'s
names, defaults and reductions; the cards send each through the registry's gradcheck and
PyTorch comparison.
"""
import math

from chainrule import ops
from chainrule.core.creation import arange
from chainrule.core.primitive import Check, composite
from chainrule.nn.functional._common import _check_tensor, _reduce
from chainrule.nn.functional.distances import pairwise_distance

SIGNS = [[1.0, -1.0, -1.0, 1.0], [-1.0, -1.0, 1.0, 1.0], [1.0, 1.0, 1.0, -1.0]]   # a ±1 target for the cards


def _signs(lib, x):
    return lib.tensor(SIGNS, dtype=x.dtype)


@composite(Check("F.soft_margin_loss", call=lambda lib, x: lib.nn.functional.soft_margin_loss(x, _signs(lib, x)),
                 shapes=(((3, 4),),)))
def soft_margin_loss(input, target, reduction="mean"):
    r"""Two-class logistic loss on ±1 targets: :math:`\ell = \log(1 + e^{-y x})`, computed as softplus(−yx).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.soft_margin_loss(cr.tensor([0.0, 0.0]), cr.tensor([1.0, -1.0]))    # log 2
        tensor(0.6931)
    """
    _check_tensor(input, "soft_margin_loss")
    return _reduce(ops.softplus(-target * input), reduction, "soft_margin_loss")


@composite(Check("F.hinge_embedding_loss",
                 call=lambda lib, x: lib.nn.functional.hinge_embedding_loss(x, _signs(lib, x), margin=0.5),
                 shapes=(((3, 4),),), domain="distinct"))
def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    r"""For distances x and ±1 targets: :math:`\ell = x` where y = 1, :math:`\max(0, m - x)` where y = −1.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.hinge_embedding_loss(cr.tensor([0.3, 0.2]), cr.tensor([1.0, -1.0]), reduction="none")
        tensor([0.3, 0.8])
    """
    _check_tensor(input, "hinge_embedding_loss")
    similar = ops.where(target != -1, input, 0.0)
    dissimilar = ops.where(target != 1, ops.clamp(margin - input, min=0.0), 0.0)
    return _reduce(similar + dissimilar, reduction, "hinge_embedding_loss")


@composite(Check("F.triplet_margin_loss", call=lambda lib, a, p, n: lib.nn.functional.triplet_margin_loss(a, p, n),
                 shapes=(((3, 4), (3, 4), (3, 4)),), domain="distinct"),
           Check("F.triplet_margin_loss_swap",
                 call=lambda lib, a, p, n: lib.nn.functional.triplet_margin_loss(a, p, n, margin=3.0, p=1, swap=True),
                 shapes=(((3, 4), (3, 4), (3, 4)),), domain="distinct"))
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction="mean"):
    r""":math:`\ell = \max(d(a, p) - d(a, n) + m, 0)` with :math:`d(u, v) = \|u - v + \epsilon\|_p`; ``swap`` uses
    :math:`\min(d(a, n), d(p, n))` for the negative distance.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> a, p, n = cr.tensor([[0.0, 0.0]]), cr.tensor([[0.0, 1.0]]), cr.tensor([[0.0, 3.0]])
        >>> F.triplet_margin_loss(a, p, n, margin=1.0, eps=0.0)      # max(1 − 3 + 1, 0)
        tensor(0.)
    """
    distance = lambda x1, x2: pairwise_distance(x1, x2, p, eps)   # noqa: E731  (the distance the docstring names)
    return triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=distance, margin=margin,
                                             swap=swap, reduction=reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    r""":math:`\ell = \max(d(a, p) - d(a, n) + m, 0)` for any distance ``d`` (default: ``pairwise_distance``).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> a, p, n = cr.tensor([[0.0]]), cr.tensor([[1.0]]), cr.tensor([[1.5]])
        >>> F.triplet_margin_with_distance_loss(a, p, n, distance_function=lambda u, v: (u - v).abs().sum(-1))
        tensor(0.5)
    """
    distance = distance_function or pairwise_distance
    positive_distance, negative_distance = distance(anchor, positive), distance(anchor, negative)
    if swap:
        negative_distance = ops.minimum(negative_distance, distance(positive, negative))
    return _reduce(ops.clamp(positive_distance - negative_distance + margin, min=0.0), reduction,
                   "triplet_margin_loss")


@composite(Check("F.multilabel_soft_margin_loss",
                 call=lambda lib, x: lib.nn.functional.multilabel_soft_margin_loss(x, (_signs(lib, x) + 1) / 2),
                 shapes=(((3, 4),),)),
           Check("F.multilabel_soft_margin_loss_weight",
                 call=lambda lib, x, w: lib.nn.functional.multilabel_soft_margin_loss(x, (_signs(lib, x) + 1) / 2, w),
                 shapes=(((3, 4), (4,)),)))
def multilabel_soft_margin_loss(input, target, weight=None, reduction="mean"):
    r"""Per sample, the mean over classes of the binary logistic loss:
    :math:`\ell = -\frac{1}{C}\sum_c w_c\,[y_c \log\sigma(x_c) + (1 - y_c)\log\sigma(-x_c)]`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.multilabel_soft_margin_loss(cr.zeros(1, 2), cr.tensor([[1.0, 0.0]]))    # log 2
        tensor(0.6931)
    """
    _check_tensor(input, "multilabel_soft_margin_loss")
    losses = target * ops.softplus(-input) + (1 - target) * ops.softplus(input)
    if weight is not None:
        losses = losses * weight
    per_sample = losses.sum(-1) / input.shape[-1]
    return _reduce(per_sample, reduction, "multilabel_soft_margin_loss")


@composite(Check("F.multi_margin_loss",
                 call=lambda lib, x: lib.nn.functional.multi_margin_loss(x, lib.tensor([0, 3, 1]), margin=0.7),
                 shapes=(((3, 4),),), domain="distinct"),
           Check("F.multi_margin_loss_p2",   # a constant weight: PyTorch does not differentiate with respect to it
                 call=lambda lib, x: lib.nn.functional.multi_margin_loss(
                     x, lib.tensor([2, 2, 0]), p=2, weight=lib.tensor([0.5, 1.0, 2.0, 1.5], dtype=x.dtype)),
                 shapes=(((3, 4),),), domain="distinct"))
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    r"""Multi-class hinge loss: :math:`\ell = \frac{1}{C}\sum_{j \ne y} w_y \max(0, m - x_y + x_j)^p` per sample (p = 1 or 2).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.multi_margin_loss(cr.tensor([[0.1, 0.2, 0.4, 0.8]]), cr.tensor([3]))   # (0.3 + 0.4 + 0.6)/4
        tensor(0.325)
    """
    name = "multi_margin_loss"
    _check_tensor(input, name)
    if p not in (1, 2):
        raise ValueError(f"{name}: p must be 1 or 2, as in PyTorch, got {p}")
    x = input if input.ndim == 2 else input.reshape((1, -1))
    labels = target.reshape((-1, 1))
    correct = ops.gather(x, 1, labels)
    hinge = ops.clamp(margin - correct + x, min=0.0)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * ops.gather(weight.reshape((1, -1)), 1, labels.reshape((1, -1))).reshape((-1, 1))
    others = ops.where(arange(x.shape[1]).reshape((1, -1)) == labels, 0.0, hinge)   # j = y is left out
    per_sample = others.sum(1) / x.shape[1]
    return _reduce(per_sample if input.ndim == 2 else per_sample.reshape(()), reduction, name)


@composite(Check("F.poisson_nll_loss", call=lambda lib, x, t: lib.nn.functional.poisson_nll_loss(x, t.abs()),
                 shapes=(((3, 4), (3, 4)),)),
           Check("F.poisson_nll_loss_rates",
                 call=lambda lib, x, t: lib.nn.functional.poisson_nll_loss(x, t * 3, log_input=False, full=True),
                 shapes=(((3, 4), (3, 4)),), domain="positive"))
def poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    r"""Poisson negative log-likelihood: :math:`\ell = e^{x} - y x` for log-rates x (``log_input``), else
    :math:`\lambda - y \log(\lambda + \epsilon)`; ``full`` adds Stirling's :math:`y \log y - y + \frac12 \log(2\pi y)` where y > 1.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.poisson_nll_loss(cr.tensor([0.0]), cr.tensor([2.0]))          # e⁰ − 2·0
        tensor(1.)
    """
    _check_tensor(input, "poisson_nll_loss")
    loss = ops.exp(input) - target * input if log_input else input - target * ops.log(input + eps)
    if full:
        stirling = target * ops.log(target) - target + 0.5 * ops.log(2 * math.pi * target)
        loss = loss + ops.where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction, "poisson_nll_loss")


@composite(Check("F.gaussian_nll_loss", call=lambda lib, x, t, v: lib.nn.functional.gaussian_nll_loss(x, t, v.abs() + 0.1),
                 shapes=(((3, 4), (3, 4), (3, 4)), ((3, 4), (3, 4), (3, 1)), ((3, 4), (3, 4), (3,)))),
           Check("F.gaussian_nll_loss_full",
                 call=lambda lib, x, t, v: lib.nn.functional.gaussian_nll_loss(x, t, v, full=True, reduction="sum"),
                 shapes=(((3, 4), (3, 4), (3, 4)),), domain="positive"))
def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    r"""Gaussian negative log-likelihood with predicted variance:
    :math:`\ell = \frac12\left(\log \max(\sigma^2, \epsilon) + \frac{(x - y)^2}{\max(\sigma^2, \epsilon)}\right)` (+ ½ log 2π with ``full``).

    ``var`` has the input's shape, or one dim fewer, or a last dim of 1 (one variance per sample).
    As in PyTorch the clamp at ε passes the gradient through unchanged.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.gaussian_nll_loss(cr.tensor([1.0]), cr.tensor([1.0]), cr.tensor([1.0]))
        tensor(0.)
    """
    name = "gaussian_nll_loss"
    _check_tensor(input, name)
    if var.ndim == input.ndim - 1 and var.shape == input.shape[:-1]:
        var = var.unsqueeze(-1)
    if (var < 0).any():
        raise ValueError(f"{name}: var has negative entries; it must be positive (it is a variance)")
    clamped = var + (ops.clamp(var, min=eps) - var).detach()   # PyTorch clamps in place under no_grad: slope 1
    loss = 0.5 * (ops.log(clamped) + (input - target) ** 2 / clamped)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, name)
