"""Lab probability: the Beta family, the conjugate update, and the MLE fit, checked against SciPy and formulas."""
import numpy
import pytest
import scipy.stats

import chainrule.lab


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return chainrule.lab.run("probability", tmp_path_factory.mktemp("probability"))


def test_family_densities_are_scipys(result):
    grid = result.data["grid"]
    for (a, b), density in result.data["family"].items():
        numpy.testing.assert_allclose(density, scipy.stats.beta.pdf(grid, a, b), rtol=1e-10)


def test_posterior_is_prior_plus_counts(result):
    coin = result.data["coin"]
    for n, (a, b) in result.numbers["posterior_parameters"].items():
        heads = coin[:n].sum()
        assert (a, b) == (2 + heads, 2 + n - heads)
        numpy.testing.assert_allclose(result.data["posteriors"][n][2], scipy.stats.beta.pdf(result.data["grid"], a, b),
                                      rtol=1e-10)
    assert set(numpy.unique(coin).tolist()) <= {0.0, 1.0}


def test_mle_is_the_sample_mean_and_population_std(result):
    data = result.data["fit_data"]
    n = data.size
    mle, se = result.numbers["mle"], result.numbers["standard_errors"]
    assert abs(mle["loc"] - data.mean()) < 1e-10
    assert abs(mle["scale"] - data.std()) < 1e-8
    assert abs(se["loc"] - data.std() / numpy.sqrt(n)) < 1e-8
    assert abs(se["scale"] - data.std() / numpy.sqrt(2 * n)) < 1e-8
    xs, low, high, fitted = result.data["band"]
    numpy.testing.assert_allclose(fitted, scipy.stats.norm.pdf(xs, mle["loc"], mle["scale"]), rtol=1e-10)
    assert numpy.all(low <= fitted + 1e-12) and numpy.all(fitted <= high + 1e-12)
