"""Resampling layers: ``Upsample`` (and its nearest/bilinear forms) and the pixel and channel shuffles."""
import warnings

from chainrule.nn import functional as F
from chainrule.nn.module import Module


class Upsample(Module):
    r"""Resize the spatial dims to ``size`` or by ``scale_factor`` (``F.interpolate``): nearest, linear, bilinear, trilinear.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Upsample(scale_factor=2, mode="nearest")(cr.tensor([[[1.0, 2.0]]]))
        tensor([[[1., 1., 2., 2.]]])
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        what = f"scale_factor={self.scale_factor}" if self.size is None else f"size={self.size}"
        return f"{what}, mode='{self.mode}'"


class UpsamplingNearest2d(Upsample):
    """``Upsample(..., mode='nearest')`` for (N, C, H, W) inputs (deprecated in PyTorch, with its warning).

    Example:
        >>> import warnings, chainrule as cr, chainrule.nn as nn
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     nn.UpsamplingNearest2d(scale_factor=2)(cr.ones(1, 1, 2, 2)).shape
        (1, 1, 4, 4)
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")

    def forward(self, input):
        warnings.warn("nn.UpsamplingNearest2d is deprecated. Use nn.functional.interpolate instead.", UserWarning,
                      stacklevel=2)
        return super().forward(input)


class UpsamplingBilinear2d(Upsample):
    """``Upsample(..., mode='bilinear', align_corners=True)`` (deprecated in PyTorch, with its warning).

    Example:
        >>> import warnings, chainrule as cr, chainrule.nn as nn
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     nn.UpsamplingBilinear2d(size=(1, 3))(cr.tensor([[[[0.0, 2.0]]]]))
        tensor([[[[0., 1., 2.]]]])
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)

    def forward(self, input):
        warnings.warn("nn.UpsamplingBilinear2d is deprecated. Use nn.functional.interpolate instead.", UserWarning,
                      stacklevel=2)
        return super().forward(input)


class PixelShuffle(Module):
    r"""(*, C·r², H, W) → (*, C, H·r, W·r), the sub-pixel convolution's rearrangement (``F.pixel_shuffle``).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.PixelShuffle(3)(cr.zeros(1, 9, 4, 4)).shape
        (1, 1, 12, 12)
    """

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    r"""(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of ``PixelShuffle``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.PixelUnshuffle(2)(cr.zeros(1, 1, 4, 4)).shape
        (1, 4, 2, 2)
    """

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    r"""Interleave the channels of ``groups`` groups (ShuffleNet): (N, g·k, ...) → channel i·k + j moves to j·g + i.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ChannelShuffle(2)(cr.arange(4.0).reshape(1, 4, 1)).flatten()
        tensor([0., 2., 1., 3.])
    """

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"
