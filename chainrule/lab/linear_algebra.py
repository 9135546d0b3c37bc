"""Labs on linear algebra: a matrix as a map of the plane, and PCA of the digits."""
import numpy
from matplotlib.figure import Figure

import chainrule as cr
from chainrule import linalg
from chainrule.data import load_digits
from chainrule.lab.common import LabResult, finish, new_figure, save_figure

DEFAULT_MATRIX = ((1.5, 0.8), (0.3, 1.0))


def _polygon_area(points):
    """The shoelace formula: area of the polygon with vertices ``points`` (k, 2), in order."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(x @ numpy.roll(y, -1) - y @ numpy.roll(x, -1)))


def linear_map(out_dir, matrix=DEFAULT_MATRIX):
    """A 2×2 matrix A bending the unit circle and the grid, with its eigenvectors and singular axes.

    A sends the unit circle to an ellipse whose semi-axes are σ₁u₁ and σ₂u₂ (the
    SVD A = UΣVᵀ maps the orthonormal vᵢ to σᵢuᵢ); eigenvectors are the
    directions A only stretches, A v = λ v; every area is multiplied by |det A|.
    """
    A = cr.tensor(matrix, dtype=cr.float64)
    angles = numpy.linspace(0, 2 * numpy.pi, 721)[:-1]
    circle = cr.tensor(numpy.stack([numpy.cos(angles), numpy.sin(angles)], 1))
    image = (circle @ A.mT).numpy()
    eig = linalg.eig(A)
    eigenvalues = numpy.asarray(eig.eigenvalues.data)
    if numpy.abs(eigenvalues.imag).max() > 1e-12:
        raise ValueError(f"linear_map: A has complex eigenvalues {eigenvalues}; its eigenvectors cannot be drawn in the plane")
    eigenvalues = eigenvalues.real
    eigenvectors = numpy.asarray(eig.eigenvectors.data).real
    U, S, Vh = linalg.svd(A)
    U, S, V = U.numpy(), S.numpy(), Vh.numpy().T
    determinant = float(linalg.det(A).item())
    area_ratio = _polygon_area(image) / _polygon_area(circle.numpy())
    square = numpy.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    parallelogram = (cr.tensor(square) @ A.mT).numpy()

    figure, (before, after) = new_figure(2, 1)
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
        after.annotate("", xy=S[i] * U[:, i], xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="C3", lw=1.5))
        after.text(*(S[i] * U[:, i] * 1.08), f"σ{i + 1}u{i + 1}", color="C3")
        v = eigenvectors[:, i]
        for ax, scale in ((before, 1.0), (after, eigenvalues[i])):
            ax.plot([-2.5 * v[0], 2.5 * v[0]], [-2.5 * v[1], 2.5 * v[1]], color="C1", lw=0.8, ls="--")
            ax.annotate("", xy=scale * v, xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="C1", lw=2))
        after.text(*(eigenvalues[i] * v * 1.1 + 0.05), f"λ{i + 1}v{i + 1}", color="C1")
    for ax, title in ((before, "before: the plane, v₁ v₂ (red), eigenvectors (orange)"),
                      (after, f"after A: det A = {determinant:.3g} = area ratio")):
        ax.set_aspect("equal")
        ax.set_xlim(-2.6, 2.6)
        ax.set_ylim(-2.6, 2.6)
        ax.set_title(title, fontsize=9)
        ax.legend(loc="lower right", fontsize=7)
    figures = save_figure(figure, out_dir, "linear-map")

    text = (
        f"A = {numpy.array(matrix).tolist()} maps the unit circle to an ellipse.\n"
        f"Eigenvectors (A v = λ v, the dashed lines A maps onto themselves): λ = {eigenvalues.round(4).tolist()}.\n"
        f"Singular values (the ellipse's semi-axes, A vᵢ = σᵢ uᵢ): σ = {S.round(4).tolist()}.\n"
        f"det A = {determinant:.4f}; the ellipse's area / the circle's = {area_ratio:.4f} "
        f"(= |det A| = σ₁σ₂ = |λ₁λ₂|: every area is scaled by |det A|)."
    )
    result = LabResult("linear-map", "A matrix as a map of the plane", figures, text,
                       numbers={"eigenvalues": eigenvalues.tolist(), "singular_values": S.tolist(),
                                "determinant": determinant, "area_ratio": area_ratio},
                       data={"matrix": numpy.array(matrix, dtype=float), "eigenvectors": eigenvectors, "U": U, "V": V,
                             "circle_image": image})
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

    figure = Figure(figsize=(13, 4.2), layout="constrained")
    grid = figure.add_gridspec(2, 3 + n_images // 2, width_ratios=[3, 0.3] + [1] * (n_images // 2) + [3])
    variance = figure.add_subplot(grid[:, 0])
    k = numpy.arange(1, 51)
    variance.bar(k, ratios[:50], color="C0", label="per component")
    variance.plot(k, cumulative[:50], color="C1", marker=".", label="cumulative")
    variance.axhline(0.9, color="gray", ls=":")
    variance.set_xlabel("component")
    variance.set_ylabel("fraction of variance")
    variance.set_title(f"{needed_90} components keep 90% of the variance", fontsize=9)
    variance.legend(fontsize=7)
    for i in range(n_images):
        ax = figure.add_subplot(grid[i % 2, 2 + i // 2])
        limit = numpy.abs(components[i]).max()
        ax.imshow(components[i].reshape(28, 28), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(f"PC {i + 1}: {100 * ratios[i]:.1f}%", fontsize=7)
        ax.axis("off")
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
                                "first_two_cumulative": float(cumulative[1])},
                       data={"X": X.numpy(), "components": components[:n_images], "embedding": embedding,
                             "explained_variance": model.explained_variance_.numpy(), "labels": labels})
    return finish(result, out_dir)
