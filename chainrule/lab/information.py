"""The information-theory lab: entropy of a coin, cross-entropy = entropy + KL, and why minimising
cross-entropy is maximum likelihood."""
import numpy

import chainrule as cr
from chainrule import optim
from chainrule.information import cross_entropy, entropy, kl_divergence
from chainrule.lab.common import LabResult, finish, new_figure, save_figure
from chainrule.probability import Bernoulli

TRUE_P = (0.5, 0.25, 0.15, 0.1)
MODELS = {"q₁ (close)": (0.4, 0.3, 0.2, 0.1), "q₂ (uniform)": (0.25, 0.25, 0.25, 0.25),
          "q₃ (far)": (0.1, 0.2, 0.3, 0.4)}


def fit_coin_by_cross_entropy(flips, steps=200, lr=0.5):
    """Fit q = σ(θ) to coin flips by gradient descent on the mean negative log-likelihood (the
    cross-entropy of the flips' empirical distribution with q); returns the path of q."""
    theta = cr.tensor(0.0, dtype=cr.float64, requires_grad=True)
    optimizer = optim.SGD([theta], lr=lr)
    data = cr.tensor(flips, dtype=cr.float64)
    path = []
    for _ in range(steps):
        optimizer.zero_grad()
        nll = -Bernoulli(logits=theta).log_prob(data).mean()
        nll.backward()
        optimizer.step()
        path.append(float(theta.sigmoid().item()))
    return numpy.array(path)


def information(out_dir, flips_count=60, coin_p=0.7):
    """H(p) of a coin against p; H(p, q) = H(p) + KL(p ‖ q) as stacked bars; the average NLL of coin
    flips under q equals H(p̂, q) and is smallest at q = p̂, where gradient descent ends."""
    p_grid = numpy.linspace(0.0, 1.0, 201)
    coin = cr.tensor(numpy.stack([p_grid, 1 - p_grid], 1), dtype=cr.float64)
    coin_entropy = entropy(coin, base=2).numpy()

    p = cr.tensor(TRUE_P, dtype=cr.float64)
    entropy_p = float(entropy(p, base=2).item())
    decomposition = {}
    for name, q in MODELS.items():
        q = cr.tensor(q, dtype=cr.float64)
        decomposition[name] = {"cross_entropy": float(cross_entropy(p, q, base=2).item()),
                               "kl": float(kl_divergence(p, q, base=2).item())}

    flips = Bernoulli(probs=cr.tensor(coin_p, dtype=cr.float64)).sample(
        (flips_count,), generator=cr.Generator().manual_seed(0)).numpy()
    empirical = float(flips.mean())
    q_grid = numpy.linspace(0.02, 0.98, 97)
    q_tensor = cr.tensor(q_grid, dtype=cr.float64)
    data = cr.tensor(flips, dtype=cr.float64)
    nll = -Bernoulli(probs=q_tensor.unsqueeze(1)).log_prob(data.unsqueeze(0)).mean(1).numpy()
    p_hat = cr.tensor([[empirical, 1 - empirical]], dtype=cr.float64).expand(len(q_grid), 2)
    ce_curve = cross_entropy(p_hat, cr.stack([q_tensor, 1 - q_tensor], 1)).numpy()
    path = fit_coin_by_cross_entropy(flips)

    figure, (coin_ax, dist_ax, bars_ax, mle_ax) = new_figure(4, 1, size=(4.2, 3.9))
    coin_ax.plot(p_grid, coin_entropy)
    coin_ax.plot(0.5, 1.0, "o", color="C3", label="fair coin: 1 bit, the most uncertain")
    coin_ax.set_xlabel("p = P(heads)")
    coin_ax.set_ylabel("H(p) in bits")
    coin_ax.set_title("H(p) = −p log₂ p − (1 − p) log₂(1 − p)", fontsize=9)
    coin_ax.legend(fontsize=7, loc="lower center")
    outcomes = numpy.arange(len(TRUE_P))
    width = 0.2
    dist_ax.bar(outcomes - 1.5 * width, TRUE_P, width, color="black", label="p (the truth)")
    for i, (name, q) in enumerate(MODELS.items()):
        dist_ax.bar(outcomes + (i - 0.5) * width, q, width, color=f"C{i}", label=name)
    dist_ax.set_xticks(outcomes, [f"x = {x}" for x in outcomes])
    dist_ax.set_xlabel("outcome")
    dist_ax.set_ylabel("probability")
    dist_ax.set_title("a distribution p and three models q", fontsize=9)
    dist_ax.legend(fontsize=7)
    names = list(MODELS)
    bars_ax.bar(names, [entropy_p] * len(names), color="#999999", label=f"H(p) = {entropy_p:.3f} bits")
    bars_ax.bar(names, [decomposition[n]["kl"] for n in names], bottom=entropy_p, color="C3", label="KL(p ‖ q)")
    for i, name in enumerate(names):
        bars_ax.text(i, decomposition[name]["cross_entropy"] + 0.03, f"H(p, q) = {decomposition[name]['cross_entropy']:.3f}",
                     ha="center", fontsize=7)
    bars_ax.set_ylabel("bits")
    bars_ax.set_xlabel("model q")
    bars_ax.set_ylim(0, max(d["cross_entropy"] for d in decomposition.values()) * 1.2)
    bars_ax.set_title("cross-entropy = entropy + KL divergence", fontsize=9)
    bars_ax.legend(fontsize=7, loc="upper left")
    mle_ax.plot(q_grid, nll, lw=3, alpha=0.5, label="−(1/n) Σ log q(xᵢ): mean NLL of the flips")
    mle_ax.plot(q_grid, ce_curve, "k--", lw=1, label="H(p̂, q), p̂ = the flips' frequencies")
    mle_ax.axvline(empirical, color="C3", ls=":", label=f"p̂ = {empirical:.3f} (the MLE)")
    mle_ax.plot(path[-1], -Bernoulli(probs=cr.tensor(path[-1], dtype=cr.float64)).log_prob(data).mean().item(), "*",
                color="C2", ms=12, label=f"gradient descent ends at q = {path[-1]:.4f}")
    mle_ax.set_xlabel("model q = P(heads)")
    mle_ax.set_ylabel("nats")
    mle_ax.set_title(f"{flips_count} flips of a p = {coin_p} coin: minimising H(p̂, q) is MLE", fontsize=9)
    mle_ax.legend(fontsize=7, loc="upper center")
    figures = save_figure(figure, out_dir, "information")

    text = (
        "Entropy H(p) = −Σ p(x) log p(x) is the average surprise −log p(x) of a draw; for a coin it is largest, "
        "1 bit, at p = ½ and 0 for a sure outcome.\n"
        "Cross-entropy H(p, q) = −Σ p(x) log q(x) is the average surprise when the data come from p but are coded "
        "or predicted with q. It splits as H(p, q) = H(p) + KL(p ‖ q), KL(p ‖ q) = Σ p log(p/q) ≥ 0, zero iff q = p:\n"
        + "\n".join(f"  {name}: H(p, q) = {d['cross_entropy']:.4f} = H(p) {entropy_p:.4f} + KL {d['kl']:.4f} bits"
                    for name, d in decomposition.items()) + "\n"
        "With p̂ the empirical distribution of data x₁…xₙ, H(p̂, q) = −(1/n) Σ log q(xᵢ), the mean negative "
        "log-likelihood: minimising cross-entropy is maximum likelihood, and since H(p̂) does not depend on q, it is "
        f"also minimising KL(p̂ ‖ q). {flips_count} flips, {int(flips.sum())} heads: the NLL curve is lowest at "
        f"q = p̂ = {empirical:.4f}; gradient descent on q = σ(θ) ends at {path[-1]:.6f}."
    )
    result = LabResult("information", "Information theory: entropy, cross-entropy, KL", figures, text,
                       numbers={"entropy_p_bits": entropy_p, "decomposition": decomposition, "empirical": empirical,
                                "gradient_descent_q": float(path[-1]), "fair_coin_bits": float(coin_entropy[100])},
                       data={"p_grid": p_grid, "coin_entropy": coin_entropy, "flips": flips, "q_grid": q_grid,
                             "nll": nll, "cross_entropy_curve": ce_curve, "path": path})
    return finish(result, out_dir)
