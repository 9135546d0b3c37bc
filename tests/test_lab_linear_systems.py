"""Lab linear-systems: the drawn meeting point solves both equations, nudges move it by at most κ, and
solve is backward stable where inv(A) @ b is not."""
import numpy
import pytest
import scipy.linalg

import chainrule.lab
from lab_helpers import assert_figures


@pytest.fixture(scope="module")
def systems(tmp_path_factory):
    return chainrule.lab.run("linear-systems", tmp_path_factory.mktemp("linear-systems"))


def test_the_meeting_point_and_its_sensitivity(systems):
    assert_figures(systems)
    for name, system in systems.data["systems"].items():
        A, b, x = system["matrix"], system["b"], system["x"]
        numpy.testing.assert_allclose(A @ x, b, atol=1e-12)                   # on both lines
        kappa = numpy.linalg.cond(A)
        assert abs(system["kappa"] - kappa) < 1e-9 * kappa
        deltas = system["nudged"] @ A.T - b
        numpy.testing.assert_allclose(numpy.linalg.norm(deltas, axis=1), 0.2, rtol=1e-9)   # each nudged b is solved
        # The amplification never exceeds κ, and b = A·(1, 1) lies near the top singular direction, so the
        # worst nudge (along the bottom one) comes close to it.
        assert system["amplification"] <= kappa * (1 + 1e-9)
    ill = systems.data["systems"]["ill-conditioned"]
    assert ill["amplification"] > 0.9 * ill["kappa"] and ill["kappa"] > 50 * systems.numbers["kappa"]["well-conditioned"]


def test_solve_is_backward_stable_and_inv_is_not(systems):
    comparison = systems.data["comparison"]
    for n, condition in zip(comparison["sizes"], comparison["conditions"]):
        assert abs(condition - numpy.linalg.cond(scipy.linalg.hilbert(n))) < 1e-3 * condition
    eps = numpy.finfo(float).eps
    assert max(comparison["residuals"]["solve"]) < 10 * eps
    assert comparison["residuals"]["inv(A) @ b"][-1] > 1e6 * eps
    for name in ("solve", "inv(A) @ b"):           # forward error bounded by about ε·κ, for both
        assert all(e < 20 * eps * k for e, k in zip(comparison["errors"][name], comparison["conditions"]))
    assert set(comparison["seconds"]) == {"solve", "inv(A) @ b"} and all(t > 0 for t in comparison["seconds"].values())
