"""Winograd F(m×m, 3×3) convolution: the compiled transforms against their NumPy twins, the path against
im2col, PyTorch and a float64 direct convolution, its derivatives, the chooser and the kernel switch."""
import contextlib

import numpy
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.ops.convolution as convolution
from chainrule.backends import use_kernels
from chainrule.core.primitive import apply
from chainrule.func import gradcheck, gradgradcheck
from chainrule.kernels import numba_available
from chainrule.kernels import winograd

needs_numba = pytest.mark.skipif(not numba_available(), reason="numba is not importable: only the reference runs")


def direct_conv2d(x, w, padding):
    """A float64 direct cross-correlation, nine shifted products (the reference the error is measured against)."""
    x = numpy.pad(x.astype(numpy.float64), ((0, 0), (0, 0)) + tuple(padding))
    out_h, out_w = x.shape[2] - 2, x.shape[3] - 2
    out = numpy.zeros((x.shape[0], w.shape[0], out_h, out_w))
    for kh in range(3):
        for kw in range(3):
            out += numpy.einsum("oc,nchw->nohw", w[:, :, kh, kw].astype(numpy.float64),
                                x[:, :, kh:kh + out_h, kw:kw + out_w])
    return out


@contextlib.contextmanager
def chooser_thresholds(min_macs, min_channels=1):
    """The chooser's thresholds set for a block (0: Winograd for every eligible shape; inf: im2col always)."""
    saved = convolution.WINOGRAD_MIN_MACS, convolution.WINOGRAD_MIN_CHANNELS
    convolution.WINOGRAD_MIN_MACS, convolution.WINOGRAD_MIN_CHANNELS = min_macs, min_channels
    try:
        yield
    finally:
        convolution.WINOGRAD_MIN_MACS, convolution.WINOGRAD_MIN_CHANNELS = saved


@pytest.fixture
def winograd_everywhere():
    """Let the chooser take Winograd for small test shapes too."""
    with chooser_thresholds(0):
        yield


# ----- the compiled transforms equal their NumPy references, bit for bit ------------------------------------------------------
def _reference(run):
    previous = use_kernels(False)
    try:
        return run()
    finally:
        use_kernels(previous)


@needs_numba
@settings(max_examples=12, deadline=None)
@given(tile=st.sampled_from(winograd.TILES), channels=st.integers(1, 3), grid_h=st.integers(1, 3),
       grid_w=st.integers(1, 3), batch=st.integers(1, 9),
       dtype=st.sampled_from([numpy.float32, numpy.float64]), seed=st.integers(0, 2**32 - 1))
def test_each_compiled_transform_equals_its_reference_bitwise(tile, channels, grid_h, grid_w, batch, dtype, seed):
    rng = numpy.random.default_rng(seed)
    grid = (grid_h, grid_w)
    alpha = tile + 2
    padded_shape = (channels, tile * grid_h + 2, tile * grid_w + 2, batch)
    tiles_shape = (alpha * alpha, channels, grid_h * grid_w * batch)
    padded = rng.standard_normal(padded_shape).astype(dtype)
    tiles = rng.standard_normal(tiles_shape).astype(dtype)
    whole = rng.standard_normal((channels, tile * grid_h, tile * grid_w, batch)).astype(dtype)
    bias = rng.standard_normal(channels).astype(dtype)
    # Channel 0 all -0: sums of signed zeros, whose sign shows that both twins start each sum from its first term.
    padded[0], tiles[:, 0], whole[0] = -0.0, -0.0, -0.0
    cases = [
        lambda: winograd.input_transform(numpy, padded, tile, grid),
        lambda: winograd.input_adjoint(numpy, tiles, tile, grid, padded_shape),
        lambda: winograd.output_transform(numpy, tiles, tile, grid),
        lambda: winograd.output_transform(numpy, tiles, tile, grid, bias),
        lambda: winograd.output_adjoint(numpy, whole, tile, grid),
    ]
    for run in cases:
        compiled, reference = run(), _reference(run)
        assert compiled.dtype == reference.dtype == dtype and compiled.shape == reference.shape
        numpy.testing.assert_array_equal(compiled, reference)
        assert numpy.array_equal(numpy.signbit(compiled), numpy.signbit(reference))


@needs_numba
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("grid", [(1, 1), (2, 3), (4, 4)])
def test_the_written_out_f43_loops_equal_the_generic_loops_and_the_reference_bitwise(dtype, grid, monkeypatch):
    rng = numpy.random.default_rng(sum(grid))
    channels, batch = 3, 5
    padded_shape = (channels, 4 * grid[0] + 2, 4 * grid[1] + 2, batch)
    padded = rng.standard_normal(padded_shape).astype(dtype)
    tiles = rng.standard_normal((36, channels, grid[0] * grid[1] * batch)).astype(dtype)
    whole = rng.standard_normal((channels, 4 * grid[0], 4 * grid[1], batch)).astype(dtype)
    bias = rng.standard_normal(channels).astype(dtype)
    padded[0], tiles[:, 0], whole[0] = -0.0, -0.0, -0.0
    padded[1, 2, 3, 1] = numpy.inf                       # an inf stays an inf (no 0·inf from skipped terms)
    runs = [
        lambda: winograd.input_transform(numpy, padded, 4, grid),
        lambda: winograd.input_adjoint(numpy, tiles, 4, grid, padded_shape),
        lambda: winograd.output_transform(numpy, tiles, 4, grid),
        lambda: winograd.output_transform(numpy, tiles, 4, grid, bias),
        lambda: winograd.output_adjoint(numpy, whole, 4, grid),
    ]
    for run in runs:
        monkeypatch.setattr(winograd, "WRITTEN_OUT_F43", True)
        written_out = run()
        monkeypatch.setattr(winograd, "WRITTEN_OUT_F43", False)
        generic, reference = run(), _reference(run)
        for other in (generic, reference):
            numpy.testing.assert_array_equal(written_out, other)
            assert numpy.array_equal(numpy.signbit(written_out), numpy.signbit(other))


def test_the_written_out_f43_loops_check_the_matrix_pattern_they_assume(monkeypatch):
    monkeypatch.setitem(winograd._F43_TERMS, "input", ((0,),) * 6)
    with pytest.raises(AssertionError, match="input matrix: nonzero terms"):
        winograd._f43_matrix(numpy.float32, "input")


@needs_numba
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_two_lanes_over_the_channels_give_the_one_lane_result_bitwise(dtype, monkeypatch):
    rng = numpy.random.default_rng(7)
    tile, grid, channels, batch = 4, (2, 3), 5, 3
    padded = rng.standard_normal((channels, 4 * 2 + 2, 4 * 3 + 2, batch)).astype(dtype)
    tiles = rng.standard_normal((36, channels, 6 * batch)).astype(dtype)
    whole = rng.standard_normal((channels, 8, 12, batch)).astype(dtype)
    bias = rng.standard_normal(channels).astype(dtype)
    runs = [
        lambda: winograd.input_transform(numpy, padded, tile, grid),
        lambda: winograd.input_adjoint(numpy, tiles, tile, grid, padded.shape),
        lambda: winograd.output_transform(numpy, tiles, tile, grid, bias),
        lambda: winograd.output_adjoint(numpy, whole, tile, grid),
    ]
    one_lane = [run() for run in runs]
    monkeypatch.setattr(winograd, "LANES", 2)
    for run, expected in zip(runs, one_lane):
        numpy.testing.assert_array_equal(run(), expected)


@pytest.mark.parametrize("tile", winograd.TILES)
def test_each_adjoint_is_the_transpose_of_its_transform(tile):
    """⟨T a, b⟩ = ⟨a, Tᵀ b⟩ in float64 for the input, filter and output transforms."""
    rng = numpy.random.default_rng(tile)
    alpha, grid = tile + 2, (2, 3)
    padded = rng.standard_normal((2, tile * 2 + 2, tile * 3 + 2, 3))
    tiles = rng.standard_normal((alpha * alpha, 2, 6 * 3))
    weight, filters = rng.standard_normal((4, 2, 3, 3)), rng.standard_normal((alpha * alpha, 4, 2))
    whole = rng.standard_normal((2, tile * 2, tile * 3, 3))
    pairs = [
        (padded, winograd.input_transform(numpy, padded, tile, grid), tiles,
         winograd.input_adjoint(numpy, tiles, tile, grid, padded.shape)),
        (weight, winograd.filter_transform(numpy, weight, tile), filters, winograd.filter_adjoint(numpy, filters, tile)),
        (tiles, winograd.output_transform(numpy, tiles, tile, grid), whole, winograd.output_adjoint(numpy, whole, tile, grid)),
    ]
    for a, transformed, b, adjoint in pairs:
        assert transformed.shape == b.shape and adjoint.shape == a.shape
        assert numpy.isclose((transformed * b).sum(), (a * adjoint).sum(), rtol=1e-12)


# ----- the path agrees with im2col, PyTorch and a float64 direct convolution ---------------------------------------------------
# float32 error of each path against float64 direct, as a fraction of the output's largest value (measured
# in chainrule/kernels/README.md: ~1e-6 for F(4×4) at these channel counts): 3e-5 bounds it with room.
FLOAT32_TOLERANCE = 3e-5


@settings(max_examples=10, deadline=None)
@given(batch=st.integers(1, 3), channels=st.integers(1, 5), out_channels=st.integers(1, 4), height=st.integers(3, 10),
       width=st.integers(3, 10), padding=st.sampled_from([0, 1]), with_bias=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_winograd_forward_and_gradients_match_im2col_torch_and_direct(
        batch, channels, out_channels, height, width, padding, with_bias, seed):
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((batch, channels, height, width)).astype(numpy.float32)
    w = rng.standard_normal((out_channels, channels, 3, 3)).astype(numpy.float32)
    b = rng.standard_normal(out_channels).astype(numpy.float32) if with_bias else None
    cotangent = rng.standard_normal((batch, out_channels, height + 2 * padding - 2, width + 2 * padding - 2))
    cotangent = cotangent.astype(numpy.float32)

    def run(min_macs):
        with chooser_thresholds(min_macs):
            assert convolution.winograd_tile(cr.tensor(x), cr.tensor(w), (1, 1), (1, 1), 1) == (
                4 if min_macs == 0 else None)
            inputs = [cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)]
            if with_bias:
                inputs.append(cr.tensor(b, requires_grad=True))
            out = F.conv2d(inputs[0], inputs[1], inputs[2] if with_bias else None, padding=padding)
            out.backward(cr.tensor(cotangent))
            return [out.detach().numpy()] + [t.grad.numpy() for t in inputs]

    ours, via_im2col = run(0), run(float("inf"))
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if with_bias else None
    expected = torch.nn.functional.conv2d(tx, tw, tb, padding=padding)
    expected.backward(torch.tensor(cotangent))
    theirs = [expected.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()] + ([tb.grad.numpy()] if with_bias else [])
    # The float64 truth of the output and of both gradients (the input gradient is a full correlation
    # with the flipped filter; the weight gradient a correlation of the input with ȳ).
    pads = ((padding, padding), (padding, padding))
    truth = [direct_conv2d(x, w, pads) + (b.astype(numpy.float64)[:, None, None] if with_bias else 0)]
    for mine, reference in zip(ours, truth):
        scale = numpy.abs(reference).max()
        assert numpy.abs(mine - reference).max() <= FLOAT32_TOLERANCE * scale
    for mine, other, torch_value in zip(ours, via_im2col, theirs):
        assert mine.shape == other.shape == torch_value.shape
        scale = max(numpy.abs(torch_value).max(), 1e-30)
        assert numpy.abs(mine - other).max() <= FLOAT32_TOLERANCE * scale
        assert numpy.abs(mine - torch_value).max() <= FLOAT32_TOLERANCE * scale


@pytest.mark.parametrize("tile", winograd.TILES)
def test_float32_error_against_float64_direct_is_as_documented(tile):
    """The README's error table: F(4×4) about 1e-6 of the largest output at 32 channels, F(2×2) and im2col below 1e-6."""
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((4, 32, 14, 14)).astype(numpy.float32)
    w = rng.standard_normal((8, 32, 3, 3)).astype(numpy.float32)
    truth = direct_conv2d(x, w, ((1, 1), (1, 1)))
    ours = convolution.winograd_conv2d(cr.tensor(x), cr.tensor(w), ((1, 1), (1, 1)), tile=tile).numpy()
    relative = numpy.abs(ours - truth).max() / numpy.abs(truth).max()
    assert relative < {2: 1e-6, 4: 2e-5}[tile]


@pytest.mark.parametrize("tile", winograd.TILES)
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("out_w", [3, 9, 13])     # grids of 1-4 tile columns: whole chunks and a remainder
def test_the_fused_products_equal_the_unfused_reference(tile, dtype, out_w):
    """WinogradProductOutput (M = U·V and the output transform, a few tile columns at a time) against
    the whole batched GEMM then WinogradOutput: value and all three gradients."""
    rng = numpy.random.default_rng(out_w)
    x = rng.standard_normal((3, 5, 7, out_w)).astype(dtype)
    w = rng.standard_normal((4, 5, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    g = rng.standard_normal((3, 4, 7, out_w)).astype(dtype)
    results = []
    for fused in (True, False):
        leaves = [cr.tensor(a, requires_grad=True) for a in (x, w, b)]
        out = convolution.winograd_conv2d(*leaves[:2], ((1, 1), (1, 1)), tile=tile, bias=leaves[2], fused=fused)
        out.backward(cr.tensor(g))
        results.append([out.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves])
    tolerance = {numpy.float32: 1e-5, numpy.float64: 1e-12}[dtype]
    for ours, reference in zip(*results):
        numpy.testing.assert_allclose(ours, reference, rtol=tolerance, atol=tolerance * numpy.abs(reference).max())


@pytest.mark.parametrize("tile", winograd.TILES)
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("out_hw", [(3, 3), (7, 9), (9, 8), (5, 2)])    # 1-12 chunks; 3 (F(4×4)) and 3 (F(2×2)): odd
def test_the_chunks_in_two_lanes_give_the_one_lane_result_bitwise(tile, dtype, out_hw, monkeypatch):
    """With LANES = 2 the fused forward and the plain backward split the chunks over two threads (BLAS on one
    thread each); y, x̄, w̄ and b̄ are the one-lane numbers bit for bit (Ū's shares added in chunk order)."""
    rng = numpy.random.default_rng(sum(out_hw) + tile)
    x = rng.standard_normal((3, 5) + out_hw).astype(dtype)
    w = rng.standard_normal((4, 5, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    g = rng.standard_normal((3, 4) + out_hw).astype(dtype)
    results = {}
    for lanes in (1, 2):
        monkeypatch.setattr(winograd, "LANES", lanes)
        leaves = [cr.tensor(a, requires_grad=True) for a in (x, w, b)]
        out = convolution.winograd_conv2d(*leaves[:2], ((1, 1), (1, 1)), tile=tile, bias=leaves[2])
        out.backward(cr.tensor(g))
        results[lanes] = [out.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves]
    chunk_count = len(list(convolution._tile_chunks(winograd.tile_grid(out_hw, tile), 3)))
    assert convolution._chunks_in_two_lanes(numpy, [None] * chunk_count) == (chunk_count >= 2)
    for two, one in zip(results[2], results[1]):
        numpy.testing.assert_array_equal(two, one)


def test_two_lanes_return_both_results_and_raise_the_second_lanes_error():
    assert winograd.in_two_lanes(lambda: "first", lambda: "second") == ("first", "second")

    def fails():
        raise ValueError("in the second lane")
    with pytest.raises(ValueError, match="in the second lane"):
        winograd.in_two_lanes(lambda: None, fails)


@pytest.mark.parametrize("kernels", [True, False])
@pytest.mark.parametrize("tile", winograd.TILES)
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("out_hw", [(7, 3), (6, 9), (5, 13)])   # grids of 1-4 tile columns, ragged last row/column
@pytest.mark.parametrize("with_bias", [True, False])
def test_the_chunked_plain_backward_equals_the_recorded_rule(kernels, tile, dtype, out_hw, with_bias):
    """WinogradProductOutput's plain backward (raw arrays, M̄ chunk by chunk) against its recorded
    tensor-op rule (create_graph=True: one whole M̄): V̄ bit for bit (the same GEMM sums per column),
    b̄ bit for bit, Ū within a blocked sum's rounding (its sum over tiles is split by chunk)."""
    rng = numpy.random.default_rng(out_hw[1] + 10 * tile)
    x = rng.standard_normal((3, 5) + out_hw).astype(dtype)
    w = rng.standard_normal((4, 5, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    g = rng.standard_normal((3, 4) + out_hw).astype(dtype)
    grid = winograd.tile_grid(out_hw, tile)
    filters = convolution.WinogradFilter.forward(numpy, w, tile=tile)
    tiles = convolution.WinogradInput.forward(numpy, x, padding=((1, 1), (1, 1)), tile=tile, grid=grid)
    previous = use_kernels(kernels)
    try:
        results = []
        for create_graph in (False, True):
            leaves = [cr.tensor(a, requires_grad=True) for a in (filters, tiles) + ((b,) if with_bias else ())]
            out = apply(convolution.WinogradProductOutput, *leaves, tile=tile, grid=grid, out_hw=out_hw)
            out.backward(cr.tensor(g), create_graph=create_graph)
            results.append([leaf.grad.detach().numpy() for leaf in leaves])
    finally:
        use_kernels(previous)
    (plain_u, plain_v, *plain_b), (recorded_u, recorded_v, *recorded_b) = results
    assert numpy.array_equal(plain_v, recorded_v)
    for ours, reference in zip(plain_b, recorded_b):
        assert numpy.array_equal(ours, reference)
    tolerance = {numpy.float32: 1e-5, numpy.float64: 1e-12}[dtype]
    numpy.testing.assert_allclose(plain_u, recorded_u, rtol=tolerance, atol=tolerance * numpy.abs(recorded_u).max())


def test_the_chunked_plain_backward_gives_only_the_wanted_gradients():
    """With one of U and V detached the plain backward computes only the other's gradient (the same numbers)."""
    rng = numpy.random.default_rng(3)
    filters = rng.standard_normal((36, 4, 5))
    tiles = rng.standard_normal((36, 5, 2 * 3 * 3))
    g = cr.tensor(rng.standard_normal((3, 4, 8, 12)))
    full = [cr.tensor(a, requires_grad=True) for a in (filters, tiles)]
    apply(convolution.WinogradProductOutput, *full, tile=4, grid=(2, 3), out_hw=(8, 12)).backward(g)
    for wanted in range(2):
        leaves = [cr.tensor(a, requires_grad=index == wanted) for index, a in enumerate((filters, tiles))]
        out = apply(convolution.WinogradProductOutput, *leaves, tile=4, grid=(2, 3), out_hw=(8, 12))
        out.backward(g)
        assert numpy.array_equal(leaves[wanted].grad.numpy(), full[wanted].grad.numpy())
        assert leaves[1 - wanted].grad is None


# ----- derivatives of every order, through the Winograd path ----------------------------------------------------------------------
@pytest.mark.parametrize("tile", winograd.TILES)
def test_gradcheck_and_gradgradcheck_through_winograd(tile):
    rng = numpy.random.default_rng(1)
    x = cr.tensor(rng.standard_normal((2, 2, 5, 6)), requires_grad=True)
    w = cr.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)

    b = cr.tensor(rng.standard_normal(3), requires_grad=True)

    def conv(x, w, b):
        return convolution.winograd_conv2d(x, w, ((1, 0), (0, 1)), tile=tile, bias=b)

    assert gradcheck(conv, (x, w, b))
    assert gradgradcheck(conv, (x, w, b))


def test_gradgradcheck_through_the_layer_path(winograd_everywhere):
    rng = numpy.random.default_rng(2)
    inputs = (cr.tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True),
              cr.tensor(rng.standard_normal((2, 2, 3, 3)), requires_grad=True),
              cr.tensor(rng.standard_normal(2), requires_grad=True))
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1), inputs)


# ----- the chooser and the switch ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("x_shape, w_shape, stride, dilation, groups, expected", [
    ((128, 32, 14, 14), (64, 32, 3, 3), (1, 1), (1, 1), 1, 4),       # the benchmark's layer
    ((64, 16, 14, 14), (32, 16, 3, 3), (1, 1), (1, 1), 1, 4),        # the small CNN's second conv
    ((64, 1, 28, 28), (16, 1, 3, 3), (1, 1), (1, 1), 1, None),       # one input channel: products too thin
    ((128, 32, 14, 14), (64, 32, 3, 3), (2, 2), (1, 1), 1, None),     # strided
    ((128, 32, 14, 14), (64, 32, 3, 3), (1, 1), (2, 2), 1, None),     # dilated
    ((128, 32, 14, 14), (64, 16, 3, 3), (1, 1), (1, 1), 2, None),     # grouped
    ((128, 32, 14, 14), (64, 32, 5, 5), (1, 1), (1, 1), 1, None),     # 5×5
    ((2, 32, 6, 6), (64, 32, 3, 3), (1, 1), (1, 1), 1, None),         # too little work to pay
    ((64, 4, 28, 28), (16, 4, 3, 3), (1, 1), (1, 1), 1, None),        # too few input channels
])
def test_the_chooser_sends_each_shape_to_its_path(x_shape, w_shape, stride, dilation, groups, expected):
    tile = convolution.winograd_tile(cr.zeros(*x_shape), cr.zeros(*w_shape), stride, dilation, groups)
    assert tile == expected


def test_the_chooser_keeps_im2col_for_other_dtypes():
    x, w = cr.zeros(128, 32, 14, 14, dtype=cr.float16), cr.zeros(64, 32, 3, 3, dtype=cr.float16)
    assert convolution.winograd_tile(x, w, (1, 1), (1, 1), 1) is None


def test_the_layer_records_winograd_primitives_on_the_chosen_path():
    from chainrule.core.autograd import topological_order
    x, w = cr.zeros(32, 16, 16, 16, requires_grad=True), cr.zeros(32, 16, 3, 3, requires_grad=True)
    out = F.conv2d(x, w, padding=1)            # 38M multiply-adds of the direct form: Winograd's
    names = {t._op.name for t in topological_order([out]) if t._op is not None}
    assert {"winograd_input", "winograd_filter", "winograd_product_output"} <= names and "unfold" not in names


@needs_numba
def test_switching_kernels_off_runs_the_same_algorithm_bit_for_bit(winograd_everywhere):
    rng = numpy.random.default_rng(3)
    x_np = rng.standard_normal((5, 3, 9, 8)).astype(numpy.float32)
    w_np = rng.standard_normal((4, 3, 3, 3)).astype(numpy.float32)

    def step():
        x, w = cr.tensor(x_np, requires_grad=True), cr.tensor(w_np, requires_grad=True)
        out = F.conv2d(x, w, padding=1)
        (out * out).sum().backward()
        return out.detach().numpy(), x.grad.numpy(), w.grad.numpy()

    compiled = step()
    previous = use_kernels(False)
    try:
        reference = step()
    finally:
        use_kernels(previous)
    for a, b in zip(compiled, reference):
        numpy.testing.assert_array_equal(a, b)


def test_bad_arguments_name_the_function():
    with pytest.raises(ValueError, match="winograd_conv2d.*tile"):
        convolution.winograd_conv2d(cr.zeros(1, 1, 4, 4), cr.zeros(1, 1, 3, 3), ((0, 0), (0, 0)), tile=3)
    with pytest.raises(ValueError, match="winograd_conv2d.*weight"):
        convolution.winograd_conv2d(cr.zeros(1, 1, 4, 4), cr.zeros(1, 1, 5, 5), ((0, 0), (0, 0)))
    with pytest.raises(ValueError, match="winograd_conv2d.*bias"):
        convolution.winograd_conv2d(cr.zeros(1, 1, 4, 4), cr.zeros(2, 1, 3, 3), ((0, 0), (0, 0)), bias=cr.zeros(3))
    with pytest.raises(ValueError, match="winograd_matrices.*tile"):
        winograd.winograd_matrices(6)


@pytest.mark.parametrize("padding_mode", ["reflect", "circular"])
def test_other_padding_modes_pad_first_then_run_winograd_unpadded(winograd_everywhere, padding_mode):
    rng = numpy.random.default_rng(4)
    x, w = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((4, 3, 3, 3))
    ours = F.conv2d(cr.tensor(x), cr.tensor(w), padding=1, padding_mode=padding_mode)
    layer = torch.nn.Conv2d(3, 4, 3, padding=1, padding_mode=padding_mode, bias=False).double()
    layer.weight.data = torch.tensor(w)
    numpy.testing.assert_allclose(ours.numpy(), layer(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
