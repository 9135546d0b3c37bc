"""Recurrent layers: RNN, LSTM and GRU, their single-step cells, and the math of one step.

A recurrent layer applies the same step to every position of a sequence, carrying a
state from one position to the next:

    h_t = step(x_t, h_{t-1})

The three steps (PyTorch's equations, gate order and weight layout, so that weights
copy across from ``torch.nn``):

* RNN:  h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)        (or relu)
* LSTM: [i, f, g, o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
        c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(g),   h_t = σ(o) ⊙ tanh(c_t)
* GRU:  r = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr),  z = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn)),   h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

The steps are composed from tensor ops, so gradients (of any order) come from the
chain rule. Three things keep the unrolled loop fast:

1. the input half ``W_ih x_t + b_ih`` does not depend on the state, so it is one GEMM
   over all time steps before the loop; each step then does one GEMM, ``h W_hhᵀ``,
   for all its gates at once;
2. the per-step slices of that projection are cut by halving (see ``_time_steps``),
   so that the backward pass adds their gradients in O(T log T), not O(T²);
3. the LSTM and GRU layers run their whole recurrence as one primitive (``LSTMSequence``,
   ``GRUSequence``) whose backward is a single reverse sweep written in tensor ops (so
   still differentiable again). They are tested against the composed loops and measured
   in benchmarks/bench_rnn.py. The plain RNN, with the least work per step, stays composed;
4. on NumPy arrays the LSTM's and GRU's forward loops and, when no graph is recorded for the
   backward (``create_graph=False``), their backward sweeps run the fused loops of chainrule/kernels/rnn.py,
   the twins of the array and tensor code here (equal to it bit for bit; ``use_kernels(False)``
   or ``CHAINRULE_KERNELS=numpy`` runs this code instead). ``LSTMCell`` runs the same primitive
   for its one step.
"""
import functools
import math

from chainrule import ops
from chainrule.core.creation import zeros
from chainrule.core.grad_mode import is_grad_enabled
from chainrule.core.primitive import Primitive, apply
from chainrule.core.tensor import Tensor
from chainrule.kernels.rnn import gru_backward, gru_forward, lstm_backward, lstm_forward, lstm_fusable
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module, Parameter

# ----- the math of one step, on tensors --------------------------------------------------------
#
# Each ``*_step`` takes the input projection of one time step (``W_ih x_t + b_ih``, with
# ``b_hh`` already added where it can be) and the previous state, and returns the new state.
# ``weight_hh_t`` is W_hhᵀ, transposed once per sequence rather than once per step.


def _rnn_step(projected, h, weight_hh_t, nonlinearity):
    pre_activation = projected + h @ weight_hh_t
    return ops.tanh(pre_activation) if nonlinearity == "tanh" else ops.relu(pre_activation)


def _lstm_step(projected, state, weight_hh_t):
    h, c = state
    hidden = h.shape[-1]
    gates = projected + h @ weight_hh_t                      # [i, f, g, o], one GEMM for all four
    sigmoid_gates = ops.sigmoid(gates)                       # one call for i, f, o (g's part is unused)
    input_gate = sigmoid_gates[..., :hidden]
    forget_gate = sigmoid_gates[..., hidden:2 * hidden]
    output_gate = sigmoid_gates[..., 3 * hidden:]
    candidate = ops.tanh(gates[..., 2 * hidden:3 * hidden])
    c_next = forget_gate * c + input_gate * candidate
    h_next = output_gate * ops.tanh(c_next)
    return h_next, c_next


def _gru_step(projected, h, weight_hh_t, bias_hh):
    hidden = h.shape[-1]
    recurrent = h @ weight_hh_t                              # [W_hr h, W_hz h, W_hn h], one GEMM
    if bias_hh is not None:
        recurrent = recurrent + bias_hh                      # b_hn sits inside r ⊙ (...): it cannot be folded
    reset_update = ops.sigmoid(projected[..., :2 * hidden] + recurrent[..., :2 * hidden])
    reset_gate = reset_update[..., :hidden]
    update_gate = reset_update[..., hidden:]
    candidate = ops.tanh(projected[..., 2 * hidden:] + reset_gate * recurrent[..., 2 * hidden:])
    return candidate + update_gate * (h - candidate)         # (1 − z) n + z h


def _project(x, weight_ih, bias_ih, bias_hh, fold_hidden_bias):
    """W_ih x + b_ih (+ b_hh when the step lets it be folded in), over all leading dims at once.

    One ``F.linear`` (the fused affine op: the bias added into the product in place, W̄_ih in
    W_ih's layout), with the two biases added to each other first (a vector of gates·hidden):
    one pass over the (steps·batch, gates·hidden) projection instead of two, forward and backward.
    """
    bias = _combined_bias(bias_ih, bias_hh) if fold_hidden_bias else bias_ih
    return F.linear(x, weight_ih, bias)


def _combined_bias(bias_ih, bias_hh):
    """b_ih + b_hh (either alone where the other is None; None where both are): one vector of gates·hidden."""
    if bias_ih is None or bias_hh is None:
        return bias_hh if bias_ih is None else bias_ih
    return bias_ih + bias_hh


def _time_steps(sequence):
    """``[sequence[0], sequence[1], ...]``, cut by repeated halving.

    Slicing ``sequence[t]`` directly for each of T steps makes the backward pass add T
    full-size gradients (each slice's gradient is zeros except at its own row): O(T²)
    work. Cutting the sequence in halves, then quarters, ..., down to single steps gives
    the same slices with O(T log T) backward work.
    """
    length = sequence.shape[0]
    if length == 1:
        return [sequence[0]]
    middle = length // 2
    return _time_steps(sequence[:middle]) + _time_steps(sequence[middle:])


def _hidden(state):
    """The hidden state h of a step's state (an LSTM's state is the pair (h, c))."""
    return state[0] if isinstance(state, tuple) else state


def _unroll(step, projected, state, reverse):
    """Run ``step`` over the time dim (dim 0) of ``projected``; returns (stacked outputs, last state)."""
    steps = _time_steps(projected)
    outputs = [None] * len(steps)
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    for t in order:
        state = step(steps[t], state)
        outputs[t] = _hidden(state)
    return ops.stack(outputs, dim=0), state


# ----- LSTM and GRU recurrences as primitives (the benchmarked fast path) -----------------------
#
# The composed loops above are the reference: they are what ``gru_cell`` runs (and ``lstm_cell`` where
# the fused loops cannot), and the tests check these primitives against them (values, gradients,
# second derivatives). The primitives pay (benchmarks/bench_rnn.py) because
#   * the forward is a plain array loop: no graph nodes, no per-step slicing;
#   * the backward is one reverse sweep, written in tensor ops so that it can be differentiated
#     again, which does one GEMM per step (∂h_{t−1} from ∂gates_t W_hh) and gets ∂W_hh with one
#     GEMM at the end, where the composed graph does two GEMMs per step and sums T partial ∂W_hh.
#     Both read their gates from the forward's output instead of recomputing them;
#   * on NumPy the forward step and, without create_graph, the backward step are the fused loops
#     of kernels/rnn.py (one pass per step instead of a dozen ops and temporaries).
#
# One sweep yields the gradients of all inputs at once, so each primitive has a single rule,
# ``vjp_all``, that returns them together (the backward walk calls it once per node).


def _step_order(steps, reverse):
    return list(range(steps - 1, -1, -1)) if reverse else list(range(steps))


def _previous_states(initial, states, reverse):
    """The state each step started from (s_{t−1}, with s_0 = ``initial``), stacked in input order."""
    order = _step_order(states.shape[0], reverse)
    previous = [None] * len(order)
    for position, t in enumerate(order):
        previous[t] = initial if position == 0 else states[order[position - 1]]
    return ops.stack(previous)


class LSTMSequence(Primitive):
    """An LSTM layer's recurrence over a whole sequence, for one direction.

    Inputs: ``projected`` (T, B, 4H) = W_ih x_t, ``h0``, ``c0`` (B, H), ``weight_hh`` (4H, H), ``bias`` (4H)
    = b_ih + b_hh. The bias is added in the step's gate loop, beside P_t + W_hh h_{t−1}, rather than
    into the projection: that is one pass less over the (T·B, 4H) projection (1.1 ms of its 18.7 ms
    GEMM at batch 64, 50 steps, 256 units), and b̄ is the sum of the gate gradients either way.
    Output: (T, B, 2H), per step [h_t, c_t] (in input order, also when ``reverse``). It is a view of the
    first 2H columns of a (T, B, 6H) block, the activations (``_lstm_activations``), whose other columns
    hold the four gate activations σ(i_t), σ(f_t), tanh(g_t), σ(o_t) of every step, so that the backward
    sweep reads them instead of recomputing every gate (a GEMM over all steps, one of the layer's six,
    and the nonlinearities). They stay out of the output so that its gradient is 2H wide, not 6H: the
    backward walk scatters ∂h into a (T, B, 2H) block, and the sweep reads 2 columns of it per unit
    where it read 6, four of them zeros (benchmarks/bench_rnn.py; chainrule/kernels/README.md). A
    recorded backward (``create_graph=True``) recomputes the gates in tensor ops from ``projected``
    and the output's h for their derivatives, since the stored ones are constants to the graph.
    """

    name = "lstm_sequence"
    formula = (r"[i,f,g,o]_t = P_t + W_{hh} h_{t-1} + b,\ c_t = \sigma(f) c_{t-1} + \sigma(i)\tanh g,\ "
               r"h_t = \sigma(o)\tanh c_t,\ y_t = [h_t, c_t]")
    derivatives = (
        r"\bar{c}_t \mathrel{+}= \bar{c}_{t+1}\sigma(f_{t+1}) + \bar{h}_t \sigma(o)(1-\tanh^2 c_t),\ "
        r"\bar{h}_t \mathrel{+}= \bar{a}_{t+1} W_{hh}",
        r"\bar{P}_t = \bar{a}_t = [\bar{c}_t \tanh g\,\sigma'(i),\ \bar{c}_t c_{t-1}\sigma'(f),\ "
        r"\bar{c}_t \sigma(i)(1-\tanh^2 g),\ \bar{h}_t \tanh c_t\,\sigma'(o)]",
        r"\bar{h}_0 = \bar{a}_1 W_{hh}",
        r"\bar{c}_0 = \bar{c}_1 \sigma(f_1)",
        r"\bar{W}_{hh} = \sum_t \bar{a}_t^\top h_{t-1}",
        r"\bar{b} = \sum_t \bar{a}_t",
    )

    @staticmethod
    def forward(xp, projected, h0, c0, weight_hh, bias, reverse):
        hidden = h0.shape[-1]
        activations = xp.empty(projected.shape[:2] + (6 * hidden,), dtype=projected.dtype)
        order = _step_order(projected.shape[0], reverse)
        if lstm_fusable(xp, projected, h0, c0, weight_hh, bias, activations):
            lstm_forward(projected, h0, c0, weight_hh, bias, activations, order)   # the twin of the loop below
            return activations[..., :2 * hidden]
        # σ(a) = (1 + tanh(a/2))/2: exact in form, never overflows, and one tanh is several times faster
        # than exp and a division; the error is a rounding of 1 + tanh, at most one ulp of 1 (σ(a) for
        # a < −35 reads 0 instead of ~1e−16: absolute, not relative, accuracy). One tanh over the four
        # gates, at a/2 for i, f, o and at a for g (× 1 is exact).
        gate_scale = xp.full(4 * hidden, 0.5, dtype=projected.dtype)
        gate_scale[2 * hidden:3 * hidden] = 1
        h, c = h0, c0
        weight_hh_t = xp.ascontiguousarray(weight_hh.T)
        for t in order:
            activated = xp.tanh((projected[t] + xp.dot(h, weight_hh_t) + bias) * gate_scale)
            input_gate = 0.5 * (1 + activated[:, :hidden])
            forget_gate = 0.5 * (1 + activated[:, hidden:2 * hidden])
            candidate = activated[:, 2 * hidden:3 * hidden]
            output_gate = 0.5 * (1 + activated[:, 3 * hidden:])
            c = forget_gate * c + input_gate * candidate
            h = output_gate * xp.tanh(c)
            activations[t, :, :hidden] = h
            activations[t, :, hidden:2 * hidden] = c
            activations[t, :, 2 * hidden:3 * hidden] = input_gate
            activations[t, :, 3 * hidden:4 * hidden] = forget_gate
            activations[t, :, 4 * hidden:5 * hidden] = candidate
            activations[t, :, 5 * hidden:] = output_gate
        return activations[..., :2 * hidden]

    @staticmethod
    def vjp_all(g, out, projected, h0, c0, weight_hh, bias, reverse):
        """(P̄, h̄₀, c̄₀, W̄_hh, b̄) from one reverse sweep: the five share every gate.

        When no graph is to be recorded (``create_graph=False``) the sweep reads the stored gates and
        its loop runs as the fused twin of chainrule/kernels/rnn.py on NumPy arrays; otherwise the
        sweep runs in tensor ops on recomputed gates, differentiable again.
        """
        recording = is_grad_enabled() and any(t.requires_grad for t in (g, out, h0, c0, weight_hh, bias))
        if recording:
            gates = _lstm_recomputed_gates(projected, h0, out, weight_hh, bias, reverse)
            grads = _lstm_backward_sweep(g, out, gates, h0, c0, weight_hh, reverse)
        else:
            activations = _lstm_activations(out)
            if lstm_fusable(g.xp, g.array, activations, c0.array, weight_hh.array):
                grads = _lstm_backward_fused(g, activations, h0, c0, weight_hh, reverse)
            else:
                gates = _lstm_gates(Tensor._wrap(activations))
                grads = _lstm_backward_sweep(g, out, gates, h0, c0, weight_hh, reverse)
        grad_projected = grads[0]
        grad_bias = grad_projected.reshape(-1, grad_projected.shape[-1]).sum(0) if bias.requires_grad else None
        return grads + (grad_bias,)


def _lstm_activations(out):
    """The (T, B, 6H) block [h, c, σ(i), σ(f), tanh(g), σ(o)] whose [h, c] columns are LSTMSequence's ``out``."""
    activations = out.array.base
    if activations is None or activations.shape != out.shape[:-1] + (3 * out.shape[-1],):
        raise RuntimeError(
            f"lstm_sequence: its output (shape {out.shape}) is no longer the view of the activations block the "
            "backward reads (its array was replaced or copied); leave the primitive's output array as it is"
        )
    return activations


def _lstm_gates(activations):
    """The four gate activations σ(i), σ(f), tanh(g), σ(o) of every step, as slices of the (T, B, 6H) activations."""
    hidden = activations.shape[-1] // 6
    return tuple(activations[..., k * hidden:(k + 1) * hidden] for k in range(2, 6))


def _lstm_recomputed_gates(projected, h0, out, weight_hh, bias, reverse):
    """σ(i), σ(f), tanh(g), σ(o) of every step for a recorded sweep: stored values, derivatives of P + h W_hhᵀ + b.

    The stored gates are constants to the graph, so the gates are recomputed in tensor ops from the
    inputs and the output's h, and read as S + (R − stop(R)): S (the stored values, bit for bit, so a
    recorded backward gives the plain one's numbers) in value, R in every derivative.
    """
    hidden = h0.shape[-1]
    pre_activation = projected + _previous_states(h0, out[..., :hidden], reverse) @ weight_hh.t() + bias
    recomputed = (ops.sigmoid(pre_activation[..., :hidden]), ops.sigmoid(pre_activation[..., hidden:2 * hidden]),
                  ops.tanh(pre_activation[..., 2 * hidden:3 * hidden]), ops.sigmoid(pre_activation[..., 3 * hidden:]))
    stored = _lstm_gates(Tensor._wrap(_lstm_activations(out)))
    return tuple(value + (gate - gate.detach()) for value, gate in zip(stored, recomputed))


def _lstm_backward_sweep(g, out, gates, h0, c0, weight_hh, reverse):
    """All four gradients of LSTMSequence, in input order, by one reverse sweep in tensor ops.

    ``gates`` are σ(i), σ(f), tanh(g), σ(o) of every step (T, B, H each): the stored ones, or
    recomputed ones when the sweep is recorded.
    """
    hidden = h0.shape[-1]
    h_all, c_all = out[..., :hidden], out[..., hidden:2 * hidden]
    input_gate, forget_gate, candidate, output_gate = gates
    grad_h_all, grad_c_all = g[..., :hidden], g[..., hidden:2 * hidden]
    c_previous = _previous_states(c0, c_all, reverse)
    tanh_c = ops.tanh(c_all)

    order = _step_order(out.shape[0], reverse)
    grad_gates = [None] * len(order)
    grad_h_carry = grad_c_carry = None     # ∂L/∂h_t and ∂L/∂c_t arriving from the next step
    for t in reversed(order):
        grad_h = grad_h_all[t] if grad_h_carry is None else grad_h_all[t] + grad_h_carry
        grad_c = grad_c_all[t] + grad_h * output_gate[t] * (1 - tanh_c[t] * tanh_c[t])
        if grad_c_carry is not None:
            grad_c = grad_c + grad_c_carry
        i, f, o, candidate_t = input_gate[t], forget_gate[t], output_gate[t], candidate[t]
        grad_gates[t] = ops.cat([
            grad_c * candidate_t * i * (1 - i),
            grad_c * c_previous[t] * f * (1 - f),
            grad_c * i * (1 - candidate_t * candidate_t),
            grad_h * tanh_c[t] * o * (1 - o),
        ], dim=-1)
        grad_h_carry = grad_gates[t] @ weight_hh
        grad_c_carry = grad_c * f
    grad_projected = ops.stack(grad_gates)
    return grad_projected, grad_h_carry, grad_c_carry, _lstm_grad_weight_hh(grad_projected, h0, h_all, reverse)


def _lstm_grad_weight_hh(grad_projected, h0, h_all, reverse):
    """W̄_hh = Σ_t āₜᵀ h_{t−1}: one GEMM over all steps."""
    hidden = h0.shape[-1]
    h_previous = _previous_states(h0, h_all, reverse)
    return grad_projected.reshape(-1, 4 * hidden).t() @ h_previous.reshape(-1, hidden)


def _lstm_backward_fused(g, activations, h0, c0, weight_hh, reverse):
    """``_lstm_backward_sweep`` with its loop in the fused twin (kernels/rnn.py: lstm_backward); no graph."""
    hidden = h0.shape[-1]
    tanh_c = g.xp.tanh(activations[..., hidden:2 * hidden])                # as the sweep's ops.tanh(c_all)
    grads = lstm_backward(g.array, activations, h0.array, c0.array, tanh_c, weight_hh.array,
                          _step_order(activations.shape[0], reverse))
    return tuple(Tensor._wrap(grad) for grad in grads)


def lstm_sequence(projected, h0, c0, weight_hh, bias=None, reverse=False):
    """Run the LSTM recurrence over ``projected`` (T, B, 4H); returns (outputs (T, B, H), (h_n, c_n)).

    The fast path of ``LSTM``; equal to stepping ``lstm_cell`` along the sequence:
    [i, f, g, o]_t = P_t + W_hh h_{t−1} + b, c_t = σ(f) c_{t−1} + σ(i) tanh(g), h_t = σ(o) tanh(c_t),
    with ``bias`` b (4H) = b_ih + b_hh, or zeros where None (a ``projected`` that holds the biases).

    Example:
        >>> import chainrule as cr
        >>> outputs, (h_n, c_n) = lstm_sequence(cr.zeros(5, 2, 12), cr.zeros(2, 3), cr.zeros(2, 3), cr.zeros(12, 3))
        >>> outputs.shape, c_n.shape
        ((5, 2, 3), (2, 3))
    """
    dtype = projected.dtype
    out = apply(LSTMSequence, projected, h0.to(dtype), c0.to(dtype), weight_hh.to(dtype),
                _bias_or_zeros(bias, weight_hh.shape[0], dtype, projected.xp), reverse=reverse)
    hidden = h0.shape[-1]
    last = 0 if reverse else projected.shape[0] - 1
    return out[..., :hidden], (out[last, :, :hidden], out[last, :, hidden:2 * hidden])


def _bias_or_zeros(bias, size, dtype, xp):
    """LSTMSequence's bias input: ``bias`` in ``dtype``, or a zeros vector (no gradient) where None."""
    return _zeros((size,), dtype, xp) if bias is None else bias.to(dtype)


class GRUSequence(Primitive):
    """A GRU layer's recurrence over a whole sequence, for one direction.

    Inputs: ``projected`` (T, B, 3H) = W_ih x_t + b_ih, ``h0`` (B, H), ``weight_hh`` (3H, H),
    ``bias_hh`` (3H). Output: (T, B, 5H), per step [h_t, σ(r_t), σ(z_t), n_t, R^n_t = W_hn h_{t−1} + b_hn]
    (in input order, also when ``reverse``): the backward sweep reads the gates instead of
    recomputing them, as ``LSTMSequence``'s does; their own gradient (zero unless a caller uses
    them; ``gru_sequence`` does not) enters the gate gradients.
    """

    name = "gru_sequence"
    formula = (r"R_t = W_{hh} h_{t-1} + b_{hh},\ [r,z]_t = \sigma(P^{rz}_t + R^{rz}_t),\ "
               r"n_t = \tanh(P^n_t + r_t R^n_t),\ h_t = n_t + z_t (h_{t-1} - n_t),\ "
               r"y_t = [h_t, r_t, z_t, n_t, R^n_t]")
    derivatives = (
        r"\bar{h}_t \mathrel{+}= \bar{h}_{t+1} z_{t+1} + \bar{R}_{t+1} W_{hh},\ "
        r"\bar{a}^n_t = (\bar{h}_t (1-z_t) + \bar{n}_t)(1-n_t^2)",
        r"\bar{P}_t = [\bar{a}^r_t,\ \bar{a}^z_t,\ \bar{a}^n_t],\ "
        r"\bar{a}^r_t = (\bar{a}^n_t R^n_t + \bar{r}_t)\sigma'(r),\ "
        r"\bar{a}^z_t = (\bar{h}_t (h_{t-1}-n_t) + \bar{z}_t)\sigma'(z)",
        r"\bar{R}_t = [\bar{a}^r_t,\ \bar{a}^z_t,\ \bar{a}^n_t r_t + \overline{R^n_t}]",
        r"\bar{h}_0 = \bar{h}_1 z_1 + \bar{R}_1 W_{hh}",
        r"\bar{W}_{hh} = \sum_t \bar{R}_t^\top h_{t-1}",
        r"\bar{b}_{hh} = \sum_t \bar{R}_t",
    )

    @staticmethod
    def forward(xp, projected, h0, weight_hh, bias_hh, reverse):
        hidden = h0.shape[-1]
        out = xp.empty(projected.shape[:2] + (5 * hidden,), dtype=projected.dtype)
        order = _step_order(projected.shape[0], reverse)
        if lstm_fusable(xp, projected, h0, weight_hh, bias_hh, out):
            gru_forward(projected, h0, weight_hh, bias_hh, out, order)   # the twin of the loop below
            return out
        h = h0
        weight_hh_t = xp.ascontiguousarray(weight_hh.T)
        for t in order:
            recurrent = xp.dot(h, weight_hh_t) + bias_hh
            reset_update = 0.5 * (1 + xp.tanh(0.5 * (projected[t, :, :2 * hidden] + recurrent[:, :2 * hidden])))
            reset_gate, update_gate = reset_update[:, :hidden], reset_update[:, hidden:]
            recurrent_candidate = recurrent[:, 2 * hidden:]
            candidate = xp.tanh(projected[t, :, 2 * hidden:] + reset_gate * recurrent_candidate)
            h = candidate + update_gate * (h - candidate)
            out[t, :, :hidden] = h
            out[t, :, hidden:3 * hidden] = reset_update
            out[t, :, 3 * hidden:4 * hidden] = candidate
            out[t, :, 4 * hidden:] = recurrent_candidate
        return out

    @staticmethod
    def vjp_all(g, out, projected, h0, weight_hh, bias_hh, reverse):
        """(P̄, h̄₀, W̄_hh, b̄_hh) from one reverse sweep: the four share every gate.

        Without a graph to record, the sweep's loop is the fused twin (kernels/rnn.py), as for the LSTM.
        """
        recording = is_grad_enabled() and any(t.requires_grad for t in (g, out, h0, weight_hh, bias_hh))
        if not recording and lstm_fusable(g.xp, g.array, out.array, h0.array, weight_hh.array):
            return _gru_backward_fused(g, out, h0, weight_hh, reverse)
        return _gru_backward_sweep(g, out, projected, h0, weight_hh, bias_hh, reverse)


def _gru_gates(out):
    """σ(r), σ(z), n and R^n of every step, as slices of GRUSequence's output."""
    hidden = out.shape[-1] // 5
    return tuple(out[..., k * hidden:(k + 1) * hidden] for k in range(1, 5))


def _gru_backward_sweep(g, out, projected, h0, weight_hh, bias_hh, reverse):
    """All four gradients of GRUSequence, in input order, by one reverse sweep in tensor ops."""
    hidden = h0.shape[-1]
    h_previous = _previous_states(h0, out[..., :hidden], reverse)
    reset_gate, update_gate, candidate, recurrent_candidate = _gru_gates(out)
    grad_reset_gate, grad_update_gate, grad_candidate, grad_recurrent_candidate = _gru_gates(g)

    order = _step_order(out.shape[0], reverse)
    grad_projected, grad_recurrent = [None] * len(order), [None] * len(order)
    grad_h_carry = None                    # ∂L/∂h_t arriving from the next step
    for t in reversed(order):
        grad_h = g[t, :, :hidden] if grad_h_carry is None else g[t, :, :hidden] + grad_h_carry
        r, z, n = reset_gate[t], update_gate[t], candidate[t]
        grad_candidate_input = (grad_h * (1 - z) + grad_candidate[t]) * (1 - n * n)     # through n = tanh(a_n)
        grad_reset_input = (grad_candidate_input * recurrent_candidate[t] + grad_reset_gate[t]) * r * (1 - r)
        grad_update_input = (grad_h * (h_previous[t] - n) + grad_update_gate[t]) * z * (1 - z)
        grad_projected[t] = ops.cat([grad_reset_input, grad_update_input, grad_candidate_input], dim=-1)
        grad_recurrent[t] = ops.cat([grad_reset_input, grad_update_input,
                                     grad_candidate_input * r + grad_recurrent_candidate[t]], dim=-1)
        grad_h_carry = grad_h * z + grad_recurrent[t] @ weight_hh
    grad_weight_hh, grad_bias_hh = _gru_grad_weights(ops.stack(grad_recurrent), h_previous)
    return ops.stack(grad_projected), grad_h_carry, grad_weight_hh, grad_bias_hh


def _gru_grad_weights(grad_recurrent, h_previous):
    """W̄_hh = Σ_t R̄ₜᵀ h_{t−1} (one GEMM over all steps) and b̄_hh = Σ_t R̄ₜ."""
    hidden = h_previous.shape[-1]
    grad_recurrent = grad_recurrent.reshape(-1, 3 * hidden)
    return grad_recurrent.t() @ h_previous.reshape(-1, hidden), grad_recurrent.sum(dim=0)


def _gru_backward_fused(g, out, h0, weight_hh, reverse):
    """``_gru_backward_sweep`` with its loop in the fused twin (kernels/rnn.py: gru_backward); no graph."""
    grad_projected, grad_h0, grad_recurrent, h_previous = gru_backward(
        g.array, out.array, h0.array, weight_hh.array, _step_order(out.shape[0], reverse))
    grad_weight_hh, grad_bias_hh = _gru_grad_weights(Tensor._wrap(grad_recurrent), Tensor._wrap(h_previous))
    return Tensor._wrap(grad_projected), Tensor._wrap(grad_h0), grad_weight_hh, grad_bias_hh


def gru_sequence(projected, h0, weight_hh, bias_hh=None, reverse=False):
    """Run the GRU recurrence over ``projected`` (T, B, 3H) = W_ih x_t + b_ih; returns (outputs (T, B, H), h_n).

    The fast path of ``GRU``; equal to stepping ``gru_cell`` along the sequence:
    R = W_hh h + b_hh, [r, z] = σ(P_rz + R_rz), n = tanh(P_n + r R_n), h' = n + z (h − n).

    Example:
        >>> import chainrule as cr
        >>> outputs, h_n = gru_sequence(cr.zeros(5, 2, 9), cr.zeros(2, 3), cr.zeros(9, 3))
        >>> outputs.shape, h_n.shape
        ((5, 2, 3), (2, 3))
    """
    dtype = projected.dtype
    if bias_hh is None:
        bias_hh = _zeros((weight_hh.shape[0],), dtype, projected.xp)
    out = apply(GRUSequence, projected, h0.to(dtype), weight_hh.to(dtype), bias_hh.to(dtype), reverse=reverse)
    hidden = h0.shape[-1]
    return out[..., :hidden], out[0 if reverse else projected.shape[0] - 1, :, :hidden]


def _check_dtype(layer_name, label, tensor, weight):
    """Inputs and states must have the weights' dtype (as in PyTorch): mixing would silently upcast."""
    if tensor.dtype != weight.dtype:
        convert = {"float32": ".float()", "float64": ".double()"}.get(str(weight.dtype), f".to({weight.dtype})")
        raise TypeError(
            f"{layer_name}: {label} has dtype {tensor.dtype} but the layer's weights are {weight.dtype}; "
            f"convert the {label} ({label}{convert}) or the layer (layer.to({tensor.dtype}))"
        )


def _parameter_storage(shape, dtype):
    """Storage for a parameter (its values are drawn by reset_parameters)."""
    return zeros(shape, dtype=dtype)


def _zeros(shape, dtype, xp):
    """A zero state of the input's dtype and array module."""
    return Tensor(xp.zeros(shape, dtype=dtype))


# ----- single steps as functions (PyTorch's _VF cell names) -------------------------------------


def rnn_tanh_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One Elman RNN step: h' = tanh(W_ih x + b_ih + W_hh h + b_hh).

    Example:
        >>> import chainrule as cr
        >>> x, h = cr.ones(2, 3), cr.zeros(2, 4)
        >>> rnn_tanh_cell(x, h, cr.zeros(4, 3), cr.zeros(4, 4)).shape
        (2, 4)
    """
    projected = _project(input, weight_ih, bias_ih, bias_hh, fold_hidden_bias=True)
    return _rnn_step(projected, hx, weight_hh.t(), "tanh")


def rnn_relu_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One RNN step with relu: h' = max(0, W_ih x + b_ih + W_hh h + b_hh)."""
    projected = _project(input, weight_ih, bias_ih, bias_hh, fold_hidden_bias=True)
    return _rnn_step(projected, hx, weight_hh.t(), "relu")


def lstm_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM step; ``hx = (h, c)``; returns ``(h', c')``.

    [i, f, g, o] = W_ih x + b_ih + W_hh h + b_hh,  c' = σ(f) c + σ(i) tanh(g),  h' = σ(o) tanh(c').

    A batch of NumPy float32/float64 inputs runs as one step of ``LSTMSequence`` (its fused loops,
    kernels/rnn.py); anything else (an unbatched step, CuPy, the kernels switched off) runs the
    composed step ``_lstm_step`` that the tests hold the primitive to.

    Example:
        >>> import chainrule as cr
        >>> h, c = lstm_cell(cr.ones(2, 3), (cr.zeros(2, 4), cr.zeros(2, 4)), cr.zeros(16, 3), cr.zeros(16, 4))
        >>> c.shape
        (2, 4)
    """
    h, c = hx
    if input.ndim != 2 or not lstm_fusable(input.xp, weight_ih.array, h.array, c.array, weight_hh.array):
        projected = _project(input, weight_ih, bias_ih, bias_hh, fold_hidden_bias=True)
        return _lstm_step(projected, (h, c), weight_hh.t())   # unbatched, CuPy, kernels off: the composed step
    # A batch on NumPy: one step of the sequence primitive, its fused loops, one graph node instead of a dozen.
    projected = F.linear(input, weight_ih)
    dtype, hidden = projected.dtype, h.shape[-1]
    bias = _bias_or_zeros(_combined_bias(bias_ih, bias_hh), weight_hh.shape[0], dtype, projected.xp)
    out = apply(LSTMSequence, projected.unsqueeze(0), h.to(dtype), c.to(dtype), weight_hh.to(dtype), bias,
                reverse=False)
    return out[0, :, :hidden], out[0, :, hidden:2 * hidden]


def gru_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One GRU step: h' = (1 − z) n + z h (see the module docstring for r, z, n).

    Example:
        >>> import chainrule as cr
        >>> gru_cell(cr.ones(2, 3), cr.zeros(2, 4), cr.zeros(12, 3), cr.zeros(12, 4)).shape
        (2, 4)
    """
    projected = _project(input, weight_ih, bias_ih, None, fold_hidden_bias=False)
    return _gru_step(projected, hx, weight_hh.t(), bias_hh)


# ----- the sequence layers -----------------------------------------------------------------------

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the weights of every layer and direction, and the unrolled loop.

    Parameters are named as in PyTorch: ``weight_ih_l{k}`` (gates·hidden, input_size or
    num_directions·hidden for k > 0), ``weight_hh_l{k}`` (gates·hidden, hidden),
    ``bias_ih_l{k}``, ``bias_hh_l{k}``, and the same with ``_reverse`` for the backward
    direction. All are drawn from U(−1/√hidden, 1/√hidden) by the seeded default generator.

    Each layer maps (seq, batch, in) to (seq, batch, num_directions·hidden) by h_t = step(x_t, h_{t−1})
    (the steps are in the module docstring); the outputs are (output, h_n), or (output, (h_n, c_n)) for LSTM,
    with h_n of shape (num_layers·num_directions, batch, hidden).

    Example (through ``nn.LSTM``, whose gates·hidden = 4·5 = 20 rows):
        >>> import chainrule as cr, chainrule.nn as nn
        >>> lstm = nn.LSTM(3, 5, num_layers=2)
        >>> output, (h_n, c_n) = lstm(cr.zeros(7, 4, 3))
        >>> output.shape, h_n.shape, c_n.shape, lstm.weight_ih_l0.shape
        ((7, 4, 5), (2, 4, 5), (2, 4, 5), (20, 3))
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        super().__init__()
        name = type(self).__name__
        for label, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: {label} must be a positive integer, got {value!r}")
        if not (isinstance(dropout, (int, float)) and 0 <= dropout <= 1) or isinstance(dropout, bool):
            raise ValueError(f"{name}: dropout must be a number in [0, 1] (a probability), got {dropout!r}")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        for layer in range(num_layers):
            layer_input_size = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                setattr(self, "weight_ih" + suffix, Parameter(_parameter_storage((gate_size, layer_input_size), dtype)))
                setattr(self, "weight_hh" + suffix, Parameter(_parameter_storage((gate_size, hidden_size), dtype)))
                if bias:
                    setattr(self, "bias_ih" + suffix, Parameter(_parameter_storage((gate_size,), dtype)))
                    setattr(self, "bias_hh" + suffix, Parameter(_parameter_storage((gate_size,), dtype)))
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias from U(−k, k), k = 1/√hidden_size (as PyTorch)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            init.uniform_(parameter, -bound, bound)

    @property
    def num_directions(self):
        return 2 if self.bidirectional else 1

    def _weights(self, layer, direction):
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        bias_ih = getattr(self, "bias_ih" + suffix) if self.bias else None
        bias_hh = getattr(self, "bias_hh" + suffix) if self.bias else None
        return getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix), bias_ih, bias_hh

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text

    # --- checks -----------------------------------------------------------------------------
    def _check_input(self, input):
        name = type(self).__name__
        if input.ndim not in (2, 3):
            layout = "(batch, seq, input_size)" if self.batch_first else "(seq, batch, input_size)"
            raise ValueError(
                f"{name}: expected a 3-D input {layout} or a 2-D unbatched input (seq, input_size), "
                f"got shape {input.shape}"
            )
        if input.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: input has size {input.shape[-1]} in its last dim (shape {input.shape}), but the layer "
                f"was built with input_size={self.input_size}; pass inputs whose last dim is {self.input_size} "
                f"or build {name}(input_size={input.shape[-1]}, ...)"
            )
        sequence_dim = 1 if (self.batch_first and input.ndim == 3) else 0
        if input.shape[sequence_dim] == 0:
            raise ValueError(f"{name}: the sequence is empty (input shape {input.shape}); it needs at least one step")
        _check_dtype(name, "input", input, self.weight_ih_l0)

    def _check_state(self, state, label, batch, batched):
        expected = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if not batched:
            expected = (expected[0], expected[2])
        if tuple(state.shape) != expected:
            raise ValueError(
                f"{type(self).__name__}: {label} must have shape {expected} "
                f"(num_layers * num_directions, {'batch, ' if batched else ''}hidden_size), got {state.shape}"
            )
        _check_dtype(type(self).__name__, label, state, self.weight_ih_l0)

    # --- the loop ----------------------------------------------------------------------------
    def _rnn_step_function(self, weight_hh):
        """step(projected_t, h) of the plain RNN, with W_hhᵀ computed once per sequence."""
        nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
        return functools.partial(_rnn_step, weight_hh_t=weight_hh.t(), nonlinearity=nonlinearity)

    def _run(self, input, initial_states):
        """input: (seq, batch, features); initial_states: one state per layer·direction. Returns (output, finals)."""
        layer_input = input
        final_states = []
        for layer in range(self.num_layers):
            direction_outputs = []
            for direction in range(self.num_directions):
                weight_ih, weight_hh, bias_ih, bias_hh = self._weights(layer, direction)
                state = initial_states[layer * self.num_directions + direction]
                if self.mode == "LSTM":   # the biases enter the gate loop, not the projection (LSTMSequence)
                    outputs, final = lstm_sequence(F.linear(layer_input, weight_ih), state[0], state[1], weight_hh,
                                                   reverse=direction == 1, bias=_combined_bias(bias_ih, bias_hh))
                elif self.mode == "GRU":
                    projected = _project(layer_input, weight_ih, bias_ih, bias_hh, fold_hidden_bias=False)
                    outputs, final = gru_sequence(projected, state, weight_hh, bias_hh, reverse=direction == 1)
                else:
                    projected = _project(layer_input, weight_ih, bias_ih, bias_hh, fold_hidden_bias=True)
                    step = self._rnn_step_function(weight_hh)
                    outputs, final = _unroll(step, projected, state, reverse=direction == 1)
                direction_outputs.append(outputs)
                final_states.append(final)
            layer_input = direction_outputs[0] if len(direction_outputs) == 1 else ops.cat(direction_outputs, dim=-1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, p=self.dropout, training=True)
        return layer_input, final_states

    def _split_states(self, hx, batch, dtype, batched, xp):
        """The initial state of each layer·direction: from ``hx`` (stacked as in PyTorch) or zeros."""
        count = self.num_layers * self.num_directions
        if hx is None:
            hidden_states = [_zeros((batch, self.hidden_size), dtype, xp) for _ in range(count)]
            if self.mode == "LSTM":
                return [(h, _zeros((batch, self.hidden_size), dtype, xp)) for h in hidden_states]
            return hidden_states
        if self.mode == "LSTM":
            if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise TypeError(f"LSTM: the initial state must be a tuple (h_0, c_0), got {type(hx).__name__}")
            h0, c0 = hx
            self._check_state(h0, "h_0", batch, batched)
            self._check_state(c0, "c_0", batch, batched)
            if not batched:
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
            return list(zip(ops.unbind(h0, 0), ops.unbind(c0, 0)))
        self._check_state(hx, "h_0", batch, batched)
        if not batched:
            hx = hx.unsqueeze(1)
        return list(ops.unbind(hx, 0))

    def forward(self, input, hx=None):
        """Run the layer over a sequence.

        Returns ``(output, h_n)`` (``(output, (h_n, c_n))`` for LSTM): ``output`` holds the last
        layer's hidden state at every step (both directions concatenated), shaped like the
        input with ``num_directions · hidden_size`` features; ``h_n`` stacks the final state
        of every layer and direction, (num_layers · num_directions, batch, hidden_size).
        """
        self._check_input(input)
        batched = input.ndim == 3
        if not batched:
            sequence = input.unsqueeze(1)
        elif self.batch_first:
            sequence = input.transpose(0, 1)
        else:
            sequence = input
        batch = sequence.shape[1]
        states = self._split_states(hx, batch, input.dtype, batched, input.xp)
        output, finals = self._run(sequence, states)
        if not batched:
            output = output.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)

        def stacked(tensors):
            result = ops.stack(tensors, dim=0)
            return result if batched else result.squeeze(1)

        if self.mode == "LSTM":
            return output, (stacked([h for h, _ in finals]), stacked([c for _, c in finals]))
        return output, stacked(finals)


class RNN(RNNBase):
    """Elman RNN over a sequence: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh) (or relu), per layer.

    Same arguments, shapes, parameter names and outputs as ``torch.nn.RNN``. Input is
    (seq, batch, input_size), (batch, seq, input_size) with ``batch_first=True``, or
    unbatched (seq, input_size); ``h_0`` is (num_layers · num_directions, batch, hidden_size).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> rnn = nn.RNN(input_size=3, hidden_size=5, num_layers=2)
        >>> output, h_n = rnn(cr.randn(7, 4, 3))
        >>> output.shape, h_n.shape
        ((7, 4, 5), (2, 4, 5))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; use 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, dtype)


class LSTM(RNNBase):
    """Long short-term memory over a sequence (gates i, f, g, o as in PyTorch).

    [i, f, g, o] = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh,
    c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g),  h_t = σ(o) ⊙ tanh(c_t).

    Returns ``(output, (h_n, c_n))``; the initial state is the tuple ``(h_0, c_0)``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> lstm = nn.LSTM(3, 5, batch_first=True, bidirectional=True)
        >>> output, (h_n, c_n) = lstm(cr.randn(4, 7, 3))
        >>> output.shape, h_n.shape
        ((4, 7, 10), (2, 4, 5))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype)


class GRU(RNNBase):
    """Gated recurrent unit over a sequence (gates r, z, n as in PyTorch).

    r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> gru = nn.GRU(3, 5, num_layers=2)
        >>> output, h_n = gru(cr.randn(7, 4, 3), cr.zeros(2, 4, 5))
        >>> output.shape, h_n.shape
        ((7, 4, 5), (2, 4, 5))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype)


# ----- cells: one step, as a layer ---------------------------------------------------------------


class RNNCellBase(Module):
    """Weights of one step: ``weight_ih`` (gates·hidden, input_size), ``weight_hh`` (gates·hidden, hidden),
    ``bias_ih``, ``bias_hh``; drawn from U(−1/√hidden, 1/√hidden)."""

    def __init__(self, input_size, hidden_size, bias, gates, dtype=None):
        super().__init__()
        name = type(self).__name__
        for label, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: {label} must be a positive integer, got {value!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(_parameter_storage((gates * hidden_size, input_size), dtype))
        self.weight_hh = Parameter(_parameter_storage((gates * hidden_size, hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(_parameter_storage((gates * hidden_size,), dtype))
            self.bias_hh = Parameter(_parameter_storage((gates * hidden_size,), dtype))
        else:
            self.bias_ih = None
            self.bias_hh = None
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            init.uniform_(parameter, -bound, bound)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def _prepare(self, input, states):
        """Check shapes; add a batch dim to unbatched input and states. Returns (input, states, batched)."""
        name = type(self).__name__
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: expected input of shape (batch, {self.input_size}) or ({self.input_size},) "
                f"(input_size={self.input_size}), got {input.shape}"
            )
        _check_dtype(name, "input", input, self.weight_ih)
        batched = input.ndim == 2
        batch = input.shape[0] if batched else 1
        expected = (batch, self.hidden_size) if batched else (self.hidden_size,)
        prepared = []
        for label, state in states:
            if state is None:
                state = _zeros((batch, self.hidden_size), input.dtype, input.xp)
            else:
                if tuple(state.shape) != expected:
                    raise ValueError(
                        f"{name}: {label} must have shape {expected} (batch, hidden_size), got {state.shape}"
                    )
                _check_dtype(name, label, state, self.weight_ih)
                if not batched:
                    state = state.unsqueeze(0)
            prepared.append(state)
        return (input if batched else input.unsqueeze(0)), prepared, batched


class RNNCell(RNNCellBase):
    """One Elman RNN step: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu), as ``torch.nn.RNNCell``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> cell = nn.RNNCell(3, 5)
        >>> cell(cr.randn(4, 3)).shape
        (4, 5)
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; use 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, gates=1, dtype=dtype)

    def forward(self, input, hx=None):
        input, (h,), batched = self._prepare(input, [("hx", hx)])
        cell = rnn_tanh_cell if self.nonlinearity == "tanh" else rnn_relu_cell
        h_next = cell(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h_next if batched else h_next.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step, as ``torch.nn.LSTMCell``: returns ``(h', c')`` from ``hx = (h, c)`` (zeros if None).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> h, c = nn.LSTMCell(3, 5)(cr.randn(4, 3))
        >>> h.shape, c.shape
        ((4, 5), (4, 5))
    """

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__(input_size, hidden_size, bias, gates=4, dtype=dtype)

    def forward(self, input, hx=None):
        h, c = (None, None) if hx is None else hx
        input, (h, c), batched = self._prepare(input, [("h", h), ("c", c)])
        h_next, c_next = lstm_cell(input, (h, c), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h_next, c_next) if batched else (h_next.squeeze(0), c_next.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step, as ``torch.nn.GRUCell``: h' = (1 − z) n + z h.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> nn.GRUCell(3, 5)(cr.randn(4, 3)).shape
        (4, 5)
    """

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__(input_size, hidden_size, bias, gates=3, dtype=dtype)

    def forward(self, input, hx=None):
        input, (h,), batched = self._prepare(input, [("hx", hx)])
        h_next = gru_cell(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h_next if batched else h_next.squeeze(0)
