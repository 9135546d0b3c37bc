r"""Winograd minimal filtering F(m×m, 3×3): the tile transforms, each a numba loop beside its NumPy reference.

A 3×3 stride-1 convolution computes each m×m block of output from an α×α block of
input, α = m + 2 (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks")::

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A

g the 3×3 filter, d the α×α input tile, Bᵀ (α×α), G (α×3) and Aᵀ (m×α) fixed matrices
(``winograd_matrices``). Summed over input channels, the elementwise product becomes, at
each of the α² tile positions (ξ, ν), one matrix product over all tiles:
M[ξν] = U[ξν] V[ξν], U (O, C) the transformed filters, V (C, tiles) the transformed
input tiles: α² GEMMs of O·C·tiles multiplications, against 9·O·C·m² per tile for the
direct form, 2.25× fewer for m = 2 and 4× fewer for m = 4. Those products stay in BLAS
(``xp.matmul``, in ops/convolution.py); what is here are the transforms, which touch
every element a few times and are what a compiled loop does well.

Each transform is linear, so its derivative is its adjoint, also here:

    input       V[ξν, c, t] = (Bᵀ d_t B)[ξ, ν]              adjoint  d̄_t += B V̄_t Bᵀ  (tiles overlap: added)
    filter      U[ξν, o, c] = (G g_oc Gᵀ)[ξ, ν]             adjoint  ḡ = Gᵀ Ū G
    output      Y_t = Aᵀ M_t A  (whole tiles; the caller crops)   adjoint  M̄_t = A Ȳ_t Aᵀ  (Ȳ zero-extended by the caller)

Layouts: images enter with the batch last, (C, H, W, N), as im2col makes them, and the
tile index t runs over (tile row, tile column, n) with n fastest, so that every loop's
innermost index is the batch: a contiguous run that LLVM vectorizes.

**The twins.** ``input_transform``, ``input_adjoint``, ``output_transform`` and
``output_adjoint`` run a numba loop (``*_loop``, compiled by ``Kernel``, written for
m = 4, the tile the convolution uses) when ``kernel_may_run`` says so (kernels on, NumPy arrays of one float dtype, C-contiguous,
numba importable), else the NumPy reference (``*_reference``) beside it, which works
on any array module (CuPy too). Both apply each matrix one side at a time, in the
same order, skipping the same zero coefficients, each product and sum rounded to the
array's dtype: the two agree bit for bit (tests/test_kernels_winograd.py). The filter
transform is NumPy only (``filter_transform``/``filter_adjoint``, two ``tensordot``s):
it touches O·C·9 numbers, not the images, and measured 0.1-0.2 ms for the 64×32
filters of the benchmark.

Example:
    >>> import numpy
    >>> from chainrule.kernels.winograd import winograd_matrices
    >>> input_matrix, filter_matrix, output_matrix = winograd_matrices(2)     # F(2×2, 3×3)
    >>> output_matrix
    array([[ 1.,  1.,  1.,  0.],
           [ 0.,  1., -1., -1.]])
"""
import numpy

from chainrule.backends import kernels_enabled
from chainrule.kernels import Kernel, numba_available

__all__ = ["TILES", "winograd_matrices", "tile_grid", "kernel_may_run", "input_transform", "input_adjoint",
           "filter_transform", "filter_adjoint", "output_transform", "output_adjoint"]

_FLOAT_DTYPES = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))

# Lavin & Gray's matrices, interpolation points 0, ±1 (m = 2) and 0, ±1, ±2 (m = 4), plus the point at infinity.
_MATRICES = {
    2: (
        [[1, 0, -1, 0],
         [0, 1, 1, 0],
         [0, -1, 1, 0],
         [0, 1, 0, -1]],
        [[1, 0, 0],
         [1 / 2, 1 / 2, 1 / 2],
         [1 / 2, -1 / 2, 1 / 2],
         [0, 0, 1]],
        [[1, 1, 1, 0],
         [0, 1, -1, -1]],
    ),
    4: (
        [[4, 0, -5, 0, 1, 0],
         [0, -4, -4, 1, 1, 0],
         [0, 4, -4, -1, 1, 0],
         [0, -2, -1, 2, 1, 0],
         [0, 2, -1, -2, 1, 0],
         [0, 4, 0, -5, 0, 1]],
        [[1 / 4, 0, 0],
         [-1 / 6, -1 / 6, -1 / 6],
         [-1 / 6, 1 / 6, -1 / 6],
         [1 / 24, 1 / 12, 1 / 6],
         [1 / 24, -1 / 12, 1 / 6],
         [0, 0, 1]],
        [[1, 1, 1, 1, 1, 0],
         [0, 1, -1, 2, -2, 0],
         [0, 1, 1, 4, 4, 0],
         [0, 1, -1, 8, -8, 1]],
    ),
}
TILES = tuple(_MATRICES)          # the output tile sizes m offered: F(2×2, 3×3) and F(4×4, 3×3)


def winograd_matrices(tile, dtype=numpy.float64):
    """(Bᵀ, G, Aᵀ) of F(tile×tile, 3×3), shapes (α, α), (α, 3), (tile, α) with α = tile + 2, as NumPy arrays.

    Example:
        >>> from chainrule.kernels.winograd import winograd_matrices
        >>> [m.shape for m in winograd_matrices(4)]
        [(6, 6), (6, 3), (4, 6)]
    """
    if tile not in _MATRICES:
        raise ValueError(f"winograd_matrices: tile must be one of {TILES} (F(m×m, 3×3)), got {tile!r}")
    return tuple(numpy.array(m, dtype=dtype) for m in _MATRICES[tile])


def tile_grid(out_hw, tile):
    """How many tile×tile output blocks cover an output of size (OH, OW): (⌈OH/m⌉, ⌈OW/m⌉).

    Example:
        >>> from chainrule.kernels.winograd import tile_grid
        >>> tile_grid((14, 14), 4)      # 16×16 computed, the last 2 rows and columns dropped
        (4, 4)
    """
    return tuple(-(-size // tile) for size in out_hw)


def kernel_may_run(xp, *arrays):
    """True when the compiled loops may take ``arrays``: kernels on, NumPy float32/float64 arrays of one dtype,
    C-contiguous and writeable, and numba importable (unlike ``fusable``, the shapes may differ).

    Example:
        >>> import numpy
        >>> from chainrule.kernels.winograd import kernel_may_run
        >>> kernel_may_run(numpy, numpy.zeros((2, 3), numpy.float16))     # float16: the NumPy reference runs
        False
    """
    if not kernels_enabled() or xp is not numpy:
        return False
    dtype = arrays[0].dtype
    if dtype not in _FLOAT_DTYPES:
        return False
    for array in arrays:
        if (type(array) is not numpy.ndarray or array.dtype != dtype or not array.flags.c_contiguous
                or not array.flags.writeable):
            return False
    return numba_available()


def _tile_slice(offset, tile, count):
    """Rows (or columns) offset, offset + tile, ..., of ``count`` tiles: position ``offset`` in each tile."""
    return slice(offset, offset + tile * (count - 1) + 1, tile)


# ----- input tiles: V = Bᵀ d B -------------------------------------------------------------------------------------------
#
# The loops are F(4×4, 3×3)'s: each innermost loop is one row of Bᵀ, B, Aᵀ or A written out (the
# zero coefficients left out, the others in column order), so a reader checks it against the
# matrix. Each runs over the batch and writes one vector: with one store and a few loads, LLVM's
# alias checks stay few and it vectorizes the loop (measured: six stores in one loop kept it
# scalar, 2.6-3 ms per input transform of the benchmark against 1.9 ms). The scalars two, four,
# five, eight arrive cast to the array's dtype, as in optim.py, so that each product is rounded as
# NumPy rounds coefficient · array in the reference.
# Each loop writes its 1-D map twice, along the tile rows and then down the columns, on purpose: a
# compiled loop can call only compiled functions, and these compile lazily (see optim.py), so a
# shared helper would need a second, hidden compile path.


def input_transform_loop(padded, grid_h, grid_w, two, four, five, out):
    """Twin of ``input_transform_reference`` for m = 4: V[6ξ+ν, c, 4-wide tile (i, j), n] = (Bᵀ d B)[ξ, ν].

    d is the 6×6 tile at (4i, 4j) of image n; ``out`` has shape (36, C, grid_h·grid_w, N).
    Bᵀ takes d₀..d₅ to (4d₀ − 5d₂ + d₄, −4d₁ − 4d₂ + d₃ + d₄, 4d₁ − 4d₂ − d₃ + d₄,
    −2d₁ − d₂ + 2d₃ + d₄, 2d₁ − d₂ − 2d₃ + d₄, 4d₁ − 5d₃ + d₅): along each tile row, then down the columns.
    """
    channels, batch = padded.shape[0], padded.shape[3]
    rows = numpy.empty((6, 6, batch), dtype=padded.dtype)     # rows[a, ν] = (d B)[a, ν]
    for c in range(channels):
        for i in range(grid_h):
            for j in range(grid_w):
                tile_index = i * grid_w + j
                for a in range(6):
                    r, s = 4 * i + a, 4 * j
                    d0, d1, d2 = padded[c, r, s], padded[c, r, s + 1], padded[c, r, s + 2]
                    d3, d4, d5 = padded[c, r, s + 3], padded[c, r, s + 4], padded[c, r, s + 5]
                    t0, t1, t2, t3, t4, t5 = rows[a, 0], rows[a, 1], rows[a, 2], rows[a, 3], rows[a, 4], rows[a, 5]
                    for n in range(batch):
                        t0[n] = four * d0[n] - five * d2[n] + d4[n]
                    for n in range(batch):
                        t1[n] = -four * d1[n] - four * d2[n] + d3[n] + d4[n]
                    for n in range(batch):
                        t2[n] = four * d1[n] - four * d2[n] - d3[n] + d4[n]
                    for n in range(batch):
                        t3[n] = -two * d1[n] - d2[n] + two * d3[n] + d4[n]
                    for n in range(batch):
                        t4[n] = two * d1[n] - d2[n] - two * d3[n] + d4[n]
                    for n in range(batch):
                        t5[n] = four * d1[n] - five * d3[n] + d5[n]
                for nu in range(6):
                    d0, d1, d2 = rows[0, nu], rows[1, nu], rows[2, nu]
                    d3, d4, d5 = rows[3, nu], rows[4, nu], rows[5, nu]
                    t0, t1, t2 = out[nu, c, tile_index], out[6 + nu, c, tile_index], out[12 + nu, c, tile_index]
                    t3, t4, t5 = out[18 + nu, c, tile_index], out[24 + nu, c, tile_index], out[30 + nu, c, tile_index]
                    for n in range(batch):
                        t0[n] = four * d0[n] - five * d2[n] + d4[n]
                    for n in range(batch):
                        t1[n] = -four * d1[n] - four * d2[n] + d3[n] + d4[n]
                    for n in range(batch):
                        t2[n] = four * d1[n] - four * d2[n] - d3[n] + d4[n]
                    for n in range(batch):
                        t3[n] = -two * d1[n] - d2[n] + two * d3[n] + d4[n]
                    for n in range(batch):
                        t4[n] = two * d1[n] - d2[n] - two * d3[n] + d4[n]
                    for n in range(batch):
                        t5[n] = four * d1[n] - five * d3[n] + d5[n]


def _apply_rows(xp, matrix, vectors, like):
    """[Σ_k matrix[r, k] · vectors[k] for each row r], the sum in k order from zero, zero coefficients skipped."""
    results = []
    for coefficients in matrix:
        total = xp.zeros(like.shape, dtype=like.dtype)
        for coefficient, vector in zip(coefficients, vectors):
            if coefficient != 0:
                total += coefficient * vector
        results.append(total)
    return results


def input_transform_reference(xp, padded, transform, tile, grid):
    """V (α², C, grid_h·grid_w·N) from the padded images (C, H_p, W_p, N): Bᵀ along each tile row, then down the columns."""
    channels, batch = padded.shape[0], padded.shape[3]
    grid_h, grid_w = grid
    alpha = transform.shape[0]
    like = padded[:, _tile_slice(0, tile, grid_h), _tile_slice(0, tile, grid_w), :]
    # rows[a][ν] = Σ_b Bᵀ[ν, b] d[a, b], over all tiles at once (d[a, b]: one strided slice of the images)
    rows = [_apply_rows(xp, transform, [padded[:, _tile_slice(a, tile, grid_h), _tile_slice(b, tile, grid_w), :]
                                        for b in range(alpha)], like)
            for a in range(alpha)]
    out = xp.empty((alpha, alpha, channels, grid_h, grid_w, batch), dtype=padded.dtype)
    for nu in range(alpha):
        for xi, total in enumerate(_apply_rows(xp, transform, [rows[a][nu] for a in range(alpha)], like)):
            out[xi, nu] = total
    return out.reshape(alpha * alpha, channels, grid_h * grid_w * batch)


_input_transform = Kernel(input_transform_loop)


def _scalars(dtype, *values):
    return tuple(numpy.dtype(dtype).type(v) for v in values)


def _matrix(xp, tile, dtype, which):
    matrix = winograd_matrices(tile, dtype)[which]
    return matrix if xp is numpy else xp.asarray(matrix)


def input_transform(xp, padded, tile, grid):
    """V = Bᵀ d B for every α×α tile d of the padded images (C, H_p, W_p, N): shape (α², C, grid_h·grid_w·N).

    The tile of tile row i and column j starts at (tile·i, tile·j); tiles overlap by 2, and
    H_p = tile·grid_h + 2, W_p = tile·grid_w + 2. The compiled loop runs for tile 4.

    Example:
        >>> import numpy
        >>> from chainrule.kernels.winograd import input_transform
        >>> input_transform(numpy, numpy.ones((1, 4, 4, 1)), 2, (1, 1))[:, 0, 0]     # Bᵀ 1 B for F(2×2, 3×3)
        array([0., 0., 0., 0., 0., 4., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.])
    """
    alpha = tile + 2
    if tile == 4 and kernel_may_run(xp, padded):
        out = numpy.empty((alpha * alpha, padded.shape[0], grid[0] * grid[1] * padded.shape[3]), dtype=padded.dtype)
        _input_transform(padded, grid[0], grid[1], *_scalars(padded.dtype, 2, 4, 5),
                         out.reshape(alpha * alpha, padded.shape[0], grid[0] * grid[1], padded.shape[3]))
        return out
    return input_transform_reference(xp, padded, _matrix(xp, tile, padded.dtype, 0), tile, grid)


def input_adjoint_loop(tiles_grad, grid_h, grid_w, two, four, five, out):
    """Twin of ``input_adjoint_reference`` for m = 4: d̄[c, 4i+a, 4j+b, n] += (B V̄ Bᵀ)[a, b] of tile (i, j) of image n.

    ``tiles_grad`` has shape (36, C, grid_h·grid_w, N). B takes v₀..v₅ to (4v₀,
    −4v₁ + 4v₂ − 2v₃ + 2v₄ + 4v₅, −5v₀ − 4v₁ − 4v₂ − v₃ − v₄, v₁ − v₂ + 2v₃ − 2v₄ − 5v₅,
    v₀ + v₁ + v₂ + v₃ + v₄, v₅). The tiles are visited last to first, so that where they overlap
    each pixel's sum is added in the reference's order (offset (a, b) by offset). Each channel's
    plane of ``out`` is zeroed just before its sums (while it is in cache), not in a pass of its own.
    """
    channels, height, width, batch = out.shape
    columns = numpy.empty((6, 6, batch), dtype=out.dtype)     # columns[ξ, b] = (V̄ Bᵀ)[ξ, b]
    for c in range(channels):
        plane = out[c]
        for r in range(height):
            for s in range(width):
                pixel = plane[r, s]
                for n in range(batch):
                    pixel[n] = 0
        for i in range(grid_h - 1, -1, -1):
            for j in range(grid_w - 1, -1, -1):
                tile_index = i * grid_w + j
                for xi in range(6):
                    v0, v1 = tiles_grad[6 * xi, c, tile_index], tiles_grad[6 * xi + 1, c, tile_index]
                    v2, v3 = tiles_grad[6 * xi + 2, c, tile_index], tiles_grad[6 * xi + 3, c, tile_index]
                    v4, v5 = tiles_grad[6 * xi + 4, c, tile_index], tiles_grad[6 * xi + 5, c, tile_index]
                    t0, t1, t2 = columns[xi, 0], columns[xi, 1], columns[xi, 2]
                    t3, t4, t5 = columns[xi, 3], columns[xi, 4], columns[xi, 5]
                    for n in range(batch):
                        t0[n] = four * v0[n]
                    for n in range(batch):
                        t1[n] = -four * v1[n] + four * v2[n] - two * v3[n] + two * v4[n] + four * v5[n]
                    for n in range(batch):
                        t2[n] = -five * v0[n] - four * v1[n] - four * v2[n] - v3[n] - v4[n]
                    for n in range(batch):
                        t3[n] = v1[n] - v2[n] + two * v3[n] - two * v4[n] - five * v5[n]
                    for n in range(batch):
                        t4[n] = v0[n] + v1[n] + v2[n] + v3[n] + v4[n]
                    for n in range(batch):
                        t5[n] = v5[n]
                for b in range(6):
                    r, s = 4 * i, 4 * j + b
                    v0, v1, v2 = columns[0, b], columns[1, b], columns[2, b]
                    v3, v4, v5 = columns[3, b], columns[4, b], columns[5, b]
                    t0, t1, t2 = out[c, r, s], out[c, r + 1, s], out[c, r + 2, s]
                    t3, t4, t5 = out[c, r + 3, s], out[c, r + 4, s], out[c, r + 5, s]
                    for n in range(batch):
                        t0[n] += four * v0[n]
                    for n in range(batch):
                        t1[n] += -four * v1[n] + four * v2[n] - two * v3[n] + two * v4[n] + four * v5[n]
                    for n in range(batch):
                        t2[n] += -five * v0[n] - four * v1[n] - four * v2[n] - v3[n] - v4[n]
                    for n in range(batch):
                        t3[n] += v1[n] - v2[n] + two * v3[n] - two * v4[n] - five * v5[n]
                    for n in range(batch):
                        t4[n] += v0[n] + v1[n] + v2[n] + v3[n] + v4[n]
                    for n in range(batch):
                        t5[n] += v5[n]


def input_adjoint_reference(xp, tiles_grad, transform, tile, grid, padded_shape):
    """d̄ (C, H_p, W_p, N) from V̄ (α², C, grid_h·grid_w·N): B V̄ Bᵀ per tile, added where the tiles overlap."""
    channels, _, _, batch = padded_shape
    grid_h, grid_w = grid
    alpha = transform.shape[0]
    tiles_grad = tiles_grad.reshape(alpha, alpha, channels, grid_h, grid_w, batch)
    like = tiles_grad[0, 0]
    # columns[ξ][b] = Σ_ν Bᵀ[ν, b] V̄[ξ, ν], then the image offset (a, b) gets Σ_ξ Bᵀ[ξ, a] columns[ξ][b]
    columns = [_apply_rows(xp, transform.T, [tiles_grad[xi, nu] for nu in range(alpha)], like) for xi in range(alpha)]
    out = xp.zeros(padded_shape, dtype=tiles_grad.dtype)
    for a in range(alpha):
        for b in range(alpha):
            total = _apply_rows(xp, transform.T[a:a + 1], [columns[xi][b] for xi in range(alpha)], like)[0]
            out[:, _tile_slice(a, tile, grid_h), _tile_slice(b, tile, grid_w), :] += total
    return out


_input_adjoint = Kernel(input_adjoint_loop)


def input_adjoint(xp, tiles_grad, tile, grid, padded_shape):
    """The adjoint of ``input_transform``: d̄ = Σ over tiles of B V̄ Bᵀ, placed where each tile was read.

    Example:
        >>> import numpy
        >>> from chainrule.kernels.winograd import input_adjoint, input_transform
        >>> d = numpy.arange(16.0).reshape(1, 4, 4, 1)
        >>> v_bar = numpy.ones((16, 1, 1))
        >>> left = float((input_transform(numpy, d, 2, (1, 1)) * v_bar).sum())       # ⟨T d, V̄⟩
        >>> right = float((d * input_adjoint(numpy, v_bar, 2, (1, 1), d.shape)).sum())   # ⟨d, Tᵀ V̄⟩
        >>> left == right
        True
    """
    if tile == 4 and kernel_may_run(xp, tiles_grad):
        out = numpy.empty(padded_shape, dtype=tiles_grad.dtype)     # the loop zeroes it, channel by channel
        channels, _, _, batch = padded_shape
        _input_adjoint(tiles_grad.reshape(36, channels, grid[0] * grid[1], batch), grid[0], grid[1],
                       *_scalars(tiles_grad.dtype, 2, 4, 5), out)
        return out
    return input_adjoint_reference(xp, tiles_grad, _matrix(xp, tile, tiles_grad.dtype, 0), tile, grid, padded_shape)


# ----- filters: U = G g Gᵀ (NumPy only: O·C·9 numbers) ------------------------------------------------------------------
def filter_transform(xp, weight, tile):
    """U[ξα+ν, o, c] = (G g_oc Gᵀ)[ξ, ν] for the weight (O, C, 3, 3): shape (α², O, C).

    Example:
        >>> import numpy
        >>> from chainrule.kernels.winograd import filter_transform
        >>> filter_transform(numpy, numpy.ones((1, 1, 3, 3)), 2)[:, 0, 0].reshape(4, 4)
        array([[1.  , 1.5 , 0.5 , 1.  ],
               [1.5 , 2.25, 0.75, 1.5 ],
               [0.5 , 0.75, 0.25, 0.5 ],
               [1.  , 1.5 , 0.5 , 1.  ]])
    """
    matrix = _matrix(xp, tile, weight.dtype, 1)
    alpha = tile + 2
    # (α, O, C, 3) then (α, O, C, α): G from the left on the kernel rows, then Gᵀ from the right.
    left = xp.tensordot(matrix, weight, axes=([1], [2]))
    both = xp.tensordot(left, matrix, axes=([3], [1]))                    # (ξ, O, C, ν)
    return xp.ascontiguousarray(both.transpose(0, 3, 1, 2)).reshape(alpha * alpha, weight.shape[0], weight.shape[1])


def filter_adjoint(xp, filters_grad, tile):
    """ḡ = Gᵀ Ū G, the adjoint of ``filter_transform``: (α², O, C) → (O, C, 3, 3).

    Example:
        >>> import numpy
        >>> from chainrule.kernels.winograd import filter_adjoint, filter_transform
        >>> g, u_bar = numpy.arange(9.0).reshape(1, 1, 3, 3), numpy.ones((16, 1, 1))
        >>> float((filter_transform(numpy, g, 2) * u_bar).sum()) == float((g * filter_adjoint(numpy, u_bar, 2)).sum())
        True
    """
    matrix = _matrix(xp, tile, filters_grad.dtype, 1)
    alpha = tile + 2
    per_position = filters_grad.reshape(alpha, alpha, filters_grad.shape[1], filters_grad.shape[2])
    left = xp.tensordot(matrix, per_position, axes=([0], [0]))           # (k, ν, O, C)
    both = xp.tensordot(left, matrix, axes=([1], [0]))                    # (k, O, C, l)
    return xp.ascontiguousarray(both.transpose(1, 2, 0, 3))


# ----- output tiles: Y = Aᵀ M A ------------------------------------------------------------------------------------------
def output_transform_loop(products, bias, grid_h, grid_w, two, four, eight, out):
    """Twin of ``output_transform_reference`` for m = 4: y[o, 4i+a, 4j+b, n] = (Aᵀ M A)[a, b] + bias[o], tile (i, j) of image n.

    ``products`` has shape (36, O, grid_h·grid_w, N). Aᵀ takes m₀..m₅ to (m₀ + m₁ + m₂ + m₃ + m₄,
    m₁ − m₂ + 2m₃ − 2m₄, m₁ + m₂ + 4m₃ + 4m₄, m₁ − m₂ + 8m₃ − 8m₄ + m₅): along ν, then along ξ.
    """
    channels, batch = out.shape[0], out.shape[3]
    columns = numpy.empty((6, 4, batch), dtype=out.dtype)     # columns[ξ, b] = (M A)[ξ, b]
    for o in range(channels):
        for i in range(grid_h):
            for j in range(grid_w):
                tile_index = i * grid_w + j
                for xi in range(6):
                    m0, m1 = products[6 * xi, o, tile_index], products[6 * xi + 1, o, tile_index]
                    m2, m3 = products[6 * xi + 2, o, tile_index], products[6 * xi + 3, o, tile_index]
                    m4, m5 = products[6 * xi + 4, o, tile_index], products[6 * xi + 5, o, tile_index]
                    t0, t1, t2, t3 = columns[xi, 0], columns[xi, 1], columns[xi, 2], columns[xi, 3]
                    for n in range(batch):
                        t0[n] = m0[n] + m1[n] + m2[n] + m3[n] + m4[n]
                    for n in range(batch):
                        t1[n] = m1[n] - m2[n] + two * m3[n] - two * m4[n]
                    for n in range(batch):
                        t2[n] = m1[n] + m2[n] + four * m3[n] + four * m4[n]
                    for n in range(batch):
                        t3[n] = m1[n] - m2[n] + eight * m3[n] - eight * m4[n] + m5[n]
                shift = bias[o]
                for b in range(4):
                    r, s = 4 * i, 4 * j + b
                    m0, m1, m2 = columns[0, b], columns[1, b], columns[2, b]
                    m3, m4, m5 = columns[3, b], columns[4, b], columns[5, b]
                    t0, t1, t2, t3 = out[o, r, s], out[o, r + 1, s], out[o, r + 2, s], out[o, r + 3, s]
                    for n in range(batch):
                        t0[n] = m0[n] + m1[n] + m2[n] + m3[n] + m4[n] + shift
                    for n in range(batch):
                        t1[n] = m1[n] - m2[n] + two * m3[n] - two * m4[n] + shift
                    for n in range(batch):
                        t2[n] = m1[n] + m2[n] + four * m3[n] + four * m4[n] + shift
                    for n in range(batch):
                        t3[n] = m1[n] - m2[n] + eight * m3[n] - eight * m4[n] + m5[n] + shift


def output_transform_reference(xp, products, bias, transform, tile, grid):
    """y (O, tile·grid_h, tile·grid_w, N) from M (α², O, grid_h·grid_w·N) and bias (O,): Aᵀ M A + b per tile."""
    alpha = transform.shape[1]
    channels = products.shape[1]
    grid_h, grid_w = grid
    batch = products.shape[2] // (grid_h * grid_w)
    products = products.reshape(alpha, alpha, channels, grid_h, grid_w, batch)
    like = products[0, 0]
    # columns[ξ][b] = Σ_ν Aᵀ[b, ν] M[ξ, ν], then y[a, b] = Σ_ξ Aᵀ[a, ξ] columns[ξ][b]
    columns = [_apply_rows(xp, transform, [products[xi, nu] for nu in range(alpha)], like) for xi in range(alpha)]
    out = xp.empty((channels, grid_h * tile, grid_w * tile, batch), dtype=products.dtype)
    for b in range(tile):
        for a, total in enumerate(_apply_rows(xp, transform, [columns[xi][b] for xi in range(alpha)], like)):
            out[:, a::tile, b::tile, :] = total + bias[:, None, None, None]
    return out


_output_transform = Kernel(output_transform_loop)


def output_transform(xp, products, tile, grid, bias=None):
    """y = Aᵀ M A (+ bias[o]) per tile: (α², O, grid_h·grid_w·N) → (O, tile·grid_h, tile·grid_w, N), whole tiles
    (the caller crops).

    The bias is added here, in the pass that writes the output anyway (a separate ``+ b`` measured
    about 1-2 ms on the benchmark's layer); without one, zeros are added (so -0 becomes +0, as any sum with +0).

    Example:
        >>> import numpy
        >>> from chainrule.kernels.winograd import output_transform
        >>> output_transform(numpy, numpy.ones((16, 1, 1)), 2, (1, 1))[0, :, :, 0]   # Aᵀ 1 A
        array([[ 9., -3.],
               [-3.,  1.]])
    """
    if bias is None:
        bias = xp.zeros(products.shape[1], dtype=products.dtype)
    if tile == 4 and kernel_may_run(xp, products, bias):
        batch = products.shape[2] // (grid[0] * grid[1])
        out = numpy.empty((products.shape[1], 4 * grid[0], 4 * grid[1], batch), dtype=products.dtype)
        _output_transform(products.reshape(36, products.shape[1], grid[0] * grid[1], batch), bias, grid[0], grid[1],
                          *_scalars(products.dtype, 2, 4, 8), out)
        return out
    return output_transform_reference(xp, products, bias, _matrix(xp, tile, products.dtype, 2), tile, grid)


def output_adjoint_loop(out_grad, grid_h, grid_w, two, four, eight, products_grad):
    """Twin of ``output_adjoint_reference`` for m = 4: M̄[6ξ+ν, o, tile (i, j), n] = (A ȳ Aᵀ)[ξ, ν], ȳ the 4×4 block at (4i, 4j).

    ``products_grad`` has shape (36, O, grid_h·grid_w, N). A takes y₀..y₃ to (y₀, y₀ + y₁ + y₂ + y₃,
    y₀ − y₁ + y₂ − y₃, y₀ + 2y₁ + 4y₂ + 8y₃, y₀ − 2y₁ + 4y₂ − 8y₃, y₃): along each block row, then down the columns.
    """
    channels, batch = out_grad.shape[0], out_grad.shape[3]
    rows = numpy.empty((4, 6, batch), dtype=out_grad.dtype)   # rows[a, ν] = (ȳ Aᵀ)[a, ν]
    for o in range(channels):
        for i in range(grid_h):
            for j in range(grid_w):
                tile_index = i * grid_w + j
                for a in range(4):
                    r, s = 4 * i + a, 4 * j
                    y0, y1, y2, y3 = out_grad[o, r, s], out_grad[o, r, s + 1], out_grad[o, r, s + 2], out_grad[o, r, s + 3]
                    t0, t1, t2, t3, t4, t5 = rows[a, 0], rows[a, 1], rows[a, 2], rows[a, 3], rows[a, 4], rows[a, 5]
                    for n in range(batch):
                        t0[n] = y0[n]
                    for n in range(batch):
                        t1[n] = y0[n] + y1[n] + y2[n] + y3[n]
                    for n in range(batch):
                        t2[n] = y0[n] - y1[n] + y2[n] - y3[n]
                    for n in range(batch):
                        t3[n] = y0[n] + two * y1[n] + four * y2[n] + eight * y3[n]
                    for n in range(batch):
                        t4[n] = y0[n] - two * y1[n] + four * y2[n] - eight * y3[n]
                    for n in range(batch):
                        t5[n] = y3[n]
                for nu in range(6):
                    y0, y1, y2, y3 = rows[0, nu], rows[1, nu], rows[2, nu], rows[3, nu]
                    t0, t1 = products_grad[nu, o, tile_index], products_grad[6 + nu, o, tile_index]
                    t2, t3 = products_grad[12 + nu, o, tile_index], products_grad[18 + nu, o, tile_index]
                    t4, t5 = products_grad[24 + nu, o, tile_index], products_grad[30 + nu, o, tile_index]
                    for n in range(batch):
                        t0[n] = y0[n]
                    for n in range(batch):
                        t1[n] = y0[n] + y1[n] + y2[n] + y3[n]
                    for n in range(batch):
                        t2[n] = y0[n] - y1[n] + y2[n] - y3[n]
                    for n in range(batch):
                        t3[n] = y0[n] + two * y1[n] + four * y2[n] + eight * y3[n]
                    for n in range(batch):
                        t4[n] = y0[n] - two * y1[n] + four * y2[n] - eight * y3[n]
                    for n in range(batch):
                        t5[n] = y3[n]


def output_adjoint_reference(xp, out_grad, transform, tile, grid):
    """M̄ (α², O, grid_h·grid_w·N) from ȳ (O, tile·grid_h, tile·grid_w, N): A ȳ Aᵀ per tile."""
    channels, _, _, batch = out_grad.shape
    grid_h, grid_w = grid
    alpha = transform.shape[1]
    like = out_grad[:, ::tile, ::tile, :]
    # rows[a][ν] = Σ_b Aᵀ[b, ν] ȳ[a, b], then M̄[ξ, ν] = Σ_a Aᵀ[a, ξ] rows[a][ν]
    rows = [_apply_rows(xp, transform.T, [out_grad[:, a::tile, b::tile, :] for b in range(tile)], like)
            for a in range(tile)]
    out = xp.empty((alpha, alpha, channels, grid_h, grid_w, batch), dtype=out_grad.dtype)
    for nu in range(alpha):
        for xi, total in enumerate(_apply_rows(xp, transform.T, [rows[a][nu] for a in range(tile)], like)):
            out[xi, nu] = total
    return out.reshape(alpha * alpha, channels, grid_h * grid_w * batch)


_output_adjoint = Kernel(output_adjoint_loop)


def output_adjoint(xp, out_grad, tile, grid):
    """The adjoint of ``output_transform``: M̄ = A ȳ Aᵀ per tile, (O, tile·grid_h, tile·grid_w, N) → (α², O, grid_h·grid_w·N).

    Example:
        >>> import numpy
        >>> from chainrule.kernels.winograd import output_adjoint, output_transform
        >>> m, y_bar = numpy.arange(16.0).reshape(16, 1, 1), numpy.ones((1, 2, 2, 1))
        >>> left = float((output_transform(numpy, m, 2, (1, 1)) * y_bar).sum())
        >>> left == float((m * output_adjoint(numpy, y_bar, 2, (1, 1))).sum())
        True
    """
    if tile == 4 and kernel_may_run(xp, out_grad):
        alpha = tile + 2
        batch = out_grad.shape[3]
        products_grad = numpy.empty((alpha * alpha, out_grad.shape[0], grid[0] * grid[1] * batch), dtype=out_grad.dtype)
        _output_adjoint(out_grad, grid[0], grid[1], *_scalars(out_grad.dtype, 2, 4, 8),
                        products_grad.reshape(alpha * alpha, out_grad.shape[0], grid[0] * grid[1], batch))
        return products_grad
    return output_adjoint_reference(xp, out_grad, _matrix(xp, tile, out_grad.dtype, 2), tile, grid)
