"""Adamax: Adam with the infinity norm in place of the root-mean-square."""
from chainrule.optim.optimizer import Optimizer


class Adamax(Optimizer):
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
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        self._check_betas(group)
        self._check_non_negative(group, "eps", "it keeps the denominator away from 0; e.g. 1e-8")
        self._check_non_negative(group, "weight_decay", "use 0 for none")

    def init_state(self, param, group, xp):
        return {"step": 0, "exp_avg": xp.zeros_like(param), "exp_inf": xp.zeros_like(param)}

    def update(self, param, grad, state, group, xp):
        beta1, beta2 = group["betas"]
        state["step"] += 1
        g = self._effective_grad(param, grad, group, group["weight_decay"], xp)
        scratch = self._workspace(param, "scratch")
        m, u = state["exp_avg"], state["exp_inf"]

        m *= beta1                                   # m ← β1·m + (1-β1)·g
        xp.multiply(g, 1 - beta1, out=scratch)
        m += scratch
        u *= beta2                                   # u ← max(β2·u, |g| + ε)
        xp.abs(g, out=scratch)
        scratch += group["eps"]
        xp.maximum(u, scratch, out=u)
        xp.divide(m, u, out=scratch)                 # θ ← θ - η/(1-β1ᵗ)·m/u
        scratch *= group["lr"] / (1 - beta1 ** state["step"])
        param -= scratch
