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
"""
import pathlib

import numpy

from chainrule.data import load_digits, load_idx_folder, stratified_split


def describe_source(source):
    """A short name of the source for logs and reports."""
    return "bundled MNIST digits (3500/500/1000)" if source == "digits" else str(source)


def load_source(source="digits", val_fraction=0.1, test_fraction=0.1, test_csv=None):
    """Load the three splits of a data source; a clear ``ValueError``/``FileNotFoundError`` if it is unusable.

    Example:
        >>> splits = load_source("digits")
        >>> [splits[name][0].shape[0] for name in ("train", "val", "test")]
        [3500, 500, 1000]
    """
    for name, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < fraction < 1:
            raise ValueError(f"{name} must be between 0 and 1, got {fraction}")
    if source == "digits":
        if test_csv is not None:
            raise ValueError("a separate test CSV goes with a CSV data set, not with the bundled digits")
        return {split: load_digits(split) for split in ("train", "val", "test")}
    path = pathlib.Path(source)
    if not path.exists():
        raise FileNotFoundError(f"data {source} does not exist; give 'digits', a folder of MNIST IDX files, or a "
                                ".csv file")
    if path.is_dir():
        images, labels = load_idx_folder(path, "train")
        test = load_idx_folder(path, "test")
        train_rows, val_rows = _split(labels, (1 - val_fraction, val_fraction))
        return {"train": (images[train_rows], labels[train_rows]), "val": (images[val_rows], labels[val_rows]),
                "test": test}
    if path.suffix.lower() != ".csv":
        raise ValueError(f"data {source} is neither a folder of IDX files nor a .csv file")
    images, labels = read_csv_images(path)
    if test_csv is not None:
        test = read_csv_images(test_csv)
        if test[0].shape[1:] != images.shape[1:]:
            raise ValueError(f"test CSV {test_csv} has images of shape {test[0].shape[1:]}, the training CSV "
                             f"{images.shape[1:]}")
        train_rows, val_rows = _split(labels, (1 - val_fraction, val_fraction))
    else:
        train_rows, val_rows, test_rows = _split(labels, (1 - val_fraction - test_fraction, val_fraction,
                                                          test_fraction))
        test = (images[test_rows], labels[test_rows])
    return {"train": (images[train_rows], labels[train_rows]), "val": (images[val_rows], labels[val_rows]),
            "test": test}


def _split(labels, fractions):
    """Stratified split into groups of the given fractions (the first takes the remainder)."""
    sizes = [int(round(fraction * labels.size)) for fraction in fractions[1:]]
    if min(sizes) < 1 or sum(sizes) >= labels.size:
        raise ValueError(f"{labels.size} images are too few to split into {len(fractions)} non-empty parts")
    return stratified_split(labels, [labels.size - sum(sizes)] + sizes, seed=0)


def read_csv_images(path):
    """Read a CSV of labelled images: label, then pixels, per row. Returns (X float32 in [0, 1], y int64).

    Square pixel counts (784 = 28²) become (N, 1, side, side) images; others stay flat (N, D).

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
    skip = 0 if _is_numeric_row(first_line) else 1
    try:
        table = numpy.loadtxt(path, delimiter=",", skiprows=skip, dtype=numpy.float64, ndmin=2)
    except ValueError as error:
        raise ValueError(f"CSV file {path} is not a table of numbers (label, pixels...): {error}") from None
    if table.shape[0] == 0 or table.shape[1] < 2:
        raise ValueError(f"CSV file {path} needs rows of a label and at least one pixel, got shape {table.shape}")
    labels = table[:, 0]
    if numpy.any(labels != numpy.round(labels)) or labels.min() < 0:
        raise ValueError(f"CSV file {path}: the first column must hold non-negative integer class labels")
    pixels = table[:, 1:]
    if not numpy.all(numpy.isfinite(pixels)):
        raise ValueError(f"CSV file {path} has missing or non-finite pixel values")
    if pixels.max() > 1.0:
        pixels = pixels / 255.0
    side = int(round(pixels.shape[1] ** 0.5))
    images = pixels.astype(numpy.float32)
    if side * side == pixels.shape[1] and side > 1:
        images = images.reshape(-1, 1, side, side)
    return images, labels.astype(numpy.int64)


def _is_numeric_row(line):
    try:
        [float(cell) for cell in line.strip().split(",")]
        return bool(line.strip())
    except ValueError:
        return False
