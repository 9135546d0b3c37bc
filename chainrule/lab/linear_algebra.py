"""Labs on linear algebra: a matrix as a map of the plane, and PCA of the digits."""
import numpy
from matplotlib.figure import Figure

import chainrule as cr
from chainrule import linalg
from chainrule.data import load_digits
from chainrule.lab.common import LabResult, finish, new_figure, save_figure

DEFAULT_MATRIX = ((1.5, 0.8), (0.3, 1.0))
EPS = float(numpy.finfo(numpy.float64).eps)


def _polygon_area(points):
    """The shoelace formula: area of the polygon with vertices ``points`` (k, 2), in order."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(x @ numpy.roll(y, -1) - y @ numpy.roll(x, -1)))


def _label(ax, tip, text, color, side):
    """Write ``text`` beside the arrow tip ``tip``, pushed off the arrow to ``side`` (+1 or −1) so that
    labels of nearby arrows do not sit on each other."""
    tip = numpy.asarray(tip, dtype=float)
    length = numpy.linalg.norm(tip) or 1.0
    normal = numpy.array([-tip[1], tip[0]]) / length
    position = tip * (1 + 0.12 / length) + side * 0.22 * normal
    ax.text(*position, text, color=color, fontsize=8, ha="center", va="center",
            bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))


def eigen_structure(A):
    """What the eigen-decomposition of a real 2×2 matrix says about its picture.

    'real': two independent real eigenvectors (A = VΛV⁻¹); 'defective': one repeated eigenvalue with a
    single eigenvector direction (A is not diagonalizable, e.g. a shear); 'complex': eigenvalues
    r e^{±iθ}, no real eigenvector: in the basis (Re v, Im v) of an eigenvector v, A is r times a rotation by θ.
    Returns (kind, eigenvalues, eigenvectors as columns, basis P of the rotation–scaling form or None).
    """
    eig = linalg.eig(A)
    eigenvalues = numpy.asarray(eig.eigenvalues.array)
    eigenvectors = numpy.asarray(eig.eigenvectors.array)
    if numpy.abs(eigenvalues.imag).max() > 1e-12:
        v = eigenvectors[:, 0] if eigenvalues[0].imag < 0 else eigenvectors[:, 1]   # λ = a − ib, b > 0
        basis = numpy.stack([v.real, v.imag], 1)
        return "complex", eigenvalues, eigenvectors, basis
    eigenvectors = eigenvectors.real
    if abs(numpy.linalg.det(eigenvectors)) < 1e-6:
        return "defective", eigenvalues.real, eigenvectors[:, :1], None
    return "real", eigenvalues.real, eigenvectors, None


def draw_linear_map(before, after, matrix):
    """Draw what the 2×2 ``matrix`` does to the plane on the axes ``before`` and ``after``; returns
    (text, numbers, data) of what was drawn.

    A sends the unit circle to an ellipse whose semi-axes are σ₁u₁ and σ₂u₂ (the
    SVD A = UΣVᵀ maps the orthonormal vᵢ to σᵢuᵢ); eigenvectors are the
    directions A only stretches, A v = λ v; every area is multiplied by |det A|.
    A matrix with complex eigenvalues r e^{±iθ} has no such direction: it turns
    the plane by θ and scales it by r (in the basis of Re v, Im v), drawn as the
    spiral x, Ax, A²x, …; a defective matrix has a single eigenvector direction.
    """
    A = cr.tensor(matrix, dtype=cr.float64)
    angles = numpy.linspace(0, 2 * numpy.pi, 721)[:-1]
    circle = cr.tensor(numpy.stack([numpy.cos(angles), numpy.sin(angles)], 1))
    image = (circle @ A.mT).numpy()
    kind, eigenvalues, eigenvectors, basis = eigen_structure(A)
    U, S, Vh = linalg.svd(A)
    U, S, V = U.numpy(), S.numpy(), Vh.numpy().T
    determinant = float(linalg.det(A).item())
    area_ratio = _polygon_area(image) / _polygon_area(circle.numpy())
    square = numpy.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    parallelogram = (cr.tensor(square) @ A.mT).numpy()
    reach = max(2.6, 1.15 * float(numpy.abs(image).max()), 1.15 * float(numpy.abs(parallelogram).max()))

    lines = numpy.linspace(-2, 2, 9)
    t = numpy.linspace(-2, 2, 50)
    for c in lines:
        for points in (numpy.stack([t, numpy.full_like(t, c)], 1), numpy.stack([numpy.full_like(t, c), t], 1)):
            mapped = (cr.tensor(points) @ A.mT).numpy()
            before.plot(points[:, 0], points[:, 1], color="#cccccc", lw=0.6)
            after.plot(mapped[:, 0], mapped[:, 1], color="#cccccc", lw=0.6)
    before.plot(*circle.numpy().T, color="C0", label="unit circle")
    before.fill(*square.T, color="C2", alpha=0.3, label="unit square (area 1)")
    after.plot(*image.T, color="C0", label="A · circle")
    after.fill(*parallelogram.T, color="C2", alpha=0.3, label=f"A · square (area {abs(determinant):.3g})")
    for i in range(2):
        before.annotate("", xy=V[:, i], xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="C3", lw=1.5))
        _label(before, V[:, i], f"v{i + 1}", "C3", -1)
        after.annotate("", xy=S[i] * U[:, i], xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="C3", lw=1.5))
        _label(after, S[i] * U[:, i], f"σ{i + 1}u{i + 1}", "C3", -1)
    orbit = None
    if kind == "complex":
        modulus, turn = float(abs(eigenvalues[0])), float(abs(numpy.angle(eigenvalues[0])))
        orbit = [numpy.array([1.0, 0.0])]
        for _ in range(12):
            orbit.append((A @ cr.tensor(orbit[-1], dtype=cr.float64)).numpy())
        orbit = numpy.array(orbit)
        inside = numpy.abs(orbit).max(1) < reach
        after.plot(*orbit[inside].T, "o-", color="C1", ms=3, lw=1, label="x, Ax, A²x, … from x = (1, 0)")
        for i, name in enumerate(("Re v", "Im v")):
            before.annotate("", xy=basis[:, i], xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="C1", lw=2))
            _label(before, basis[:, i], name, "C1", 1)
        eigen_title = (f"complex λ = r·e^(±iθ), r = {modulus:.3g}, θ = {numpy.degrees(turn):.1f}°: no real eigenvector;\n"
                       f"A turns the plane by θ and scales it by r")
    else:
        for i in range(eigenvectors.shape[1]):
            v = eigenvectors[:, i]
            for ax, scale in ((before, 1.0), (after, eigenvalues[i])):
                ax.plot([-reach * v[0], reach * v[0]], [-reach * v[1], reach * v[1]], color="C1", lw=0.8, ls="--")
                ax.annotate("", xy=scale * v, xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="C1", lw=2))
            _label(after, eigenvalues[i] * v, f"λ{i + 1}q{i + 1}", "C1", 1)
            _label(before, v, f"q{i + 1}", "C1", 1)
        eigen_title = ("defective: λ = {0:.3g} twice, ONE eigenvector direction".format(eigenvalues[0])
                       if kind == "defective" else "eigenvectors q (orange) only stretch")
    for ax, title in ((before, f"before: v₁, v₂ (red); {'Re v, Im v' if kind == 'complex' else 'eigenvectors'} "
                                f"(orange)"),
                      (after, f"after A: det A = {determinant:.3g} = area ratio\n{eigen_title}")):
        ax.set_aspect("equal")
        ax.set_xlim(-reach, reach)
        ax.set_ylim(-reach, reach)
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        ax.set_title(title, fontsize=8.5)
        ax.legend(loc="lower right", fontsize=7)

    if kind == "complex":
        eigen_text = (f"Eigenvalues λ = {numpy.round(eigenvalues, 4).tolist()} are complex: no direction is only "
                      f"stretched. With v = Re v + i Im v an eigenvector for λ = a − ib, A [Re v, Im v] = [Re v, Im v] "
                      f"[[a, −b], [b, a]] = r·(the rotation by θ) with r = |λ| = {abs(eigenvalues[0]):.4f}, "
                      f"θ = {numpy.degrees(abs(numpy.angle(eigenvalues[0]))):.2f}°: the orbit x, Ax, A²x, … turns by θ "
                      f"and grows or shrinks by r each step.")
    elif kind == "defective":
        eigen_text = (f"λ = {eigenvalues[0]:.4g} is a double root of det(A − λI) but A − λI has rank 1: only ONE "
                      f"eigenvector direction {numpy.round(eigenvectors[:, 0], 4).tolist()} (a shear plus a scaling; "
                      f"A is not diagonalizable).")
    else:
        eigen_text = (f"Eigenvectors (A v = λ v, the dashed lines A maps onto themselves): "
                      f"λ = {eigenvalues.round(4).tolist()}.")
    text = (
        f"A = {numpy.array(matrix).tolist()} maps the unit circle to an ellipse.\n{eigen_text}\n"
        f"Singular values (the ellipse's semi-axes, A vᵢ = σᵢ uᵢ): σ = {S.round(4).tolist()}.\n"
        f"det A = {determinant:.4f}; the ellipse's area / the circle's = {area_ratio:.4f} "
        f"(= |det A| = σ₁σ₂ = |λ₁λ₂|: every area is scaled by |det A|)."
    )
    numbers = {"kind": kind, "singular_values": S.tolist(), "determinant": determinant, "area_ratio": area_ratio}
    numbers["eigenvalues"] = (eigenvalues.tolist() if kind != "complex"
                              else [complex(value) for value in eigenvalues])
    data = {"matrix": numpy.array(matrix, dtype=float), "eigenvectors": eigenvectors, "U": U, "V": V,
            "circle_image": image, "rotation_basis": basis, "orbit": orbit}
    return text, numbers, data


ROTATION_SCALING = ((0.9, -0.5), (0.4, 1.0))
SHEAR = ((2.0, 1.0), (0.0, 2.0))


def linear_map(out_dir, matrix=DEFAULT_MATRIX):
    """Three 2×2 matrices as maps of the plane: ``matrix`` (two real eigenvectors), a rotation–scaling
    (complex eigenvalues) and the defective shear [[2, 1], [0, 2]] (one eigenvector); each bends the unit
    circle and the grid, with its eigenvectors and singular axes. ``numbers`` and ``data`` describe
    ``matrix``; ``numbers['cases']`` and ``data['cases']`` the other two."""
    figure, axes = new_figure(2, 3, size=(4.8, 4.4))
    text, numbers, data = draw_linear_map(axes[0], axes[1], matrix)
    cases = {}
    for row, (name, other) in enumerate((("rotation-scaling", ROTATION_SCALING), ("defective", SHEAR)), start=1):
        case_text, case_numbers, case_data = draw_linear_map(axes[2 * row], axes[2 * row + 1], other)
        cases[name] = (case_text, case_numbers, case_data)
        text += "\n\n" + case_text
    figures = save_figure(figure, out_dir, "linear-map")
    numbers["cases"] = {name: case[1] for name, case in cases.items()}
    data["cases"] = {name: case[2] for name, case in cases.items()}
    result = LabResult("linear-map", "A matrix as a map of the plane", figures, text, numbers=numbers, data=data)
    return finish(result, out_dir)


def pca(out_dir, n_samples=600, n_images=8):
    """PCA of the bundled digits: explained variance, the first components as images, a 2-D embedding.

    With the centered images X_c = U Σ Vᵀ, the rows of Vᵀ are the principal axes
    and σᵢ²/(n−1) the variance along each; projecting on the first two gives the
    best 2-D picture of the data in the least-squares sense.
    """
    images, labels = load_digits("train")
    # The split is stored digit by digit: a seeded random subset has all ten digits.
    chosen = cr.Generator().manual_seed(0).permutation(len(labels))[:n_samples]
    X = cr.tensor(images[chosen].reshape(n_samples, -1), dtype=cr.float64)
    labels = labels[chosen]
    model = linalg.PCA().fit(X)
    ratios = model.explained_variance_ratio_.numpy()
    cumulative = numpy.cumsum(ratios)
    components = model.components_.numpy()
    embedding = model.transform(X).numpy()[:, :2]
    needed_90 = int(numpy.searchsorted(cumulative, 0.9) + 1)

    figure = Figure(figsize=(14, 4.4), layout="constrained")
    columns = n_images // 2
    grid = figure.add_gridspec(2, 3 + columns, width_ratios=[3, 0.3] + [1] * columns + [3])
    variance = figure.add_subplot(grid[:, 0])
    shown = max(50, needed_90 + 10)                 # the axis reaches past the component that crosses 90 %
    k = numpy.arange(1, shown + 1)
    variance.bar(k, ratios[:shown], color="C0", label="per component")
    variance.plot(k, cumulative[:shown], color="C1", marker=".", ms=3, label="cumulative")
    variance.axhline(0.9, color="gray", ls=":")
    variance.axvline(needed_90, color="C3", ls="--", label=f"90% reached at component {needed_90}")
    variance.set_xlabel("component")
    variance.set_ylabel("fraction of variance")
    variance.set_title(f"{needed_90} components keep 90% of the variance", fontsize=9)
    variance.legend(fontsize=7, loc="center right")
    limit = float(numpy.abs(components[:n_images]).max())       # one scale for all, so one colour bar reads them
    for i in range(n_images):
        ax = figure.add_subplot(grid[i // columns, 2 + i % columns])          # row by row: PC 1…4, then 5…8
        image = ax.imshow(components[i].reshape(28, 28), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(f"PC {i + 1}: {100 * ratios[i]:.1f}%", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    figure.colorbar(image, ax=figure.axes[1:], location="bottom", shrink=0.6, label="pixel weight in the component")
    scatter_ax = figure.add_subplot(grid[:, -1])
    points = scatter_ax.scatter(embedding[:, 0], embedding[:, 1], c=labels, cmap="tab10", s=4)
    figure.colorbar(points, ax=scatter_ax, ticks=range(10), label="digit")
    scatter_ax.set_xlabel("PC 1")
    scatter_ax.set_ylabel("PC 2")
    scatter_ax.set_title("the digits on the first two components", fontsize=9)
    figures = save_figure(figure, out_dir, "pca")

    text = (
        f"PCA of {n_samples} digit images (784 pixels each): centre the data, X_c = X − μ, take the SVD "
        f"X_c = U Σ Vᵀ; the rows of Vᵀ are the principal axes, σᵢ²/(n−1) the variances along them.\n"
        f"The first two components explain {100 * cumulative[1]:.1f}% of the variance, the first ten "
        f"{100 * cumulative[9]:.1f}%; {needed_90} components keep 90%."
    )
    result = LabResult("pca", "PCA of the digits", figures, text,
                       numbers={"explained_variance_ratio": ratios[:10].tolist(), "components_for_90_percent": needed_90,
                                "components_drawn": shown,
                                "first_two_cumulative": float(cumulative[1])},
                       data={"X": X.numpy(), "components": components[:n_images], "embedding": embedding,
                             "explained_variance": model.explained_variance_.numpy(), "labels": labels})
    return finish(result, out_dir)


WELL_CONDITIONED = ((2.0, 1.0), (1.0, 3.0))
ILL_CONDITIONED = ((1.0, 1.0), (1.0, 1.02))
NUDGE = 0.2


def _hilbert(n):
    """The Hilbert matrix Hᵢⱼ = 1/(i + j + 1): symmetric positive definite, notoriously ill-conditioned."""
    index = numpy.arange(n)
    return 1.0 / (index[:, None] + index[None, :] + 1.0)


def nudged_solutions(matrix, b, size, count=400):
    """Solutions of A x = b + δ for ``count`` nudges δ of norm ``size`` spread round the circle,
    and the largest amplification (‖δx‖/‖x‖)/(‖δ‖/‖b‖) among them, which is at most κ(A)."""
    A = cr.tensor(matrix, dtype=cr.float64)
    angles = numpy.linspace(0, 2 * numpy.pi, count, endpoint=False)
    nudges = size * numpy.stack([numpy.cos(angles), numpy.sin(angles)], 1)
    right_sides = cr.tensor(numpy.asarray(b) + nudges, dtype=cr.float64)
    solutions = linalg.solve(A, right_sides.mT).mT.numpy()          # every nudged system in one solve
    x = linalg.solve(A, cr.tensor(b, dtype=cr.float64)).numpy()
    amplification = (numpy.linalg.norm(solutions - x, axis=1) / numpy.linalg.norm(x)) / (size / numpy.linalg.norm(b))
    return x, solutions, float(amplification.max())


def solve_against_inverse(sizes=(4, 6, 8, 10, 11), repeats=5, timing_size=200):
    """Forward error ‖x̂ − x‖/‖x‖ and residual ‖Ax̂ − b‖/(‖A‖‖x̂‖) of ``solve(A, b)`` and of ``inv(A) @ b``
    on Hilbert matrices with a known x = 1, and the time of each on a random ``timing_size`` system."""
    import time
    errors = {"solve": [], "inv(A) @ b": []}
    residuals = {"solve": [], "inv(A) @ b": []}
    conditions = []
    for n in sizes:
        A = cr.tensor(_hilbert(n), dtype=cr.float64)
        x_true = cr.ones(n, 1, dtype=cr.float64)
        b = A @ x_true
        conditions.append(float(linalg.cond(A).item()))
        for name, x in (("solve", linalg.solve(A, b)), ("inv(A) @ b", linalg.inv(A) @ b)):
            errors[name].append(float((x - x_true).norm().item() / x_true.norm().item()))
            residuals[name].append(float((A @ x - b).norm().item() / (linalg.matrix_norm(A, 2).item() * x.norm().item())))
    generator = cr.Generator().manual_seed(0)
    A = cr.randn(timing_size, timing_size, dtype=cr.float64, generator=generator)
    b = cr.randn(timing_size, 1, dtype=cr.float64, generator=generator)
    seconds = {}
    for name, run in (("solve", lambda: linalg.solve(A, b)), ("inv(A) @ b", lambda: linalg.inv(A) @ b)):
        run()
        start = time.perf_counter()
        for _ in range(repeats):
            run()
        seconds[name] = (time.perf_counter() - start) / repeats
    return {"sizes": list(sizes), "conditions": conditions, "errors": errors, "residuals": residuals,
            "seconds": seconds, "timing_size": timing_size}


def linear_systems(out_dir):
    """Ax = b as the meeting point of lines; the condition number as how far that point moves when b is
    nudged; and why ``solve(A, b)`` beats ``inv(A) @ b`` (backward error and time, measured)."""
    systems = {}
    for name, matrix in (("well-conditioned", WELL_CONDITIONED), ("ill-conditioned", ILL_CONDITIONED)):
        A = cr.tensor(matrix, dtype=cr.float64)
        b = (A @ cr.ones(2, dtype=cr.float64)).numpy()          # the system whose solution is x = (1, 1)
        kappa = float(linalg.cond(A).item())
        x, nudged, amplification = nudged_solutions(matrix, b, size=NUDGE)
        systems[name] = {"matrix": numpy.array(matrix), "b": b, "kappa": kappa, "x": x, "nudged": nudged,
                         "amplification": amplification}
    comparison = solve_against_inverse()

    figure, axes = new_figure(4, 1, size=(4.3, 4.0))
    for ax, (name, system) in zip(axes[:2], systems.items()):
        A, x, b = system["matrix"], system["x"], system["b"]
        half = max(2.0, 1.2 * numpy.abs(system["nudged"] - x).max())
        span = numpy.linspace(x[0] - half, x[0] + half, 50)
        for row, color in zip(range(2), ("C0", "C1")):
            a1, a2 = A[row]
            ax.plot(span, (b[row] - a1 * span) / a2, color=color,
                    label=f"{a1:g}·x₁ + {a2:g}·x₂ = {b[row]:.4g}")
        ax.plot(*system["nudged"].T, ".", color="C3", ms=1.5, label=f"solutions for b + δ, ‖δ‖ = {NUDGE:g}")
        ax.plot(*x, "ko", ms=5, label=f"x = ({x[0]:.3g}, {x[1]:.3g})")
        ax.set_xlim(x[0] - half, x[0] + half)
        ax.set_ylim(x[1] - half, x[1] + half)
        ax.set_aspect("equal")
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        ax.set_title(f"{name}: κ(A) = {system['kappa']:.3g}; the meeting point moves up to\n"
                     f"{system['amplification']:.3g}× the relative nudge", fontsize=9)
        ax.legend(fontsize=6.5, loc="lower left")
    error_ax, residual_ax = axes[2], axes[3]
    for name, marker in (("solve", "o-"), ("inv(A) @ b", "s--")):
        error_ax.loglog(comparison["conditions"], comparison["errors"][name], marker, label=name)
        # An exactly zero residual (it happens for small n) is drawn at ε/100 rather than dropped.
        residual_ax.loglog(comparison["conditions"], numpy.maximum(comparison["residuals"][name], EPS / 100), marker,
                           label=name)
    error_ax.loglog(comparison["conditions"], EPS * numpy.array(comparison["conditions"]), "k:", label="ε·κ(A)")
    error_ax.set_xlabel(f"κ(A) (Hilbert matrices n = {comparison['sizes'][0]}…{comparison['sizes'][-1]})")
    error_ax.set_ylabel("forward error ‖x̂ − x‖/‖x‖")
    error_ax.set_title("both lose digits as κ grows: the problem's fault", fontsize=9)
    error_ax.legend(fontsize=7)
    residual_ax.axhline(EPS, color="k", ls=":", label="ε (machine epsilon)")
    residual_ax.set_xlabel("κ(A)")
    residual_ax.set_ylabel("residual ‖Ax̂ − b‖/(‖A‖‖x̂‖)")
    seconds = comparison["seconds"]
    residual_ax.set_title(f"solve is backward stable, inv is not; n = {comparison['timing_size']}:\n"
                          f"solve {1e3 * seconds['solve']:.2f} ms, inv(A) @ b {1e3 * seconds['inv(A) @ b']:.2f} ms",
                          fontsize=9)
    residual_ax.legend(fontsize=7)
    figures = save_figure(figure, out_dir, "linear-systems")

    lines = [f"  {name}: A = {s['matrix'].tolist()}, κ = ‖A‖‖A⁻¹‖ = σ_max/σ_min = {s['kappa']:.4g}, "
             f"x = {numpy.round(s['x'], 4).tolist()}, largest amplification of a nudge {s['amplification']:.4g}"
             for name, s in systems.items()]
    worst = max(range(len(comparison["sizes"])), key=lambda i: comparison["conditions"][i])
    text = (
        "Each equation aᵢ·x = bᵢ of a 2×2 system is a line; the solution of Ax = b is where they meet. "
        "Nudge b by δ and the solution moves by A⁻¹δ: relatively, ‖δx‖/‖x‖ ≤ κ(A)·‖δ‖/‖b‖ with the condition "
        "number κ(A) = σ_max/σ_min. Nearly parallel lines (ill-conditioned) meet at a point that slides far.\n"
        + "\n".join(lines) + "\n"
        "solve(A, b) factors A = LU (partial pivoting) and substitutes; inv(A) @ b forms A⁻¹ first. On Hilbert "
        f"matrices (x = 1 known) up to κ = {comparison['conditions'][worst]:.2g}: forward errors solve "
        f"{comparison['errors']['solve'][worst]:.2g}, inv {comparison['errors']['inv(A) @ b'][worst]:.2g} (both near "
        f"ε·κ: the problem loses the digits); residuals solve {comparison['residuals']['solve'][worst]:.2g}, inv "
        f"{comparison['residuals']['inv(A) @ b'][worst]:.2g}: solve gives the exact answer to a nearby problem "
        f"(backward stable), inv does not. Time on a random {comparison['timing_size']}×{comparison['timing_size']} "
        f"system: solve {1e3 * seconds['solve']:.2f} ms, inv(A) @ b {1e3 * seconds['inv(A) @ b']:.2f} ms "
        "(LU costs ⅔n³, the inverse about 2n³)."
    )
    result = LabResult("linear-systems", "Linear systems, conditioning and inverses", figures, text,
                       numbers={"kappa": {n: s["kappa"] for n, s in systems.items()},
                                "amplification": {n: s["amplification"] for n, s in systems.items()},
                                "seconds": seconds},
                       data={"systems": systems, "comparison": comparison})
    return finish(result, out_dir)
