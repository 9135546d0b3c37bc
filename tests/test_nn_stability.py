"""nn's numerics at the edges (issue #12, items 9-11), each case compared with PyTorch:
float16 reductions accumulate in float32 and return float16; cross-entropy with every target
ignored has PyTorch's NaN value and zero gradient; max pooling's ties give all to the first maximum."""
import numpy
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.nn.utils import clip_grad_norm_


def _run(function, arrays, grad=True):
    """function on chainrule tensors made from arrays; the output and each input's gradient of sum(output · c)."""
    tensors = [cr.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    out = function(*tensors)
    if grad:
        cotangent = numpy.linspace(0.5, 1.5, out.numel()).reshape(out.shape).astype(out.dtype)
        (out * cr.tensor(cotangent)).sum().backward()
    return out, [t.grad for t in tensors if t.requires_grad]


def _run_torch(function, arrays, grad=True):
    tensors = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    out = function(*tensors)
    if grad:
        cotangent = numpy.linspace(0.5, 1.5, out.numel()).reshape(out.shape).astype(out.detach().numpy().dtype)
        (out * torch.tensor(cotangent)).sum().backward()
    return out, [t.grad for t in tensors if t.requires_grad]


def _assert_as_accurate_as_torch(ours, theirs, exact):
    """float16 stays float16, everything is finite, and each value and gradient is at least as close to the
    float64 result (``exact``: the same function in PyTorch on the inputs cast to float64) as PyTorch's own
    float16 result is (where that is finite), or within float16's rounding (2⁻¹⁰ of the largest entry, or its smallest step)."""
    out, grads = ours
    expected, expected_grads = theirs
    assert out.dtype == cr.float16 and expected.dtype == torch.float16
    for name, actual, reference, truth in [("value", out.detach(), expected.detach(), exact[0].detach())] + [
            (f"gradient {i}", g, eg, xg) for i, (g, eg, xg) in enumerate(zip(grads, expected_grads, exact[1]))]:
        assert actual.dtype == cr.float16, name
        actual, reference, truth = (numpy.asarray(a.numpy(), dtype=float) for a in (actual, reference, truth))
        assert numpy.isfinite(actual).all(), f"{name}: {actual}"
        error, torch_error = numpy.abs(actual - truth).max(), numpy.abs(reference - truth).max()
        torch_error = torch_error if numpy.isfinite(torch_error) else 0.0   # PyTorch's overflowed: no excuse
        allowed = max(torch_error, 2.0 ** -10 * numpy.abs(truth).max(), 2.0 ** -24)
        assert error <= allowed, f"{name}: error {error:.3g} against float64, PyTorch's float16 {torch_error:.3g}"


HALF = numpy.float16
rng = numpy.random.default_rng(0)
LARGE = (rng.standard_normal((64, 4)) * 300).astype(HALF)   # squares up to ~1e6: inf in float16

FLOAT16_CASES = {
    "layer_norm [300, -300, 0]": (lambda x: F.layer_norm(x, (3,)), lambda x: TF.layer_norm(x, (3,)),
                                  [numpy.array([300, -300, 0], dtype=HALF)]),
    "layer_norm with weight and bias": (lambda x, w, b: F.layer_norm(x, (4,), w, b),
                                        lambda x, w, b: TF.layer_norm(x, (4,), w, b),
                                        [LARGE, numpy.full(4, 2, dtype=HALF), numpy.full(4, 0.5, dtype=HALF)]),
    "group_norm": (lambda x: F.group_norm(x, 2), lambda x: TF.group_norm(x, 2), [LARGE.reshape(8, 4, 8)]),
    "batch_norm training": (lambda x: F.batch_norm(x, None, None, training=True),
                            lambda x: TF.batch_norm(x, None, None, training=True), [LARGE]),
    "normalize [300, 300]": (lambda x: F.normalize(x, dim=1), lambda x: TF.normalize(x, dim=1),
                             [numpy.array([[300, 300]], dtype=HALF)]),
    "cosine_similarity [300, 300]": (lambda a, b: F.cosine_similarity(a, b), lambda a, b: TF.cosine_similarity(a, b),
                                     [numpy.array([[300, 300]], dtype=HALF), numpy.array([[300, 100]], dtype=HALF)]),
    "softmax over 70,000": (lambda x: F.softmax(x, dim=1), lambda x: TF.softmax(x, dim=1),
                            [numpy.zeros((1, 70_000), dtype=HALF)]),
    "mse_loss mean of 70,000": (F.mse_loss, TF.mse_loss,
                                [numpy.ones(70_000, dtype=HALF), numpy.zeros(70_000, dtype=HALF)]),
    "l1_loss mean of 70,000": (F.l1_loss, TF.l1_loss, [numpy.ones(70_000, dtype=HALF), numpy.zeros(70_000, dtype=HALF)]),
    "smooth_l1_loss mean of 70,000": (F.smooth_l1_loss, TF.smooth_l1_loss,
                                      [numpy.ones(70_000, dtype=HALF), numpy.zeros(70_000, dtype=HALF)]),
    "huber_loss mean of 70,000": (F.huber_loss, TF.huber_loss,
                                  [numpy.ones(70_000, dtype=HALF), numpy.zeros(70_000, dtype=HALF)]),
    "binary_cross_entropy mean of 70,000": (F.binary_cross_entropy, TF.binary_cross_entropy,
                                            [numpy.full(70_000, 0.5, dtype=HALF), numpy.ones(70_000, dtype=HALF)]),
    "bce_with_logits mean of 70,000": (F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
                                       [numpy.full(70_000, 0.5, dtype=HALF), numpy.ones(70_000, dtype=HALF)]),
    "kl_div batchmean of 70,000": (lambda x, y: F.kl_div(x, y, reduction="batchmean"),
                                   lambda x, y: TF.kl_div(x, y, reduction="batchmean"),
                                   [numpy.full((1, 70_000), -1, dtype=HALF), numpy.full((1, 70_000), 0.5, dtype=HALF)]),
    "cross_entropy of 1,000 rows": (F.cross_entropy, TF.cross_entropy,
                                    [(rng.standard_normal((1000, 5)) * 3).astype(HALF), rng.integers(0, 5, 1000)]),
    "cross_entropy with label smoothing": (lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
                                           lambda x, t: TF.cross_entropy(x, t, label_smoothing=0.1),
                                           [(rng.standard_normal((1000, 5)) * 3).astype(HALF), rng.integers(0, 5, 1000)]),
    "cosine_embedding_loss [300, 300]": (F.cosine_embedding_loss, TF.cosine_embedding_loss,
                                         [numpy.array([[300, 300]], dtype=HALF), numpy.array([[300, 100]], dtype=HALF),
                                          numpy.array([1])]),
    "scaled_dot_product_attention over 70,000 keys": (
        F.scaled_dot_product_attention, TF.scaled_dot_product_attention,
        [numpy.zeros((1, 1, 2), dtype=HALF), numpy.zeros((1, 70_000, 2), dtype=HALF),
         numpy.ones((1, 70_000, 2), dtype=HALF)]),
}


@pytest.mark.parametrize("case", list(FLOAT16_CASES))
def test_float16_reductions_accumulate_in_float32_like_pytorch(case):
    ours_fn, torch_fn, arrays = FLOAT16_CASES[case]
    with numpy.errstate(over="raise", invalid="raise"):   # no float16 overflow on the way
        ours = _run(ours_fn, arrays)
    exact = _run_torch(torch_fn, [a.astype(numpy.float64) if a.dtype == HALF else a for a in arrays])
    _assert_as_accurate_as_torch(ours, _run_torch(torch_fn, arrays), exact)


def test_float16_layer_norm_is_not_zero():
    """The issue's case: float16 [300, -300, 0] used to standardize to zeros (the variance overflowed)."""
    y = F.layer_norm(cr.tensor([300.0, -300.0, 0.0], dtype=cr.float16), (3,))
    assert y.dtype == cr.float16
    numpy.testing.assert_allclose(y.numpy(), [1.2247, -1.2247, 0.0], atol=1e-3)


def test_float16_batch_norm_running_statistics_match_pytorch():
    ours_mean, ours_var = cr.zeros(4, dtype=cr.float16), cr.ones(4, dtype=cr.float16)
    torch_mean, torch_var = torch.zeros(4, dtype=torch.float16), torch.ones(4, dtype=torch.float16)
    F.batch_norm(cr.tensor(LARGE), ours_mean, ours_var, training=True)
    TF.batch_norm(torch.tensor(LARGE), torch_mean, torch_var, training=True)
    numpy.testing.assert_allclose(ours_mean.numpy(), torch_mean.numpy(), rtol=2e-3)
    numpy.testing.assert_allclose(ours_var.numpy(), torch_var.numpy(), rtol=2e-3)


def test_float16_log_softmax_and_cross_entropy_of_many_rows_are_exact():
    """Where PyTorch's float16 CPU kernels themselves overflow (log_softmax over 70,000 gives −inf,
    cross_entropy of 70,000 rows NaN from the row count), compare with float64 instead."""
    x = numpy.zeros((1, 70_000), dtype=HALF)
    numpy.testing.assert_allclose(F.log_softmax(cr.tensor(x), dim=1).numpy()[0, :3], -numpy.log(70_000), rtol=1e-3)
    logits = numpy.zeros((70_000, 3), dtype=HALF)
    loss = F.cross_entropy(cr.tensor(logits), cr.zeros(70_000, dtype=cr.int64))
    assert loss.dtype == cr.float16
    numpy.testing.assert_allclose(loss.item(), numpy.log(3), rtol=1e-3)


def test_float16_clip_grad_norm_matches_pytorch():
    ours = cr.zeros(2, dtype=cr.float16, requires_grad=True)
    ours.grad = cr.tensor([300.0, 300.0], dtype=cr.float16)
    theirs = torch.zeros(2, dtype=torch.float16, requires_grad=True)
    theirs.grad = torch.tensor([300.0, 300.0], dtype=torch.float16)
    norm, expected = clip_grad_norm_([ours], 1.0), torch.nn.utils.clip_grad_norm_([theirs], 1.0)
    assert norm.dtype == cr.float16
    numpy.testing.assert_allclose(norm.item(), expected.item(), rtol=1e-3)
    numpy.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=2e-3)


IGNORED = {
    "fused (N, C)": ({}, (4, 3)),
    "label smoothing": ({"label_smoothing": 0.1}, (4, 3)),
    "class weights": ({"weight": numpy.array([1.0, 2.0, 3.0])}, (4, 3)),
    "(N, C, d) logits": ({}, (4, 3, 5)),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss, case", [("cross_entropy", case) for case in IGNORED] +
                         [("nll_loss", case) for case in IGNORED if "label_smoothing" not in IGNORED[case][0]])
def test_every_target_ignored_gives_pytorchs_value_and_a_finite_gradient(loss, case, reduction):
    """PyTorch: 'mean' is 0/0 = NaN but the gradient is zero; 'sum' and 'none' are zeros."""
    options, shape = IGNORED[case]
    x = numpy.random.default_rng(1).standard_normal(shape)
    target = numpy.full((shape[0],) + shape[2:], -100)
    ours_options = {k: cr.tensor(v) if isinstance(v, numpy.ndarray) else v for k, v in options.items()}
    torch_options = {k: torch.tensor(v) if isinstance(v, numpy.ndarray) else v for k, v in options.items()}
    ours_x, theirs_x = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = getattr(F, loss)(ours_x, cr.tensor(target), reduction=reduction, **ours_options)
    expected = getattr(TF, loss)(theirs_x, torch.tensor(target), reduction=reduction, **torch_options)
    out.sum().backward()
    expected.sum().backward()
    numpy.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())   # NaN where PyTorch's is
    assert numpy.isfinite(ours_x.grad.numpy()).all()
    numpy.testing.assert_array_equal(ours_x.grad.numpy(), theirs_x.grad.numpy())


def test_some_targets_ignored_still_average_over_the_kept_ones():
    x = numpy.random.default_rng(2).standard_normal((4, 3))
    target = numpy.array([0, -100, 2, -100])
    ours_x, theirs_x = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.cross_entropy(ours_x, cr.tensor(target)).backward()
    TF.cross_entropy(theirs_x, torch.tensor(target)).backward()
    numpy.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-12)


TIES = {
    "a 2x2 window of three equal maxima": (numpy.array([[[[1.0, 2.0], [2.0, 2.0]]]]), 1),
    "constant input, overlapping bins": (numpy.ones((1, 2, 5, 7)), (3, 4)),
    "integer-valued random input": (numpy.random.default_rng(3).integers(0, 3, (2, 3, 6, 6)).astype(float), (2, 3)),
}


@pytest.mark.parametrize("case", list(TIES))
def test_adaptive_max_pool_sends_a_tie_all_to_the_first_maximum_like_pytorch(case):
    x, output_size = TIES[case]
    (out, (grad,)) = _run(lambda t: F.adaptive_max_pool2d(t, output_size), [x])
    (expected, (expected_grad,)) = _run_torch(lambda t: TF.adaptive_max_pool2d(t, output_size), [x])
    numpy.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    numpy.testing.assert_array_equal(grad.numpy(), expected_grad.numpy())


def test_adaptive_max_pool_agrees_with_max_pool_on_ties():
    """Where the bins are max_pool2d's windows, both pools give the gradient to the same place."""
    x = numpy.random.default_rng(4).integers(0, 2, (1, 2, 4, 4)).astype(float)
    _, (adaptive,) = _run(lambda t: F.adaptive_max_pool2d(t, 2), [x])
    _, (windowed,) = _run(lambda t: F.max_pool2d(t, 2), [x])
    numpy.testing.assert_array_equal(adaptive.numpy(), windowed.numpy())


NAN = numpy.nan
NAN_WINDOWS = [[[NAN, NAN], [NAN, NAN]], [[NAN, 1.0], [NAN, NAN]], [[1.0, NAN], [NAN, 2.0]], [[NAN, 1.0], [2.0, 3.0]]]


def _nan_heavy_input():
    x = numpy.random.default_rng(5).integers(0, 3, (2, 3, 7, 7)).astype(float)
    x[numpy.random.default_rng(6).random(x.shape) < 0.4] = NAN
    return x


@pytest.mark.parametrize("pool", ["max_pool2d k2", "max_pool2d k3 s1 p1", "max_pool2d k3 s2 ceil", "adaptive (3, 2)"])
def test_max_pooling_sends_the_gradient_of_a_nan_window_where_pytorch_does(pool):
    """PyTorch's kernels keep ``value > max or isnan(value)``: the last NaN of a window takes the gradient."""
    calls = {
        "max_pool2d k2": (lambda f, t: f.max_pool2d(t, 2)),
        "max_pool2d k3 s1 p1": (lambda f, t: f.max_pool2d(t, 3, stride=1, padding=1)),
        "max_pool2d k3 s2 ceil": (lambda f, t: f.max_pool2d(t, 3, stride=2, ceil_mode=True)),
        "adaptive (3, 2)": (lambda f, t: f.adaptive_max_pool2d(t, (3, 2))),
    }
    for x in [numpy.array([[window]]) for window in NAN_WINDOWS] + [_nan_heavy_input()]:
        out, (grad,) = _run(lambda t: calls[pool](F, t), [x])
        expected, (expected_grad,) = _run_torch(lambda t: calls[pool](TF, t), [x])
        numpy.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())   # NaN where PyTorch's is
        # The same elements take the gradient (overlapping windows add theirs in another order: 1 ulp).
        numpy.testing.assert_array_equal(grad.numpy() != 0, expected_grad.numpy() != 0)
        numpy.testing.assert_allclose(grad.numpy(), expected_grad.numpy(), rtol=1e-14, atol=0)


def test_max_pool_indices_of_nan_windows_match_pytorch():
    x = _nan_heavy_input()
    _, indices = F.max_pool2d(cr.tensor(x), 3, stride=2, padding=1, return_indices=True)
    _, expected = TF.max_pool2d(torch.tensor(x), 3, stride=2, padding=1, return_indices=True)
    numpy.testing.assert_array_equal(indices.numpy(), expected.numpy())
