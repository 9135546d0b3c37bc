"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""
from chainrule.kernels import fusable
from chainrule.kernels.optim import sgd_step
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.parallel import ParallelUpdates


class SGD(ParallelUpdates, Optimizer):
    r"""Stochastic gradient descent (PyTorch's ``torch.optim.SGD``, same arguments and defaults).

    With gradient :math:`g_t = \nabla f(\theta_{t-1})` (negated if ``maximize``):

    .. math::
        g_t &\leftarrow g_t + \lambda\,\theta_{t-1}                      && \text{(weight\_decay } \lambda\text{)} \\
        b_t &= \mu\, b_{t-1} + (1-\tau)\, g_t,\quad b_1 = g_1             && \text{(momentum } \mu\text{, dampening } \tau\text{)} \\
        d_t &= g_t + \mu\, b_t \ \text{(nesterov)}, \quad d_t = b_t \ \text{(otherwise)}, \quad d_t = g_t \ (\mu = 0) \\
        \theta_t &= \theta_{t-1} - \eta\, d_t

    *Mini-batch or full-batch.* "Stochastic" refers to the gradient: computed on
    a random mini-batch it is a noisy estimate of the full gradient. Plain
    (full-batch) gradient descent is this same optimizer with the loss computed
    over the whole data set at every step:

        >>> import chainrule as cr
        >>> _ = cr.manual_seed(0)
        >>> X = cr.randn(100, 3); y = X @ cr.tensor([1.0, -2.0, 0.5])
        >>> w = cr.zeros(3, requires_grad=True)
        >>> opt = cr.optim.SGD([w], lr=0.1)            # full-batch gradient descent
        >>> for _ in range(200):
        ...     opt.zero_grad()
        ...     ((X @ w - y) ** 2).mean().backward()   # loss over ALL 100 rows
        ...     opt.step()
        >>> [round(v, 3) for v in w.tolist()]
        [1.0, -2.0, 0.5]

    *Weight decay here is coupled L2 regularization*: adding
    :math:`\tfrac{\lambda}{2}\lVert\theta\rVert^2` to the loss adds
    :math:`\lambda\theta` to the gradient, which is exactly what ``weight_decay``
    does. For plain SGD this equals shrinking the weights by :math:`(1-\eta\lambda)`
    each step; for adaptive methods it does not (see ``AdamW``).

    Args:
        params: tensors (or parameter groups) to optimize.
        lr: the learning rate :math:`\eta` (default 1e-3).
        momentum: :math:`\mu` (default 0).
        dampening: :math:`\tau`, the share of the new gradient left out of the buffer (default 0).
        weight_decay: :math:`\lambda`, coupled L2 penalty (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: ascend instead of descend.
    """

    # Four cheap passes per parameter, bound by memory: on two cores a second
    # thread measured slower than one (benchmarks/bench_optim.py), so SGD stays on one.
    threads = 1

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        self._check_non_negative(group, "momentum", "use 0 for none, 0.9 is common")
        self._check_non_negative(group, "weight_decay", "use 0 for none, e.g. 5e-4")
        self._check_fraction(group, "dampening", "it is the share of the new gradient left out of the buffer", include_one=True)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: nesterov=True needs momentum > 0 and dampening = 0, got momentum={group['momentum']}, "
                f"dampening={group['dampening']}; set momentum (e.g. 0.9) and dampening=0, or nesterov=False"
            )

    def update(self, param, grad, state, group, xp):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        buffer = state.get("momentum_buffer")
        if fusable(xp, param, grad, *([] if buffer is None else [buffer])):   # the compiled twin, one pass
            first_step = momentum != 0 and buffer is None
            if first_step:
                buffer = state["momentum_buffer"] = xp.empty_like(param)    # the kernel starts it at g
            sgd_step(param, grad, buffer if momentum != 0 else None, maximize=group["maximize"],
                     weight_decay=group["weight_decay"], momentum=momentum, dampening=dampening,
                     nesterov=group["nesterov"], first_step=first_step, lr=lr)
            return
        g = self._effective_grad(param, grad, group, group["weight_decay"], xp)
        scratch = self._workspace(param, "scratch")

        direction = g
        if momentum != 0:
            if buffer is None:
                # The first step starts the buffer at g itself (no dampening), as PyTorch does.
                buffer = state["momentum_buffer"] = xp.array(g, copy=True)
            else:
                buffer *= momentum
                if dampening == 0:
                    buffer += g
                else:
                    xp.multiply(g, 1 - dampening, out=scratch)
                    buffer += scratch
            if group["nesterov"]:
                xp.multiply(buffer, momentum, out=scratch)
                scratch += g
                direction = scratch
            else:
                direction = buffer

        xp.multiply(direction, lr, out=scratch)
        param -= scratch
