r"""Gradient clipping: keep one bad batch from throwing the parameters far away.

Both functions act in place on ``p.grad`` between ``loss.backward()`` and
``optimizer.step()``, and record no graph.
"""
import math

from chainrule.backends import array_module
from chainrule.core.tensor import Tensor


def _parameters_with_grad(parameters):
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in parameters if p.grad is not None]


def _in_float32(array, xp):
    return array.astype(xp.float32) if array.dtype == xp.float16 else array


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    r"""Scale all gradients together so that their joint norm is at most ``max_norm``; return the norm before.

    The norm is taken over all gradients as if concatenated into one vector,
    :math:`N = \lVert (\lVert g_1\rVert_p, \dots, \lVert g_k\rVert_p) \rVert_p`
    (``norm_type`` :math:`p`, ``inf`` for the largest absolute value). Then every
    gradient is multiplied by

    .. math::
        c = \min\Big(1, \frac{\text{max\_norm}}{N + 10^{-6}}\Big),

    which keeps the direction of the full gradient and only shortens it, as
    ``torch.nn.utils.clip_grad_norm_`` does.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.utils import clip_grad_norm_
        >>> w = cr.tensor([0.0, 0.0], requires_grad=True)
        >>> w.grad = cr.tensor([3.0, 4.0])
        >>> clip_grad_norm_([w], max_norm=1.0).item()       # the norm before clipping
        5.0
        >>> [round(v, 4) for v in w.grad.tolist()]           # now of norm 1
        [0.6, 0.8]

    Args:
        parameters: a tensor or an iterable of tensors (those without ``.grad`` are skipped).
        max_norm: the largest allowed norm.
        norm_type: :math:`p` of the p-norm (default 2; ``float('inf')`` for the max-norm).
        error_if_nonfinite: raise if the norm is nan or inf, instead of scaling by nan.
    Returns:
        The total norm :math:`N` (a 0-d tensor), measured before clipping.
    """
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not max_norm >= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be a non-negative number, got {max_norm}")
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be positive (2.0, 1.0 or inf), got {norm_type}")
    with_grad = _parameters_with_grad(parameters)
    if not with_grad:
        return Tensor._wrap(array_module(0.0).asarray(0.0, dtype="float32"))
    xp = array_module(with_grad[0].grad.array)

    if math.isinf(norm_type):
        norms = [xp.abs(p.grad.array).max() for p in with_grad]
        total = xp.max(xp.stack(norms))
    else:
        # float16 gradients are summed in float32 (PyTorch's accumulation type): their squares overflow at 256.
        norms = [xp.sum(xp.abs(_in_float32(p.grad.array, xp)) ** norm_type) ** (1.0 / norm_type) for p in with_grad]
        total = xp.sum(xp.stack(norms) ** norm_type) ** (1.0 / norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of the gradients is {float(total)} (not finite), so they cannot be "
            "clipped; look for a nan/inf in the loss or the inputs, or pass error_if_nonfinite=False"
        )
    coefficient = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for p in with_grad:
        p.grad.array *= coefficient.astype(p.grad.array.dtype)
    return Tensor._wrap(xp.asarray(total).astype(with_grad[0].grad.dtype, copy=False))


def clip_grad_value_(parameters, clip_value):
    r"""Clamp every gradient entry into :math:`[-c, c]` in place (``clip_value`` :math:`c`).

    Unlike ``clip_grad_norm_`` this changes the gradient's direction: each
    coordinate is cut on its own.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.utils import clip_grad_value_
        >>> w = cr.tensor([0.0, 0.0, 0.0], requires_grad=True)
        >>> w.grad = cr.tensor([-3.0, 0.5, 2.0])
        >>> clip_grad_value_([w], 1.0)
        >>> w.grad.tolist()
        [-1.0, 0.5, 1.0]
    """
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be a non-negative number, got {clip_value}")
    for p in _parameters_with_grad(parameters):
        xp = array_module(p.grad.array)
        xp.clip(p.grad.array, -clip_value, clip_value, out=p.grad.array)
