"""The main job's data sources: bundled digits, a folder of IDX files, CSV files; and clear errors."""
import numpy
import pytest

from chainrule.data import load_digits, write_idx
from chainrule.train.data_sources import load_source, read_csv_images
from chainrule.train.job import TrainConfig, prepare_model_spec
from train_helpers import spread_rows


def _idx_folder(folder, train_count=200, test_count=50):
    images, labels = load_digits("train")
    rows = spread_rows(len(labels), train_count)
    write_idx(folder / "train-images-idx3-ubyte.gz", numpy.round(images[rows, 0] * 255).astype(numpy.uint8))
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels[rows].astype(numpy.uint8))
    test_images, test_labels = load_digits("test")
    rows = spread_rows(len(test_labels), test_count)
    write_idx(folder / "t10k-images-idx3-ubyte", numpy.round(test_images[rows, 0] * 255).astype(numpy.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte", test_labels[rows].astype(numpy.uint8))
    return folder


def test_bundled_digits_splits():
    splits = load_source("digits")
    assert {name: len(labels) for name, (_, labels) in splits.items()} == {"train": 3500, "val": 500, "test": 1000}


def test_an_idx_folder_gives_a_stratified_validation_split(tmp_path):
    splits = load_source(_idx_folder(tmp_path), val_fraction=0.1)
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = splits["train"], splits["val"], splits["test"]
    assert train_x.shape == (180, 1, 28, 28) and val_x.shape == (20, 1, 28, 28) and test_x.shape == (50, 1, 28, 28)
    assert numpy.bincount(val_y).tolist() == [2] * 10  # stratified: two of each digit
    assert train_x.dtype == numpy.float32 and 0 <= train_x.min() and train_x.max() <= 1
    expected = load_digits("test")[0][spread_rows(1000, 50)]
    numpy.testing.assert_allclose(test_x, expected, atol=1 / 255 / 2 + 1e-7)  # bytes/255 round trip


def test_csv_with_and_without_a_test_file(tmp_path):
    images, labels = load_digits("val")
    rows = spread_rows(500, 100)
    table = numpy.column_stack([labels[rows], numpy.round(images[rows].reshape(100, -1) * 255)]).astype(int)
    numpy.savetxt(tmp_path / "train.csv", table, fmt="%d", delimiter=",")
    numpy.savetxt(tmp_path / "test.csv", table[:30], fmt="%d", delimiter=",", header="label,pixels", comments="")
    split = load_source(tmp_path / "train.csv", val_fraction=0.1, test_fraction=0.2)
    assert [len(split[name][1]) for name in ("train", "val", "test")] == [70, 10, 20]
    with_test = load_source(tmp_path / "train.csv", val_fraction=0.1, test_csv=tmp_path / "test.csv")
    assert [len(with_test[name][1]) for name in ("train", "val", "test")] == [90, 10, 30]
    numpy.testing.assert_array_equal(with_test["test"][1], labels[rows][:30])  # the header row was skipped


def test_csv_of_flat_vectors_needs_an_mlp(tmp_path):
    numpy.savetxt(tmp_path / "flat.csv", numpy.column_stack([numpy.arange(40) % 2, numpy.ones((40, 5))]),
                  fmt="%g", delimiter=",")
    images, labels = read_csv_images(tmp_path / "flat.csv")
    assert images.shape == (40, 5)
    assert prepare_model_spec(TrainConfig(model="mlp"), images.shape[1:], 2)["kwargs"]["in_features"] == 5
    with pytest.raises(ValueError, match="use --model mlp"):
        prepare_model_spec(TrainConfig(model="cnn"), images.shape[1:], 2)


@pytest.mark.parametrize("content, message", [
    ("label,a,b\n1,x,2\n", "not a table of numbers"),
    ("1.5,0,1\n2,1,1\n", "integer class labels"),
    ("1\n2\n", "a label and at least one pixel"),
    ("1,nan,3\n0,1,1\n", "non-finite"),
])
def test_bad_csv_files_get_clear_errors(tmp_path, content, message):
    (tmp_path / "bad.csv").write_text(content)
    with pytest.raises(ValueError, match=message):
        read_csv_images(tmp_path / "bad.csv")


def test_missing_and_unknown_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_source(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError):
        load_source(tmp_path)  # an empty folder has no IDX files
    (tmp_path / "data.json").write_text("{}")
    with pytest.raises(ValueError, match="neither a folder of IDX files nor a .csv"):
        load_source(tmp_path / "data.json")
    with pytest.raises(ValueError, match="val_fraction"):
        load_source("digits", val_fraction=1.5)


def test_config_validation_names_the_bad_setting():
    for changes, message in [({"optimizer": "adamax"}, "unknown optimizer"), ({"lr": -1.0}, "learning rate"),
                             ({"batch_size": 0}, "batch size"), ({"schedule": "warm"}, "unknown schedule"),
                             ({"augment_shift": 20}, "augment shift"), ({"model": "resnet"}, "unknown model")]:
        with pytest.raises(ValueError, match=message):
            TrainConfig(**changes).validate()
