r"""Gradient flow: per-layer gradient norms over training, with vanishing and exploding layers flagged.

Backpropagation multiplies the gradient by one Jacobian per layer. For a layer
h_{l+1} = f(W_l h_l), ∂L/∂h_l = W_lᵀ diag(f'(·)) ∂L/∂h_{l+1}, so its size
changes by roughly ‖W_l‖·|f'| per layer. With the sigmoid, |f'| ≤ 1/4: the
gradient of the first layers of a deep sigmoid net shrinks geometrically
(vanishes), while ReLU (f' ∈ {0, 1}) with He initialization (Var W = 2/fan_in)
keeps it about constant. Weights that are too large make it grow instead
(explode). ``GradientFlow`` records ‖∂L/∂θ_layer‖ after each backward pass and
flags the layers whose gradient is tiny next to the largest layer's, or huge.
"""
from dataclasses import dataclass, field

import numpy


@dataclass
class LayerFlow:
    """One layer's gradient norms over the recorded steps, and the verdict."""

    name: str
    norms: numpy.ndarray
    median_norm: float
    relative_to_largest: float   # median over steps of this layer's norm / the largest layer's norm
    flag: str                    # 'ok', 'vanishing' or 'exploding'


@dataclass
class GradientFlowReport:
    """The per-layer table of ``GradientFlow.report``.

    For layer l with gradient norms gₗ,ₜ over the recorded steps t: ``relative_to_largest`` =
    medianₜ(gₗ,ₜ / maxₖ gₖ,ₜ), flagged 'vanishing' below ``vanishing_ratio``; 'exploding' when
    medianₜ gₗ,ₜ > ``exploding_norm`` (or a norm is not finite). ``first_to_last_ratio`` =
    medianₜ g_first,ₜ / medianₜ g_last,ₜ.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> from chainrule.explain import GradientFlow
        >>> _ = cr.manual_seed(0); model = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1))
        >>> flow = GradientFlow(model); model(cr.randn(8, 2)).pow(2).mean().backward(); flow.record()
        >>> report = flow.report(); [(layer.name, layer.flag) for layer in report.layers], report.vanishing
        ([('0', 'ok'), ('2', 'ok')], [])
    """

    layers: list = field(default_factory=list)
    vanishing_ratio: float = 1e-3
    exploding_norm: float = 1e3

    @property
    def vanishing(self):
        return [layer.name for layer in self.layers if layer.flag == "vanishing"]

    @property
    def exploding(self):
        return [layer.name for layer in self.layers if layer.flag == "exploding"]

    @property
    def first_to_last_ratio(self):
        """The median gradient norm of the first layer over that of the last: ≪ 1 when gradients vanish."""
        return self.layers[0].median_norm / self.layers[-1].median_norm

    def text(self):
        width = max([len(layer.name) for layer in self.layers] + [5])
        lines = [f"{'layer':<{width}}  {'median ‖grad‖':>14}  {'÷ largest':>10}  flag", "-" * (width + 40)]
        for layer in self.layers:
            lines.append(f"{layer.name:<{width}}  {layer.median_norm:>14.3e}  {layer.relative_to_largest:>10.2e}  {layer.flag}")
        lines.append(f"first layer / last layer: {self.first_to_last_ratio:.2e}   (vanishing below "
                     f"{self.vanishing_ratio:g} × the largest layer, exploding above ‖grad‖ = {self.exploding_norm:g})")
        return "\n".join(lines)

    def __str__(self):
        return self.text()


class GradientFlow:
    """Records the gradient norm of each layer (the parameters of one module) after each backward.

    Call ``record()`` after ``loss.backward()`` (before ``optimizer.zero_grad()``).
    Layers are the modules that own parameters, in the order of ``model.parameters()``
    (input side first for ``Sequential``); the norm of a layer is the norm of all its
    parameters' gradients together, √(Σ‖∂L/∂θ‖²).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> model = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1))
        >>> flow = GradientFlow(model)
        >>> model(cr.randn(8, 2)).pow(2).mean().backward()
        >>> flow.record()
        >>> flow.layer_names, flow.norms.shape
        (['0', '2'], (1, 2))
    """

    def __init__(self, model):
        self.layer_names = []
        self._layers = {}
        for name, parameter in model.named_parameters():
            layer = name.rsplit(".", 1)[0] if "." in name else name
            if layer not in self._layers:
                self._layers[layer] = []
                self.layer_names.append(layer)
            self._layers[layer].append(parameter)
        if not self.layer_names:
            raise ValueError("GradientFlow: the model has no parameters")
        self.history = []
        self.steps = []

    def record(self, step=None):
        """Store the current gradient norm of every layer (a layer without gradients counts as 0)."""
        norms = []
        for name in self.layer_names:
            total = 0.0
            for parameter in self._layers[name]:
                if parameter.grad is not None:
                    grad = numpy.asarray(parameter.grad.array, dtype=numpy.float64)
                    total += float((grad * grad).sum())
            norms.append(total ** 0.5)
        self.history.append(norms)
        self.steps.append(len(self.steps) if step is None else step)

    @property
    def norms(self):
        """(steps, layers) array of gradient norms."""
        return numpy.asarray(self.history, dtype=numpy.float64).reshape(len(self.history), len(self.layer_names))

    def report(self, vanishing_ratio=1e-3, exploding_norm=1e3):
        """Flag layers: 'vanishing' when their norm is below ``vanishing_ratio`` × the largest layer's
        (median over steps), 'exploding' when it exceeds ``exploding_norm`` or is not finite."""
        if not self.history:
            raise RuntimeError("GradientFlow.report: nothing recorded yet; call record() after each backward()")
        norms = self.norms
        largest = norms.max(axis=1, keepdims=True)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            relative = numpy.where(largest > 0, norms / largest, 0.0)
        report = GradientFlowReport(vanishing_ratio=vanishing_ratio, exploding_norm=exploding_norm)
        for j, name in enumerate(self.layer_names):
            column = norms[:, j]
            ratio = float(numpy.median(relative[:, j]))
            if not numpy.isfinite(column).all() or float(numpy.median(column)) > exploding_norm:
                flag = "exploding"
            elif ratio < vanishing_ratio:
                flag = "vanishing"
            else:
                flag = "ok"
            report.layers.append(LayerFlow(name, column.copy(), float(numpy.median(column)), ratio, flag))
        return report

    def plot(self, ax=None, label=None, **style):
        """Median gradient norm per layer (log scale), with the spread over steps as a band; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        norms = self.norms
        depth = numpy.arange(1, len(self.layer_names) + 1)
        line, = ax.plot(depth, numpy.median(norms, axis=0), marker="o", label=label, **style)
        ax.fill_between(depth, norms.min(axis=0), norms.max(axis=0), color=line.get_color(), alpha=0.2)
        ax.set_yscale("log")
        ax.set_xlabel("layer (1 = next to the input)")
        ax.set_ylabel("‖∂L/∂θ_layer‖")
        return ax
