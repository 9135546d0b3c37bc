"""The chainrule command: help everywhere, a tiny run end to end, bitwise resume, clean one-line errors."""
import json
import os
import shutil
import subprocess
import sys

import numpy
import pytest

from chainrule.cli import main
from chainrule.data import load_digits
from chainrule.train import load_checkpoint, save_checkpoint
from train_helpers import assert_same_arrays, spread_rows

ENVIRONMENT = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def chainrule(*arguments, cwd):
    return subprocess.run([sys.executable, "-m", "chainrule", *map(str, arguments)], cwd=cwd, env=ENVIRONMENT,
                          capture_output=True, text=True, timeout=300)


def in_process(arguments, capsys):
    """Run the command in this process (no interpreter start-up): ``(status, stdout, stderr)``."""
    status = main([str(argument) for argument in arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _write_csv(path, count, split="train"):
    images, labels = load_digits(split)
    rows = spread_rows(len(labels), count)
    pixels = numpy.round(images[rows].reshape(count, -1) * 255).astype(int)
    numpy.savetxt(path, numpy.column_stack([labels[rows], pixels]), fmt="%d", delimiter=",",
                  header="label," + ",".join(f"pixel{i}" for i in range(784)), comments="")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A tiny CSV data set and a finished 3-epoch MLP run trained on it by the command."""
    folder = tmp_path_factory.mktemp("cli")
    _write_csv(folder / "digits.csv", 300)
    result = chainrule("train", "--model", "mlp", "--data", "digits.csv", "--epochs", "3", "--batch-size", "32",
                       "--checkpoint-every", "4", "--keep-last", "100", "--out", "run", "--no-progress", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder, result


def test_train_writes_the_run_folder(workspace):
    folder, result = workspace
    run = folder / "run"
    assert {"config.json", "log.csv", "log.jsonl", "checkpoints", "summary.json", "report.html"} <= set(
        os.listdir(run))
    assert "report: run/report.html" in result.stdout and "epoch 3/3" in result.stdout
    assert result.stderr == ""  # no progress bar when the output is not a terminal
    summary = json.loads((run / "summary.json").read_text())
    assert summary["test"]["accuracy"] > 0.5 and summary["epochs_completed"] == 3
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "mlp" and config["epochs"] == 3 and config["data"] == "digits.csv"
    assert len(open(run / "log.csv").read().splitlines()) == 4  # header + 3 epochs


def test_evaluate_reports_the_runs_test_metrics(workspace):
    folder, _ = workspace
    result = chainrule("evaluate", "run", "--json", cwd=folder)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    summary = json.loads((folder / "run" / "summary.json").read_text())
    assert metrics["accuracy"] == summary["test"]["accuracy"] and metrics["images"] == 30
    assert len(metrics["per_class_f1"]) == 10


def test_predict_reads_png_and_npy(workspace):
    import matplotlib.image

    from chainrule.train import load_run
    from chainrule.train.job import load_trained, to_model_input

    folder, _ = workspace
    images, labels = load_digits("test")
    images = images[[0, 500, 999]]  # a 0, a 5 and a 9
    matplotlib.image.imsave(folder / "digit.png", 1.0 - images[0, 0], cmap="gray", vmin=0, vmax=1)  # dark on white
    numpy.save(folder / "three.npy", (images[:3, 0] * 255).astype(numpy.uint8))
    result = chainrule("predict", "run", "digit.png", "three.npy", "--json", cwd=folder)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == ["digit.png", "three.npy[0]", "three.npy[1]", "three.npy[2]"]
    model, extra, checkpoint = load_trained(folder / "run")
    expected = model(to_model_input(images, extra["config"])).detach().numpy().argmax(axis=1).tolist()
    assert [line["prediction"] for line in lines[1:]] == expected
    run = load_run(folder / "run")  # the documented Python route gives the same answers
    assert run.predict(images).tolist() == expected and run.checkpoint == checkpoint and run.epoch == 3
    assert run.config.model == "mlp" and run.num_classes == 10
    assert lines[0]["prediction"] == expected[0]  # the inverted PNG reads as the same digit
    assert abs(sum(lines[1]["probabilities"].values()) - 1) < 0.5


def test_resume_through_the_command_continues_bitwise(workspace, tmp_path):
    folder, _ = workspace
    copy = tmp_path / "run"
    shutil.copytree(folder / "run", copy)
    for checkpoint in (copy / "checkpoints").glob("step-*"):
        if int(checkpoint.name.split("-")[1]) > 12:  # as if the run had been killed after step 12 (of 24)
            shutil.rmtree(checkpoint)
    result = chainrule("train", "--resume", copy, "--no-progress", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stdout and "epoch 3/3" in result.stdout
    for name in ("log.csv", "log.jsonl"):
        assert (copy / name).read_bytes() == (folder / "run" / name).read_bytes(), name
    last = sorted((folder / "run" / "checkpoints").glob("step-*"))[-1].name
    assert_same_arrays(load_checkpoint(folder / "run" / "checkpoints" / last)[0],
                       load_checkpoint(copy / "checkpoints" / last)[0])


def test_resuming_from_an_older_checkpoint_starts_a_new_timeline(workspace, tmp_path, monkeypatch, capsys):
    folder, _ = workspace
    monkeypatch.chdir(folder)  # the config names its data relative to the folder it was trained in
    copy = tmp_path / "run"
    shutil.copytree(folder / "run", copy)
    later = sorted(path.name for path in (copy / "checkpoints").glob("step-*") if int(path.name[5:]) > 12)
    status, output, error = in_process(["train", "--resume", copy / "checkpoints" / "step-00000012", "--no-progress"],
                                       capsys)
    assert status == 0, error
    assert "abandoned timeline" in output
    abandoned = list((copy / "checkpoints").glob("abandoned-*"))
    assert len(abandoned) == 1 and sorted(os.listdir(abandoned[0])) == later  # set aside, not deleted
    rewritten = sorted(path.name for path in (copy / "checkpoints").glob("step-*") if int(path.name[5:]) > 12)
    assert rewritten == later  # the new timeline's checkpoints were all kept
    summary = json.loads((copy / "summary.json").read_text())
    assert summary["latest_checkpoint"].endswith(later[-1])
    for name in ("log.csv", "log.jsonl"):
        assert (copy / name).read_bytes() == (folder / "run" / name).read_bytes(), name
    assert_same_arrays(load_checkpoint(folder / "run" / "checkpoints" / later[-1])[0],
                       load_checkpoint(copy / "checkpoints" / later[-1])[0])


def test_a_model_file_named_by_a_checkpoint_never_runs(workspace, tmp_path, capsys):
    """A run folder doctored to name a Python file: evaluate, predict and resume refuse, and the file never runs."""
    folder, _ = workspace
    copy = tmp_path / "run"
    shutil.copytree(folder / "run", copy)
    marker = tmp_path / "marker.txt"
    (tmp_path / "model.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n"
                                       "from chainrule import nn\nbuild_model = lambda: nn.Linear(784, 10)\n")
    config = json.loads((copy / "config.json").read_text())
    config.update(model="file", model_file=str(tmp_path / "model.py"))
    (copy / "config.json").write_text(json.dumps(config))
    checkpoint = sorted((copy / "checkpoints").glob("step-*"))[-1]
    tensors, metadata = load_checkpoint(checkpoint)
    metadata["extra"]["model_spec"] = {"user_file": str(tmp_path / "model.py")}
    metadata["extra"]["config"] = config
    for other in (copy / "checkpoints").glob("step-*"):
        shutil.rmtree(other)
    save_checkpoint(checkpoint, tensors, metadata)  # hashes that match: only the spec's meaning is hostile
    images = (load_digits("test")[0][:2, 0] * 255).astype(numpy.uint8)
    numpy.save(tmp_path / "two.npy", images)
    for command in (["evaluate", copy], ["predict", copy, tmp_path / "two.npy"], ["train", "--resume", copy]):
        status, _, error = in_process(command, capsys)
        assert status == 1, (command, error)
        assert "never runs a file" in error and f"--model-file {tmp_path / 'model.py'}" in error
        assert not marker.exists(), command
    # Named by the user, it runs, and says so first (it does not fit the weights, which is refused).
    status, _, error = in_process(["evaluate", copy, "--model-file", tmp_path / "model.py"], capsys)
    assert f"model file: running {tmp_path / 'model.py'}" in error and marker.exists()
    assert status == 1 and "different model" in error


def test_a_run_that_failed_before_its_first_checkpoint_says_what_to_do(workspace, monkeypatch, capsys):
    folder, _ = workspace
    monkeypatch.chdir(folder)
    arguments = ["train", "--model", "mlp", "--data", "digits.csv", "--epochs", "1", "--out", "nan-run",
                 "--no-progress"]
    assert main(arguments + ["--lr", "1e308"]) == 1  # the loss becomes NaN at step 2
    assert "lower the learning rate" in capsys.readouterr().err
    assert main(arguments) == 1
    error = capsys.readouterr().err
    assert "stopped before its first checkpoint" in error and "--resume nan-run" in error
    assert main(["evaluate", "nan-run"]) == 1
    assert "chainrule train --resume nan-run starts it over" in capsys.readouterr().err


def test_a_run_killed_during_its_first_checkpoint_starts_over_on_resume(workspace, tmp_path, monkeypatch, capsys):
    folder, _ = workspace
    killed = tmp_path / "killed"
    (killed / "checkpoints" / ".tmp-step-00000004-99-0a1b2c3d").mkdir(parents=True)  # the torn first write
    (killed / "checkpoints" / ".tmp-step-00000004-99-0a1b2c3d" / "tensors.safetensors").write_bytes(b"\0" * 100)
    shutil.copy(folder / "run" / "config.json", killed / "config.json")
    (killed / ".tmp-summary.json-99-0a1b2c3d").write_text('{"te')  # a torn atomic write of the killed run
    (killed / "log.csv").write_text("epoch,step\n")
    monkeypatch.chdir(folder)  # the config names its data relative to the folder it was trained in
    status, output, error = in_process(["train", "--resume", killed, "--no-progress"], capsys)
    assert status == 0, error
    assert "starting it over" in output
    for name in ("log.csv", "log.jsonl"):  # the restarted run is the original run, bitwise
        assert (killed / name).read_bytes() == (folder / "run" / name).read_bytes(), name
    assert not list((killed / "checkpoints").glob(".tmp-*")) and not list(killed.glob(".tmp-*"))


def test_two_processes_on_one_run_folder(workspace, tmp_path, capsys):
    folder, _ = workspace
    copy = tmp_path / "run"
    shutil.copytree(folder / "run", copy)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom chainrule.train.checkpoint import "
                               "FolderLock\nwith FolderLock(sys.argv[1]):\n    print('holding', flush=True)\n"
                               "    time.sleep(60)", str(copy)], stdout=subprocess.PIPE, text=True, env=ENVIRONMENT)
    try:
        assert holder.stdout.readline().strip() == "holding"
        log_before = (copy / "log.csv").read_bytes()
        status, _, error = in_process(["train", "--resume", copy, "--no-progress"], capsys)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert status == 1 and len(error.splitlines()) == 1
    assert f"run folder {copy} is in use by another process (pid {holder.pid})" in error
    assert (copy / "log.csv").read_bytes() == log_before  # it failed before touching anything


def test_a_model_file_named_by_the_user_trains_resumes_and_evaluates(workspace, tmp_path, monkeypatch, capsys):
    folder, _ = workspace
    model_file = tmp_path / "my_model.py"
    model_file.write_text("from chainrule import nn\n"
                          "build_model = lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 10))\n")
    run = tmp_path / "run"
    monkeypatch.chdir(folder)
    status, _, error = in_process(["train", "--model-file", model_file, "--data", "digits.csv", "--epochs", "2",
                                   "--checkpoint-every", "5", "--out", run, "--no-progress"], capsys)
    assert status == 0, error
    assert f"model file: running {model_file}" in error
    assert json.loads((run / "config.json").read_text())["model_file"] == str(model_file)
    status, _, error = in_process(["evaluate", run], capsys)
    assert status == 1 and f"--model-file {model_file}" in error
    status, output, error = in_process(["evaluate", run, "--model-file", model_file, "--json"], capsys)
    assert status == 0, error
    summary = json.loads((run / "summary.json").read_text())
    assert json.loads(output)["accuracy"] == summary["test"]["accuracy"]
    log = (run / "log.csv").read_bytes()
    for checkpoint in (run / "checkpoints").glob("step-*"):
        if int(checkpoint.name[5:]) > 5:
            shutil.rmtree(checkpoint)
    status, _, error = in_process(["train", "--resume", run, "--model-file", model_file, "--no-progress"], capsys)
    assert status == 0, error
    assert (run / "log.csv").read_bytes() == log  # the resumed run ends where the first one did, bitwise


def test_lr_find_writes_a_plot(workspace):
    folder, _ = workspace
    result = chainrule("lr-find", "--model", "mlp", "--data", "digits.csv", "--num-iter", "30", "--out",
                       "finder.png", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "valley" in result.stdout and (folder / "finder.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["predict"], ["lr-find"], ["lab"]])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(command + ["--help"])
    assert exit_info.value.code in (0, None)
    assert "usage" in capsys.readouterr().out


# ----- errors: one line on stderr, a non-zero status, never a traceback ------------------------------
@pytest.fixture(scope="module")
def broken_files(workspace):
    folder, _ = workspace
    corrupt = folder / "corrupt"
    if not corrupt.exists():
        shutil.copytree(sorted((folder / "run" / "checkpoints").glob("step-*"))[-1], corrupt)
        data = (corrupt / "tensors.safetensors").read_bytes()
        (corrupt / "tensors.safetensors").write_bytes(data[: len(data) // 2])
        numpy.save(folder / "objects.npy", numpy.array([{"a": 1}], dtype=object), allow_pickle=True)
        numpy.save(folder / "wrong.npy", numpy.zeros((5, 5)))
        (folder / "bad_model.py").write_text("raise RuntimeError('oops')\n")
        (folder / "exits.py").write_text("import sys\nsys.exit(3)\n")
        (folder / "listconfig" / "checkpoints").mkdir(parents=True)
        (folder / "listconfig" / "config.json").write_text("[1, 2]")
        (folder / "twiceconfig").mkdir()
        (folder / "twiceconfig" / "config.json").write_text('{"lr": 0.1, "lr": 1e9}')
        (folder / "notes.txt").write_text("hello\n")
    return folder


ERRORS = [
    (["train", "--optimizer", "foo"], 2, "invalid choice: 'foo'"),
    (["train", "--lr", "-0.1"], 2, "--lr: must be a positive number"),
    (["train", "--lr", "fast"], 2, "--lr: expected a number"),
    (["train", "--epochs", "0"], 2, "--epochs: must be a positive whole number"),
    (["train", "--data", "no_such_folder"], 1, "data no_such_folder does not exist"),
    (["train", "--data", "notes.txt"], 1, "neither a folder of IDX files nor a .csv file"),
    (["train", "--model", "transformer"], 1, "unknown model 'transformer'"),
    (["train", "--model-file", "bad_model.py", "--data", "digits.csv"], 1, "failed to run: RuntimeError: oops"),
    (["train", "--model-file", "exits.py", "--data", "digits.csv"], 1, "exits.py failed to run: it called sys.exit(3)"),
    (["train", "--model", "bad_model.py"], 1, "pass --model-file bad_model.py"),
    (["train", "--monitor", "bogus"], 2, "argument --monitor: invalid choice: 'bogus'"),
    (["train", "--model", "mlp", "--data", "digits.csv", "--lr", "1e308", "--epochs", "1", "--out", "huge-lr",
      "--no-progress"], 1, "lower the learning rate"),
    (["train", "--model", "mlp", "--data", "digits.csv", "--out", "run"], 1, "already exists"),
    (["train", "--resume", "nowhere"], 1, "nowhere does not exist"),
    (["train", "--resume", "run", "--lr", "0.1"], 1, "drop --lr"),
    (["evaluate", "corrupt"], 1, "but manifest.json records"),
    (["evaluate", "listconfig"], 1, "config.json must hold a JSON object of settings, got list"),
    (["train", "--resume", "twiceconfig"], 1, "config.json: the key 'lr' appears twice"),
    (["evaluate", "nowhere"], 1, "does not exist"),
    (["predict", "run", "missing.png"], 1, "missing.png does not exist"),
    (["predict", "run", "objects.npy"], 1, "cannot read objects.npy as a plain .npy array"),
    (["predict", "run", "wrong.npy"], 1, "has shape (5, 5)"),
    (["predict", "run", "notes.txt"], 1, "give a .png image or a .npy array"),
    (["lr-find", "--start-lr", "1", "--end-lr", "0.1"], 1, "must be below --end-lr"),
    (["fly"], 2, "invalid choice: 'fly'"),
]


@pytest.mark.parametrize("arguments, status, message", ERRORS, ids=[" ".join(case[0]) for case in ERRORS])
def test_bad_input_gives_one_clean_line(broken_files, monkeypatch, capsys, arguments, status, message):
    monkeypatch.chdir(broken_files)
    assert main(arguments) == status
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if not line.startswith("model file: running")]
    assert len(lines) == 1, captured.err
    assert message in lines[0] and lines[0].startswith("chainrule") and "Traceback" not in captured.err


@pytest.mark.parametrize("arguments, status", [(["train", "--lr", "-1"], 2), (["train", "--data", "nowhere"], 1),
                                               (["evaluate", "corrupt"], 1)])
def test_a_real_process_exits_cleanly(broken_files, arguments, status):
    result = chainrule(*arguments, cwd=broken_files)
    assert result.returncode == status
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
