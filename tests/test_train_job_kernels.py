"""The main job runs the compiled optimizer kernels, and Winograd's convolution, only when the run is long
enough to repay numba's start-up."""
import sys

import pytest

from chainrule.backends import kernels_enabled, use_kernels, use_winograd, winograd_enabled
from chainrule.train import Callback, job as job_module
from chainrule.train.job import Job, TrainConfig


@pytest.fixture(autouse=True)
def kernels_restored():
    previous = kernels_enabled(), winograd_enabled()
    yield
    use_kernels(previous[0])
    use_winograd(previous[1])


def _job(tmp_path, **settings):
    config = TrainConfig(model="mlp", model_kwargs={"hidden": [8]}, epochs=1, out=str(tmp_path / "run"), **settings)
    return Job(config, tmp_path / "run", progress=False, echo=False)


def test_a_short_run_uses_the_numpy_reference_and_restores_the_switch(tmp_path, monkeypatch):
    monkeypatch.delitem(sys.modules, "numba", raising=False)       # as in a fresh process
    use_kernels(True)
    job = _job(tmp_path)
    updates = job.model.num_parameters() * len(job.train_loader)
    assert updates < job_module.KERNEL_PAYBACK_UPDATES and not job.kernels_pay_off()
    seen = []

    class Probe(Callback):
        def on_train_end(self, logs):
            seen.append(kernels_enabled())

    job.trainer.callbacks.append(Probe())
    job.run()
    assert seen == [False]                                          # the run itself had them off
    assert job.optimizer._workspaces != {}                          # the NumPy reference made the steps
    assert kernels_enabled()                                        # and the caller's setting is back


def test_a_long_enough_run_keeps_the_kernels(tmp_path, monkeypatch):
    monkeypatch.delitem(sys.modules, "numba", raising=False)
    monkeypatch.setattr(job_module, "KERNEL_PAYBACK_UPDATES", 1)
    assert _job(tmp_path).kernels_pay_off()


def _cnn_job(tmp_path):
    config = TrainConfig(model="cnn", epochs=1, out=str(tmp_path / "run"))
    return Job(config, tmp_path / "run", progress=False, echo=False)


class _FirstStepSeen(Exception):
    pass


def _conv_algorithms_seen(job):
    """Run the job until the two convolutions of its first forward have chosen; name what each chose."""
    import chainrule.nn.functional.convolution as conv_module
    seen = []
    choose = conv_module.winograd_tile

    def spy(*args):
        tile = choose(*args)
        seen.append("winograd" if tile else "im2col")
        if len(seen) == 2:
            raise _FirstStepSeen
        return tile

    conv_module.winograd_tile = spy
    try:
        with pytest.raises(_FirstStepSeen):
            job.run()
    finally:
        conv_module.winograd_tile = choose
    return seen


def test_a_short_run_keeps_its_convolutions_on_im2col_even_with_numba_imported(tmp_path):
    pytest.importorskip("numba")                                    # imported: the kernels' start-up is paid
    use_winograd(True)
    job = _cnn_job(tmp_path)
    assert job.kernels_pay_off() and not job.winograd_pays_off()
    assert _conv_algorithms_seen(job) == ["im2col", "im2col"]
    assert winograd_enabled()                                       # the caller's setting is back


def test_a_long_enough_run_lets_the_chooser_pick_winograd(tmp_path, monkeypatch):
    monkeypatch.setattr(job_module, "KERNEL_PAYBACK_UPDATES", 1)
    job = _cnn_job(tmp_path)
    assert job.winograd_pays_off()
    assert _conv_algorithms_seen(job) == ["im2col", "winograd"]     # one input channel; then 16 → 32
