"""DistributedSampler: each rank's disjoint shard of a dataset, in the same seeded order on every rank.

Every rank draws the same permutation of the n samples (seeded by ``seed + epoch``),
evens it out to a multiple of the world size N, and takes every N-th index starting
at its rank, as PyTorch's ``DistributedSampler`` does:

    order   = permutation(n) (or 0..n−1),  padded with its own first indices to N·⌈n/N⌉
              (or cut to N·⌊n/N⌋ with ``drop_last``)
    shard_r = order[r], order[r + N], order[r + 2N], ...

Striding has a useful property: the k-th batch of b samples on every rank together
are exactly the samples order[k·N·b : (k+1)·N·b], so N ranks with batches of b see the
same global batches, in the same order, as one process with batches of N·b.
"""
import math

import numpy

from chainrule.core.random import Generator


class DistributedSampler:
    r"""Indices of rank ``rank``'s shard of ``dataset``; pass it to ``DataLoader(dataset, sampler=...)``.

    Args:
        dataset: anything with ``len()``.
        num_replicas: the world size N (default: the process group's).
        rank: this rank (default: the process group's).
        shuffle: a fresh permutation each epoch, from ``Generator().manual_seed(seed + epoch)``.
        seed: the same on every rank, so every rank draws the same permutation.
        drop_last: drop the tail so that the shards are even (else pad it by repeating the first indices).

    Each rank gets :math:`\lceil n/N \rceil` indices (:math:`\lfloor n/N \rfloor` with ``drop_last``).
    ``set_epoch(e)`` picks the epoch's permutation; a ``DataLoader`` calls it itself at
    the start of each epoch.

    Example (10 samples over 3 ranks: 2 indices repeat to even out the shards):
        >>> [list(DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=False)) for r in range(3)]
        [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        from chainrule.distributed.process_group import get_rank, get_world_size

        num_replicas = get_world_size() if num_replicas is None else num_replicas
        rank = get_rank() if rank is None else rank
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, (int, numpy.integer)) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, got {num_replicas!r}")
        if isinstance(rank, bool) or not isinstance(rank, (int, numpy.integer)) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in 0..{num_replicas - 1}, got {rank!r}")
        if not isinstance(seed, (int, numpy.integer)) or seed < 0:
            raise ValueError(f"DistributedSampler: seed must be a non-negative integer, got {seed!r}")
        self.dataset_length = len(dataset)
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        if self.drop_last and self.dataset_length % self.num_replicas:
            self.num_samples = math.ceil((self.dataset_length - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(self.dataset_length / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Use epoch ``epoch``'s permutation (the same on every rank)."""
        self.epoch = int(epoch)

    def global_order(self):
        """The whole evened-out order that the ranks share out (padded or cut to N·num_samples)."""
        n = self.dataset_length
        if self.shuffle:
            order = numpy.asarray(Generator().manual_seed(self.seed + self.epoch).permutation(n), dtype=numpy.int64)
        else:
            order = numpy.arange(n, dtype=numpy.int64)
        if self.drop_last:
            return order[:self.total_size]
        padding = self.total_size - n
        if padding > 0 and n > 0:
            order = numpy.concatenate([order, numpy.tile(order, math.ceil(padding / n))[:padding]])
        return order

    def __iter__(self):
        shard = self.global_order()[self.rank:self.total_size:self.num_replicas]
        return iter(shard.tolist())

    def __len__(self):
        return self.num_samples

    def state_dict(self):
        return {"epoch": self.epoch, "seed": self.seed, "num_replicas": self.num_replicas, "rank": self.rank}


class EvaluationSampler:
    """Rank ``rank``'s contiguous slice of a dataset for evaluation: every sample on exactly one rank, none twice.

    Unlike ``DistributedSampler`` it does not pad (padding would count some samples twice
    in the metrics), so the slices may differ by one sample: rank r gets indices
    ⌊r·n/N⌋ … ⌊(r+1)·n/N⌋ − 1. The ranks' evaluation batches are not parts of one
    global batch, so a loader over it keeps ``replicas`` 1 in its state, and a
    checkpoint's validation loader fits any number of ranks.

    Example:
        >>> [list(EvaluationSampler(range(10), 3, r)) for r in range(3)]
        [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
    """

    def __init__(self, dataset, world_size=None, rank=None):
        from chainrule.distributed.process_group import get_rank, get_world_size

        self.world_size = get_world_size() if world_size is None else int(world_size)
        self.rank = get_rank() if rank is None else int(rank)
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"EvaluationSampler: rank must be in 0..{self.world_size - 1}, got {rank!r}")
        n = len(dataset)
        self.start, self.stop = self.rank * n // self.world_size, (self.rank + 1) * n // self.world_size

    def __iter__(self):
        return iter(range(self.start, self.stop))

    def __len__(self):
        return self.stop - self.start
