"""The main job's data sources: bundled digits, a folder of IDX files, CSV files; and clear errors."""
import re

import numpy
import pytest

from chainrule.data import load_digits, write_idx
from chainrule.train.data_sources import load_source, load_split, read_csv_images
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


# ----- what a file says is checked at the edge, before training ----------------------------------------
def _write_table(path, labels, pixels, header=False):
    table = numpy.column_stack([labels, pixels])
    numpy.savetxt(path, table, fmt="%.17g", delimiter=",", header="label,pixels" if header else "", comments="")
    return path


@pytest.mark.parametrize("content", ["", "\n\n  \n", "label,pixel0,pixel1\n", "label,pixel0\n\n"])
def test_an_empty_csv_gives_one_clear_line_and_no_numpy_warning(tmp_path, content, recwarn):
    (tmp_path / "empty.csv").write_text(content)
    with pytest.raises(ValueError, match="empty.csv has no rows of data; it needs one row per image") as error:
        read_csv_images(tmp_path / "empty.csv")
    assert "\n" not in str(error.value) and len(recwarn) == 0


def test_a_csv_whose_first_line_is_blank_still_reads(tmp_path):
    (tmp_path / "blank.csv").write_text("\n1,0,255\n0,255,0\n")
    assert read_csv_images(tmp_path / "blank.csv")[1].tolist() == [1, 0]


@pytest.mark.parametrize("label, message", [(1e9, "data row 2, column 1 \\(the label\\): 1e\\+09 is not a class label"),
                                            (-1, "-1 is not a class label"), (1000, "from 0 to 999"),
                                            (float("nan"), "nan is not a class label")])
def test_a_label_beyond_any_sensible_class_count_is_refused_at_once(tmp_path, label, message):
    path = _write_table(tmp_path / "labels.csv", [0, label, 1], numpy.zeros((3, 4)))
    with pytest.raises(ValueError, match=message):
        read_csv_images(path)


@pytest.mark.parametrize("value, message", [(-50, "-50 is out of range"),
                                            (1e300, "1e\\+300 is out of range"), (2.0 ** 62, "4.61169e\\+18"),
                                            (float("inf"), "inf is out of range"), (256, "256 is out of range")])
def test_out_of_range_csv_pixels_are_refused_not_clipped(tmp_path, value, message):
    pixels = numpy.zeros((3, 4))
    pixels[1, 1] = value
    with pytest.raises(ValueError, match=f"data row 2, column 3 \\(a pixel\\): {message}.* finite and lie in 0..255"):
        read_csv_images(_write_table(tmp_path / "pixels.csv", [0, 1, 0], pixels))


def test_a_stray_label_does_not_make_a_256_class_model(tmp_path):
    labels = numpy.arange(40) % 10
    labels[7] = 255  # the mark of a missing label
    path = _write_table(tmp_path / "stray.csv", labels, numpy.zeros((40, 4)))
    with pytest.raises(ValueError, match="run from 0 to 255, but 245 of those 256 classes have no training image "
                                         "\\(10, 11, 12, 13, 14, ...\\)"):
        load_source(path)


def test_idx_labels_of_255_are_refused_before_training(tmp_path):
    folder = _idx_folder(tmp_path)
    labels = load_digits("train")[1][spread_rows(3500, 200)].astype(numpy.uint8)
    labels[[3, 50]] = 255
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte\\) in .*: the labels run from 0 to 255"):
        load_source(folder)


def test_test_labels_must_be_classes_the_training_data_has(tmp_path):
    path = _write_table(tmp_path / "train.csv", numpy.arange(40) % 4, numpy.zeros((40, 4)))
    test = _write_table(tmp_path / "test.csv", [0, 1, 7], numpy.zeros((3, 4)))
    with pytest.raises(ValueError, match="test CSV .*test.csv \\(the label column\\) holds label 7, a class the "
                                         "training data \\(classes 0..3\\) does not have"):
        load_source(path, test_csv=test)


# ----- evaluating on a test set alone ----------------------------------------------------------------------
def test_a_folder_of_test_files_alone_gives_its_test_split(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "only-test").mkdir()
    full = _idx_folder(tmp_path / "full")
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / "only-test" / name).write_bytes((full / name).read_bytes())
    images, labels = load_split(tmp_path / "only-test", "test")
    expected_images, expected_labels = load_source(full)["test"]
    numpy.testing.assert_array_equal(labels, expected_labels)
    numpy.testing.assert_array_equal(images, expected_images)
    with pytest.raises(FileNotFoundError, match="no images file for split 'train'"):
        load_split(tmp_path / "only-test", "val")
    numpy.testing.assert_array_equal(load_split(full, "val")[1], load_source(full)["val"][1])


def test_a_csv_test_set_is_evaluated_on_every_row(tmp_path):
    path = _write_table(tmp_path / "test.csv", numpy.arange(30) % 3, numpy.zeros((30, 4)), header=True)
    assert len(load_split(path, "test", whole_csv=True)[1]) == 30
    assert len(load_split(path, "test")[1]) == 3  # as the run's own data: its held-out tenth
    with pytest.raises(ValueError, match="holds label 2, a class the training data \\(classes 0..1\\) does not"):
        load_split(path, "test", whole_csv=True, num_classes=2)


@pytest.mark.parametrize("content, message", [("", "has no rows of data"), ("label,p0,p1\n", "has no rows of data"),
                                              ("1e9,0,0\n0,1,1\n", "1e\\+09 is not a class label")])
def test_the_train_command_gives_one_line_for_a_bad_csv(tmp_path, capsys, content, message):
    from chainrule.cli import main

    (tmp_path / "data.csv").write_text(content)
    assert main(["train", "--model", "mlp", "--data", str(tmp_path / "data.csv"), "--out", str(tmp_path / "run")]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("chainrule train: error: CSV file")
    assert re.search(message, error) and not (tmp_path / "run").exists()


@pytest.mark.parametrize("labels, message", [([1, 2, 3, 1], "if the labels start at 1, subtract 1 from each"),
                                             ([0, 0, 0], "every label is 0; a classifier needs at least two classes")])
def test_labels_that_start_at_one_or_name_one_class_are_explained(labels, message):
    from chainrule.train.data_sources import check_training_classes

    with pytest.raises(ValueError, match=message):
        check_training_classes(numpy.array(labels), "labels")


@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 3, 3), (1, 28, 20)])
def test_a_cnn_on_images_too_small_or_not_square_is_refused_by_name(shape):
    with pytest.raises(ValueError, match=f"cnn needs square images of at least 4x4 pixels, the data has "
                                         f"{shape[1]}x{shape[2]} - use --model mlp"):
        prepare_model_spec(TrainConfig(model="cnn"), shape, 10)
