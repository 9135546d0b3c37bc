"""NAdam: Adam with Nesterov momentum."""
import math

from chainrule.kernels import fusable
from chainrule.kernels.optim import nadam_step
from chainrule.optim.adam_family import AdamFamily
from chainrule.optim.parallel import ParallelUpdates


class NAdam(ParallelUpdates, AdamFamily):
    r"""NAdam (Dozat, 2016), as ``torch.optim.NAdam`` (same arguments and defaults).

    With gradient :math:`g_t` (negated if ``maximize``), at step :math:`t = 1, 2, \dots`, and
    the momentum schedule :math:`\mu_t = \beta_1\,(1 - \tfrac12\, 0.96^{t\psi})` (``momentum_decay`` :math:`\psi`):

    .. math::
        g_t &\leftarrow g_t + \lambda\,\theta_{t-1}
            \quad\text{or, decoupled,}\quad \theta_{t-1} \leftarrow (1-\eta\lambda)\,\theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
        d_t &= \sqrt{v_t / (1-\beta_2^t)} + \epsilon \\
        \theta_t &= \theta_{t-1}
            - \eta\, \frac{1-\mu_t}{1-\prod_{i\le t}\mu_i}\, \frac{g_t}{d_t}
            - \eta\, \frac{\mu_{t+1}}{1-\prod_{i\le t+1}\mu_i}\, \frac{m_t}{d_t}

    The second term looks one step ahead with the next momentum coefficient,
    which is Nesterov's trick applied to Adam's first moment.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([2.0, -1.0], requires_grad=True)
        >>> opt = cr.optim.NAdam([x], lr=0.05)
        >>> for _ in range(300):
        ...     opt.zero_grad(); (x * x).sum().backward(); opt.step()
        >>> bool((x.abs() < 0.05).all())
        True
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, momentum_decay=momentum_decay,
                         decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        self._check_non_negative(group, "momentum_decay", "the default is 4e-3")

    def init_state(self, param, group, xp):
        return {"step": 0, "mu_product": 1.0, "exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}

    def update(self, param, grad, state, group, xp):
        lr, psi = group["lr"], group["momentum_decay"]
        beta1, beta2 = group["betas"]
        state["step"] += 1
        step = state["step"]

        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        mu_product_next = mu_product * mu_next

        # θ ← θ - (a·g + b·m)/d with d = √(v/c2) + ε, a = η(1-μₜ)/(1-Πμ), b = ημₜ₊₁/(1-Πμ·μₜ₊₁).
        # Multiplying d, a and b by √c2 (d' = √v + ε√c2) gives the same step in
        # 7 passes over the arrays instead of 9: one numerator, one division.
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
        grad_coefficient = lr * (1.0 - mu) / (1.0 - mu_product) * bias_correction2_sqrt
        momentum_coefficient = lr * mu_next / (1.0 - mu_product_next) * bias_correction2_sqrt
        eps_scaled = group["eps"] * bias_correction2_sqrt
        if fusable(xp, param, grad, state["exp_avg"], state["exp_avg_sq"]):   # the compiled twin, one pass
            nadam_step(param, grad, state["exp_avg"], state["exp_avg_sq"], maximize=group["maximize"],
                       weight_decay=group["weight_decay"], decoupled=group["decoupled_weight_decay"], lr=lr,
                       beta1=beta1, beta2=beta2, grad_coefficient=grad_coefficient,
                       momentum_coefficient=momentum_coefficient, eps_scaled=eps_scaled)
            return

        g = self._decayed_grad(param, grad, group, xp)           # g ← g + λθ   (decoupled: θ ← (1 − ηλ)θ)
        m = self._first_moment(param, g, state, beta1, xp)       # m ← β₁m + (1 − β₁)g
        v = self._second_moment(param, g, state, beta2, xp)      # v ← β₂v + (1 − β₂)g²
        scratch = self._workspace(param, "scratch")
        denominator = self._workspace(param, "denominator")
        xp.multiply(g, grad_coefficient, out=scratch)
        xp.multiply(m, momentum_coefficient, out=denominator)
        scratch += denominator                       # a·g + b·m (scaled by √c2)
        xp.sqrt(v, out=denominator)                  # d' = √v + ε·√c2
        denominator += eps_scaled
        scratch /= denominator
        param -= scratch
