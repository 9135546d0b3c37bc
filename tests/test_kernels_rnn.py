"""The fused LSTM and GRU loops (chainrule/kernels/rnn.py) equal the array and tensor code they twin, bit for bit.

Each case runs ``LSTMSequence`` or ``GRUSequence`` twice on the same inputs, kernels on and off
(``chainrule.backends.use_kernels``): the forward values (h, c and the four stored gate activations
of every step for the LSTM; h, r, z, n and W_hn h + b_hn for the GRU) and every gradient of the
backward sweep are compared exactly, float32 and float64, both directions, with a random upstream
gradient on every output block (the LSTM's output is [h, c]; the GRU's gates are outputs too, so
the terms of their own gradient run). The kernel path is recognised by spying on the loops.
Then: gradients against PyTorch (an LSTM layer and a two-LSTMCell loop as in pytorch/examples'
time_sequence_prediction), and second derivatives, which always take the tensor-op sweep.
"""
import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.rnn as rnn
from chainrule.backends import kernels_enabled, use_kernels
from chainrule.core.primitive import apply
from chainrule.func import gradcheck, gradgradcheck
from chainrule.kernels import numba_available
from chainrule.nn.rnn import GRUSequence, LSTMSequence, LSTMCell, _lstm_step

pytestmark = pytest.mark.skipif(not numba_available(), reason="numba is not installed: only the reference runs")


@pytest.fixture
def kernels_switch():
    """Yields a function that turns the kernels on or off; restores the setting afterwards."""
    before = kernels_enabled()
    yield use_kernels
    use_kernels(before)


@pytest.fixture
def spy(monkeypatch):
    """Counts the calls of the fused forwards and backwards that nn/rnn.py makes."""
    calls = {"forward": 0, "backward": 0}

    def counted(name, function):
        def wrapper(*args):
            calls[name] += 1
            return function(*args)
        return wrapper

    for kind in ("lstm", "gru"):
        monkeypatch.setattr(rnn, f"{kind}_forward", counted("forward", getattr(rnn, f"{kind}_forward")))
        monkeypatch.setattr(rnn, f"{kind}_backward", counted("backward", getattr(rnn, f"{kind}_backward")))
    return calls


# kind -> (primitive, gates, output blocks)
KINDS = {"lstm": (LSTMSequence, 4, 2), "gru": (GRUSequence, 3, 5)}


def sequence_inputs(seed, steps, batch, hidden, dtype, kind="lstm"):
    rng = np.random.default_rng(seed)
    gates = KINDS[kind][1]
    if kind == "lstm":     # projected, h0, c0, weight_hh, bias
        shapes = [(steps, batch, 4 * hidden), (batch, hidden), (batch, hidden), (4 * hidden, hidden), (4 * hidden,)]
        scales = [1.5, 0.8, 1.0, 0.6, 0.5]
    else:                  # projected, h0, weight_hh, bias_hh
        shapes, scales = [(steps, batch, gates * hidden), (batch, hidden), (gates * hidden, hidden), (gates * hidden,)], [1.5, 0.8, 0.6, 0.5]
    return [cr.tensor((rng.standard_normal(shape) * scale).astype(dtype), requires_grad=True)
            for shape, scale in zip(shapes, scales)]


def run_sequence(inputs, reverse, upstream, kind="lstm"):
    out = apply(KINDS[kind][0], *inputs, reverse=reverse)
    grads = cr.autograd.grad(out, inputs, upstream)
    forward = rnn._lstm_activations(out) if kind == "lstm" else out.array   # the LSTM's stored gates too
    return [forward] + [grad.array for grad in grads]


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("steps, batch, hidden", [(5, 3, 4), (1, 2, 17), (4, 1, 33)])
def test_fused_loops_equal_reference_bitwise(kernels_switch, spy, kind, dtype, reverse, steps, batch, hidden):
    inputs = sequence_inputs(steps * 100 + hidden, steps, batch, hidden, dtype, kind)
    blocks = KINDS[kind][2]
    upstream = cr.tensor(np.random.default_rng(7).standard_normal((steps, batch, blocks * hidden)).astype(dtype))
    kernels_switch(True)
    fused = run_sequence(inputs, reverse, upstream, kind)
    assert spy == {"forward": 1, "backward": 1}, "the fused loops did not run"
    kernels_switch(False)
    reference = run_sequence(inputs, reverse, upstream, kind)
    assert spy == {"forward": 1, "backward": 1}, "the reference called a fused loop"
    for index, (a, b) in enumerate(zip(fused, reference)):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b, err_msg=f"{kind}: {['output', 'input 0', 'input 1', 'input 2', 'input 3', 'input 4'][index]}")


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_extreme_inputs_saturate_alike(kernels_switch, kind):
    """±1e4 pre-activations: σ and tanh saturate to exactly 0 or 1 on both paths, no NaN."""
    inputs = sequence_inputs(3, 3, 2, 5, np.float32, kind)
    inputs[0] = cr.tensor(np.sign(inputs[0].array) * 1e4, requires_grad=True)
    upstream = cr.tensor(np.ones((3, 2, KINDS[kind][2] * 5), np.float32))
    kernels_switch(True)
    fused = run_sequence(inputs, False, upstream, kind)
    kernels_switch(False)
    reference = run_sequence(inputs, False, upstream, kind)
    for a, b in zip(fused, reference):
        assert np.isfinite(a).all()
        np.testing.assert_array_equal(a, b)


def test_create_graph_takes_the_tensor_sweep_and_is_differentiable(spy):
    inputs = sequence_inputs(11, 3, 2, 3, np.float64)
    out = apply(LSTMSequence, *inputs, reverse=False)
    grads = cr.autograd.grad(out.sum(), inputs, create_graph=True)
    assert spy["backward"] == 0 and all(grad.requires_grad for grad in grads)
    plain = cr.autograd.grad(apply(LSTMSequence, *inputs, reverse=False).sum(), inputs)
    assert spy["backward"] == 1
    for recorded, fused in zip(grads, plain):
        np.testing.assert_allclose(recorded.array, fused.array, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("reverse", [False, True])
def test_gradchecks_of_the_whole_output(kind, reverse):
    """First derivatives (the fused path) and second (the tensor sweep) of every output block, float64."""
    inputs = sequence_inputs(12, 2, 2, 2, np.float64, kind)

    def whole(*args):
        return apply(KINDS[kind][0], *args, reverse=reverse)

    assert gradcheck(whole, inputs)
    assert gradgradcheck(whole, inputs)


def copy_from_torch(ours, theirs):
    for name, parameter in theirs.named_parameters():
        getattr(ours, name).array[...] = parameter.detach().numpy()


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_gradients_match_torch(kind, dtype):
    torch.manual_seed(0)
    theirs = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](6, 8, bidirectional=True)
    theirs = theirs.to(torch.float32 if dtype == np.float32 else torch.float64)
    ours = {"lstm": cr.nn.LSTM, "gru": cr.nn.GRU}[kind](6, 8, bidirectional=True,
                                                         dtype=cr.float32 if dtype == np.float32 else cr.float64)
    copy_from_torch(ours, theirs)
    x = np.random.default_rng(1).standard_normal((7, 3, 6)).astype(dtype)
    x_ours, x_theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)

    def loss(output, final):
        states = final if kind == "lstm" else (final, final)
        return output.sum() + (states[0] * states[1]).sum()

    loss(*ours(x_ours)).backward()
    loss(*theirs(x_theirs)).backward()
    output, output_t = ours(x_ours)[0], theirs(x_theirs)[0]
    tolerance = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(output.array, output_t.detach().numpy(), **tolerance)
    np.testing.assert_allclose(x_ours.grad.array, x_theirs.grad.numpy(), **tolerance)
    for name, parameter in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.array, parameter.grad.numpy(), err_msg=name, **tolerance)


class TwoCells:
    """pytorch/examples' time_sequence_prediction model (two LSTMCells and a Linear), small, in either library."""

    def __init__(self, library, hidden=7):
        self.library, self.hidden = library, hidden
        self.cell1 = library.nn.LSTMCell(1, hidden).double()
        self.cell2 = library.nn.LSTMCell(hidden, hidden).double()
        self.linear = library.nn.Linear(hidden, 1).double()

    def parameters(self):
        return [p for layer in (self.cell1, self.cell2, self.linear) for p in layer.parameters()]

    def __call__(self, input):
        batch = input.shape[0]
        zeros = [self.library.zeros(batch, self.hidden, dtype=self.library.float64) for _ in range(4)]
        h1, c1, h2, c2 = zeros
        outputs = []
        for input_t in input.split(1, dim=1):
            h1, c1 = self.cell1(input_t, (h1, c1))
            h2, c2 = self.cell2(h1, (h2, c2))
            outputs.append(self.linear(h2))
        return self.library.cat(outputs, dim=1)


def test_lstm_cell_loop_matches_torch_and_the_composed_step(spy):
    torch.manual_seed(3)
    theirs, ours = TwoCells(torch), TwoCells(cr)
    for mine, reference in zip(ours.parameters(), theirs.parameters()):
        mine.array[...] = reference.detach().numpy()
    waves = np.sin(np.arange(12)[None, :] / 3.0 + np.arange(4)[:, None]).astype(np.float64)
    loss = ((ours(cr.tensor(waves)) - 0.5) ** 2).mean()
    loss.backward()
    assert spy == {"forward": 24, "backward": 24}, "LSTMCell did not run the fused primitive"
    loss_t = ((theirs(torch.tensor(waves)) - 0.5) ** 2).mean()
    loss_t.backward()
    np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=1e-12)
    for mine, reference in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(mine.grad.array, reference.grad.numpy(), rtol=1e-9, atol=1e-12)

    # The cell against the composed step it replaced (values, gradients, second derivatives).
    cell = LSTMCell(3, 4, dtype=cr.float64)
    rng = np.random.default_rng(4)
    x, h, c = (cr.tensor(rng.standard_normal(shape), requires_grad=True) for shape in ((2, 3), (2, 4), (2, 4)))

    def fused(x, h, c):
        return cr.cat(list(cell(x, (h, c))), dim=1)

    def composed(x, h, c):
        projected = x @ cell.weight_ih.t() + cell.bias_ih + cell.bias_hh
        return cr.cat(list(_lstm_step(projected, (h, c), cell.weight_hh.t())), dim=1)

    np.testing.assert_allclose(fused(x, h, c).array, composed(x, h, c).array, rtol=1e-14, atol=1e-15)
    assert gradgradcheck(fused, [x, h, c])


def test_switch_off_runs_the_reference(kernels_switch, spy):
    kernels_switch(False)
    layer = cr.nn.LSTM(3, 4)
    output, _ = layer(cr.randn(5, 2, 3, requires_grad=True))
    output.sum().backward()
    gru_output, _ = cr.nn.GRU(3, 4)(cr.randn(5, 2, 3, requires_grad=True))
    gru_output.sum().backward()
    h, c = LSTMCell(3, 4)(cr.randn(2, 3), (cr.zeros(2, 4), cr.zeros(2, 4)))   # the composed step
    (h.sum() + c.sum()).backward()
    assert spy == {"forward": 0, "backward": 0}
    assert layer.weight_hh_l0.grad is not None
