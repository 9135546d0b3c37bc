"""Normalization layers: BatchNorm1d/2d, LayerNorm, GroupNorm, RMSNorm, InstanceNorm1d/2d."""
from chainrule.core.creation import ones, zeros
from chainrule.core.tensor import tensor
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module, Parameter


class _BatchNorm(Module):
    expected_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features, dtype=dtype))
            self.bias = Parameter(zeros(num_features, dtype=dtype))
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input):
        name = type(self).__name__
        if input.ndim not in self.expected_dims:
            raise ValueError(f"{name}: expected a {' or '.join(f'{d}-D' for d in self.expected_dims)} input, got shape {input.shape}")
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: the input of shape {input.shape} has {input.shape[1]} channels (dim 1), "
                f"but the layer was built with num_features={self.num_features}"
            )
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array[...] += 1
            if self.momentum is None:  # a cumulative moving average: the mean of all batches so far
                momentum = 1.0 / int(self.num_batches_tracked.item())
        use_batch_stats = self.training or not self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if not self.training or self.track_running_stats else None,
            self.running_var if not self.training or self.track_running_stats else None,
            self.weight, self.bias, use_batch_stats, momentum, self.eps,
        )

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    r"""Batch normalization of (N, C) or (N, C, L) per channel:
    :math:`y = \gamma \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}} + \beta`, with running statistics for eval mode.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> bn = nn.BatchNorm1d(3)
        >>> bn(cr.randn(8, 3)).shape, int(bn.num_batches_tracked)
        ((8, 3), 1)
    """

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    r"""Batch normalization of (N, C, H, W) per channel:
    :math:`y = \gamma \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}} + \beta` (statistics over N, H, W).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.BatchNorm2d(4)(cr.randn(2, 4, 5, 5)).shape
        (2, 4, 5, 5)
    """

    expected_dims = (4,)


class LayerNorm(Module):
    r"""Normalize each sample over its last dims ``normalized_shape``: :math:`y = \frac{x - \mu}{\sqrt{\sigma^2+\epsilon}}\gamma + \beta`.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.LayerNorm(6)(cr.randn(2, 3, 6)).shape
        (2, 3, 6)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=None):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = Parameter(ones(*self.normalized_shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(zeros(*self.normalized_shape, dtype=dtype)) if elementwise_affine and bias else None

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    r"""Normalize each sample over groups of channels: channels split into ``num_groups`` groups,
    each normalized over its channels and spatial positions, then :math:`\gamma_c \hat{x} + \beta_c`.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.GroupNorm(2, 4)(cr.randn(3, 4, 5)).shape
        (3, 4, 5)
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, dtype=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.weight = Parameter(ones(num_channels, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_channels, dtype=dtype)) if affine else None

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm: expected an input (N, {self.num_channels}, ...), got shape {input.shape}"
            )
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class RMSNorm(Module):
    r"""Scale each sample by the root mean square over its last dims: :math:`y = \gamma\, x / \sqrt{\overline{x^2} + \epsilon}`.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.RMSNorm(4)(cr.randn(2, 4)).shape
        (2, 4)
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, dtype=None):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = Parameter(ones(*self.normalized_shape, dtype=dtype)) if elementwise_affine else None

    def forward(self, input):
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class _InstanceNorm(Module):
    expected_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_features, dtype=dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0))
        else:
            self.running_mean = self.running_var = None

    def forward(self, input):
        if input.ndim not in self.expected_dims:
            raise ValueError(f"{type(self).__name__}: expected a {' or '.join(f'{d}-D' for d in self.expected_dims)} "
                             f"input, got shape {input.shape}")
        unbatched = input.ndim == self.expected_dims[0]
        x = input.unsqueeze(0) if unbatched else input
        use_input_stats = self.training or not self.track_running_stats
        if self.track_running_stats and self.training:
            self.num_batches_tracked.add_(1)
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_input_stats,
                              self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class InstanceNorm1d(_InstanceNorm):
    r"""Normalize each channel of each sample over its length: :math:`y = \gamma \frac{x - \mu_{nc}}{\sqrt{\sigma^2_{nc} + \epsilon}} + \beta`.

    Input (N, C, L) or unbatched (C, L). Without ``affine`` (PyTorch's default) there is no γ, β.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.InstanceNorm1d(3)(cr.randn(2, 3, 8)).shape
        (2, 3, 8)
    """

    expected_dims = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    r"""Normalize each channel of each sample over its height and width (style transfer's normalization).

    Input (N, C, H, W) or unbatched (C, H, W).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.InstanceNorm2d(3, affine=True)(cr.randn(2, 3, 4, 4)).shape
        (2, 3, 4, 4)
    """

    expected_dims = (3, 4)


class LocalResponseNorm(Module):
    r"""AlexNet's normalization across channels: :math:`y_c = x_c / (k + \frac{\alpha}{n}\sum_{\text{window}(c)} x^2)^\beta`.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.LocalResponseNorm(2)(cr.ones(1, 4, 3, 3)).shape
        (1, 4, 3, 3)
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
