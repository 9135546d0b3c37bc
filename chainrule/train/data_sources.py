"""Where the main job's images come from: the bundled digits, a folder of IDX files, or a CSV file.

Every source gives the same thing: ``{"train": (X, y), "val": (X, y), "test": (X, y)}``
with X float32 in [0, 1], shaped (N, 1, H, W) for square images (else (N, D)), and y
int64 labels.

- ``"digits"``: the bundled 5,000 MNIST digits, split 3500 / 500 / 1000.
- a folder: the full MNIST (or Fashion-MNIST) IDX files ``train-images-idx3-ubyte`` ... and
  ``t10k-...`` (optionally .gz); ``val_fraction`` of the training images (stratified, seed 0)
  become the validation split, the t10k files the test split.
- a ``.csv`` file: one image per row, the label in the first column, then the pixels
  (0-255 or 0-1; a header row is skipped). Without ``test_csv`` the rows are split
  stratified into train / val / test with ``val_fraction`` and ``test_fraction``.

What a file says is checked at this edge, before any training starts:

- labels are whole numbers 0..K-1 with K ≤ ``MAX_CLASSES`` (1000), and every one of the
  K classes has training images: a label of 255 among digits 0..9 (a common mark of a
  missing or corrupt label) is refused rather than training a 256-class model; the
  validation and test labels must be classes the training data has;
- pixels are finite and in 0..255 or 0..1 (``chainrule.data.pixels``), never clipped;
- IDX sizes are checked against the files' real lengths (``chainrule.data.idx``).
"""
import pathlib
import warnings

import numpy

from chainrule.data import load_digits, load_idx_folder, stratified_split
from chainrule.data.pixels import PIXEL_RANGE_HELP, pixels_to_unit_range

# More classes than ImageNet's 1000 is no digit or small-image set: a label beyond it is a broken file, and
# building the model it implies (one output per class) is what ran out of memory on a label of 1e9.
MAX_CLASSES = 1000
SPLITS = ("train", "val", "test")


def describe_source(source):
    """A short name of the source for logs and reports."""
    return "bundled MNIST digits (3500/500/1000)" if source == "digits" else str(source)


def _check_fractions(val_fraction, test_fraction):
    for name, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < fraction < 1:
            raise ValueError(f"{name} must be between 0 and 1, got {fraction}")


def _existing_path(source):
    path = pathlib.Path(source)
    if not path.exists():
        raise FileNotFoundError(f"data {source} does not exist; give 'digits', a folder of MNIST IDX files, or a "
                                ".csv file")
    if not path.is_dir() and path.suffix.lower() != ".csv":
        raise ValueError(f"data {source} is neither a folder of IDX files nor a .csv file")
    return path


def check_training_classes(labels, where):
    """Refuse training labels whose classes 0..max(labels) are not all present; return the number of classes.

    Example:
        >>> import numpy as np
        >>> check_training_classes(np.array([0, 2, 1, 1]), "labels")
        3
        >>> try:
        ...     check_training_classes(np.array([0, 1, 255]), "labels")
        ... except ValueError as error:
        ...     print(str(error).split(";")[0])
        labels: the labels run from 0 to 255, but 253 of those 256 classes have no training image (2, 3, 4, 5, 6, ...)
    """
    if labels.size == 0 or labels.max() == 0:
        raise ValueError(f"{where}: every label is 0; a classifier needs at least two classes (labels 0 and 1)")
    counts = numpy.bincount(labels)
    missing = numpy.flatnonzero(counts == 0)
    if missing.size:
        shown = ", ".join(str(int(label)) for label in missing[:5]) + (", ..." if missing.size > 5 else "")
        hint = ("if the labels start at 1, subtract 1 from each" if missing.tolist() == [0]
                else "a stray label such as 255 usually marks a missing or corrupt label")
        raise ValueError(f"{where}: the labels run from 0 to {counts.size - 1}, but {missing.size} of those "
                         f"{counts.size} classes have no training image ({shown}); every class from 0 to the largest "
                         f"label needs training images ({hint})")
    return counts.size


def _check_known_classes(labels, num_classes, where):
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"{where} holds label {int(labels.max())}, a class the training data (classes 0.."
                         f"{num_classes - 1}) does not have")


def _idx_train_and_val(path, val_fraction):
    images, labels = load_idx_folder(path, "train")
    num_classes = check_training_classes(labels, f"the training labels (train-labels-idx1-ubyte) in {path}")
    train_rows, val_rows = _split(labels, (1 - val_fraction, val_fraction))
    return {"train": (images[train_rows], labels[train_rows]), "val": (images[val_rows], labels[val_rows])}, num_classes


def load_source(source="digits", val_fraction=0.1, test_fraction=0.1, test_csv=None):
    """Load the three splits of a data source; a clear ``ValueError``/``FileNotFoundError`` if it is unusable.

    Example:
        >>> splits = load_source("digits")
        >>> [splits[name][0].shape[0] for name in ("train", "val", "test")]
        [3500, 500, 1000]
    """
    _check_fractions(val_fraction, test_fraction)
    if source == "digits":
        if test_csv is not None:
            raise ValueError("a separate test CSV goes with a CSV data set, not with the bundled digits")
        return {split: load_digits(split) for split in SPLITS}
    path = _existing_path(source)
    if path.is_dir():
        splits, num_classes = _idx_train_and_val(path, val_fraction)
        splits["test"] = load_idx_folder(path, "test")
        _check_known_classes(splits["test"][1], num_classes, f"the test labels (t10k-labels-idx1-ubyte) in {path}")
        return splits
    images, labels = read_csv_images(path)
    num_classes = check_training_classes(labels, f"CSV file {path} (the label column)")
    if test_csv is not None:
        test = read_csv_images(test_csv)
        if test[0].shape[1:] != images.shape[1:]:
            raise ValueError(f"test CSV {test_csv} has images of shape {test[0].shape[1:]}, the training CSV "
                             f"{images.shape[1:]}")
        _check_known_classes(test[1], num_classes, f"test CSV {test_csv} (the label column)")
        train_rows, val_rows = _split(labels, (1 - val_fraction, val_fraction))
    else:
        train_rows, val_rows, test_rows = _split(labels, (1 - val_fraction - test_fraction, val_fraction,
                                                          test_fraction))
        test = (images[test_rows], labels[test_rows])
    return {"train": (images[train_rows], labels[train_rows]), "val": (images[val_rows], labels[val_rows]),
            "test": test}


def load_split(source, split, val_fraction=0.1, test_fraction=0.1, test_csv=None, whole_csv=False, num_classes=None):
    """One split of a data source, reading only the files that split needs (for ``chainrule evaluate``).

    The test split of an IDX folder reads only its t10k files, so a folder holding just those
    will do. With ``whole_csv=True`` (a CSV that is not the run's own training data) the test
    split is every row of the CSV; otherwise a CSV's splits are those ``load_source`` makes.
    With ``num_classes`` (the model's), a label the model has no output for is refused.

    Example:
        >>> images, labels = load_split("digits", "val")
        >>> images.shape
        (500, 1, 28, 28)
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    _check_fractions(val_fraction, test_fraction)
    path = None if source == "digits" else _existing_path(source)
    if path is None:
        images, labels = load_digits(split)
    elif path.is_dir() and split == "test":
        images, labels = load_idx_folder(path, "test")  # the t10k files alone: the training files are not needed
    elif path.is_dir():
        images, labels = _idx_train_and_val(path, val_fraction)[0][split]
    elif split == "test" and (whole_csv or test_csv is not None):
        images, labels = read_csv_images(path if whole_csv else test_csv)
    else:
        images, labels = load_source(source, val_fraction, test_fraction, test_csv)[split]
    if num_classes is not None:
        _check_known_classes(labels, num_classes, f"the {split} split of {source}")
    return images, labels


def _split(labels, fractions):
    """Stratified split into groups of the given fractions (the first takes the remainder)."""
    sizes = [int(round(fraction * labels.size)) for fraction in fractions[1:]]
    if min(sizes) < 1 or sum(sizes) >= labels.size:
        raise ValueError(f"{labels.size} images are too few to split into {len(fractions)} non-empty parts")
    return stratified_split(labels, [labels.size - sum(sizes)] + sizes, seed=0)


def read_csv_images(path):
    """Read a CSV of labelled images: label, then pixels, per row. Returns (X float32 in [0, 1], y int64).

    Square pixel counts (784 = 28²) become (N, 1, side, side) images; others stay flat (N, D).
    Labels must be whole numbers in 0..``MAX_CLASSES``-1; pixels finite and in 0..255 or 0..1.

    Example:
        >>> import tempfile, os, numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
        >>> np.savetxt(path, np.array([[3] + [0] * 3 + [255], [1] + [255] * 4]), fmt="%d", delimiter=",")
        >>> X, y = read_csv_images(path)
        >>> X.shape, y.tolist(), float(X.max())
        ((2, 1, 2, 2), [3, 1], 1.0)
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CSV file {path} does not exist")
    with open(path, encoding="utf-8", errors="replace") as handle:
        first_line = handle.readline()
        has_data = _is_numeric_row(first_line) or any(line.strip() for line in handle)  # beyond a header
    if not has_data:
        raise ValueError(f"CSV file {path} has no rows of data; it needs one row per image: the label, then the "
                         "pixels")
    skip = 0 if _is_numeric_row(first_line) else 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a NumPy warning becomes this one clear error, not a second line
            table = numpy.loadtxt(path, delimiter=",", skiprows=skip, dtype=numpy.float64, ndmin=2)
    except (ValueError, Warning) as error:
        raise ValueError(f"CSV file {path} is not a table of numbers (label, pixels...): {error}") from None
    if table.shape[0] == 0 or table.shape[1] < 2:
        raise ValueError(f"CSV file {path} needs rows of a label and at least one pixel, got shape {table.shape}")
    labels = table[:, 0]
    bad = numpy.flatnonzero(~((labels >= 0) & (labels < MAX_CLASSES) & (labels == numpy.round(labels))))
    if bad.size:
        raise ValueError(f"CSV file {path}, data row {int(bad[0]) + 1}, column 1 (the label): "
                         f"{labels[bad[0]]:g} is not a class label; labels are whole numbers from 0 to "
                         f"{MAX_CLASSES - 1} (non-negative integer class labels, at most {MAX_CLASSES} classes)")
    pixels = table[:, 1:]
    bad = numpy.flatnonzero(~numpy.all(numpy.isfinite(pixels) & (pixels >= 0) & (pixels <= 255), axis=1))
    if bad.size:
        row = pixels[bad[0]]
        column = int(numpy.flatnonzero(~(numpy.isfinite(row) & (row >= 0) & (row <= 255)))[0]) + 2
        raise ValueError(f"CSV file {path}, data row {int(bad[0]) + 1}, column {column} (a pixel): "
                         f"{row[column - 2]:g} is out of range, and {bad.size} row(s) have such values (missing "
                         f"or non-finite values included); {PIXEL_RANGE_HELP}")
    images = pixels_to_unit_range(pixels, f"CSV file {path} (the pixel columns)")
    side = int(round(pixels.shape[1] ** 0.5))
    if side * side == pixels.shape[1] and side > 1:
        images = images.reshape(-1, 1, side, side)
    return images, labels.astype(numpy.int64)


def _is_numeric_row(line):
    try:
        [float(cell) for cell in line.strip().split(",")]
        return bool(line.strip())
    except ValueError:
        return False
