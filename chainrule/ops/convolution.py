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

The Winograd path of a stride-1 3×3 convolution (F(4×4, 3×3), Lavin & Gray 2016) is six
more primitives: three linear transforms and their adjoints, which ``winograd_conv2d``
composes with the batched products, fused with the output transform chunk by chunk
(``WinogradProductOutput``; the transforms' loops are in chainrule/kernels/winograd.py);
``winograd_tile`` chooses it per shape, and ``backends.use_winograd(False)`` keeps im2col.
"""
import numpy

from chainrule.backends import winograd_enabled
from chainrule.core.grad_mode import is_grad_enabled
from chainrule.core.primitive import Check, Primitive, apply
from chainrule.core.tensor import Tensor
from chainrule.kernels import winograd
from chainrule.ops.matmul import _blas_ready
from chainrule.ops.reduce import Sum

__all__ = ["output_grid", "im2col", "col2im", "winograd_conv2d", "winograd_tile"]


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



# ----- Winograd F(m×m, 3×3): Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A -------------------------------------------------------------------
# Three linear maps, each the other's adjoint pair (as Unfold and Fold): the vjp of a transform is
# its adjoint, and the adjoint's vjp is the transform, so derivatives of every order are these six
# primitives and the matmul between them. The arrays in between have the tile position (ξ, ν)
# first and the tile index t = (tile row, tile column, n) last, batch fastest (kernels/winograd.py).


def _winograd_padded_shape(input_shape, tile, grid):
    batch, channels = input_shape[:2]
    return (channels, tile * grid[0] + 2, tile * grid[1] + 2, batch)


def _batch_last_in_zeros(xp, images, shape, top, left):
    """``images`` (N, C, H, W) copied into an array of ``shape`` (C, H', W', N) at (top, left), zeros around.

    Only the margins are zeroed: filling the whole array first took about 1 ms per call on the
    benchmark's layer (profiled at load 4.5), a pass over memory that the copy makes anyway.
    """
    height, width = images.shape[2:]
    out = xp.empty(shape, dtype=images.dtype)
    out[:, :top] = 0
    out[:, top + height:] = 0
    out[:, top:top + height, :left] = 0
    out[:, top:top + height, left + width:] = 0
    out[:, top:top + height, left:left + width, :] = images.transpose(1, 2, 3, 0)
    return out


_WINOGRAD_CHECK = Check(
    "winograd_conv2d", shapes=(((2, 2, 5, 4), (3, 2, 3, 3)),),
    call=lambda lib, x, w: winograd_conv2d(x, w, ((1, 1), (1, 1))),
    torch_call=lambda torch, x, w: torch.nn.functional.conv2d(x, w, padding=1),
)


class WinogradInput(Primitive):
    name = "winograd_input"
    formula = r"V_{\xi\nu,\,c,\,(i,j,n)} = (B^\top d_{n,c,i,j}\, B)_{\xi\nu},\quad d_{n,c,i,j} = x^{pad}_{n,c,\,mi:mi+\alpha,\,mj:mj+\alpha}"
    derivatives = (r"\bar{x} = \operatorname{crop}\Big(\sum_{i,j} \operatorname{place}_{i,j}(B\, \bar{V}_{c,(i,j,n)} B^\top)\Big)",)
    checks = (_WINOGRAD_CHECK,
              Check("winograd_conv2d_tile2", shapes=(((1, 2, 4, 5), (2, 2, 3, 3)),),
                    call=lambda lib, x, w: winograd_conv2d(x, w, ((0, 1), (2, 0)), tile=2),
                    torch_call=lambda torch, x, w: torch.nn.functional.conv2d(
                        torch.nn.functional.pad(x, (2, 0, 0, 1)), w)))

    @staticmethod
    def forward(xp, x, padding, tile, grid):
        (top, _), (left, _) = padding
        # One copy: zero padding up to whole tiles, and the batch moved last (as Unfold does).
        padded = _batch_last_in_zeros(xp, x, _winograd_padded_shape(x.shape, tile, grid), top, left)
        return winograd.input_transform(xp, padded, tile, grid)

    @staticmethod
    def grad_x(g, out, x, padding, tile, grid):
        return apply(WinogradInputAdjoint, g, input_shape=x.shape, padding=padding, tile=tile, grid=grid)

    vjps = (grad_x,)


class WinogradInputAdjoint(Primitive):
    name = "winograd_input_adjoint"
    formula = r"x = \operatorname{crop}\Big(\sum_{i,j} \operatorname{place}_{i,j}(B\, V_{c,(i,j,n)} B^\top)\Big)"
    derivatives = (r"\bar{V} = B^\top \bar{d}\, B \text{ per tile}",)

    @staticmethod
    def forward(xp, tiles, input_shape, padding, tile, grid):
        (top, _), (left, _) = padding
        height, width = input_shape[2:]
        image = winograd.input_adjoint(xp, xp.ascontiguousarray(tiles), tile, grid,
                                       _winograd_padded_shape(input_shape, tile, grid))
        # Drop the padding and put the batch first again (a view; the consumer copies if it must).
        return image[:, top:top + height, left:left + width, :].transpose(3, 0, 1, 2)

    @staticmethod
    def grad_tiles(g, out, tiles, input_shape, padding, tile, grid):
        return apply(WinogradInput, g, padding=padding, tile=tile, grid=grid)

    vjps = (grad_tiles,)


class WinogradFilter(Primitive):
    name = "winograd_filter"
    formula = r"U_{\xi\nu,\,o,\,c} = (G\, g_{o,c}\, G^\top)_{\xi\nu}"
    derivatives = (r"\bar{g}_{o,c} = G^\top \bar{U}_{o,c}\, G",)

    @staticmethod
    def forward(xp, weight, tile):
        return winograd.filter_transform(xp, weight, tile)

    @staticmethod
    def grad_weight(g, out, weight, tile):
        return apply(WinogradFilterAdjoint, g, tile=tile)

    vjps = (grad_weight,)


class WinogradFilterAdjoint(Primitive):
    name = "winograd_filter_adjoint"
    formula = r"g_{o,c} = G^\top U_{o,c}\, G"
    derivatives = (r"\bar{U}_{o,c} = G\, \bar{g}_{o,c}\, G^\top",)

    @staticmethod
    def forward(xp, filters, tile):
        return winograd.filter_adjoint(xp, filters, tile)

    @staticmethod
    def grad_filters(g, out, filters, tile):
        return apply(WinogradFilter, g, tile=tile)

    vjps = (grad_filters,)


class WinogradOutput(Primitive):
    name = "winograd_output"
    # The layer runs the fused WinogradProductOutput; this card is its unfused reference and the
    # adjoint of WinogradOutputAdjoint (so second derivatives reach it).
    checks = (Check("winograd_conv2d_unfused", shapes=(((2, 2, 5, 6), (3, 2, 3, 3), (3,)),),
                    call=lambda lib, x, w, b: winograd_conv2d(x, w, ((1, 1), (1, 1)), bias=b, fused=False),
                    torch_call=lambda torch, x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1)),)
    formula = r"y_{n,o,\,mi+a,\,mj+b} = (A^\top M_{o,(i,j,n)}\, A)_{ab} + b_o \text{ (the bias optional)}"
    derivatives = (r"\bar{M}_{o,(i,j,n)} = A\, \bar{y}_{n,o,\,mi:mi+m,\,mj:mj+m} A^\top",
                   r"\bar{b}_o = \sum_{n,h,w} \bar{y}_{n,o,h,w}")

    @staticmethod
    def forward(xp, products, *bias, tile, grid, out_hw):
        whole_tiles = winograd.output_transform(xp, xp.ascontiguousarray(products), tile, grid,
                                                xp.ascontiguousarray(bias[0]) if bias else None)
        # Crop the tiles that stick out and put the batch first (a view, as Fold's).
        return whole_tiles[:, :out_hw[0], :out_hw[1], :].transpose(3, 0, 1, 2)

    @staticmethod
    def grad_products(g, out, products, *bias, tile, grid, out_hw):
        return apply(WinogradOutputAdjoint, g, tile=tile, grid=grid, out_hw=out_hw)

    @staticmethod
    def grad_bias(g, out, products, bias, tile, grid, out_hw):
        return g.sum((0, 2, 3))

    vjps = (grad_products, grad_bias)


class WinogradOutputAdjoint(Primitive):
    name = "winograd_output_adjoint"
    formula = r"M_{o,(i,j,n)} = A\, y_{n,o,\,mi:mi+m,\,mj:mj+m} A^\top \text{ (zero past the output)}"
    derivatives = (r"\bar{y}_{n,o,\,mi+a,\,mj+b} = (A^\top \bar{M}_{o,(i,j,n)} A)_{ab}",)

    @staticmethod
    def forward(xp, out_grad, tile, grid, out_hw):
        batch, channels = out_grad.shape[:2]
        # One copy: the batch moved last, zero-extended to whole tiles.
        whole_tiles = _batch_last_in_zeros(xp, out_grad, (channels, tile * grid[0], tile * grid[1], batch), 0, 0)
        return winograd.output_adjoint(xp, whole_tiles, tile, grid)

    @staticmethod
    def grad_out_grad(g, out, out_grad, tile, grid, out_hw):
        return apply(WinogradOutput, g, tile=tile, grid=grid, out_hw=out_hw)

    vjps = (grad_out_grad,)


# The forward's products and output transform in one primitive, chunk by chunk: M = U·V for a few
# tiles at a time goes through the output transform while it is still in cache, instead of all of
# M (36 × O × tiles, 19 MB on the benchmark's layer) written to memory by the GEMM and read back by
# the transform. A chunk is CHUNK_TILE_COLUMNS tile columns of one tile row, each column the whole
# batch: its M is 36·O·columns·N numbers (1.2 MB per column at O = 64, N = 128, float32; 1, 2 and 4 columns measured, 2 the best).
# The plain backward takes the same chunks for M̄ (1 and 2 columns measured alike there, 4 and 7 about 10 % slower).
CHUNK_TILE_COLUMNS = 2


def _chunks_in_two_lanes(xp, chunks):
    """Whether the chunks run in two lanes: ``winograd.LANES`` ≥ 2, NumPy arrays and at least two chunks. Each lane
    then runs its chunks' products with a one-thread BLAS and their transforms in one lane (``winograd.in_two_lanes``):
    on 2 cores, OpenBLAS's second thread sped the chunks' small GEMMs up by 1.0-1.45×, and a transform's second lane
    then shared its core with OpenBLAS's spinning worker (chainrule/kernels/README.md, Two lanes)."""
    return winograd.LANES >= 2 and xp is numpy and len(chunks) >= 2


def _tile_chunks(grid, batch):
    """The chunks (i, j, columns, first, count): tile row i, tile columns j to j + columns, which are the
    tiles' columns first to first + count of V (the batch last: tile (i, j) holds columns (i·grid_w + j)·N on)."""
    grid_h, grid_w = grid
    step = max(1, min(CHUNK_TILE_COLUMNS, grid_w))
    for i in range(grid_h):
        for j in range(0, grid_w, step):
            columns = min(step, grid_w - j)
            yield i, j, columns, (i * grid_w + j) * batch, columns * batch


class WinogradProductOutput(Primitive):
    name = "winograd_product_output"
    formula = (r"y_{n,o,\,mi+a,\,mj+b} = \big(A^\top M_{o,(i,j,n)}\, A\big)_{ab} + b_o,\quad "
               r"M_{\xi\nu} = U_{\xi\nu} V_{\xi\nu} \text{ (the bias optional)}")
    derivatives = (r"\bar{U}_{\xi\nu} = \bar{M}_{\xi\nu} V_{\xi\nu}^\top,\quad "
                   r"\bar{M}_{o,(i,j,n)} = A\, \bar{y}_{n,o,\,mi:mi+m,\,mj:mj+m} A^\top",
                   r"\bar{V}_{\xi\nu} = U_{\xi\nu}^\top \bar{M}_{\xi\nu}",
                   r"\bar{b}_o = \sum_{n,h,w} \bar{y}_{n,o,h,w}")
    checks = (Check("winograd_conv2d_bias", shapes=(((2, 2, 5, 6), (3, 2, 3, 3), (3,)),),
                    call=lambda lib, x, w, b: winograd_conv2d(x, w, ((1, 1), (1, 1)), bias=b),
                    torch_call=lambda torch, x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1)),)

    @staticmethod
    def forward(xp, filters, tiles, *bias, tile, grid, out_hw):
        """y from U (α², O, C), V (α², C, T) and the bias: each chunk's M = U·V (a view of V's columns:
        BLAS reads it in place), its output transform, and the chunk's blocks copied into y."""
        grid_h, grid_w = grid
        channels, batch = filters.shape[1], tiles.shape[2] // (grid_h * grid_w)
        bias = xp.ascontiguousarray(bias[0]) if bias else None
        out = xp.empty((channels, tile * grid_h, tile * grid_w, batch), dtype=xp.result_type(filters, tiles))
        chunks = list(_tile_chunks(grid, batch))
        two_lanes = _chunks_in_two_lanes(xp, chunks)

        def run(part):
            products = None
            for i, j, columns, first, count in part:
                # One buffer for every chunk's M (the last chunk may be narrower): it stays in cache between chunks.
                if products is None or products.shape[2] != count:
                    products = xp.empty(filters.shape[:2] + (count,), dtype=out.dtype)
                xp.matmul(filters, tiles[:, :, first:first + count], out=products)
                out[:, tile * i:tile * (i + 1), tile * j:tile * (j + columns)] = winograd.output_transform(
                    xp, products, tile, (1, columns), bias, lanes=1 if two_lanes else None)

        if two_lanes:       # each chunk writes its own blocks of y: the halves are independent
            winograd.in_two_lanes(lambda: run(chunks[0::2]), lambda: run(chunks[1::2]))
        else:
            run(chunks)
        # Crop the tiles that stick out and put the batch first (a view, as Fold's).
        return out[:, :out_hw[0], :out_hw[1], :].transpose(3, 0, 1, 2)

    @staticmethod
    def vjp_all(g, out, filters, tiles, *bias, tile, grid, out_hw):
        """(Ū, V̄, b̄) from M̄ = A ȳ Aᵀ (the products' gradient, shared by Ū and V̄): as matmul's rules.

        Recording the backward (``create_graph=True``), the rules are tensor ops (one whole M̄ from
        ``WinogradOutputAdjoint``), so they differentiate again. A plain backward runs on raw arrays
        chunk by chunk, as the forward does (``_plain_vjp_all``)."""
        recording = is_grad_enabled() and any(t.requires_grad for t in (g, filters, tiles, *bias))
        if not recording:
            return WinogradProductOutput._plain_vjp_all(g, filters, tiles, *bias, tile=tile, grid=grid)
        products_grad = apply(WinogradOutputAdjoint, g, tile=tile, grid=grid, out_hw=out_hw)
        filters_grad = products_grad @ tiles.mT if filters.requires_grad else None
        tiles_grad = filters.mT @ products_grad if tiles.requires_grad else None
        return (filters_grad, tiles_grad) + ((g.sum((0, 2, 3)),) if bias else ())

    @staticmethod
    def _plain_vjp_all(g, filters, tiles, *bias, tile, grid):
        """The plain backward on raw arrays, by the forward's chunks: for each chunk c of tile columns,
        M̄_c = A ȳ_c Aᵀ (ȳ_c copied batch last and zero-extended, in cache), V̄_c = Uᵀ·M̄_c and
        Ū += M̄_c·V_cᵀ; b̄ = Σ ȳ. The 19 MB M̄ (benchmark layer) is never written whole.

        V̄ takes the unfused rule's numbers bit for bit (each column the same GEMM sum over O);
        Ū is the same sum over tiles blocked by chunk, added in a fixed chunk order (deterministic,
        the rounding that of a blocked sum)."""
        xp, grad, filters_array, tiles_array = g.xp, g.array, filters.array, tiles.array
        batch, channels, height, width = grad.shape
        want_filters, want_tiles = filters.requires_grad, tiles.requires_grad
        filters_grad = None
        tiles_grad = xp.empty(tiles_array.shape, dtype=tiles_array.dtype) if want_tiles else None
        filters_transposed = _blas_ready(xp, filters_array.transpose(0, 2, 1))
        chunks = list(_tile_chunks(grid, batch))
        two_lanes = _chunks_in_two_lanes(xp, chunks)

        def run(chunk):
            """V̄'s columns of one chunk, written in place; returns the chunk's share of Ū (or None)."""
            i, j, columns, first, count = chunk
            block = grad[:, :, tile * i:min(tile * (i + 1), height), tile * j:min(tile * (j + columns), width)]
            block = _batch_last_in_zeros(xp, block, (channels, tile, tile * columns, batch), 0, 0)
            products_grad = winograd.output_adjoint(xp, block, tile, (1, columns), lanes=1 if two_lanes else None)
            if want_tiles:
                # Straight into V̄'s columns (BLAS takes the strided block as it is): a temporary and its copy
                # cost 0.7 ms of the benchmark layer's ~26 (same bits).
                xp.matmul(filters_transposed, products_grad, out=tiles_grad[:, :, first:first + count])
            if want_filters:
                chunk_tiles = tiles_array[:, :, first:first + count].transpose(0, 2, 1)
                return xp.matmul(products_grad, _blas_ready(xp, chunk_tiles))
            return None

        # Two lanes take the chunks in pairs, and Ū adds each pair's shares in chunk order, as one lane does:
        # the same bits on one thread or two, with at most two shares held at a time.
        step = 2 if two_lanes else 1
        for start in range(0, len(chunks), step):
            if two_lanes and start + 1 < len(chunks):
                shares = winograd.in_two_lanes(lambda: run(chunks[start]), lambda: run(chunks[start + 1]))
            else:
                shares = (run(chunks[start]),)
            for share in shares:
                if share is not None:
                    filters_grad = share if filters_grad is None else xp.add(filters_grad, share, out=filters_grad)
        grads = (None if filters_grad is None else Tensor._wrap(filters_grad),
                 None if tiles_grad is None else Tensor._wrap(tiles_grad))
        return grads + ((Tensor._wrap(Sum.forward(xp, grad, (0, 2, 3), False)),) if bias else ())


# Below this many multiply-adds of the direct form (N·OH·OW·O·C·9), or with fewer channels in or
# out, im2col runs (see winograd_tile). Measured forward + backward on one thread, Winograd/im2col:
# 64×16×14×14 → 32 channels (58M) 0.75, 128×32×14×14 → 64 (462M) 0.53, 16×32×14×14 → 32 (29M) 0.96,
# 8×64×8×8 → 64 (19M) 1.05, 64×1×28×28 → 16 (7M) 2.3 (chainrule/kernels/README.md, Winograd).
WINOGRAD_MIN_MACS = 2 ** 25
WINOGRAD_MIN_CHANNELS = 8


def winograd_tile(x, weight, stride, dilation, groups):
    """The Winograd tile size m for this convolution (4: F(4×4, 3×3)), or None for im2col.

    Winograd applies to a 3×3 kernel with stride 1, dilation 1 and one group, on NumPy
    float32/float64 arrays (CuPy keeps im2col's GEMMs: the GPU path is not measured); it
    pays when the products are big enough (N·OH·OW·O·C·9 ≥ ``WINOGRAD_MIN_MACS``) and
    both channel counts reach ``WINOGRAD_MIN_CHANNELS`` (the batched products are
    (O×C)·(C×tiles): with few channels they are too thin for BLAS and the transforms
    dominate). The kernel switch does not change the choice: with it off the same algorithm
    runs its NumPy reference transforms (same numbers, slower); ``backends.use_winograd(False)``
    does, keeping every shape on im2col.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.ops.convolution import winograd_tile
        >>> winograd_tile(cr.zeros(128, 32, 14, 14), cr.zeros(64, 32, 3, 3), (1, 1), (1, 1), 1)
        4
        >>> winograd_tile(cr.zeros(128, 32, 14, 14), cr.zeros(64, 32, 3, 3), (2, 2), (1, 1), 1) is None   # strided
        True
    """
    if not winograd_enabled():
        return None
    if tuple(weight.shape[2:]) != (3, 3) or tuple(stride) != (1, 1) or tuple(dilation) != (1, 1) or groups != 1:
        return None
    if type(x.array) is not numpy.ndarray or x.dtype not in (numpy.float32, numpy.float64):
        return None
    batch, channels, height, width = x.shape
    out_channels = weight.shape[0]
    if min(channels, out_channels) < WINOGRAD_MIN_CHANNELS:
        return None
    if batch * height * width * out_channels * channels * 9 < WINOGRAD_MIN_MACS:
        return None
    return 4


def winograd_conv2d(x, weight, padding, tile=4, bias=None, fused=True):
    r"""A stride-1 3×3 cross-correlation by Winograd's minimal filtering F(m×m, 3×3) (Lavin & Gray 2016).

    For each m×m block of output, with d the α×α input tile (α = m + 2) and g one 3×3 filter,

    .. math:: Y = A^\top \big[ (G g G^\top) \odot (B^\top d B) \big] A,

    summed over input channels: at each of the α² tile positions (ξ, ν) that sum is one matrix
    product, M[ξν] = U[ξν] V[ξν] with U = G g Gᵀ (O, C) and V = Bᵀ d B (C, tiles). x (N, C, H, W),
    weight (O, C, 3, 3), ``bias`` (O,) or None (added by the output transform),
    ``padding`` ((top, bottom), (left, right)) of zeros; output
    (N, O, H + top + bottom − 2, W + left + right − 2). ``tile`` is m: 4 (16/36 of the direct
    form's multiplications) or 2 (4/9). Its float32 error against a float64 direct convolution
    grows with m (chainrule/kernels/README.md, Winograd, measured at 32 input channels: about
    5e-6 of the output's largest value for m = 4, 3e-7 for m = 2, 8e-7 for im2col).
    ``fused=False`` computes all of M = U·V with one batched GEMM and then the output
    transform (``WinogradOutput``): the plain form, kept as the reference that the fused
    primitive (``WinogradProductOutput``, products and transform chunk by chunk) must equal.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.ops.convolution import winograd_conv2d
        >>> winograd_conv2d(cr.ones(1, 1, 4, 4), cr.ones(1, 1, 3, 3), ((0, 0), (0, 0)))
        tensor([[[[9., 9.],
                  [9., 9.]]]])
    """
    if x.ndim != 4 or weight.ndim != 4 or tuple(weight.shape[2:]) != (3, 3) or x.shape[1] != weight.shape[1]:
        raise ValueError(f"winograd_conv2d: expected x (N, C, H, W) and weight (O, C, 3, 3), got shapes {x.shape} and "
                         f"{weight.shape}")
    if tile not in winograd.TILES:
        raise ValueError(f"winograd_conv2d: tile must be one of {winograd.TILES}, got {tile!r}")
    padding = tuple(tuple(int(v) for v in pair) for pair in padding)
    out_hw = tuple(size + before + after - 2 for size, (before, after) in zip(x.shape[2:], padding))
    if min(out_hw) < 1 or min(min(pair) for pair in padding) < 0:
        raise ValueError(f"winograd_conv2d: the 3×3 kernel does not fit in the input of spatial size "
                         f"{tuple(x.shape[2:])} padded by {padding} (padding must be non-negative)")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"winograd_conv2d: bias of shape {bias.shape} does not match the {weight.shape[0]} output "
                         f"channels of the weight {weight.shape}; expected shape ({weight.shape[0]},)")
    grid = winograd.tile_grid(out_hw, tile)
    filters = apply(WinogradFilter, weight, tile=tile)                             # (α², O, C)
    tiles = apply(WinogradInput, x, padding=padding, tile=tile, grid=grid)          # (α², C, T)
    bias = () if bias is None else (bias,)
    if not fused:
        return apply(WinogradOutput, filters @ tiles, *bias, tile=tile, grid=grid, out_hw=out_hw)
    return apply(WinogradProductOutput, filters, tiles, *bias, tile=tile, grid=grid, out_hw=out_hw)
