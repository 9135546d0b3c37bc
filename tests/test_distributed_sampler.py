"""DistributedSampler, EvaluationSampler and the DataLoader's sampler: shards, order, resuming on other rank counts."""
import numpy
import pytest

import chainrule as cr
import chainrule.distributed as dist
from chainrule.data import DataLoader, TensorDataset


@pytest.mark.parametrize("length, replicas, drop_last", [(10, 3, False), (10, 3, True), (7, 4, False), (8, 4, True),
                                                          (2, 4, False)])
def test_sampler_without_shuffle_matches_torch(length, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    for rank in range(replicas):
        mine = dist.DistributedSampler(range(length), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch_data.DistributedSampler(range(length), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(mine) == list(theirs) and len(mine) == len(theirs)


def test_sampler_shards_are_disjoint_the_same_shuffle_everywhere_and_new_each_epoch():
    shards = [dist.DistributedSampler(range(12), 3, rank, seed=5) for rank in range(3)]
    first = [list(shard) for shard in shards]
    assert sorted(sum(first, [])) == list(range(12))
    again = [list(dist.DistributedSampler(range(12), 3, rank, seed=5)) for rank in range(3)]
    assert again == first
    for shard in shards:
        shard.set_epoch(1)
    assert [list(shard) for shard in shards] != first
    with pytest.raises(ValueError, match="rank must be in 0..2"):
        dist.DistributedSampler(range(4), 3, 3)


def test_the_k_th_batches_of_all_ranks_are_one_process_s_k_th_batch():
    data = TensorDataset(numpy.arange(40, dtype=numpy.float32), numpy.arange(40))
    order = dist.DistributedSampler(data, 1, 0, seed=3).global_order()
    loaders = [DataLoader(data, batch_size=2, sampler=dist.DistributedSampler(data, 4, rank, seed=3))
               for rank in range(4)]
    per_rank = [[batch[1].tolist() for batch in loader] for loader in loaders]
    for k in range(len(loaders[0])):
        together = sorted(sum((per_rank[rank][k] for rank in range(4)), []))
        assert together == sorted(order[8 * k:8 * (k + 1)].tolist())


def test_a_sharded_loader_resumes_mid_epoch_on_another_number_of_ranks():
    data = TensorDataset(numpy.arange(48, dtype=numpy.float32), numpy.arange(48))

    def loader(replicas, rank):
        return DataLoader(data, batch_size=12 // replicas, sampler=dist.DistributedSampler(data, replicas, rank),
                          generator=cr.Generator().manual_seed(0))

    two = [loader(2, rank) for rank in range(2)]
    iterators = [iter(each) for each in two]
    for iterator in iterators:
        next(iterator)
    state = two[0].state_dict()
    three = [loader(3, rank) for rank in range(3)]
    for each in three:
        each.load_state_dict(state)
    rest_on_three = sorted(sum(([int(y) for _, ys in each for y in ys.tolist()] for each in three), []))
    rest_on_two = sorted(sum(([int(y) for _, ys in iterator for y in ys.tolist()] for iterator in iterators), []))
    assert rest_on_three == rest_on_two and len(rest_on_two) == 36
    with pytest.raises(ValueError, match="whole batch"):
        DataLoader(data, batch_size=5, sampler=dist.DistributedSampler(data, 3, 0)).load_state_dict(state)
    with pytest.raises(ValueError, match="pass shuffle=False"):
        DataLoader(data, shuffle=True, sampler=dist.DistributedSampler(data, 3, 0))


def test_evaluation_sampler_covers_every_sample_once():
    slices = [list(dist.EvaluationSampler(range(11), 4, rank)) for rank in range(4)]
    assert sum(slices, []) == list(range(11))
