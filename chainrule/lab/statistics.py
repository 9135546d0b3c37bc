"""The statistics lab: a test as its null distribution, intervals that cover (or not), and two trained
models compared honestly on the same test set."""
import numpy

import chainrule as cr
import chainrule.nn as nn
from chainrule import optim, stats
from chainrule.data import make_moons
from chainrule.lab.common import LabResult, finish, new_figure, save_figure, seeded
from chainrule.probability import Normal, StudentT


def null_distribution(statistic, df, grid_points=4001, half_width=8.0):
    """The t density under H₀ on a grid, and the two-sided p-value as the area where |T| ≥ |t| (trapezoid)."""
    # The observed ±|t| are grid points, so the shaded region starts exactly there.
    grid = numpy.union1d(numpy.linspace(-half_width, half_width, grid_points), [-abs(statistic), abs(statistic)])
    density = StudentT(cr.tensor(float(df), dtype=cr.float64)).log_prob(cr.tensor(grid, dtype=cr.float64)).exp().numpy()
    area = 0.0
    for side in (grid <= -abs(statistic), grid >= abs(statistic)):
        area += float(numpy.trapezoid(density[side], grid[side]))
    return grid, density, area


def coverage(true_mean=2.0, sigma=1.0, n=10, repetitions=100, level=0.95, seed=0):
    """``repetitions`` samples of size n from N(μ, σ²), the t interval x̄ ± t·s/√n of each, and which cover μ."""
    generator = cr.Generator().manual_seed(seed)
    samples = Normal(cr.tensor(true_mean, dtype=cr.float64), cr.tensor(sigma, dtype=cr.float64)).sample(
        (repetitions, n), generator=generator).numpy()
    intervals = [stats.t_confidence_interval(sample, level) for sample in samples]
    covers = numpy.array([ci.low <= true_mean <= ci.high for ci in intervals])
    return samples, intervals, covers


def train_classifier(model, X, y, steps=300, lr=0.05):
    optimizer = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(model(X), y).backward()
        optimizer.step()
    return model


def compare_models(n_train=200, n_test=500, n_resamples=4000, seed=0):
    """A linear classifier against a small MLP on the two moons, scored on the same held-out points:
    McNemar's test on their paired correctness, and a paired bootstrap interval of the accuracy difference."""
    X, y = make_moons(n_train, noise=0.25, seed=seed)
    X_test, y_test = make_moons(n_test, noise=0.25, seed=seed + 1)
    X, y, X_test = cr.tensor(X), cr.tensor(y), cr.tensor(X_test)
    with seeded(seed):
        models = {"linear": nn.Linear(2, 2), "MLP 2-16-2": nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))}
    correct = {}
    for name, model in models.items():
        train_classifier(model, X, y)
        with cr.no_grad():
            correct[name] = (model(X_test).numpy().argmax(1) == y_test).astype(numpy.int64)
    a, b = correct["linear"], correct["MLP 2-16-2"]
    table = numpy.array([[int(((a == 1) & (b == 1)).sum()), int(((a == 1) & (b == 0)).sum())],
                         [int(((a == 0) & (b == 1)).sum()), int(((a == 0) & (b == 0)).sum())]])
    mcnemar = stats.mcnemar_test(table.tolist())
    difference = b - a                             # per test point: +1 the MLP alone is right, −1 the linear alone
    generator = cr.Generator().manual_seed(seed + 2)
    indices = generator.integers(0, len(difference), (n_resamples, len(difference)), numpy.int64)
    replicates = difference[indices].mean(axis=1)
    interval = stats.bootstrap_confidence_interval(difference.astype(float), level=0.95, n_resamples=n_resamples,
                                                   method="percentile", generator=cr.Generator().manual_seed(seed + 2))
    return {"correct": correct, "table": table, "mcnemar": mcnemar, "replicates": replicates, "interval": interval,
            "accuracy": {name: float(c.mean()) for name, c in correct.items()}, "y_test": y_test}


def statistics(out_dir):
    """A two-sample t test drawn as its null distribution with the shaded p-value; 100 confidence
    intervals with their coverage counted; two trained classifiers compared by McNemar and a bootstrap."""
    generator = cr.Generator().manual_seed(4)
    group_a = Normal(cr.tensor(0.0, dtype=cr.float64), cr.tensor(1.0, dtype=cr.float64)).sample((15,), generator=generator).numpy()
    group_b = Normal(cr.tensor(0.8, dtype=cr.float64), cr.tensor(1.0, dtype=cr.float64)).sample((15,), generator=generator).numpy()
    test = stats.ttest_independent(group_b, group_a)
    grid, density, shaded_area = null_distribution(test.statistic, test.df)
    samples, intervals, covers = coverage()
    comparison = compare_models()

    figure, (null_ax, ci_ax, table_ax, boot_ax) = new_figure(4, 1, size=(4.3, 4.0))
    null_ax.plot(grid, density, color="black", label=f"t distribution, ν = {test.df:g} (H₀: equal means)")
    for side in (grid <= -abs(test.statistic), grid >= abs(test.statistic)):
        null_ax.fill_between(grid[side], density[side], color="C3", alpha=0.5)
    null_ax.axvline(test.statistic, color="C3", label=f"observed t = {test.statistic:.3f}")
    null_ax.fill_between([], [], color="C3", alpha=0.5, label=f"p = shaded area = {shaded_area:.4f}")
    null_ax.set_xlim(-5, 5)
    null_ax.set_xlabel("t = (x̄_B − x̄_A) / (s_p √(1/n_A + 1/n_B))")
    null_ax.set_ylabel("density under H₀")
    null_ax.set_title(f"two-sample t test, n = 15 + 15: p = {test.pvalue:.4f}", fontsize=9)
    null_ax.legend(fontsize=7, loc="upper left")
    for i, (ci, cover) in enumerate(zip(intervals, covers)):
        ci_ax.plot([ci.low, ci.high], [i, i], color="C0" if cover else "C3", lw=1.2 if cover else 2)
        ci_ax.plot(ci.estimate, i, ".", color="gray", ms=2)
    ci_ax.axvline(2.0, color="black", ls="--", label="true mean μ = 2")
    ci_ax.set_xlabel("95% t interval x̄ ± t₀.₉₇₅,₉ s/√10")
    ci_ax.set_ylabel("repetition")
    ci_ax.set_title(f"{int(covers.sum())} of {len(covers)} intervals cover μ (red: the misses)", fontsize=9)
    ci_ax.legend(fontsize=7, loc="lower right")
    table = comparison["table"]
    table_ax.imshow(table, cmap="Blues")
    names = ["MLP right", "MLP wrong"]
    for (row, column), count in numpy.ndenumerate(table):
        table_ax.text(column, row, str(count), ha="center", va="center", fontsize=12,
                      color="white" if count > table.max() / 2 else "black")
    table_ax.set_xticks([0, 1], names)
    table_ax.set_yticks([0, 1], ["linear right", "linear wrong"])
    table_ax.set_xlabel("MLP 2-16-2 on each test point")
    table_ax.set_ylabel("linear classifier")
    mcnemar = comparison["mcnemar"]
    table_ax.set_title(f"paired outcomes on {table.sum()} test points; McNemar on the\n"
                       f"discordant {table[0, 1]} vs {table[1, 0]}: p = {mcnemar.pvalue:.2g}", fontsize=9)
    interval = comparison["interval"]
    boot_ax.hist(comparison["replicates"], bins=40, color="#bbbbbb", density=True, label="bootstrap replicates")
    boot_ax.axvline(interval.estimate, color="black", label=f"observed difference {interval.estimate:+.3f}")
    boot_ax.axvspan(interval.low, interval.high, color="C2", alpha=0.25,
                    label=f"95% interval [{interval.low:+.3f}, {interval.high:+.3f}]")
    boot_ax.axvline(0, color="C3", ls=":", label="no difference")
    boot_ax.set_xlabel("accuracy(MLP) − accuracy(linear)")
    boot_ax.set_ylabel("density")
    boot_ax.set_title("paired bootstrap of the accuracy difference", fontsize=9)
    boot_ax.legend(fontsize=7, loc="upper left")
    figures = save_figure(figure, out_dir, "statistics")

    accuracy = comparison["accuracy"]
    text = (
        "A hypothesis test asks how surprising the data would be if nothing were going on (H₀). For two groups, "
        "t = (x̄_B − x̄_A)/(s_p √(1/n_A + 1/n_B)) follows Student's t with n_A + n_B − 2 degrees of freedom under H₀; "
        "the p-value is the probability, under H₀, of a t at least as far from 0 as the one observed: the shaded area.\n"
        f"  observed t = {test.statistic:.4f}, ν = {test.df:g}; p from the test = {test.pvalue:.5f}, shaded area "
        f"integrated on the plot's grid = {shaded_area:.5f}; Cohen's d = {test.effect_size:.3f}.\n"
        "A 95% confidence interval is a procedure that covers the true value in 95% of repetitions, not a 95% "
        f"chance for one interval: of {len(covers)} samples of 10 from N(2, 1), {int(covers.sum())} t intervals "
        f"covered μ = 2 (the count is itself binomial: expect {0.95 * len(covers):.0f} ± "
        f"{(0.95 * 0.05 * len(covers)) ** 0.5:.1f}).\n"
        f"Two classifiers on the same {table.sum()} test points: linear {accuracy['linear']:.3f}, MLP "
        f"{accuracy['MLP 2-16-2']:.3f}. Their errors are paired, so compare them pair by pair: McNemar's test uses only "
        f"the discordant points ({table[0, 1]} where only the linear model is right, {table[1, 0]} where only the MLP "
        f"is): {mcnemar}. The paired bootstrap (resample test points, keep each point's pair of outcomes) gives a 95% "
        f"interval [{interval.low:+.4f}, {interval.high:+.4f}] for the accuracy difference "
        f"{interval.estimate:+.4f}" + (": it excludes 0." if interval.low > 0 or interval.high < 0 else ": it includes 0.")
    )
    result = LabResult("statistics", "Hypothesis tests, intervals, and comparing models", figures, text,
                       numbers={"t": test.statistic, "df": test.df, "pvalue": test.pvalue, "shaded_area": shaded_area,
                                "coverage": int(covers.sum()), "repetitions": len(covers),
                                "mcnemar_pvalue": mcnemar.pvalue, "accuracy": accuracy,
                                "difference_interval": (interval.low, interval.high)},
                       data={"groups": (group_a, group_b), "null": (grid, density), "samples": samples,
                             "intervals": intervals, "covers": covers, "comparison": comparison})
    return finish(result, out_dir)
