"""Labs on optimization: optimizer paths on test functions, step-size regimes, the learning-rate finder."""
import math

import numpy

from matplotlib.figure import Figure

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule import optim
from chainrule.core.tensor import Tensor
from chainrule.data import DataLoader, TensorDataset, make_moons
from chainrule.func import hessian
from chainrule.lab.common import LabResult, finish, new_figure, save_figure, seeded
from chainrule.linalg import eigh
from chainrule.optim.testfunctions import Beale, QuadraticBowl, Rosenbrock

# name → (optimizer factory, learning rate on Rosenbrock, on Beale, gradient noise std on Rosenbrock, on Beale).
# The rates are ones that work for each method on each function; the noise turns GD into a model of SGD.
OPTIMIZERS = {
    "GD": (lambda params, lr: optim.SGD(params, lr=lr), 1.5e-3, 0.05, 0.0, 0.0),
    "GD + gradient noise": (lambda params, lr: optim.SGD(params, lr=lr), 1.5e-3, 0.05, 20.0, 0.3),
    "momentum": (lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9), 1.5e-3, 0.02, 0.0, 0.0),
    "Nesterov": (lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9, nesterov=True), 1.5e-3, 0.01, 0.0, 0.0),
    "Adagrad": (lambda params, lr: optim.Adagrad(params, lr=lr), 1.0, 0.5, 0.0, 0.0),
    "RMSprop": (lambda params, lr: optim.RMSprop(params, lr=lr), 2e-2, 0.02, 0.0, 0.0),
    "Adam": (lambda params, lr: optim.Adam(params, lr=lr), 0.1, 0.05, 0.0, 0.0),
}


def optimizer_paths(function, steps, which, seed=0):
    """Run every optimizer of ``OPTIMIZERS`` from ``function.start``; returns name → (steps + 1, 2) path.

    All optimizers advance together: their points are the rows of one (k, 2)
    tensor, the function is evaluated on all rows at once and one backward pass
    gives each row its own gradient (the sum of the rows' values separates).
    Each optimizer owns a view of its row, so its in-place update moves the row.
    """
    column = {"rosenbrock": (1, 3), "beale": (2, 4)}[which]
    noise = numpy.random.default_rng(seed)
    names = list(OPTIMIZERS)
    stacked = cr.tensor([function.start] * len(names), dtype=cr.float64, requires_grad=True)
    points = [Tensor._wrap(stacked.array[i]).requires_grad_() for i in range(len(names))]
    optimizers = [OPTIMIZERS[name][0]([p], OPTIMIZERS[name][column[0]]) for name, p in zip(names, points)]
    paths = numpy.empty((steps + 1, len(names), 2))
    paths[0] = stacked.array
    for step in range(1, steps + 1):
        stacked.grad = None
        function(stacked).sum().backward()
        for i, (name, p, opt) in enumerate(zip(names, points, optimizers)):
            p.grad = Tensor._wrap(stacked.grad.array[i].copy())
            std = OPTIMIZERS[name][column[1]]
            if std:
                p.grad.array += std * noise.standard_normal(2)
            opt.step()
        paths[step] = stacked.array
    return {name: paths[:, i].copy() for i, name in enumerate(names)}


def _contours(ax, function, bounds, levels):
    xs = numpy.linspace(*bounds[0], 200)
    ys = numpy.linspace(*bounds[1], 200)
    grid = cr.tensor(numpy.stack(numpy.meshgrid(xs, ys), -1), dtype=cr.float64)
    values = function(grid).numpy()
    ax.contour(xs, ys, values, levels=levels, colors="#bbbbbb", linewidths=0.6)
    return values


def iterations_to_tolerance(losses, tolerance):
    """The first step k with losses[k] <= tolerance · losses[0], or None if the run never gets there."""
    below = numpy.flatnonzero(numpy.asarray(losses) <= tolerance * losses[0])
    return int(below[0]) if below.size else None


def step_size_regimes(steps=400, tolerance=1e-6):
    """Gradient descent on a quadratic bowl f(x) = ½ xᵀAx, with λ_min and λ_max of A from its Hessian
    (computed by chainrule.func.hessian), at three learning rates: too small (0.2/λ_max), the fastest
    η* = 2/(λ_max + λ_min), and just past the stability limit (1.05 · 2/λ_max).

    One step maps the error e to (I − ηA)e, so along eigenvector i it is multiplied by 1 − ηλᵢ and the
    slowest component shrinks by ρ(η) = max(|1 − ηλ_min|, |1 − ηλ_max|) per step; the loss by ρ².
    ρ is smallest, (κ − 1)/(κ + 1), at η*; it passes 1 at η = 2/λ_max. Returns a dict with λ_min, λ_max,
    and for each regime its lr, ρ, the iterates (steps + 1, 2), the losses, and the steps the loss took
    to fall by ``tolerance``: measured, predicted by the closed form L_k = ½ Σᵢ λᵢcᵢ²(1 − ηλᵢ)^{2k}
    (cᵢ the start's coordinates in the eigenbasis), and bounded by the slowest mode, ⌈log tol / log ρ²⌉.
    """
    bowl = QuadraticBowl(dim=2, condition_number=10.0)
    start = cr.tensor(bowl.start, dtype=cr.float64)
    decomposition = eigh(hessian(bowl)(start))
    eigenvalues, eigenvectors = decomposition.eigenvalues.numpy(), decomposition.eigenvectors.numpy()
    lambda_min, lambda_max = float(eigenvalues.min()), float(eigenvalues.max())
    components = eigenvectors.T @ numpy.asarray(bowl.start)       # the start in the eigenbasis: x₀ = Σ cᵢ qᵢ
    rates = {"too small": 0.2 / lambda_max, "fastest": 2 / (lambda_max + lambda_min), "diverging": 1.05 * 2 / lambda_max}
    regimes = {}
    for name, lr in rates.items():
        x = cr.tensor(bowl.start, dtype=cr.float64, requires_grad=True)
        opt = optim.SGD([x], lr=lr)
        losses, iterates = [], [x.detach().numpy().copy()]
        for _ in range(steps):
            opt.zero_grad()
            loss = bowl(x)
            losses.append(loss.item())
            loss.backward()
            opt.step()
            iterates.append(x.detach().numpy().copy())
        losses.append(bowl(x).item())
        rho = max(abs(1 - lr * lambda_min), abs(1 - lr * lambda_max))
        # The closed form of the same run: L_k = ½ Σᵢ λᵢ cᵢ² (1 − ηλᵢ)^{2k}.
        k = numpy.arange(steps + 1)[:, None]
        closed_form = (0.5 * eigenvalues * components ** 2 * (1 - lr * eigenvalues) ** (2 * k)).sum(axis=1)
        predicted = iterations_to_tolerance(closed_form, tolerance)
        bound = math.ceil(math.log(tolerance) / math.log(rho ** 2)) if rho < 1 else None   # the slowest mode alone
        regimes[name] = {"lr": lr, "rho": rho, "iterates": numpy.array(iterates), "losses": numpy.array(losses),
                         "closed_form": closed_form, "bound_iterations": bound,
                         "iterations": iterations_to_tolerance(losses, tolerance), "predicted_iterations": predicted}
    return {"bowl": bowl, "lambda_min": lambda_min, "lambda_max": lambda_max, "tolerance": tolerance,
            "regimes": regimes}


def gradient_descent(out_dir, rosenbrock_steps=1000, beale_steps=500):
    """Paths of GD, GD with gradient noise, momentum, Nesterov, Adagrad, RMSprop and Adam on Rosenbrock and Beale,
    and gradient descent on a quadratic with a learning rate too small, the fastest, and divergent."""
    rosenbrock, beale = Rosenbrock(), Beale()
    paths = {"Rosenbrock": optimizer_paths(rosenbrock, rosenbrock_steps, "rosenbrock"),
             "Beale": optimizer_paths(beale, beale_steps, "beale")}
    study = step_size_regimes()
    lambda_min, lambda_max, regimes = study["lambda_min"], study["lambda_max"], study["regimes"]

    figure, (rosen_ax, beale_ax, bowl_ax, lr_ax) = new_figure(2, 2, size=(6.2, 4.6))
    _contours(rosen_ax, rosenbrock, ((-2, 2), (-1, 3)), numpy.logspace(-1, 3.5, 20))
    _contours(beale_ax, beale, ((-1, 4.5), (-1.5, 2)), numpy.logspace(-1, 3.5, 20))
    distances = {}
    for ax, (name, function) in zip((rosen_ax, beale_ax), (("Rosenbrock", rosenbrock), ("Beale", beale))):
        distances[name] = {}
        for i, (optimizer, path) in enumerate(paths[name].items()):
            finite = path[numpy.isfinite(path).all(axis=1)]
            ax.plot(finite[:, 0], finite[:, 1], color=f"C{i}", lw=1.0, label=optimizer)
            distances[name][optimizer] = function.distance_to_minimum(path[-1]) if numpy.isfinite(path[-1]).all() else float("inf")
        ax.plot(*function.start, "ko", ms=4)
        ax.plot(*function.minima[0], "r*", ms=12)
        ax.set_title(f"{name}: {len(next(iter(paths[name].values()))) - 1} steps from {function.start}", fontsize=9)
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
    rosen_ax.set_xlim(-2, 2)
    rosen_ax.set_ylim(-1, 3)
    beale_ax.set_xlim(-1, 4.5)
    beale_ax.set_ylim(-1.5, 2)
    rosen_ax.legend(fontsize=7, loc="lower right")

    _contours(bowl_ax, study["bowl"], ((-1.6, 1.6), (-1.6, 1.6)), numpy.geomspace(1e-3, 20, 14))
    colors = {"too small": "C0", "fastest": "C2", "diverging": "C3"}
    shown = 15
    for name, regime in regimes.items():
        points = regime["iterates"][:shown + 1]
        bowl_ax.plot(points[:, 0], points[:, 1], ".-", color=colors[name], lw=1, ms=4,
                     label=f"{name}: η = {regime['lr']:.3f}")
        theory = regime["closed_form"]
        lr_ax.semilogy(regime["losses"], color=colors[name],
                       label=f"{name}: η = {regime['lr']:.3f}, ρ = {regime['rho']:.3f}, "
                             + (f"{regime['iterations']} steps to 10⁻⁶" if regime["iterations"] is not None else "diverges"))
        lr_ax.semilogy(theory, ":", color=colors[name], lw=1)
    bowl_ax.plot(0, 0, "r*", ms=12)
    bowl_ax.set_xlim(-1.6, 1.6)
    bowl_ax.set_ylim(-1.6, 1.6)
    bowl_ax.set_aspect("equal")
    bowl_ax.set_xlabel("x₁")
    bowl_ax.set_ylabel("x₂")
    bowl_ax.set_title(f"GD on ½xᵀAx, λ = {lambda_min:.3g}, {lambda_max:.3g}: the first {shown} iterates", fontsize=9)
    bowl_ax.legend(fontsize=7, loc="lower right")
    lr_ax.set_xlabel("step k")
    lr_ax.set_ylabel("loss (dotted: ½Σλᵢcᵢ²(1 − ηλᵢ)²ᵏ)")
    lr_ax.set_title(f"fastest η* = 2/(λ_max + λ_min) = {2 / (lambda_max + lambda_min):.3f}; "
                    f"diverges past 2/λ_max = {2 / lambda_max:.3f}", fontsize=9)
    lr_ax.set_ylim(1e-12, 1e6)
    lr_ax.legend(fontsize=7, loc="lower left")
    figures = save_figure(figure, out_dir, "gradient-descent")

    lines = [f"  {name}: " + ", ".join(f"{opt} {d:.2g}" for opt, d in distances[name].items()) for name in distances]
    regime_lines = [f"  {name}: η = {r['lr']:.4f}, ρ = {r['rho']:.4f}, steps to reach 10⁻⁶ of the first loss: "
                    + (f"{r['iterations']} measured, {r['predicted_iterations']} by the closed form "
                       f"L_k = ½Σλᵢcᵢ²(1 − ηλᵢ)²ᵏ, at most {r['bound_iterations']} by the slowest mode ⌈log 10⁻⁶ / log ρ²⌉"
                       if r["iterations"] is not None
                       else f"never (ρ > 1: the loss grows by ρ² = {r['rho'] ** 2:.3f} per step)")
                    for name, r in regimes.items()]
    text = (
        "Gradient descent θ ← θ − η∇f; momentum v ← μv + ∇f, θ ← θ − ηv (Nesterov evaluates the gradient "
        "after the momentum step); Adagrad divides by √(Σ g²), RMSprop by √(moving average of g²), Adam combines "
        "momentum with RMSprop and bias correction. 'GD + gradient noise' adds Gaussian noise to the exact gradient "
        "as a model of sampling (the sgd lab uses real mini-batches). With a constant rate, RMSprop and noisy GD do "
        "not settle: their steps keep a size of about lr (RMSprop) or of the noise, so they hover around the minimum.\n"
        "Distance from the end of each path to the minimum:\n" + "\n".join(lines) + "\n"
        f"The learning rate on a quadratic ½xᵀAx with eigenvalues λ_min = {lambda_min:.4g}, λ_max = {lambda_max:.4g}: "
        "one step multiplies the error along eigenvector i by 1 − ηλᵢ, so the error shrinks by "
        "ρ(η) = max(|1 − ηλ_min|, |1 − ηλ_max|) per step and the loss by ρ². Small η: ρ = 1 − ηλ_min, close to 1, a crawl. "
        f"ρ is smallest at η* = 2/(λ_max + λ_min) = {2 / (lambda_max + lambda_min):.4g}, where the two ends balance: "
        f"ρ* = (κ − 1)/(κ + 1) = {(lambda_max - lambda_min) / (lambda_max + lambda_min):.4g} with κ = λ_max/λ_min "
        "(the steep direction overshoots and flips sign every step, the picture's zigzag). "
        f"Past η = 2/λ_max = {2 / lambda_max:.4g}, |1 − ηλ_max| > 1 and the steep direction grows: divergence.\n"
        + "\n".join(regime_lines)
    )
    result = LabResult("gradient-descent", "Gradient descent and its variants", figures, text,
                       numbers={"distance_to_minimum": distances, "lambda_max": lambda_max, "lambda_min": lambda_min,
                                "max_stable_lr": 2 / lambda_max, "fastest_lr": 2 / (lambda_max + lambda_min),
                                "regimes": {name: {k: r[k] for k in ("lr", "rho", "iterations", "predicted_iterations",
                                                                       "bound_iterations")}
                                            for name, r in regimes.items()}},
                       data={"paths": paths, "regimes": regimes})
    return finish(result, out_dir)


def moons_model_and_data(n_samples=256, hidden=32, seed=0):
    """A small classifier on the two-moons data, for the labs that train something."""
    X, y = make_moons(n_samples, noise=0.15, seed=seed)
    X, y = cr.tensor(X), cr.tensor(y)
    with seeded(seed):
        model = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 2))
    return model, X, y


def lr_finder(out_dir, num_iter=100, batch_size=32):
    """The learning-rate range test: raise the rate exponentially, one mini-batch each, and watch the loss."""
    model, X, y = moons_model_and_data()
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True, generator=cr.Generator().manual_seed(1))
    optimizer = optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    result = optim.lr_find(model, optimizer, nn.CrossEntropyLoss(), loader, start_lr=1e-4, end_lr=10.0, num_iter=num_iter)

    figure, (curve_ax,) = new_figure(1, 1, size=(6, 4.2))
    curve_ax.plot(result.lrs, result.raw_losses, color="#bbbbbb", lw=0.8, label="raw loss (one batch each)")
    result.plot(ax=curve_ax)
    curve_ax.set_title("learning-rate range test (SGD, momentum 0.9, two moons)", fontsize=9)
    figures = save_figure(figure, out_dir, "lr-finder")

    best = int(numpy.argmin(result.losses))
    text = (
        f"The range test trains for {len(result.lrs)} mini-batches with the learning rate growing exponentially "
        f"from {result.lrs[0]:.0e} to {result.lrs[-1]:.2g}, and plots the smoothed loss "
        "(an exponential moving average with bias correction) against the rate. Too small: nothing happens; "
        "too large: the loss blows up. A good rate lies where the loss falls fastest, well before the minimum.\n"
        f"Steepest descent at lr = {result.suggestion_steepest:.2e}; valley suggestion {result.suggestion_valley:.2e}; "
        f"lowest smoothed loss {result.losses[best]:.4f} at lr = {result.lrs[best]:.2e}"
        + ("; the run stopped when the loss diverged." if result.diverged else ".")
    )
    lab = LabResult("lr-finder", "The learning-rate finder", figures, text,
                    numbers={"suggestion_steepest": result.suggestion_steepest, "suggestion_valley": result.suggestion_valley,
                             "lowest_loss_lr": result.lrs[best], "diverged": result.diverged,
                             "y_range": result.y_range()},
                    data={"lrs": numpy.array(result.lrs), "losses": numpy.array(result.losses),
                          "raw_losses": numpy.array(result.raw_losses)})
    return finish(lab, out_dir)


def logistic_problem(n_samples=256, seed=0):
    """Logistic regression with two weights (no bias) on the standardized two moons: a real loss
    L(w) = (1/N) Σ ℓᵢ(w), ℓᵢ = log(1 + exp(−ỹᵢ xᵢ·w)) with ỹ = ±1, whose parameter plane can be drawn."""
    X, y = make_moons(n_samples, noise=0.2, seed=seed)
    X = (X - X.mean(0)) / X.std(0)
    return cr.tensor(X, dtype=cr.float64), cr.tensor(y, dtype=cr.float64)


def _logistic_losses(X, y, w):
    """ℓᵢ(w) for every row (w of shape (2,), or (N, 2) for one copy of w per row)."""
    logits = (X * w).sum(-1)
    return F.binary_cross_entropy_with_logits(logits, y, reduction="none")


def per_sample_gradients(X, y, w):
    """∇ℓᵢ(w) for every sample, in one backward pass: each row gets its own copy of w, and ℓᵢ
    depends only on copy i, so ∂(Σⱼ ℓⱼ)/∂(copy i) = ∇ℓᵢ."""
    copies = cr.tensor(numpy.tile(numpy.asarray(w, dtype=numpy.float64), (X.shape[0], 1)), requires_grad=True)
    _logistic_losses(X, y, copies).sum().backward()
    return copies.grad.numpy()


def minibatch_paths(X, y, batch_sizes, start=(-2.5, 2.5), lr=0.5, steps=120, seed=0):
    """SGD on the logistic loss with real mini-batches (a fresh permutation each epoch, no replacement),
    one path per batch size, all with the same rate and number of steps."""
    paths = {}
    for batch_size in batch_sizes:
        loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True,
                            generator=cr.Generator().manual_seed(seed))
        w = cr.tensor(start, dtype=cr.float64, requires_grad=True)
        optimizer = optim.SGD([w], lr=lr)
        path = [w.detach().numpy().copy()]
        while len(path) <= steps:
            for inputs, targets in loader:
                optimizer.zero_grad()
                _logistic_losses(inputs, targets, w).mean().backward()
                optimizer.step()
                path.append(w.detach().numpy().copy())
                if len(path) > steps:
                    break
        paths[batch_size] = numpy.array(path)
    return paths


def gradient_noise(X, y, w, batch_sizes, draws=300, seed=1):
    """E‖g_B − ∇L‖² over random mini-batches of each size (drawn without replacement), measured, and the
    theory (tr Σ / B)(N − B)/(N − 1) with Σ the covariance of the per-sample gradients."""
    gradients = per_sample_gradients(X, y, w)
    full = gradients.mean(0)
    n = len(gradients)
    trace = float(((gradients - full) ** 2).sum(1).sum() / (n - 1))   # tr Σ, unbiased
    generator = cr.Generator().manual_seed(seed)
    measured, predicted = {}, {}
    for batch_size in batch_sizes:
        errors = [((gradients[generator.permutation(n)[:batch_size]].mean(0) - full) ** 2).sum() for _ in range(draws)]
        measured[batch_size] = float(numpy.mean(errors))
        predicted[batch_size] = trace / batch_size * (n - batch_size) / (n - 1)
    return measured, predicted, gradients


def schedules(total_steps=100, base_lr=0.5):
    """Every learning-rate schedule of chainrule.optim.lr_scheduler over one run of ``total_steps`` SGD steps
    on the logistic loss; returns name → (learning rates, losses). ReduceLROnPlateau watches the run's loss."""
    S = optim.lr_scheduler
    X, y = logistic_problem()
    makers = {
        "StepLR(30, γ=0.5)": lambda o: S.StepLR(o, 30, gamma=0.5),
        "MultiStepLR([40, 70])": lambda o: S.MultiStepLR(o, [40, 70], gamma=0.3),
        "ExponentialLR(γ=0.97)": lambda o: S.ExponentialLR(o, 0.97),
        "LinearLR (warm-up 20)": lambda o: S.LinearLR(o, start_factor=0.05, total_iters=20),
        "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, T_max=total_steps),
        "CosineAnnealingWarmRestarts": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=25),
        "OneCycleLR": lambda o: S.OneCycleLR(o, max_lr=base_lr, total_steps=total_steps),
        "CyclicLR (triangular)": lambda o: S.CyclicLR(o, base_lr=0.05, max_lr=base_lr, step_size_up=20),
        "LambdaLR 1/(1 + t/10)": lambda o: S.LambdaLR(o, lambda t: 1 / (1 + t / 10)),
        "SequentialLR (warm-up, cosine)": lambda o: S.SequentialLR(
            o, [S.LinearLR(o, start_factor=0.1, total_iters=10), S.CosineAnnealingLR(o, T_max=total_steps - 10)], [10]),
        "ReduceLROnPlateau": lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=5, threshold=1e-2),
    }
    runs = {}
    for name, make in makers.items():
        w = cr.tensor((-2.5, 2.5), dtype=cr.float64, requires_grad=True)
        optimizer = optim.SGD([w], lr=base_lr, momentum=0.9 if name in ("OneCycleLR", "CyclicLR (triangular)") else 0.0)
        scheduler = make(optimizer)
        lrs, losses = [], []
        for _ in range(total_steps):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.zero_grad()
            loss = _logistic_losses(X, y, w).mean()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            scheduler.step(loss.item()) if name == "ReduceLROnPlateau" else scheduler.step()
        runs[name] = (numpy.array(lrs), numpy.array(losses))
    return runs


def sgd(out_dir, batch_sizes=(1, 8, 64, 256)):
    """Mini-batch SGD on a real loss: paths for batch sizes 1 to the full set, the mini-batch gradient's
    noise against its theory, and every learning-rate schedule over one run."""
    X, y = logistic_problem()
    paths = minibatch_paths(X, y, batch_sizes)
    start = paths[batch_sizes[0]][0]
    measured, predicted, _ = gradient_noise(X, y, start, batch_sizes[:-1] + (32, 128))
    runs = schedules()

    figure = Figure(figsize=(19, 7.5), layout="constrained")
    grid = figure.add_gridspec(3, 7)
    path_ax = figure.add_subplot(grid[:, :2])
    noise_ax = figure.add_subplot(grid[:2, 2])
    xs, ys = numpy.linspace(-3.5, 3.5, 120), numpy.linspace(-3.5, 3.5, 120)
    plane = numpy.stack(numpy.meshgrid(xs, ys), -1).reshape(-1, 2)
    plane_logits = X @ cr.tensor(plane, dtype=cr.float64).mT                 # (N, grid points): every w at once
    surface = F.binary_cross_entropy_with_logits(plane_logits, y.unsqueeze(1).expand(*plane_logits.shape),
                                                 reduction="none").mean(0).numpy()
    path_ax.contour(xs, ys, surface.reshape(len(ys), len(xs)), levels=25, colors="#bbbbbb", linewidths=0.6)
    for i, (batch_size, path) in enumerate(paths.items()):
        label = "full batch (GD)" if batch_size == len(X) else f"batch {batch_size}"
        path_ax.plot(path[:, 0], path[:, 1], ".-", color=f"C{i}", ms=2, lw=0.8, label=label)
    path_ax.plot(*start, "ko", ms=5)
    lowest = plane[int(numpy.argmin(surface))]
    path_ax.plot(*lowest, "r*", ms=12, label="lowest loss on the grid")
    path_ax.set_xlabel("w₁")
    path_ax.set_ylabel("w₂")
    path_ax.set_aspect("equal")
    path_ax.set_title(f"SGD on the logistic loss of the moons, lr 0.5, {len(paths[batch_sizes[0]]) - 1} steps each:\n"
                      "smaller batches, noisier paths", fontsize=9)
    path_ax.legend(fontsize=8)
    sizes = sorted(measured)
    noise_ax.loglog(sizes, [measured[b] for b in sizes], "o", label="measured over 300 batches")
    noise_ax.loglog(sizes, [predicted[b] for b in sizes], "k--", label="(tr Σ / B)(N − B)/(N − 1)")
    noise_ax.set_xlabel("batch size B")
    noise_ax.set_ylabel("E‖g_B − ∇L‖²")
    noise_ax.set_title("mini-batch gradient noise ∝ 1/B", fontsize=9)
    noise_ax.legend(fontsize=7)
    cells = [(row, column) for row in range(3) for column in range(3, 7)]
    for i, ((row, column), (name, (lrs, losses))) in enumerate(zip(cells, runs.items())):
        ax = figure.add_subplot(grid[row, column])
        ax.plot(lrs, color=f"C{i % 10}")
        ax.set_ylim(0, 0.55)
        ax.set_title(f"{name}: final loss {losses[-1]:.4f}", fontsize=7.5)
        ax.set_xlabel("step", fontsize=7)
        ax.set_ylabel("learning rate", fontsize=7)
        ax.tick_params(labelsize=6)
    loss_ax = figure.add_subplot(grid[cells[len(runs)]])
    for i, (name, (_, losses)) in enumerate(runs.items()):
        loss_ax.semilogy(losses, color=f"C{i % 10}", lw=0.8, ls="-" if i < 10 else "--")
    loss_ax.set_title("each run's loss (colours as above)", fontsize=7.5)
    loss_ax.set_xlabel("step", fontsize=7)
    loss_ax.set_ylabel("full-batch loss", fontsize=7)
    loss_ax.tick_params(labelsize=6)
    figures = save_figure(figure, out_dir, "sgd")

    final_loss = {b: float(_logistic_losses(X, y, cr.tensor(p[-1], dtype=cr.float64)).mean().item()) for b, p in paths.items()}
    text = (
        "Mini-batch SGD replaces the gradient of L(w) = (1/N) Σ ℓᵢ(w) by the mean over a random batch of B samples, "
        "g_B = (1/B) Σ_{i∈batch} ∇ℓᵢ: unbiased, E g_B = ∇L, with variance (tr Σ / B)(N − B)/(N − 1) when the batch is "
        "drawn without replacement (Σ the covariance of the per-sample gradients). The paths here use real mini-batches "
        f"of the logistic loss on {len(X)} points of the moons (a DataLoader reshuffled each epoch).\n"
        "Noise at the start, measured against theory: "
        + ", ".join(f"B = {b}: {measured[b]:.4g} vs {predicted[b]:.4g}" for b in sizes) + ".\n"
        "Full loss L(w) at the end of each path: " + ", ".join(f"B = {b}: {v:.4f}" for b, v in final_loss.items())
        + " — with a constant rate, small-batch SGD does not settle but keeps jittering about the minimum, more for "
        "smaller B (a larger lr/B, a larger jitter).\n"
        "Learning-rate schedules, each over one run of 100 steps from the same start (one panel each; their losses "
        "together in the last): "
        + "; ".join(f"{name} ends at lr {lrs[-1]:.3g}, loss {losses[-1]:.4f}" for name, (lrs, losses) in runs.items())
        + "."
    )
    result = LabResult("sgd", "Mini-batch SGD and learning-rate schedules", figures, text,
                       numbers={"noise_measured": measured, "noise_predicted": predicted,
                                "final_loss": final_loss,
                                "schedule_final_loss": {name: float(l[-1]) for name, (_, l) in runs.items()}},
                       data={"X": X.numpy(), "y": y.numpy(), "paths": paths, "schedules": runs, "surface": surface})
    return finish(result, out_dir)
