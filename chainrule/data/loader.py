"""The DataLoader: a dataset cut into (shuffled) batches, with a position that a checkpoint can save.

Each epoch starts by drawing from the loader's Generator, in this order:
  1. the order of the samples (a permutation when ``shuffle``, else 0..N−1);
  2. one 63-bit augmentation seed; batch b of the epoch hands the dataset a fresh
     Generator seeded from (augmentation seed, b), so random transforms of that
     batch depend only on the epoch's start state and b.
So the whole epoch is a function of the generator state at its start. The loader's
``state_dict()`` saves that state, the epoch number and how many batches were
already handed out; ``load_state_dict()`` into a fresh loader replays the two
draws and continues with the next batch, bitwise as if never stopped.
"""
import collections.abc
import copy
import numbers

import numpy

from chainrule.core import dtypes
from chainrule.core.random import Generator, default_generator
from chainrule.core.tensor import Tensor
from chainrule.data.samplers import BatchSampler, epoch_order

_SEED_BOUND = 2**63 - 1


def default_collate(samples):
    """Stack a list of samples into one batch of chainrule tensors, following the samples' structure.

    - arrays and tensors of equal shape → a tensor with a new leading batch axis;
    - Python numbers → a 1-d tensor (int → int64, float → the default float dtype, bool → bool);
      NumPy scalars keep their dtype;
    - tuples, lists, namedtuples and dicts → the same structure with each field collated;
    - strings → a list of the strings.

    Example:
        >>> import numpy as np
        >>> batch = default_collate([{"x": np.zeros(3), "y": 1}, {"x": np.ones(3), "y": 0}])
        >>> batch["x"].shape, batch["y"].tolist()
        ((2, 3), [1, 0])
    """
    if isinstance(samples, (str, bytes)) or not isinstance(samples, collections.abc.Sequence):
        raise TypeError(f"default_collate: expected a list of samples, got {type(samples).__name__}")
    if len(samples) == 0:
        raise ValueError("default_collate: got an empty list of samples; a batch needs at least one")
    return _collate(list(samples), "batch")


def _collate(samples, path):
    first = samples[0]
    for position, sample in enumerate(samples):
        if type(sample) is not type(first) and not (_is_number(sample) and _is_number(first)):
            raise TypeError(f"default_collate: at {path}, sample 0 is a {type(first).__name__} "
                            f"but sample {position} is a {type(sample).__name__}; samples must share one structure")
    if isinstance(first, Tensor):
        if any(sample.requires_grad for sample in samples):
            raise ValueError(f"default_collate: at {path}, a sample tensor requires grad; datasets should hold plain "
                             "data - return tensor.detach() from __getitem__")
        return Tensor(_stack([sample.array for sample in samples], path, first.xp))
    if isinstance(first, (numpy.ndarray, numpy.generic)):
        return Tensor(_stack([numpy.asarray(sample) for sample in samples], path, numpy))
    if isinstance(first, (bool, numpy.bool_)):
        return Tensor(numpy.array(samples, dtype=dtypes.bool_))
    if isinstance(first, numbers.Integral) and all(isinstance(sample, numbers.Integral) for sample in samples):
        return Tensor(numpy.array(samples, dtype=dtypes.int64))
    if _is_number(first):
        return Tensor(numpy.array(samples, dtype=dtypes.get_default_dtype()))
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, collections.abc.Mapping):
        keys = list(first.keys())
        for position, sample in enumerate(samples):
            if list(sample.keys()) != keys:
                raise ValueError(f"default_collate: at {path}, sample 0 has keys {keys} but sample {position} "
                                 f"has keys {list(sample.keys())}")
        return type(first)({key: _collate([sample[key] for sample in samples], f"{path}[{key!r}]") for key in keys})
    if isinstance(first, (tuple, list)):
        for position, sample in enumerate(samples):
            if len(sample) != len(first):
                raise ValueError(f"default_collate: at {path}, sample 0 has {len(first)} fields but sample "
                                 f"{position} has {len(sample)}")
        fields = [_collate([sample[field] for sample in samples], f"{path}[{field}]") for field in range(len(first))]
        if hasattr(first, "_fields"):  # a namedtuple
            return type(first)(*fields)
        return type(first)(fields) if isinstance(first, tuple) else fields
    raise TypeError(f"default_collate: at {path}, don't know how to batch a {type(first).__name__}; return arrays, "
                    "tensors, numbers, strings, or tuples/lists/dicts of them, or pass your own collate_fn")


def _is_number(value):
    return isinstance(value, numbers.Number) and not isinstance(value, (numpy.ndarray, Tensor))


def _stack(arrays, path, xp):
    shapes = {array.shape for array in arrays}
    if len(shapes) != 1:
        raise ValueError(f"default_collate: at {path}, samples have different shapes {sorted(shapes)}; "
                         "pad or resize them to one shape, or pass your own collate_fn")
    return xp.stack(arrays)


def _arrays_to_tensors(batch):
    """Wrap the arrays of an already-gathered batch (the fast path) as tensors, keeping the structure."""
    if isinstance(batch, numpy.ndarray):
        return Tensor(batch)
    if isinstance(batch, tuple):
        return tuple(_arrays_to_tensors(part) for part in batch)
    if isinstance(batch, list):
        return [_arrays_to_tensors(part) for part in batch]
    if isinstance(batch, dict):
        return {key: _arrays_to_tensors(part) for key, part in batch.items()}
    return batch


class DataLoader:
    """Batches from a dataset, optionally shuffled by a seeded Generator, resumable mid-epoch.

    One epoch yields ⌈N/batch_size⌉ batches (⌊N/batch_size⌋ with ``drop_last``);
    ``len(loader)`` is that number. With ``shuffle`` the sample order is a fresh
    permutation each epoch, drawn from ``generator`` (by default a new Generator
    seeded from the default one, so ``cr.manual_seed`` fixes it).

    Batches are made one of two ways:
    - fast path: the dataset gathers batches (``TensorDataset``, ``DigitsDataset``,
      a ``Subset`` of one) and ``collate_fn`` is None → one fancy index per array,
      the dataset's transform applied to the whole batch, arrays wrapped as tensors;
    - otherwise: ``collate_fn([dataset[i] for i in batch_indices])`` (``default_collate``
      when None). Random transforms then draw from their own generators, which the
      loader's state does not cover.

    The position is the loader's: ``iter(loader)`` continues the current epoch where
    the last iteration stopped (after a ``break``, or after ``load_state_dict``), and
    starts the next epoch once one is complete. Give the loader its own generator:
    mid-epoch resume rewinds it to the epoch's start.

    A ``sampler`` (instead of ``shuffle``) gives the order of the samples, e.g.
    ``chainrule.distributed.DistributedSampler`` for this rank's shard; one with
    ``set_epoch`` is told the loader's epoch when each epoch starts, so a resumed
    loader replays the same order. The position counts batches, so a sharded loader
    resumes on another number of ranks (same ``batch_size × num_replicas``).

    Example:
        >>> import numpy as np, chainrule as cr
        >>> from chainrule.data import TensorDataset
        >>> data = TensorDataset(np.arange(10, dtype=np.float32), np.arange(10))
        >>> loader = DataLoader(data, batch_size=4, shuffle=True, generator=cr.Generator().manual_seed(0))
        >>> len(loader), [x.shape for x, y in loader]
        (3, [(4,), (4,), (2,)])
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, generator=None):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must define __len__ and __getitem__, got {type(dataset).__name__}")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("DataLoader: batch_sampler gives whole batches, so it cannot be combined with batch_size, "
                             "shuffle, sampler or drop_last (as in PyTorch)")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: a sampler decides the order itself, so pass shuffle=False with it (as in "
                             "PyTorch; DistributedSampler(shuffle=True) shuffles)")
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        # chainrule loads in the calling process (NumPy batches need no workers) and has no pinned memory
        # to fill, so num_workers and pin_memory are checked and kept but change nothing; the batches are the same.
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative integer, got {num_workers!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {collate_fn!r}")
        if sampler is not None and not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
            raise TypeError(f"DataLoader: sampler must be an iterable of indices with __len__, got "
                            f"{type(sampler).__name__}")
        if generator is None:
            generator = Generator().manual_seed(int(default_generator().integers(0, _SEED_BOUND, (), numpy.int64)))
        if not isinstance(generator, Generator):
            raise TypeError(f"DataLoader: generator must be a chainrule Generator (cr.Generator().manual_seed(seed)), "
                            f"got {type(generator).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.generator = generator
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = int(num_workers)
        self.pin_memory = bool(pin_memory)
        self._epoch = 0
        self._batches_yielded = 0
        self._epoch_start_state = None  # set while an epoch is under way
        self._iteration = 0  # which iter() call owns the position

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        full, remainder = divmod(len(self.sampler) if self.sampler is not None else len(self.dataset), self.batch_size)
        return full if self.drop_last or remainder == 0 else full + 1

    @property
    def epoch(self):
        """The number of epochs completed."""
        return self._epoch

    @property
    def uses_fast_path(self):
        """True when batches are gathered by the dataset in one step (see the class docstring)."""
        return self.collate_fn is None and bool(getattr(self.dataset, "gathers_batches", False))

    def __iter__(self):
        self._iteration += 1
        return self._iterate(self._iteration)

    def _iterate(self, iteration):
        self._check_owner(iteration)  # before touching the generator: a stale iterator must not rewind it
        if self._epoch_start_state is None:
            self._epoch_start_state = self.generator.get_state()
        else:  # continue an epoch under way: replay its draws from the saved start state
            self.generator.set_state(self._epoch_start_state)
        batches, augmentation_seed = self._draw_epoch_plan()
        batch_count = len(batches)
        if batch_count == 0:
            self._finish_epoch()
        for batch_index in range(self._batches_yielded, batch_count):
            self._check_owner(iteration)
            indices = batches[batch_index]
            batch = self._fetch(indices, augmentation_seed, batch_index)
            if batch_index + 1 == batch_count:
                self._finish_epoch()
            else:
                self._batches_yielded = batch_index + 1
            yield batch

    def _check_owner(self, iteration):
        if iteration != self._iteration:
            raise RuntimeError("DataLoader: this iterator was superseded by a newer iter(loader) (or by "
                               "load_state_dict), which owns the loader's position now; use one iterator at a time")

    def _draw_epoch_plan(self):
        """The epoch's batches (index arrays) and its augmentation seed, drawn from the loader's generator.

        A chainrule sampler without its own generator draws from the loader's, so the loader's
        state covers it; a sampler of your own is iterated as it is.
        """
        if self.batch_sampler is not None:
            batches = (self.batch_sampler.batches(self.generator) if isinstance(self.batch_sampler, BatchSampler)
                       else list(self.batch_sampler))
            batches = [numpy.asarray(batch, dtype=numpy.int64) for batch in batches]
        else:
            if self.sampler is not None:
                if hasattr(self.sampler, "set_epoch"):  # DistributedSampler: the epoch picks its permutation
                    self.sampler.set_epoch(self._epoch)
                order = epoch_order(self.sampler, self.generator)
            else:
                size = len(self.dataset)
                order = numpy.asarray(self.generator.permutation(size) if self.shuffle else numpy.arange(size),
                                      dtype=numpy.int64)
            batches = [order[start:start + self.batch_size] for start in range(0, len(order), self.batch_size)]
            if self.drop_last and batches and len(batches[-1]) < self.batch_size:
                batches.pop()
        augmentation_seed = int(self.generator.integers(0, _SEED_BOUND, (), numpy.int64))
        return batches, augmentation_seed

    def _finish_epoch(self):
        self._epoch += 1
        self._batches_yielded = 0
        self._epoch_start_state = None

    def _fetch(self, indices, augmentation_seed, batch_index):
        if self.uses_fast_path:
            seed = numpy.random.SeedSequence([augmentation_seed, batch_index]).generate_state(1, numpy.uint64)[0]
            batch_generator = Generator().manual_seed(int(seed))
            return _arrays_to_tensors(self.dataset.get_batch(indices, generator=batch_generator))
        samples = [self.dataset[int(index)] for index in indices]
        return (self.collate_fn or default_collate)(samples)

    def state_dict(self):
        """The position as JSON-able data: epoch, batches already yielded this epoch, generator state at the epoch start."""
        return {
            "epoch": self._epoch,
            "batches_yielded": self._batches_yielded,
            "generator_state": copy.deepcopy(self._epoch_start_state or self.generator.get_state()),
            "dataset_length": len(self.dataset),
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "replicas": int(getattr(self.sampler, "num_replicas", 1)),
        }

    def load_state_dict(self, state):
        """Restore a position from ``state_dict()``: the next batch is the one that came next when it was saved."""
        required = ("epoch", "batches_yielded", "generator_state", "dataset_length", "batch_size", "shuffle", "drop_last")
        missing = [key for key in required if key not in state]
        if missing:
            raise KeyError(f"DataLoader.load_state_dict: the state lacks {missing}; pass what state_dict() returned")
        replicas, saved_replicas = int(getattr(self.sampler, "num_replicas", 1)), int(state.get("replicas", 1))
        if replicas != saved_replicas and state["batch_size"] * saved_replicas != self.batch_size * replicas:
            raise ValueError(f"DataLoader.load_state_dict: the saved loader took batches of {state['batch_size']} on "
                             f"each of {saved_replicas} ranks, this one {self.batch_size} on each of {replicas}; the "
                             "whole batch (batch_size × ranks) must stay the same to resume on another number of ranks")
        same_batch = () if replicas != saved_replicas else (("batch_size", self.batch_size),)
        for key, mine in (("dataset_length", len(self.dataset)), *same_batch, ("shuffle", self.shuffle),
                          ("drop_last", self.drop_last)):
            if state[key] != mine:
                raise ValueError(f"DataLoader.load_state_dict: the saved loader had {key}={state[key]!r} but this one has "
                                 f"{key}={mine!r}; build the loader with the same dataset and settings to resume it")
        batches_yielded = int(state["batches_yielded"])
        if not 0 <= batches_yielded < max(len(self), 1):
            raise ValueError(f"DataLoader.load_state_dict: batches_yielded={batches_yielded} is outside 0..{len(self) - 1}")
        self.generator.set_state(copy.deepcopy(state["generator_state"]))
        self._epoch = int(state["epoch"])
        self._batches_yielded = batches_yielded
        self._epoch_start_state = copy.deepcopy(state["generator_state"]) if batches_yielded > 0 else None
        self._iteration += 1  # any iterator made before the restore no longer owns the position
