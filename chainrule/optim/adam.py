"""Adam and AdamW: adaptive moments, with coupled or decoupled weight decay."""
import math

from chainrule.kernels import fusable
from chainrule.kernels.optim import adam_step
from chainrule.optim.adam_family import AdamFamily
from chainrule.optim.parallel import ParallelUpdates


class Adam(ParallelUpdates, AdamFamily):
    r"""Adam (Kingma & Ba, 2015), as ``torch.optim.Adam`` (same arguments and defaults).

    With gradient :math:`g_t` (negated if ``maximize``), at step :math:`t = 1, 2, \dots`:

    .. math::
        g_t &\leftarrow g_t + \lambda\,\theta_{t-1}            && \text{(coupled weight decay, Adam)} \\
        \theta_{t-1} &\leftarrow (1 - \eta\lambda)\,\theta_{t-1} && \text{(decoupled weight decay, AdamW)} \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \ \text{(amsgrad)}, \quad \hat v_t = v_t \ \text{(otherwise)} \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{m_t / (1-\beta_1^t)}{\sqrt{\hat v_t / (1-\beta_2^t)} + \epsilon}

    *Coupled vs decoupled weight decay.* Adam's ``weight_decay`` adds
    :math:`\lambda\theta` to the gradient (L2 regularization), so the decay then
    passes through the adaptive scaling: weights with large gradient history are
    barely decayed. AdamW (Loshchilov & Hutter, 2019) instead shrinks the weights
    directly, :math:`\theta \leftarrow (1-\eta\lambda)\theta`, the same for every
    weight, outside the adaptive step. For SGD the two are the same thing.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([3.0, -4.0], requires_grad=True)
        >>> opt = cr.optim.Adam([x], lr=0.1)
        >>> for _ in range(300):
        ...     opt.zero_grad(); (x * x).sum().backward(); opt.step()
        >>> bool((x.abs() < 0.05).all())
        True

    Args:
        params: tensors (or parameter groups) to optimize.
        lr: :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)`, decay rates of the moment averages (default (0.9, 0.999)).
        eps: :math:`\epsilon`, added to the denominator for stability (default 1e-8).
        weight_decay: :math:`\lambda` (default 0).
        amsgrad: use the running maximum of :math:`v_t` (Reddi et al., 2018).
        maximize: ascend instead of descend.
        decoupled_weight_decay: shrink weights directly (AdamW) instead of adding to the gradient.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad=amsgrad, maximize=maximize,
                         decoupled_weight_decay=decoupled_weight_decay)

    def init_state(self, param, group, xp):
        state = {"step": 0, "exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = xp.zeros_like(param)
        return state

    def update(self, param, grad, state, group, xp):
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        state["step"] += 1
        t = state["step"]
        # θ ← θ − η·(m/c₁)/(√(v/c₂) + ε) with cᵢ = 1 − βᵢᵗ, computed as (η√c₂/c₁)·m/(√v + ε√c₂):
        # the same step with one pass fewer over the arrays.
        c1, sqrt_c2 = 1 - beta1 ** t, math.sqrt(1 - beta2 ** t)
        eps_scaled, step_size = eps * sqrt_c2, lr * sqrt_c2 / c1
        buffers = [state["exp_avg"], state["exp_avg_sq"]] + ([state["max_exp_avg_sq"]] if group["amsgrad"] else [])
        if fusable(xp, param, grad, *buffers):                  # the compiled twin of the lines below, one pass
            adam_step(param, grad, *buffers[:2], state.get("max_exp_avg_sq"), maximize=group["maximize"],
                      weight_decay=group["weight_decay"], decoupled=group.get("decoupled_weight_decay", False),
                      lr=lr, beta1=beta1, beta2=beta2, eps_scaled=eps_scaled, step_size=step_size)
            return

        g = self._decayed_grad(param, grad, group, xp)           # g ← g + λθ   (decoupled: θ ← (1 − ηλ)θ)
        m = self._first_moment(param, g, state, beta1, xp)       # m ← β₁m + (1 − β₁)g
        v = self._second_moment(param, g, state, beta2, xp)      # v ← β₂v + (1 − β₂)g²
        if group["amsgrad"]:
            v = xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])   # v̂ ← max(v̂, v)
        step = self._workspace(param, "scratch")
        xp.sqrt(v, out=step)
        step += eps_scaled
        xp.divide(m, step, out=step)
        step *= step_size
        param -= step


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    .. math::
        \theta_{t-1} &\leftarrow (1 - \eta\lambda)\,\theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{m_t/(1-\beta_1^t)}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}

    The decay acts on the weights directly, not through the gradient, so it is not
    rescaled by :math:`1/\sqrt{v_t}`: every weight shrinks by the same factor.
    (With Adam's coupled ``weight_decay`` the penalty gradient :math:`\lambda\theta`
    is divided by :math:`\sqrt{v_t}` like any gradient.) Default ``weight_decay=1e-2``.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, 1.0], requires_grad=True)
        >>> opt = cr.optim.AdamW([w], lr=0.1, weight_decay=0.5)
        >>> w.grad = cr.zeros(2)          # no loss gradient: only the decay acts
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]      # (1 - 0.1·0.5)·1
        [0.95, 0.95]
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
