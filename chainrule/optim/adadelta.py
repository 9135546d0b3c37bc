"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
from chainrule.kernels import fusable
from chainrule.kernels.optim import adadelta_step
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.parallel import ParallelUpdates


class Adadelta(ParallelUpdates, Optimizer):
    r"""Adadelta (Zeiler, 2012), as ``torch.optim.Adadelta`` (same arguments and defaults).

    With gradient :math:`g_t` (negated if ``maximize``):

    .. math::
        g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \\
        v_t &= \rho\, v_{t-1} + (1-\rho)\, g_t^2 \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\; g_t \\
        u_t &= \rho\, u_{t-1} + (1-\rho)\, \Delta_t^2 \\
        \theta_t &= \theta_{t-1} - \eta\, \Delta_t

    The ratio of the two root-mean-squares carries the units of :math:`\theta`, so
    the method needs (almost) no learning rate: the default is ``lr=1``.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([2.0, -1.0], requires_grad=True)
        >>> opt = cr.optim.Adadelta([x], lr=10.0)
        >>> for _ in range(300):
        ...     opt.zero_grad(); (x * x).sum().backward(); opt.step()
        >>> bool((x * x).sum() < 0.01)          # from 5.0
        True
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, maximize=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        self._check_fraction(group, "rho", "it is the decay rate of the running averages, e.g. 0.9", include_one=True)
        self._check_non_negative(group, "eps", "it keeps the square roots away from 0; e.g. 1e-6")
        self._check_non_negative(group, "weight_decay", "use 0 for none")

    def init_state(self, param, group, xp):
        return {"step": 0, "square_avg": xp.zeros_like(param), "acc_delta": xp.zeros_like(param)}

    def update(self, param, grad, state, group, xp):
        rho, eps = group["rho"], group["eps"]
        state["step"] += 1
        if fusable(xp, param, grad, state["square_avg"], state["acc_delta"]):   # the compiled twin of the lines below
            adadelta_step(param, grad, state["square_avg"], state["acc_delta"], maximize=group["maximize"],
                          weight_decay=group["weight_decay"], rho=rho, eps=eps, lr=group["lr"])
            return
        g = self._effective_grad(param, grad, group, group["weight_decay"], xp)
        scratch = self._workspace(param, "scratch")
        delta = self._workspace(param, "delta")
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]

        square_avg *= rho                            # v ← ρ·v + (1-ρ)·g²
        xp.multiply(g, g, out=scratch)
        scratch *= 1 - rho
        square_avg += scratch
        xp.add(square_avg, eps, out=scratch)         # √(v + ε)
        xp.sqrt(scratch, out=scratch)
        xp.add(acc_delta, eps, out=delta)            # Δ = √(u + ε)/√(v + ε)·g
        xp.sqrt(delta, out=delta)
        delta /= scratch
        delta *= g
        acc_delta *= rho                             # u ← ρ·u + (1-ρ)·Δ²
        xp.multiply(delta, delta, out=scratch)
        scratch *= 1 - rho
        acc_delta += scratch
        delta *= group["lr"]                         # θ ← θ - η·Δ
        param -= delta
