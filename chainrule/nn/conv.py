"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d (computed by im2col + GEMM, see ops/convolution.py)."""
import math

from chainrule.core.creation import empty
from chainrule.core.tensor import Tensor
from chainrule.nn import functional as F
from chainrule.nn.functional._common import _tuple
from chainrule.nn.functional.unbatched import unbatched_forward
from chainrule.nn import init
from chainrule.nn.module import Module, Parameter


class _ConvNd(Module):
    """What Conv1d/Conv2d/ConvTranspose2d share: argument checks, parameters and PyTorch's initialization."""

    spatial_dims = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode, output_padding=0, dtype=None):
        super().__init__()
        name = type(self).__name__
        n = self.spatial_dims
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be divisible "
                f"by groups ({groups})"
            )
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got {padding_mode!r}")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"{name}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple(kernel_size, n, name, "kernel_size")
        self.stride = _tuple(stride, n, name, "stride")
        self.dilation = _tuple(dilation, n, name, "dilation")
        if padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions (stride={self.stride})")
        self.padding = padding if isinstance(padding, str) else _tuple(padding, n, name, "padding")
        self.output_padding = _tuple(output_padding, n, name, "output_padding")
        self.padding_mode = padding_mode
        if self.transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(empty(*shape, dtype=dtype))
        self.bias = Parameter(empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        # PyTorch's default: W ~ U(−1/√fan_in, 1/√fan_in) via kaiming_uniform(a=√5), and the same bound for b.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input):
        name = type(self).__name__
        expected = self.spatial_dims + 2
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a chainrule Tensor, got {type(input).__name__}")
        if input.ndim != expected:
            layout = "(N, C, L) or an unbatched (C, L)" if self.spatial_dims == 1 else "(N, C, H, W) or an unbatched (C, H, W)"
            raise ValueError(f"{name}: expected a {expected}-D input {layout}, got shape {input.shape}")
        if input.shape[1] != self.in_channels:
            raise ValueError(
                f"{name}: the input of shape {input.shape} has {input.shape[1]} channels (dim 1), but the layer "
                f"was built with in_channels={self.in_channels} (weight shape {self.weight.shape})"
            )

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}")
        if self.padding not in ((0,) * self.spatial_dims, "valid"):
            text += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1,) * self.spatial_dims:
            text += f", dilation={self.dilation}"
        if any(self.output_padding):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv2d(_ConvNd):
    r"""2-D convolution (cross-correlation) over (N, C, H, W):
    :math:`y_{n,o,i,j} = b_o + \sum_{c,k_h,k_w} W_{o,c,k_h,k_w}\, x_{n,c,\,i s_h + k_h d_h - p_h,\,j s_w + k_w d_w - p_w}`.

    Output size per axis: ⌊(H + 2p − d(K−1) − 1)/s⌋ + 1. ``padding`` may be an int, a
    pair, 'same' or 'valid'; ``padding_mode`` zeros, reflect, replicate or circular.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> conv = nn.Conv2d(3, 8, 3, padding=1)
        >>> conv(cr.zeros(2, 3, 16, 16)).shape
        (2, 8, 16, 16)
    """

    spatial_dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype=dtype)

    @unbatched_forward
    def forward(self, input):
        self._check_input(input)
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                        self.padding_mode)


class Conv1d(_ConvNd):
    r"""1-D convolution over (N, C, L): :math:`y_{n,o,i} = b_o + \sum_{c,k} W_{o,c,k}\, x_{n,c,\,i s + k d - p}`.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Conv1d(4, 6, 5, padding="same")(cr.zeros(2, 4, 30)).shape
        (2, 6, 30)
    """

    spatial_dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype=dtype)

    @unbatched_forward
    def forward(self, input):
        self._check_input(input)
        return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                        self.padding_mode)


class ConvTranspose2d(_ConvNd):
    r"""Transposed 2-D convolution (the adjoint of Conv2d in its input), weight (C_in, C_out/groups, KH, KW).

    Output size per axis: (H − 1)s − 2p + d(K − 1) + output_padding + 1. Often used to upsample.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1)(cr.zeros(1, 8, 5, 5)).shape
        (1, 3, 10, 10)
    """

    spatial_dims = 2
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", dtype=None):
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, dtype=dtype)

    @unbatched_forward
    def forward(self, input, output_size=None):
        self._check_input(input)
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding_for(input, output_size)
        transpose = F.conv_transpose1d if self.spatial_dims == 1 else F.conv_transpose2d
        return transpose(input, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups,
                         self.dilation)

    def _output_padding_for(self, input, output_size):
        dims = self.spatial_dims
        output_size = tuple(output_size)[-dims:]
        padding = []
        for axis in range(dims):
            smallest = ((input.shape[2 + axis] - 1) * self.stride[axis] - 2 * self.padding[axis]
                        + self.dilation[axis] * (self.kernel_size[axis] - 1) + 1)
            extra = output_size[axis] - smallest
            if not 0 <= extra < max(self.stride[axis], self.dilation[axis]):
                raise ValueError(
                    f"{type(self).__name__}: output_size {output_size} is not reachable from input shape {input.shape}; "
                    f"axis {axis} allows sizes {smallest}..{smallest + max(self.stride[axis], self.dilation[axis]) - 1}"
                )
            padding.append(extra)
        return tuple(padding)


class ConvTranspose1d(ConvTranspose2d):
    r"""Transposed 1-D convolution over (N, C, L), weight (C_in, C_out/groups, K): the adjoint of Conv1d in its input,
    :math:`y_{n,o,\,i s + k d - p} \mathrel{+}= \sum_c W_{c,o,k}\, x_{n,c,i}`.

    Output length: (L − 1)s − 2p + d(K − 1) + output_padding + 1. Often used to upsample sequences.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ConvTranspose1d(8, 3, 4, stride=2, padding=1)(cr.zeros(1, 8, 5)).shape
        (1, 3, 10)
    """

    spatial_dims = 1     # ConvTranspose2d's forward then calls F.conv_transpose1d


class Unfold(Module):
    r"""Cut (N, C, H, W) into sliding blocks: (N, C·kh·kw, L), one column per block position (``F.unfold``, im2col).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Unfold(kernel_size=2)(cr.zeros(1, 3, 4, 4)).shape
        (1, 12, 9)
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Unfold):
    r"""Sum sliding blocks (N, C·kh·kw, L) back into an (N, C, H, W) image of ``output_size`` (``F.fold``, col2im).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Fold(output_size=(3, 3), kernel_size=2)(cr.ones(1, 4, 4))[0, 0]
        tensor([[1., 2., 1.],
                [2., 4., 2.],
                [1., 2., 1.]])
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return f"output_size={self.output_size}, " + super().extra_repr()
