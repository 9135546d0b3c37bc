"""Adagrad: a per-coordinate learning rate from the sum of squared gradients."""
from chainrule.kernels import fusable
from chainrule.kernels.optim import adagrad_step
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.parallel import ParallelUpdates


class Adagrad(ParallelUpdates, Optimizer):
    r"""Adagrad (Duchi et al., 2011), as ``torch.optim.Adagrad`` (same arguments and defaults).

    With gradient :math:`g_t` (negated if ``maximize``), at step :math:`t = 1, 2, \dots`:

    .. math::
        g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \\
        \tilde\eta_t &= \eta \,/\, (1 + (t-1)\,\delta)                   && \text{(lr\_decay } \delta\text{)} \\
        s_t &= s_{t-1} + g_t^2, \quad s_0 = \text{initial\_accumulator\_value} \\
        \theta_t &= \theta_{t-1} - \tilde\eta_t\, \frac{g_t}{\sqrt{s_t} + \epsilon}

    Coordinates with a large gradient history take small steps; rarely-updated
    coordinates keep large ones. The sum only grows, so steps shrink over time.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([2.0, -1.0], requires_grad=True)
        >>> opt = cr.optim.Adagrad([x], lr=0.5)
        >>> for _ in range(200):
        ...     opt.zero_grad(); (x * x).sum().backward(); opt.step()
        >>> bool((x.abs() < 1e-3).all())
        True
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 *, maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        self._check_non_negative(group, "lr_decay", "use 0 for none")
        self._check_non_negative(group, "weight_decay", "use 0 for none")
        self._check_non_negative(group, "initial_accumulator_value", "use 0 (the default) or a small positive value")
        self._check_non_negative(group, "eps", "it keeps the denominator away from 0; e.g. 1e-10")

    def init_state(self, param, group, xp):
        return {"step": 0, "sum": xp.full_like(param, group["initial_accumulator_value"])}

    def update(self, param, grad, state, group, xp):
        state["step"] += 1
        decayed_lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        if fusable(xp, param, grad, state["sum"]):   # the compiled twin of the lines below, one pass
            adagrad_step(param, grad, state["sum"], maximize=group["maximize"], weight_decay=group["weight_decay"],
                         eps=group["eps"], decayed_lr=decayed_lr)
            return
        g = self._effective_grad(param, grad, group, group["weight_decay"], xp)
        scratch = self._workspace(param, "scratch")
        xp.multiply(g, g, out=scratch)               # s ← s + g²
        state["sum"] += scratch
        xp.sqrt(state["sum"], out=scratch)           # θ ← θ - η̃·g/(√s + ε)
        scratch += group["eps"]
        xp.divide(g, scratch, out=scratch)
        scratch *= decayed_lr
        param -= scratch
