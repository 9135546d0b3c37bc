"""Samplers: which sample indices an epoch visits, in what order (``torch.utils.data``'s names).

A sampler is an iterable of indices with a length. The chainrule samplers also have
``order(generator)``, the epoch's indices as one array, drawn from ``generator`` when the
sampler was built without its own: the DataLoader passes its generator, so the loader's
saved state covers the sampler's randomness and a resumed epoch replays it bitwise.
``BatchSampler`` groups any sampler's indices into lists, one list per batch.
"""
import numbers

import numpy

from chainrule.core.random import Generator, default_generator

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler", "SubsetRandomSampler",
           "WeightedRandomSampler"]


class Sampler:
    """The base class: a sampler defines ``order(generator)`` (an int64 array of indices) and ``__len__``.

    Iterating draws one order (from the sampler's generator, else the default generator).

    Example:
        >>> class EveryOther(Sampler):
        ...     def __init__(self, n): self.n = n
        ...     def order(self, generator=None): return numpy.arange(0, self.n, 2)
        ...     def __len__(self): return (self.n + 1) // 2
        >>> list(EveryOther(5))
        [0, 2, 4]
    """

    generator = None

    def order(self, generator=None):
        raise TypeError(f"{type(self).__name__} must define order(generator) returning the epoch's indices")

    def __len__(self):
        raise TypeError(f"{type(self).__name__} must define __len__")

    def __iter__(self):
        return iter(int(index) for index in self.order(self.generator or default_generator()))

    def _own_or(self, generator):
        return self.generator or generator or default_generator()


def _check_generator(generator, where):
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"{where}: generator must be a chainrule Generator, got {type(generator).__name__}")
    return generator


def _check_count(value, name, where, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{where}: {name} must be a non-negative integer, got {value!r}")
    return int(value)


class SequentialSampler(Sampler):
    """0, 1, …, N−1 in order.

    Example:
        >>> from chainrule.data import SequentialSampler
        >>> list(SequentialSampler(range(4)))
        [0, 1, 2, 3]
    """

    def __init__(self, data_source):
        self.data_source = data_source

    def order(self, generator=None):
        return numpy.arange(len(self.data_source), dtype=numpy.int64)

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of 0..N−1 each epoch, or ``num_samples`` draws with replacement.

    Without replacement and without ``num_samples`` it is one permutation; with
    ``num_samples > N`` (and no replacement) whole permutations are joined and cut, as PyTorch does.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.data import RandomSampler
        >>> sorted(RandomSampler(range(5), generator=cr.Generator().manual_seed(0)))
        [0, 1, 2, 3, 4]
        >>> len(RandomSampler(range(5), replacement=True, num_samples=8))
        8
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = bool(replacement)
        self._num_samples = _check_count(num_samples, "num_samples", "RandomSampler", allow_none=True)
        self.generator = _check_generator(generator, "RandomSampler")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def order(self, generator=None):
        generator, size, wanted = self._own_or(generator), len(self.data_source), self.num_samples
        if self.replacement:
            if size == 0 and wanted:
                raise ValueError("RandomSampler: cannot draw with replacement from an empty dataset")
            return numpy.asarray(generator.integers(0, size, (wanted,), numpy.int64), dtype=numpy.int64)
        rounds = -(-wanted // size) if size else 0
        parts = [numpy.asarray(generator.permutation(size), dtype=numpy.int64) for _ in range(rounds)]
        return numpy.concatenate(parts)[:wanted] if parts else numpy.zeros(0, numpy.int64)

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a random order each epoch.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.data import SubsetRandomSampler
        >>> sorted(SubsetRandomSampler([7, 3, 9], generator=cr.Generator().manual_seed(1)))
        [3, 7, 9]
    """

    def __init__(self, indices, generator=None):
        self.indices = numpy.asarray(list(indices), dtype=numpy.int64)
        if self.indices.ndim != 1:
            raise ValueError(f"SubsetRandomSampler: indices must be a flat list of integers, got shape {self.indices.shape}")
        self.generator = _check_generator(generator, "SubsetRandomSampler")

    def order(self, generator=None):
        return self.indices[numpy.asarray(self._own_or(generator).permutation(self.indices.size), dtype=numpy.int64)]

    def __len__(self):
        return int(self.indices.size)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability ∝ ``weights`` (with replacement by default).

    P(i) = wᵢ / Σⱼ wⱼ. Without replacement each index is drawn at most once (successive draws).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.data import WeightedRandomSampler
        >>> list(WeightedRandomSampler([0.0, 1.0, 0.0], 3, generator=cr.Generator().manual_seed(0)))
        [1, 1, 1]
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        self.weights = numpy.asarray(weights, dtype=numpy.float64)
        if self.weights.ndim != 1 or self.weights.size == 0:
            raise ValueError(f"WeightedRandomSampler: weights must be a non-empty 1-d sequence, got shape {self.weights.shape}")
        if not numpy.all(numpy.isfinite(self.weights)) or numpy.any(self.weights < 0) or self.weights.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        self.num_samples = _check_count(num_samples, "num_samples", "WeightedRandomSampler")
        self.replacement = bool(replacement)
        if not self.replacement and self.num_samples > numpy.count_nonzero(self.weights):
            raise ValueError(f"WeightedRandomSampler: {self.num_samples} samples without replacement, but only "
                             f"{numpy.count_nonzero(self.weights)} weights are positive")
        self.generator = _check_generator(generator, "WeightedRandomSampler")

    def order(self, generator=None):
        probabilities = self.weights / self.weights.sum()
        rng = self._own_or(generator).numpy_generator
        return numpy.asarray(rng.choice(self.weights.size, size=self.num_samples, replace=self.replacement,
                                        p=probabilities), dtype=numpy.int64)

    def __len__(self):
        return self.num_samples


class BatchSampler:
    """Group a sampler's indices into lists of ``batch_size`` (the last one shorter unless ``drop_last``).

    Example:
        >>> from chainrule.data import BatchSampler, SequentialSampler
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"BatchSampler: batch_size must be a positive integer, got {batch_size!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = bool(drop_last)

    def batches(self, generator=None):
        """The epoch's batches as lists of indices, the sampler's order drawn from ``generator`` if it has none."""
        indices = epoch_order(self.sampler, generator)
        cut = [indices[start:start + self.batch_size].tolist() for start in range(0, len(indices), self.batch_size)]
        if self.drop_last and cut and len(cut[-1]) < self.batch_size:
            cut.pop()
        return cut

    def __iter__(self):
        return iter(self.batches())

    def __len__(self):
        full, remainder = divmod(len(self.sampler), self.batch_size)
        return full if self.drop_last or remainder == 0 else full + 1


def epoch_order(sampler, generator=None):
    """One epoch of ``sampler`` as an int64 array: ``order(generator)`` for chainrule samplers, else its iteration."""
    if isinstance(sampler, Sampler):
        return numpy.asarray(sampler.order(generator), dtype=numpy.int64)
    return numpy.asarray([int(index) for index in sampler], dtype=numpy.int64)
