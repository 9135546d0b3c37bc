"""The RNN lab: a recurrent cell unrolled through time, and gradients through time vanishing in a tanh
RNN but carried by an LSTM's cell state, measured on a memory task."""
import numpy
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

import chainrule as cr
import chainrule.nn as nn
from chainrule.data import load_digits
from chainrule.lab.common import LabResult, finish, save_figure, seeded

STEPS, BATCH, HIDDEN = 40, 32, 16


class SequenceClassifier(nn.Module):
    """A recurrent layer (RNN or LSTM) over the sequence, and a linear head on its last hidden state."""

    def __init__(self, cell, forget_bias=None, input_size=1, classes=2):
        super().__init__()
        self.rnn = cell(input_size, HIDDEN, batch_first=True)
        self.head = nn.Linear(HIDDEN, classes)
        if forget_bias is not None:      # the LSTM's gates are [i, f, g, o]: open f by its bias
            with cr.no_grad():
                self.rnn.bias_ih_l0.array[HIDDEN:2 * HIDDEN] = forget_bias
                self.rnn.bias_hh_l0.array[HIDDEN:2 * HIDDEN] = 0.0

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


def memory_task(generator, batch=BATCH, steps=STEPS):
    """Sequences x₁…x_T of N(0, 1) numbers, labelled by the sign of the FIRST one: to answer at step T
    the network must carry x₁ through T − 1 updates (the classic long-range dependency test)."""
    x = cr.randn(batch, steps, 1, generator=generator)
    return x, (x[:, 0, 0] > 0).long()


def digit_rows(count=BATCH, seed=0):
    """Bundled digits read row by row: 28 steps of 28 pixels each, labelled by the digit (0–9)."""
    images, labels = load_digits("train")
    chosen = cr.Generator().manual_seed(seed).permutation(len(labels))[:count]
    return cr.tensor(images[chosen, 0]), cr.tensor(labels[chosen])


def unrolled_tanh_rnn(rnn, x):
    """hₜ = tanh(W_ih xₜ + b_ih + W_hh hₜ₋₁ + b_hh), written out step by step with the layer's own weights:
    the same function as ``rnn(x)``, as one cell applied T times."""
    h = cr.zeros(x.shape[0], rnn.hidden_size)
    states = []
    for t in range(x.shape[1]):
        h = (x[:, t] @ rnn.weight_ih_l0.t() + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.t() + rnn.bias_hh_l0).tanh()
        states.append(h)
    return states


def gradients_through_time(model, x, y):
    """‖∂L/∂xₜ‖ averaged over the batch, for every step t: how much the loss at the end hears of step t."""
    x = x.detach().requires_grad_()
    nn.CrossEntropyLoss()(model(x), y).backward()
    return numpy.linalg.norm(x.grad.numpy(), axis=2).mean(0)


def _draw_unrolled(ax, shown=5):
    ax.set_xlim(-0.8, shown + 0.9)
    ax.set_ylim(-1.3, 1.6)
    ax.axis("off")
    for t in range(shown):
        ax.add_patch(FancyBboxPatch((t - 0.3, -0.25), 0.6, 0.5, boxstyle="round,pad=0.05", fc="#dde8f5", ec="C0"))
        ax.text(t, 0, f"cell\nt = {t + 1 if t < shown - 1 else 'T'}", ha="center", va="center", fontsize=7)
        label = f"x{t + 1}" if t < shown - 1 else "x_T"
        ax.annotate("", xy=(t, -0.3), xytext=(t, -0.9), arrowprops=dict(arrowstyle="->"))
        ax.text(t, -1.1, label, ha="center", fontsize=8)
        ax.annotate("", xy=(t + 0.62, 0.08), xytext=(t + 0.32, 0.08), arrowprops=dict(arrowstyle="->"))
        ax.annotate("", xy=(t + 0.32, -0.1), xytext=(t + 0.62, -0.1), arrowprops=dict(arrowstyle="->", color="C3"))
    ax.text(-0.65, 0.0, "h₀", ha="center", va="center", fontsize=8)
    ax.text(shown - 0.3, 0.08, "h_T → head → L", fontsize=8, va="center")
    ax.text(shown / 2 - 0.5, 0.75, "forward: hₜ = tanh(W_ih xₜ + W_hh hₜ₋₁ + b) — the SAME weights at every step",
            ha="center", fontsize=7.5)
    ax.text(shown / 2 - 0.5, 1.25, "backward (red): ∂L/∂hₜ₋₁ = W_hhᵀ diag(1 − hₜ²) ∂L/∂hₜ, once per step back",
            ha="center", fontsize=7.5, color="C3")
    ax.text(shown - 1.5, 0.35, "(steps 5 … T − 1)", fontsize=7, ha="center", color="gray")
    ax.set_title("a recurrent cell unrolled through time", fontsize=9)


def recurrent(out_dir, forget_bias=3.0):
    """The unrolled cell, and ‖∂L/∂xₜ‖ against t for a tanh RNN, an LSTM as initialised, and an LSTM with its
    forget gate opened (bias 3), on the remember-the-first-number task."""
    generator = cr.Generator().manual_seed(0)
    x, y = memory_task(generator)
    variants = {"tanh RNN": (nn.RNN, None), "LSTM (default init)": (nn.LSTM, None),
                f"LSTM, forget bias {forget_bias:g}": (nn.LSTM, forget_bias)}
    norms, models = {}, {}
    for name, (cell, bias) in variants.items():
        with seeded(0):
            models[name] = SequenceClassifier(cell, bias)
        norms[name] = gradients_through_time(models[name], x, y)
    digits, digit_labels = digit_rows()
    digit_norms = {}
    for name, (cell, bias) in variants.items():
        with seeded(0):
            model = SequenceClassifier(cell, bias, input_size=28, classes=10)
        digit_norms[name] = gradients_through_time(model, digits, digit_labels)
    digit_ratios = {name: float(n[0] / n[-1]) for name, n in digit_norms.items()}
    rnn = models["tanh RNN"].rnn
    unrolled = unrolled_tanh_rnn(rnn, x)
    with cr.no_grad():
        unrolled_difference = float((unrolled[-1] - rnn(x)[0][:, -1]).abs().max().item())
    open_gate = float(cr.tensor(forget_bias).sigmoid().item())       # σ(b_f): the gate before the small weights act
    recurrent_norm = float(cr.linalg.matrix_norm(rnn.weight_hh_l0.detach(), 2).item())
    ratios = {name: float(n[0] / n[-1]) for name, n in norms.items()}
    # The fitted factor per step BACK in time: log ‖∂L/∂xₜ‖ falls by −slope as t decreases by one.
    decay = {name: float(numpy.exp(-numpy.polyfit(numpy.arange(STEPS), numpy.log(n), 1)[0])) for name, n in norms.items()}

    figure = Figure(figsize=(19, 4.2), layout="constrained")
    grid = figure.add_gridspec(1, 4, width_ratios=[1.5, 1, 1, 1])
    diagram_ax, norm_ax, digits_ax, state_ax = (figure.add_subplot(grid[0, i]) for i in range(4))
    _draw_unrolled(diagram_ax)
    for i, (name, n) in enumerate(norms.items()):
        norm_ax.semilogy(numpy.arange(1, STEPS + 1), n, "o-", ms=2.5, color=f"C{i}",
                         label=f"{name}: ×{decay[name]:.3f} per step back")
    norm_ax.set_xlabel("time step t of the input")
    norm_ax.set_ylabel("‖∂L/∂xₜ‖ (mean over the batch)")
    norm_ax.set_title(f"what the loss at t = {STEPS} hears of each step", fontsize=9)
    norm_ax.legend(fontsize=7, loc="lower right")
    for i, (name, n) in enumerate(digit_norms.items()):
        digits_ax.semilogy(numpy.arange(1, 29), n, "o-", ms=2.5, color=f"C{i}", label=name)
    digits_ax.set_xlabel("row t of the digit (the top rows are blank)")
    digits_ax.set_ylabel("‖∂L/∂xₜ‖ (mean over the batch)")
    digits_ax.set_title("the same on digits read row by row (T = 28)", fontsize=9)
    digits_ax.legend(fontsize=7, loc="lower right")
    positions = numpy.arange(len(norms))
    state_ax.bar(positions - 0.2, [ratios[name] for name in norms], 0.4, color="C0", label=f"memory task, T = {STEPS}")
    state_ax.bar(positions + 0.2, [digit_ratios[name] for name in norms], 0.4, color="C1", label="digit rows, T = 28")
    state_ax.set_xticks(positions, [name.replace(", ", "\n") for name in norms])
    state_ax.legend(fontsize=7, loc="upper left")
    state_ax.set_yscale("log")
    state_ax.set_ylabel("‖∂L/∂x₁‖ / ‖∂L/∂x_T‖")
    state_ax.set_xlabel("recurrent layer")
    state_ax.tick_params(axis="x", labelsize=7)
    state_ax.set_title("the first step's share of the gradient", fontsize=9)
    figures = save_figure(figure, out_dir, "rnn")

    text = (
        "A recurrent layer applies one cell with the same weights at every step: hₜ = tanh(W_ih xₜ + W_hh hₜ₋₁ + b) "
        "for a tanh RNN. Unrolled through time it is a deep network, T layers deep, whose layers share their weights; "
        f"written out step by step with the layer's own weights it gives the same h_T as the fused layer "
        f"(largest difference {unrolled_difference:.1e}).\n"
        "Backpropagation through time multiplies by (∂hₜ/∂hₜ₋₁)ᵀ = W_hhᵀ diag(1 − hₜ²) once per step back; its norm is "
        f"at most ‖W_hh‖₂ = {recurrent_norm:.3f}, and with the tanh slopes 1 − hₜ² < 1 and directions that do not line up "
        f"the gradient shrinks geometrically, here by ×{decay['tanh RNN']:.3f} per step.\n"
        "An LSTM adds a cell state cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ gₜ: along it the gradient is multiplied only by the forget "
        "gate fₜ, no weight matrix and no tanh slope, so with the gate open (fₜ near 1) it passes through time. "
        "As initialised, fₜ = σ(small) ≈ ½ and the LSTM forgets too; the common remedy is a forget-gate bias "
        f"(here {forget_bias:g}: fₜ ≈ σ({forget_bias:g}) = {open_gate:.3f}).\n"
        f"Measured on the memory task (the label is the sign of x₁, T = {STEPS}, batch {BATCH}, hidden {HIDDEN}), "
        "‖∂L/∂x₁‖ / ‖∂L/∂x_T‖ at initialisation:\n"
        + "\n".join(f"  {name}: {ratios[name]:.2e} (fitted decay ×{decay[name]:.4f} per step back)" for name in norms)
        + "\nThe same on real data, bundled digits read row by row (28 steps of 28 pixels, labelled 0–9): "
        + ", ".join(f"{name} {digit_ratios[name]:.2e}" for name in norms) + "."
    )
    result = LabResult("rnn", "Recurrent networks and gradients through time", figures, text,
                       numbers={"first_to_last": ratios, "digit_first_to_last": digit_ratios, "decay_per_step": decay, "open_forget_gate": open_gate,
                                "unrolled_difference": unrolled_difference, "recurrent_norm": recurrent_norm},
                       data={"norms": norms, "digit_norms": digit_norms, "x": x.numpy(), "y": y.numpy(), "models": models})
    return finish(result, out_dir)
