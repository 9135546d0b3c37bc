"""Adamax: Adam with the infinity norm in place of the root-mean-square."""
from chainrule.kernels import fusable
from chainrule.kernels.optim import adamax_step
from chainrule.optim.adam_family import AdamFamily
from chainrule.optim.parallel import ParallelUpdates


class Adamax(ParallelUpdates, AdamFamily):
    r"""Adamax (Kingma & Ba, 2015, section 7), as ``torch.optim.Adamax`` (same arguments and defaults).

    With gradient :math:`g_t` (negated if ``maximize``), at step :math:`t = 1, 2, \dots`:

    .. math::
        g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
        u_t &= \max(\beta_2\, u_{t-1},\ |g_t| + \epsilon) \\
        \theta_t &= \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\, \frac{m_t}{u_t}

    :math:`u_t` is an exponentially weighted infinity norm of past gradients; it
    needs no bias correction.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([2.0, -1.0], requires_grad=True)
        >>> opt = cr.optim.Adamax([x], lr=0.1)
        >>> for _ in range(300):
        ...     opt.zero_grad(); (x * x).sum().backward(); opt.step()
        >>> bool((x.abs() < 0.05).all())
        True
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, maximize=maximize)

    def init_state(self, param, group, xp):
        return {"step": 0, "exp_avg": xp.zeros_like(param), "exp_inf": xp.zeros_like(param)}

    def update(self, param, grad, state, group, xp):
        beta1, beta2 = group["betas"]
        state["step"] += 1
        t = state["step"]
        step_size = group["lr"] / (1 - beta1 ** t)
        if fusable(xp, param, grad, state["exp_avg"], state["exp_inf"]):   # the compiled twin of the lines below
            adamax_step(param, grad, state["exp_avg"], state["exp_inf"], maximize=group["maximize"],
                        weight_decay=group["weight_decay"], beta1=beta1, beta2=beta2, eps=group["eps"],
                        step_size=step_size)
            return

        g = self._decayed_grad(param, grad, group, xp)           # g ← g + λθ
        m = self._first_moment(param, g, state, beta1, xp)       # m ← β₁m + (1 − β₁)g
        u, scratch = state["exp_inf"], self._workspace(param, "scratch")
        u *= beta2                                               # u ← max(β₂u, |g| + ε)
        xp.abs(g, out=scratch)
        scratch += group["eps"]
        xp.maximum(u, scratch, out=u)

        step = scratch                                           # θ ← θ − η/(1 − β₁ᵗ)·m/u
        xp.divide(m, u, out=step)
        step *= step_size
        param -= step
