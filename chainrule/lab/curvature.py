"""Labs on curvature: the Hessian of a small model seen through products, and its loss landscape."""
import numpy

import chainrule as cr
import chainrule.nn as nn
from chainrule import optim
from chainrule.data import make_moons
from chainrule.explain import (
    GaussNewtonOperator, HessianOperator, hessian_top_eigenvalues, hutchinson_trace, learning_rate_advice,
    loss_slice_1d, loss_surface_2d, parameter_vector, path_directions, project_path, random_direction,
    set_parameter_vector, spectral_density,
)
from chainrule.lab.common import LabResult, finish, new_figure, save_figure, seeded
from chainrule.linalg import eigvalsh


def trained_classifier(hidden=8, n_samples=64, steps=200, seed=0, record_path=False, lr=0.05):
    """A float64 2-``hidden``-2 tanh classifier trained on the moons with SGD + momentum.

    Returns (model, loss_fn, batch, path), path being the parameter vectors visited
    (empty unless ``record_path``)."""
    X, y = make_moons(n_samples, noise=0.15, seed=seed)
    batch = (cr.tensor(X, dtype=cr.float64), cr.tensor(y))
    with seeded(seed):
        model = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2)).double()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    path = [parameter_vector(model)] if record_path else []
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(model(batch[0]), batch[1]).backward()
        optimizer.step()
        if record_path:
            path.append(parameter_vector(model))
    return model, loss_fn, batch, path


def adam_trained_classifier(hidden=8, n_samples=64, steps=200, seed=0, lr=0.02):
    """The same 2-``hidden``-2 tanh classifier trained with Adam; returns (model, loss_fn, batch, optimizer),
    the optimizer holding the second moments v̂ that set Adam's curvature limit."""
    X, y = make_moons(n_samples, noise=0.15, seed=seed)
    batch = (cr.tensor(X, dtype=cr.float64), cr.tensor(y))
    with seeded(seed):
        model = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2)).double()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(model(batch[0]), batch[1]).backward()
        optimizer.step()
    return model, loss_fn, batch, optimizer


def linear_regression_problem(n_samples=50, n_features=5, seed=0):
    """A float64 linear model with MSE: its loss is exactly quadratic, H = (2/N) XᵀX."""
    generator = cr.Generator().manual_seed(seed)
    X = cr.randn(n_samples, n_features, dtype=cr.float64, generator=generator) * cr.tensor(
        numpy.linspace(0.5, 2.0, n_features), dtype=cr.float64)
    y = X @ cr.randn(n_features, 1, dtype=cr.float64, generator=generator) + 0.1 * cr.randn(
        n_samples, 1, dtype=cr.float64, generator=generator)
    model = nn.Linear(n_features, 1, bias=False).double()
    return model, nn.MSELoss(), (X, y)


def gradient_descent_losses(model, loss_fn, batch, lr, steps):
    losses = []
    optimizer = optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(batch[0]), batch[1])
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return numpy.array(losses)


def curvature(out_dir, trace_samples=200, probes=8, lanczos_steps=20, k=3):
    """The Hessian of a small trained classifier from Hessian-vector products: top eigenvalues by
    Lanczos, the trace by Hutchinson, the spectral density by stochastic Lanczos quadrature, the
    Gauss–Newton matrix's top eigenvalues, and the 2/λ_max learning-rate limit shown on a quadratic."""
    model, loss_fn, batch, _ = trained_classifier()
    H = HessianOperator(model, loss_fn, batch)
    dense = H.dense()
    exact = numpy.sort(eigvalsh(cr.tensor((dense + dense.T) / 2)).numpy())[::-1]
    top, _ = hessian_top_eigenvalues(H, k=k)
    trace = hutchinson_trace(H, num_samples=trace_samples, generator=cr.Generator().manual_seed(1))
    density = spectral_density(H, num_probes=probes, num_steps=lanczos_steps, generator=cr.Generator().manual_seed(2))
    gauss_newton_top, _ = hessian_top_eigenvalues(GaussNewtonOperator(model, loss_fn, batch), k=k)

    # The advice for the optimizers that trained these models: momentum has its own bound, Adam its own.
    momentum_advice = learning_rate_advice(H, optimizer=optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    adam_model, adam_loss, adam_batch, adam = adam_trained_classifier()
    adam_advice = learning_rate_advice(HessianOperator(adam_model, adam_loss, adam_batch), optimizer=adam)

    linear, mse, linear_batch = linear_regression_problem()
    advice = learning_rate_advice(HessianOperator(linear, mse, linear_batch))
    start = parameter_vector(linear)
    stability = {}
    for fraction in (0.5, 0.95, 1.05):
        set_parameter_vector(linear, start)
        stability[fraction] = gradient_descent_losses(linear, mse, linear_batch, fraction * advice.max_stable_lr, 60)
    set_parameter_vector(linear, start)

    figure, (spectrum_ax, top_ax, trace_ax, lr_ax) = new_figure(4, 1, size=(4.3, 3.9))
    spectrum_ax.plot(density.grid, density.density, color="C0", label=f"SLQ density ({probes} probes × {lanczos_steps} steps)")
    spectrum_ax.plot(exact, numpy.zeros_like(exact), "|", color="C3", ms=14, label=f"exact eigenvalues (n = {H.n})")
    spectrum_ax.set_yscale("symlog", linthresh=1e-2)
    spectrum_ax.set_xlabel("eigenvalue")
    spectrum_ax.set_ylabel("spectral density")
    spectrum_ax.set_title("Hessian spectrum of a trained 2-8-2 tanh net", fontsize=9)
    spectrum_ax.legend(fontsize=7)
    index = numpy.arange(1, k + 1)
    top_ax.plot(index, exact[:k], "o", ms=10, mfc="none", label="exact (dense Hessian)")
    top_ax.plot(index, top, "x", ms=8, label="Lanczos on Hessian-vector products")
    top_ax.plot(index, gauss_newton_top, "s", ms=5, label="Gauss–Newton Jᵀ H_ℓ J (Lanczos)")
    top_ax.set_xticks(index)
    top_ax.set_xlabel("i")
    top_ax.set_ylabel("λᵢ")
    top_ax.set_title("top eigenvalues", fontsize=9)
    top_ax.legend(fontsize=7)
    running = numpy.cumsum(trace.samples) / numpy.arange(1, len(trace.samples) + 1)
    trace_ax.plot(numpy.arange(1, len(running) + 1), running, label="Hutchinson running mean of zᵀHz")
    trace_ax.axhline(float(numpy.trace(dense)), color="C3", ls="--", label=f"tr H = {numpy.trace(dense):.4f}")
    trace_ax.set_xscale("log")
    trace_ax.set_xlabel("samples")
    trace_ax.set_ylabel("estimate of tr H")
    trace_ax.set_title(f"trace: {trace.value:.4f} ± {trace.standard_error:.4f}", fontsize=9)
    trace_ax.legend(fontsize=7)
    for fraction, losses in stability.items():
        lr_ax.semilogy(losses, label=f"η = {fraction:g} × 2/λ_max")
    lr_ax.set_xlabel("step")
    lr_ax.set_ylabel("loss")
    lr_ax.set_title(f"least squares: λ_max = {advice.lambda_max:.3g}, 2/λ_max = {advice.max_stable_lr:.3g}", fontsize=9)
    lr_ax.legend(fontsize=7)
    figures = save_figure(figure, out_dir, "curvature")

    text = (
        f"Every number here comes from Hessian-vector products Hv = ∇(∇L·v) (double backward), never from H itself "
        f"(the dense H, {H.n} × {H.n}, is built only to check them).\n"
        f"Top {k} eigenvalues: Lanczos {numpy.round(top, 5).tolist()}, exact {numpy.round(exact[:k], 5).tolist()}; "
        f"Gauss–Newton {numpy.round(gauss_newton_top, 5).tolist()} (Jᵀ H_ℓ J drops the term weighted by the "
        f"residuals, and is positive semi-definite).\n"
        f"Trace: Hutchinson's E[zᵀHz] over {trace_samples} sign vectors gives {trace.value:.4f} ± {trace.standard_error:.4f}; "
        f"exact {numpy.trace(dense):.4f}.\n"
        f"Spectral density by stochastic Lanczos quadrature: {probes} random probes, {lanczos_steps} Lanczos steps each; "
        f"most eigenvalues sit near 0, a few outliers carry the curvature.\n"
        f"Learning-rate limit: {advice}. Gradient descent on least squares (exactly quadratic) converges for "
        f"η = 0.5 and 0.95 × 2/λ_max and diverges at 1.05 ×.\n"
        f"2/λ_max is the limit of plain gradient descent. The classifier above was trained with SGD + momentum "
        f"0.9, whose limit is 2(1 + μ)/λ_max: {momentum_advice}.\n"
        f"Its twin trained with Adam (lr 0.02): {adam_advice}. What Adam's lr must respect is the sharpness of the "
        f"loss as Adam sees it, after dividing by √v̂; that limit can lie far above or far below 2/λ_max of H (here "
        f"{adam_advice.max_stable_lr:.3g} against {adam_advice.gd_limit:.3g}), so λ_max alone cannot tell whether an "
        f"Adam run is stable."
    )
    result = LabResult("curvature", "Curvature: the Hessian through its products", figures, text,
                       numbers={"top_eigenvalues": top.tolist(), "exact_top_eigenvalues": exact[:k].tolist(),
                                "gauss_newton_top": gauss_newton_top.tolist(), "trace_estimate": trace.value,
                                "trace_standard_error": trace.standard_error, "exact_trace": float(numpy.trace(dense)),
                                "lambda_max_linear": advice.lambda_max, "max_stable_lr": advice.max_stable_lr,
                                "momentum_limit": momentum_advice.max_stable_lr, "adam_limit": adam_advice.max_stable_lr,
                                "adam_preconditioned_lambda_max": adam_advice.preconditioned_lambda_max,
                                "final_losses": {f: float(l[-1]) for f, l in stability.items()}},
                       data={"model": model, "loss_fn": loss_fn, "batch": batch, "dense_hessian": dense,
                             "adam": (adam_model, adam_loss, adam_batch, adam),
                             "density": density, "linear_problem": (linear, mse, linear_batch), "stability": stability})
    return finish(result, out_dir)


def landscape(out_dir, grid_points=21, slice_points=41):
    """Loss landscape of a small classifier: a 2-D slice through the plane of the optimizer's path with
    the path drawn on it, and 1-D slices along a filter-normalized random direction and along the
    Hessian's top eigenvector."""
    model, loss_fn, batch, path = trained_classifier(hidden=16, steps=150, record_path=True, lr=0.1)
    center = parameter_vector(model)
    d1, d2, explained = path_directions(path, center)
    coordinates = project_path(path, center, d1, d2)
    span_a = numpy.abs(coordinates[:, 0]).max() * 1.3
    span_b = max(numpy.abs(coordinates[:, 1]).max() * 1.3, 0.3 * span_a)
    unit = numpy.linspace(-1.0, 1.0, grid_points)      # symmetric, with an exact 0 in the middle: θ_T itself
    alphas, betas = span_a * unit, span_b * unit
    surface = loss_surface_2d(model, loss_fn, batch, d1, d2, alphas, betas)

    random_d = random_direction(model, cr.Generator().manual_seed(3))
    line = numpy.linspace(-1, 1, slice_points)
    random_slice = loss_slice_1d(model, loss_fn, batch, random_d, line)
    H = HessianOperator(model, loss_fn, batch)
    top, vectors = hessian_top_eigenvalues(H, k=2)
    top_direction = vectors[:, 0]
    # The plane of the two sharpest directions, with the path projected onto it (least squares).
    eigen_span = 2.5 / numpy.sqrt(numpy.abs(top))
    eigen_alphas, eigen_betas = eigen_span[0] * unit, eigen_span[1] * unit
    eigen_surface = loss_surface_2d(model, loss_fn, batch, vectors[:, 0], vectors[:, 1], eigen_alphas, eigen_betas)
    eigen_coordinates = project_path(path, center, vectors[:, 0], vectors[:, 1])
    radius = 2.0 / numpy.sqrt(abs(top[0]))
    hessian_line = numpy.linspace(-radius, radius, slice_points)
    hessian_slice = loss_slice_1d(model, loss_fn, batch, top_direction, hessian_line)
    loss_at_center = float(loss_fn(model(batch[0]), batch[1]).item())
    gradient = parameter_gradient(model, loss_fn, batch)
    gradient_norm = float(numpy.linalg.norm(gradient))
    # Is the end of training a minimum? Not if the slice itself holds lower points, or the gradient is not ~0.
    lowest = numpy.unravel_index(int(numpy.argmin(surface)), surface.shape)      # (β index, α index)
    lowest_in_slice = float(surface[lowest])
    converged = lowest_in_slice >= loss_at_center - 1e-6 and gradient_norm < 1e-3
    end_label = "end of training θ_T" + ("" if converged else " (not a minimum)")
    quadratic = loss_at_center + hessian_line * float(gradient @ top_direction) + 0.5 * top[0] * hessian_line ** 2
    step = 1e-3
    second_difference = (loss_slice_1d(model, loss_fn, batch, top_direction, [-step, 0.0, step]) @ [1, -2, 1]) / step ** 2

    figure, (surface_ax, eigen_ax, random_ax, hessian_ax) = new_figure(4, 1, size=(4.4, 4.0))
    for ax, (a, b, values, path_xy) in ((surface_ax, (alphas, betas, surface, coordinates)),
                                        (eigen_ax, (eigen_alphas, eigen_betas, eigen_surface, eigen_coordinates))):
        levels = numpy.unique(numpy.quantile(values, numpy.linspace(0, 0.95, 20)))
        contour = ax.contourf(a, b, values, levels=levels, cmap="viridis")
        figure.colorbar(contour, ax=ax, label="loss")
        inside = (numpy.abs(path_xy[:, 0]) <= a[-1]) & (numpy.abs(path_xy[:, 1]) <= b[-1])
        ax.plot(path_xy[inside, 0], path_xy[inside, 1], "w.-", ms=3, lw=0.8, label="SGD + momentum path")
        ax.plot(0, 0, "r*", ms=12, label=end_label)
        ax.set_xlim(a[0], a[-1])
        ax.set_ylim(b[0], b[-1])
        ax.legend(fontsize=7, loc="lower right")
    surface_ax.plot(alphas[lowest[1]], betas[lowest[0]], "wX", ms=9, mec="black", clip_on=False, zorder=5,
                    label=f"lowest loss in this slice: {lowest_in_slice:.4f}")
    surface_ax.legend(fontsize=7, loc="upper right")
    surface_ax.set_xlabel("α (1st principal direction of the path)")
    surface_ax.set_ylabel("β (2nd)")
    surface_ax.set_title(f"L(θ_T + αd₁ + βd₂): the path's plane holds {100 * explained:.1f}% of it"
                         + ("" if converged else f"\ntraining had not converged: ‖∇L(θ_T)‖ = {gradient_norm:.3g}"),
                         fontsize=9)
    eigen_ax.set_xlabel(f"α along v₁ (λ₁ = {top[0]:.3g})")
    eigen_ax.set_ylabel(f"β along v₂ (λ₂ = {top[1]:.3g})")
    eigen_ax.set_title("the plane of the top two Hessian eigenvectors", fontsize=9)
    random_ax.plot(line, random_slice)
    random_ax.set_xlabel("α")
    random_ax.set_ylabel("loss")
    random_ax.set_title("L(θ_T + αd), d random, filter-normalized (Li et al. 2018)", fontsize=9)
    hessian_ax.plot(hessian_line, hessian_slice, label="L(θ_T + αv₁)")
    hessian_ax.plot(hessian_line, quadratic, "--", label=f"L(θ_T) + αg·v₁ + ½λ₁α², λ₁ = {top[0]:.3g}")
    hessian_ax.set_xlabel("α")
    hessian_ax.set_ylabel("loss")
    hessian_ax.set_title("along the Hessian's top eigenvector v₁", fontsize=9)
    hessian_ax.legend(fontsize=7)
    figures = save_figure(figure, out_dir, "landscape")

    text = (
        "A loss landscape is the loss along a line or a plane through parameter space: f(α) = L(θ_T + αd), "
        "f(α, β) = L(θ_T + αd₁ + βd₂), through θ_T, where training stopped.\n"
        + (f"θ_T is a minimum to the grid's resolution (‖∇L‖ = {gradient_norm:.2g}).\n" if converged else
           f"θ_T is NOT a minimum: training had not converged after {len(path) - 1} steps. ‖∇L(θ_T)‖ = "
           f"{gradient_norm:.3g}, and the path's plane holds lower points (lowest {lowest_in_slice:.4f} against "
           f"L(θ_T) = {loss_at_center:.4f}, marked ×): the path was still descending when it ended.\n")
        + f"The plane of the path: the two principal directions of the offsets θₖ − θ_T of the {len(path) - 1} "
        f"optimizer steps, which hold {100 * explained:.1f}% of their squared length; the path is drawn by least-squares "
        f"projection onto the plane.\nRandom directions are filter-normalized (each filter of d scaled to the norm of "
        f"the same filter of θ_T, biases left out) so that slices of differently scaled networks compare.\n"
        f"Along the top Hessian eigenvector v₁ the curvature d²f/dα² at 0 is {second_difference:.4g} by a second "
        f"difference, against λ₁ = {top[0]:.4g} from Lanczos: the sharpest direction through θ_T. In the plane of "
        f"v₁ and v₂ (λ₂ = {top[1]:.4g}) the contours near θ_T are ellipses with axis ratio √(λ₁/λ₂) = "
        f"{numpy.sqrt(top[0] / top[1]):.3g}, the longer axis along the flatter v₂."
    )
    result = LabResult("landscape", "Loss landscapes", figures, text,
                       numbers={"loss_at_center": loss_at_center, "path_variance_explained": explained,
                                "gradient_norm": gradient_norm, "lowest_in_slice": lowest_in_slice,
                                "converged": converged,
                                "top_eigenvalue": float(top[0]), "second_eigenvalue": float(top[1]),
                                "second_difference": float(second_difference)},
                       data={"alphas": alphas, "betas": betas, "surface": surface, "coordinates": coordinates,
                             "random_slice": (line, random_slice), "hessian_slice": (hessian_line, hessian_slice),
                             "model": model, "loss_fn": loss_fn, "batch": batch, "path": path,
                             "directions": (d1, d2), "top_direction": top_direction, "eigen_directions": vectors,
                             "eigen_grid": (eigen_alphas, eigen_betas, eigen_surface)})
    return finish(result, out_dir)


def parameter_gradient(model, loss_fn, batch):
    """∇L(θ) as one flat float64 vector."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    gradients = cr.autograd.grad(loss_fn(model(batch[0]), batch[1]), parameters)
    return numpy.concatenate([numpy.asarray(g.array, dtype=numpy.float64).ravel() for g in gradients])
