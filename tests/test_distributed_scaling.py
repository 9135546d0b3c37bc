"""The α–β model of allreduce: the fit, the predicted speed-up, the figure (no MPI needed)."""
import numpy
import pytest

import chainrule.distributed as dist


@pytest.mark.parametrize("world_size", [2, 4, 16])
def test_the_fit_recovers_alpha_and_beta_from_times_the_model_made(world_size):
    sizes = numpy.geomspace(1e3, 6.4e7, 9)
    times = [dist.allreduce_seconds(n, world_size, alpha=3e-6, beta=4e-10) for n in sizes]
    alpha, beta = dist.fit_alpha_beta(sizes, times, world_size)
    assert alpha == pytest.approx(3e-6, rel=1e-9) and beta == pytest.approx(4e-10, rel=1e-9)


def test_the_fit_weighs_small_and_large_messages_alike():
    sizes = numpy.array([1e3, 1e4, 1e7, 1e8])
    times = numpy.array([dist.allreduce_seconds(n, 2, 1e-5, 1e-9) for n in sizes]) * [1.1, 0.9, 1.1, 0.9]
    alpha, _ = dist.fit_alpha_beta(sizes, times, 2)
    assert alpha == pytest.approx(1e-5, rel=0.15)  # plain least squares would let the 0.1 s points decide it


def test_the_fit_refuses_one_rank_and_bad_input():
    with pytest.raises(ValueError, match="nothing is sent"):
        dist.fit_alpha_beta([1, 2], [1, 2], 1)
    with pytest.raises(ValueError, match="positive times"):
        dist.fit_alpha_beta([1, 2], [0.0, 1.0], 2)


def test_expected_speedup_is_n_for_free_messages_and_peaks_when_they_cost():
    assert dist.expected_speedup(0.05, 4e5, 16, 0.0, 0.0) == pytest.approx(16.0)
    ranks = numpy.arange(1, 257)
    speedup = dist.expected_speedup(0.02, 4e5, ranks, alpha=5e-6, beta=1e-9)
    assert speedup[0] == pytest.approx(1.0) and 1 < speedup.argmax() < 255
    hidden = dist.expected_speedup(0.02, 4e5, ranks, alpha=5e-6, beta=1e-9, hidden_share=0.5)
    assert numpy.all(hidden >= speedup)


def test_the_scaling_figure_is_drawn(tmp_path):
    sizes = [1024, 65536, 2 ** 22]
    times = [dist.allreduce_seconds(n, 2, 5e-6, 5e-10) * 1.05 for n in sizes]
    measurement = dist.ScalingMeasurement(2, sizes, times, times, *dist.fit_alpha_beta(sizes, times, 2))
    assert "alpha = 5.25 us" in measurement.table()
    path = dist.plot_scaling(measurement, str(tmp_path / "scaling.png"), compute_seconds=0.02, hidden_share=0.3)
    assert (tmp_path / "scaling.png").stat().st_size > 10_000 and path.endswith("scaling.png")
    with pytest.raises(ValueError, match="one rank"):
        dist.plot_scaling(dist.ScalingMeasurement(1, sizes, times, times), str(tmp_path / "none.png"))
