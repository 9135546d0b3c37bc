"""Resampling images and feature maps: interpolation (nearest, linear, bilinear, trilinear, area) and pixel shuffles.

Interpolation is separable: along each spatial dim, every output position reads one source
position (nearest) or two neighbours weighted by their distance (linear), so the whole op is
``index_select`` and a weighted sum per dim, and its gradient (the transposed resampling:
each output's ȳ goes back to the positions it read, with the same weights) comes from the
chain rule. Source positions follow PyTorch exactly, ``align_corners`` and ``scale_factor``
included, so the values match it to rounding.
"""
import math
import warnings

from chainrule import ops
from chainrule.core.primitive import Check, composite
from chainrule.core.tensor import Tensor
from chainrule.nn.functional.pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

_MODES_FOR_DIMS = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _spatial_sizes(input, size, scale_factor, name):
    """(output sizes, the scale per dim that source positions use: input/output, or 1/scale_factor as PyTorch)."""
    if input.ndim < 3:
        raise ValueError(f"{name}: expected a batched input (N, C, spatial...) of 3 to 5 dims, got shape {input.shape}")
    spatial = input.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{name}: give exactly one of size and scale_factor (got size={size!r}, "
                         f"scale_factor={scale_factor!r})")
    if size is not None:
        sizes = (size,) * len(spatial) if isinstance(size, int) else tuple(int(s) for s in size)
        if len(sizes) != len(spatial):
            raise ValueError(f"{name}: size {size!r} has {len(sizes)} entries for {len(spatial)} spatial dims "
                             f"of the input (shape {input.shape})")
        return sizes, tuple(i / o for i, o in zip(spatial, sizes))
    factors = (scale_factor,) * len(spatial) if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
    if len(factors) != len(spatial):
        raise ValueError(f"{name}: scale_factor {scale_factor!r} has {len(factors)} entries for {len(spatial)} "
                         f"spatial dims of the input (shape {input.shape})")
    sizes = tuple(int(math.floor(n * f)) for n, f in zip(spatial, factors))
    return sizes, tuple(1.0 / f for f in factors)


def _nearest_along(x, dim, out_size, scale, exact):
    xp = x.xp
    positions = xp.arange(out_size, dtype="float64")
    source = xp.floor((positions + 0.5) * scale if exact else positions * scale).astype("int64")
    return ops.index_select(x, dim, Tensor(xp.minimum(source, x.shape[dim] - 1)))


def _linear_along(x, dim, out_size, scale, align_corners):
    xp, in_size = x.xp, x.shape[dim]
    positions = xp.arange(out_size, dtype="float64")
    if align_corners:
        source = positions * ((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
    else:
        source = xp.maximum((positions + 0.5) * scale - 0.5, 0.0)
    lower = xp.minimum(xp.floor(source).astype("int64"), in_size - 1)
    upper = xp.minimum(lower + 1, in_size - 1)
    weight_shape = [1] * x.ndim
    weight_shape[dim] = out_size
    upper_weight = Tensor((source - lower).astype(x.dtype).reshape(weight_shape))
    below, above = ops.index_select(x, dim, Tensor(lower)), ops.index_select(x, dim, Tensor(upper))
    return below + (above - below) * upper_weight


@composite(Check("F.interpolate_nearest", call=lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=2),
                 shapes=(((1, 2, 3, 4),), ((2, 1, 5),))),
           Check("F.interpolate_nearest_size", call=lambda lib, x: lib.nn.functional.interpolate(x, size=(5, 3)),
                 shapes=(((1, 2, 3, 4),),)),
           Check("F.interpolate_nearest_exact",
                 call=lambda lib, x: lib.nn.functional.interpolate(x, size=(5, 7), mode="nearest-exact"),
                 shapes=(((1, 2, 3, 4),),)),
           Check("F.interpolate_bilinear",
                 call=lambda lib, x: lib.nn.functional.interpolate(x, size=(5, 7), mode="bilinear"),
                 shapes=(((1, 2, 3, 4),),)),
           Check("F.interpolate_bilinear_down",
                 call=lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=0.6, mode="bilinear"),
                 shapes=(((1, 1, 5, 6),),)),
           Check("F.interpolate_bilinear_corners",
                 call=lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=(2, 1.5), mode="bilinear",
                                                                  align_corners=True),
                 shapes=(((2, 1, 3, 4),),)),
           Check("F.interpolate_linear", call=lambda lib, x: lib.nn.functional.interpolate(x, size=7, mode="linear"),
                 shapes=(((2, 3, 4),),)),
           Check("F.interpolate_trilinear",
                 call=lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=2, mode="trilinear"),
                 shapes=(((1, 1, 2, 3, 2),),)),
           Check("F.interpolate_area", call=lambda lib, x: lib.nn.functional.interpolate(x, size=(2, 3), mode="area"),
                 shapes=(((1, 2, 4, 7),),)))
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    r"""Resize the spatial dims of an (N, C, ...) input to ``size``, or by ``scale_factor``.

    ``nearest``: :math:`y_j = x_{\lfloor j s \rfloor}` (``nearest-exact``: :math:`x_{\lfloor (j + 1/2) s \rfloor}`),
    s = input size / output size (or 1/scale_factor). ``linear``/``bilinear``/``trilinear`` (3-, 4-, 5-D inputs):
    :math:`y_j = (1 - \lambda) x_{i} + \lambda x_{i+1}` at source position :math:`(j + 1/2) s - 1/2` (clamped at 0),
    :math:`i = \lfloor\cdot\rfloor`, λ its fraction; with ``align_corners`` the corners map onto each other,
    position :math:`j (n_\text{in} - 1)/(n_\text{out} - 1)`. ``area`` is adaptive average pooling.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> x = cr.tensor([[[1.0, 3.0]]])
        >>> F.interpolate(x, scale_factor=2)
        tensor([[[1., 1., 3., 3.]]])
        >>> F.interpolate(x, size=4, mode="linear")
        tensor([[[1. , 1.5, 2.5, 3. ]]])
        >>> F.interpolate(x, size=3, mode="linear", align_corners=True)
        tensor([[[1., 2., 3.]]])
    """
    if antialias:
        raise ValueError("interpolate: antialias=True is not available in chainrule; resize without it, or blur "
                         "first (e.g. F.avg_pool2d) when shrinking")
    sizes, scales = _spatial_sizes(input, size, scale_factor, "interpolate")
    if recompute_scale_factor:
        scales = tuple(i / o for i, o in zip(input.shape[2:], sizes))
    spatial = input.ndim - 2
    if mode in _MODES_FOR_DIMS and _MODES_FOR_DIMS[mode] != spatial:
        raise ValueError(f"interpolate: mode {mode!r} is for inputs with {_MODES_FOR_DIMS[mode]} spatial dims, but "
                         f"the input (shape {input.shape}) has {spatial}; use "
                         f"{[m for m, d in _MODES_FOR_DIMS.items() if d == spatial] or ['nearest']}")
    if align_corners is not None and mode not in _MODES_FOR_DIMS:
        raise ValueError(f"interpolate: align_corners applies to the linear modes only, not to mode {mode!r}")
    out = input
    if mode in ("nearest", "nearest-exact"):
        for dim, (n, scale) in enumerate(zip(sizes, scales), start=2):
            out = _nearest_along(out, dim, n, scale, exact=mode == "nearest-exact")
        return out
    if mode in _MODES_FOR_DIMS:
        for dim, (n, scale) in enumerate(zip(sizes, scales), start=2):
            out = _linear_along(out, dim, n, scale, bool(align_corners))
        return out
    if mode == "area" and spatial in (1, 2):
        return adaptive_avg_pool1d(input, sizes) if spatial == 1 else adaptive_avg_pool2d(input, sizes)
    raise ValueError(f"interpolate: mode {mode!r} is not available; chainrule has 'nearest', 'nearest-exact', "
                     "'linear', 'bilinear', 'trilinear' and 'area' (for 3- and 4-D inputs)")


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """The old name of ``interpolate`` (deprecated in PyTorch, with this warning).

    Example:
        >>> import warnings, chainrule as cr, chainrule.nn.functional as F
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     F.upsample(cr.ones(1, 1, 2), scale_factor=2).shape
        (1, 1, 4)
    """
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.", UserWarning,
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """``interpolate(..., mode='nearest')`` under its old name (deprecated in PyTorch, with this warning).

    Example:
        >>> import warnings, chainrule as cr, chainrule.nn.functional as F
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     F.upsample_nearest(cr.ones(1, 1, 2, 2), scale_factor=2).shape
        (1, 1, 4, 4)
    """
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.",
                  UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """``interpolate(..., mode='bilinear', align_corners=True)`` under its old name (deprecated in PyTorch).

    Example:
        >>> import warnings, chainrule as cr, chainrule.nn.functional as F
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     F.upsample_bilinear(cr.tensor([[[[0.0, 2.0]]]]), size=(1, 3))
        tensor([[[[0., 1., 2.]]]])
    """
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate instead.",
                  UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


@composite(Check("F.pixel_shuffle", call=lambda lib, x: lib.nn.functional.pixel_shuffle(x, 2),
                 shapes=(((1, 8, 2, 3),), ((8, 2, 3),))))
def pixel_shuffle(input, upscale_factor):
    r"""(*, C·r², H, W) → (*, C, H·r, W·r): :math:`y_{c,\, h r + i,\, w r + j} = x_{c r^2 + i r + j,\, h,\, w}`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.pixel_shuffle(cr.arange(4.0).reshape(1, 4, 1, 1), 2)
        tensor([[[[0., 1.],
                  [2., 3.]]]])
    """
    r = int(upscale_factor)
    *lead, channels, height, width = _image_shape(input, "pixel_shuffle")
    if channels % (r * r):
        raise RuntimeError(f"pixel_shuffle: the {channels} channels of the input (shape {input.shape}) must be "
                           f"divisible by upscale_factor² = {r * r}")
    c = channels // (r * r)
    n = len(lead)
    x = input.reshape(tuple(lead) + (c, r, r, height, width))
    x = x.permute(tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2))
    return x.reshape(tuple(lead) + (c, height * r, width * r))


@composite(Check("F.pixel_unshuffle", call=lambda lib, x: lib.nn.functional.pixel_unshuffle(x, 2),
                 shapes=(((1, 2, 4, 6),), ((2, 4, 2),))))
def pixel_unshuffle(input, downscale_factor):
    r"""The inverse of ``pixel_shuffle``: (*, C, H·r, W·r) → (*, C·r², H, W).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.pixel_unshuffle(cr.arange(4.0).reshape(1, 1, 2, 2), 2).flatten()
        tensor([0., 1., 2., 3.])
    """
    r = int(downscale_factor)
    *lead, channels, height, width = _image_shape(input, "pixel_unshuffle")
    if height % r or width % r:
        raise RuntimeError(f"pixel_unshuffle: height and width of the input (shape {input.shape}) must be "
                           f"divisible by downscale_factor = {r}")
    n = len(lead)
    x = input.reshape(tuple(lead) + (channels, height // r, r, width // r, r))
    x = x.permute(tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3))
    return x.reshape(tuple(lead) + (channels * r * r, height // r, width // r))


@composite(Check("F.channel_shuffle", call=lambda lib, x: lib.nn.functional.channel_shuffle(x, 2),
                 shapes=(((2, 6, 2, 2),), ((1, 4, 3),))))
def channel_shuffle(input, groups):
    r"""Interleave the channels of ``groups`` groups: (N, g·k, ...) → channel :math:`c = i k + j` moves to :math:`j g + i`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.channel_shuffle(cr.arange(4.0).reshape(1, 4, 1), 2).flatten()
        tensor([0., 2., 1., 3.])
    """
    if input.ndim < 3 or input.shape[1] % groups:
        raise RuntimeError(f"channel_shuffle: expected (N, C, ...) with C divisible by groups = {groups}, got "
                           f"shape {input.shape}")
    batch, channels, *rest = input.shape
    x = input.reshape((batch, groups, channels // groups) + tuple(rest))
    return x.transpose(1, 2).reshape(input.shape)


def _image_shape(input, name):
    if input.ndim < 3:
        raise RuntimeError(f"{name}: expected an input of at least 3 dims (*, C, H, W), got shape {input.shape}")
    return input.shape
