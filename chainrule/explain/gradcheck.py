"""A float64 gradient check of a whole model, one row per parameter.

For a parameter θ with backpropagated gradient g, the central difference along a
direction d,

    (L(θ + εd) − L(θ − εd)) / 2ε = gᵀd + O(ε²),

must match gᵀd. Small parameters are checked coordinate by coordinate (d = each
unit vector, giving the whole numerical gradient); big ones along a few random
unit directions, which tests every coordinate at once at the cost of two loss
evaluations per direction. The check runs on a float64 copy of the model (in
float32 a central difference keeps only about 4 significant digits), in eval
mode so that dropout does not change the function between evaluations.
"""
import copy
from dataclasses import dataclass, field

import numpy

from chainrule.core import autograd
from chainrule.core.grad_mode import no_grad
from chainrule.core.random import Generator
from chainrule.core.tensor import Tensor


@dataclass
class ParameterCheck:
    """One parameter's check: the relative error between autodiff and central differences."""

    name: str
    shape: tuple
    method: str              # 'all coordinates' or 'k random directions'
    gradient_norm: float
    relative_error: float
    passed: bool


@dataclass
class ModelGradientReport:
    """The per-parameter table of ``check_model_gradients``; ``passed`` when every row passed.

    Each row's relative error is ‖a − n‖ / max(‖a‖, ‖n‖) (autodiff a, central differences n);
    ``max_relative_error`` is the largest, and ``passed`` means it is at most ``tolerance``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> from chainrule.explain import check_model_gradients
        >>> _ = cr.manual_seed(0); model = nn.Linear(10, 10)       # 100 weights: checked along random directions
        >>> report = check_model_gradients(model, nn.MSELoss(), (cr.randn(4, 10), cr.randn(4, 10)))
        >>> report.passed, report.max_relative_error < 1e-6, [row.method for row in report.rows]
        (True, True, ['4 random directions', 'all coordinates'])
    """

    rows: list = field(default_factory=list)
    tolerance: float = 1e-6

    @property
    def passed(self):
        return all(row.passed for row in self.rows)

    @property
    def max_relative_error(self):
        return max((row.relative_error for row in self.rows), default=0.0)

    def text(self):
        width = max([len(row.name) for row in self.rows] + [9])
        lines = [f"{'parameter':<{width}}  {'shape':<14}  {'checked along':<22}  {'‖grad‖':>10}  {'rel. error':>10}  ok",
                 "-" * (width + 70)]
        for row in self.rows:
            lines.append(f"{row.name:<{width}}  {str(row.shape):<14}  {row.method:<22}  {row.gradient_norm:>10.3e}  "
                         f"{row.relative_error:>10.2e}  {'yes' if row.passed else 'NO'}")
        verdict = "passed" if self.passed else "FAILED"
        lines.append(f"gradient check {verdict}: largest relative error {self.max_relative_error:.2e} "
                     f"(tolerance {self.tolerance:.0e})")
        return "\n".join(lines)

    def markdown(self):
        lines = ["| parameter | shape | checked along | ‖grad‖ | relative error | ok |", "|---|---|---|---|---|---|"]
        for row in self.rows:
            lines.append(f"| `{row.name}` | {row.shape} | {row.method} | {row.gradient_norm:.3e} | "
                         f"{row.relative_error:.2e} | {'yes' if row.passed else '**no**'} |")
        return "\n".join(lines)

    def __str__(self):
        return self.text()


def _relative_error(analytic, numerical):
    analytic, numerical = numpy.ravel(analytic), numpy.ravel(numerical)
    scale = max(numpy.linalg.norm(analytic), numpy.linalg.norm(numerical), 1e-12)
    return float(numpy.linalg.norm(analytic - numerical) / scale)


def _to_float64(value):
    if isinstance(value, Tensor) and value.is_floating_point():
        return value.detach().double()
    if isinstance(value, (tuple, list)):
        return type(value)(_to_float64(v) for v in value)
    return value


def check_model_gradients(model, loss_fn, batch, eps=1e-6, tolerance=1e-6, max_coordinates=64,
                          num_directions=4, generator=None):
    """Check every parameter's backpropagated gradient against central differences, in float64.

    ``batch`` is ``(inputs, targets)`` and the loss is ``loss_fn(model(inputs), targets)``;
    the check runs on a float64 deep copy (the model is not changed). Parameters
    with at most ``max_coordinates`` entries are checked along every coordinate;
    larger ones along ``num_directions`` random unit directions. The relative
    error is ‖a − n‖ / max(‖a‖, ‖n‖) over the directional derivatives a
    (autodiff) and n (numerical). Returns a ``ModelGradientReport``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
        >>> batch = (cr.randn(5, 3), cr.tensor([0, 1, 1, 0, 1]))
        >>> report = check_model_gradients(model, nn.CrossEntropyLoss(), batch)
        >>> report.passed, [row.name for row in report.rows]
        (True, ['0.weight', '0.bias', '2.weight', '2.bias'])
    """
    inputs, targets = batch
    checked = copy.deepcopy(model).double()
    checked.eval()
    inputs, targets = _to_float64(inputs), _to_float64(targets)
    named = [(name, p) for name, p in checked.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("check_model_gradients: the model has no parameters that require grad")
    generator = generator or Generator().manual_seed(0)

    def loss_value():
        with no_grad():
            return float(loss_fn(checked(inputs), targets).item())

    loss = loss_fn(checked(inputs), targets)
    if loss.numel() != 1:
        raise ValueError(f"check_model_gradients: loss_fn must return a scalar, got shape {loss.shape}")
    gradients = autograd.grad(loss, [p for _, p in named], allow_unused=True)
    report = ModelGradientReport(tolerance=tolerance)
    for (name, parameter), gradient in zip(named, gradients):
        analytic_gradient = (numpy.zeros(parameter.shape) if gradient is None
                             else numpy.asarray(gradient.array, dtype=numpy.float64))
        if not parameter.array.flags.c_contiguous:
            parameter.array = parameter.xp.ascontiguousarray(parameter.array)   # so that the flat view below is a view
        flat = parameter.array.reshape(-1)   # a view: writing it moves the parameter
        if parameter.numel() <= max_coordinates:
            directions = numpy.eye(parameter.numel())
            method = "all coordinates"
        else:
            directions = generator.normal((num_directions, parameter.numel()), 0.0, 1.0, numpy.float64)
            directions /= numpy.linalg.norm(directions, axis=1, keepdims=True)
            method = f"{num_directions} random directions"
        analytic, numerical = [], []
        for direction in directions:
            original = flat.copy()
            flat += eps * direction
            plus = loss_value()
            flat[...] = original - eps * direction
            minus = loss_value()
            flat[...] = original
            numerical.append((plus - minus) / (2 * eps))
            analytic.append(float(analytic_gradient.reshape(-1) @ direction))
        error = _relative_error(analytic, numerical)
        report.rows.append(ParameterCheck(name=name, shape=parameter.shape, method=method,
                                          gradient_norm=float(numpy.linalg.norm(analytic_gradient)),
                                          relative_error=error, passed=error <= tolerance))
    return report
