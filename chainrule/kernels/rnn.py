"""Fused LSTM and GRU steps: the elementwise part of each time step in one pass, the twins of nn/rnn.py's loops.

Each ``*_loop`` is the element-by-element form of the array code it names, in the same order
of operations, each operation rounded to the array's dtype as NumPy rounds it (the constants
½ and 1 arrive cast to that dtype; no operation is fused into an FMA), so the twin equals its
reference bit for bit (tests/test_kernels_rnn.py). The matrix products stay in BLAS
(``numpy.dot``) and the tanh in NumPy's own vectorized ufunc: numba compiles ``numpy.tanh`` to
a scalar libm call per element, measured 60 times slower than NumPy's over 3.3M float32 values.
What the loops save is the dozen whole-array passes, temporaries and slices per step that the
NumPy and tensor-op code makes:

* ``lstm_forward`` twins ``LSTMSequence.forward``: per step one GEMM h W_hhᵀ, one loop that adds
  the input projection and the bias and halves the i, f, o pre-activations (σ(a) = ½(1 + tanh(a/2))), one
  ``numpy.tanh`` over all four gates, one loop for σ and c_t, one ``numpy.tanh`` of c_t, one
  loop for h_t;
* ``lstm_backward`` twins the loop of ``_lstm_backward_sweep``: per step one loop for the four
  gate gradients and the carried ∂c, one GEMM for the carried ∂h.

* ``gru_forward`` and ``gru_backward`` do the same for ``GRUSequence``: per step a GEMM, a loop
  for the bias and the r, z pre-activations, a ``numpy.tanh``, a loop for σ and n's argument, a
  ``numpy.tanh``, a loop for h_t; backward one loop and one GEMM per step.

They read and write the primitives' layouts, per step (T, B, 6H) = [h, c, σ(i), σ(f), tanh(g), σ(o)]
for the LSTM's activations (its output is their [h, c] columns, so the upstream gradient the
backward reads is (T, B, 2H)) and (T, B, 5H) = [h, σ(r), σ(z), n, W_hn h_{t−1} + b_hn] for the GRU's
output, and take NumPy arrays only (``lstm_fusable``, which both use).

Example:
    >>> import numpy
    >>> from chainrule.kernels.rnn import lstm_forward
    >>> batch, hidden = 2, 3
    >>> out = numpy.empty((4, batch, 6 * hidden))
    >>> lstm_forward(numpy.zeros((4, batch, 4 * hidden)), numpy.zeros((batch, hidden)), numpy.ones((batch, hidden)),
    ...              numpy.zeros((4 * hidden, hidden)), numpy.zeros(4 * hidden), out, [0, 1, 2, 3])
    >>> float(out[0, 0, hidden])         # c₁ = σ(0)·c₀ + σ(0)·tanh(0) = ½
    0.5
"""
import numpy

from chainrule.backends import kernels_enabled
from chainrule.kernels import Kernel, numba_available

__all__ = ["lstm_fusable", "lstm_forward", "lstm_backward", "gru_forward", "gru_backward"]

_FLOAT_DTYPES = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def lstm_fusable(xp, *arrays):
    """True when the fused LSTM loops may run: kernels on, NumPy float32 or float64 arrays of one dtype, numba importable.

    Shapes differ between the arrays (sequence, states, weights), so unlike ``fusable`` only the
    dtype is shared; the callers make every array C-contiguous (a copy only where it is not).

    Example:
        >>> import numpy
        >>> from chainrule.kernels.rnn import lstm_fusable
        >>> lstm_fusable(numpy, numpy.zeros((2, 8), numpy.float32), numpy.zeros(2, numpy.float16))
        False
    """
    if not kernels_enabled() or xp is not numpy:
        return False
    dtype = arrays[0].dtype
    if dtype not in _FLOAT_DTYPES:
        return False
    for array in arrays:
        if type(array) is not numpy.ndarray or array.dtype != dtype or array.size == 0:
            return False
    return numba_available()


def lstm_gates_loop(recurrent, projected_t, bias, half):
    """Twin of ``(projected[t] + h W_hhᵀ + bias) * gate_scale`` in ``LSTMSequence.forward``: in place, ½ on i, f, o.

    Like every loop here, it works on 1-D slices of each row, whose indices start at 0: LLVM then
    vectorizes the inner loops, which it left scalar on offsets such as ``2 * hidden + j``.
    """
    batch, four_hidden = recurrent.shape
    hidden = four_hidden // 4
    for b in range(batch):
        row, projected_row = recurrent[b], projected_t[b]
        for j in range(2 * hidden):                          # i, f: their σ is taken as ½(1 + tanh(a/2))
            row[j] = (projected_row[j] + row[j] + bias[j]) * half
        candidate, projected_candidate = row[2 * hidden:3 * hidden], projected_row[2 * hidden:3 * hidden]
        candidate_bias = bias[2 * hidden:3 * hidden]
        for j in range(hidden):                              # g: tanh(a) itself (× 1 in the reference: exact)
            candidate[j] = projected_candidate[j] + candidate[j] + candidate_bias[j]
        output, projected_output, output_bias = row[3 * hidden:], projected_row[3 * hidden:], bias[3 * hidden:]
        for j in range(hidden):                              # o
            output[j] = (projected_output[j] + output[j] + output_bias[j]) * half


def lstm_cell_loop(activated, c_state, out_t, half, one):
    """Twin of the σ and c_t lines of ``LSTMSequence.forward``: σ = ½(1 + tanh), c_t = σ(f) c_{t−1} + σ(i) tanh(g).

    Writes c_t into ``c_state`` and into ``out_t``, with the four activations beside it.
    """
    batch, hidden = c_state.shape
    for b in range(batch):
        row, c_row, out_row = activated[b], c_state[b], out_t[b]
        tanh_i, tanh_f, candidates, tanh_o = (row[:hidden], row[hidden:2 * hidden], row[2 * hidden:3 * hidden],
                                              row[3 * hidden:])
        out_c, out_i, out_f = out_row[hidden:2 * hidden], out_row[2 * hidden:3 * hidden], out_row[3 * hidden:4 * hidden]
        out_g, out_o = out_row[4 * hidden:5 * hidden], out_row[5 * hidden:]
        for j in range(hidden):
            input_gate = half * (one + tanh_i[j])
            forget_gate = half * (one + tanh_f[j])
            candidate = candidates[j]
            output_gate = half * (one + tanh_o[j])
            c = forget_gate * c_row[j] + input_gate * candidate
            c_row[j] = c
            out_c[j] = c
            out_i[j] = input_gate
            out_f[j] = forget_gate
            out_g[j] = candidate
            out_o[j] = output_gate


def lstm_output_loop(out_t, tanh_c, h_state):
    """Twin of ``h = σ(o) * tanh(c)`` in ``LSTMSequence.forward``: into ``h_state`` and ``out_t``."""
    batch, hidden = h_state.shape
    for b in range(batch):
        for j in range(hidden):
            h = out_t[b, 5 * hidden + j] * tanh_c[b, j]
            h_state[b, j] = h
            out_t[b, j] = h


def lstm_backward_step_loop(g_t, activations_t, c_source, c_offset, tanh_c_t, carry_h, carry_c, has_carry,
                            grad_gates_t, one):
    """Twin of one step of ``_lstm_backward_sweep``: the four gate gradients and the carried ∂c, in one pass.

    ``g_t`` is [∂h_t, ∂c_t] (B, 2H), ``activations_t`` the step's [h, c, σ(i), σ(f), tanh(g), σ(o)]
    (B, 6H); ``c_source[:, c_offset:c_offset + H]`` is c_{t−1} (the previous step's activations, or
    c₀ with offset 0); ``carry_h`` is ∂L/∂h_t from the next step (its GEMM), read only if
    ``has_carry``; ``carry_c`` (∂L/∂c_t from the next step) is replaced by ∂L/∂c_{t−1} = ∂c_t σ(f).
    On 1-D row slices, as ``lstm_gates_loop``.
    """
    batch, hidden = tanh_c_t.shape
    for b in range(batch):
        g_row, activations_row, grad_row = g_t[b], activations_t[b], grad_gates_t[b]
        grad_h_out, grad_c_out = g_row[:hidden], g_row[hidden:2 * hidden]
        input_gates, forget_gates = activations_row[2 * hidden:3 * hidden], activations_row[3 * hidden:4 * hidden]
        candidates, output_gates = activations_row[4 * hidden:5 * hidden], activations_row[5 * hidden:]
        c_previous = c_source[b, c_offset:c_offset + hidden]
        tanh_c_row, carry_h_row, carry_c_row = tanh_c_t[b], carry_h[b], carry_c[b]
        grad_input, grad_forget = grad_row[:hidden], grad_row[hidden:2 * hidden]
        grad_candidate, grad_output = grad_row[2 * hidden:3 * hidden], grad_row[3 * hidden:]
        for j in range(hidden):
            grad_h = grad_h_out[j]
            if has_carry:
                grad_h = grad_h + carry_h_row[j]
            output_gate = output_gates[j]
            tanh_c = tanh_c_row[j]
            grad_c = grad_c_out[j] + grad_h * output_gate * (one - tanh_c * tanh_c)
            if has_carry:
                grad_c = grad_c + carry_c_row[j]
            input_gate, forget_gate, candidate = input_gates[j], forget_gates[j], candidates[j]
            grad_input[j] = grad_c * candidate * input_gate * (one - input_gate)
            grad_forget[j] = grad_c * c_previous[j] * forget_gate * (one - forget_gate)
            grad_candidate[j] = grad_c * input_gate * (one - candidate * candidate)
            grad_output[j] = grad_h * tanh_c * output_gate * (one - output_gate)
            carry_c_row[j] = grad_c * forget_gate


_gates = Kernel(lstm_gates_loop)
_cell = Kernel(lstm_cell_loop)
_output = Kernel(lstm_output_loop)
_backward_step = Kernel(lstm_backward_step_loop)


def lstm_forward(projected, h0, c0, weight_hh, bias, out, order):
    """Twin of ``LSTMSequence.forward``: fills ``out`` (T, B, 6H) with [h, c, σ(i), σ(f), tanh(g), σ(o)] per step.

    ``order`` is the list of time steps in the order they run (reversed for the backward
    direction). ``projected`` (T, B, 4H), ``h0``, ``c0`` (B, H), ``weight_hh`` (4H, H) and ``bias``
    (4H) are NumPy arrays of ``out``'s dtype.
    """
    cast = out.dtype.type
    half, one = cast(0.5), cast(1)
    projected = numpy.ascontiguousarray(projected)
    bias = numpy.ascontiguousarray(bias)
    weight_hh_t = numpy.ascontiguousarray(weight_hh.T)   # the reference's layout: the same GEMM, the same bits
    h_state = numpy.array(h0, dtype=out.dtype, order="C")
    c_state = numpy.array(c0, dtype=out.dtype, order="C")
    recurrent = numpy.empty((h_state.shape[0], weight_hh.shape[0]), dtype=out.dtype)
    tanh_c = numpy.empty_like(c_state)
    for t in order:
        numpy.dot(h_state, weight_hh_t, out=recurrent)
        _gates(recurrent, projected[t], bias, half)
        numpy.tanh(recurrent, out=recurrent)
        _cell(recurrent, c_state, out[t], half, one)
        numpy.tanh(c_state, out=tanh_c)
        _output(out[t], tanh_c, h_state)


def _previous_hidden(out, h0, order):
    """h_{t−1} of every step (T, B, H), in input order, from the h block that leads ``out``'s rows (h₀ first)."""
    steps, batch, _ = out.shape
    hidden = h0.shape[-1]
    h_previous = numpy.empty((steps, batch, hidden), dtype=out.dtype)
    for position, t in enumerate(order):
        h_previous[t] = h0 if position == 0 else out[order[position - 1], :, :hidden]
    return h_previous


def lstm_backward(g, out, h0, c0, tanh_c, weight_hh, order):
    """Twin of ``_lstm_backward_sweep``: (∂gates (T, B, 4H), ∂h₀, ∂c₀, ∂W_hh) as NumPy arrays.

    ``g`` (T, B, 2H) is the upstream gradient [∂h, ∂c], ``out`` (T, B, 6H) the forward's activations
    (``lstm_forward``'s ``out``), ``tanh_c`` tanh(c_t) of every step (T, B, H), computed by the caller
    as the reference computes it.
    The per-step GEMM ∂gates_t W_hh carries ∂h back; ∂W_hh = Σ_t ∂gates_tᵀ h_{t−1} is one GEMM
    over the stacked steps, the reference's product on the same arrays.
    """
    cast = out.dtype.type
    one = cast(1)
    g = numpy.ascontiguousarray(g)
    c0 = numpy.ascontiguousarray(c0)
    weight_hh = numpy.ascontiguousarray(weight_hh)
    steps, batch, _ = out.shape
    hidden = c0.shape[-1]
    grad_gates = numpy.empty((steps, batch, 4 * hidden), dtype=out.dtype)
    carry_h = numpy.zeros((batch, hidden), dtype=out.dtype)
    carry_c = numpy.zeros((batch, hidden), dtype=out.dtype)
    backward_order = order[::-1]
    for position, t in enumerate(backward_order):
        is_first_step = position == len(backward_order) - 1          # the first in time: c_{t−1} is c₀
        if is_first_step:
            c_source, c_offset = c0, 0
        else:
            c_source, c_offset = out[backward_order[position + 1]], hidden
        _backward_step(g[t], out[t], c_source, c_offset, tanh_c[t], carry_h, carry_c, position > 0, grad_gates[t],
                       one)
        numpy.dot(grad_gates[t], weight_hh, out=carry_h)
    h_previous = _previous_hidden(out, h0, order)
    grad_weight_hh = numpy.dot(grad_gates.reshape(-1, 4 * hidden).T, h_previous.reshape(-1, hidden))
    return grad_gates, carry_h, carry_c, grad_weight_hh


# ----- the GRU: the same pattern, output (T, B, 5H) = [h, σ(r), σ(z), n, W_hn h_{t−1} + b_hn] per step ---------


def gru_gates_loop(recurrent, bias_hh, projected_t, pre_reset_update, half):
    """Twin of ``recurrent = h W_hhᵀ + b_hh`` and ``½(P_rz + recurrent_rz)`` in ``GRUSequence.forward``."""
    batch, three_hidden = recurrent.shape
    hidden = three_hidden // 3
    for b in range(batch):
        for j in range(three_hidden):
            recurrent[b, j] = recurrent[b, j] + bias_hh[j]
        for j in range(2 * hidden):
            pre_reset_update[b, j] = half * (projected_t[b, j] + recurrent[b, j])


def gru_reset_loop(activated, recurrent, projected_t, candidate_input, out_t, half, one):
    """Twin of σ = ½(1 + tanh) for r, z and of ``P_n + σ(r) (W_hn h + b_hn)``; stores σ(r), σ(z), W_hn h + b_hn."""
    batch, hidden = candidate_input.shape
    for b in range(batch):
        for j in range(hidden):
            reset_gate = half * (one + activated[b, j])
            update_gate = half * (one + activated[b, hidden + j])
            recurrent_candidate = recurrent[b, 2 * hidden + j]
            candidate_input[b, j] = projected_t[b, 2 * hidden + j] + reset_gate * recurrent_candidate
            out_t[b, hidden + j] = reset_gate
            out_t[b, 2 * hidden + j] = update_gate
            out_t[b, 4 * hidden + j] = recurrent_candidate


def gru_output_loop(candidate, h_state, out_t):
    """Twin of ``h = n + σ(z) (h − n)`` in ``GRUSequence.forward``: into ``h_state`` and ``out_t`` with n."""
    batch, hidden = h_state.shape
    for b in range(batch):
        for j in range(hidden):
            n = candidate[b, j]
            h = n + out_t[b, 2 * hidden + j] * (h_state[b, j] - n)
            h_state[b, j] = h
            out_t[b, j] = h
            out_t[b, 3 * hidden + j] = n


def gru_backward_step_loop(g_t, out_t, h_source, carry_from_update, carry_from_gemm, has_carry, grad_projected_t,
                           grad_recurrent_t, one):
    """Twin of one step of ``_gru_backward_sweep``: the gate gradients, and ∂h_t σ(z) for the carry.

    ``h_source[:, :H]`` is h_{t−1} (the previous step's output block, or h₀); the carried ∂L/∂h_t is
    ``carry_from_update + carry_from_gemm`` (∂h_{t+1} σ(z_{t+1}) and ∂R_{t+1} W_hh), read only if
    ``has_carry``; ``carry_from_update`` is replaced by this step's ∂h_t σ(z_t).
    """
    batch, five_hidden = out_t.shape
    hidden = five_hidden // 5
    for b in range(batch):
        for j in range(hidden):
            grad_h = g_t[b, j]
            if has_carry:
                grad_h = grad_h + (carry_from_update[b, j] + carry_from_gemm[b, j])
            reset_gate = out_t[b, hidden + j]
            update_gate = out_t[b, 2 * hidden + j]
            n = out_t[b, 3 * hidden + j]
            recurrent_candidate = out_t[b, 4 * hidden + j]
            grad_candidate_input = (grad_h * (one - update_gate) + g_t[b, 3 * hidden + j]) * (one - n * n)
            grad_reset_input = ((grad_candidate_input * recurrent_candidate + g_t[b, hidden + j])
                                * reset_gate * (one - reset_gate))
            grad_update_input = ((grad_h * (h_source[b, j] - n) + g_t[b, 2 * hidden + j])
                                 * update_gate * (one - update_gate))
            grad_projected_t[b, j] = grad_reset_input
            grad_projected_t[b, hidden + j] = grad_update_input
            grad_projected_t[b, 2 * hidden + j] = grad_candidate_input
            grad_recurrent_t[b, j] = grad_reset_input
            grad_recurrent_t[b, hidden + j] = grad_update_input
            grad_recurrent_t[b, 2 * hidden + j] = grad_candidate_input * reset_gate + g_t[b, 4 * hidden + j]
            carry_from_update[b, j] = grad_h * update_gate


_gru_gates = Kernel(gru_gates_loop)
_gru_reset = Kernel(gru_reset_loop)
_gru_output = Kernel(gru_output_loop)
_gru_backward_step = Kernel(gru_backward_step_loop)


def gru_forward(projected, h0, weight_hh, bias_hh, out, order):
    """Twin of ``GRUSequence.forward``: fills ``out`` (T, B, 5H) with [h, σ(r), σ(z), n, W_hn h_{t−1} + b_hn] per step."""
    cast = out.dtype.type
    half, one = cast(0.5), cast(1)
    projected = numpy.ascontiguousarray(projected)
    bias_hh = numpy.ascontiguousarray(bias_hh)
    weight_hh_t = numpy.ascontiguousarray(weight_hh.T)   # the reference's layout: the same GEMM, the same bits
    h_state = numpy.array(h0, dtype=out.dtype, order="C")
    batch, hidden = h_state.shape
    recurrent = numpy.empty((batch, 3 * hidden), dtype=out.dtype)
    reset_update = numpy.empty((batch, 2 * hidden), dtype=out.dtype)
    candidate = numpy.empty((batch, hidden), dtype=out.dtype)
    for t in order:
        numpy.dot(h_state, weight_hh_t, out=recurrent)
        _gru_gates(recurrent, bias_hh, projected[t], reset_update, half)
        numpy.tanh(reset_update, out=reset_update)
        _gru_reset(reset_update, recurrent, projected[t], candidate, out[t], half, one)
        numpy.tanh(candidate, out=candidate)
        _gru_output(candidate, h_state, out[t])


def gru_backward(g, out, h0, weight_hh, order):
    """Twin of ``_gru_backward_sweep``'s loop: (∂projected (T, B, 3H), ∂h₀, ∂R (T, B, 3H), h_{t−1} (T, B, H)).

    ∂R is the gradient of every step's recurrent term W_hh h_{t−1} + b_hh, which the caller
    turns into ∂W_hh and ∂b_hh as the reference does.
    """
    cast = out.dtype.type
    one = cast(1)
    g = numpy.ascontiguousarray(g)
    h0 = numpy.ascontiguousarray(h0)
    weight_hh = numpy.ascontiguousarray(weight_hh)
    steps, batch, _ = out.shape
    hidden = h0.shape[-1]
    grad_projected = numpy.empty((steps, batch, 3 * hidden), dtype=out.dtype)
    grad_recurrent = numpy.empty((steps, batch, 3 * hidden), dtype=out.dtype)
    carry_from_update = numpy.zeros((batch, hidden), dtype=out.dtype)
    carry_from_gemm = numpy.zeros((batch, hidden), dtype=out.dtype)
    backward_order = order[::-1]
    for position, t in enumerate(backward_order):
        is_first_step = position == len(backward_order) - 1          # the first in time: h_{t−1} is h₀
        h_source = h0 if is_first_step else out[backward_order[position + 1]]
        _gru_backward_step(g[t], out[t], h_source, carry_from_update, carry_from_gemm, position > 0,
                           grad_projected[t], grad_recurrent[t], one)
        numpy.dot(grad_recurrent[t], weight_hh, out=carry_from_gemm)
    return grad_projected, carry_from_update + carry_from_gemm, grad_recurrent, _previous_hidden(out, h0, order)
