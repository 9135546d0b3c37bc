"""Lion: the sign of an interpolated momentum, found by program search."""
from chainrule.kernels import fusable
from chainrule.kernels.optim import lion_step
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.parallel import ParallelUpdates


class Lion(ParallelUpdates, Optimizer):
    r"""Lion, "EvoLved Sign Momentum" (Chen et al., 2023, Algorithm 2). PyTorch has no Lion.

    With gradient :math:`g_t` (negated if ``maximize``):

    .. math::
        c_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
        \theta_t &= \theta_{t-1} - \eta\, \big(\operatorname{sign}(c_t) + \lambda\, \theta_{t-1}\big) \\
        m_t &= \beta_2 m_{t-1} + (1-\beta_2)\, g_t

    Every coordinate moves by exactly :math:`\pm\eta` (or 0), so the update has a
    larger norm than Adam's: the paper uses a learning rate 3-10x smaller than
    AdamW's and a weight decay 3-10x larger. Weight decay is decoupled, as in AdamW.
    Only one buffer (the momentum) is kept, half of Adam's memory.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([0.5, -0.25], requires_grad=True)
        >>> opt = cr.optim.Lion([x], lr=0.01)
        >>> for _ in range(200):
        ...     opt.zero_grad(); (x * x).sum().backward(); opt.step()
        >>> bool((x.abs() < 0.011).all())      # it ends hopping by ±lr around 0
        True

    Args:
        lr: :math:`\eta` (default 1e-4).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.99)).
        weight_decay: :math:`\lambda`, decoupled (default 0).
    """

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        self._check_betas(group)
        self._check_non_negative(group, "weight_decay", "use 0 for none; Lion likes 3-10x AdamW's value")

    def init_state(self, param, group, xp):
        return {"exp_avg": xp.zeros_like(param)}

    def update(self, param, grad, state, group, xp):
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if fusable(xp, param, grad, state["exp_avg"]):   # the compiled twin of the lines below, one pass
            lion_step(param, grad, state["exp_avg"], maximize=group["maximize"], weight_decay=weight_decay, lr=lr,
                      beta1=beta1, beta2=beta2)
            return
        g = self._effective_grad(param, grad, group, 0, xp)
        m = state["exp_avg"]
        direction = self._workspace(param, "direction")
        scratch = self._workspace(param, "scratch")

        xp.multiply(m, beta1, out=direction)         # c = β1·m + (1-β1)·g
        xp.multiply(g, 1 - beta1, out=scratch)
        direction += scratch
        xp.sign(direction, out=direction)
        if weight_decay != 0:                        # θ ← θ(1 - ηλ) - η·sign(c)
            param *= 1 - lr * weight_decay
        direction *= lr
        param -= direction
        m *= beta2                                   # m ← β2·m + (1-β2)·g
        xp.multiply(g, 1 - beta2, out=scratch)
        m += scratch
