"""Fused LSTM steps: the elementwise part of each time step in one pass, the twins of nn/rnn.py's loops.

Each ``*_loop`` is the element-by-element form of the array code it names, in the same order
of operations, each operation rounded to the array's dtype as NumPy rounds it (the constants
½ and 1 arrive cast to that dtype; no operation is fused into an FMA), so the twin equals its
reference bit for bit (tests/test_kernels_rnn.py). The matrix products stay in BLAS
(``numpy.dot``) and the tanh in NumPy's own vectorized ufunc: numba compiles ``numpy.tanh`` to
a scalar libm call per element, measured 60 times slower than NumPy's over 3.3M float32 values.
What the loops save is the dozen whole-array passes, temporaries and slices per step that the
NumPy and tensor-op code makes:

* ``lstm_forward`` twins ``LSTMSequence.forward``: per step one GEMM h W_hhᵀ, one loop that adds
  the input projection and halves the i, f, o pre-activations (σ(a) = ½(1 + tanh(a/2))), one
  ``numpy.tanh`` over all four gates, one loop for σ and c_t, one ``numpy.tanh`` of c_t, one
  loop for h_t;
* ``lstm_backward`` twins the loop of ``_lstm_backward_sweep``: per step one loop for the four
  gate gradients and the carried ∂c, one GEMM for the carried ∂h.

Both read and write the primitive's output layout, (T, B, 6H) = [h, c, σ(i), σ(f), tanh(g), σ(o)]
per step, and take NumPy arrays only (``lstm_fusable``).

Example:
    >>> import numpy
    >>> from chainrule.kernels.rnn import lstm_forward
    >>> batch, hidden = 2, 3
    >>> out = numpy.empty((4, batch, 6 * hidden))
    >>> lstm_forward(numpy.zeros((4, batch, 4 * hidden)), numpy.zeros((batch, hidden)), numpy.ones((batch, hidden)),
    ...              numpy.zeros((4 * hidden, hidden)), out, [0, 1, 2, 3])
    >>> float(out[0, 0, hidden])         # c₁ = σ(0)·c₀ + σ(0)·tanh(0) = ½
    0.5
"""
import numpy

from chainrule.backends import kernels_enabled
from chainrule.kernels import Kernel, numba_available

__all__ = ["lstm_fusable", "lstm_forward", "lstm_backward"]

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


def lstm_gates_loop(recurrent, projected_t, half):
    """Twin of ``(projected[t] + h W_hhᵀ) * gate_scale`` in ``LSTMSequence.forward``: in place, ½ on i, f, o."""
    batch, four_hidden = recurrent.shape
    hidden = four_hidden // 4
    for b in range(batch):
        for j in range(2 * hidden):                          # i, f: their σ is taken as ½(1 + tanh(a/2))
            recurrent[b, j] = (projected_t[b, j] + recurrent[b, j]) * half
        for j in range(2 * hidden, 3 * hidden):              # g: tanh(a) itself (× 1 in the reference: exact)
            recurrent[b, j] = projected_t[b, j] + recurrent[b, j]
        for j in range(3 * hidden, four_hidden):             # o
            recurrent[b, j] = (projected_t[b, j] + recurrent[b, j]) * half


def lstm_cell_loop(activated, c_state, out_t, half, one):
    """Twin of the σ and c_t lines of ``LSTMSequence.forward``: σ = ½(1 + tanh), c_t = σ(f) c_{t−1} + σ(i) tanh(g).

    Writes c_t into ``c_state`` and into ``out_t``, with the four activations beside it.
    """
    batch, hidden = c_state.shape
    for b in range(batch):
        for j in range(hidden):
            input_gate = half * (one + activated[b, j])
            forget_gate = half * (one + activated[b, hidden + j])
            candidate = activated[b, 2 * hidden + j]
            output_gate = half * (one + activated[b, 3 * hidden + j])
            c = forget_gate * c_state[b, j] + input_gate * candidate
            c_state[b, j] = c
            out_t[b, hidden + j] = c
            out_t[b, 2 * hidden + j] = input_gate
            out_t[b, 3 * hidden + j] = forget_gate
            out_t[b, 4 * hidden + j] = candidate
            out_t[b, 5 * hidden + j] = output_gate


def lstm_output_loop(out_t, tanh_c, h_state):
    """Twin of ``h = σ(o) * tanh(c)`` in ``LSTMSequence.forward``: into ``h_state`` and ``out_t``."""
    batch, hidden = h_state.shape
    for b in range(batch):
        for j in range(hidden):
            h = out_t[b, 5 * hidden + j] * tanh_c[b, j]
            h_state[b, j] = h
            out_t[b, j] = h


def lstm_backward_step_loop(g_t, out_t, c_source, c_offset, tanh_c_t, carry_h, carry_c, has_carry, grad_gates_t,
                            one):
    """Twin of one step of ``_lstm_backward_sweep``: the four gate gradients and the carried ∂c, in one pass.

    ``c_source[:, c_offset:c_offset + H]`` is c_{t−1} (the previous step's output block, or c₀ with
    offset 0); ``carry_h`` is ∂L/∂h_t from the next step (its GEMM), read only if ``has_carry``;
    ``carry_c`` (∂L/∂c_t from the next step) is replaced by ∂L/∂c_{t−1} = ∂c_t σ(f).
    """
    batch, hidden = tanh_c_t.shape
    for b in range(batch):
        for j in range(hidden):
            grad_h = g_t[b, j]
            if has_carry:
                grad_h = grad_h + carry_h[b, j]
            output_gate = out_t[b, 5 * hidden + j]
            tanh_c = tanh_c_t[b, j]
            grad_c = g_t[b, hidden + j] + grad_h * output_gate * (one - tanh_c * tanh_c)
            if has_carry:
                grad_c = grad_c + carry_c[b, j]
            input_gate = out_t[b, 2 * hidden + j]
            forget_gate = out_t[b, 3 * hidden + j]
            candidate = out_t[b, 4 * hidden + j]
            grad_gates_t[b, j] = (grad_c * candidate + g_t[b, 2 * hidden + j]) * input_gate * (one - input_gate)
            grad_gates_t[b, hidden + j] = ((grad_c * c_source[b, c_offset + j] + g_t[b, 3 * hidden + j])
                                           * forget_gate * (one - forget_gate))
            grad_gates_t[b, 2 * hidden + j] = (grad_c * input_gate + g_t[b, 4 * hidden + j]) * (one - candidate * candidate)
            grad_gates_t[b, 3 * hidden + j] = (grad_h * tanh_c + g_t[b, 5 * hidden + j]) * output_gate * (one - output_gate)
            carry_c[b, j] = grad_c * forget_gate


_gates = Kernel(lstm_gates_loop)
_cell = Kernel(lstm_cell_loop)
_output = Kernel(lstm_output_loop)
_backward_step = Kernel(lstm_backward_step_loop)


def lstm_forward(projected, h0, c0, weight_hh, out, order):
    """Twin of ``LSTMSequence.forward``: fills ``out`` (T, B, 6H) with [h, c, σ(i), σ(f), tanh(g), σ(o)] per step.

    ``order`` is the list of time steps in the order they run (reversed for the backward
    direction). ``projected`` (T, B, 4H), ``h0``, ``c0`` (B, H) and ``weight_hh`` (4H, H) are NumPy
    arrays of ``out``'s dtype.
    """
    cast = out.dtype.type
    half, one = cast(0.5), cast(1)
    projected = numpy.ascontiguousarray(projected)
    weight_hh_t = numpy.ascontiguousarray(weight_hh.T)   # the reference's layout: the same GEMM, the same bits
    h_state = numpy.array(h0, dtype=out.dtype, order="C")
    c_state = numpy.array(c0, dtype=out.dtype, order="C")
    recurrent = numpy.empty((h_state.shape[0], weight_hh.shape[0]), dtype=out.dtype)
    tanh_c = numpy.empty_like(c_state)
    for t in order:
        numpy.dot(h_state, weight_hh_t, out=recurrent)
        _gates(recurrent, projected[t], half)
        numpy.tanh(recurrent, out=recurrent)
        _cell(recurrent, c_state, out[t], half, one)
        numpy.tanh(c_state, out=tanh_c)
        _output(out[t], tanh_c, h_state)


def lstm_backward(g, out, h0, c0, tanh_c, weight_hh, order):
    """Twin of ``_lstm_backward_sweep``: (∂gates (T, B, 4H), ∂h₀, ∂c₀, ∂W_hh) as NumPy arrays.

    ``g`` and ``out`` are (T, B, 6H) (the upstream gradient and the forward's output), ``tanh_c``
    is tanh(c_t) of every step (T, B, H), computed by the caller as the reference computes it.
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
    h_previous = numpy.empty((steps, batch, hidden), dtype=out.dtype)     # h_{t−1} of every step, in input order
    for position, t in enumerate(order):
        h_previous[t] = h0 if position == 0 else out[order[position - 1], :, :hidden]
    grad_weight_hh = numpy.dot(grad_gates.reshape(-1, 4 * hidden).T, h_previous.reshape(-1, hidden))
    return grad_gates, carry_h, carry_c, grad_weight_hh
