"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
from chainrule.kernels import fusable
from chainrule.kernels.optim import rmsprop_step
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.parallel import ParallelUpdates


class RMSprop(ParallelUpdates, Optimizer):
    r"""RMSprop (Hinton, 2012), as ``torch.optim.RMSprop`` (same arguments and defaults).

    With gradient :math:`g_t` (negated if ``maximize``):

    .. math::
        g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \\
        v_t &= \alpha\, v_{t-1} + (1-\alpha)\, g_t^2 \\
        \bar g_t &= \alpha\, \bar g_{t-1} + (1-\alpha)\, g_t, \quad
            \tilde v_t = v_t - \bar g_t^2 \ \text{(centered)}, \quad \tilde v_t = v_t \ \text{(otherwise)} \\
        b_t &= \mu\, b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon), \quad \theta_t = \theta_{t-1} - \eta\, b_t
            && (\mu > 0) \\
        \theta_t &= \theta_{t-1} - \eta\, g_t / (\sqrt{\tilde v_t} + \epsilon) && (\mu = 0)

    Unlike Adagrad's ever-growing sum, the running average forgets old gradients,
    so the step size does not decay to zero. ``centered`` divides by an estimate
    of the gradient's variance instead of its raw second moment.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([2.0, -1.0], requires_grad=True)
        >>> opt = cr.optim.RMSprop([x], lr=0.01)
        >>> for _ in range(300):
        ...     opt.zero_grad(); (x * x).sum().backward(); opt.step()
        >>> bool((x.abs() < 0.05).all())
        True
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, *,
                 maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        self._check_fraction(group, "alpha", "it is the decay rate of the squared-gradient average, e.g. 0.99",
                             include_one=True)
        self._check_non_negative(group, "eps", "it keeps the denominator away from 0; e.g. 1e-8")
        self._check_non_negative(group, "weight_decay", "use 0 for none")
        self._check_non_negative(group, "momentum", "use 0 for none, e.g. 0.9")

    def init_state(self, param, group, xp):
        state = {"step": 0, "square_avg": xp.zeros_like(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = xp.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = xp.zeros_like(param)
        return state

    def update(self, param, grad, state, group, xp):
        alpha, lr, momentum = group["alpha"], group["lr"], group["momentum"]
        state["step"] += 1
        buffers = [state[name] for name in ("square_avg", "grad_avg", "momentum_buffer") if name in state]
        if fusable(xp, param, grad, *buffers):       # the compiled twin of the lines below, one pass
            rmsprop_step(param, grad, state["square_avg"], state.get("grad_avg"), state.get("momentum_buffer"),
                         maximize=group["maximize"], weight_decay=group["weight_decay"], alpha=alpha,
                         momentum=momentum, eps=group["eps"], lr=lr)
            return
        g = self._effective_grad(param, grad, group, group["weight_decay"], xp)
        scratch = self._workspace(param, "scratch")
        square_avg = state["square_avg"]

        square_avg *= alpha                          # v ← α·v + (1-α)·g²
        xp.multiply(g, g, out=scratch)
        scratch *= 1 - alpha
        square_avg += scratch
        if group["centered"]:
            grad_avg = state["grad_avg"]             # ḡ ← α·ḡ + (1-α)·g
            grad_avg *= alpha
            xp.multiply(g, 1 - alpha, out=scratch)
            grad_avg += scratch
            xp.multiply(grad_avg, grad_avg, out=scratch)
            xp.subtract(square_avg, scratch, out=scratch)
            xp.sqrt(scratch, out=scratch)            # √(v - ḡ²)
        else:
            xp.sqrt(square_avg, out=scratch)
        scratch += group["eps"]
        xp.divide(g, scratch, out=scratch)           # g / (√ṽ + ε)

        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer *= momentum
            buffer += scratch
            xp.multiply(buffer, lr, out=scratch)
        else:
            scratch *= lr
        param -= scratch
