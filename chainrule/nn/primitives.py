"""The primitives of nn: the affine map of Linear, fused softmax cross-entropy, fused
standardization (the core of every normalization layer) and training-mode batch norm, PyTorch's clamped binary
cross-entropy and the window max of pooling. Everything else in nn is composed from
chainrule.ops.

Each is a card: its forward on raw arrays (through ``xp``), its derivative written with
tensor ops beside it (so higher derivatives work) and its checks, which the op registry
sweeps (gradcheck, gradgradcheck, PyTorch); the public functions that apply them are in
nn/functional.py.
"""
import numpy   # only to know the array module: the layout choice below is measured with OpenBLAS

from chainrule import ops
from chainrule.core.creation import ones
from chainrule.core.grad_mode import is_grad_enabled
from chainrule.core.primitive import Check, Primitive
from chainrule.core.tensor import Tensor
from chainrule.ops.convolution import Unfold, col2im
from chainrule.ops.matmul import Matmul
from chainrule.ops.reduce import Sum


class Affine(Primitive):
    r"""The affine map of a Linear layer, :math:`y = x W^\top + b`, as one op.

    Composed, it is three ops (a transpose, a matmul, an add) and the weight's gradient
    arrives as a transposed view. Fused, the forward adds the bias into the product in
    place, and the weight's gradient :math:`\bar W = \bar y^\top x` comes out in W's own
    layout, which the optimizer's in-place update then reads at full speed (the MLP
    benchmark in benchmarks/bench_core.py measures the difference). Leading dims of x are
    batch dims.

    Example (through ``F.linear``, which runs this op for a 2-D weight; ``nn.Linear`` calls ``F.linear``):
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> x = cr.ones(2, 3, requires_grad=True)
        >>> F.linear(x, cr.ones(4, 3), cr.full((4,), 0.5))   # 1·1 + 1·1 + 1·1 + 0.5
        tensor([[3.5, 3.5, 3.5, 3.5],
                [3.5, 3.5, 3.5, 3.5]], grad_fn=<affine>)
    """

    name = "affine"
    formula = r"y = x W^{\top} + b"
    derivatives = (r"\bar x = \bar y W", r"\bar W = \bar y^{\top} x", r"\bar b = \textstyle\sum_{\text{batch}} \bar y")
    checks = (Check("linear", call=lambda lib, x, w, b: lib.nn.functional.linear(x, w, b),
                    shapes=(((3, 4), (5, 4), (5,)), ((2, 3, 4), (5, 4), (5,)))),)

    @staticmethod
    def forward(xp, x, weight, bias=None):
        flat = x.reshape(-1, x.shape[-1])
        rows, features = flat.shape[0], weight.shape[0]
        if xp is numpy and flat.dtype == xp.float32 and 4 * rows <= features:
            # Few rows (a batch of 128 into 512 features): OpenBLAS multiplies W·xᵀ faster than x·Wᵀ (1 thread,
            # 128×784 → 512: 1.03 ms against 1.14; 32 rows: 0.31 against 0.44), enough to pay for turning the
            # product back into rows, which the bias add does on its way (ȳ and the next layer read rows). Its
            # float32 sums are bitwise those of x·Wᵀ (tests/test_nn_affine.py); float64's are not, so float64
            # and the many-rows case (batch 256 and up: 4–20 % slower this way) keep the direct product.
            out = xp.empty((rows, features), dtype=flat.dtype)
            product_by_columns = xp.dot(weight, flat.T)
            if bias is None:
                out[...] = product_by_columns.T
            else:
                xp.add(product_by_columns.T, bias, out=out)
        else:
            out = xp.dot(flat, weight.T)
            if bias is not None:
                out += bias
        return out.reshape(x.shape[:-1] + (features,))

    # Each rule runs on raw arrays in a plain backward, through the forward of the op its tensor form would
    # call (the same NumPy calls, so the same bits): the op's dispatch cost 15-27 µs a rule, 0.17 ms of an MLP
    # step's 5.7. Recording the backward (create_graph=True), the rules are tensor ops, so they differentiate.
    @staticmethod
    def grad_x(g, out, x, weight, bias=None):
        # One GEMM over the leading dims folded into rows, as the forward does: matmul on a stack of
        # matrices runs one GEMM per matrix (x̄ of an LSTM's input projection, 50 × 64 rows: 18.6 ms
        # against 17.4 ms for one 3200-row GEMM, 1 thread).
        if not is_grad_enabled():
            flat = g.array.reshape(-1, g.shape[-1])
            return Tensor._wrap(Matmul.forward(g.xp, flat, weight.array).reshape(x.shape))
        if g.ndim <= 2:
            return g @ weight
        return (g.reshape(-1, g.shape[-1]) @ weight).reshape(x.shape)

    @staticmethod
    def grad_weight(g, out, x, weight, bias=None):
        if not is_grad_enabled():
            flat_g, flat_x = g.array.reshape(-1, g.shape[-1]), x.array.reshape(-1, x.shape[-1])
            return Tensor._wrap(Matmul.forward(g.xp, flat_g.T, flat_x))
        return g.reshape(-1, g.shape[-1]).mT @ x.reshape(-1, x.shape[-1])

    @staticmethod
    def grad_bias(g, out, x, weight, bias=None):
        if not is_grad_enabled():
            return Tensor._wrap(Sum.forward(g.xp, g.array.reshape(-1, g.shape[-1]), (0,), False))
        return g.reshape(-1, g.shape[-1]).sum(0)

    vjps = (grad_x, grad_weight, grad_bias)


class ColumnsAffine(Primitive):
    r"""A convolution's product with its bias, :math:`Y = W C + b\,\mathbf{1}^\top`, as one op.

    W is the weight as (O, C·KH·KW), C the im2col columns (C·KH·KW, L) and Y (O, L). Composed
    (a matmul, then a broadcast add on the (N, O, OH, OW) view) the bias costs a full-size
    pass forward and, backward, a float32 sum over three axes; fused, the forward adds b into
    the product in place and :math:`\bar b = \bar Y \mathbf{1}` is a matrix-vector product,
    which BLAS runs 2.8× faster than NumPy's float32 sum (64 × 16 × 28 × 28, one thread: 0.124 -> 0.045 ms).

    Example (through ``F.conv2d``, which runs this op on its im2col path with a bias and one group):
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.conv2d(cr.ones(1, 1, 3, 3), cr.ones(2, 1, 2, 2), cr.tensor([0.5, -1.0]), padding=0)
        tensor([[[[4.5, 4.5],
                  [4.5, 4.5]],
        <BLANKLINE>
                 [[3. , 3. ],
                  [3. , 3. ]]]])
    """

    name = "columns_affine"
    formula = r"Y = W C + b\,\mathbf{1}^{\top}"
    derivatives = (r"\bar W = \bar Y C^{\top}", r"\bar C = W^{\top} \bar Y", r"\bar b = \bar Y \mathbf{1}")
    checks = (Check("conv2d_bias", call=lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, padding=1),
                    shapes=(((2, 3, 5, 5), (4, 3, 3, 3), (4,)),)),)

    @staticmethod
    def forward(xp, weight, columns, bias):
        out = Matmul.forward(xp, weight, columns)   # a fresh (O, L) array: the bias goes in in place
        out += bias.reshape(-1, 1)
        return out

    @staticmethod
    def grad_weight(g, out, weight, columns, bias):
        return g @ columns.mT

    @staticmethod
    def grad_columns(g, out, weight, columns, bias):
        return weight.mT @ g

    @staticmethod
    def grad_bias(g, out, weight, columns, bias):
        return g @ ones(g.shape[1], dtype=g.dtype, device=g.device)

    vjps = (grad_weight, grad_columns, grad_bias)


class SoftmaxCrossEntropy(Primitive):
    r"""Cross-entropy from logits, :math:`\ell_n = \log\sum_c e^{x_{nc}} - x_{n y_n}`, reduced, as one op.

    The composed form (log_softmax, gather, masks, the mean) is about fifteen small
    ops: on the 128×10 logits of an MNIST batch it took 444 µs forward and backward
    against PyTorch's 63 µs, the whole gap of the MLP benchmark. Fused, the forward
    is the stable log-sum-exp and one pick, and the derivative is the classic
    :math:`\bar x_{nc} = \bar\ell_n\,(\operatorname{softmax}(x_n)_c - [c = y_n])`. Rows whose target
    is ``ignore_index`` give 0 and no gradient. ``reduction`` is 'none' (ℓ per row),
    'sum', or 'mean' (over the rows kept).

    Example (through ``F.cross_entropy``, which runs this op for (N, C) logits, class indices, no weight
    and no label smoothing; ``nn.CrossEntropyLoss`` calls it):
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> logits = cr.zeros(2, 4, requires_grad=True)
        >>> F.cross_entropy(logits, cr.tensor([0, 3])).backward()   # loss ln 4, grad_fn=<softmax_cross_entropy>
        >>> logits.grad   # (softmax − one_hot)/N
        tensor([[-0.375,  0.125,  0.125,  0.125],
                [ 0.125,  0.125,  0.125, -0.375]])
    """

    name = "softmax_cross_entropy"
    formula = r"\ell_n = \log\textstyle\sum_c e^{x_{nc}} - x_{n y_n}"
    derivatives = (r"\bar x_{nc} = \bar\ell_n\,(\operatorname{softmax}(x_n)_c - [c = y_n])",)
    checks = (Check("cross_entropy", call=lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([0, 3, 1])),
                    shapes=(((3, 4),),)),)

    @staticmethod
    def forward(xp, logits, target, kept, reduction):
        shift = logits.max(axis=1, keepdims=True)
        shifted = logits - shift
        log_sum = xp.log(xp.exp(shifted).sum(axis=1))
        every_row_kept = bool(kept.all())   # the common case: no ignore_index to pass over (two wheres saved)
        picked = shifted[xp.arange(logits.shape[0]), target if every_row_kept else xp.where(kept, target, 0)]
        losses = log_sum - picked
        if not every_row_kept:
            losses = xp.where(kept, losses, 0)
        losses = losses.astype(logits.dtype, copy=False)
        if reduction == "none":
            return losses
        total = losses.sum()
        if reduction == "mean":
            # The count in the logits' dtype: float32 / int64 would promote the loss to float64.
            return total / kept.sum().astype(logits.dtype)
        return total

    @staticmethod
    def grad_logits(g, out, logits, target, kept, reduction):
        xp = logits.xp
        row_weight = kept.astype(logits.dtype)
        if reduction == "mean":
            row_weight /= kept.sum()
        if not is_grad_enabled():
            # A plain backward, on raw arrays (the rule's cost was mostly op overhead): softmax − one-hot, the
            # one-hot as a 1 taken from each kept row's target entry in place (p − 0 leaves the others as they are).
            probabilities = xp.exp(logits.array - logits.array.max(axis=1, keepdims=True))
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            rows = xp.flatnonzero(kept)
            probabilities[rows, target[rows]] -= 1
            probabilities *= row_weight[:, None]
            upstream = g.array[:, None] if reduction == "none" else g.array
            return Tensor._wrap(xp.multiply(upstream, probabilities))
        # Recording the backward (create_graph): the same formula in tensor ops, so it differentiates again.
        one_hot = (xp.where(kept, target, -1)[:, None] == xp.arange(logits.shape[1])).astype(logits.dtype)
        upstream = g.unsqueeze(1) if reduction == "none" else g
        return upstream * (ops.softmax(logits, 1) - Tensor._wrap(one_hot)) * Tensor._wrap(row_weight[:, None])

    vjps = (grad_logits,)


class Standardize(Primitive):
    r"""Standardize over ``axes``: :math:`\hat x = (x - \mu) / \sqrt{\sigma^2 + \epsilon}` with μ, σ² the mean and
    biased variance over those axes.

    One primitive instead of the ~8 ops of the composed formula: the forward makes one
    full-size temporary instead of six, and the backward is the closed form
    :math:`\bar x = \frac{1}{\sqrt{\sigma^2+\epsilon}}\big(\bar y - \operatorname{mean}(\bar y) - \hat x\,\operatorname{mean}(\bar y \hat x)\big)`.
    ``statistics`` = (mean, var) may pass precomputed values (BatchNorm needs them for its running estimates).

    Example (through ``F.standardize``; ``layer_norm``, ``group_norm`` and training-mode ``batch_norm`` run it too):
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.standardize(cr.tensor([[1.0, 3.0]]), dim=1, eps=0.0)   # μ = 2, σ² = 1
        tensor([[-1.,  1.]])
    """

    name = "standardize"
    formula = r"\hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}"
    derivatives = (r"\bar x = \frac{1}{\sqrt{\sigma^2+\epsilon}}\left(\bar y - \overline{\bar y} - \hat x\,\overline{\bar y \hat x}\right)",)
    checks = (Check("layer_norm", call=lambda lib, x: lib.nn.functional.layer_norm(x, (4,)),
                    shapes=(((3, 4),), ((2, 3, 4),))),)

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


class BatchNorm(Primitive):
    r"""Training-mode batch norm with its affine, :math:`y = \gamma\,\frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta`
    per channel (dim 1), μ, σ² the mean and biased variance over every other dim, as one op.

    Composed (standardize, ×γ, +β) the graph keeps three full-size arrays per layer besides
    x: x̂, γx̂ and y. This card keeps only x and y; its rule recomputes x̂ from x and the
    statistics (per channel, passed in ``statistics`` = (mean, var) because the running
    estimates need them too). The derivative, n the count per channel:

    .. math:: \bar x = \frac{\gamma}{\sqrt{\sigma^2+\epsilon}}\Big(\bar y - \tfrac1n\textstyle\sum\bar y
              - \hat x\,\tfrac1n\sum\bar y\hat x\Big),\quad \bar\gamma = \sum\bar y\hat x,\quad
              \bar\beta = \sum\bar y.

    Example (through ``F.batch_norm``, which runs this op when training with a weight and a bias of x's
    dtype; ``nn.BatchNorm2d`` calls it):
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> x = cr.tensor([[1.0], [3.0]])   # one channel: μ = 2, σ² = 1
        >>> F.batch_norm(x, None, None, cr.tensor([2.0]), cr.tensor([0.5]), training=True, eps=0.0)
        tensor([[-1.5],
                [ 2.5]])
    """

    name = "batch_norm"
    formula = r"y = \gamma\,\frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta"
    derivatives = (r"\bar x = \frac{\gamma}{\sqrt{\sigma^2+\epsilon}}\left(\bar y - \overline{\bar y} - \hat x\,\overline{\bar y \hat x}\right)",
                   r"\bar\gamma = \textstyle\sum \bar y \hat x", r"\bar\beta = \textstyle\sum \bar y")
    checks = (Check("batch_norm",
                    call=lambda lib, x, w, b: lib.nn.functional.batch_norm(x, None, None, w, b, training=True),
                    shapes=(((4, 3), (3,), (3,)), ((3, 2, 2, 3), (2,), (2,)))),)

    @staticmethod
    def forward(xp, x, weight, bias, axes, eps, statistics):
        mean, var = statistics
        shape = mean.shape
        scale = (1.0 / xp.sqrt(var + eps)).astype(x.dtype, copy=False) * weight.reshape(shape)
        out = x - mean   # the one full-size array: centred, scaled and shifted in place
        out *= scale
        out += bias.reshape(shape)
        return out

    @staticmethod
    def vjp_all(g, out, x, weight, bias, axes, eps, statistics):
        channels = weight.shape[0]
        shape = statistics[0].shape
        count = x.numel() // channels
        if is_grad_enabled():
            # Recording a differentiable backward (create_graph=True): μ and σ² as functions of x.
            rstd = (x.var(axes, keepdim=True, correction=0) + eps).rsqrt()
            normalized = (x - x.mean(axes, keepdim=True)) * rstd
            sum_g = g.sum(axes, keepdim=True)
            sum_g_normalized = (g * normalized).sum(axes, keepdim=True)
            grad_x = (weight.reshape(shape) * rstd) * (g - sum_g / count - normalized * (sum_g_normalized / count))
            return grad_x, sum_g_normalized.reshape(channels), sum_g.reshape(channels)
        # A plain backward: raw arrays, two full-size temporaries (x̂ and the result).
        xp, dtype, grad = x.xp, x.dtype, g.array
        mean, var = statistics
        rstd = (1.0 / xp.sqrt(var + eps)).astype(dtype, copy=False)
        normalized = x.array - mean
        normalized *= rstd
        sum_g = grad.sum(axis=axes, keepdims=True)
        result = grad * normalized
        sum_g_normalized = result.sum(axis=axes, keepdims=True)
        normalized *= sum_g_normalized / count
        xp.subtract(grad, sum_g / count, out=result)
        result -= normalized
        result *= rstd * weight.array.reshape(shape)
        return (Tensor._wrap(result), Tensor._wrap(sum_g_normalized.reshape(channels)),
                Tensor._wrap(sum_g.reshape(channels)))


class BinaryCrossEntropy(Primitive):
    """Elementwise BCE of probabilities with PyTorch's clamps, as a primitive so that its gradient is
    PyTorch's too: at p = 0 or 1 the composed form's clamped log would give a zero gradient, while the
    true slope is huge; here it is (p − y)/max(p(1−p), 10⁻¹²).

    ℓ = −[y·max(ln p, −100) + (1 − y)·max(ln(1 − p), −100)].

    Example (through ``F.binary_cross_entropy``, which runs this op; ``nn.BCELoss`` calls it):
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> p = cr.tensor([0.0], requires_grad=True)
        >>> F.binary_cross_entropy(p, cr.tensor([1.0])).backward()   # loss −max(ln 0, −100) = 100
        >>> p.grad   # (0 − 1)/1e−12, as PyTorch
        tensor([-1.e+12])
    """

    name = "binary_cross_entropy"
    formula = r"\ell = -[y \max(\ln p, -100) + (1 - y)\max(\ln(1 - p), -100)]"
    derivatives = (r"\bar{p} = \bar{\ell}\, \frac{p - y}{\max(p(1 - p), 10^{-12})}",
                   r"\bar{y} = \bar{\ell}\, [\max(\ln(1 - p), -100) - \max(\ln p, -100)]")
    checks = (Check("binary_cross_entropy", call=lambda lib, x: lib.nn.functional.binary_cross_entropy(lib.sigmoid(x), (x > 0).to(x.dtype)), shapes=(((3, 4),),)),)

    @staticmethod
    def forward(xp, p, y):
        with xp.errstate(divide="ignore"):
            log_p = xp.maximum(xp.log(p), -100.0)
            log_not_p = xp.maximum(xp.log1p(-p), -100.0)
        return (-(y * log_p + (1 - y) * log_not_p)).astype(p.dtype, copy=False)

    @staticmethod
    def grad_p(g, out, p, y):
        return g * (p - y) / ops.clamp(p * (1 - p), min=1e-12)

    @staticmethod
    def grad_y(g, out, p, y):
        return g * (ops.clamp(ops.log1p(-p), min=-100.0) - ops.clamp(ops.log(p), min=-100.0))

    vjps = (grad_p, grad_y)


def window_columns(xp, image, kernel_size, dilation, stride, grid):
    """The pooling windows of each channel of an (already padded) image (N, C, H, W), as a raw array (C, K, L·N)."""
    columns = Unfold.forward(xp, image, kernel_size, dilation, stride, ((0, 0), (0, 0)), grid)
    return columns.reshape(image.shape[1], kernel_size[0] * kernel_size[1], -1)


def first_max_of_window(xp, windows):
    """A boolean mask of (C, K, M), True at the one position of each window (along axis 1) that takes the
    gradient: its first maximum, or, in a window holding NaN, its last NaN.

    Marks every maximum, then walks the K offsets clearing those after the first (K passes
    over a boolean array: 7× faster than the int64 argmax it replaces). NaN is where
    PyTorch sends it: its kernel keeps ``value > max or isnan(value)``, so a later NaN wins.
    """
    largest = windows.max(axis=1, keepdims=True)
    first_max = windows == largest                       # a window holding NaN marks nothing here
    taken = first_max[:, 0].copy()
    for k in range(1, windows.shape[1]):
        first_max[:, k] &= ~taken
        taken |= first_max[:, k]
    has_nan = xp.isnan(largest)
    if has_nan.any():
        last_nan = has_nan & xp.isnan(windows)
        taken = last_nan[:, -1].copy()
        for k in range(windows.shape[1] - 2, -1, -1):
            last_nan[:, k] &= ~taken
            taken |= last_nan[:, k]
        first_max |= last_nan
    return first_max


class WindowMax(Primitive):
    r"""The largest value of each pooling window of an image, :math:`y_{c,m} = \max_k w_{c,k,m}` with
    w = unfold(x) the windows (C, K, L·N), its gradient sent to the first maximum only (PyTorch's max
    pooling rule).

    The graph keeps only the image x (which the layer before keeps anyway): the forward unfolds the
    windows and drops them, and the rule unfolds them again to find each window's first maximum
    (``first_max_of_window``), then folds :math:`\bar y` back to those positions. Keeping the windows
    and the mask instead held 1.25 copies of every pooled activation (5.7 MiB of the small CNN's
    step in benchmarks/bench_nn.py); one more unfold in backward is what it costs. Against the
    composed form (a gather at the argmax and, in backward, a scatter into zeros) the small-CNN
    pooling went from about 7 ms of a 40 ms training step to about 2 ms.

    Example (through ``F.max_pool2d``, which runs this op; ``max_pool1d`` and the MaxPool layers call it):
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> x = cr.tensor([[[[1.0, 2.0], [2.0, 0.0]]]], requires_grad=True)
        >>> F.max_pool2d(x, 2).sum().backward()   # a tie: two 2s in the window
        >>> x.grad   # all of it to the first maximum
        tensor([[[[0., 1.],
                  [0., 0.]]]])
    """

    name = "window_max"
    formula = r"y_{c,m} = \max_k w_{c,k,m},\quad w = \operatorname{unfold}(x)"
    derivatives = (r"\bar x = \operatorname{fold}\big(\bar y_{c,m}\,[k = \text{first } \arg\max_k w_{c,k,m}]\big)",)
    checks = (Check("max_pool2d", call=lambda lib, x: lib.nn.functional.max_pool2d(x, 2),
                    shapes=(((2, 3, 4, 4),),), domain="distinct"),)

    @staticmethod
    def forward(xp, image, kernel_size, dilation, stride, grid):
        return window_columns(xp, image, kernel_size, dilation, stride, grid).max(axis=1)  # NaN propagates

    @staticmethod
    def grad_image(g, out, image, kernel_size, dilation, stride, grid):
        windows = window_columns(image.xp, image.array, kernel_size, dilation, stride, grid)
        first_max = Tensor._wrap(first_max_of_window(image.xp, windows))   # a constant: max is piecewise linear
        del windows
        columns = (g.unsqueeze(1) * first_max).reshape(first_max.shape[0] * first_max.shape[1], -1)
        return col2im(columns, image.shape, kernel_size, dilation, stride, grid=grid)

    vjps = (grad_image,)
