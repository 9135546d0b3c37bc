"""The main job runs the compiled optimizer kernels only when the run is long enough to repay numba's start-up."""
import sys

import pytest

from chainrule.backends import kernels_enabled, use_kernels
from chainrule.train import Callback, job as job_module
from chainrule.train.job import Job, TrainConfig


@pytest.fixture(autouse=True)
def kernels_restored():
    previous = kernels_enabled()
    yield
    use_kernels(previous)


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
