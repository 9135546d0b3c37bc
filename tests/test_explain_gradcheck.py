"""check_model_gradients: a float64 gradient check of a whole model, one row per parameter."""
import numpy

import chainrule as cr
import chainrule.nn as nn
from chainrule.explain import check_model_gradients


def test_a_correct_model_passes_and_is_left_unchanged():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 40), nn.Tanh(), nn.Linear(40, 2))
    before = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    batch = (cr.randn(6, 3), cr.tensor([0, 1, 1, 0, 1, 0]))
    report = check_model_gradients(model, nn.CrossEntropyLoss(), batch)
    assert report.passed and report.max_relative_error < 1e-7
    methods = {row.name: row.method for row in report.rows}
    assert methods == {"0.weight": "4 random directions", "0.bias": "all coordinates",
                       "2.weight": "4 random directions", "2.bias": "all coordinates"}
    for name, p in model.named_parameters():
        assert p.dtype == numpy.float32 and numpy.array_equal(p.detach().numpy(), before[name])
    assert "gradient check passed" in report.text() and "| `0.weight` |" in report.markdown()


class HalfDetached(nn.Module):
    """y = x w + stop_gradient(x w): the true derivative in w is 2x, backprop sees only x."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(cr.tensor([[0.5], [-1.0]]))

    def forward(self, x):
        return x @ self.w + (x @ self.w).detach()


def test_a_wrong_gradient_is_caught():
    batch = (cr.tensor([[1.0, 2.0], [0.5, -1.0]]), cr.tensor([[0.0], [1.0]]))
    report = check_model_gradients(HalfDetached(), nn.MSELoss(), batch)
    assert not report.passed
    (row,) = report.rows
    # Autodiff gives half of the numerical derivative in every direction: ‖a − n‖/‖n‖ = 1/2.
    assert abs(row.relative_error - 0.5) < 1e-6
    assert "FAILED" in report.text()


def test_numerical_derivatives_agree_with_an_independent_formula():
    # Linear least squares: L = mean((Xw − y)²), ∇L = 2Xᵀ(Xw − y)/N; a wrong analytic gradient would show.
    model = nn.Linear(3, 1, bias=False)
    X = cr.randn(8, 3, generator=cr.Generator().manual_seed(2))
    y = cr.randn(8, 1, generator=cr.Generator().manual_seed(3))
    report = check_model_gradients(model, nn.MSELoss(), (X, y))
    w = model.weight.detach().numpy().astype(numpy.float64).T
    residual = X.numpy().astype(numpy.float64) @ w - y.numpy()
    expected = 2 * X.numpy().astype(numpy.float64).T @ residual / 8
    assert report.passed
    assert abs(report.rows[0].gradient_norm - numpy.linalg.norm(expected)) < 1e-12
