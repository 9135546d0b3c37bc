"""The regularization lab: L1 against L2 weight paths, and over-fitting held back by weight decay and dropout."""
import numpy

import chainrule as cr
import chainrule.nn as nn
from chainrule import linalg, optim
from chainrule.lab.common import LabResult, finish, new_figure, save_figure, seeded

TRUE_WEIGHTS = (3.0, -2.0, 0.0, 0.0, 1.5, 0.0, 0.0, 0.0)


def regression_data(n_samples=60, noise=0.5, seed=0):
    """Correlated features X (n × 8) and y = X w* + noise with a sparse w* (``TRUE_WEIGHTS``)."""
    generator = cr.Generator().manual_seed(seed)
    d = len(TRUE_WEIGHTS)
    mixing = numpy.eye(d) + 0.3 * numpy.ones((d, d)) / d      # some correlation between the features
    X = cr.randn(n_samples, d, dtype=cr.float64, generator=generator) @ cr.tensor(mixing, dtype=cr.float64)
    y = X @ cr.tensor(TRUE_WEIGHTS, dtype=cr.float64) + noise * cr.randn(n_samples, dtype=cr.float64, generator=generator)
    return X, y


def ridge_path(X, y, penalties):
    """w(λ) minimising (1/2n)‖y − Xw‖² + (λ/2)‖w‖²: the solution of (XᵀX/n + λI) w = Xᵀy/n, for each λ."""
    n, d = X.shape
    gram, moment = X.mT @ X / n, X.mT @ y / n
    return numpy.stack([linalg.solve(gram + lam * cr.eye(d, dtype=cr.float64), moment).numpy() for lam in penalties])


def lasso_path(X, y, penalties, iterations=400):
    """w(λ) minimising (1/2n)‖y − Xw‖² + λ‖w‖₁ by proximal gradient descent (ISTA), warm-started from the
    previous λ: a gradient step on the smooth part, then the soft threshold S(w, ηλ) = sign(w)·max(|w| − ηλ, 0)."""
    n, d = X.shape
    gram, moment = X.mT @ X / n, X.mT @ y / n
    step = 1.0 / float(linalg.eigvalsh(gram).numpy().max())       # 1/L, L the gradient's Lipschitz constant
    w = cr.zeros(d, dtype=cr.float64)
    path = []
    for lam in penalties:
        for _ in range(iterations):
            moved = w - step * (gram @ w - moment)
            w = moved.sign() * (moved.abs() - step * lam).clamp(min=0.0)
        path.append(w.numpy())
    return numpy.stack(path)


def legendre_features(x, degree):
    """Columns P₀(x) … P_degree(x), the Legendre polynomials (well conditioned on [−1, 1])."""
    return numpy.polynomial.legendre.legvander(x, degree)


def overfitting_runs(degree=15, n_train=20, steps=1000, record_every=20, seed=0):
    """A degree-15 polynomial model (Linear on Legendre features) fitted to 20 noisy points of sin 3x by Adam:
    as is, with weight decay (an L2 penalty 0.01·‖w‖² in the gradient), and with dropout (p = 0.2) on the
    features. Returns the data and, per variant, the train and validation MSE every ``record_every`` steps."""
    rng = numpy.random.default_rng(seed)
    x_train = numpy.sort(rng.uniform(-1, 1, n_train))
    y_train = numpy.sin(3 * x_train) + 0.3 * rng.standard_normal(n_train)
    x_val = numpy.linspace(-1, 1, 200)
    y_val = numpy.sin(3 * x_val)
    train = (cr.tensor(legendre_features(x_train, degree)), cr.tensor(y_train[:, None]))
    val = (cr.tensor(legendre_features(x_val, degree)), cr.tensor(y_val[:, None]))
    variants = {"no regularization": (0.0, 0.0), "weight decay 0.01": (0.01, 0.0), "dropout 0.2": (0.0, 0.2)}
    runs = {}
    loss_fn = nn.MSELoss()
    for name, (decay, dropout) in variants.items():
        with seeded(seed):
            model = nn.Sequential(*([nn.Dropout(dropout)] if dropout else []), nn.Linear(degree + 1, 1))
        optimizer = optim.Adam(model.parameters(), lr=0.05, weight_decay=decay)
        record = {"step": [], "train": [], "val": []}
        for step in range(steps + 1):
            if step % record_every == 0:
                model.eval()
                with cr.no_grad():
                    record["step"].append(step)
                    record["train"].append(loss_fn(model(train[0]), train[1]).item())
                    record["val"].append(loss_fn(model(val[0]), val[1]).item())
            if step == steps:
                break
            model.train()
            optimizer.zero_grad()
            loss_fn(model(train[0]), train[1]).backward()
            optimizer.step()
        model.eval()
        with cr.no_grad():
            record["fit"] = model(val[0]).numpy().ravel()
        runs[name] = {key: numpy.asarray(value) for key, value in record.items()}
    return {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val, "runs": runs}


def regularization(out_dir):
    """L1 and L2 weight paths as the penalty grows (only L1 sets weights to exactly 0), and train against
    validation loss of an over-parameterised polynomial with and without weight decay and dropout."""
    X, y = regression_data()
    penalties = numpy.geomspace(1e-3, 3.0, 30)
    lasso = lasso_path(X, y, penalties)
    ridge = ridge_path(X, y, penalties)
    zeros = (lasso == 0).sum(axis=1)
    study = overfitting_runs()

    figure, (l1_ax, l2_ax, curve_ax, fit_ax) = new_figure(4, 1, size=(4.2, 3.9))
    for j in range(len(TRUE_WEIGHTS)):
        style = "-" if TRUE_WEIGHTS[j] else ":"
        l1_ax.semilogx(penalties, lasso[:, j], style, color=f"C{j}", label=f"w{j + 1} (true {TRUE_WEIGHTS[j]:g})")
        l2_ax.semilogx(penalties, ridge[:, j], style, color=f"C{j}")
    for ax, name in ((l1_ax, "L1 (lasso): λ‖w‖₁"), (l2_ax, "L2 (ridge): (λ/2)‖w‖²")):
        ax.axhline(0, color="black", lw=0.5)
        ax.set_xlabel("penalty λ")
        ax.set_ylabel("fitted weight")
    l1_ax.set_title(f"L1 (lasso): weights hit exactly 0; {zeros[len(penalties) // 2]} of 8 are 0 at λ = "
                    f"{penalties[len(penalties) // 2]:.2g}", fontsize=9)
    l2_ax.set_title("L2 (ridge): weights shrink towards 0, none reaches it", fontsize=9)
    l1_ax.legend(fontsize=6.5, ncols=2, loc="center left", bbox_to_anchor=(0, 0.6))
    for i, (name, run) in enumerate(study["runs"].items()):
        curve_ax.semilogy(run["step"], run["train"], "--", color=f"C{i}", label=f"{name}: train")
        curve_ax.semilogy(run["step"], run["val"], color=f"C{i}", label=f"{name}: validation")
        fit_ax.plot(study["x_val"], run["fit"], color=f"C{i}", label=name)
    curve_ax.set_xlabel("Adam step")
    curve_ax.set_ylabel("mean squared error")
    curve_ax.set_title("degree-15 polynomial, 20 points: train falls, validation rises\nunless regularized",
                       fontsize=9)
    curve_ax.legend(fontsize=6.5)
    fit_ax.plot(study["x_val"], study["y_val"], "k:", label="truth sin 3x")
    fit_ax.plot(study["x_train"], study["y_train"], "ko", ms=4, label="training points")
    fit_ax.set_ylim(-2.5, 2.5)
    fit_ax.set_xlabel("x")
    fit_ax.set_ylabel("y")
    fit_ax.set_title(f"the fitted curves after {study['runs']['dropout 0.2']['step'][-1]} steps", fontsize=9)
    fit_ax.legend(fontsize=6.5, loc="lower right")
    figures = save_figure(figure, out_dir, "regularization")

    runs = study["runs"]
    lines = [f"  {name}: train {run['train'][-1]:.4f}, validation {run['val'][-1]:.4f} (lowest {run['val'].min():.4f} "
             f"at step {run['step'][run['val'].argmin()]})" for name, run in runs.items()]
    text = (
        "A penalty on the weights trades a little training fit for a simpler model. With the L1 penalty λ‖w‖₁ "
        "the minimiser has exactly zero weights once λ exceeds |∂(data loss)/∂wⱼ| at 0 (the soft threshold of the "
        "proximal step); with the L2 penalty (λ/2)‖w‖² every weight shrinks smoothly, w(λ) = (XᵀX/n + λI)⁻¹Xᵀy/n, and "
        f"none reaches zero. Here y = Xw* + noise with w* = {list(TRUE_WEIGHTS)}: exact zeros in the lasso path, from "
        f"λ = {penalties[0]:g} to {penalties[-1]:g}: {zeros.tolist()}; in the ridge path: "
        f"{(ridge == 0).sum(axis=1).max()}.\n"
        "Over-fitting: a degree-15 polynomial (16 weights) on 20 noisy points can pass through the noise. Trained "
        "by Adam it does, and the validation error climbs while the training error falls; a weight decay "
        "(an L2 penalty in the gradient) or dropout on the features (each dropped with p = 0.2 in training, "
        "rescaled by 1/(1 − p)) holds it back:\n" + "\n".join(lines)
    )
    result = LabResult("regularization", "Regularization: L1, L2, weight decay, dropout", figures, text,
                       numbers={"lasso_zeros": zeros.tolist(), "ridge_zeros": int((ridge == 0).sum()),
                                "final_validation": {name: float(run["val"][-1]) for name, run in runs.items()},
                                "final_train": {name: float(run["train"][-1]) for name, run in runs.items()}},
                       data={"X": X.numpy(), "y": y.numpy(), "penalties": penalties, "lasso": lasso, "ridge": ridge,
                             "overfitting": study})
    return finish(result, out_dir)
