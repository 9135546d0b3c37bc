"""Labs gradient-descent and lr-finder: paths end where they should, step sizes behave as 2/λ_max says."""
import numpy
import pytest

import chainrule as cr
import chainrule.lab
import chainrule.nn as nn
from chainrule import optim
from chainrule.lab.optimization import OPTIMIZERS, moons_model_and_data
from chainrule.optim.testfunctions import Beale, QuadraticBowl, Rosenbrock


@pytest.fixture(scope="module")
def descent(tmp_path_factory):
    return chainrule.lab.run("gradient-descent", tmp_path_factory.mktemp("gd"))


def test_optimizer_paths_end_near_the_minimum(descent):
    distances = descent.numbers["distance_to_minimum"]
    for name in ("momentum", "Adam"):
        assert distances["Rosenbrock"][name] < 0.05, name
    for name in ("momentum", "Nesterov", "Adagrad", "Adam"):
        assert distances["Beale"][name] < 0.01, name
    # RMSprop's step g/√(mean g²) keeps a size of about lr even at the minimum: it hovers within a few lr.
    assert distances["Beale"]["RMSprop"] < 5 * OPTIMIZERS["RMSprop"][2]
    # Plain gradient descent is still crawling along Rosenbrock's valley floor: the classic picture.
    assert distances["Rosenbrock"]["GD"] > 0.1
    for function, name in ((Rosenbrock(), "Rosenbrock"), (Beale(), "Beale")):
        for optimizer, path in descent.data["paths"][name].items():
            assert numpy.array_equal(path[0], function.start)
            assert abs(function.distance_to_minimum(path[-1]) - distances[name][optimizer]) < 1e-15


def test_paths_are_the_optimizers_own_steps(descent):
    # Replay Adam on Rosenbrock one point at a time: the lab's batched run must give the same path.
    function = Rosenbrock()
    x = cr.tensor(function.start, dtype=cr.float64, requires_grad=True)
    opt = optim.Adam([x], lr=0.1)
    for _ in range(50):
        opt.zero_grad()
        function(x).backward()
        opt.step()
    numpy.testing.assert_allclose(descent.data["paths"]["Rosenbrock"]["Adam"][50], x.detach().numpy(), rtol=1e-12)


def test_learning_rates_against_two_over_lambda_max(descent):
    lambda_max = numpy.linalg.eigvalsh(QuadraticBowl(dim=2, condition_number=10.0).hessian).max()
    assert abs(descent.numbers["lambda_max"] - lambda_max) < 1e-9
    for lr, losses in descent.data["lr_curves"].items():
        if lr < 2 / lambda_max:
            assert losses[-1] < losses[0], lr
        else:
            assert losses[-1] > 100 * losses[0], lr
        # Along the top eigenvector the error is multiplied by |1 − ηλ_max| per step: the late losses
        # (dominated by the slowest mode) shrink or grow by the square of the slowest factor.
    slowest = {lr: max(abs(1 - lr * 1.0), abs(1 - lr * lambda_max)) for lr in descent.data["lr_curves"]}
    for lr, losses in descent.data["lr_curves"].items():
        assert abs(losses[-1] / losses[-2] - slowest[lr] ** 2) < 1e-3, lr


@pytest.fixture(scope="module")
def finder(tmp_path_factory):
    return chainrule.lab.run("lr-finder", tmp_path_factory.mktemp("lr"))


def test_lr_finder_curve_is_the_smoothed_raw_losses(finder):
    raw, smoothed = finder.data["raw_losses"], finder.data["losses"]
    average, expected = 0.0, []
    for i, loss in enumerate(raw, start=1):
        average = 0.95 * average + 0.05 * loss
        expected.append(average / (1 - 0.95 ** i))
    numpy.testing.assert_allclose(smoothed, expected, rtol=1e-10)
    lrs = finder.data["lrs"]
    numpy.testing.assert_allclose(numpy.diff(numpy.log(lrs)), numpy.log(1e5) / 99, rtol=1e-9)
    assert lrs[0] <= finder.numbers["suggestion_steepest"] <= lrs[-1]


def test_the_suggested_rate_trains_faster_than_a_tiny_one(finder):
    def train(lr, steps=40):
        model, X, y = moons_model_and_data()
        opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        for _ in range(steps):
            opt.zero_grad()
            loss = nn.CrossEntropyLoss()(model(X), y)
            loss.backward()
            opt.step()
        return loss.item()

    assert train(finder.numbers["suggestion_steepest"]) < train(1e-4) - 0.05
