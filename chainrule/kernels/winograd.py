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
``output_adjoint`` run one of two numba loops (``gather_tiles_loop``: image blocks to tiles,
``scatter_tiles_loop``: tiles to image blocks, compiled by ``Kernel``, the matrix passed in
as an array) when ``kernel_may_run`` says so (kernels on, NumPy arrays of one float dtype,
C-contiguous, numba importable), else the NumPy reference (``*_reference``) beside it, which
works on any array module (CuPy too). Both apply each matrix one side at a time, in the
same order, skipping the same zero coefficients, each sum started from its first term and
each product and sum rounded to the array's dtype: the two agree bit for bit
(tests/test_kernels_winograd.py). For the chosen tile, F(4×4, 3×3), four written-out loops
(``*_f43_loop``) form each block row's sums in one pass, with the same terms in the same order:
the same bits, faster (``WRITTEN_OUT_F43``). ``LANES = 2`` splits each loop's channels over two
threads, with the same result. The filter transform is NumPy only (``filter_transform``/``filter_adjoint``, two ``tensordot``s):
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
import concurrent.futures
import os
import threading

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


# ----- the two compiled loops ---------------------------------------------------------------------------------------------
#
# All four image transforms have one of two shapes, each a small matrix L applied along both
# axes of a block:
#   gather  (image blocks → tiles): tiles[ξ·r+ν, c, t, n] = Σ_a L[ξ, a] Σ_b L[ν, b] image[c, step·i+a, step·j+b, n]
#           the input transform (L = Bᵀ, 6×6 blocks that overlap) and the output adjoint (L = A, 4×4 blocks);
#   scatter (tiles → image blocks): image[c, step·i+a, step·j+b, n] (+)= Σ_ξ L[a, ξ] Σ_ν L[b, ν] tiles[ξ·r+ν, c, t, n]
#           the output transform (L = Aᵀ, written, + bias) and the input adjoint (L = B, added where tiles overlap).
# L arrives as an array with the columns of each row's nonzero coefficients (``terms``), so one
# compiled loop serves every matrix and tile size. They were four loops with every row of Bᵀ
# and Aᵀ written out as an expression, each one pass per row: faster (0.9-1.6× these loops'
# time, the scatter's transforms the most), but numba took 1-2.4 s to compile each, 11.6 s
# for the eight (four loops, two dtypes) at load 0.1 (kernels/README.md: compile cost, before
# and after). Each sum is formed as the reference forms it: the first nonzero term,
# then each next one added, the coefficient times the vector rounded to the dtype (the matrices
# arrive in the array's dtype), two terms per pass over the batch (one pass per term measured
# 1.2-1.8× slower: each pass reloads and stores its sum), innermost over the batch: a contiguous
# run that LLVM vectorizes. The pass is written out in each place on purpose: a compiled loop
# can call only compiled functions, and these compile lazily (see optim.py), so a shared helper
# would need a second, hidden compile path.


def gather_tiles_loop(image, matrix, terms, term_counts, step, grid_h, grid_w, tiles, first_channel, end_channel):
    """Twin of ``input_transform_reference`` (L = Bᵀ) and ``output_adjoint_reference`` (L = A): the block at
    (step·i, step·j) of each channel c goes to tiles[:, c, i·grid_w + j] as L d Lᵀ.

    ``image`` (C, H, W, N), ``matrix`` L (r, k) for k×k blocks, ``tiles`` (r², C, grid_h·grid_w, N):
    first along each block row (rows[a, ν] = Σ_b L[ν, b] d[a, b]), then down the columns.
    Row ν of L has ``term_counts[ν]`` nonzero coefficients, in the columns ``terms[ν, :count]``.
    Only channels first_channel ≤ c < end_channel are done (``_run_by_channels`` splits them).
    """
    size, block = matrix.shape
    batch = image.shape[3]
    rows = numpy.empty((block, size, batch), dtype=image.dtype)
    for c in range(first_channel, end_channel):
        for i in range(grid_h):
            for j in range(grid_w):
                tile_index = i * grid_w + j
                for a in range(block):
                    for nu in range(size):
                        target = rows[a, nu]
                        count = term_counts[nu]
                        for start in range(0, count, 2):
                            b0 = terms[nu, start]
                            coefficient0, source0 = matrix[nu, b0], image[c, step * i + a, step * j + b0]
                            if start + 1 < count:
                                b1 = terms[nu, start + 1]
                                coefficient1, source1 = matrix[nu, b1], image[c, step * i + a, step * j + b1]
                                if start == 0:
                                    for n in range(batch):
                                        target[n] = coefficient0 * source0[n] + coefficient1 * source1[n]
                                else:
                                    for n in range(batch):
                                        target[n] = target[n] + coefficient0 * source0[n] + coefficient1 * source1[n]
                            elif start == 0:
                                for n in range(batch):
                                    target[n] = coefficient0 * source0[n]
                            else:
                                for n in range(batch):
                                    target[n] += coefficient0 * source0[n]
                for xi in range(size):
                    for nu in range(size):
                        target = tiles[xi * size + nu, c, tile_index]
                        count = term_counts[xi]
                        for start in range(0, count, 2):
                            a0 = terms[xi, start]
                            coefficient0, source0 = matrix[xi, a0], rows[a0, nu]
                            if start + 1 < count:
                                a1 = terms[xi, start + 1]
                                coefficient1, source1 = matrix[xi, a1], rows[a1, nu]
                                if start == 0:
                                    for n in range(batch):
                                        target[n] = coefficient0 * source0[n] + coefficient1 * source1[n]
                                else:
                                    for n in range(batch):
                                        target[n] = target[n] + coefficient0 * source0[n] + coefficient1 * source1[n]
                            elif start == 0:
                                for n in range(batch):
                                    target[n] = coefficient0 * source0[n]
                            else:
                                for n in range(batch):
                                    target[n] += coefficient0 * source0[n]


def scatter_tiles_loop(tiles, matrix, terms, term_counts, step, grid_h, grid_w, bias, image, first_channel, end_channel):
    """Twin of ``output_transform_reference`` (L = Aᵀ: image = bias[c] + L M Lᵀ, the blocks side by side) and
    ``input_adjoint_reference`` (L = B, bias 0: image = 0 + the sum of L V̄ Lᵀ where the tiles overlap).

    ``tiles`` (r², C, grid_h·grid_w, N), ``matrix`` L (k, r), ``image`` (C, H, W, N): first along ν
    (columns[ξ, b] = Σ_ν L[b, ν] M[ξ, ν]), then along ξ; ``terms`` and ``term_counts`` as in
    ``gather_tiles_loop``. Each channel's plane is set to its bias just before its sums (while it
    is in cache), then each pixel gets pixel + sum, the sum whole before it is added (bias + S
    equals the reference's S + bias bit for bit: IEEE addition commutes). The tiles are visited
    last to first, so that where they overlap each pixel's sums are added in the reference's
    order (block offset (a, b) by offset). Only channels first_channel ≤ c < end_channel are done.
    """
    block, size = matrix.shape
    _, height, width, batch = image.shape
    columns = numpy.empty((size, block, batch), dtype=image.dtype)
    total = numpy.empty(batch, dtype=image.dtype)
    for c in range(first_channel, end_channel):
        plane, shift = image[c], bias[c]
        for r in range(height):
            for s in range(width):
                pixel = plane[r, s]
                for n in range(batch):
                    pixel[n] = shift
        for i in range(grid_h - 1, -1, -1):
            for j in range(grid_w - 1, -1, -1):
                tile_index = i * grid_w + j
                for xi in range(size):
                    for b in range(block):
                        target = columns[xi, b]
                        count = term_counts[b]
                        for start in range(0, count, 2):
                            nu0 = terms[b, start]
                            coefficient0, source0 = matrix[b, nu0], tiles[xi * size + nu0, c, tile_index]
                            if start + 1 < count:
                                nu1 = terms[b, start + 1]
                                coefficient1, source1 = matrix[b, nu1], tiles[xi * size + nu1, c, tile_index]
                                if start == 0:
                                    for n in range(batch):
                                        target[n] = coefficient0 * source0[n] + coefficient1 * source1[n]
                                else:
                                    for n in range(batch):
                                        target[n] = target[n] + coefficient0 * source0[n] + coefficient1 * source1[n]
                            elif start == 0:
                                for n in range(batch):
                                    target[n] = coefficient0 * source0[n]
                            else:
                                for n in range(batch):
                                    target[n] += coefficient0 * source0[n]
                for a in range(block):
                    for b in range(block):
                        pixel = plane[step * i + a, step * j + b]
                        # pairs of terms: into ``total`` while more follow, the last pair (or term) added to the pixel
                        count = term_counts[a]
                        for start in range(0, count, 2):
                            xi0 = terms[a, start]
                            coefficient0, source0 = matrix[a, xi0], columns[xi0, b]
                            last = start + 2 >= count
                            if start + 1 < count:
                                xi1 = terms[a, start + 1]
                                coefficient1, source1 = matrix[a, xi1], columns[xi1, b]
                                if start == 0 and last:
                                    for n in range(batch):
                                        pixel[n] += coefficient0 * source0[n] + coefficient1 * source1[n]
                                elif start == 0:
                                    for n in range(batch):
                                        total[n] = coefficient0 * source0[n] + coefficient1 * source1[n]
                                elif last:
                                    for n in range(batch):
                                        pixel[n] += total[n] + coefficient0 * source0[n] + coefficient1 * source1[n]
                                else:
                                    for n in range(batch):
                                        total[n] = total[n] + coefficient0 * source0[n] + coefficient1 * source1[n]
                            elif start == 0:
                                for n in range(batch):
                                    pixel[n] += coefficient0 * source0[n]
                            else:
                                for n in range(batch):
                                    pixel[n] += total[n] + coefficient0 * source0[n]


_gather_tiles = Kernel(gather_tiles_loop)
_scatter_tiles = Kernel(scatter_tiles_loop)


# ----- F(4×4, 3×3) written out: each block row in one pass --------------------------------------------------------
#
# The chosen tile's four transforms again, each stage as one pass over the batch per block row
# that reads the row's α (or m) vectors once and forms all of its sums together, instead of
# the generic loops' two terms per pass (which reload and store each sum as it grows): 2.1×
# faster for the float32 input transform at the benchmark's shape (0.60 against 1.25 ms). The
# sums are the generic loops' and the references': the same nonzero terms in the same column
# order, each started from its first term, so the results are equal bit for bit (tests). Which
# coefficients are nonzero is written into the code; ``_f43_matrix`` checks that pattern
# against the matrices (``_F43_TERMS``) before a loop runs, and the coefficients themselves
# come from the matrix, in the array's dtype. The tile step arrives as an argument although it
# is always 4: with the literal 4 in the index arithmetic, LLVM compiled the input transform's
# loop 2.8× slower (2.39 against 0.86 ms, same source otherwise). ``WRITTEN_OUT_F43 = False``
# runs the generic loops for F(4×4) as well.
WRITTEN_OUT_F43 = True

_F43_TERMS = {
    "input": ((0, 2, 4), (1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4), (1, 3, 5)),                 # Bᵀ
    "output adjoint": ((0,), (0, 1, 2, 3), (0, 1, 2, 3), (0, 1, 2, 3), (0, 1, 2, 3), (3,)),                    # A
    "output": ((0, 1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4, 5)),                                  # Aᵀ
    "input adjoint": ((0,), (1, 2, 3, 4, 5), (0, 1, 2, 3, 4), (1, 2, 3, 4, 5), (0, 1, 2, 3, 4), (5,)),         # B
}


def _f43_matrix(dtype, which):
    """L of F(4×4, 3×3) for a written-out loop, after checking that its nonzero coefficients are the ones the loop uses."""
    matrix, terms, term_counts = _loop_matrix(4, dtype, which)
    found = tuple(tuple(int(k) for k in terms[row, :term_counts[row]]) for row in range(matrix.shape[0]))
    assert found == _F43_TERMS[which], f"F(4x4, 3x3) {which} matrix: nonzero terms {found}, the loop writes out {_F43_TERMS[which]}"
    return matrix


def input_f43_loop(image, matrix, step, grid_h, grid_w, tiles, first_channel, end_channel):
    """Twin of ``input_transform_reference`` for F(4×4, 3×3) (L = Bᵀ): tiles[6ξ+ν, c, t] = (Bᵀ d B)[ξ, ν] for the
    6×6 block d at (4i, 4j), t = i·grid_w + j. ``image`` (C, H, W, N), ``tiles`` (36, C, grid_h·grid_w, N)."""
    batch = image.shape[3]
    rows = numpy.empty((6, 6, batch), dtype=image.dtype)           # rows[a, ν] = Σ_b Bᵀ[ν, b] d[a, b]
    l00, l02, l04 = matrix[0, 0], matrix[0, 2], matrix[0, 4]
    l11, l12, l13, l14 = matrix[1, 1], matrix[1, 2], matrix[1, 3], matrix[1, 4]
    l21, l22, l23, l24 = matrix[2, 1], matrix[2, 2], matrix[2, 3], matrix[2, 4]
    l31, l32, l33, l34 = matrix[3, 1], matrix[3, 2], matrix[3, 3], matrix[3, 4]
    l41, l42, l43, l44 = matrix[4, 1], matrix[4, 2], matrix[4, 3], matrix[4, 4]
    l51, l53, l55 = matrix[5, 1], matrix[5, 3], matrix[5, 5]
    for c in range(first_channel, end_channel):
        for i in range(grid_h):
            for j in range(grid_w):
                t = i * grid_w + j
                for a in range(6):
                    row = step * i + a
                    s0, s1, s2 = image[c, row, step * j], image[c, row, step * j + 1], image[c, row, step * j + 2]
                    s3, s4, s5 = image[c, row, step * j + 3], image[c, row, step * j + 4], image[c, row, step * j + 5]
                    r0, r1, r2, r3, r4, r5 = rows[a, 0], rows[a, 1], rows[a, 2], rows[a, 3], rows[a, 4], rows[a, 5]
                    for n in range(batch):
                        d0, d1, d2, d3, d4, d5 = s0[n], s1[n], s2[n], s3[n], s4[n], s5[n]
                        r0[n] = l00 * d0 + l02 * d2 + l04 * d4
                        r1[n] = l11 * d1 + l12 * d2 + l13 * d3 + l14 * d4
                        r2[n] = l21 * d1 + l22 * d2 + l23 * d3 + l24 * d4
                        r3[n] = l31 * d1 + l32 * d2 + l33 * d3 + l34 * d4
                        r4[n] = l41 * d1 + l42 * d2 + l43 * d3 + l44 * d4
                        r5[n] = l51 * d1 + l53 * d3 + l55 * d5
                for nu in range(6):                                 # then down the columns: Σ_a Bᵀ[ξ, a] rows[a, ν]
                    e0, e1, e2, e3, e4, e5 = rows[0, nu], rows[1, nu], rows[2, nu], rows[3, nu], rows[4, nu], rows[5, nu]
                    o0, o1, o2 = tiles[nu, c, t], tiles[6 + nu, c, t], tiles[12 + nu, c, t]
                    o3, o4, o5 = tiles[18 + nu, c, t], tiles[24 + nu, c, t], tiles[30 + nu, c, t]
                    for n in range(batch):
                        d0, d1, d2, d3, d4, d5 = e0[n], e1[n], e2[n], e3[n], e4[n], e5[n]
                        o0[n] = l00 * d0 + l02 * d2 + l04 * d4
                        o1[n] = l11 * d1 + l12 * d2 + l13 * d3 + l14 * d4
                        o2[n] = l21 * d1 + l22 * d2 + l23 * d3 + l24 * d4
                        o3[n] = l31 * d1 + l32 * d2 + l33 * d3 + l34 * d4
                        o4[n] = l41 * d1 + l42 * d2 + l43 * d3 + l44 * d4
                        o5[n] = l51 * d1 + l53 * d3 + l55 * d5


def output_adjoint_f43_loop(image, matrix, step, grid_h, grid_w, tiles, first_channel, end_channel):
    """Twin of ``output_adjoint_reference`` for F(4×4, 3×3) (L = A, 6×4): tiles[6ξ+ν, c, t] = (A ȳ Aᵀ)[ξ, ν] for the
    4×4 block ȳ at (4i, 4j). ``image`` ȳ (C, 4·grid_h, 4·grid_w, N), ``tiles`` (36, C, grid_h·grid_w, N)."""
    batch = image.shape[3]
    rows = numpy.empty((4, 6, batch), dtype=image.dtype)           # rows[a, ν] = Σ_b A[ν, b] ȳ[a, b]
    l00, l53 = matrix[0, 0], matrix[5, 3]
    l10, l11, l12, l13 = matrix[1, 0], matrix[1, 1], matrix[1, 2], matrix[1, 3]
    l20, l21, l22, l23 = matrix[2, 0], matrix[2, 1], matrix[2, 2], matrix[2, 3]
    l30, l31, l32, l33 = matrix[3, 0], matrix[3, 1], matrix[3, 2], matrix[3, 3]
    l40, l41, l42, l43 = matrix[4, 0], matrix[4, 1], matrix[4, 2], matrix[4, 3]
    for c in range(first_channel, end_channel):
        for i in range(grid_h):
            for j in range(grid_w):
                t = i * grid_w + j
                for a in range(4):
                    row = step * i + a
                    s0, s1 = image[c, row, step * j], image[c, row, step * j + 1]
                    s2, s3 = image[c, row, step * j + 2], image[c, row, step * j + 3]
                    r0, r1, r2, r3, r4, r5 = rows[a, 0], rows[a, 1], rows[a, 2], rows[a, 3], rows[a, 4], rows[a, 5]
                    for n in range(batch):
                        d0, d1, d2, d3 = s0[n], s1[n], s2[n], s3[n]
                        r0[n] = l00 * d0
                        r1[n] = l10 * d0 + l11 * d1 + l12 * d2 + l13 * d3
                        r2[n] = l20 * d0 + l21 * d1 + l22 * d2 + l23 * d3
                        r3[n] = l30 * d0 + l31 * d1 + l32 * d2 + l33 * d3
                        r4[n] = l40 * d0 + l41 * d1 + l42 * d2 + l43 * d3
                        r5[n] = l53 * d3
                for nu in range(6):                                 # then down the columns: Σ_a A[ξ, a] rows[a, ν]
                    e0, e1, e2, e3 = rows[0, nu], rows[1, nu], rows[2, nu], rows[3, nu]
                    o0, o1, o2 = tiles[nu, c, t], tiles[6 + nu, c, t], tiles[12 + nu, c, t]
                    o3, o4, o5 = tiles[18 + nu, c, t], tiles[24 + nu, c, t], tiles[30 + nu, c, t]
                    for n in range(batch):
                        d0, d1, d2, d3 = e0[n], e1[n], e2[n], e3[n]
                        o0[n] = l00 * d0
                        o1[n] = l10 * d0 + l11 * d1 + l12 * d2 + l13 * d3
                        o2[n] = l20 * d0 + l21 * d1 + l22 * d2 + l23 * d3
                        o3[n] = l30 * d0 + l31 * d1 + l32 * d2 + l33 * d3
                        o4[n] = l40 * d0 + l41 * d1 + l42 * d2 + l43 * d3
                        o5[n] = l53 * d3


def output_f43_loop(tiles, matrix, step, grid_h, grid_w, bias, image, first_channel, end_channel):
    """Twin of ``output_transform_reference`` for F(4×4, 3×3) (L = Aᵀ, 4×6): each 4×4 block of ``image`` (O, 4·grid_h,
    4·grid_w, N) is bias[o] + Aᵀ M A, M the tile's 6×6 products from ``tiles`` (36, O, grid_h·grid_w, N). As in
    ``scatter_tiles_loop``: the plane set to the bias first, each pixel then gets pixel + its whole sum."""
    batch = image.shape[3]
    columns = numpy.empty((6, 4, batch), dtype=image.dtype)         # columns[ξ, b] = Σ_ν Aᵀ[b, ν] M[ξ, ν]
    l00, l01, l02, l03, l04 = matrix[0, 0], matrix[0, 1], matrix[0, 2], matrix[0, 3], matrix[0, 4]
    l11, l12, l13, l14 = matrix[1, 1], matrix[1, 2], matrix[1, 3], matrix[1, 4]
    l21, l22, l23, l24 = matrix[2, 1], matrix[2, 2], matrix[2, 3], matrix[2, 4]
    l31, l32, l33, l34, l35 = matrix[3, 1], matrix[3, 2], matrix[3, 3], matrix[3, 4], matrix[3, 5]
    for c in range(first_channel, end_channel):
        plane, shift = image[c], bias[c]
        for r in range(plane.shape[0]):
            for s in range(plane.shape[1]):
                pixel = plane[r, s]
                for n in range(batch):
                    pixel[n] = shift
        for i in range(grid_h - 1, -1, -1):
            for j in range(grid_w - 1, -1, -1):
                t = i * grid_w + j
                for xi in range(6):
                    s0, s1, s2 = tiles[6 * xi, c, t], tiles[6 * xi + 1, c, t], tiles[6 * xi + 2, c, t]
                    s3, s4, s5 = tiles[6 * xi + 3, c, t], tiles[6 * xi + 4, c, t], tiles[6 * xi + 5, c, t]
                    k0, k1, k2, k3 = columns[xi, 0], columns[xi, 1], columns[xi, 2], columns[xi, 3]
                    for n in range(batch):
                        d0, d1, d2, d3, d4, d5 = s0[n], s1[n], s2[n], s3[n], s4[n], s5[n]
                        k0[n] = l00 * d0 + l01 * d1 + l02 * d2 + l03 * d3 + l04 * d4
                        k1[n] = l11 * d1 + l12 * d2 + l13 * d3 + l14 * d4
                        k2[n] = l21 * d1 + l22 * d2 + l23 * d3 + l24 * d4
                        k3[n] = l31 * d1 + l32 * d2 + l33 * d3 + l34 * d4 + l35 * d5
                for b in range(4):                                  # then along ξ, into the pixels of column b
                    e0, e1, e2, e3, e4, e5 = (columns[0, b], columns[1, b], columns[2, b], columns[3, b], columns[4, b],
                                              columns[5, b])
                    p0, p1 = plane[step * i, step * j + b], plane[step * i + 1, step * j + b]
                    p2, p3 = plane[step * i + 2, step * j + b], plane[step * i + 3, step * j + b]
                    for n in range(batch):
                        d0, d1, d2, d3, d4, d5 = e0[n], e1[n], e2[n], e3[n], e4[n], e5[n]
                        p0[n] += l00 * d0 + l01 * d1 + l02 * d2 + l03 * d3 + l04 * d4
                        p1[n] += l11 * d1 + l12 * d2 + l13 * d3 + l14 * d4
                        p2[n] += l21 * d1 + l22 * d2 + l23 * d3 + l24 * d4
                        p3[n] += l31 * d1 + l32 * d2 + l33 * d3 + l34 * d4 + l35 * d5


def input_adjoint_f43_loop(tiles, matrix, step, grid_h, grid_w, image, first_channel, end_channel):
    """Twin of ``input_adjoint_reference`` for F(4×4, 3×3) (L = B): ``image`` d̄ (C, 4·grid_h + 2, 4·grid_w + 2, N) is
    zero, then each tile's B V̄ Bᵀ (V̄ from ``tiles`` (36, C, grid_h·grid_w, N)) is added where the tile was read,
    the tiles visited last to first as in ``scatter_tiles_loop`` (where tiles overlap, the reference's order)."""
    batch = image.shape[3]
    zero = image.dtype.type(0)
    columns = numpy.empty((6, 6, batch), dtype=image.dtype)         # columns[ξ, b] = Σ_ν B[b, ν] V̄[ξ, ν]
    l00, l55 = matrix[0, 0], matrix[5, 5]
    l11, l12, l13, l14, l15 = matrix[1, 1], matrix[1, 2], matrix[1, 3], matrix[1, 4], matrix[1, 5]
    l20, l21, l22, l23, l24 = matrix[2, 0], matrix[2, 1], matrix[2, 2], matrix[2, 3], matrix[2, 4]
    l31, l32, l33, l34, l35 = matrix[3, 1], matrix[3, 2], matrix[3, 3], matrix[3, 4], matrix[3, 5]
    l40, l41, l42, l43, l44 = matrix[4, 0], matrix[4, 1], matrix[4, 2], matrix[4, 3], matrix[4, 4]
    for c in range(first_channel, end_channel):
        plane = image[c]
        for r in range(plane.shape[0]):
            for s in range(plane.shape[1]):
                pixel = plane[r, s]
                for n in range(batch):
                    pixel[n] = zero
        for i in range(grid_h - 1, -1, -1):
            for j in range(grid_w - 1, -1, -1):
                t = i * grid_w + j
                for xi in range(6):
                    s0, s1, s2 = tiles[6 * xi, c, t], tiles[6 * xi + 1, c, t], tiles[6 * xi + 2, c, t]
                    s3, s4, s5 = tiles[6 * xi + 3, c, t], tiles[6 * xi + 4, c, t], tiles[6 * xi + 5, c, t]
                    k0, k1, k2 = columns[xi, 0], columns[xi, 1], columns[xi, 2]
                    k3, k4, k5 = columns[xi, 3], columns[xi, 4], columns[xi, 5]
                    for n in range(batch):
                        d0, d1, d2, d3, d4, d5 = s0[n], s1[n], s2[n], s3[n], s4[n], s5[n]
                        k0[n] = l00 * d0
                        k1[n] = l11 * d1 + l12 * d2 + l13 * d3 + l14 * d4 + l15 * d5
                        k2[n] = l20 * d0 + l21 * d1 + l22 * d2 + l23 * d3 + l24 * d4
                        k3[n] = l31 * d1 + l32 * d2 + l33 * d3 + l34 * d4 + l35 * d5
                        k4[n] = l40 * d0 + l41 * d1 + l42 * d2 + l43 * d3 + l44 * d4
                        k5[n] = l55 * d5
                for b in range(6):                                  # then along ξ, added into the pixels of column b
                    e0, e1, e2, e3, e4, e5 = (columns[0, b], columns[1, b], columns[2, b], columns[3, b], columns[4, b],
                                              columns[5, b])
                    p0, p1, p2 = plane[step * i, step * j + b], plane[step * i + 1, step * j + b], plane[step * i + 2, step * j + b]
                    p3, p4, p5 = plane[step * i + 3, step * j + b], plane[step * i + 4, step * j + b], plane[step * i + 5, step * j + b]
                    for n in range(batch):
                        d0, d1, d2, d3, d4, d5 = e0[n], e1[n], e2[n], e3[n], e4[n], e5[n]
                        p0[n] += l00 * d0
                        p1[n] += l11 * d1 + l12 * d2 + l13 * d3 + l14 * d4 + l15 * d5
                        p2[n] += l20 * d0 + l21 * d1 + l22 * d2 + l23 * d3 + l24 * d4
                        p3[n] += l31 * d1 + l32 * d2 + l33 * d3 + l34 * d4 + l35 * d5
                        p4[n] += l40 * d0 + l41 * d1 + l42 * d2 + l43 * d3 + l44 * d4
                        p5[n] += l55 * d5


_input_f43 = Kernel(input_f43_loop)
_output_adjoint_f43 = Kernel(output_adjoint_f43_loop)
_output_f43 = Kernel(output_f43_loop)
_input_adjoint_f43 = Kernel(input_adjoint_f43_loop)


# Each channel's tiles (gather) or plane (scatter) are written by that channel's iteration
# alone, so the loops can run on two threads, each over half of the channels (both are
# ``nogil``), with the same result bit for bit as on one: no sum crosses channels.
LANES = 1           # set to 2 to split the channels over the calling thread and one worker
_pool = None
_pool_lock = threading.Lock()


def _lane_pool():
    """The one worker thread that takes the second half of the channels (made on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="chainrule-winograd")
        return _pool


def _forget_pool_after_fork():
    # A forked child has no copy of the parent's worker thread; it makes its own on first use.
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _run_by_channels(kernel, channels, *args, lanes=None):
    """``kernel(*args, first, end)`` over channels [0, channels): in one call, or in two halves at once when ``lanes``
    (default ``LANES``) ≥ 2."""
    if (LANES if lanes is None else lanes) < 2 or channels < 2:
        kernel(*args, 0, channels)
        return
    middle = channels // 2
    other_half = _lane_pool().submit(kernel, *args, middle, channels)
    try:
        kernel(*args, 0, middle)
    finally:
        other_half.result()                 # waits, and re-raises an error from that thread


_blas_controller = None


def _one_blas_thread():
    """A context in which NumPy's BLAS runs on the calling thread alone (threadpoolctl; found once, on first use)."""
    global _blas_controller
    if _blas_controller is None:
        from threadpoolctl import ThreadpoolController     # ~70 ms with its scan of the loaded libraries: only here
        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")


def in_two_lanes(first, second):
    """``first()`` on the calling thread and ``second()`` on the lane worker at once, with NumPy's BLAS held to one
    thread each meanwhile; returns both results. For work split by the caller into two independent halves that call
    BLAS themselves (the Winograd layer's chunks): each lane's products on its own core, where two BLAS threads per
    lane would put four threads on two cores. The BLAS setting is process-wide while this runs.

    Example:
        >>> from chainrule.kernels.winograd import in_two_lanes
        >>> in_two_lanes(lambda: 1 + 1, lambda: 2 + 2)
        (2, 4)
    """
    with _one_blas_thread():
        other = _lane_pool().submit(second)
        try:
            mine = first()
        finally:
            theirs = other.result()         # waits, and re-raises an error from that thread
    return mine, theirs


def _apply_rows(xp, matrix, vectors):
    """[Σ_k matrix[r, k] · vectors[k] for each row r]: the first nonzero term, then each next one added in k order
    (zero coefficients skipped), as the loops sum."""
    results = []
    for coefficients in matrix:
        total = None
        for coefficient, vector in zip(coefficients, vectors):
            if coefficient != 0:
                if total is None:
                    total = coefficient * vector
                else:
                    total += coefficient * vector
        results.append(xp.zeros_like(vectors[0]) if total is None else total)
    return results


_LOOP_MATRICES = {}     # (tile, dtype, which) → (L, terms, term_counts) as a loop takes them


def _loop_matrix(tile, dtype, which):
    """L for a loop, C-contiguous in ``dtype`` ("input" Bᵀ, "input adjoint" B, "output" Aᵀ, "output adjoint" A),
    with each row's nonzero columns: terms[r, :term_counts[r]] (int64, padded with 0)."""
    key = (tile, numpy.dtype(dtype), which)
    if key not in _LOOP_MATRICES:
        input_matrix, _, output_matrix = winograd_matrices(tile, dtype)
        matrix = numpy.ascontiguousarray({"input": input_matrix, "input adjoint": input_matrix.T,
                                          "output": output_matrix, "output adjoint": output_matrix.T}[which])
        nonzero = [numpy.flatnonzero(row) for row in matrix]
        assert all(len(columns) for columns in nonzero), "every row of a Winograd matrix has a nonzero coefficient"
        terms = numpy.zeros(matrix.shape, dtype=numpy.int64)
        for row, columns in enumerate(nonzero):
            terms[row, :len(columns)] = columns
        term_counts = numpy.array([len(columns) for columns in nonzero], dtype=numpy.int64)
        _LOOP_MATRICES[key] = (matrix, terms, term_counts)
    return _LOOP_MATRICES[key]


def _matrix(xp, tile, dtype, which):
    matrix = winograd_matrices(tile, dtype)[which]
    return matrix if xp is numpy else xp.asarray(matrix)


# ----- input tiles: V = Bᵀ d B -------------------------------------------------------------------------------------------
def input_transform_reference(xp, padded, transform, tile, grid):
    """V (α², C, grid_h·grid_w·N) from the padded images (C, H_p, W_p, N): Bᵀ along each tile row, then down the columns."""
    channels, batch = padded.shape[0], padded.shape[3]
    grid_h, grid_w = grid
    alpha = transform.shape[0]
    # rows[a][ν] = Σ_b Bᵀ[ν, b] d[a, b], over all tiles at once (d[a, b]: one strided slice of the images)
    rows = [_apply_rows(xp, transform, [padded[:, _tile_slice(a, tile, grid_h), _tile_slice(b, tile, grid_w), :]
                                        for b in range(alpha)])
            for a in range(alpha)]
    out = xp.empty((alpha, alpha, channels, grid_h, grid_w, batch), dtype=padded.dtype)
    for nu in range(alpha):
        for xi, total in enumerate(_apply_rows(xp, transform, [rows[a][nu] for a in range(alpha)])):
            out[xi, nu] = total
    return out.reshape(alpha * alpha, channels, grid_h * grid_w * batch)


def input_transform(xp, padded, tile, grid):
    """V = Bᵀ d B for every α×α tile d of the padded images (C, H_p, W_p, N): shape (α², C, grid_h·grid_w·N).

    The tile of tile row i and column j starts at (tile·i, tile·j); tiles overlap by 2, and
    H_p = tile·grid_h + 2, W_p = tile·grid_w + 2.

    Example:
        >>> import numpy
        >>> from chainrule.kernels.winograd import input_transform
        >>> input_transform(numpy, numpy.ones((1, 4, 4, 1)), 2, (1, 1))[:, 0, 0]     # Bᵀ 1 B for F(2×2, 3×3)
        array([0., 0., 0., 0., 0., 4., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.])
    """
    alpha = tile + 2
    if kernel_may_run(xp, padded):
        channels, batch = padded.shape[0], padded.shape[3]
        out = numpy.empty((alpha * alpha, channels, grid[0] * grid[1] * batch), dtype=padded.dtype)
        tiles = out.reshape(alpha * alpha, channels, grid[0] * grid[1], batch)
        if tile == 4 and WRITTEN_OUT_F43:
            _run_by_channels(_input_f43, channels, padded, _f43_matrix(padded.dtype, "input"), tile, *grid, tiles)
        else:
            _run_by_channels(_gather_tiles, channels, padded, *_loop_matrix(tile, padded.dtype, "input"), tile, *grid,
                             tiles)
        return out
    return input_transform_reference(xp, padded, _matrix(xp, tile, padded.dtype, 0), tile, grid)


def input_adjoint_reference(xp, tiles_grad, transform, tile, grid, padded_shape):
    """d̄ (C, H_p, W_p, N) from V̄ (α², C, grid_h·grid_w·N): B V̄ Bᵀ per tile, added where the tiles overlap."""
    channels, _, _, batch = padded_shape
    grid_h, grid_w = grid
    alpha = transform.shape[0]
    tiles_grad = tiles_grad.reshape(alpha, alpha, channels, grid_h, grid_w, batch)
    # columns[ξ][b] = Σ_ν Bᵀ[ν, b] V̄[ξ, ν], then the image offset (a, b) gets Σ_ξ Bᵀ[ξ, a] columns[ξ][b]
    columns = [_apply_rows(xp, transform.T, [tiles_grad[xi, nu] for nu in range(alpha)]) for xi in range(alpha)]
    out = xp.zeros(padded_shape, dtype=tiles_grad.dtype)
    for a in range(alpha):
        for b in range(alpha):
            total = _apply_rows(xp, transform.T[a:a + 1], [columns[xi][b] for xi in range(alpha)])[0]
            out[:, _tile_slice(a, tile, grid_h), _tile_slice(b, tile, grid_w), :] += total
    return out


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
    if kernel_may_run(xp, tiles_grad):
        alpha = tile + 2
        channels, _, _, batch = padded_shape
        out = numpy.empty(padded_shape, dtype=tiles_grad.dtype)     # the loop sets it to 0, channel by channel
        tiles = tiles_grad.reshape(alpha * alpha, channels, grid[0] * grid[1], batch)
        if tile == 4 and WRITTEN_OUT_F43:
            _run_by_channels(_input_adjoint_f43, channels, tiles, _f43_matrix(tiles_grad.dtype, "input adjoint"), tile,
                             *grid, out)
        else:
            no_bias = numpy.zeros(channels, dtype=tiles_grad.dtype)
            _run_by_channels(_scatter_tiles, channels, tiles, *_loop_matrix(tile, tiles_grad.dtype, "input adjoint"),
                             tile, *grid, no_bias, out)
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
def output_transform_reference(xp, products, bias, transform, tile, grid):
    """y (O, tile·grid_h, tile·grid_w, N) from M (α², O, grid_h·grid_w·N) and bias (O,): Aᵀ M A + b per tile."""
    alpha = transform.shape[1]
    channels = products.shape[1]
    grid_h, grid_w = grid
    batch = products.shape[2] // (grid_h * grid_w)
    products = products.reshape(alpha, alpha, channels, grid_h, grid_w, batch)
    # columns[ξ][b] = Σ_ν Aᵀ[b, ν] M[ξ, ν], then y[a, b] = Σ_ξ Aᵀ[a, ξ] columns[ξ][b]
    columns = [_apply_rows(xp, transform, [products[xi, nu] for nu in range(alpha)]) for xi in range(alpha)]
    out = xp.empty((channels, grid_h * tile, grid_w * tile, batch), dtype=products.dtype)
    for b in range(tile):
        for a, total in enumerate(_apply_rows(xp, transform, [columns[xi][b] for xi in range(alpha)])):
            out[:, a::tile, b::tile, :] = total + bias[:, None, None, None]
    return out


def output_transform(xp, products, tile, grid, bias=None, lanes=None):
    """y = Aᵀ M A (+ bias[o]) per tile: (α², O, grid_h·grid_w·N) → (O, tile·grid_h, tile·grid_w, N), whole tiles
    (the caller crops).

    The bias is added here, in the pass that writes the output anyway (a separate ``+ b`` measured
    about 1-2 ms on the benchmark's layer); without one, zeros are added (so -0 becomes +0, as any sum with +0).
    ``lanes`` overrides ``LANES`` for this call (1 inside a lane of ``in_two_lanes``).

    Example:
        >>> import numpy
        >>> from chainrule.kernels.winograd import output_transform
        >>> output_transform(numpy, numpy.ones((16, 1, 1)), 2, (1, 1))[0, :, :, 0]   # Aᵀ 1 A
        array([[ 9., -3.],
               [-3.,  1.]])
    """
    if bias is None:
        bias = xp.zeros(products.shape[1], dtype=products.dtype)
    if kernel_may_run(xp, products, bias):
        alpha = tile + 2
        channels, batch = products.shape[1], products.shape[2] // (grid[0] * grid[1])
        out = numpy.empty((channels, tile * grid[0], tile * grid[1], batch), dtype=products.dtype)
        tiles = products.reshape(alpha * alpha, channels, grid[0] * grid[1], batch)
        if tile == 4 and WRITTEN_OUT_F43:
            _run_by_channels(_output_f43, channels, tiles, _f43_matrix(products.dtype, "output"), tile, *grid, bias,
                             out, lanes=lanes)
        else:
            _run_by_channels(_scatter_tiles, channels, tiles, *_loop_matrix(tile, products.dtype, "output"), tile,
                             *grid, bias, out, lanes=lanes)
        return out
    return output_transform_reference(xp, products, bias, _matrix(xp, tile, products.dtype, 2), tile, grid)


def output_adjoint_reference(xp, out_grad, transform, tile, grid):
    """M̄ (α², O, grid_h·grid_w·N) from ȳ (O, tile·grid_h, tile·grid_w, N): A ȳ Aᵀ per tile."""
    channels, _, _, batch = out_grad.shape
    grid_h, grid_w = grid
    alpha = transform.shape[1]
    # rows[a][ν] = Σ_b Aᵀ[b, ν] ȳ[a, b], then M̄[ξ, ν] = Σ_a Aᵀ[a, ξ] rows[a][ν]
    rows = [_apply_rows(xp, transform.T, [out_grad[:, a::tile, b::tile, :] for b in range(tile)])
            for a in range(tile)]
    out = xp.empty((alpha, alpha, channels, grid_h, grid_w, batch), dtype=out_grad.dtype)
    for nu in range(alpha):
        for xi, total in enumerate(_apply_rows(xp, transform.T, [rows[a][nu] for a in range(tile)])):
            out[xi, nu] = total
    return out.reshape(alpha * alpha, channels, grid_h * grid_w * batch)


def output_adjoint(xp, out_grad, tile, grid, lanes=None):
    """The adjoint of ``output_transform``: M̄ = A ȳ Aᵀ per tile, (O, tile·grid_h, tile·grid_w, N) → (α², O, grid_h·grid_w·N).
    ``lanes`` as in ``output_transform``.

    Example:
        >>> import numpy
        >>> from chainrule.kernels.winograd import output_adjoint, output_transform
        >>> m, y_bar = numpy.arange(16.0).reshape(16, 1, 1), numpy.ones((1, 2, 2, 1))
        >>> left = float((output_transform(numpy, m, 2, (1, 1)) * y_bar).sum())
        >>> left == float((m * output_adjoint(numpy, y_bar, 2, (1, 1))).sum())
        True
    """
    if kernel_may_run(xp, out_grad):
        alpha = tile + 2
        channels, batch = out_grad.shape[0], out_grad.shape[3]
        products_grad = numpy.empty((alpha * alpha, channels, grid[0] * grid[1] * batch), dtype=out_grad.dtype)
        tiles = products_grad.reshape(alpha * alpha, channels, grid[0] * grid[1], batch)
        if tile == 4 and WRITTEN_OUT_F43:
            _run_by_channels(_output_adjoint_f43, channels, out_grad, _f43_matrix(out_grad.dtype, "output adjoint"),
                             tile, *grid, tiles, lanes=lanes)
        else:
            _run_by_channels(_gather_tiles, channels, out_grad, *_loop_matrix(tile, out_grad.dtype, "output adjoint"),
                             tile, *grid, tiles, lanes=lanes)
        return products_grad
    return output_adjoint_reference(xp, out_grad, _matrix(xp, tile, out_grad.dtype, 2), tile, grid)
