"""Max, average and adaptive pooling, as functions (``nn.MaxPool2d`` and the other pooling layers).

Max and average pooling read the im2col columns of each channel: max through the
``WindowMax`` primitive (which keeps only the image and finds each window's first maximum in backward), average as window sums over a divisor map.
"""
import math

from chainrule import ops
from chainrule.core.primitive import apply
from chainrule.core.tensor import Tensor
from chainrule.nn.functional._common import _check_tensor, _tuple
from chainrule.nn.functional.convolution import _pad_spatial
from chainrule.nn.functional.unbatched import accepts_unbatched
from chainrule.nn.primitives import WindowMax, first_max_of_window, window_columns
from chainrule.ops.convolution import im2col


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
        raise ValueError(f"{name}: expected a 4-D input (N, C, H, W) or an unbatched (C, H, W), got shape {input.shape}")
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


@accepts_unbatched(2)
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
    maxima = apply(WindowMax, x, kernel_size=kernel_size, dilation=dilation, stride=stride, grid=grid)  # (C, L·N)
    out = _unwindow(maxima, input.shape[0], grid)
    if not return_indices:
        return out
    windows = window_columns(x.xp, x.array, kernel_size, dilation, stride, grid)
    position = first_max_of_window(x.xp, windows).argmax(axis=1)             # the first True of each window
    return out, _max_pool_indices(input, position, kernel_size, dilation, stride, pads, grid)


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


@accepts_unbatched(1)
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


@accepts_unbatched(2)
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


@accepts_unbatched(1)
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


@accepts_unbatched(2)
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


@accepts_unbatched(2)
def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Largest value over PyTorch's adaptive bins (one slice per bin of each axis, never per pixel); the
    gradient goes to the first maximum of each bin (the last NaN, if it holds one), as in PyTorch.

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
    # Separable: the max over a rectangle is the max over its rows of the max over its columns. Each max sends
    # its gradient to one element (amax would split ties), so a tie's gradient goes to the first maximum in
    # row-major order (the first row holding it, its first column there) and a NaN's to the last NaN, as in
    # max_pool2d and PyTorch.
    by_columns = ops.stack([_max_along(input[..., start:end], -1)
                            for start, end in _adaptive_bins(input.shape[3], out_w)], -1)
    return ops.stack([_max_along(by_columns[..., start:end, :], -2)
                      for start, end in _adaptive_bins(input.shape[2], out_h)], -2)


def _max_along(x, dim):
    """The max along ``dim`` with its gradient sent to one element, where max pooling sends it: the first
    maximum, or the last NaN where there is one (see nn/primitives.py: first_max_of_window)."""
    xp = x.xp
    index = x.array.argmax(axis=dim)
    nan = xp.isnan(x.array)
    if nan.any():
        last_nan = x.shape[dim] - 1 - xp.flip(nan, axis=dim).argmax(axis=dim)
        index = xp.where(nan.any(axis=dim), last_nan, index)
    return x.gather(dim, Tensor._wrap(xp.expand_dims(index, dim))).squeeze(dim)


@accepts_unbatched(1)
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


@accepts_unbatched(1)
def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Largest value over PyTorch's adaptive bins of an (N, C, L) input: the 2-D pooling on a one-row image.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.adaptive_max_pool1d(cr.tensor([[[1.0, 5.0, 2.0, 4.0]]]), 2)
        tensor([[[5., 4.]]])
    """
    _check_tensor(input, "adaptive_max_pool1d")
    if input.ndim != 3:
        raise ValueError(f"adaptive_max_pool1d: expected (N, C, L) or (C, L), got shape {input.shape}")
    length = output_size[0] if isinstance(output_size, (tuple, list)) else output_size
    return adaptive_max_pool2d(input.unsqueeze(2), (1, length), return_indices).squeeze(2)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    """``max_pool1d(..., return_indices=True)``: the pooled values and the flat index of each maximum.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.max_pool1d_with_indices(cr.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2)[1]
        tensor([[[1, 2]]])
    """
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    """``max_pool2d(..., return_indices=True)``: the pooled values and the flat index of each maximum.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.max_pool2d_with_indices(cr.arange(4.0).reshape(1, 1, 2, 2), 2)[1]
        tensor([[[[3]]]])
    """
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, spatial):
    kernel = _tuple(kernel_size, spatial, f"lp_pool{spatial}d", "kernel_size")
    average = avg_pool1d if spatial == 1 else avg_pool2d
    pooled = average(input.pow(norm_type), kernel, stride, 0, ceil_mode)
    # PyTorch's expression: sign(s)·relu(|s|) keeps the sum's sign and clears negative zeros before the root.
    return (ops.sign(pooled) * ops.relu(ops.abs(pooled)) * math.prod(kernel)).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    r"""Power-average pooling :math:`y = (\sum_{i \in \text{window}} x_i^p)^{1/p}` over windows of an (N, C, L) input.

    p = 1 is sum pooling, p → ∞ max pooling.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.lp_pool1d(cr.tensor([[[3.0, 4.0]]]), 2, 2)
        tensor([[[5.]]])
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    r"""Power-average pooling :math:`y = (\sum_{(i,j) \in \text{window}} x_{ij}^p)^{1/p}` over windows of an (N, C, H, W) input.

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.lp_pool2d(cr.ones(1, 1, 2, 2), 2, 2)
        tensor([[[[2.]]]])
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)
