"""The three primitives of nn: the affine map of Linear, fused standardization (the core of every
normalization layer) and PyTorch's clamped binary cross-entropy. Everything else in nn is
composed from chainrule.ops.

Each has its forward on raw arrays (through ``xp``) and its derivative written with tensor
ops beside it, so higher derivatives work; the tests check both against the composed
formula and against PyTorch.
"""
import chainrule as cr
from chainrule.core.grad_mode import is_grad_enabled
from chainrule.core.primitive import Primitive
from chainrule.core.tensor import Tensor


class Affine(Primitive):
    r"""The affine map of a Linear layer, :math:`y = x W^\top + b`, as one op.

    Composed, it is three ops (a transpose, a matmul, an add) and the weight's gradient
    arrives as a transposed view. Fused, the forward adds the bias into the product in
    place, and the weight's gradient :math:`\bar W = \bar y^\top x` comes out in W's own
    layout, which the optimizer's in-place update then reads at full speed (the MLP
    benchmark in benchmarks/bench_core.py measures the difference). Leading dims of x are
    batch dims.
    """

    name = "affine"
    formula = r"y = x W^{\top} + b"
    derivatives = (r"\bar x = \bar y W", r"\bar W = \bar y^{\top} x", r"\bar b = \textstyle\sum_{\text{batch}} \bar y")

    @staticmethod
    def forward(xp, x, weight, bias=None):
        flat = x.reshape(-1, x.shape[-1])
        out = xp.dot(flat, weight.T)
        if bias is not None:
            out += bias
        return out.reshape(x.shape[:-1] + (weight.shape[0],))

    @staticmethod
    def grad_x(g, out, x, weight, bias=None):
        return g @ weight

    @staticmethod
    def grad_weight(g, out, x, weight, bias=None):
        return g.reshape(-1, g.shape[-1]).mT @ x.reshape(-1, x.shape[-1])

    @staticmethod
    def grad_bias(g, out, x, weight, bias=None):
        return g.reshape(-1, g.shape[-1]).sum(0)

    vjps = (grad_x, grad_weight, grad_bias)


class Standardize(Primitive):
    r"""Standardize over ``axes``: :math:`\hat x = (x - \mu) / \sqrt{\sigma^2 + \epsilon}` with μ, σ² the mean and
    biased variance over those axes.

    One primitive instead of the ~8 ops of the composed formula: the forward makes one
    full-size temporary instead of six, and the backward is the closed form
    :math:`\bar x = \frac{1}{\sqrt{\sigma^2+\epsilon}}\big(\bar y - \operatorname{mean}(\bar y) - \hat x\,\operatorname{mean}(\bar y \hat x)\big)`.
    ``statistics`` = (mean, var) may pass precomputed values (BatchNorm needs them for its running estimates).
    """

    name = "standardize"
    formula = r"\hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}"
    derivatives = (r"\bar x = \frac{1}{\sqrt{\sigma^2+\epsilon}}\left(\bar y - \overline{\bar y} - \hat x\,\overline{\bar y \hat x}\right)",)

    @staticmethod
    def forward(xp, x, axes, eps, statistics=None):
        if statistics is None:
            mean = x.mean(axis=axes, keepdims=True)
            centered = x - mean
            var = (centered * centered).mean(axis=axes, keepdims=True)
        else:
            mean, var = statistics
            centered = x - mean
        centered *= (1.0 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        return centered

    @staticmethod
    def grad_x(g, out, x, axes, eps, statistics=None):
        if is_grad_enabled() or statistics is None:
            # Recording a differentiable backward (create_graph=True): rstd must be a function of x.
            rstd = (x.var(axes, keepdim=True, correction=0) + eps).rsqrt()
        else:
            rstd = Tensor._wrap((1.0 / x.xp.sqrt(statistics[1] + eps)).astype(x.dtype, copy=False))
        mean_g = g.mean(axes, keepdim=True)
        mean_g_out = (g * out).mean(axes, keepdim=True)
        return rstd * (g - mean_g - out * mean_g_out)

    vjps = (grad_x,)


class BinaryCrossEntropy(Primitive):
    """Elementwise BCE of probabilities with PyTorch's clamps, as a primitive so that its gradient is
    PyTorch's too: at p = 0 or 1 the composed form's clamped log would give a zero gradient, while the
    true slope is huge; here it is (p − y)/max(p(1−p), 10⁻¹²)."""

    name = "binary_cross_entropy"
    formula = r"\ell = -[y \max(\ln p, -100) + (1 - y)\max(\ln(1 - p), -100)]"
    derivatives = (r"\bar{p} = \bar{\ell}\, \frac{p - y}{\max(p(1 - p), 10^{-12})}",
                   r"\bar{y} = \bar{\ell}\, [\max(\ln(1 - p), -100) - \max(\ln p, -100)]")

    @staticmethod
    def forward(xp, p, y):
        with xp.errstate(divide="ignore"):
            log_p = xp.maximum(xp.log(p), -100.0)
            log_not_p = xp.maximum(xp.log1p(-p), -100.0)
        return (-(y * log_p + (1 - y) * log_not_p)).astype(p.dtype, copy=False)

    @staticmethod
    def grad_p(g, out, p, y):
        return g * (p - y) / cr.clamp(p * (1 - p), min=1e-12)

    @staticmethod
    def grad_y(g, out, p, y):
        return g * (cr.clamp(cr.log1p(-p), min=-100.0) - cr.clamp(cr.log(p), min=-100.0))

    vjps = (grad_p, grad_y)


class WindowMax(Primitive):
    r"""The largest value of each pooling window, :math:`y_{c,m} = \max_k w_{c,k,m}`, with its gradient sent to
    the first maximum only (PyTorch's max pooling rule).

    ``first_max`` is a constant boolean mask of the windows' shape, True at the one position of each
    window that takes the gradient; ``max_pool2d`` computes it from the data, as BatchNorm computes
    its statistics. The backward is then one multiply, :math:`\bar w = \bar y \cdot \text{first\_max}`.
    Composed (a gather at the argmax and, in backward, a scatter into zeros) the small-CNN pooling
    took about 7 ms of a 40 ms training step in benchmarks/bench_nn.py; this way about 2 ms.
    """

    name = "window_max"
    formula = r"y_{c,m} = \max_k w_{c,k,m}"
    derivatives = (r"\bar w_{c,k,m} = \bar y_{c,m}\,[k = \text{first } \arg\max_k w_{c,k,m}]",)

    @staticmethod
    def forward(xp, windows, first_max):
        return windows.max(axis=1)  # NaN propagates, as in PyTorch

    @staticmethod
    def grad_windows(g, out, windows, first_max):
        return g.unsqueeze(1) * first_max

    vjps = (grad_windows,)
