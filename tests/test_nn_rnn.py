"""Recurrent layers (RNN, LSTM, GRU) and cells: against PyTorch with the same weights, gradient checks,
shapes, errors and seeded initialization."""
import functools
import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule as cr
from chainrule.func import gradcheck, gradgradcheck
from chainrule.nn.rnn import (
    GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell, _gru_step, _lstm_step, _unroll, gru_cell, gru_sequence, lstm_cell,
    lstm_sequence, rnn_tanh_cell,
)

LAYERS = {
    "rnn_tanh": (lambda **kw: RNN(nonlinearity="tanh", **kw), lambda **kw: torch.nn.RNN(nonlinearity="tanh", **kw)),
    "rnn_relu": (lambda **kw: RNN(nonlinearity="relu", **kw), lambda **kw: torch.nn.RNN(nonlinearity="relu", **kw)),
    "lstm": (LSTM, torch.nn.LSTM),
    "gru": (GRU, torch.nn.GRU),
}


def copy_weights(ours, theirs):
    """Copy every torch parameter into the chainrule parameter of the same name (the layouts agree)."""
    ours_by_name = dict(ours.named_parameters())
    theirs_by_name = dict(theirs.named_parameters())
    assert set(ours_by_name) == set(theirs_by_name)
    for name, parameter in theirs_by_name.items():
        assert ours_by_name[name].shape == tuple(parameter.shape), name
        ours_by_name[name].array[...] = parameter.detach().numpy()


def both(array, requires_grad=True):
    """The same float64 data as a chainrule tensor and a torch tensor."""
    return cr.tensor(array, dtype=cr.float64, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


def assert_close(ours, theirs, atol=1e-10, what=""):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    np.testing.assert_allclose(np.asarray(ours.array if isinstance(ours, cr.Tensor) else ours), theirs,
                               rtol=1e-9, atol=atol, err_msg=what)


def weighted_sum(tensors, weights):
    return sum((t * w).sum() for t, w in zip(tensors, weights))


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("batch_first,bidirectional,num_layers,with_state",
                         list(itertools.product([False, True], [False, True], [1, 2], [False, True])))
def test_layer_matches_torch_outputs_and_all_gradients(kind, batch_first, bidirectional, num_layers, with_state):
    make_ours, make_theirs = LAYERS[kind]
    seq, batch, input_size, hidden = 4, 3, 3, 4
    directions = 2 if bidirectional else 1
    kwargs = dict(input_size=input_size, hidden_size=hidden, num_layers=num_layers, batch_first=batch_first,
                  bidirectional=bidirectional)
    torch.manual_seed(0)
    theirs = make_theirs(**kwargs).double()
    ours = make_ours(dtype=cr.float64, **kwargs)
    copy_weights(ours, theirs)

    rng = np.random.default_rng(1)
    shape = (batch, seq, input_size) if batch_first else (seq, batch, input_size)
    x_ours, x_theirs = both(rng.standard_normal(shape))
    state_shape = (num_layers * directions, batch, hidden)
    state_ours = state_theirs = None
    leaves = []
    if with_state:
        h0_ours, h0_theirs = both(rng.standard_normal(state_shape))
        leaves.append((h0_ours, h0_theirs, "h0"))
        state_ours, state_theirs = h0_ours, h0_theirs
        if kind == "lstm":
            c0_ours, c0_theirs = both(rng.standard_normal(state_shape))
            leaves.append((c0_ours, c0_theirs, "c0"))
            state_ours, state_theirs = (h0_ours, c0_ours), (h0_theirs, c0_theirs)

    out_ours, final_ours = ours(x_ours, state_ours)
    out_theirs, final_theirs = theirs(x_theirs, state_theirs)
    finals_ours = list(final_ours) if kind == "lstm" else [final_ours]
    finals_theirs = list(final_theirs) if kind == "lstm" else [final_theirs]
    assert out_ours.shape == tuple(out_theirs.shape)
    assert_close(out_ours, out_theirs, what="output")
    for f_ours, f_theirs in zip(finals_ours, finals_theirs):
        assert f_ours.shape == tuple(f_theirs.shape)
        assert_close(f_ours, f_theirs, what="final state")

    # A loss that weighs every output differently, so that no gradient can hide in a symmetric sum.
    weights = [rng.standard_normal(t.shape) for t in [out_theirs] + finals_theirs]
    weighted_sum([out_ours] + finals_ours, [cr.tensor(w, dtype=cr.float64) for w in weights]).backward()
    weighted_sum([out_theirs] + finals_theirs, [torch.tensor(w) for w in weights]).backward()

    assert_close(x_ours.grad, x_theirs.grad, what="input grad")
    for leaf_ours, leaf_theirs, name in leaves:
        assert_close(leaf_ours.grad, leaf_theirs.grad, what=f"{name} grad")
    theirs_params = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        assert_close(parameter.grad, theirs_params[name].grad, what=f"grad of {name}")


@pytest.mark.parametrize("kind", list(LAYERS))
def test_unbatched_input_matches_torch(kind):
    make_ours, make_theirs = LAYERS[kind]
    torch.manual_seed(2)
    theirs = make_theirs(input_size=2, hidden_size=3, num_layers=2, bidirectional=True).double()
    ours = make_ours(input_size=2, hidden_size=3, num_layers=2, bidirectional=True, dtype=cr.float64)
    copy_weights(ours, theirs)
    rng = np.random.default_rng(3)
    x_ours, x_theirs = both(rng.standard_normal((5, 2)))
    h_ours, h_theirs = both(rng.standard_normal((4, 3)))
    state_ours = (h_ours, h_ours * 0.5) if kind == "lstm" else h_ours
    state_theirs = (h_theirs, h_theirs * 0.5) if kind == "lstm" else h_theirs
    out_ours, _ = ours(x_ours, state_ours)
    out_theirs, _ = theirs(x_theirs, state_theirs)
    assert out_ours.shape == (5, 6)
    assert_close(out_ours, out_theirs)
    out_ours.sum().backward()
    out_theirs.sum().backward()
    assert_close(x_ours.grad, x_theirs.grad)
    assert_close(h_ours.grad, h_theirs.grad)


CELLS = {
    "rnn_tanh": (lambda *a, **kw: RNNCell(*a, nonlinearity="tanh", **kw), lambda *a: torch.nn.RNNCell(*a, nonlinearity="tanh")),
    "rnn_relu": (lambda *a, **kw: RNNCell(*a, nonlinearity="relu", **kw), lambda *a: torch.nn.RNNCell(*a, nonlinearity="relu")),
    "lstm": (LSTMCell, torch.nn.LSTMCell),
    "gru": (GRUCell, torch.nn.GRUCell),
}


@pytest.mark.parametrize("kind", list(CELLS))
@pytest.mark.parametrize("batched,with_state", list(itertools.product([True, False], [True, False])))
def test_cell_matches_torch(kind, batched, with_state):
    make_ours, make_theirs = CELLS[kind]
    torch.manual_seed(4)
    theirs = make_theirs(3, 5).double()
    ours = make_ours(3, 5, dtype=cr.float64)
    copy_weights(ours, theirs)
    rng = np.random.default_rng(5)
    lead = (2,) if batched else ()
    x_ours, x_theirs = both(rng.standard_normal(lead + (3,)))
    state_ours = state_theirs = None
    leaves = []
    if with_state:
        h_ours, h_theirs = both(rng.standard_normal(lead + (5,)))
        leaves.append((h_ours, h_theirs))
        state_ours, state_theirs = h_ours, h_theirs
        if kind == "lstm":
            c_ours, c_theirs = both(rng.standard_normal(lead + (5,)))
            leaves.append((c_ours, c_theirs))
            state_ours, state_theirs = (h_ours, c_ours), (h_theirs, c_theirs)
    result_ours = ours(x_ours, state_ours)
    result_theirs = theirs(x_theirs, state_theirs)
    results_ours = list(result_ours) if kind == "lstm" else [result_ours]
    results_theirs = list(result_theirs) if kind == "lstm" else [result_theirs]
    for r_ours, r_theirs in zip(results_ours, results_theirs):
        assert r_ours.shape == tuple(r_theirs.shape)
        assert_close(r_ours, r_theirs)
    weights = [rng.standard_normal(tuple(r.shape)) for r in results_theirs]
    weighted_sum(results_ours, [cr.tensor(w, dtype=cr.float64) for w in weights]).backward()
    weighted_sum(results_theirs, [torch.tensor(w) for w in weights]).backward()
    assert_close(x_ours.grad, x_theirs.grad)
    for leaf_ours, leaf_theirs in leaves:
        assert_close(leaf_ours.grad, leaf_theirs.grad)
    theirs_params = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        assert_close(parameter.grad, theirs_params[name].grad, what=name)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_layer_gradcheck_float64(kind):
    """Central differences for the input, the initial state and every weight of a 2-layer bidirectional layer."""
    make_ours, _ = LAYERS[kind]
    cr.manual_seed(6)
    layer = make_ours(input_size=2, hidden_size=3, num_layers=2, bidirectional=True, batch_first=True,
                      dtype=cr.float64)
    x = cr.randn(2, 3, 2, dtype=cr.float64, requires_grad=True)
    h0 = cr.randn(4, 2, 3, dtype=cr.float64, requires_grad=True)
    params = list(layer.parameters())

    def run(x, h0, *weights):
        state = (h0, h0.tanh()) if kind == "lstm" else h0
        output, final = layer(x, state)
        return (output, *final) if kind == "lstm" else (output, final)

    assert gradcheck(run, (x, h0, *params))


@pytest.mark.parametrize("cell", [rnn_tanh_cell, lstm_cell, gru_cell])
def test_cell_functions_second_order_gradcheck(cell):
    """The steps are composed of differentiable ops, so their gradients can be differentiated again."""
    gates = {rnn_tanh_cell: 1, lstm_cell: 4, gru_cell: 3}[cell]
    cr.manual_seed(7)
    tensors = [cr.randn(*shape, dtype=cr.float64, requires_grad=True)
               for shape in [(2, 2), (2, 2), (gates * 2, 2), (gates * 2, 2), (gates * 2,), (gates * 2,)]]

    def step(x, h, w_ih, w_hh, b_ih, b_hh):
        hx = (h, h * 0.7) if cell is lstm_cell else h
        return cell(x, hx, w_ih, w_hh, b_ih, b_hh)

    assert gradcheck(step, tensors)
    assert gradgradcheck(step, tensors)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_saturating_inputs_match_torch(kind):
    """Huge pre-activations saturate the gates; the result must stay finite and equal torch's."""
    make_ours, make_theirs = LAYERS[kind]
    torch.manual_seed(8)
    theirs = make_theirs(input_size=2, hidden_size=3).double()
    ours = make_ours(input_size=2, hidden_size=3, dtype=cr.float64)
    copy_weights(ours, theirs)
    x = np.array([[[1e4, -1e4]], [[-3e3, 5e3]], [[1e-30, 0.0]]])
    x_ours, x_theirs = both(x)
    out_ours, _ = ours(x_ours)
    out_theirs, _ = theirs(x_theirs)
    assert np.isfinite(out_ours.array).all()
    assert_close(out_ours, out_theirs)
    out_ours.sum().backward()
    out_theirs.sum().backward()
    assert np.isfinite(x_ours.grad.array).all()
    assert_close(x_ours.grad, x_theirs.grad)


@settings(max_examples=8, deadline=None)
@given(seq=st.integers(1, 6), batch=st.integers(1, 3), hidden=st.integers(1, 4), seed=st.integers(0, 1000))
def test_lstm_layer_equals_its_cell_stepped_by_hand(seq, batch, hidden, seed):
    """A one-layer LSTM is the LSTMCell applied along the sequence with the same weights."""
    cr.manual_seed(seed)
    layer = LSTM(2, hidden, dtype=cr.float64)
    cell = LSTMCell(2, hidden, dtype=cr.float64)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).array[...] = getattr(layer, name + "_l0").array
    x = cr.randn(seq, batch, 2, dtype=cr.float64)
    output, (h_n, c_n) = layer(x)
    h = c = cr.zeros(batch, hidden, dtype=cr.float64)
    for t in range(seq):
        h, c = cell(x[t], (h, c))
        np.testing.assert_allclose(output.array[t], h.array, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_n.array[0], h.array, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_n.array[0], c.array, rtol=1e-12, atol=1e-14)


@settings(max_examples=8, deadline=None)
@given(seq=st.integers(1, 6), seed=st.integers(0, 1000))
def test_reverse_direction_is_the_forward_direction_on_the_flipped_sequence(seq, seed):
    cr.manual_seed(seed)
    bidirectional = GRU(2, 3, bidirectional=True, dtype=cr.float64)
    forward_only = GRU(2, 3, dtype=cr.float64)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(forward_only, name + "_l0").array[...] = getattr(bidirectional, name + "_l0_reverse").array
    x = cr.randn(seq, 2, 2, dtype=cr.float64)
    output, h_n = bidirectional(x)
    flipped_output, flipped_h_n = forward_only(x.flip(0))
    np.testing.assert_allclose(output.array[:, :, 3:], flipped_output.array[::-1], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_n.array[1], flipped_h_n.array[0], rtol=1e-12, atol=1e-14)


def test_parameter_names_shapes_and_default_init_bounds():
    cr.manual_seed(9)
    lstm = LSTM(3, 4, num_layers=2, bidirectional=True)
    torch_lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    ours = [(name, p.shape) for name, p in lstm.named_parameters()]
    theirs = [(name, tuple(p.shape)) for name, p in torch_lstm.named_parameters()]
    assert ours == theirs
    bound = 1 / np.sqrt(4)
    for _, parameter in lstm.named_parameters():
        assert parameter.dtype == np.float32 and parameter.requires_grad
        assert np.abs(parameter.array).max() <= bound
    everything = np.concatenate([p.array.ravel() for p in lstm.parameters()])
    # U(−k, k) has mean 0 and standard deviation k/√3.
    assert abs(everything.mean()) < 0.05
    assert abs(everything.std() - bound / np.sqrt(3)) < 0.03


def test_same_seed_gives_bitwise_same_weights_and_outputs():
    def build_and_run():
        cr.manual_seed(123)
        gru = GRU(3, 4, num_layers=2)
        x = cr.randn(5, 2, 3)
        return [p.array.copy() for p in gru.parameters()], gru(x)[0].array.copy()

    weights_a, out_a = build_and_run()
    weights_b, out_b = build_and_run()
    for a, b in zip(weights_a, weights_b):
        assert np.array_equal(a, b)
    assert np.array_equal(out_a, out_b)


def test_lstm_forward_and_backward_are_bitwise_reproducible():
    def run():
        cr.manual_seed(21)
        lstm = LSTM(3, 4, num_layers=2, bidirectional=True, dropout=0.3)
        x = cr.randn(6, 2, 3, requires_grad=True)
        output, (h_n, c_n) = lstm(x)
        (output.sum() + c_n.sum()).backward()
        return [output.array.copy(), x.grad.array.copy()] + [p.grad.array.copy() for p in lstm.parameters()]

    for a, b in zip(run(), run()):
        assert np.array_equal(a, b)


def test_float32_layer_runs_in_float32_and_backpropagates():
    cr.manual_seed(10)
    lstm = LSTM(3, 4, batch_first=True)
    x = cr.randn(2, 5, 3, requires_grad=True)
    output, (h_n, c_n) = lstm(x)
    assert output.dtype == np.float32 and h_n.dtype == np.float32 and c_n.dtype == np.float32
    (output.sum() + c_n.sum()).backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad is not None and p.grad.dtype == np.float32 for p in lstm.parameters())


def test_no_bias_layer_matches_torch():
    torch.manual_seed(11)
    theirs = torch.nn.GRU(2, 3, bias=False).double()
    ours = GRU(2, 3, bias=False, dtype=cr.float64)
    assert [name for name, _ in ours.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    copy_weights(ours, theirs)
    x_ours, x_theirs = both(np.random.default_rng(12).standard_normal((4, 2, 2)))
    out_ours, out_theirs = ours(x_ours)[0], theirs(x_theirs)[0]
    assert_close(out_ours, out_theirs)
    (out_ours * out_ours).sum().backward()
    (out_theirs * out_theirs).sum().backward()
    assert_close(x_ours.grad, x_theirs.grad)
    assert_close(ours.weight_hh_l0.grad, theirs.weight_hh_l0.grad)


def test_dropout_between_layers_only_in_train_mode():
    pytest.importorskip("chainrule.nn.functional")
    cr.manual_seed(13)
    lstm = LSTM(3, 4, num_layers=2, dropout=0.5, dtype=cr.float64)
    plain = LSTM(3, 4, num_layers=2, dtype=cr.float64)
    for name, parameter in lstm.named_parameters():
        getattr(plain, name).array[...] = parameter.array
    x = cr.randn(5, 2, 3, dtype=cr.float64)
    lstm.eval()
    assert np.array_equal(lstm(x)[0].array, plain(x)[0].array)
    lstm.train()
    cr.manual_seed(14)
    train_a = lstm(x)[0].array.copy()
    cr.manual_seed(14)
    train_b = lstm(x)[0].array.copy()
    assert np.array_equal(train_a, train_b)          # seeded: bitwise reproducible
    assert not np.allclose(train_a, plain(x)[0].array)  # and the dropout did act


def test_wrong_input_size_names_the_layer_and_the_shapes():
    lstm = LSTM(3, 4)
    with pytest.raises(ValueError, match=r"LSTM: input has size 5 .*\(7, 2, 5\).*input_size=3"):
        lstm(cr.randn(7, 2, 5))
    with pytest.raises(ValueError, match=r"GRU: expected a 3-D input \(batch, seq, input_size\).*\(2, 3, 4, 3\)"):
        GRU(3, 4, batch_first=True)(cr.randn(2, 3, 4, 3))


def test_wrong_initial_state_shape_names_the_expected_shape():
    rnn = RNN(3, 4, num_layers=2, bidirectional=True)
    with pytest.raises(ValueError, match=r"RNN: h_0 must have shape \(4, 2, 4\).*got \(2, 2, 4\)"):
        rnn(cr.randn(5, 2, 3), cr.zeros(2, 2, 4))
    lstm = LSTM(3, 4)
    with pytest.raises(ValueError, match=r"LSTM: c_0 must have shape \(1, 2, 4\).*got \(1, 3, 4\)"):
        lstm(cr.randn(5, 2, 3), (cr.zeros(1, 2, 4), cr.zeros(1, 3, 4)))
    with pytest.raises(TypeError, match=r"LSTM: the initial state must be a tuple \(h_0, c_0\)"):
        lstm(cr.randn(5, 2, 3), cr.zeros(1, 2, 4))


def test_dtype_mismatch_and_empty_sequence_errors():
    with pytest.raises(TypeError, match=r"LSTM: input has dtype float64 but the layer's weights are float32.*input.float\(\)"):
        LSTM(3, 4)(cr.randn(5, 2, 3, dtype=cr.float64))
    with pytest.raises(TypeError, match=r"RNN: h_0 has dtype float32 but the layer's weights are float64"):
        RNN(3, 4, dtype=cr.float64)(cr.randn(5, 2, 3, dtype=cr.float64), cr.zeros(1, 2, 4))
    with pytest.raises(TypeError, match=r"GRUCell: input has dtype int64"):
        GRUCell(3, 4)(cr.tensor([[1, 2, 3]]))
    with pytest.raises(ValueError, match=r"GRU: the sequence is empty \(input shape \(2, 0, 3\)\)"):
        GRU(3, 4, batch_first=True)(cr.randn(2, 0, 3))


def test_cell_and_constructor_errors():
    with pytest.raises(ValueError, match=r"GRUCell: expected input of shape \(batch, 3\).*got \(2, 4\)"):
        GRUCell(3, 5)(cr.randn(2, 4))
    with pytest.raises(ValueError, match=r"LSTMCell: c must have shape \(2, 5\).*got \(2, 4\)"):
        LSTMCell(3, 5)(cr.randn(2, 3), (cr.zeros(2, 5), cr.zeros(2, 4)))
    with pytest.raises(ValueError, match="RNN: unknown nonlinearity 'sigmoid'"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="LSTM: hidden_size must be a positive integer, got 0"):
        LSTM(3, 0)
    with pytest.raises(ValueError, match=r"GRU: dropout must be a number in \[0, 1\]"):
        GRU(3, 4, dropout=1.5)


# ----- the fused LSTM and GRU recurrences against the composed loops they replace ------------------

def composed_lstm_sequence(projected, h0, c0, weight_hh, bias, reverse=False):
    """The reference: the per-step composed graph (what lstm_cell runs, the bias in the projection), unrolled."""
    step = functools.partial(_lstm_step, weight_hh_t=weight_hh.t())
    outputs, (h_n, c_n) = _unroll(step, projected + bias, (h0, c0), reverse=reverse)
    return outputs, (h_n, c_n)


def composed_gru_sequence(projected, h0, weight_hh, bias_hh, reverse=False):
    step = functools.partial(_gru_step, weight_hh_t=weight_hh.t(), bias_hh=bias_hh)
    return _unroll(step, projected, h0, reverse=reverse)


def fused_and_composed(kind):
    """(fused function, composed reference, input shapes, flatten(result) → list of tensors)."""
    steps, batch, hidden = 4, 2, 3
    if kind == "lstm":
        shapes = [(steps, batch, 4 * hidden), (batch, hidden), (batch, hidden), (4 * hidden, hidden), (4 * hidden,)]
        return lstm_sequence, composed_lstm_sequence, shapes, lambda result: [result[0], *result[1]]
    shapes = [(steps, batch, 3 * hidden), (batch, hidden), (3 * hidden, hidden), (3 * hidden,)]
    return gru_sequence, composed_gru_sequence, shapes, lambda result: list(result)


def random_inputs(shapes, seed, steps=None):
    rng = np.random.default_rng(seed)
    if steps is not None:
        shapes = [(steps,) + shapes[0][1:]] + shapes[1:]
    return [cr.tensor(rng.standard_normal(shape), dtype=cr.float64, requires_grad=True) for shape in shapes]


def lstm_sequence_inputs(seed, steps=4):
    return random_inputs(fused_and_composed("lstm")[2], seed, steps)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("reverse", [False, True])
def test_sequence_primitive_equals_composed_loop_values_and_gradients(kind, reverse):
    fused_function, composed_function, shapes, flatten = fused_and_composed(kind)
    inputs = random_inputs(shapes, 15)
    fused = flatten(fused_function(*inputs, reverse=reverse))
    plain = flatten(composed_function(*inputs, reverse=reverse))
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a.array, b.array, rtol=1e-12, atol=1e-14)
    rng = np.random.default_rng(16)
    cotangents = [cr.tensor(rng.standard_normal(t.shape), dtype=cr.float64) for t in plain]
    fused_grads = cr.autograd.grad(fused, inputs, cotangents)
    plain_grads = cr.autograd.grad(plain, inputs, cotangents)
    for index, (a, b) in enumerate(zip(fused_grads, plain_grads)):
        np.testing.assert_allclose(a.array, b.array, rtol=1e-11, atol=1e-13, err_msg=f"input {index}")


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_sequence_primitive_second_derivatives_equal_composed_loop(kind):
    fused_function, composed_function, shapes, flatten = fused_and_composed(kind)
    inputs = random_inputs(shapes, 17, steps=3)

    def gradient_norm_gradient(sequence_function):
        outputs = flatten(sequence_function(*inputs))
        loss = (outputs[0] * outputs[0].cos()).sum() + sum((t * t).sum() for t in outputs[1:])
        grads = cr.autograd.grad(loss, inputs, create_graph=True)
        return cr.autograd.grad(sum((g * g).sum() for g in grads), inputs)

    for a, b in zip(gradient_norm_gradient(fused_function), gradient_norm_gradient(composed_function)):
        np.testing.assert_allclose(a.array, b.array, rtol=1e-10, atol=1e-12)
    assert gradgradcheck(lambda *args: fused_function(*args, reverse=True)[0], random_inputs(shapes, 18, steps=2))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_sequence_primitive_backward_twice_with_different_gradients(kind):
    """The shared backward sweep is reused only for the same incoming gradient."""
    fused_function, composed_function, shapes, _ = fused_and_composed(kind)
    inputs = random_inputs(shapes, 19)
    outputs = fused_function(*inputs)[0]
    first = cr.tensor(np.ones(outputs.shape), dtype=cr.float64)
    second = cr.tensor(np.random.default_rng(20).standard_normal(outputs.shape), dtype=cr.float64)
    outputs.backward(first, retain_graph=True)
    outputs.backward(second)
    plain_inputs = [t.detach().requires_grad_() for t in inputs]
    composed_function(*plain_inputs)[0].backward(first + second)
    for fused, plain in zip(inputs, plain_inputs):
        np.testing.assert_allclose(fused.grad.array, plain.grad.array, rtol=1e-11, atol=1e-13)


def test_lstm_sequence_same_gradient_first_plain_then_recorded():
    """Reusing one cotangent object for a plain and then a create_graph backward must not reuse the plain sweep."""
    inputs = lstm_sequence_inputs(22, steps=3)
    outputs, _ = lstm_sequence(*inputs)
    cotangent = cr.tensor(np.random.default_rng(23).standard_normal(outputs.shape), dtype=cr.float64)
    plain = cr.autograd.grad(outputs, inputs, cotangent, retain_graph=True)
    recorded = cr.autograd.grad(outputs, inputs, cotangent, create_graph=True)
    for a, b in zip(plain, recorded):
        np.testing.assert_allclose(a.array, b.array, rtol=1e-14)
    assert all(g.requires_grad for g in recorded)
