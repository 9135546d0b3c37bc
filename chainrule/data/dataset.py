"""Datasets: anything with ``len(dataset)`` and ``dataset[i]``, plus the array-backed kind that gathers whole batches.

A ``Dataset`` maps an index 0..len−1 to one sample. An array-backed dataset
(``TensorDataset`` and its subclasses, and a ``Subset`` of one) can also gather a
whole batch with one fancy index per array (``get_batch``); the DataLoader uses that
fast path instead of a Python loop over samples.
"""
import numbers

import numpy

from chainrule.core.random import default_generator
from chainrule.core.tensor import Tensor


class Dataset:
    """The base of map-style datasets: override ``__len__`` and ``__getitem__(index)``.

    ``gathers_batches`` tells the DataLoader whether ``get_batch(indices, generator)``
    may be used to fetch a whole batch at once; a plain Dataset says no.

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self): return 4
        ...     def __getitem__(self, i): return float(i), float(i * i)
        >>> Squares()[3]
        (3.0, 9.0)
    """

    gathers_batches = False

    def __len__(self):
        raise TypeError(f"{type(self).__name__} must define __len__ (the number of samples)")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} must define __getitem__(index) returning one sample")


def _as_numpy_array(value, where):
    if isinstance(value, Tensor):
        if value.requires_grad:
            raise ValueError(f"{where}: a tensor that requires grad can't be dataset storage; pass tensor.detach()")
        return numpy.asarray(value)
    if isinstance(value, numpy.ndarray):
        return value
    raise TypeError(f"{where}: expected NumPy arrays or chainrule tensors, got {type(value).__name__}")


def _check_index(index, length, where):
    if not isinstance(index, numbers.Integral):
        raise TypeError(f"{where}: index must be an integer, got {type(index).__name__}")
    if not -length <= index < length:
        raise IndexError(f"{where}: index {index} is out of range for {length} samples")
    return int(index) % length


class TensorDataset(Dataset):
    """Samples are rows of arrays of equal length: ``dataset[i] == (a[i], b[i], ...)``.

    Arrays may be NumPy arrays or chainrule tensors (kept as NumPy arrays, not
    copied). ``transform``, if given, is applied to the first array (the inputs):
    ``transform(a[i])`` in ``dataset[i]``; ``transform.batch(a[indices], generator)``
    in ``get_batch``, which the DataLoader calls to gather a batch with one fancy
    index per array.

    Example:
        >>> import numpy as np
        >>> data = TensorDataset(np.arange(6.0).reshape(3, 2), np.array([0, 1, 0]))
        >>> len(data), data[1]
        (3, (array([2., 3.]), np.int64(1)))
    """

    gathers_batches = True

    def __init__(self, *arrays, transform=None):
        if not arrays:
            raise ValueError("TensorDataset: give at least one array, e.g. TensorDataset(images, labels)")
        arrays = tuple(_as_numpy_array(array, "TensorDataset") for array in arrays)
        lengths = [array.shape[0] if array.ndim else None for array in arrays]
        if None in lengths or len(set(lengths)) != 1:
            shapes = [array.shape for array in arrays]
            raise ValueError(f"TensorDataset: all arrays need the same first dimension (one row per sample), got shapes {shapes}")
        if transform is not None and not callable(transform):
            raise TypeError(f"TensorDataset: transform must be callable (e.g. a chainrule.data.transforms object), "
                            f"got {transform!r}")
        self.arrays = arrays
        self.transform = transform

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        index = _check_index(index, len(self), type(self).__name__)
        sample = [array[index] for array in self.arrays]
        if self.transform is not None:
            sample[0] = self.transform(sample[0])
        return tuple(sample)

    def get_batch(self, indices, generator=None):
        """The samples at ``indices`` as a tuple of batched arrays (one fancy index per array)."""
        indices = numpy.asarray(indices, dtype=numpy.int64)
        batch = [array[indices] for array in self.arrays]
        if self.transform is not None:
            batch_transform = getattr(self.transform, "batch", None)
            if batch_transform is not None:
                batch[0] = batch_transform(batch[0], generator=generator)
            else:  # a plain function: apply it sample by sample
                batch[0] = numpy.stack([self.transform(sample) for sample in batch[0]])
        return tuple(batch)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``subset[i] == dataset[indices[i]]``.

    Example:
        >>> import numpy as np
        >>> data = TensorDataset(np.arange(10))
        >>> Subset(data, [7, 2])[0]
        (np.int64(7),)
    """

    def __init__(self, dataset, indices):
        indices = numpy.asarray(indices)
        if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
            raise ValueError(f"Subset: indices must be a 1-d list of integers, got dtype {indices.dtype} shape {indices.shape}")
        indices = indices.astype(numpy.int64)
        length = len(dataset)
        if indices.size and (indices.min() < 0 or indices.max() >= length):
            raise IndexError(f"Subset: indices must lie in 0..{length - 1} for a dataset of {length} samples, "
                             f"got values from {indices.min()} to {indices.max()}")
        self.dataset = dataset
        self.indices = indices

    @property
    def gathers_batches(self):
        return getattr(self.dataset, "gathers_batches", False)

    def __len__(self):
        return self.indices.size

    def __getitem__(self, index):
        return self.dataset[int(self.indices[_check_index(index, len(self), "Subset")])]

    def get_batch(self, indices, generator=None):
        """Gather from the underlying array-backed dataset (only when ``gathers_batches``)."""
        if not self.gathers_batches:
            raise TypeError(f"Subset.get_batch: the underlying {type(self.dataset).__name__} can't gather batches; "
                            "index it per sample")
        return self.dataset.get_batch(self.indices[numpy.asarray(indices, dtype=numpy.int64)], generator=generator)


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into disjoint random Subsets of the given lengths (or fractions).

    ``lengths`` are integers summing to len(dataset), or fractions summing to 1:
    each fraction f gets ⌊f·N⌋ samples and the leftover samples go one each to the
    first subsets, round-robin. The order is one permutation drawn from
    ``generator`` (the default generator if None), so the same seed gives the same split.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> data = TensorDataset(np.arange(10))
        >>> train, val = random_split(data, [0.8, 0.2], generator=cr.Generator().manual_seed(0))
        >>> len(train), len(val)
        (8, 2)
    """
    total = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty; give sizes like [800, 200] or fractions like [0.8, 0.2]")
    if all(isinstance(length, numbers.Integral) for length in lengths):
        counts = [int(length) for length in lengths]
        if any(count < 0 for count in counts) or sum(counts) != total:
            raise ValueError(f"random_split: lengths {counts} must be non-negative and sum to the dataset's {total} samples")
    else:
        fractions = [float(length) for length in lengths]
        if any(not 0.0 <= fraction <= 1.0 for fraction in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
            raise ValueError(f"random_split: fractions {fractions} must lie in [0, 1] and sum to 1")
        counts = [int(numpy.floor(fraction * total)) for fraction in fractions]
        for position in range(total - sum(counts)):
            counts[position % len(counts)] += 1
    order = (generator or default_generator()).permutation(total)
    subsets, start = [], 0
    for count in counts:
        subsets.append(Subset(dataset, order[start:start + count]))
        start += count
    return subsets
