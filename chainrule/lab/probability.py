"""The probability lab: a family across its parameters, Bayes updating, and an MLE fit with its band."""
import numpy

import chainrule as cr
from chainrule.lab.common import LabResult, finish, new_figure, save_figure
from chainrule.probability import Bernoulli, Beta, Normal, beta_bernoulli, fit_mle

FAMILY = ((0.5, 0.5), (1.0, 1.0), (2.0, 2.0), (2.0, 5.0), (5.0, 2.0), (8.0, 8.0))


def probability(out_dir, true_p=0.7, flips=(0, 1, 5, 20, 100), n_fit=200, band_draws=300):
    """Beta(a, b) densities across (a, b); a Beta(2, 2) prior on a coin's p updated by flips into
    Beta(2 + heads, 2 + tails); a Normal fitted by maximum likelihood with a 95% band."""
    grid = numpy.linspace(0.0025, 0.9975, 399)
    grid_tensor = cr.tensor(grid, dtype=cr.float64)
    family = {}
    for a, b in FAMILY:
        family[(a, b)] = Beta(cr.tensor(a, dtype=cr.float64), cr.tensor(b, dtype=cr.float64)).log_prob(grid_tensor).exp().numpy()

    generator = cr.Generator().manual_seed(0)
    coin = Bernoulli(probs=cr.tensor(true_p, dtype=cr.float64)).sample((max(flips),), generator=generator).numpy()
    prior = Beta(cr.tensor(2.0, dtype=cr.float64), cr.tensor(2.0, dtype=cr.float64))
    posteriors = {}
    for n in flips:
        posterior = prior if n == 0 else beta_bernoulli(prior, cr.tensor(coin[:n], dtype=cr.float64))
        posteriors[n] = (posterior.concentration1.item(), posterior.concentration0.item(),
                         posterior.log_prob(grid_tensor).exp().numpy())

    data = Normal(cr.tensor(1.5, dtype=cr.float64), cr.tensor(0.8, dtype=cr.float64)).sample((n_fit,), generator=generator)
    fit = fit_mle(Normal, data)
    loc, scale = fit.params["loc"].item(), fit.params["scale"].item()
    se_loc, se_scale = fit.standard_errors["loc"].item(), fit.standard_errors["scale"].item()
    xs = numpy.linspace(data.numpy().min() - 0.5, data.numpy().max() + 0.5, 300)
    xs_tensor = cr.tensor(xs, dtype=cr.float64)
    fitted = Normal(fit.params["loc"], fit.params["scale"]).log_prob(xs_tensor).exp().numpy()
    # The band: densities of parameters drawn from the MLE's asymptotic normal distribution
    # (μ̂ and σ̂ of a Normal are asymptotically independent), pointwise 2.5% and 97.5% quantiles.
    draws_loc = Normal(cr.tensor(loc, dtype=cr.float64), cr.tensor(se_loc, dtype=cr.float64)).sample((band_draws,), generator=generator)
    draws_scale = Normal(cr.tensor(scale, dtype=cr.float64), cr.tensor(se_scale, dtype=cr.float64)).sample((band_draws,), generator=generator)
    densities = Normal(draws_loc.unsqueeze(1), draws_scale.abs().unsqueeze(1)).log_prob(xs_tensor.unsqueeze(0)).exp().numpy()
    band_low, band_high = numpy.percentile(densities, [2.5, 97.5], axis=0)
    intervals = fit.confidence_interval(0.95)

    figure, (family_ax, bayes_ax, fit_ax) = new_figure(3, 1, size=(4.4, 3.8))
    for (a, b), density in family.items():
        family_ax.plot(grid, density, label=f"Beta({a:g}, {b:g})")
    family_ax.set_ylim(0, 4.5)
    family_ax.set_xlabel("p")
    family_ax.set_ylabel("density")
    family_ax.set_title("the Beta family: p^(a−1)(1−p)^(b−1)/B(a, b)", fontsize=9)
    family_ax.legend(fontsize=7)
    for n, (a, b, density) in posteriors.items():
        bayes_ax.plot(grid, density, label=f"after {n} flips: Beta({a:g}, {b:g})")
    bayes_ax.axvline(true_p, color="black", ls=":", label=f"true p = {true_p}")
    bayes_ax.set_xlabel("p")
    bayes_ax.set_ylabel("posterior density")
    bayes_ax.set_title("prior Beta(2, 2) → posterior as flips arrive", fontsize=9)
    bayes_ax.legend(fontsize=7)
    fit_ax.hist(data.numpy(), bins=25, density=True, color="#cccccc", label=f"{n_fit} samples")
    fit_ax.fill_between(xs, band_low, band_high, color="C0", alpha=0.3, label="95% band (parameter uncertainty)")
    fit_ax.plot(xs, fitted, color="C0", label=f"MLE N({loc:.3f}, {scale:.3f}²)")
    fit_ax.set_title("maximum likelihood fit", fontsize=9)
    fit_ax.set_xlabel("x")
    fit_ax.set_ylabel("density")
    fit_ax.legend(fontsize=7, loc="upper left")
    figures = save_figure(figure, out_dir, "probability")

    heads = int(coin.sum())
    text = (
        "Beta(a, b) has density p^(a−1)(1−p)^(b−1)/B(a, b): a − 1 prior successes and b − 1 failures.\n"
        f"Bayes: posterior ∝ likelihood × prior; with a Beta(2, 2) prior and h heads in n flips the posterior is "
        f"Beta(2 + h, 2 + n − h). After {max(flips)} flips of a p = {true_p} coin ({heads} heads) it is "
        f"Beta({posteriors[max(flips)][0]:g}, {posteriors[max(flips)][1]:g}), mean "
        f"{posteriors[max(flips)][0] / (posteriors[max(flips)][0] + posteriors[max(flips)][1]):.3f}.\n"
        f"MLE of a Normal on {n_fit} samples: μ̂ = x̄ = {loc:.4f} ± {se_loc:.4f}, σ̂ = {scale:.4f} ± {se_scale:.4f} "
        f"(standard errors from the observed information: σ̂/√n and σ̂/√(2n)); 95% intervals "
        f"μ ∈ [{intervals['loc'][0].item():.3f}, {intervals['loc'][1].item():.3f}], "
        f"σ ∈ [{intervals['scale'][0].item():.3f}, {intervals['scale'][1].item():.3f}]."
    )
    result = LabResult("probability", "Distributions, Bayes and maximum likelihood", figures, text,
                       numbers={"posterior_parameters": {n: posteriors[n][:2] for n in flips}, "heads": heads,
                                "mle": {"loc": loc, "scale": scale}, "standard_errors": {"loc": se_loc, "scale": se_scale}},
                       data={"grid": grid, "family": family, "coin": coin, "posteriors": posteriors,
                             "fit_data": data.numpy(), "band": (xs, band_low, band_high, fitted)})
    return finish(result, out_dir)
