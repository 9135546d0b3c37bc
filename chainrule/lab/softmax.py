"""The softmax lab: temperature from uniform to one-hot, its Jacobian, and the log-sum-exp trick."""
import math

import numpy

import chainrule as cr
from chainrule.func import jacobian
from chainrule.information import entropy
from chainrule.lab.common import LabResult, finish, new_figure, save_figure

LOGITS = (2.0, 1.0, 0.5, 0.0, -1.0)


def naive_logsumexp(x):
    """log Σ exp(xᵢ) exactly as written: exp overflows to inf for xᵢ > ln(max float) ≈ 709.8 (float64)."""
    return x.exp().sum(-1).log()


def naive_softmax(x):
    """exp(xᵢ)/Σ exp(xⱼ) as written: inf/inf = nan once the exponentials overflow."""
    e = x.exp()
    return e / e.sum(-1, keepdim=True)


def softmax(out_dir):
    """softmax(z/T) as the temperature T sweeps from near 0 (one-hot) to large (uniform); the Jacobian
    ∂sᵢ/∂zⱼ = sᵢ(δᵢⱼ − sⱼ) by autodiff as a heatmap; and log Σ exp computed naively (overflowing) and with
    the max shifted out (stable)."""
    z = cr.tensor(LOGITS, dtype=cr.float64)
    temperatures = numpy.geomspace(0.05, 50, 121)
    probabilities = numpy.stack([cr.softmax(z / t, 0).numpy() for t in temperatures])
    entropies = entropy(cr.tensor(probabilities, dtype=cr.float64)).numpy()
    s = cr.softmax(z, 0).numpy()
    J = jacobian(lambda logits: cr.softmax(logits, 0))(z).numpy()

    scales = numpy.linspace(1, 1000, 400)
    rows = cr.tensor(scales[:, None] * numpy.array([1.0, 0.5, 0.0]), dtype=cr.float64)
    with numpy.errstate(over="ignore", invalid="ignore"):
        naive = naive_logsumexp(rows).numpy()
        naive_probabilities = naive_softmax(rows).numpy()
    stable = cr.logsumexp(rows, -1).numpy()
    overflow_at = float(scales[numpy.argmax(~numpy.isfinite(naive))])
    stable_probabilities = cr.softmax(rows, -1).numpy()

    figure, (temperature_ax, entropy_ax, jacobian_ax, lse_ax) = new_figure(4, 1, size=(4.2, 3.9))
    for i, logit in enumerate(LOGITS):
        temperature_ax.semilogx(temperatures, probabilities[:, i], label=f"z = {logit:g}")
    temperature_ax.axhline(1 / len(LOGITS), color="gray", ls=":", label="uniform 1/C")
    temperature_ax.set_xlabel("temperature T")
    temperature_ax.set_ylabel("softmax(z/T)ᵢ")
    temperature_ax.set_title("T → 0: one-hot on the largest z; T → ∞: uniform", fontsize=9)
    temperature_ax.legend(fontsize=7)
    entropy_ax.semilogx(temperatures, entropies, color="black")
    entropy_ax.axhline(math.log(len(LOGITS)), color="gray", ls=":", label=f"ln C = {math.log(len(LOGITS)):.3f} (uniform)")
    entropy_ax.set_xlabel("temperature T")
    entropy_ax.set_ylabel("entropy H(softmax(z/T)) in nats")
    entropy_ax.set_title("the entropy rises from 0 to ln C with T", fontsize=9)
    entropy_ax.legend(fontsize=7, loc="lower right")
    limit = numpy.abs(J).max()
    image = jacobian_ax.imshow(J, cmap="RdBu_r", vmin=-limit, vmax=limit)
    figure.colorbar(image, ax=jacobian_ax, label="∂sᵢ/∂zⱼ")
    for (i, j), value in numpy.ndenumerate(J):
        jacobian_ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=6.5)
    jacobian_ax.set_xticks(range(len(LOGITS)), [f"z{j + 1}" for j in range(len(LOGITS))])
    jacobian_ax.set_yticks(range(len(LOGITS)), [f"s{i + 1}" for i in range(len(LOGITS))])
    jacobian_ax.set_xlabel("input zⱼ")
    jacobian_ax.set_ylabel("output sᵢ")
    jacobian_ax.set_title("Jacobian at T = 1: diag(s) − s sᵀ (rows sum to 0)", fontsize=9)
    lse_ax.plot(scales, stable, lw=3, alpha=0.5, label="stable: m + log Σ exp(xᵢ − m), m = max x")
    lse_ax.plot(scales, numpy.where(numpy.isfinite(naive), naive, numpy.nan), "k--", label="naive log Σ exp(xᵢ)")
    lse_ax.axvline(overflow_at, color="C3", ls=":", label=f"naive overflows to inf at c ≈ {overflow_at:.0f}")
    lse_ax.set_xlabel("scale c of the logits x = c·(1, 0.5, 0)")
    lse_ax.set_ylabel("log Σ exp(x)")
    lse_ax.set_title("log-sum-exp: exp(710) overflows float64", fontsize=9)
    lse_ax.legend(fontsize=7, loc="upper left")
    figures = save_figure(figure, out_dir, "softmax")

    last = len(scales) - 1
    text = (
        "softmax(z)ᵢ = exp(zᵢ)/Σⱼ exp(zⱼ) turns scores into probabilities; dividing by a temperature T sharpens "
        "(T < 1) or flattens (T > 1) them: as T → 0 it tends to the one-hot of the largest z (entropy 0), as T → ∞ "
        f"to uniform (entropy ln C = {math.log(len(LOGITS)):.4f}). Here z = {list(LOGITS)}: at T = "
        f"{temperatures[0]:g} the top probability is {probabilities[0].max():.4f}, at T = {temperatures[-1]:g} the "
        f"entropy is {entropies[-1]:.4f}.\n"
        "Its Jacobian is ∂sᵢ/∂zⱼ = sᵢ(δᵢⱼ − sⱼ), i.e. diag(s) − s sᵀ: symmetric, each row sums to 0 (adding a "
        "constant to every z changes nothing); computed here by autodiff (chainrule.func.jacobian), largest "
        f"entry {J.max():.4f} = s₁(1 − s₁) on the diagonal.\n"
        "Computed as written, exp(x) overflows float64 for x > ln(1.8·10³⁰⁸) ≈ 709.8: for logits c·(1, 0.5, 0) "
        f"the naive log Σ exp is inf from c ≈ {overflow_at:.0f} and the naive softmax is nan (inf/inf). "
        "Shifting by the maximum, log Σ exp(xᵢ) = m + log Σ exp(xᵢ − m), keeps every exponent ≤ 0: at c = 1000 "
        f"it gives {stable[last]:.6f} and softmax {numpy.round(stable_probabilities[last], 6).tolist()} "
        f"(naive: {naive[last]}, {naive_probabilities[last].tolist()})."
    )
    result = LabResult("softmax", "Softmax: temperature, Jacobian, log-sum-exp", figures, text,
                       numbers={"overflow_scale": overflow_at, "stable_at_1000": float(stable[last]),
                                "jacobian_max": float(J.max())},
                       data={"temperatures": temperatures, "probabilities": probabilities, "entropies": entropies,
                             "softmax": s, "jacobian": J, "scales": scales, "naive": naive, "stable": stable,
                             "naive_probabilities": naive_probabilities, "stable_probabilities": stable_probabilities})
    return finish(result, out_dir)
