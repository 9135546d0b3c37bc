"""Lab regularization: the lasso path satisfies its optimality conditions (exact zeros), the ridge path is
the closed form, and the unregularized polynomial over-fits while weight decay and dropout do not."""
import numpy
import pytest

import chainrule.lab
from lab_helpers import assert_figures


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return chainrule.lab.run("regularization", tmp_path_factory.mktemp("regularization"))


def test_l1_path_is_sparse_and_optimal_and_l2_path_is_the_closed_form(lab):
    assert_figures(lab)
    X, y, penalties = lab.data["X"], lab.data["y"], lab.data["penalties"]
    n, d = X.shape
    for lam, w_ridge, w_lasso in zip(penalties, lab.data["ridge"], lab.data["lasso"]):
        numpy.testing.assert_allclose(w_ridge, numpy.linalg.solve(X.T @ X / n + lam * numpy.eye(d), X.T @ y / n), rtol=1e-10)
        # KKT of the lasso: the data gradient's correlation equals λ·sign(w) on the support, is ≤ λ off it.
        correlation = X.T @ (y - X @ w_lasso) / n
        support = w_lasso != 0
        numpy.testing.assert_allclose(correlation[support], lam * numpy.sign(w_lasso[support]), atol=1e-6)
        assert numpy.all(numpy.abs(correlation[~support]) <= lam + 1e-6)
    zeros = numpy.array(lab.numbers["lasso_zeros"])
    assert zeros[0] == 0 and zeros[-1] == d and lab.numbers["ridge_zeros"] == 0
    # The weights that are truly 0 leave the model first.
    first_zero = [numpy.argmax(lab.data["lasso"][:, j] == 0) for j in range(d)]
    assert max(first_zero[j] for j in (2, 3, 5, 6, 7)) < min(first_zero[j] for j in (0, 1))


def test_weight_decay_and_dropout_hold_back_over_fitting(lab):
    runs = lab.data["overfitting"]["runs"]
    plain, decay, dropout = runs["no regularization"], runs["weight decay 0.01"], runs["dropout 0.2"]
    assert plain["train"][-1] < decay["train"][-1] and plain["train"][-1] < dropout["train"][-1]
    assert plain["val"][-1] > 5 * plain["val"].min()                 # validation rises while training falls
    assert plain["val"][-1] > 10 * decay["val"][-1] and plain["val"][-1] > 10 * dropout["val"][-1]
    study = lab.data["overfitting"]
    fit_error = {name: numpy.mean((run["fit"] - study["y_val"]) ** 2) for name, run in runs.items()}
    numpy.testing.assert_allclose([fit_error[name] for name in runs], [run["val"][-1] for run in runs.values()], rtol=1e-10)
