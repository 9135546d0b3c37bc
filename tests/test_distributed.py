"""chainrule.distributed: real 2- and 4-rank MPI jobs (the mpich wheel's mpiexec), and the pieces that need no MPI.

The multi-rank checks run in tests/test_distributed_worker.py under mpiexec (oversubscribed
on a small machine); each job runs once per module and the tests read what it left.
Every subprocess has a timeout, so a hang fails the test instead of stalling the suite.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import numpy
import pytest

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn
from chainrule.data import DataLoader, TensorDataset

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORKER = pathlib.Path(__file__).resolve().parent / "test_distributed_worker.py"
sys.path.insert(0, str(WORKER.parent))
import test_distributed_worker as worker  # noqa: E402


def find_mpiexec():
    """The mpich wheel's mpiexec: it is installed beside this Python (never a system MPI)."""
    candidate = pathlib.Path(sys.executable).parent / "mpiexec"
    return str(candidate) if candidate.exists() else None


MPIEXEC = find_mpiexec()
needs_mpi = pytest.mark.skipif(MPIEXEC is None or not dist.is_available(),
                               reason="needs mpi4py and the mpich wheel's mpiexec: pip install 'chainrule[mpi]'")


def environment():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"
    return env


def launch(ranks, *arguments, timeout=120):
    """mpiexec -n ranks python ARGUMENTS; the completed process (a hang past ``timeout`` fails the test)."""
    command = [MPIEXEC, "-n", str(ranks), sys.executable, *map(str, arguments)]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environment(), cwd=ROOT)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{' '.join(command)} hung for {timeout} s:\n{error.stdout}\n{error.stderr}")


def assert_succeeded(result):
    assert result.returncode == 0, f"exit status {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    """The worker's checks and CNN runs: N = 2 twice (for bitwise reproducibility) and N = 4 once."""
    if MPIEXEC is None or not dist.is_available():
        pytest.skip("needs mpi4py and the mpich wheel's mpiexec")
    folders = {}
    for key, ranks, mode in (("2", 2, "all"), ("2-again", 2, "same"), ("4", 4, "all")):
        folder = tmp_path_factory.mktemp(f"ranks{key}")
        result = launch(ranks, WORKER, mode, folder, timeout=180)
        assert_succeeded(result)
        folders[key] = (folder, result.stdout)
    return folders


# ----- the multi-rank jobs ----------------------------------------------------------------------------
@needs_mpi
@pytest.mark.parametrize("ranks", ["2", "4"])
def test_collectives_ddp_mismatch_and_sync_batchnorm_on_every_rank(jobs, ranks):
    _, output = jobs[ranks]
    for rank in range(int(ranks)):
        for check in ("collectives", "ddp", "mismatch", "sync_batchnorm", "same"):
            assert f"rank {rank}: ok {check}" in output, output


@needs_mpi
@pytest.mark.parametrize("dtype_name, tolerance", [("float32", 1e-5), ("float64", 1e-10)])
def test_n_ranks_with_batch_b_over_n_end_where_one_process_with_batch_b_does(jobs, dtype_name, tolerance):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        reference = worker.train_cnn(dtype_name, 1, 0)
    for ranks in ("2", "4"):
        folder, _ = jobs[ranks]
        trained = numpy.load(folder / f"cnn-{dtype_name}-{ranks}.npz")
        assert set(trained.files) == set(reference)
        for name, value in reference.items():
            difference = numpy.linalg.norm(trained[name] - value) / numpy.linalg.norm(value)
            assert difference <= tolerance, (ranks, name, difference)


@needs_mpi
@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_two_runs_of_the_same_job_are_bitwise_equal(jobs, dtype_name):
    first = numpy.load(jobs["2"][0] / f"cnn-{dtype_name}-2.npz")
    second = numpy.load(jobs["2-again"][0] / f"cnn-{dtype_name}-2.npz")
    for name in first.files:
        assert first[name].tobytes() == second[name].tobytes(), name


def small_digits_csv(path, count=320):
    """A CSV of ``count`` bundled digits at 14×14 (2×2 averages), shuffled: small enough for a test run."""
    from chainrule.data import load_digits

    images, labels = load_digits("train")
    order = numpy.random.default_rng(0).permutation(len(labels))[:count]
    small = images[order].reshape(count, 14, 2, 14, 2).mean(axis=(2, 4))
    rows = numpy.concatenate([labels[order, None], numpy.round(small.reshape(count, -1) * 255)], axis=1)
    numpy.savetxt(path, rows, fmt="%d", delimiter=",")
    return path


@pytest.fixture(scope="module")
def crashed_and_whole_runs(tmp_path_factory):
    """A 2-rank job whose rank 1 raises at step 7 (checkpoints every 3 steps), and the same job uninterrupted."""
    if MPIEXEC is None or not dist.is_available():
        pytest.skip("needs mpi4py and the mpich wheel's mpiexec")
    base = tmp_path_factory.mktemp("train")
    csv_path = small_digits_csv(base / "digits14.csv")
    started = time.time()
    crashed = launch(2, WORKER, "crash", base / "crashed", csv_path, timeout=90)
    ended = time.time()
    config = worker.crash_config(csv_path, base / "whole")
    whole = launch(2, "-m", "chainrule", "train", "--data", csv_path, "--epochs", config.epochs, "--batch-size",
                   config.batch_size, "--checkpoint-every", config.checkpoint_every_steps, "--keep-last",
                   config.keep_last, "--augment-shift", 0, "--out", base / "whole", timeout=120)
    assert_succeeded(whole)
    return {"base": base, "crashed": crashed, "started": started, "ended": ended, "whole": whole}


@needs_mpi
def test_a_rank_that_raises_ends_every_rank_quickly_and_names_itself(crashed_and_whole_runs):
    crashed = crashed_and_whole_runs["crashed"]
    assert crashed.returncode != 0
    assert "rank 1/2 failed" in crashed.stderr and "rank 1 was told to fail at step 7" in crashed.stderr
    raised_at = float(crashed.stdout.split("raising at ")[1].split()[0])
    assert crashed_and_whole_runs["ended"] - raised_at < 30


@needs_mpi
@pytest.mark.parametrize("ranks", [2, 1])
def test_a_crashed_run_resumes_on_the_same_or_another_number_of_ranks(crashed_and_whole_runs, ranks):
    base = crashed_and_whole_runs["base"]
    folder = base / f"resumed-on-{ranks}"
    shutil.copytree(base / "crashed", folder)
    assert (folder / "checkpoints").is_dir() and not (folder / "summary.json").exists()
    if ranks == 1:  # one process, no mpiexec: the CLI sees the checkpoint was sharded
        command = [sys.executable, "-m", "chainrule", "train", "--resume", str(folder)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment(), cwd=ROOT)
    else:
        result = launch(ranks, "-m", "chainrule", "train", "--resume", folder, timeout=120)
    assert_succeeded(result)
    resumed = json.loads((folder / "summary.json").read_text())
    whole = json.loads((base / "whole" / "summary.json").read_text())
    assert resumed["steps"] == whole["steps"] == 32
    assert resumed["test"]["accuracy"] == whole["test"]["accuracy"]
    assert resumed["test"]["loss"] == pytest.approx(whole["test"]["loss"], rel=1e-5)
    if ranks == 2:  # the same ranks: the logs are the uninterrupted run's, byte for byte
        assert (folder / "log.csv").read_bytes() == (base / "whole" / "log.csv").read_bytes()
    assert resumed["ranks"] == ranks
    assert ("communication hidden under backward" in resumed) == (ranks > 1)


@needs_mpi
def test_only_rank_zero_speaks_and_writes(crashed_and_whole_runs):
    whole = crashed_and_whole_runs["whole"]
    assert whole.stdout.count("test accuracy") == 1 and whole.stdout.count("epoch 2/2") == 1
    folder = crashed_and_whole_runs["base"] / "whole"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["ranks"] == 2 and summary["batch per rank"] == 8
    assert (folder / "report.html").exists() and "compute per step" in (folder / "report.html").read_text()


# ----- what needs no MPI ----------------------------------------------------------------------------
def test_without_mpi4py_chainrule_imports_and_init_says_how_to_install():
    code = ("import sys; sys.modules['mpi4py'] = None; sys.modules['mpi4py.MPI'] = None\n"
            "import chainrule, chainrule.distributed as dist\n"
            "assert not dist.is_available() and dist.get_world_size() == 1\n"
            "try:\n    dist.init_process_group()\nexcept ImportError as error:\n    print(error)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env=environment())
    assert result.returncode == 0, result.stderr
    assert "pip install 'chainrule[mpi]'" in result.stdout and "init_process_group" in result.stdout


def test_the_launchers_world_size_is_read_from_the_environment(monkeypatch):
    for name in dist.process_group.LAUNCHER_SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert dist.launched_world_size() == 1
    monkeypatch.setenv("PMI_SIZE", "4")
    assert dist.launched_world_size() == 4


@needs_mpi
def test_one_rank_collectives_are_copies_and_ddp_is_the_plain_model():
    dist.init_process_group()
    x = cr.tensor([1.0, -2.0])
    for op in ("sum", "mean", "max", "min", "product"):
        dist.all_reduce(x, op=op, ordered=True)
    assert x.tolist() == [1.0, -2.0]
    with pytest.raises(ValueError, match="unknown reduction 'median'"):
        dist.all_reduce(x, op="median")
    with pytest.raises(TypeError, match="op=mean needs a floating tensor"):
        dist.all_reduce(cr.tensor([1, 2]), op="mean")
    cr.manual_seed(0)
    model = nn.Linear(3, 2)
    wrapped = dist.DistributedDataParallel(model)
    assert list(wrapped.state_dict()) == ["weight", "bias"]
    wrapped(cr.ones(4, 3)).sum().backward()
    assert model.bias.grad.tolist() == [4.0, 4.0]
    with pytest.raises(TypeError, match="already wrapped"):
        dist.DistributedDataParallel(wrapped)


@needs_mpi
def test_the_sum_over_ranks_passes_gradient_checks_of_first_and_second_order():
    from chainrule.func import gradcheck, gradgradcheck

    dist.init_process_group()
    x = cr.tensor([1.0, -2.0, 0.5], dtype=cr.float64, requires_grad=True)
    assert gradcheck(dist.all_reduce_sum, (x,)) and gradgradcheck(dist.all_reduce_sum, (x,))


@needs_mpi
def test_collectives_name_the_bad_argument():
    dist.init_process_group()
    x = cr.zeros(2)
    with pytest.raises(ValueError, match="tensor_list must hold one tensor per rank \\(1\\), got 2"):
        dist.all_gather([cr.zeros(2), cr.zeros(2)], x)
    with pytest.raises(ValueError, match="tensor_list\\[0\\] has shape \\(3,\\)"):
        dist.all_gather([cr.zeros(3)], x)
    with pytest.raises(ValueError, match="rank 0 \\(dst\\) must pass gather_list"):
        dist.gather(x, None, dst=0)
    with pytest.raises(ValueError, match="src must be a rank in 0..0, got 1"):
        dist.scatter(x, None, src=1)
    with pytest.raises(TypeError, match="all_reduce: tensor must be a chainrule Tensor, got ndarray"):
        dist.all_reduce(numpy.zeros(2))
    with pytest.raises(ValueError, match="backend must be 'mpi'"):
        dist.init_process_group(backend="nccl")
