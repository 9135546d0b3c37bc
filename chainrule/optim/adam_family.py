"""What the Adam family (Adam, AdamW, Adamax, NAdam, RAdam) shares: one checked constructor, the
coupled or decoupled weight decay, and the two running moments every member keeps.

Each member then writes only ``init_state`` and an ``update`` that reads as its formula.
"""
from chainrule.optim.optimizer import Optimizer


class AdamFamily(Optimizer):
    r"""Base of the Adam family: hyperparameters ``lr`` :math:`\eta`, ``betas`` :math:`(\beta_1, \beta_2)`,
    ``eps`` :math:`\epsilon` and ``weight_decay`` :math:`\lambda`, checked once here, plus each member's
    ``options`` (``amsgrad``, ``momentum_decay``, ``decoupled_weight_decay``, ``maximize``...).

    The shared pieces of an update, in place on raw arrays:

    .. math::
        g &\leftarrow g + \lambda\theta \quad\text{(coupled)} \qquad\text{or}\qquad
            \theta \leftarrow (1 - \eta\lambda)\,\theta \quad\text{(decoupled)} \\
        m &\leftarrow \beta_1 m + (1 - \beta_1)\, g, \qquad v \leftarrow \beta_2 v + (1 - \beta_2)\, g^2

    Example (a member of the family: Adam):
        >>> import chainrule as cr
        >>> opt = cr.optim.Adam([cr.zeros(2, requires_grad=True)], betas=(0.9, 1.5))
        Traceback (most recent call last):
            ...
        ValueError: Adam: betas[1] must be in [0, 1), got 1.5; betas are the decay rates of running averages (1 would never forget, and never learn), e.g. betas=(0.9, 0.999)
    """

    def __init__(self, params, lr, betas, eps, weight_decay, **options):
        betas = tuple(betas) if isinstance(betas, (tuple, list)) else betas   # a wrong type: _check_betas says so
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, **options)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        self._check_betas(group)
        self._check_non_negative(group, "eps", "it keeps the denominator away from 0; e.g. 1e-8")
        self._check_non_negative(group, "weight_decay", "use 0 for none, e.g. 1e-2")

    def _decayed_grad(self, param, grad, group, xp):
        """The gradient an update uses, with weight decay coupled or decoupled.

        Coupled (Adam's ``weight_decay``): g = grad + λθ, so the decay is rescaled by the
        adaptive denominator like the gradient. Decoupled (AdamW): θ ← θ(1 − ηλ) first,
        and g = grad, so every weight decays at the same rate (Loshchilov & Hutter 2019).
        """
        weight_decay = group["weight_decay"]
        if not group.get("decoupled_weight_decay", False):
            return self._effective_grad(param, grad, group, weight_decay, xp)
        if weight_decay != 0:
            param *= 1 - group["lr"] * weight_decay
        return self._effective_grad(param, grad, group, 0, xp)

    def _first_moment(self, param, g, state, beta1, xp):
        """In place: m ← β₁m + (1 − β₁)g, the running mean of the gradient (``exp_avg``); returns m."""
        m = state["exp_avg"]
        scratch = self._workspace(param, "scratch")
        m *= beta1
        xp.multiply(g, 1 - beta1, out=scratch)
        m += scratch
        return m

    def _second_moment(self, param, g, state, beta2, xp):
        """In place: v ← β₂v + (1 − β₂)g², the running mean of the squared gradient (``exp_avg_sq``); returns v."""
        v = state["exp_avg_sq"]
        scratch = self._workspace(param, "scratch")
        v *= beta2
        xp.multiply(g, g, out=scratch)
        scratch *= 1 - beta2
        v += scratch
        return v
