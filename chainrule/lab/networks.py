"""Labs on networks: activations and vanishing gradients, convolution, and backpropagation explained."""
import os

import numpy
from matplotlib.figure import Figure

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule import optim
from chainrule.core.files import atomic_write
from chainrule.data import load_digits, make_moons
from chainrule.explain import GradientFlow, draw_graph, explain, plot_graph
from chainrule.explain.formatting import latex_to_text
from chainrule.lab.common import LabResult, finish, save_figure, seeded

ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Softplus)
# LeakyReLU is drawn with slope 0.1 below 0 (its default, 0.01, would look just like ReLU at this scale).
DRAWN_WITH = {nn.LeakyReLU: {"negative_slope": 0.1}}


def activation_curves(xs):
    """name → (values, derivatives by autodiff) of each activation on the points ``xs``."""
    curves = {}
    for activation in ACTIVATIONS:
        x = cr.tensor(xs, dtype=cr.float64, requires_grad=True)
        y = activation(**DRAWN_WITH.get(activation, {}))(x)
        y.sum().backward()      # elementwise: ∂(Σ yᵢ)/∂xᵢ = f'(xᵢ)
        curves[activation.__name__] = (y.detach().numpy(), x.grad.numpy())
    return curves


def deep_network(activation, depth=10, width=32, seed=0):
    """``depth`` Linear layers of ``width`` with ``activation`` between them, and its recommended init:
    He (Var W = 2/fan_in) for ReLU, Glorot (Var W = 2/(fan_in + fan_out)) otherwise; zero biases."""
    generator = cr.Generator().manual_seed(seed)
    with seeded(seed):      # the layers draw a default init, replaced below
        layers = [nn.Linear(2, width)]
        for _ in range(depth - 2):
            layers += [activation(), nn.Linear(width, width)]
        layers += [activation(), nn.Linear(width, 2)]
    model = nn.Sequential(*layers)
    for layer in model:
        if isinstance(layer, nn.Linear):
            if activation is nn.ReLU:
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=generator)
            else:
                nn.init.xavier_normal_(layer.weight, generator=generator)
            nn.init.zeros_(layer.bias)
    return model


def gradient_flow(activation, steps=5, depth=10, lr=0.05):
    """Train a deep net on the moons for a few SGD steps, recording each layer's gradient norm."""
    X, y = make_moons(256, noise=0.15, seed=0)
    X, y = cr.tensor(X), cr.tensor(y)
    model = deep_network(activation, depth)
    flow = GradientFlow(model)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(model(X), y).backward()
        flow.record()
        optimizer.step()
    return flow


def activations(out_dir):
    """Each activation and its derivative (by autodiff), and the gradient norms per layer of a deep
    sigmoid network against a deep ReLU network."""
    xs = numpy.linspace(-4, 4, 400)      # an even count: x = 0, where ReLU-like kinks have no derivative, is skipped
    curves = activation_curves(xs)
    flows = {"sigmoid": gradient_flow(nn.Sigmoid), "ReLU": gradient_flow(nn.ReLU)}
    reports = {name: flow.report() for name, flow in flows.items()}

    figure = Figure(figsize=(17, 6.5), layout="constrained")
    grid = figure.add_gridspec(2, 5, width_ratios=[1, 1, 1, 1, 1.6])
    for i, activation in enumerate(ACTIVATIONS):
        ax = figure.add_subplot(grid[i // 4, i % 4])
        values, slopes = curves[activation.__name__]
        ax.plot(xs, values, label="f(x)")
        ax.plot(xs, slopes, label="f'(x) (autodiff)")
        ax.axhline(0, color="gray", lw=0.5)
        ax.set_ylim(-1.5, 4)
        settings = ", ".join(f"{key} = {value:g}" for key, value in DRAWN_WITH.get(activation, {}).items())
        ax.set_title(activation.__name__ + (f" ({settings})" if settings else "") + "\n"
                     + latex_to_text(activation.formula)[:60], fontsize=8)
        ax.set_xlabel("x", fontsize=8)
        ax.set_ylabel("f(x), f'(x)", fontsize=8)
        if i == 0:
            ax.legend(fontsize=7)
    flow_ax = figure.add_subplot(grid[:, 4])
    for name, flow in flows.items():
        flow.plot(ax=flow_ax, label=f"{name}: first/last layer = {reports[name].first_to_last_ratio:.1e}")
    flow_ax.set_title("gradient flow through 10 layers (5 SGD steps)", fontsize=9)
    flow_ax.legend(fontsize=8)
    figures = save_figure(figure, out_dir, "activations")

    sigmoid_slope = curves["Sigmoid"][1]
    text = (
        "Each activation and its derivative, the derivative computed by autodiff: f'(xᵢ) = ∂(Σⱼ f(xⱼ))/∂xᵢ.\n"
        f"σ'(x) = σ(x)(1 − σ(x)) is at most {sigmoid_slope.max():.4f} (= 1/4 at x = 0): backpropagating through "
        "a sigmoid multiplies the gradient by at most 1/4, so through many layers it vanishes.\n"
        f"Gradient norms over 10 layers: the first layer of the sigmoid net gets "
        f"{reports['sigmoid'].first_to_last_ratio:.1e} of the last layer's gradient; with ReLU and He "
        f"initialization {reports['ReLU'].first_to_last_ratio:.2g}.\n"
        f"Sigmoid net:\n{reports['sigmoid'].text()}\nReLU net:\n{reports['ReLU'].text()}"
    )
    result = LabResult("activations", "Activations and vanishing gradients", figures, text,
                       numbers={"sigmoid_max_slope": float(sigmoid_slope.max()),
                                "first_to_last_ratio": {n: r.first_to_last_ratio for n, r in reports.items()},
                                "vanishing_layers": {n: r.vanishing for n, r in reports.items()}},
                       data={"x": xs, "curves": curves, "flow_norms": {n: f.norms for n, f in flows.items()}})
    return finish(result, out_dir)


def output_size(size, kernel, stride=1, padding=0, dilation=1):
    """⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1: how many positions a dilated kernel of size k takes with stride s."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


CONV_SETTINGS = (  # (kernel, stride, padding, dilation) on a 28 × 28 digit
    (3, 1, 0, 1), (3, 1, 1, 1), (5, 1, 2, 1), (3, 2, 1, 1), (3, 1, 2, 2), (5, 3, 0, 1),
)
KERNELS = {
    "vertical edges (Sobel x)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "horizontal edges (Sobel y)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "blur (box 3×3)": [[1 / 9] * 3] * 3,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
}


def convolution(out_dir):
    """Output sizes under stride, padding, dilation and pooling, derived and checked; kernels applied
    to a digit; and convolution as one matrix product of the kernel with the patches (im2col)."""
    images, labels = load_digits("val")
    digit = cr.tensor(images[:1], dtype=cr.float64)                 # (1, 1, 28, 28)
    sizes = []
    for kernel, stride, padding, dilation in CONV_SETTINGS:
        predicted = output_size(28, kernel, stride, padding, dilation)
        actual = F.conv2d(digit, cr.ones(1, 1, kernel, kernel, dtype=cr.float64), stride=stride, padding=padding,
                          dilation=dilation).shape[-1]
        sizes.append({"layer": f"conv k={kernel} s={stride} p={padding} d={dilation}", "formula": predicted,
                      "actual": actual})
    for kernel, stride in ((2, 2), (3, 2)):
        predicted = output_size(28, kernel, stride)
        actual = F.max_pool2d(digit, kernel, stride).shape[-1]
        sizes.append({"layer": f"max pool k={kernel} s={stride}", "formula": predicted, "actual": actual})

    weights = cr.tensor(numpy.array(list(KERNELS.values()))[:, None], dtype=cr.float64)    # (4, 1, 3, 3)
    feature_maps = F.conv2d(digit, weights, padding=1)                                       # (1, 4, 28, 28)
    pooled = F.max_pool2d(feature_maps[:, :1].abs(), 2)                                    # (1, 1, 14, 14)
    patches = F.unfold(digit, 3, padding=1)                                                  # (1, 9, 784)
    as_matmul = (weights.reshape(4, 9) @ patches[0]).reshape(1, 4, 28, 28)
    matmul_difference = float((as_matmul - feature_maps).abs().max().item())

    figure = Figure(figsize=(16, 7), layout="constrained")
    grid = figure.add_gridspec(2, 6)
    table_ax = figure.add_subplot(grid[0, :2])
    table_ax.axis("off")
    rows = [[s["layer"], str(s["formula"]), str(s["actual"])] for s in sizes]
    table = table_ax.table(cellText=rows, colLabels=["on a 28×28 input", "⌊(n+2p−d(k−1)−1)/s⌋+1", "measured"],
                           loc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.3)
    table_ax.set_title("output size = ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1", fontsize=9)
    digit_ax = figure.add_subplot(grid[0, 2])
    digit_ax.imshow(images[0, 0], cmap="gray_r")
    digit_ax.set_title(f"input: a {labels[0]}", fontsize=9)
    digit_ax.axis("off")
    maps = feature_maps.numpy()[0]
    for (row, column), (i, name) in zip(((0, 3), (0, 4), (0, 5), (1, 3)), enumerate(KERNELS)):
        ax = figure.add_subplot(grid[row, column])
        ax.imshow(maps[i], cmap="RdBu_r", vmin=-numpy.abs(maps[i]).max(), vmax=numpy.abs(maps[i]).max())
        ax.set_title(name, fontsize=8)
        ax.axis("off")
    pooled_ax = figure.add_subplot(grid[1, 4])
    pooled_ax.imshow(pooled.numpy()[0, 0], cmap="Reds")
    pooled_ax.set_title(f"|vertical edges|, max pool 2×2: {tuple(pooled.shape[-2:])}", fontsize=8)
    pooled_ax.axis("off")
    columns_ax = figure.add_subplot(grid[1, :3])
    columns_ax.imshow(patches.numpy()[0][:, 300:420], cmap="gray_r", aspect="auto")
    columns_ax.set_title("im2col: each column is one 3×3 patch (9 rows), here patches 300–419 of 784;\n"
                         f"conv = W (4×9) @ patches (9×784), max difference {matmul_difference:.1e}", fontsize=8)
    columns_ax.set_xlabel("patch (output position)")
    columns_ax.set_ylabel("pixel in patch")
    figures = save_figure(figure, out_dir, "convolution")

    text = (
        "A convolution layer slides a k×k kernel over the input with stride s, after padding p on each side, "
        "its taps d apart (dilation). The kernel spans d(k − 1) + 1 pixels, so along an axis of n pixels it fits "
        "⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1 times; pooling follows the same rule.\n"
        + "\n".join(f"  {s['layer']}: formula {s['formula']}, measured {s['actual']}" for s in sizes) + "\n"
        "As a matrix product (im2col): stack every patch as a column, P (C·k·k × positions), and the convolution "
        f"is W (out × C·k·k) @ P; it matches conv2d to {matmul_difference:.1e}."
    )
    result = LabResult("convolution", "Convolution, stride, padding, pooling", figures, text,
                       numbers={"sizes": sizes, "im2col_max_difference": matmul_difference},
                       data={"digit": images[0, 0].astype(numpy.float64), "kernels": KERNELS,
                             "feature_maps": maps, "patches": patches.numpy()[0]})
    return finish(result, out_dir)


def small_network(seed=0):
    """A 2-3-1 network with a sigmoid hidden layer and its data, as named float64 tensors."""
    generator = cr.Generator().manual_seed(seed)
    tensors = {
        "x": cr.tensor([[0.5, -1.0], [1.5, 0.25]], dtype=cr.float64),
        "y": cr.tensor([[1.0], [0.0]], dtype=cr.float64),
        "W1": cr.randn(2, 3, dtype=cr.float64, generator=generator).requires_grad_(),
        "b1": cr.zeros(3, dtype=cr.float64).requires_grad_(),
        "W2": cr.randn(3, 1, dtype=cr.float64, generator=generator).requires_grad_(),
        "b2": cr.zeros(1, dtype=cr.float64).requires_grad_(),
    }
    return tensors


def small_network_loss(t):
    """L = mean((σ(x W1 + b1) W2 + b2 − y)²)."""
    hidden = (t["x"] @ t["W1"] + t["b1"]).sigmoid()
    return ((hidden @ t["W2"] + t["b2"] - t["y"]) ** 2).mean()


def backprop(out_dir):
    """The explainer on a 2-3-1 sigmoid network: each chain-rule step with its numbers, and the graph
    drawn with every tensor's gradient."""
    t = small_network()
    loss = small_network_loss(t)
    parameters = {name: t[name] for name in ("W1", "b1", "W2", "b2")}
    explanation = explain(loss, wrt=parameters, names={"x": t["x"], "y": t["y"]})

    figure = Figure(figsize=(15, 10), layout="constrained")
    ax = figure.add_subplot(1, 1, 1)
    plot_graph(loss, ax=ax, show_values=True, show_grads=True, names={**parameters, "x": t["x"], "y": t["y"]})
    ax.set_title("L = mean((σ(x W1 + b1) W2 + b2 − y)²): each box shows a tensor, its value and ∂L/∂(it)", fontsize=10)
    figures = save_figure(figure, out_dir, "backprop")
    os.makedirs(out_dir, exist_ok=True)
    dot_path = os.path.join(out_dir, "backprop-graph.dot")
    draw_graph(loss, show_values=True, show_grads=True, format="dot", path=dot_path,
               names={**parameters, "x": t["x"], "y": t["y"]})
    with atomic_write(os.path.join(out_dir, "backprop-explanation.md"), "w", encoding="utf-8") as file:
        file.write(explanation.markdown())

    text = (
        "Backpropagation is the chain rule applied from the loss back to each parameter, one op at a time: "
        "∂L/∂v = Σ over the ops u that used v of (∂L/∂u)(∂u/∂v). The full derivation with every number is in "
        f"backprop-explanation.md; the graph as Graphviz DOT text in backprop-graph.dot.\n\n{explanation.text()}"
    )
    result = LabResult("backprop", "Backpropagation, step by step", figures + [dot_path], text,
                       numbers={"loss": float(loss.item()),
                                "gradients": {name: g.tolist() for name, g in explanation.gradients.items()},
                                "steps": len(explanation.steps)},
                       data={"explanation": explanation, "tensors": t})
    return finish(result, out_dir)
