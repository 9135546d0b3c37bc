"""The functional forms of the layers, activations and losses (``torch.nn.functional`` names and defaults).

Every function here is composed from chainrule ops, so its derivative comes from
the chain rule; convolution and pooling run on the im2col/col2im primitives of
``chainrule.ops.convolution`` so that their work (backward included) is matrix
products. Layers in ``chainrule.nn`` hold parameters and call these.

    import chainrule as cr, chainrule.nn.functional as F
    y = F.conv2d(cr.randn(1, 3, 8, 8), cr.randn(4, 3, 3, 3), padding="same")   # (1, 4, 8, 8)
"""
import math

import chainrule as cr
from chainrule.core.dtypes import float16
from chainrule.core.primitive import apply
from chainrule.core.tensor import Tensor
from chainrule.nn.primitives import Affine, BinaryCrossEntropy, SoftmaxCrossEntropy, Standardize, WindowMax
from chainrule.ops.convolution import col2im, im2col, output_grid

# ============================================================================================
# helpers
# ============================================================================================


def _tuple(value, n, name, what):
    """An int or a sequence of n ints, as a tuple of n ints."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * n
    value = tuple(value)
    if len(value) != n or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{name}: {what} must be an int or a tuple of {n} ints, got {value!r}")
    return value


def _check_tensor(x, name, what="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: {what} must be a chainrule Tensor, got {type(x).__name__}")


def _in_float32(x):
    """x as float32 if it is float16, else x itself: float16 data is reduced in float32, PyTorch's accumulation type.

    A float16 sum overflows past 65504 and loses digits long before: a mean of 70,000 ones, the
    variance of [300, −300, 0] or the norm of [300, 300] would be inf. Callers cast the result back.
    """
    return x.float() if x.dtype == float16 else x


def _reduce(loss, reduction, name):
    if reduction == "mean":
        return _in_float32(loss).mean().to(loss.dtype)
    if reduction == "sum":
        return _in_float32(loss).sum().to(loss.dtype)
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


# ============================================================================================
# linear, embedding, dropout
# ============================================================================================


def linear(input, weight, bias=None):
    r"""Affine map :math:`y = x W^\top + b` over the last dim (W: out × in).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.linear(cr.ones(2, 3), cr.ones(4, 3), cr.zeros(4)).shape
        (2, 4)
    """
    _check_tensor(input, "linear")
    if input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: input of shape {input.shape} has {input.shape[-1] if input.ndim else 'no'} features in "
            f"its last dim, but the weight of shape {weight.shape} expects {weight.shape[-1]} (in_features)"
        )
    if (input.ndim == 1 or weight.ndim != 2 or input.dtype != weight.dtype
            or (bias is not None and (bias.ndim != 1 or bias.dtype != weight.dtype))):
        out = input @ weight.mT  # the unusual cases, composed
        return out if bias is None else out + bias
    return apply(Affine, input, weight) if bias is None else apply(Affine, input, weight, bias)


def embedding(input, weight, padding_idx=None):
    r"""Rows of ``weight`` picked by integer ``input``: :math:`y_{\dots} = W_{i_{\dots}}`.

    The row ``padding_idx`` (if given) gets no gradient.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.embedding(cr.tensor([[0, 2]]), cr.eye(3)).shape
        (1, 2, 3)
    """
    _check_tensor(input, "embedding")
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got {input.dtype}; use input.long()")
    rows = weight.shape[0]
    if input.numel() and (int(input.data.min()) < 0 or int(input.data.max()) >= rows):
        bad = int(input.data.max()) if int(input.data.max()) >= rows else int(input.data.min())
        raise IndexError(
            f"embedding: index {bad} is out of range for a table of {rows} rows "
            f"(weight shape {weight.shape}, indices shape {input.shape}); indices must be in [0, {rows})"
        )
    out = weight[input]
    if padding_idx is not None:
        if padding_idx < 0:
            padding_idx += rows
        is_padding = (input == padding_idx).unsqueeze(-1)
        out = cr.where(is_padding, weight.detach()[input], out)
    return out


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    r"""Zero each element with probability p and scale the rest by 1/(1−p): :math:`y = x\, m / (1-p)`, m ~ Bernoulli(1−p).

    The mask is drawn from ``generator`` (the seeded default if None); the expected
    value of y is x, so nothing needs rescaling at evaluation, where dropout is the identity.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.dropout(cr.ones(4), p=0.5, training=False)
        tensor([1., 1., 1., 1.])
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    generator = generator if generator is not None else cr.default_generator()
    keep = generator.bernoulli(input.shape, 1.0 - p, input.dtype, input.xp)
    return input * Tensor._wrap(keep / input.xp.asarray(1.0 - p, dtype=input.dtype))


def dropout2d(input, p=0.5, training=True, inplace=False, generator=None):
    r"""Channel dropout: zero whole channels (dim 1) of an (N, C, H, W) input with probability p, scale by 1/(1−p).

    :math:`y_{n,c} = x_{n,c}\, m_{n,c} / (1-p)`, one :math:`m_{n,c} \sim \text{Bernoulli}(1-p)` per channel
    (a 3-D input is read as (N, C, L)). The identity when not ``training``.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> _ = cr.manual_seed(0)
        >>> y = F.dropout2d(cr.ones(2, 4, 3, 3), p=0.5)
        >>> bool((y.amax((2, 3)) == y.amin((2, 3))).all())   # each channel all 0 or all 2
        True
    """
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-D or 4-D input, got shape {input.shape}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    generator = generator if generator is not None else cr.default_generator()
    mask_shape = input.shape[:2] + (1,) * (input.ndim - 2)
    keep = generator.bernoulli(mask_shape, 1.0 - p, input.dtype, input.xp)
    return input * Tensor._wrap(keep / input.xp.asarray(1.0 - p, dtype=input.dtype))


# ============================================================================================
# convolution
# ============================================================================================

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
        return cr.pad(x, widths, mode="constant", value=value)
    return cr.pad(x, widths, mode=mode)


def _check_conv_input(input, weight, groups, name, spatial):
    _check_tensor(input, name)
    expected_ndim = spatial + 2
    if input.ndim != expected_ndim:
        layout = "(N, C, L)" if spatial == 1 else "(N, C, H, W)"
        hint = " (add a batch dim with x.unsqueeze(0))" if input.ndim == expected_ndim - 1 else ""
        raise ValueError(
            f"{name}: expected a {expected_ndim}-D input {layout}, got shape {input.shape}{hint}"
        )
    if weight.ndim != expected_ndim:
        raise ValueError(f"{name}: expected a {expected_ndim}-D weight, got shape {weight.shape}")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
    if input.dtype != weight.dtype:
        raise TypeError(
            f"{name}: input dtype {input.dtype} does not match weight dtype {weight.dtype}; "
            f"convert one of them (x.to({weight.dtype}) or layer.to({input.dtype}))"
        )


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    r"""2-D cross-correlation: :math:`y_{n,o,i,j} = b_o + \sum_{c,k_h,k_w} W_{o,c,k_h,k_w}\, x_{n,c,\,i s_h + k_h d_h,\,j s_w + k_w d_w}`.

    input (N, C, H, W), weight (O, C/groups, KH, KW), bias (O,). Output size per axis:
    ⌊(H + 2p − d(K−1) − 1)/s⌋ + 1. Computed as im2col followed by one GEMM per group.

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
    grid = output_grid(padded_hw, kernel_size, dilation, stride)
    columns = im2col(x, kernel_size, dilation, stride, inner_pads, grid)   # (C·KH·KW, OH·OW·N)
    if groups == 1:
        out = weight.reshape(out_channels, -1) @ columns               # (O, OH·OW·N)
    else:
        grouped_columns = columns.reshape(groups, -1, columns.shape[1])
        out = weight.reshape(groups, out_channels // groups, -1) @ grouped_columns
        out = out.reshape(out_channels, -1)
    out = out.reshape(out_channels, grid[0], grid[1], batch).permute(3, 0, 1, 2)
    if bias is not None:
        out = out + bias.reshape(1, out_channels, 1, 1)
    return out


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


# ============================================================================================
# pooling
# ============================================================================================


def _pool_geometry(size, kernel, stride, padding, dilation, ceil_mode):
    """Output length of a pooling window and the extra right padding ceil_mode needs (PyTorch's rule)."""
    numerator = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (-(-numerator // stride) if ceil_mode else numerator // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # the last window would start in the right padding
    needed = (out - 1) * stride + dilation * (kernel - 1) + 1
    return out, max(0, needed - (size + 2 * padding))


def _pool_setup(input, kernel_size, stride, padding, dilation, ceil_mode, name):
    if input.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D input (N, C, H, W), got shape {input.shape}")
    kernel_size = _tuple(kernel_size, 2, name, "kernel_size")
    stride = kernel_size if stride is None or stride == () else _tuple(stride, 2, name, "stride")
    padding = _tuple(padding, 2, name, "padding")
    dilation = _tuple(dilation, 2, name, "dilation")
    for k, p in zip(kernel_size, padding):
        if p > k // 2:
            raise ValueError(
                f"{name}: padding {padding} must be at most half the kernel size {kernel_size}"
            )
    geometry = [_pool_geometry(size, k, s, p, d, ceil_mode)
                for size, k, s, p, d in zip(input.shape[2:], kernel_size, stride, padding, dilation)]
    grid = tuple(out for out, _ in geometry)
    if min(grid) < 1:
        raise ValueError(
            f"{name}: the window {kernel_size} (padding {padding}, dilation {dilation}) does not fit in the input "
            f"of shape {input.shape}"
        )
    pads = tuple((p, p + extra) for p, (_, extra) in zip(padding, geometry))
    return kernel_size, stride, dilation, pads, grid


def _windows(x, kernel_size, dilation, stride, grid):
    """im2col of each channel separately: (N, C, H, W) -> (C, KH·KW, OH·OW·N)."""
    channels = x.shape[1]
    columns = im2col(x, kernel_size, dilation, stride, grid=grid)
    return columns.reshape(channels, kernel_size[0] * kernel_size[1], -1)


def _unwindow(values, batch, grid):
    """(C, OH·OW·N) -> (N, C, OH, OW)."""
    return values.reshape(values.shape[0], grid[0], grid[1], batch).permute(3, 0, 1, 2)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    r"""Largest value of each window: :math:`y_{n,c,i,j} = \max_{k_h,k_w} x_{n,c,\,i s + k_h d,\,j s + k_w d}`.

    Padding counts as −∞. The gradient goes to the first maximum of each window, as in PyTorch.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.max_pool2d(cr.arange(16.0).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    name = "max_pool2d"
    _check_tensor(input, name)
    kernel_size, stride, dilation, pads, grid = _pool_setup(input, kernel_size, stride, padding, dilation,
                                                             ceil_mode, name)
    x = _pad_spatial(input, pads, "constant", value=-math.inf)
    windows = _windows(x, kernel_size, dilation, stride, grid)                 # (C, K, L·N)
    first_max = _first_max_of_window(windows.xp, windows.data)
    out = _unwindow(apply(WindowMax, windows, first_max=Tensor._wrap(first_max)), input.shape[0], grid)
    if not return_indices:
        return out
    position = first_max.argmax(axis=1)                                       # the first True of each window
    return out, _max_pool_indices(input, position, kernel_size, dilation, stride, pads, grid)


def _first_max_of_window(xp, windows):
    """A boolean mask of (C, K, M), True at the first maximum along axis 1 of each window.

    Marks every maximum, then walks the K offsets clearing those after the first (K passes
    over a boolean array: 7× faster than the int64 argmax it replaces). A window holding
    NaN marks its first NaN, so the gradient goes where PyTorch sends it.
    """
    largest = windows.max(axis=1, keepdims=True)
    first_max = windows == largest
    has_nan = xp.isnan(largest)
    if has_nan.any():
        first_max |= has_nan & xp.isnan(windows)
    taken = first_max[:, 0].copy()
    for k in range(1, windows.shape[1]):
        first_max[:, k] &= ~taken
        taken |= first_max[:, k]
    return first_max


def _max_pool_indices(input, position, kernel_size, dilation, stride, pads, grid):
    """Flat indices (h·W + w) into the unpadded input of each window's maximum (PyTorch's return_indices)."""
    xp = input.xp
    kernel_h, kernel_w = position // kernel_size[1], position % kernel_size[1]
    channels, batch = input.shape[1], input.shape[0]
    kernel_h = kernel_h.reshape(channels, grid[0], grid[1], batch)
    kernel_w = kernel_w.reshape(channels, grid[0], grid[1], batch)
    rows = xp.arange(grid[0])[:, None, None] * stride[0] + kernel_h * dilation[0] - pads[0][0]
    cols = xp.arange(grid[1])[None, :, None] * stride[1] + kernel_w * dilation[1] - pads[1][0]
    return Tensor._wrap((rows * input.shape[3] + cols).transpose(3, 0, 1, 2).astype(xp.int64))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    r"""Largest value of each window along the last dim of (N, C, L) (a max_pool2d with height 1).

    :math:`y_{n,c,i} = \max_k x_{n,c,\,i s + k d - p}`; the gradient goes to the first maximum of each window.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.max_pool1d(cr.arange(6.0).reshape(1, 1, 6), 2)
        tensor([[[1., 3., 5.]]])
    """
    if input.ndim != 3:
        raise ValueError(f"max_pool1d: expected a 3-D input (N, C, L), got shape {input.shape}")
    one = lambda v, what: (1,) + _tuple(v, 1, "max_pool1d", what)  # noqa: E731
    stride = None if stride is None else one(stride, "stride")
    result = max_pool2d(input.unsqueeze(2), one(kernel_size, "kernel_size"), stride, (0,) + _tuple(padding, 1, "pool1d", "padding"),
                        one(dilation, "dilation"), ceil_mode, return_indices)
    if return_indices:
        return result[0].squeeze(2), result[1].squeeze(2)
    return result.squeeze(2)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    r"""Mean of each window: :math:`y_{n,c,i,j} = \frac{1}{|w|}\sum_{(h,v) \in w_{ij}} x_{n,c,h,v}`.

    ``count_include_pad``: whether zero padding counts in |w|. Windows that reach
    into the extra padding of ``ceil_mode`` never count it (PyTorch's rule).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.avg_pool2d(cr.arange(16.0).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 2.5,  4.5],
                  [10.5, 12.5]]]])
    """
    name = "avg_pool2d"
    _check_tensor(input, name)
    kernel_size, stride, dilation, pads, grid = _pool_setup(input, kernel_size, stride, padding, 1, ceil_mode, name)
    x = _pad_spatial(input, pads, "zeros")
    sums = _windows(x, kernel_size, dilation, stride, grid).sum(1)              # (C, N·L)
    if divisor_override is not None:
        return _unwindow(sums, input.shape[0], grid) / divisor_override
    # The divisor of each window: how many of its cells count (a window sum of a 0/1 map).
    xp = input.xp
    height, width = input.shape[2:]
    counted = xp.zeros((1, 1) + x.shape[2:], dtype=input.dtype)
    if count_include_pad:
        counted[..., :height + 2 * pads[0][0], :width + 2 * pads[1][0]] = 1
    else:
        counted[..., pads[0][0]:pads[0][0] + height, pads[1][0]:pads[1][0] + width] = 1
    divisor = _windows(Tensor._wrap(counted), kernel_size, dilation, stride, grid).sum(1)   # (1, L): one per window
    averages = sums.reshape(sums.shape[0], -1, input.shape[0]) / divisor.reshape(1, -1, 1)
    return _unwindow(averages, input.shape[0], grid)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    r"""Mean of each window along the last dim of (N, C, L) (an avg_pool2d with height 1).

    :math:`y_{n,c,i} = \frac{1}{K}\sum_{k=0}^{K-1} x_{n,c,\,i s + k - p}` (padding counted when ``count_include_pad``).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.avg_pool1d(cr.arange(6.0).reshape(1, 1, 6), 2)
        tensor([[[0.5, 2.5, 4.5]]])
    """
    if input.ndim != 3:
        raise ValueError(f"avg_pool1d: expected a 3-D input (N, C, L), got shape {input.shape}")
    one = lambda v, what: (1,) + _tuple(v, 1, "avg_pool1d", what)  # noqa: E731
    stride = None if stride is None else one(stride, "stride")
    out = avg_pool2d(input.unsqueeze(2), one(kernel_size, "kernel_size"), stride, (0,) + _tuple(padding, 1, "pool1d", "padding"),
                     ceil_mode, count_include_pad)
    return out.squeeze(2)


def _adaptive_bins(size, out_size):
    """PyTorch's adaptive bins: bin i covers [⌊i·size/out⌋, ⌈(i+1)·size/out⌉)."""
    return [((i * size) // out_size, -(-((i + 1) * size) // out_size)) for i in range(out_size)]


def _adaptive_output_size(input, output_size, name):
    if input.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D input (N, C, H, W), got shape {input.shape}")
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    output_size = tuple(input.shape[2 + i] if size is None else size for i, size in enumerate(output_size))
    if len(output_size) != 2 or min(output_size) < 1:
        raise ValueError(f"{name}: output_size must be one or two positive ints, got {output_size}")
    return output_size


def adaptive_avg_pool2d(input, output_size):
    r"""Mean over PyTorch's adaptive bins, so the output is exactly ``output_size``.

    Written as two matrix products, :math:`Y = A_h X A_w^\top`, where row i of
    :math:`A_h` averages bin i of the rows.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.adaptive_avg_pool2d(cr.ones(2, 3, 7, 5), (2, 3)).shape
        (2, 3, 2, 3)
    """
    name = "adaptive_avg_pool2d"
    _check_tensor(input, name)
    out_h, out_w = _adaptive_output_size(input, output_size, name)
    xp = input.xp

    def averaging_matrix(size, out_size):
        matrix = xp.zeros((out_size, size), dtype=input.dtype)
        for i, (start, end) in enumerate(_adaptive_bins(size, out_size)):
            matrix[i, start:end] = 1.0 / (end - start)
        return Tensor._wrap(matrix)

    rows = averaging_matrix(input.shape[2], out_h)
    cols = averaging_matrix(input.shape[3], out_w)
    return rows @ input @ cols.mT


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Largest value over PyTorch's adaptive bins (one slice per bin of each axis, never per pixel); the
    gradient goes to the first maximum of each bin, as in PyTorch.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.adaptive_max_pool2d(cr.arange(16.0).reshape(1, 1, 4, 4), 1)
        tensor([[[[15.]]]])
    """
    name = "adaptive_max_pool2d"
    _check_tensor(input, name)
    if return_indices:
        raise ValueError(f"{name}: return_indices=True is not supported; use max_pool2d(..., return_indices=True)")
    out_h, out_w = _adaptive_output_size(input, output_size, name)
    # Separable: the max over a rectangle is the max over its rows of the max over its columns. max(dim) sends
    # the gradient to its first maximum (amax would split ties), so a tie's gradient goes to the first maximum
    # in row-major order (the first row holding it, its first column there), as in max_pool2d and PyTorch.
    by_columns = cr.stack([input[..., start:end].max(-1).values
                           for start, end in _adaptive_bins(input.shape[3], out_w)], -1)
    return cr.stack([by_columns[..., start:end, :].max(-2).values
                     for start, end in _adaptive_bins(input.shape[2], out_h)], -2)


def adaptive_avg_pool1d(input, output_size):
    r"""Mean over adaptive bins of the last dim of (N, C, L).

    :math:`y_{n,c,i} = \operatorname{mean}\, x_{n,c,\,a_i:b_i}` with PyTorch's bins
    :math:`a_i = \lfloor iL/O \rfloor`, :math:`b_i = \lceil (i+1)L/O \rceil` (they may overlap), O = ``output_size``.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.adaptive_avg_pool1d(cr.arange(6.0).reshape(1, 1, 6), 2)
        tensor([[[1., 4.]]])
    """
    if input.ndim != 3:
        raise ValueError(f"adaptive_avg_pool1d: expected a 3-D input (N, C, L), got shape {input.shape}")
    return adaptive_avg_pool2d(input.unsqueeze(2), (1, output_size)).squeeze(2)


# ============================================================================================
# normalization
# ============================================================================================


def _statistics(x, axes):
    """Mean and biased variance of x's data over ``axes`` (kept), as raw arrays: constants for Standardize."""
    mean = x.data.mean(axis=axes, keepdims=True)
    centered = x.data - mean
    return mean, (centered * centered).mean(axis=axes, keepdims=True)


def standardize(input, dim, eps=1e-5):
    r"""Zero mean and unit variance over ``dim``: :math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}` (one fused primitive).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> y = F.standardize(cr.randn(4, 100), dim=1)
        >>> bool(y.mean(1).abs().max() < 1e-5)
        True
    """
    axes = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = tuple(sorted(a % input.ndim for a in axes))
    x = _in_float32(input)
    return apply(Standardize, x, axes=axes, eps=eps, statistics=_statistics(x, axes)).to(input.dtype)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    r"""Normalize each channel (dim 1) by batch statistics: :math:`y = \gamma \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}} + \beta`.

    Training: μ_B, σ²_B are the batch mean and (biased) variance over all dims but 1,
    and the running estimates move toward them in place:
    running ← (1 − momentum)·running + momentum·batch (the variance entered unbiased).
    Evaluation: the running estimates are used instead.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> y = F.batch_norm(cr.randn(8, 3), None, None, training=True)
        >>> bool(y.mean(0).abs().max() < 1e-5)
        True
    """
    name = "batch_norm"
    _check_tensor(input, name)
    if input.ndim < 2:
        raise ValueError(f"{name}: expected an input with at least 2 dims (N, C, ...), got shape {input.shape}")
    channels = input.shape[1]
    for what, tensor in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                         ("bias", bias)):
        if tensor is not None and tuple(tensor.shape) != (channels,):
            raise ValueError(
                f"{name}: {what} has shape {tensor.shape} but the input of shape {input.shape} has {channels} channels"
            )
    axes = (0,) + tuple(range(2, input.ndim))
    shape = (1, channels) + (1,) * (input.ndim - 2)
    x = _in_float32(input)
    if training:
        count = input.numel() // channels
        if count <= 1:
            raise ValueError(
                f"{name}: expected more than 1 value per channel when training, got input shape {input.shape}"
            )
        mean, var = _statistics(x, axes)
        if running_mean is not None:
            running_mean.data[...] = (1 - momentum) * running_mean.data + momentum * mean.reshape(channels)
        if running_var is not None:
            unbiased = var.reshape(channels) * (count / (count - 1))
            running_var.data[...] = (1 - momentum) * running_var.data + momentum * unbiased
        out = apply(Standardize, x, axes=axes, eps=eps, statistics=(mean, var))
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{name}: evaluation mode needs running_mean and running_var")
        # Evaluation: a fixed affine map of x (the running estimates are constants).
        out = (x - running_mean.reshape(shape)) * (running_var.reshape(shape) + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out.to(input.dtype)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    r"""Normalize over the last dims ``normalized_shape``: :math:`y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \gamma + \beta`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.layer_norm(cr.randn(2, 5), (5,)).shape
        (2, 5)
    """
    name = "layer_norm"
    _check_tensor(input, name)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    count = len(normalized_shape)
    if tuple(input.shape[input.ndim - count:]) != normalized_shape or count > input.ndim:
        raise ValueError(
            f"{name}: the input of shape {input.shape} must end with normalized_shape {normalized_shape}"
        )
    axes = tuple(range(input.ndim - count, input.ndim))
    x = _in_float32(input)
    out = apply(Standardize, x, axes=axes, eps=eps, statistics=_statistics(x, axes))
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out.to(input.dtype)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    r"""Normalize over groups of channels (and all spatial dims), per sample, then scale and shift each channel.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.group_norm(cr.randn(2, 4, 3, 3), 2).shape
        (2, 4, 3, 3)
    """
    name = "group_norm"
    _check_tensor(input, name)
    if input.ndim < 2:
        raise ValueError(f"{name}: expected an input with at least 2 dims (N, C, ...), got shape {input.shape}")
    batch, channels = input.shape[:2]
    if channels % num_groups:
        raise ValueError(f"{name}: {channels} channels (input shape {input.shape}) are not divisible into {num_groups} groups")
    grouped = _in_float32(input).reshape(batch, num_groups, -1)
    out = apply(Standardize, grouped, axes=(2,), eps=eps, statistics=_statistics(grouped, (2,))).reshape(input.shape)
    shape = (1, channels) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out.to(input.dtype)


# ============================================================================================
# activations
# ============================================================================================


def relu(input, inplace=False):
    r""":math:`\max(x, 0)`; derivative :math:`[x > 0]` (0 at x = 0, as PyTorch).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.relu(cr.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    return cr.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    r""":math:`x` for x > 0, :math:`a x` otherwise (a = ``negative_slope``); derivative 1 for x > 0, a otherwise.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.leaky_relu(cr.tensor([-2.0, 3.0]), 0.5)
        tensor([-1.,  3.])
    """
    return cr.where(input > 0, input, input * negative_slope)


def prelu(input, weight):
    r""":math:`x` for x > 0, :math:`a_c x` otherwise, with a learned slope per channel (dim 1) or one shared slope.

    Derivatives: :math:`\partial y/\partial x = [x > 0] + a_c [x \le 0]`, :math:`\partial y/\partial a_c = x [x \le 0]`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.prelu(cr.tensor([[-4.0, -4.0]]), cr.tensor([0.25, 0.5]))   # one slope per channel
        tensor([[-1., -2.]])
    """
    if weight.numel() != 1:
        channels = input.shape[1] if input.ndim >= 2 else input.shape[0]
        if weight.numel() != channels:
            raise ValueError(
                f"prelu: {weight.numel()} slopes do not match the {channels} channels of the input of shape {input.shape}"
            )
        if input.ndim >= 2:
            weight = weight.reshape((1, channels) + (1,) * (input.ndim - 2))
    return cr.where(input > 0, input, input * weight)


def elu(input, alpha=1.0, inplace=False):
    r""":math:`x` for x > 0, :math:`\alpha(e^x - 1)` otherwise; derivative 1 for x > 0, :math:`\alpha e^x` otherwise.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.elu(cr.tensor([-1.0, 2.0]))   # e⁻¹ − 1
        tensor([-0.6321,  2.    ])
    """
    # expm1 only sees x ≤ 0, so a large positive x cannot overflow into the unused branch (and its gradient).
    return cr.where(input > 0, input, alpha * cr.expm1(input.clamp(max=0.0)))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    r""":math:`\lambda x` for x > 0, :math:`\lambda\alpha(e^x - 1)` otherwise (λ ≈ 1.0507, α ≈ 1.6733).

    Derivative: λ for x > 0, :math:`\lambda\alpha e^x` otherwise.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.selu(cr.tensor([0.0, 1.0]))
        tensor([0.    , 1.0507])
    """
    return _SELU_SCALE * elu(input, _SELU_ALPHA)


def gelu(input, approximate="none"):
    r""":math:`x\,\Phi(x) = \frac{x}{2}(1 + \operatorname{erf}(x/\sqrt2))`; 'tanh': :math:`\frac{x}{2}(1 + \tanh(\sqrt{2/\pi}(x + 0.044715x^3)))`.

    Derivative (exact form): :math:`\Phi(x) + x\,\varphi(x)`, φ the standard normal density.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.gelu(cr.tensor([0.0, 1.0]))   # Φ(1) = 0.8413
        tensor([0.    , 0.8413])
        >>> F.gelu(cr.tensor([0.0, 1.0]), approximate="tanh")
        tensor([0.    , 0.8412])
    """
    if approximate == "none":
        return 0.5 * input * (1.0 + cr.erf(input * (1.0 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (input + 0.044715 * input * input * input)
        return 0.5 * input * (1.0 + cr.tanh(inner))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input, inplace=False):
    r""":math:`x\,\sigma(x)`; derivative :math:`\sigma(x)(1 + x(1 - \sigma(x)))`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.silu(cr.tensor([0.0, 1.0]))   # σ(1)
        tensor([0.    , 0.7311])
    """
    return input * cr.sigmoid(input)


def mish(input, inplace=False):
    r""":math:`x \tanh(\operatorname{softplus}(x))`; derivative
    :math:`\tanh(\operatorname{sp}(x)) + x\,\sigma(x)(1 - \tanh^2(\operatorname{sp}(x)))`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.mish(cr.tensor([0.0, 1.0]))   # tanh(ln(1 + e))
        tensor([0.    , 0.8651])
    """
    return input * cr.tanh(cr.softplus(input))


def softplus(input, beta=1.0, threshold=20.0):
    r""":math:`\frac{1}{\beta}\ln(1 + e^{\beta x})`, and x itself where βx > threshold (where they agree to float precision).

    Derivative: :math:`\sigma(\beta x)` (1 where βx > threshold).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.softplus(cr.tensor([0.0, 30.0]))   # ln 2, and x past the threshold
        tensor([ 0.6931, 30.    ])
    """
    scaled = input * beta
    return cr.where(scaled > threshold, input, cr.softplus(scaled) / beta)


def sigmoid(input):
    r""":math:`\sigma(x) = 1 / (1 + e^{-x})`; derivative :math:`\sigma(x)(1 - \sigma(x))`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.sigmoid(cr.tensor([0.0, 1.0]))
        tensor([0.5   , 0.7311])
    """
    return cr.sigmoid(input)


def tanh(input):
    r""":math:`\tanh x = \frac{e^x - e^{-x}}{e^x + e^{-x}}`; derivative :math:`1 - \tanh^2 x`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.tanh(cr.tensor([0.0, 1.0]))
        tensor([0.    , 0.7616])
    """
    return cr.tanh(input)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    r""":math:`\min(\max(x, a), b)` (a = ``min_val``, b = ``max_val``); derivative [a < x < b] (0 at both bounds, as in PyTorch).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.hardtanh(cr.tensor([-2.0, 0.5, 2.0]))
        tensor([-1. ,  0.5,  1. ])
    """
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    # Not clamp alone: clamp passes the gradient at the bounds, PyTorch's hardtanh does not ([a < x < b]).
    inside = cr.logical_and(input > min_val, input < max_val)
    return cr.where(inside, input, cr.clamp(input, min_val, max_val).detach())


def relu6(input, inplace=False):
    r""":math:`\min(\max(x, 0), 6)`; derivative [0 < x < 6] (0 at both bounds, as in PyTorch).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.relu6(cr.tensor([-1.0, 3.0, 8.0]))
        tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0)


def softmax(input, dim=None, dtype=None):
    r""":math:`\operatorname{softmax}(x)_i = e^{x_i - \operatorname{logsumexp}(x)}` along ``dim``.

    Derivative: :math:`\partial s_i / \partial x_j = s_i(\delta_{ij} - s_j)`. ``dim`` is required;
    ``dtype`` casts the input first.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.softmax(cr.log(cr.tensor([1.0, 3.0])), dim=0)
        tensor([0.25, 0.75])
        >>> F.softmax(cr.tensor([1000.0, 0.0]), dim=0)   # no overflow
        tensor([1., 0.])
    """
    if dim is None:
        raise ValueError("softmax: pass dim= (the dim that should sum to 1), e.g. dim=-1")
    if dtype is not None:
        input = input.to(dtype)
    return cr.softmax(_in_float32(input), dim).to(input.dtype)


def log_softmax(input, dim=None, dtype=None):
    r""":math:`x_i - \operatorname{logsumexp}(x)` along ``dim`` (exact where softmax underflows).

    Derivative: :math:`\partial y_i / \partial x_j = \delta_{ij} - \operatorname{softmax}(x)_j`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.log_softmax(cr.zeros(4), dim=0)   # ln(1/4)
        tensor([-1.3863, -1.3863, -1.3863, -1.3863])
        >>> F.log_softmax(cr.tensor([1000.0, 0.0]), dim=0)   # softmax would give log 0 = −inf
        tensor([    0., -1000.])
    """
    if dim is None:
        raise ValueError("log_softmax: pass dim= (the class dim), e.g. dim=-1")
    if dtype is not None:
        input = input.to(dtype)
    return cr.log_softmax(_in_float32(input), dim).to(input.dtype)


# ============================================================================================
# distances and small utilities
# ============================================================================================


def pad(input, pad, mode="constant", value=None):
    """Pad the last dims: ``pad = (left_last, right_last, left_second_last, ...)``; modes constant,
    reflect, replicate, circular (``chainrule.pad``, with PyTorch's F.pad signature).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.pad(cr.ones(1, 2), (1, 2)).shape
        (1, 5)
    """
    if mode == "constant":
        return cr.pad(input, pad, mode="constant", value=0.0 if value is None else value)
    return cr.pad(input, pad, mode=mode)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    r"""Scale to unit p-norm along ``dim``: :math:`y = x / \max(\|x\|_p, \epsilon)`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.normalize(cr.tensor([[3.0, 4.0]]))
        tensor([[0.6, 0.8]])
    """
    x = _in_float32(input)
    return (x / cr.clamp(x.norm(p, dim, keepdim=True), min=eps)).to(input.dtype)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    r""":math:`\frac{x_1 \cdot x_2}{\max(\|x_1\|, \epsilon)\,\max(\|x_2\|, \epsilon)}` along ``dim`` (broadcasting).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.cosine_similarity(cr.tensor([[1.0, 0.0]]), cr.tensor([[1.0, 1.0]]))
        tensor([0.7071])
    """
    dtype = cr.promote_types(x1.dtype, x2.dtype)
    x1, x2 = _in_float32(x1), _in_float32(x2)
    norm1 = cr.clamp(x1.norm(2, dim, keepdim=True), min=eps)
    norm2 = cr.clamp(x2.norm(2, dim, keepdim=True), min=eps)
    return ((x1 / norm1) * (x2 / norm2)).sum(dim).to(dtype)


def one_hot(tensor, num_classes=-1):
    r"""Integer labels to 0/1 rows (int64), as ``torch.nn.functional.one_hot``: :math:`y_{\dots,c} = [x_{\dots} = c]`.

    ``num_classes=-1`` takes max(x) + 1 classes.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.one_hot(cr.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    return cr.one_hot(tensor, num_classes)


# ============================================================================================
# losses
# ============================================================================================


def _check_same_shape(input, target, name):
    _check_tensor(input, name)
    _check_tensor(target, name, "target")
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: input shape {input.shape} and target shape {target.shape} differ; they must match "
            "(broadcasting a target of shape (N,) against (N, 1) is a classic silent bug: reshape one of them)"
        )


def mse_loss(input, target, reduction="mean"):
    r"""Mean squared error :math:`\ell = (x - y)^2`, reduced.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.mse_loss(cr.tensor([1.0, 2.0]), cr.tensor([0.0, 0.0]))
        tensor(2.5)
    """
    _check_same_shape(input, target, "mse_loss")
    return _reduce((input - target) ** 2, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    r"""Absolute error :math:`\ell = |x - y|`, reduced.

    ``reduction``: 'mean' (default) :math:`\frac{1}{N}\sum \ell`, 'sum' :math:`\sum \ell`, or 'none' (ℓ per element).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.l1_loss(cr.tensor([1.0, -3.0]), cr.tensor([0.0, 0.0]))
        tensor(2.)
    """
    _check_same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    r""":math:`\ell = 0.5 d^2 / \beta` for |d| < β, :math:`|d| - 0.5\beta` otherwise (d = x − y).

    Reduced by ``reduction`` ('mean', 'sum' or 'none'); β = 0 gives the L1 loss.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.smooth_l1_loss(cr.tensor([0.5, 3.0]), cr.tensor([0.0, 0.0]), reduction="none")
        tensor([0.125, 2.5  ])
    """
    _check_same_shape(input, target, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    difference = (input - target).abs()
    if beta == 0:
        return _reduce(difference, reduction, "smooth_l1_loss")
    loss = cr.where(difference < beta, 0.5 * difference * difference / beta, difference - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0):
    r""":math:`\ell = 0.5 d^2` for |d| < δ, :math:`\delta(|d| - 0.5\delta)` otherwise (d = x − y).

    Reduced by ``reduction`` ('mean', 'sum' or 'none'); equals δ · smooth_l1_loss with β = δ.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.huber_loss(cr.tensor([0.5, 3.0]), cr.tensor([0.0, 0.0]), reduction="none", delta=2.0)
        tensor([0.125, 4.   ])
    """
    _check_same_shape(input, target, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    difference = (input - target).abs()
    loss = cr.where(difference < delta, 0.5 * difference * difference, delta * (difference - 0.5 * delta))
    return _reduce(loss, reduction, "huber_loss")


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    r"""Cross-entropy of probabilities: :math:`\ell = -w\,[y \ln p + (1-y)\ln(1-p)]`, logs clamped at −100 (as PyTorch).

    Prefer ``binary_cross_entropy_with_logits``: it is exact where p rounds to 0 or 1.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.binary_cross_entropy(cr.tensor([0.5]), cr.tensor([1.0]))
        tensor(0.6931)
    """
    name = "binary_cross_entropy"
    _check_same_shape(input, target, name)
    if input.numel() and (float(input.data.min()) < 0 or float(input.data.max()) > 1):
        raise ValueError(
            f"{name}: every input must be a probability in [0, 1], got values in "
            f"[{float(input.data.min()):.4g}, {float(input.data.max()):.4g}] (shape {input.shape}); "
            "for raw scores use binary_cross_entropy_with_logits"
        )
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    loss = apply(BinaryCrossEntropy, input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, name)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    r"""Binary cross-entropy from logits x, computed stably with softplus:

    :math:`\ell = w\,[(1 - y)\,x + (1 + (p_w - 1) y)\,\operatorname{softplus}(-x)]`,

    which equals :math:`-w[p_w y \ln\sigma(x) + (1-y)\ln(1-\sigma(x))]` without ever forming σ(x).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.binary_cross_entropy_with_logits(cr.tensor([100.0]), cr.tensor([0.0]))   # finite, = 100
        tensor(100.)
    """
    name = "binary_cross_entropy_with_logits"
    _check_same_shape(input, target, name)
    softplus_negative = cr.softplus(-input)
    if pos_weight is not None:
        log_weight = (pos_weight - 1.0) * target + 1.0
        loss = (1.0 - target) * input + log_weight * softplus_negative
    else:
        loss = (1.0 - target) * input + softplus_negative
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, name)


def _check_class_targets(input, target, ignore_index, name):
    """Class-index targets: integer, shaped like input without dim 1, each in [0, C) or ignore_index."""
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: class-index targets must be integers, got {target.dtype} (target shape {target.shape}); "
            "use target.long(), or pass float class probabilities of the input's shape"
        )
    expected = (input.shape[0],) + input.shape[2:] if input.ndim >= 2 else ()
    if tuple(target.shape) != expected:
        raise ValueError(
            f"{name}: input of shape {input.shape} needs a target of shape {expected} (the input without the "
            f"class dim 1), got {target.shape}"
        )
    classes = input.shape[1] if input.ndim >= 2 else input.shape[0]
    valid = target.data != ignore_index
    values = target.data[valid]
    if values.size and (int(values.min()) < 0 or int(values.max()) >= classes):
        bad = int(values.max()) if int(values.max()) >= classes else int(values.min())
        raise IndexError(
            f"{name}: target value {bad} is out of range for {classes} classes (input shape {input.shape}, "
            f"target shape {target.shape}); targets must be in [0, {classes - 1}] or equal ignore_index={ignore_index}"
        )


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    r"""Negative log-likelihood of log-probabilities: :math:`\ell_n = -w_{y_n}\, x_{n, y_n}`.

    input (N, C) or (N, C, d…) or (C,); target (N,) / (N, d…) / () of class indices.
    'mean' divides by :math:`\sum_n w_{y_n}` over the non-ignored targets.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.nll_loss(cr.log(cr.tensor([[0.5, 0.5]])), cr.tensor([0]))
        tensor(0.6931)
    """
    _check_tensor(input, "nll_loss")
    return _nll_loss(_in_float32(input), target, weight, ignore_index, reduction, "nll_loss").to(input.dtype)


def _mean_over_kept(total, count, kept):
    """total / count, the mean over the targets kept. With every target ignored it is 0/0 = NaN, as PyTorch's,
    but no row fed it, so its gradient is zero, as PyTorch's (the division would send NaN to every row)."""
    if not kept.any():
        return total + math.nan
    return total / count


def _nll_loss(input, target, weight, ignore_index, reduction, name):
    """nll_loss, with errors naming ``name`` (the loss the user called)."""
    _check_tensor(input, name)
    _check_tensor(target, name, "target")
    if input.ndim < 1:
        raise ValueError(f"{name}: expected an input with a class dim, got shape {input.shape}")
    unbatched = input.ndim == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.reshape(1)
    _check_class_targets(input, target, ignore_index, name)
    classes = input.shape[1]
    if weight is not None and tuple(weight.shape) != (classes,):
        raise ValueError(f"{name}: weight must have shape ({classes},) for input {input.shape}, got {weight.shape}")
    kept = target != ignore_index
    safe_target = cr.where(kept, target, 0)
    picked = input.gather(1, safe_target.unsqueeze(1)).squeeze(1)
    target_weight = kept.to(input.dtype)
    if weight is not None:
        target_weight = target_weight * weight[safe_target]
    loss = -picked * target_weight
    if reduction == "mean":
        return _mean_over_kept(loss.sum(), target_weight.sum(), kept.data)
    if unbatched and reduction == "none":
        return loss.reshape(())
    return _reduce(loss, reduction, name)


def _softmax_cross_entropy(input, target, ignore_index, reduction, name):
    """The common case of cross_entropy (2-D logits, class indices, no weight or smoothing) as one primitive."""
    _check_class_targets(input, target, ignore_index, name)
    if not input.is_floating_point():
        raise TypeError(f"{name}: logits must be floating point, got {input.dtype}")
    kept = target.data != ignore_index
    if reduction == "mean" and not kept.any():
        # The fused rule would divide by the count of kept rows, 0, and send NaN to every row.
        summed = apply(SoftmaxCrossEntropy, input, target=target.data, kept=kept, reduction="sum")
        return _mean_over_kept(summed, None, kept)
    return apply(SoftmaxCrossEntropy, input, target=target.data, kept=kept, reduction=reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    r"""Cross-entropy from logits: :math:`\ell_n = -w_{y_n} \log\operatorname{softmax}(x_n)_{y_n}`, via log-softmax (stable).

    ``target`` holds class indices (N,) or class probabilities of the input's shape.
    ``label_smoothing`` ε mixes the target with the uniform distribution:
    :math:`(1-\varepsilon)\,\text{nll} + \frac{\varepsilon}{C}\sum_c -w_c \log p_c`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.cross_entropy(cr.tensor([[1000.0, 0.0]]), cr.tensor([1]))   # finite: 1000
        tensor(1000.)
    """
    name = "cross_entropy"
    _check_tensor(input, name)
    _check_tensor(target, name, "target")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.ndim < 1:
        raise ValueError(f"{name}: expected logits with a class dim, got shape {input.shape}")
    loss = _cross_entropy(_in_float32(input), target, weight, ignore_index, reduction, label_smoothing, name)
    return loss.to(input.dtype)


def _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing, name):
    """cross_entropy on checked arguments (float16 logits come already cast to float32)."""
    class_dim = 1 if input.ndim >= 2 else 0
    classes = input.shape[class_dim]
    if (input.ndim == 2 and target.dtype.kind in "iu" and weight is None and label_smoothing == 0
            and reduction in ("mean", "sum", "none")):
        return _softmax_cross_entropy(input, target, ignore_index, reduction, name)
    log_p = cr.log_softmax(input, class_dim)
    weight_shape = [1] * input.ndim
    weight_shape[class_dim] = classes
    if weight is not None and tuple(weight.shape) != (classes,):
        raise ValueError(f"{name}: weight must have shape ({classes},) for input {input.shape}, got {weight.shape}")

    if target.dtype.kind == "f":  # class probabilities
        if target.shape != input.shape:
            raise ValueError(
                f"{name}: probability targets must have the input's shape {input.shape}, got {target.shape}"
            )
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / classes
        terms = log_p * target
        if weight is not None:
            terms = terms * weight.reshape(weight_shape)
        loss = -terms.sum(class_dim)
        if reduction == "mean":
            return loss.sum() / (input.numel() // classes)
        return _reduce(loss, reduction, name)

    nll = _nll_loss(log_p, target, weight, ignore_index, reduction, name)
    if label_smoothing == 0:
        return nll
    terms = log_p if weight is None else log_p * weight.reshape(weight_shape)
    kept = target != ignore_index
    smooth = cr.where(kept, -terms.sum(class_dim), 0.0)
    if reduction == "mean":
        if weight is None:
            count = kept.sum().to(input.dtype)
        else:
            count = (weight[cr.where(kept, target, 0)] * kept.to(input.dtype)).sum()
        smooth = _mean_over_kept(smooth.sum(), count, kept.data)
    else:
        smooth = _reduce(smooth, reduction, name)
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / classes)


def kl_div(input, target, reduction="mean", log_target=False):
    r"""Kullback–Leibler divergence with ``input`` = log q: :math:`\ell = y(\ln y - x)` (0 where y = 0).

    With ``log_target`` the target is log y: :math:`\ell = e^{y}(y - x)`. Use
    reduction='batchmean' for the true KL divergence per sample ('mean' averages over every element).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> p, q = cr.tensor([[0.5, 0.5]]), cr.tensor([[0.25, 0.75]])
        >>> F.kl_div(cr.log(q), p, reduction="batchmean")   # KL(p‖q) = 0.5 ln 2 + 0.5 ln(2/3)
        tensor(0.1438)
    """
    name = "kl_div"
    _check_same_shape(input, target, name)
    if log_target:
        loss = cr.exp(target) * (target - input)
    else:
        positive = target > 0
        # log of 1 where y = 0, so y·ln y is 0 there and its gradient stays finite
        loss = cr.where(positive, target * cr.log(cr.where(positive, target, 1.0)), 0.0) - target * input
    if reduction == "batchmean":
        return (_in_float32(loss).sum() / (input.shape[0] if input.ndim else 1)).to(loss.dtype)
    return _reduce(loss, reduction, name)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction="mean"):
    r""":math:`\ell = \max(0, -y(x_1 - x_2) + \text{margin})`, y ∈ {1, −1}, reduced by ``reduction``.

    y = 1 asks for :math:`x_1 > x_2` (by at least the margin), y = −1 for :math:`x_2 > x_1`.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> x1, x2, y = cr.tensor([1.0, 2.0]), cr.tensor([2.0, 1.0]), cr.tensor([1.0, 1.0])
        >>> F.margin_ranking_loss(x1, x2, y, reduction="none")
        tensor([1., 0.])
    """
    name = "margin_ranking_loss"
    _check_same_shape(input1, input2, name)
    _check_same_shape(input1, target, name)
    return _reduce(cr.relu(-target * (input1 - input2) + margin), reduction, name)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    r""":math:`\ell = 1 - \cos(x_1, x_2)` if y = 1, :math:`\max(0, \cos(x_1, x_2) - \text{margin})` if y = −1.

    The cosine is :math:`x_1 \cdot x_2 / \sqrt{(\|x_1\|^2 + \epsilon)(\|x_2\|^2 + \epsilon)}` with ε = 1e−12 (PyTorch's).
    Inputs (N, D) with targets (N,), reduced by ``reduction``.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> x1, x2 = cr.tensor([[1.0, 0.0], [1.0, 0.0]]), cr.tensor([[0.0, 1.0], [2.0, 0.0]])
        >>> F.cosine_embedding_loss(x1, x2, cr.tensor([1, -1]), reduction="none")   # 1 − 0, max(0, 1 − 0)
        tensor([1., 1.])
    """
    name = "cosine_embedding_loss"
    _check_same_shape(input1, input2, name)
    _check_tensor(target, name, "target")
    if input1.ndim not in (1, 2) or tuple(target.shape) != tuple(input1.shape[:-1]):
        raise ValueError(
            f"{name}: inputs of shape (N, D) need a target of shape (N,) (or (D,) inputs and a scalar target); "
            f"got inputs {input1.shape} and target {target.shape}"
        )
    epsilon = 1e-12
    x1, x2 = _in_float32(input1), _in_float32(input2)
    dot = (x1 * x2).sum(-1)
    norms = ((x1 * x1).sum(-1) + epsilon) * ((x2 * x2).sum(-1) + epsilon)
    cosine = dot / norms.sqrt()
    loss = cr.where(target == 1, 1.0 - cosine, 0.0) + cr.where(target == -1, cr.relu(cosine - margin), 0.0)
    return _reduce(loss, reduction, name).to(cr.promote_types(input1.dtype, input2.dtype))


# Attention lives in nn/attention.py (it needs Linear and LayerNorm); imported last because it imports this module.
from chainrule.nn.attention import scaled_dot_product_attention  # noqa: E402,F401
