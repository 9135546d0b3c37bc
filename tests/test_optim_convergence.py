"""Each optimizer reaches the minimum of the quadratic bowl and of Rosenbrock from the standard start.

The learning rates (and, where an adaptive method needs one to settle in a
narrow valley, a decaying schedule) were tuned by a grid search; the budgets
below are the measured number of steps after which the iterate stays within the
tolerance, plus about 15% margin. Gradients come from chainrule's autodiff of
the test functions; float64.

Honest notes from the tuning:
* Rosenbrock's curved valley is hard for methods whose step does not shrink with
  the gradient (Adam-family, Lion): at a constant lr they circle the minimum at
  a distance set by the lr; an exponential decay of the lr lets them settle.
* RAdam's first steps (before its variance estimate is trusted) are plain
  momentum steps of size lr·m, and Rosenbrock's gradient at the start is ~200,
  so it needs a short linear warm-up there.
* Adagrad and Adadelta are the slowest by far (~7000 steps on Rosenbrock).
"""
import numpy as np
import pytest

import chainrule as cr
import chainrule.optim as optim
from chainrule.optim import lr_scheduler as ls
from chainrule.optim.testfunctions import Beale, Himmelblau, QuadraticBowl, Rastrigin, Rosenbrock


def _exponential(gamma):
    return lambda optimizer: ls.ExponentialLR(optimizer, gamma)


def _warmup_then_exponential(optimizer):
    return ls.SequentialLR(optimizer, [ls.LinearLR(optimizer, start_factor=0.01, total_iters=10),
                                       ls.ExponentialLR(optimizer, 0.999)], milestones=[10])


# (optimizer, kwargs, schedule or None, steps); "measured" is the step from which the iterate stays
# within the tolerance (run with the schedule as given). Bowl: condition number 10, rotated, 2-D, start (1, 1),
# tolerance 1e-4 on the distance to the minimum.
BOWL = [
    (optim.SGD, dict(lr=0.15), None, 70),  # measured: 59
    (optim.SGD, dict(lr=0.1, momentum=0.5), None, 40),  # measured: 30
    (optim.Adam, dict(lr=0.1), None, 220),  # measured: 186
    (optim.AdamW, dict(lr=0.1, weight_decay=0.01), _exponential(0.99), 190),  # measured: 158
    (optim.Adagrad, dict(lr=0.5), None, 90),  # measured: 73
    (optim.RMSprop, dict(lr=0.1), _exponential(0.99), 110),  # measured: 91
    (optim.Adadelta, dict(lr=30.0, rho=0.99), _exponential(0.99), 70),  # measured: 52
    (optim.Adamax, dict(lr=0.1), None, 200),  # measured: 172
    (optim.NAdam, dict(lr=0.2), _exponential(0.99), 80),  # measured: 63
    (optim.RAdam, dict(lr=0.1), None, 250),  # measured: 211
    (optim.Lion, dict(lr=0.1), _exponential(0.98), 420),  # measured: 362
]

# Rosenbrock, 2-D, start (-1.2, 1), tolerance 1e-3 on the distance to (1, 1).
ROSENBROCK = [
    (optim.SGD, dict(lr=1e-3, momentum=0.95, nesterov=True), None, 650),  # measured: 555
    (optim.Adam, dict(lr=0.3), _exponential(0.9995), 1000),  # measured: 871
    (optim.AdamW, dict(lr=0.2, weight_decay=1e-5), _exponential(0.9995), 1250),  # measured: 1068
    (optim.Adagrad, dict(lr=1.5), None, 8000),  # measured: 7229
    (optim.RMSprop, dict(lr=2e-3, momentum=0.9), _exponential(0.999), 1400),  # measured: 1185
    (optim.Adadelta, dict(lr=8.0, rho=0.99), _exponential(0.999), 7000),  # measured: 6395
    (optim.Adamax, dict(lr=0.02, betas=(0.9, 0.99)), _exponential(0.999), 900),  # measured: 794
    (optim.NAdam, dict(lr=0.05, betas=(0.9, 0.99)), _exponential(0.998), 3300),  # measured: 2911
    (optim.RAdam, dict(lr=0.02, betas=(0.9, 0.99)), _warmup_then_exponential, 1700),  # measured: 1453
    (optim.Lion, dict(lr=0.01, betas=(0.95, 0.98)), _exponential(0.998), 1800),  # measured: 1585
]


def _minimize(function, optimizer_class, kwargs, schedule, steps, start=None):
    x = cr.tensor(function.start if start is None else start, dtype=cr.float64, requires_grad=True)
    optimizer = optimizer_class([x], **kwargs)
    scheduler = schedule(optimizer) if schedule else None
    for _ in range(steps):
        optimizer.zero_grad()
        function(x).backward()
        optimizer.step()
        if scheduler:
            scheduler.step()
    return x


def _label(case):
    cls, kwargs, _, steps = case
    return f"{cls.__name__}-{steps}steps-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", BOWL, ids=[_label(c) for c in BOWL])
def test_reaches_the_minimum_of_the_quadratic_bowl(case):
    bowl = QuadraticBowl(dim=2, condition_number=10.0)
    x = _minimize(bowl, *case)
    assert bowl.distance_to_minimum(x) < 1e-4


@pytest.mark.parametrize("case", ROSENBROCK, ids=[_label(c) for c in ROSENBROCK])
def test_reaches_the_minimum_of_rosenbrock(case):
    rosenbrock = Rosenbrock()
    x = _minimize(rosenbrock, *case)
    assert rosenbrock.distance_to_minimum(x) < 1e-3


def _lbfgs(function, steps, **kwargs):
    x = cr.tensor(function.start, dtype=cr.float64, requires_grad=True)
    optimizer = optim.LBFGS([x], **kwargs)

    def closure():
        optimizer.zero_grad()
        loss = function(x)
        loss.backward()
        return loss

    for _ in range(steps):
        optimizer.step(closure)
    return x, optimizer.state[x]["func_evals"]


@pytest.mark.parametrize("function,steps", [(Rosenbrock(), 2), (Rosenbrock(dim=6), 3), (Beale(), 1),
                                            (QuadraticBowl(dim=5, condition_number=1000.0), 1)],
                         ids=["Rosenbrock", "Rosenbrock-6d", "Beale", "Bowl-5d-cond1000"])
def test_lbfgs_with_strong_wolfe_reaches_the_minimum_in_a_few_steps(function, steps):
    """Each step is up to 20 iterations; 1-3 steps (< 100 function evaluations) suffice.

    The default tolerance_change=1e-9 stops once f changes by less than 1e-9, about
    1e-5 from Rosenbrock's minimum; tighter tolerances let it finish the job.
    """
    x, evaluations = _lbfgs(function, steps, line_search_fn="strong_wolfe", tolerance_change=1e-14,
                            tolerance_grad=1e-10)
    assert function.distance_to_minimum(x) < 1e-6
    assert evaluations < 100


def test_lbfgs_without_line_search_reaches_the_bowl_minimum():
    bowl = QuadraticBowl(dim=2, condition_number=10.0)
    x, _ = _lbfgs(bowl, 2, lr=0.5, tolerance_change=1e-14, tolerance_grad=1e-10)
    assert bowl.distance_to_minimum(x) < 1e-6


def test_the_nearest_himmelblau_minimum_and_rastrigin_basin():
    """Himmelblau from (0, 0) with Adam ends in the (3, 2) minimum; Rastrigin: the start decides."""
    himmelblau = Himmelblau()
    x = _minimize(himmelblau, optim.Adam, dict(lr=0.1), _exponential(0.99), 400)
    np.testing.assert_allclose(x.array, [3.0, 2.0], atol=1e-4)
    rastrigin = Rastrigin()
    x = _minimize(rastrigin, optim.SGD, dict(lr=0.002, momentum=0.9), None, 300)
    assert rastrigin.distance_to_minimum(x) < 1e-4
    # From (2.2, 2.2) gradient descent stops in the local minimum near (2, 2), not at 0.
    trapped = _minimize(rastrigin, optim.SGD, dict(lr=0.002, momentum=0.9), None, 300, start=(2.2, 2.2))
    np.testing.assert_allclose(trapped.array, [1.99, 1.99], atol=0.01)
    assert rastrigin(trapped).item() > 7.0
