"""Pooling layers: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d (window ops on im2col)."""
from chainrule.nn import functional as F
from chainrule.nn.module import Module


class _Pool(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, ceil_mode={self.ceil_mode}"


class MaxPool2d(_Pool):
    r"""Largest value of each window of (N, C, H, W): :math:`y_{n,c,i,j} = \max_{k_h,k_w} x_{n,c,\,i s + k_h d - p,\,j s + k_w d - p}`.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.MaxPool2d(2)(cr.zeros(1, 3, 8, 8)).shape
        (1, 3, 4, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.dilation, self.return_indices = dilation, return_indices

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class MaxPool1d(MaxPool2d):
    r"""Largest value of each window along the last dim of (N, C, L):
    :math:`y_{n,c,i} = \max_k x_{n,c,\,i s + k d - p}`.

    Output length ⌊(L + 2p − d(K−1) − 1)/s⌋ + 1 (⌈·⌉ with ``ceil_mode``); padding counts as −∞.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.MaxPool1d(2)(cr.arange(6.0).reshape(1, 1, 6))
        tensor([[[1., 3., 5.]]])
    """

    def forward(self, input):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class AvgPool2d(_Pool):
    r"""Mean of each window of (N, C, H, W); ``count_include_pad`` decides whether zero padding counts.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.AvgPool2d(3, stride=2, padding=1)(cr.zeros(1, 3, 8, 8)).shape
        (1, 3, 4, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AvgPool1d(_Pool):
    r"""Mean of each window along the last dim of (N, C, L):
    :math:`y_{n,c,i} = \frac{1}{K}\sum_{k=0}^{K-1} x_{n,c,\,i s + k - p}`.

    ``count_include_pad=False`` divides by the number of non-padding cells instead of K.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.AvgPool1d(2)(cr.arange(6.0).reshape(1, 1, 6))
        tensor([[[0.5, 2.5, 4.5]]])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class AdaptiveAvgPool2d(Module):
    """Mean over bins chosen so that the output is exactly ``output_size`` (e.g. 1 for global average pooling).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.AdaptiveAvgPool2d((1, 1))(cr.zeros(2, 5, 7, 7)).shape
        (2, 5, 1, 1)
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(AdaptiveAvgPool2d):
    r"""Largest value over bins chosen so that the output is exactly ``output_size``.

    :math:`y_{n,c,i,j} = \max x_{n,c,\,a_i:b_i,\,a'_j:b'_j}` with PyTorch's bins
    :math:`a_i = \lfloor iH/O_h \rfloor`, :math:`b_i = \lceil (i+1)H/O_h \rceil` (the same along the width).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.AdaptiveMaxPool2d(2)(cr.arange(16.0).reshape(1, 1, 4, 4))
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size)


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    r"""Average over bins of an (N, C, L) input chosen so that the output has length ``output_size``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.AdaptiveAvgPool1d(2)(cr.tensor([[[1.0, 3.0, 5.0, 7.0]]]))
        tensor([[[2., 6.]]])
    """

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveMaxPool1d(AdaptiveAvgPool2d):
    r"""Largest value over bins of an (N, C, L) input chosen so that the output has length ``output_size``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.AdaptiveMaxPool1d(2)(cr.tensor([[[1.0, 3.0, 5.0, 7.0]]]))
        tensor([[[3., 7.]]])
    """

    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size)


class LPPool1d(Module):
    r"""Power-average pooling :math:`(\sum_{\text{window}} x^p)^{1/p}` over windows of an (N, C, L) input.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.LPPool1d(2, 2)(cr.tensor([[[3.0, 4.0]]]))
        tensor([[[5.]]])
    """

    spatial = 1

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, input):
        pool = F.lp_pool1d if self.spatial == 1 else F.lp_pool2d
        return pool(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}"


class LPPool2d(LPPool1d):
    r"""Power-average pooling :math:`(\sum_{\text{window}} x^p)^{1/p}` over windows of an (N, C, H, W) input.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.LPPool2d(1, 2)(cr.ones(1, 1, 2, 2))
        tensor([[[[4.]]]])
    """

    spatial = 2
