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


def test_learning_rate_regimes_are_the_theory(descent):
    eigenvalues = numpy.linalg.eigvalsh(QuadraticBowl(dim=2, condition_number=10.0).hessian)
    lambda_min, lambda_max = eigenvalues.min(), eigenvalues.max()
    assert abs(descent.numbers["lambda_max"] - lambda_max) < 1e-9 and abs(descent.numbers["lambda_min"] - lambda_min) < 1e-9
    regimes = descent.numbers["regimes"]
    assert abs(regimes["fastest"]["lr"] - 2 / (lambda_max + lambda_min)) < 1e-12
    assert regimes["too small"]["lr"] < regimes["fastest"]["lr"] < 2 / lambda_max < regimes["diverging"]["lr"]
    # The fastest rate takes the fewest steps; each count is the closed form's, within the slowest-mode
    # bound ⌈log tol / log ρ²⌉, and past 2/λ_max the run never gets there.
    fast, slow = regimes["fastest"]["iterations"], regimes["too small"]["iterations"]
    assert fast is not None and slow is not None and fast < slow / 3
    for name in ("too small", "fastest"):
        rho = max(abs(1 - regimes[name]["lr"] * lambda_min), abs(1 - regimes[name]["lr"] * lambda_max))
        assert abs(regimes[name]["rho"] - rho) < 1e-12
        assert regimes[name]["iterations"] == regimes[name]["predicted_iterations"], name
        assert regimes[name]["iterations"] <= regimes[name]["bound_iterations"] == int(numpy.ceil(numpy.log(1e-6) / numpy.log(rho ** 2)))
    assert regimes["diverging"]["iterations"] is None and regimes["diverging"]["rho"] > 1
    # The drawn iterates are the GD recursion x ← (I − ηA)x, and the fastest one zigzags: the steep
    # component flips sign every step.
    A = QuadraticBowl(dim=2, condition_number=10.0).hessian
    top = numpy.linalg.eigh(A)[1][:, -1]
    for name, regime in descent.data["regimes"].items():
        x = regime["iterates"]
        numpy.testing.assert_allclose(x[1:], x[:-1] @ (numpy.eye(2) - regime["lr"] * A).T, atol=1e-12)
    steep = descent.data["regimes"]["fastest"]["iterates"][:10] @ top
    assert numpy.all(numpy.sign(steep[1:]) == -numpy.sign(steep[:-1]))
    losses = descent.data["regimes"]["diverging"]["losses"]
    assert losses[-1] > 10 * losses[0]
    assert "2/(λ_max + λ_min)" in descent.text and "2/λ_max" in descent.text


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


def test_lr_finder_plot_is_clipped_to_the_informative_part(finder):
    losses = finder.data["losses"]
    low, high = finder.numbers["y_range"]
    lowest = int(numpy.argmin(losses))
    assert low < losses.min() and high > losses[:lowest + 1].max()        # the fall is all visible
    assert finder.numbers["diverged"] and losses.max() > high             # the final blow-up is clipped


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
