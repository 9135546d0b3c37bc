"""RAdam: Adam with the variance of its adaptive step rectified early in training."""
import math

from chainrule.kernels import fusable
from chainrule.kernels.optim import radam_step
from chainrule.optim.adam_family import AdamFamily
from chainrule.optim.parallel import ParallelUpdates


class RAdam(ParallelUpdates, AdamFamily):
    r"""RAdam (Liu et al., 2020), as ``torch.optim.RAdam`` (same arguments and defaults).

    With gradient :math:`g_t` (negated if ``maximize``), at step :math:`t = 1, 2, \dots`:

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
        \rho_\infty &= \frac{2}{1-\beta_2} - 1, \qquad
            \rho_t = \rho_\infty - \frac{2 t\, \beta_2^t}{1-\beta_2^t} \\
        r_t &= \sqrt{\frac{(\rho_t-4)(\rho_t-2)\,\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}} \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{m_t}{1-\beta_1^t}\, r_t\, \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t}+\epsilon}
            && (\rho_t > 5) \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{m_t}{1-\beta_1^t} && (\rho_t \le 5)

    While too few gradients have been seen to trust :math:`v_t` (:math:`\rho_t \le 5`),
    RAdam takes plain momentum steps; then it scales the adaptive step by
    :math:`r_t \to 1`, a built-in warm-up. Weight decay is coupled
    (:math:`g_t \leftarrow g_t + \lambda\theta`) or, with ``decoupled_weight_decay``,
    :math:`\theta \leftarrow (1-\eta\lambda)\theta`.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([2.0, -1.0], requires_grad=True)
        >>> opt = cr.optim.RAdam([x], lr=0.1)
        >>> for _ in range(300):
        ...     opt.zero_grad(); (x * x).sum().backward(); opt.step()
        >>> bool((x.abs() < 0.05).all())
        True
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, decoupled_weight_decay=decoupled_weight_decay,
                         maximize=maximize)

    def init_state(self, param, group, xp):
        return {"step": 0, "exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}

    def update(self, param, grad, state, group, xp):
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        state["step"] += 1
        step = state["step"]

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2 ** step / bias_correction2
        rectified = rho_t > 5.0
        if rectified:
            rectification = math.sqrt(
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            )
            coefficient = lr * rectification * math.sqrt(bias_correction2) / bias_correction1
        else:
            coefficient = lr / bias_correction1
        if fusable(xp, param, grad, state["exp_avg"], state["exp_avg_sq"]):   # the compiled twin, one pass
            radam_step(param, grad, state["exp_avg"], state["exp_avg_sq"], maximize=group["maximize"],
                       weight_decay=group["weight_decay"], decoupled=group["decoupled_weight_decay"], lr=lr,
                       beta1=beta1, beta2=beta2, rectified=rectified, eps=group["eps"], coefficient=coefficient)
            return

        g = self._decayed_grad(param, grad, group, xp)           # g ← g + λθ   (decoupled: θ ← (1 − ηλ)θ)
        m = self._first_moment(param, g, state, beta1, xp)       # m ← β₁m + (1 − β₁)g
        v = self._second_moment(param, g, state, beta2, xp)      # v ← β₂v + (1 − β₂)g²
        scratch = self._workspace(param, "scratch")
        if rectified:
            xp.sqrt(v, out=scratch)
            scratch += group["eps"]
            xp.divide(m, scratch, out=scratch)
            scratch *= coefficient
        else:
            xp.multiply(m, coefficient, out=scratch)
        param -= scratch
