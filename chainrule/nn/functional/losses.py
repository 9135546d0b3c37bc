"""Losses, as functions with ``torch.nn.functional``'s names, defaults and reductions ('mean', 'sum', 'none').

Losses on probabilities are computed from logits (log-softmax, softplus), so extreme
logits give exact, finite values and gradients; float16 inputs are reduced in float32.
"""
import math

from chainrule import ops
from chainrule.core.dtypes import promote_types
from chainrule.core.primitive import apply
from chainrule.nn.functional._common import _check_tensor, _in_float32, _reduce
from chainrule.nn.primitives import BinaryCrossEntropy, SoftmaxCrossEntropy


def one_hot(tensor, num_classes=-1):
    r"""Integer labels to 0/1 rows (int64), as ``torch.nn.functional.one_hot``: :math:`y_{\dots,c} = [x_{\dots} = c]`.

    ``num_classes=-1`` takes max(x) + 1 classes.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.one_hot(cr.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    return ops.one_hot(tensor, num_classes)


def _check_same_shape(input, target, name):
    _check_tensor(input, name)
    _check_tensor(target, name, "target")
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: input shape {input.shape} and target shape {target.shape} differ; they must match "
            "(broadcasting a target of shape (N,) against (N, 1) is a classic silent bug: reshape one of them)"
        )


def mse_loss(input, target, reduction="mean"):
    r"""Mean squared error :math:`\ell = (x - y)^2`, reduced.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.mse_loss(cr.tensor([1.0, 2.0]), cr.tensor([0.0, 0.0]))
        tensor(2.5)
    """
    _check_same_shape(input, target, "mse_loss")
    return _reduce((input - target) ** 2, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    r"""Absolute error :math:`\ell = |x - y|`, reduced.

    ``reduction``: 'mean' (default) :math:`\frac{1}{N}\sum \ell`, 'sum' :math:`\sum \ell`, or 'none' (ℓ per element).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.l1_loss(cr.tensor([1.0, -3.0]), cr.tensor([0.0, 0.0]))
        tensor(2.)
    """
    _check_same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    r""":math:`\ell = 0.5 d^2 / \beta` for |d| < β, :math:`|d| - 0.5\beta` otherwise (d = x − y).

    Reduced by ``reduction`` ('mean', 'sum' or 'none'); β = 0 gives the L1 loss.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.smooth_l1_loss(cr.tensor([0.5, 3.0]), cr.tensor([0.0, 0.0]), reduction="none")
        tensor([0.125, 2.5  ])
    """
    _check_same_shape(input, target, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    difference = (input - target).abs()
    if beta == 0:
        return _reduce(difference, reduction, "smooth_l1_loss")
    loss = ops.where(difference < beta, 0.5 * difference * difference / beta, difference - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0):
    r""":math:`\ell = 0.5 d^2` for |d| < δ, :math:`\delta(|d| - 0.5\delta)` otherwise (d = x − y).

    Reduced by ``reduction`` ('mean', 'sum' or 'none'); equals δ · smooth_l1_loss with β = δ.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.huber_loss(cr.tensor([0.5, 3.0]), cr.tensor([0.0, 0.0]), reduction="none", delta=2.0)
        tensor([0.125, 4.   ])
    """
    _check_same_shape(input, target, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    difference = (input - target).abs()
    loss = ops.where(difference < delta, 0.5 * difference * difference, delta * (difference - 0.5 * delta))
    return _reduce(loss, reduction, "huber_loss")


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    r"""Cross-entropy of probabilities: :math:`\ell = -w\,[y \ln p + (1-y)\ln(1-p)]`, logs clamped at −100 (as PyTorch).

    Prefer ``binary_cross_entropy_with_logits``: it is exact where p rounds to 0 or 1.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.binary_cross_entropy(cr.tensor([0.5]), cr.tensor([1.0]))
        tensor(0.6931)
    """
    name = "binary_cross_entropy"
    _check_same_shape(input, target, name)
    if input.numel() and (float(input.array.min()) < 0 or float(input.array.max()) > 1):
        raise ValueError(
            f"{name}: every input must be a probability in [0, 1], got values in "
            f"[{float(input.array.min()):.4g}, {float(input.array.max()):.4g}] (shape {input.shape}); "
            "for raw scores use binary_cross_entropy_with_logits"
        )
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    loss = apply(BinaryCrossEntropy, input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, name)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    r"""Binary cross-entropy from logits x, computed stably with softplus:

    :math:`\ell = w\,[(1 - y)\,x + (1 + (p_w - 1) y)\,\operatorname{softplus}(-x)]`,

    which equals :math:`-w[p_w y \ln\sigma(x) + (1-y)\ln(1-\sigma(x))]` without ever forming σ(x).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.binary_cross_entropy_with_logits(cr.tensor([100.0]), cr.tensor([0.0]))   # finite, = 100
        tensor(100.)
    """
    name = "binary_cross_entropy_with_logits"
    _check_same_shape(input, target, name)
    softplus_negative = ops.softplus(-input)
    if pos_weight is not None:
        log_weight = (pos_weight - 1.0) * target + 1.0
        loss = (1.0 - target) * input + log_weight * softplus_negative
    else:
        loss = (1.0 - target) * input + softplus_negative
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, name)


def _check_class_targets(input, target, ignore_index, name):
    """Class-index targets: integer, shaped like input without dim 1, each in [0, C) or ignore_index."""
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: class-index targets must be integers, got {target.dtype} (target shape {target.shape}); "
            "use target.long(), or pass float class probabilities of the input's shape"
        )
    expected = (input.shape[0],) + input.shape[2:] if input.ndim >= 2 else ()
    if tuple(target.shape) != expected:
        raise ValueError(
            f"{name}: input of shape {input.shape} needs a target of shape {expected} (the input without the "
            f"class dim 1), got {target.shape}"
        )
    classes = input.shape[1] if input.ndim >= 2 else input.shape[0]
    if target.numel() and 0 <= int(target.array.min()) and int(target.array.max()) < classes:
        return   # every target a class: nothing to mask out (the mask and its copy cost most of this check)
    valid = target.array != ignore_index
    values = target.array[valid]
    if values.size and (int(values.min()) < 0 or int(values.max()) >= classes):
        bad = int(values.max()) if int(values.max()) >= classes else int(values.min())
        raise IndexError(
            f"{name}: target value {bad} is out of range for {classes} classes (input shape {input.shape}, "
            f"target shape {target.shape}); targets must be in [0, {classes - 1}] or equal ignore_index={ignore_index}"
        )


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    r"""Negative log-likelihood of log-probabilities: :math:`\ell_n = -w_{y_n}\, x_{n, y_n}`.

    input (N, C) or (N, C, d…) or (C,); target (N,) / (N, d…) / () of class indices.
    'mean' divides by :math:`\sum_n w_{y_n}` over the non-ignored targets.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.nll_loss(cr.log(cr.tensor([[0.5, 0.5]])), cr.tensor([0]))
        tensor(0.6931)
    """
    _check_tensor(input, "nll_loss")
    return _nll_loss(_in_float32(input), target, weight, ignore_index, reduction, "nll_loss").to(input.dtype)


def _mean_over_kept(total, count, kept):
    """total / count, the mean over the targets kept. With every target ignored it is 0/0 = NaN, as PyTorch's,
    but no row fed it, so its gradient is zero, as PyTorch's (the division would send NaN to every row)."""
    if not kept.any():
        return total + math.nan
    return total / count


def _nll_loss(input, target, weight, ignore_index, reduction, name):
    """nll_loss, with errors naming ``name`` (the loss the user called)."""
    _check_tensor(input, name)
    _check_tensor(target, name, "target")
    if input.ndim < 1:
        raise ValueError(f"{name}: expected an input with a class dim, got shape {input.shape}")
    unbatched = input.ndim == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.reshape(1)
    _check_class_targets(input, target, ignore_index, name)
    classes = input.shape[1]
    if weight is not None and tuple(weight.shape) != (classes,):
        raise ValueError(f"{name}: weight must have shape ({classes},) for input {input.shape}, got {weight.shape}")
    kept = target != ignore_index
    safe_target = ops.where(kept, target, 0)
    picked = input.gather(1, safe_target.unsqueeze(1)).squeeze(1)
    target_weight = kept.to(input.dtype)
    if weight is not None:
        target_weight = target_weight * weight[safe_target]
    loss = -picked * target_weight
    if reduction == "mean":
        return _mean_over_kept(loss.sum(), target_weight.sum(), kept.array)
    if unbatched and reduction == "none":
        return loss.reshape(())
    return _reduce(loss, reduction, name)


def _softmax_cross_entropy(input, target, ignore_index, reduction, name):
    """The common case of cross_entropy (2-D logits, class indices, no weight or smoothing) as one primitive."""
    _check_class_targets(input, target, ignore_index, name)
    if not input.is_floating_point():
        raise TypeError(f"{name}: logits must be floating point, got {input.dtype}")
    kept = target.array != ignore_index
    if reduction == "mean" and not kept.any():
        # The fused rule would divide by the count of kept rows, 0, and send NaN to every row.
        summed = apply(SoftmaxCrossEntropy, input, target=target.array, kept=kept, reduction="sum")
        return _mean_over_kept(summed, None, kept)
    return apply(SoftmaxCrossEntropy, input, target=target.array, kept=kept, reduction=reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    r"""Cross-entropy from logits: :math:`\ell_n = -w_{y_n} \log\operatorname{softmax}(x_n)_{y_n}`, via log-softmax (stable).

    ``target`` holds class indices (N,) or class probabilities of the input's shape.
    ``label_smoothing`` ε mixes the target with the uniform distribution:
    :math:`(1-\varepsilon)\,\text{nll} + \frac{\varepsilon}{C}\sum_c -w_c \log p_c`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.cross_entropy(cr.tensor([[1000.0, 0.0]]), cr.tensor([1]))   # finite: 1000
        tensor(1000.)
    """
    name = "cross_entropy"
    _check_tensor(input, name)
    _check_tensor(target, name, "target")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.ndim < 1:
        raise ValueError(f"{name}: expected logits with a class dim, got shape {input.shape}")
    loss = _cross_entropy(_in_float32(input), target, weight, ignore_index, reduction, label_smoothing, name)
    return loss.to(input.dtype)


def _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing, name):
    """cross_entropy on checked arguments (float16 logits come already cast to float32)."""
    class_dim = 1 if input.ndim >= 2 else 0
    classes = input.shape[class_dim]
    if (input.ndim == 2 and target.dtype.kind in "iu" and weight is None and label_smoothing == 0
            and reduction in ("mean", "sum", "none")):
        return _softmax_cross_entropy(input, target, ignore_index, reduction, name)
    log_p = ops.log_softmax(input, class_dim)
    weight_shape = [1] * input.ndim
    weight_shape[class_dim] = classes
    if weight is not None and tuple(weight.shape) != (classes,):
        raise ValueError(f"{name}: weight must have shape ({classes},) for input {input.shape}, got {weight.shape}")

    if target.dtype.kind == "f":  # class probabilities
        if target.shape != input.shape:
            raise ValueError(
                f"{name}: probability targets must have the input's shape {input.shape}, got {target.shape}"
            )
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / classes
        terms = log_p * target
        if weight is not None:
            terms = terms * weight.reshape(weight_shape)
        loss = -terms.sum(class_dim)
        if reduction == "mean":
            return loss.sum() / (input.numel() // classes)
        return _reduce(loss, reduction, name)

    nll = _nll_loss(log_p, target, weight, ignore_index, reduction, name)
    if label_smoothing == 0:
        return nll
    terms = log_p if weight is None else log_p * weight.reshape(weight_shape)
    kept = target != ignore_index
    smooth = ops.where(kept, -terms.sum(class_dim), 0.0)
    if reduction == "mean":
        if weight is None:
            count = kept.sum().to(input.dtype)
        else:
            count = (weight[ops.where(kept, target, 0)] * kept.to(input.dtype)).sum()
        smooth = _mean_over_kept(smooth.sum(), count, kept.array)
    else:
        smooth = _reduce(smooth, reduction, name)
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / classes)


def kl_div(input, target, reduction="mean", log_target=False):
    r"""Kullback–Leibler divergence with ``input`` = log q: :math:`\ell = y(\ln y - x)` (0 where y = 0).

    With ``log_target`` the target is log y: :math:`\ell = e^{y}(y - x)`. Use
    reduction='batchmean' for the true KL divergence per sample ('mean' averages over every element).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> p, q = cr.tensor([[0.5, 0.5]]), cr.tensor([[0.25, 0.75]])
        >>> F.kl_div(cr.log(q), p, reduction="batchmean")   # KL(p‖q) = 0.5 ln 2 + 0.5 ln(2/3)
        tensor(0.1438)
    """
    name = "kl_div"
    _check_same_shape(input, target, name)
    if log_target:
        loss = ops.exp(target) * (target - input)
    else:
        positive = target > 0
        # log of 1 where y = 0, so y·ln y is 0 there and its gradient stays finite
        loss = ops.where(positive, target * ops.log(ops.where(positive, target, 1.0)), 0.0) - target * input
    if reduction == "batchmean":
        return (_in_float32(loss).sum() / (input.shape[0] if input.ndim else 1)).to(loss.dtype)
    return _reduce(loss, reduction, name)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction="mean"):
    r""":math:`\ell = \max(0, -y(x_1 - x_2) + \text{margin})`, y ∈ {1, −1}, reduced by ``reduction``.

    y = 1 asks for :math:`x_1 > x_2` (by at least the margin), y = −1 for :math:`x_2 > x_1`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> x1, x2, y = cr.tensor([1.0, 2.0]), cr.tensor([2.0, 1.0]), cr.tensor([1.0, 1.0])
        >>> F.margin_ranking_loss(x1, x2, y, reduction="none")
        tensor([1., 0.])
    """
    name = "margin_ranking_loss"
    _check_same_shape(input1, input2, name)
    _check_same_shape(input1, target, name)
    return _reduce(ops.relu(-target * (input1 - input2) + margin), reduction, name)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    r""":math:`\ell = 1 - \cos(x_1, x_2)` if y = 1, :math:`\max(0, \cos(x_1, x_2) - \text{margin})` if y = −1.

    The cosine is :math:`x_1 \cdot x_2 / \sqrt{(\|x_1\|^2 + \epsilon)(\|x_2\|^2 + \epsilon)}` with ε = 1e−12 (PyTorch's).
    Inputs (N, D) with targets (N,), reduced by ``reduction``.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> x1, x2 = cr.tensor([[1.0, 0.0], [1.0, 0.0]]), cr.tensor([[0.0, 1.0], [2.0, 0.0]])
        >>> F.cosine_embedding_loss(x1, x2, cr.tensor([1, -1]), reduction="none")   # 1 − 0, max(0, 1 − 0)
        tensor([1., 1.])
    """
    name = "cosine_embedding_loss"
    _check_same_shape(input1, input2, name)
    _check_tensor(target, name, "target")
    if input1.ndim not in (1, 2) or tuple(target.shape) != tuple(input1.shape[:-1]):
        raise ValueError(
            f"{name}: inputs of shape (N, D) need a target of shape (N,) (or (D,) inputs and a scalar target); "
            f"got inputs {input1.shape} and target {target.shape}"
        )
    epsilon = 1e-12
    x1, x2 = _in_float32(input1), _in_float32(input2)
    dot = (x1 * x2).sum(-1)
    norms = ((x1 * x1).sum(-1) + epsilon) * ((x2 * x2).sum(-1) + epsilon)
    cosine = dot / norms.sqrt()
    loss = ops.where(target == 1, 1.0 - cosine, 0.0) + ops.where(target == -1, ops.relu(cosine - margin), 0.0)
    return _reduce(loss, reduction, name).to(promote_types(input1.dtype, input2.dtype))
