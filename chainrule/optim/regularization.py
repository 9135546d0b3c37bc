r"""Penalties added to the loss: L1 and L2 regularization as differentiable scalars.

Coupled vs decoupled weight decay, in one place:

* **Coupled (L2 in the loss).** Minimize :math:`L(\theta) + \tfrac{\lambda}{2}\lVert\theta\rVert_2^2`.
  The penalty adds :math:`\lambda\theta` to the gradient. ``SGD(weight_decay=λ)``,
  ``Adam(weight_decay=λ)`` and the others do exactly this without building the
  penalty into the graph; ``loss + (λ/2)·l2_penalty(params)`` does it through autodiff.
* **Decoupled.** ``AdamW`` shrinks :math:`\theta \leftarrow (1-\eta\lambda)\theta`
  outside the adaptive step. For SGD the two coincide; for Adam they do not,
  because Adam divides every gradient (the penalty's too) by :math:`\sqrt{v}`.
* **L1.** :math:`\lambda\lVert\theta\rVert_1` pushes weights to exactly zero (sparsity);
  its (sub)gradient is :math:`\lambda\,\operatorname{sign}(\theta)`. No optimizer
  option does this: add ``λ·l1_penalty(params)`` to the loss.
"""
from chainrule.core.tensor import Tensor


def _as_list(parameters, caller):
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not parameters:
        raise ValueError(f"{caller}: got no parameters; pass model.parameters() or a list of tensors")
    return parameters


def l1_penalty(parameters):
    r"""The L1 norm of all parameters together, :math:`\sum_i \lVert\theta_i\rVert_1 = \sum |\theta|`.

    A differentiable scalar: its gradient is :math:`\operatorname{sign}(\theta)` (0 at 0).

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> penalty = cr.optim.regularization.l1_penalty([w])
        >>> penalty.item()
        3.0
        >>> penalty.backward(); w.grad.tolist()
        [1.0, -1.0]
    """
    total = None
    for p in _as_list(parameters, "l1_penalty"):
        term = p.abs().sum()
        total = term if total is None else total + term
    return total


def l2_penalty(parameters):
    r"""The squared L2 norm of all parameters together, :math:`\sum_i \lVert\theta_i\rVert_2^2 = \sum \theta^2`.

    A differentiable scalar with gradient :math:`2\theta`. Adding
    ``(λ/2)·l2_penalty(params)`` to the loss is the same as ``weight_decay=λ`` in
    ``SGD`` or ``Adam`` (coupled L2).

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> penalty = cr.optim.regularization.l2_penalty([w])
        >>> penalty.item()
        5.0
        >>> penalty.backward(); w.grad.tolist()
        [2.0, -4.0]
    """
    total = None
    for p in _as_list(parameters, "l2_penalty"):
        term = (p * p).sum()
        total = term if total is None else total + term
    return total
