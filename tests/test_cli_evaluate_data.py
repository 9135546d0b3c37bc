"""``chainrule evaluate --data``: a folder holding only the test files, and a CSV of a test set, use every row."""
import json

import numpy
import pytest

from chainrule.cli import main
from chainrule.data import load_digits, write_idx
from train_helpers import spread_rows


def _write_csv(path, images, labels):
    pixels = numpy.round(images.reshape(len(labels), -1) * 255).astype(int)
    numpy.savetxt(path, numpy.column_stack([labels, pixels]), fmt="%d", delimiter=",",
                  header="label," + ",".join(f"pixel{i}" for i in range(784)), comments="")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A one-epoch MLP trained by the command on 100 bundled digits; and 40 test digits."""
    folder = tmp_path_factory.mktemp("evaluate")
    images, labels = load_digits("train")
    rows = spread_rows(len(labels), 100)
    _write_csv(folder / "train.csv", images[rows], labels[rows])
    assert main(["train", "--model", "mlp", "--data", str(folder / "train.csv"), "--epochs", "1",
                 "--out", str(folder / "run"), "--no-progress"]) == 0
    test_images, test_labels = load_digits("test")
    rows = spread_rows(len(test_labels), 40)
    return folder, test_images[rows], test_labels[rows]


def _evaluate(capsys, *arguments):
    capsys.readouterr()
    assert main(["evaluate", *map(str, arguments), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_folder_of_only_the_test_files_is_evaluated_whole(run, tmp_path, capsys):
    folder, images, labels = run
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", numpy.round(images[:, 0] * 255).astype(numpy.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels.astype(numpy.uint8))
    metrics = _evaluate(capsys, folder / "run", "--data", tmp_path, "--split", "test")
    assert metrics["images"] == 40
    assert _evaluate(capsys, folder / "run", "--data", tmp_path)["accuracy"] == metrics["accuracy"]


def test_a_csv_of_a_test_set_is_evaluated_on_all_its_rows(run, tmp_path, capsys):
    folder, images, labels = run
    _write_csv(tmp_path / "test.csv", images, labels)
    assert _evaluate(capsys, folder / "run", "--data", tmp_path / "test.csv")["images"] == 40
    assert _evaluate(capsys, folder / "run")["images"] == 10  # the run's own CSV: its held-out tenth
