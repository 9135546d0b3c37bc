"""im2col and col2im: the two primitives that turn convolution and pooling into matrix products.

``Unfold`` (im2col) copies every kernel-sized patch of a (zero-padded) batch of
images into one column of a matrix::

    columns[(c, kh, kw), (i, j, n)] = x_padded[n, c, i·s_h + kh·d_h, j·s_w + kw·d_w]

so that a convolution is one GEMM, ``W.reshape(O, C·KH·KW) @ columns``, and its
backward is two more (the matmul rule). ``Fold`` (col2im) is the adjoint: it adds
each column back into the positions it was copied from. Since the two maps are
linear and each other's transpose, each is the other's derivative::

    \\bar{x} = \\operatorname{fold}(\\bar{C}),   \\bar{C} = \\operatorname{unfold}(\\bar{x})

and derivatives of any order follow. Both loop over kernel offsets (at most
KH·KW slices), never over pixels.

Layout: rows are (channel, kh, kw) and columns (i, j, n), batch last. Each of the
KH·KW slice copies (and col2im's slice additions) then moves runs of OW·N
contiguous numbers rather than rows of OW, which measured 2-3× faster than the
(n, i, j) order; the GEMM writes (O, OH·OW·N), one transpose away from (N, O, OH, OW),
and the weight gradient is a single large GEMM rather than N small ones.
Zero padding is applied inside the primitives (the padded copy is the same copy
that moves the batch dim last), so it costs nothing extra. Each primitive is one
card: the class, then the public function that applies it.
"""
from chainrule.core.primitive import Check, Primitive, apply

__all__ = ["output_grid", "im2col", "col2im"]


def _patch_slice(offset, stride, count):
    """The positions offset, offset + stride, ..., taken ``count`` times."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


class Unfold(Primitive):
    name = "unfold"
    formula = r"C_{(c,k_h,k_w),(i,j,n)} = x_{n,c,\,i s_h + k_h d_h - p_h,\,j s_w + k_w d_w - p_w}"
    derivatives = (r"\bar{x} = \operatorname{fold}(\bar{C})",)
    checks = (
        # PyTorch's unfold gives (N, C·KH·KW, L) without asymmetric padding: pad, then move the batch last.
        Check("im2col", call=lambda lib, x: im2col(x, (2, 2), padding=((1, 0), (0, 1))), shapes=(((2, 3, 4, 5),),),
              torch_call=lambda torch, x: torch.nn.functional.unfold(
                  torch.nn.functional.pad(x, (0, 1, 1, 0)), (2, 2)).permute(1, 2, 0).flatten(1)),
    )

    @staticmethod
    def forward(xp, x, kernel_size, dilation, stride, padding, grid):
        batch, channels, height, width = x.shape
        (kernel_h, kernel_w), (dilation_h, dilation_w), (stride_h, stride_w) = kernel_size, dilation, stride
        (top, bottom), (left, right) = padding
        out_h, out_w = grid
        # One copy: pad with zeros and move the batch dim last, (N, C, H, W) -> (C, H_p, W_p, N).
        padded = xp.zeros((channels, height + top + bottom, width + left + right, batch), dtype=x.dtype)
        padded[:, top:top + height, left:left + width, :] = x.transpose(1, 2, 3, 0)
        columns = xp.empty((channels, kernel_h, kernel_w, out_h, out_w, batch), dtype=x.dtype)
        for kh in range(kernel_h):
            rows = _patch_slice(kh * dilation_h, stride_h, out_h)
            for kw in range(kernel_w):
                columns[:, kh, kw] = padded[:, rows, _patch_slice(kw * dilation_w, stride_w, out_w)]
        return columns.reshape(channels * kernel_h * kernel_w, out_h * out_w * batch)

    @staticmethod
    def grad_x(g, out, x, kernel_size, dilation, stride, padding, grid):
        return apply(Fold, g, input_shape=x.shape, kernel_size=kernel_size, dilation=dilation,
                     stride=stride, padding=padding, grid=grid)

    vjps = (grad_x,)


def output_grid(input_hw, kernel_size, dilation, stride):
    """How many kernel positions fit: ⌊(H − d(K−1) − 1)/s⌋ + 1 along each (already padded) axis.

    Example:
        >>> from chainrule.ops.convolution import output_grid
        >>> output_grid((5, 5), kernel_size=(3, 3), dilation=(1, 1), stride=(1, 1))
        (3, 3)
        >>> output_grid((7, 6), (3, 2), (2, 1), (1, 2))    # ⌊(7−4−1)/1⌋ + 1, ⌊(6−1−1)/2⌋ + 1
        (3, 3)
    """
    return tuple((size - d * (k - 1) - 1) // s + 1 for size, k, d, s in zip(input_hw, kernel_size, dilation, stride))


def _padded_hw(hw, padding):
    return tuple(size + before + after for size, (before, after) in zip(hw, padding))


def im2col(x, kernel_size, dilation=(1, 1), stride=(1, 1), padding=((0, 0), (0, 0)), grid=None):
    """Columns of the patches of a batch ``x`` of shape (N, C, H, W), zero-padded by ``padding``.

    Returns a tensor of shape (C·KH·KW, OH·OW·N) (batch index fastest). ``padding`` is
    ((top, bottom), (left, right)); ``grid`` = (OH, OW) defaults to every position where the kernel fits.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.ops.convolution import im2col
        >>> im2col(cr.arange(9.0).reshape(1, 1, 3, 3), (2, 2)).shape
        (4, 4)
    """
    kernel_size, dilation, stride = tuple(kernel_size), tuple(dilation), tuple(stride)
    padding = tuple(tuple(int(v) for v in pair) for pair in padding)
    if x.ndim != 4:
        raise ValueError(f"im2col: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    if grid is None:
        grid = output_grid(_padded_hw(x.shape[2:], padding), kernel_size, dilation, stride)
    grid = tuple(int(v) for v in grid)
    if min(grid) < 1:
        raise ValueError(
            f"im2col: kernel {kernel_size} with dilation {dilation} does not fit in the input of spatial size "
            f"{tuple(x.shape[2:])} padded by {padding}"
        )
    return apply(Unfold, x, kernel_size=kernel_size, dilation=dilation, stride=stride, padding=padding, grid=grid)


class Fold(Primitive):
    name = "fold"
    formula = (r"x_{n,c,h,w} = \sum_{(k_h,k_w,i,j):\ i s_h + k_h d_h - p_h = h,\ j s_w + k_w d_w - p_w = w}"
               r" C_{(c,k_h,k_w),(i,j,n)}")
    derivatives = (r"\bar{C} = \operatorname{unfold}(\bar{x})",)
    checks = (
        Check("col2im", call=lambda lib, c: col2im(c, (2, 3, 4, 5), (2, 2)), shapes=(((12, 24),),),
              torch_call=lambda torch, c: torch.nn.functional.fold(c.reshape(12, 12, 2).permute(2, 0, 1), (4, 5), (2, 2))),
    )

    @staticmethod
    def forward(xp, columns, input_shape, kernel_size, dilation, stride, padding, grid):
        batch, channels, height, width = input_shape
        (kernel_h, kernel_w), (dilation_h, dilation_w), (stride_h, stride_w) = kernel_size, dilation, stride
        (top, bottom), (left, right) = padding
        out_h, out_w = grid
        patches = columns.reshape(channels, kernel_h, kernel_w, out_h, out_w, batch)
        image = xp.zeros((channels, height + top + bottom, width + left + right, batch), dtype=columns.dtype)
        for kh in range(kernel_h):
            rows = _patch_slice(kh * dilation_h, stride_h, out_h)
            for kw in range(kernel_w):
                image[:, rows, _patch_slice(kw * dilation_w, stride_w, out_w)] += patches[:, kh, kw]
        # Drop the padding and put the batch dim first again (a view; the consumer copies if it must).
        return image[:, top:top + height, left:left + width, :].transpose(3, 0, 1, 2)

    @staticmethod
    def grad_columns(g, out, columns, input_shape, kernel_size, dilation, stride, padding, grid):
        return apply(Unfold, g, kernel_size=kernel_size, dilation=dilation, stride=stride, padding=padding,
                     grid=grid)

    vjps = (grad_columns,)


def col2im(columns, input_shape, kernel_size, dilation=(1, 1), stride=(1, 1), padding=((0, 0), (0, 0)), grid=None):
    """The adjoint of ``im2col``: add each column back into an image of shape ``input_shape`` (N, C, H, W).

    x[n, c, i·s_h + k_h·d_h − p_h, j·s_w + k_w·d_w − p_w] += C[(c, k_h, k_w), (i, j, n)], summed
    over every patch that covers a pixel; ``columns`` has shape (C·KH·KW, OH·OW·N). Being
    linear, its gradient is ``im2col`` of ȳ.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.ops.convolution import col2im
        >>> col2im(cr.ones(4, 4), (1, 1, 3, 3), (2, 2))     # how many 2×2 patches cover each pixel
        tensor([[[[1., 2., 1.],
                  [2., 4., 2.],
                  [1., 2., 1.]]]])
    """
    kernel_size, dilation, stride = tuple(kernel_size), tuple(dilation), tuple(stride)
    padding = tuple(tuple(int(v) for v in pair) for pair in padding)
    input_shape = tuple(int(v) for v in input_shape)
    if grid is None:
        grid = output_grid(_padded_hw(input_shape[2:], padding), kernel_size, dilation, stride)
    grid = tuple(int(v) for v in grid)
    expected = (input_shape[1] * kernel_size[0] * kernel_size[1], input_shape[0] * grid[0] * grid[1])
    if tuple(columns.shape) != expected:
        raise ValueError(
            f"col2im: columns of shape {columns.shape} do not match the image {input_shape} with kernel "
            f"{kernel_size} and output grid {grid}; expected shape {expected}"
        )
    return apply(Fold, columns, input_shape=input_shape, kernel_size=kernel_size, dilation=dilation,
                 stride=stride, padding=padding, grid=grid)
