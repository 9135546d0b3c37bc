"""Convolution (1-D, 2-D, transposed), unfold/fold and padding, as functions.

Each convolution is im2col + one matrix product per group, on the im2col/col2im
primitives of ``chainrule.ops.convolution``, so its work (backward included) is GEMMs;
a stride-1 3×3 conv2d big enough to pay takes the Winograd path there instead
(``chainrule.ops.convolution.winograd_tile`` chooses).
"""
from chainrule import ops
from chainrule.core.primitive import apply
from chainrule.nn.functional._common import _check_tensor, _tuple
from chainrule.nn.functional.unbatched import accepts_unbatched
from chainrule.nn.primitives import ColumnsAffine
from chainrule.ops.convolution import col2im, im2col, output_grid, winograd_conv2d, winograd_tile

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _conv_padding(padding, kernel_size, dilation, stride, name):
    """Padding as ((top, bottom), (left, right)); 'same' puts the odd pixel at the end, as PyTorch."""
    n = len(kernel_size)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions (stride={stride})")
            pads = []
            for k, d in zip(kernel_size, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise ValueError(f"{name}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
    padding = _tuple(padding, n, name, "padding")
    if any(p < 0 for p in padding):
        raise ValueError(f"{name}: padding must be non-negative, got {padding}")
    return tuple((p, p) for p in padding)


def _pad_spatial(x, pads, mode, value=0.0):
    """Pad the last len(pads) dims; pads = ((before, after) for each spatial dim, first dim first)."""
    widths = []
    for before, after in reversed(pads):
        widths += [before, after]
    if not any(widths):
        return x
    if mode == "zeros" or mode == "constant":
        return ops.pad(x, widths, mode="constant", value=value)
    return ops.pad(x, widths, mode=mode)


def _check_conv_input(input, weight, groups, name, spatial):
    _check_tensor(input, name)
    expected_ndim = spatial + 2
    if input.ndim != expected_ndim:
        layout = "(N, C, L) or an unbatched (C, L)" if spatial == 1 else "(N, C, H, W) or an unbatched (C, H, W)"
        raise ValueError(f"{name}: expected a {expected_ndim}-D input {layout}, got shape {input.shape}")
    if weight.ndim != expected_ndim:
        raise ValueError(f"{name}: expected a {expected_ndim}-D weight, got shape {weight.shape}")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
    if input.dtype != weight.dtype:
        raise TypeError(
            f"{name}: input dtype {input.dtype} does not match weight dtype {weight.dtype}; "
            f"convert one of them (x.to({weight.dtype}) or layer.to({input.dtype}))"
        )


@accepts_unbatched(2)
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    r"""2-D cross-correlation: :math:`y_{n,o,i,j} = b_o + \sum_{c,k_h,k_w} W_{o,c,k_h,k_w}\, x_{n,c,\,i s_h + k_h d_h,\,j s_w + k_w d_w}`.

    input (N, C, H, W), weight (O, C/groups, KH, KW), bias (O,). Output size per axis:
    ⌊(H + 2p − d(K−1) − 1)/s⌋ + 1. Computed as im2col followed by one GEMM per group, or, for a
    3×3 kernel with stride 1, dilation 1, one group and enough work (``ops.convolution.winograd_tile``),
    by Winograd's F(4×4, 3×3): Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A per 4×4 output block
    (``ops.convolution.winograd_conv2d``; float32 error in chainrule/kernels/README.md).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.conv2d(cr.ones(1, 1, 4, 4), cr.ones(1, 1, 3, 3)).shape
        (1, 1, 2, 2)
    """
    name = "conv2d"
    _check_conv_input(input, weight, groups, name, spatial=2)
    stride = _tuple(stride, 2, name, "stride")
    dilation = _tuple(dilation, 2, name, "dilation")
    out_channels, group_in_channels, kernel_h, kernel_w = weight.shape
    kernel_size = (kernel_h, kernel_w)
    batch, in_channels = input.shape[:2]
    if in_channels != group_in_channels * groups:
        raise ValueError(
            f"{name}: input of shape {input.shape} has {in_channels} channels, but the weight of shape "
            f"{weight.shape} with groups={groups} expects {group_in_channels * groups} input channels"
        )
    if out_channels % groups:
        raise ValueError(f"{name}: out_channels {out_channels} is not divisible by groups {groups}")
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
    pads = _conv_padding(padding, kernel_size, dilation, stride, name)
    padded_hw = tuple(size + before + after for size, (before, after) in zip(input.shape[2:], pads))
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))
    if any(span > size for span, size in zip(spans, padded_hw)):
        raise ValueError(
            f"{name}: the kernel {kernel_size} (dilation {dilation}, so it spans {spans}) is larger than the "
            f"padded input of spatial size {padded_hw} (input shape {input.shape}, padding {pads}); "
            "use a smaller kernel or more padding"
        )
    if padding_mode == "zeros":
        x, inner_pads = input, pads            # im2col pads with zeros itself, in the copy it makes anyway
    else:
        x, inner_pads = _pad_spatial(input, pads, padding_mode), ((0, 0), (0, 0))
    tile = winograd_tile(x, weight, stride, dilation, groups)
    if tile is not None:                                              # 3×3 stride 1, big enough to pay
        return winograd_conv2d(x, weight, inner_pads, tile, bias)     # (its output transform adds the bias)
    fused_bias = bias is not None and groups == 1 and bias.dtype == weight.dtype
    out = _im2col_conv2d(x, weight, kernel_size, dilation, stride, inner_pads, groups,
                         output_grid(padded_hw, kernel_size, dilation, stride), bias if fused_bias else None)
    if bias is not None and not fused_bias:
        out = out + bias.reshape(1, out_channels, 1, 1)
    return out


def _im2col_conv2d(x, weight, kernel_size, dilation, stride, pads, groups, grid, bias=None):
    """im2col, then one GEMM per group: (O, C·KH·KW) · (C·KH·KW, OH·OW·N), back to (N, O, OH, OW).

    With one group, a ``bias`` is added inside the product (``ColumnsAffine``)."""
    out_channels, batch = weight.shape[0], x.shape[0]
    columns = im2col(x, kernel_size, dilation, stride, pads, grid)   # (C·KH·KW, OH·OW·N)
    if bias is not None:
        out = apply(ColumnsAffine, weight.reshape(out_channels, -1), columns, bias)   # (O, OH·OW·N)
    elif groups == 1:
        out = weight.reshape(out_channels, -1) @ columns               # (O, OH·OW·N)
    else:
        grouped_columns = columns.reshape(groups, -1, columns.shape[1])
        out = weight.reshape(groups, out_channels // groups, -1) @ grouped_columns
        out = out.reshape(out_channels, -1)
    return out.reshape(out_channels, grid[0], grid[1], batch).permute(3, 0, 1, 2)


@accepts_unbatched(1)
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    r"""1-D cross-correlation: :math:`y_{n,o,i} = b_o + \sum_{c,k} W_{o,c,k}\, x_{n,c,\,i s + k d}` (a conv2d with height 1).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.conv1d(cr.ones(2, 3, 10), cr.ones(4, 3, 3), padding="same").shape
        (2, 4, 10)
    """
    name = "conv1d"
    _check_conv_input(input, weight, groups, name, spatial=1)
    stride = _tuple(stride, 1, name, "stride")
    dilation = _tuple(dilation, 1, name, "dilation")
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"{name}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
        if padding == "same" and stride[0] != 1:
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions (stride={stride})")
        padding_2d = padding
    else:
        padding_2d = (0,) + _tuple(padding, 1, name, "padding")
    in_channels, length = input.shape[1:]
    span = dilation[0] * (weight.shape[2] - 1) + 1
    if padding == "same":
        padded = length + span - 1
    elif padding == "valid":
        padded = length
    else:
        padded = length + 2 * padding_2d[1]
    if span > padded:
        raise ValueError(
            f"{name}: the kernel of size {weight.shape[2]} (dilation {dilation[0]}, span {span}) is larger than "
            f"the padded input length {padded} (input shape {input.shape})"
        )
    if in_channels != weight.shape[1] * groups:
        raise ValueError(
            f"{name}: input of shape {input.shape} has {in_channels} channels, but the weight of shape "
            f"{weight.shape} with groups={groups} expects {weight.shape[1] * groups} input channels"
        )
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1,) + stride, padding_2d, (1,) + dilation,
                 groups, padding_mode)
    return out.squeeze(2)


@accepts_unbatched(2)
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    r"""The transpose (adjoint) of conv2d with respect to its input: each input pixel scatters a weighted kernel.

    :math:`y_{n,o,\,i s + k_h d - p,\,j s + k_w d - p} \mathrel{+}= \sum_c W_{c,o,k_h,k_w} x_{n,c,i,j}`,
    weight (C_in, C_out/groups, KH, KW). Output size: (H−1)s − 2p + d(K−1) + output_padding + 1.
    Computed as one GEMM per group followed by col2im.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.conv_transpose2d(cr.ones(1, 2, 3, 3), cr.ones(2, 4, 3, 3), stride=2).shape
        (1, 4, 7, 7)
    """
    name = "conv_transpose2d"
    _check_conv_input(input, weight, groups, name, spatial=2)
    stride = _tuple(stride, 2, name, "stride")
    padding = _tuple(padding, 2, name, "padding")
    output_padding = _tuple(output_padding, 2, name, "output_padding")
    dilation = _tuple(dilation, 2, name, "dilation")
    in_channels, group_out_channels, kernel_h, kernel_w = weight.shape
    batch, channels, height, width = input.shape
    if channels != in_channels:
        raise ValueError(
            f"{name}: input of shape {input.shape} has {channels} channels, but the weight of shape "
            f"{weight.shape} expects {in_channels} (weight dim 0)"
        )
    if in_channels % groups:
        raise ValueError(f"{name}: in_channels {in_channels} is not divisible by groups {groups}")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= max(s, d):
            raise ValueError(
                f"{name}: output_padding {output_padding} must be smaller than stride {stride} or dilation {dilation}"
            )
    out_channels = group_out_channels * groups
    full_hw = tuple((size - 1) * s + d * (k - 1) + 1 + op
                    for size, s, d, k, op in zip((height, width), stride, dilation, (kernel_h, kernel_w), output_padding))
    out_hw = tuple(size - 2 * p for size, p in zip(full_hw, padding))
    if min(out_hw) < 1:
        raise ValueError(f"{name}: padding {padding} leaves no output for input shape {input.shape}")
    rows = input.permute(1, 2, 3, 0).reshape(groups, in_channels // groups, -1)        # (g, C/g, H·W·N)
    kernel_rows = weight.reshape(groups, in_channels // groups, -1).mT                 # (g, O/g·KH·KW, C/g)
    columns = (kernel_rows @ rows).reshape(out_channels * kernel_h * kernel_w, -1)      # (O·KH·KW, H·W·N)
    # col2im adds the patches into the padded image and crops the padding off.
    out = col2im(columns, (batch, out_channels) + out_hw, (kernel_h, kernel_w), dilation, stride,
                 tuple((p, p) for p in padding), grid=(height, width))
    if bias is not None:
        out = out + bias.reshape(1, out_channels, 1, 1)
    return out


@accepts_unbatched(1)
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    r"""The transpose of conv1d (a conv_transpose2d with height 1).

    :math:`y_{n,o,\,i s + k d - p} \mathrel{+}= \sum_c W_{c,o,k}\, x_{n,c,i}`, input (N, C_in, L),
    weight (C_in, C_out/groups, K). Output length: (L−1)s − 2p + d(K−1) + output_padding + 1.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.conv_transpose1d(cr.ones(1, 1, 3), cr.ones(1, 1, 2))
        tensor([[[1., 2., 2., 1.]]])
        >>> F.conv_transpose1d(cr.ones(1, 2, 5), cr.ones(2, 3, 3), stride=2).shape
        (1, 3, 11)
    """
    if input.ndim != 3:
        raise ValueError(f"conv_transpose1d: expected a 3-D input (N, C, L), got shape {input.shape}")
    out = conv_transpose2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, _tuple(stride, 1, "conv_transpose1d", "stride")[0]),
                           (0, _tuple(padding, 1, "conv_transpose1d", "padding")[0]),
                           (0, _tuple(output_padding, 1, "conv_transpose1d", "output_padding")[0]), groups,
                           (1, _tuple(dilation, 1, "conv_transpose1d", "dilation")[0]))
    return out.squeeze(2)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding patches as columns, PyTorch layout: (N, C, H, W) -> (N, C·KH·KW, L).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.unfold(cr.ones(2, 3, 4, 4), 2).shape
        (2, 12, 9)
    """
    name = "unfold"
    if input.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D input (N, C, H, W), got shape {input.shape}")
    kernel_size = _tuple(kernel_size, 2, name, "kernel_size")
    dilation, stride = _tuple(dilation, 2, name, "dilation"), _tuple(stride, 2, name, "stride")
    pads = tuple((p, p) for p in _tuple(padding, 2, name, "padding"))
    columns = im2col(input, kernel_size, dilation, stride, pads)        # (C·KH·KW, L·N)
    return columns.reshape(columns.shape[0], -1, input.shape[0]).permute(2, 0, 1)


@accepts_unbatched(1)
def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    r"""The adjoint of ``unfold``: add the columns (N, C·KH·KW, L) back into images (N, C, *output_size).

    :math:`y_{n,c,\,i s + k_h d - p,\,j s + k_w d - p} \mathrel{+}= x_{n,\,(c,k_h,k_w),\,(i,j)}`: overlapping
    patches add up, so ``fold(unfold(x))`` multiplies each pixel by the number of windows covering it.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.fold(F.unfold(cr.ones(1, 1, 3, 3), 2), (3, 3), 2)
        tensor([[[[1., 2., 1.],
                  [2., 4., 2.],
                  [1., 2., 1.]]]])
    """
    name = "fold"
    if input.ndim != 3:
        raise ValueError(f"{name}: expected a 3-D input (N, C·KH·KW, L), got shape {input.shape}")
    output_size = _tuple(output_size, 2, name, "output_size")
    kernel_size = _tuple(kernel_size, 2, name, "kernel_size")
    dilation, stride = _tuple(dilation, 2, name, "dilation"), _tuple(stride, 2, name, "stride")
    padding = _tuple(padding, 2, name, "padding")
    batch, rows, positions = input.shape
    kernel_area = kernel_size[0] * kernel_size[1]
    if rows % kernel_area:
        raise ValueError(f"{name}: dim 1 of the input ({rows}) must be divisible by the kernel area {kernel_area}")
    padded = tuple(size + 2 * p for size, p in zip(output_size, padding))
    grid = output_grid(padded, kernel_size, dilation, stride)
    if grid[0] * grid[1] != positions:
        raise ValueError(
            f"{name}: the input has {positions} columns but output_size {output_size} with this kernel, "
            f"padding, dilation and stride gives {grid[0]}×{grid[1]} = {grid[0] * grid[1]} positions"
        )
    columns = input.permute(1, 2, 0).reshape(rows, -1)                  # (C·KH·KW, L·N)
    pads = tuple((p, p) for p in padding)
    return col2im(columns, (batch, rows // kernel_area) + output_size, kernel_size, dilation, stride, pads, grid)


def pad(input, pad, mode="constant", value=None):
    """Pad the last dims: ``pad = (left_last, right_last, left_second_last, ...)``; modes constant,
    reflect, replicate, circular (``chainrule.pad``, with PyTorch's F.pad signature).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.pad(cr.ones(1, 2), (1, 2)).shape
        (1, 5)
    """
    if mode == "constant":
        return ops.pad(input, pad, mode="constant", value=0.0 if value is None else value)
    return ops.pad(input, pad, mode=mode)
