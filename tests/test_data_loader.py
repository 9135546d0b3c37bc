"""Dataset, TensorDataset, Subset, random_split, default_collate and the resumable DataLoader."""
import collections
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.data import (
    DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split,
)
from chainrule.data.transforms import Compose, Normalize, RandomRotation, RandomShift


def toy_arrays(count=23):
    images = np.arange(count * 2 * 4 * 4, dtype=np.float32).reshape(count, 2, 4, 4) / 100
    labels = np.arange(count, dtype=np.int64) % 5
    return images, labels


class PerSample(Dataset):
    """A plain Dataset (no batch gathering) over the same arrays: drives the per-sample path."""

    def __init__(self, *arrays):
        self.arrays = arrays

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(array[index] for array in self.arrays)


def as_numpy(batches):
    return [tuple(part.numpy().copy() for part in batch) for batch in batches]


def assert_same_batches(first, second):
    assert len(first) == len(second)
    for one, other in zip(first, second):
        for a, b in zip(one, other):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_tensor_dataset_indexing_and_errors():
    images, labels = toy_arrays(5)
    data = TensorDataset(cr.from_numpy(images), labels)
    assert len(data) == 5
    image, label = data[-1]
    np.testing.assert_array_equal(image, images[4])
    assert label == labels[4]
    with pytest.raises(IndexError, match="TensorDataset: index 5 is out of range for 5 samples"):
        data[5]
    with pytest.raises(ValueError, match="same first dimension.*\\(5, 2, 4, 4\\), \\(4,\\)"):
        TensorDataset(images, labels[:4])
    with pytest.raises(ValueError, match="at least one array"):
        TensorDataset()
    with pytest.raises(TypeError, match="expected NumPy arrays or chainrule tensors, got list"):
        TensorDataset([1, 2, 3])
    with pytest.raises(ValueError, match="requires grad"):
        TensorDataset(cr.zeros(3, requires_grad=True))


def test_plain_dataset_must_define_len_and_getitem():
    with pytest.raises(TypeError, match="must define __len__"):
        len(Dataset())
    with pytest.raises(TypeError, match="must define __getitem__"):
        Dataset()[0]


def test_subset_and_its_batch_path():
    images, labels = toy_arrays(10)
    subset = Subset(TensorDataset(images, labels), [9, 0, 4])
    assert len(subset) == 3 and subset.gathers_batches
    np.testing.assert_array_equal(subset[0][0], images[9])
    batch = subset.get_batch([2, 0])
    np.testing.assert_array_equal(batch[1], labels[[4, 9]])
    assert not Subset(PerSample(images), [1]).gathers_batches
    with pytest.raises(TypeError, match="Subset.get_batch: the underlying PerSample can't gather batches"):
        Subset(PerSample(images), [1]).get_batch([0])
    with pytest.raises(IndexError, match="Subset: indices must lie in 0..9"):
        Subset(TensorDataset(images), [10])
    with pytest.raises(ValueError, match="1-d list of integers"):
        Subset(TensorDataset(images), [0.5])


def test_tensor_dataset_transform_plain_function_and_errors():
    images, labels = toy_arrays(6)
    data = TensorDataset(images, labels, transform=lambda image: image[:, ::-1])  # a plain function: per sample
    np.testing.assert_array_equal(data[2][0], images[2][:, ::-1])
    np.testing.assert_array_equal(data.get_batch([3, 1])[0], images[[3, 1]][:, :, ::-1])
    with pytest.raises(TypeError, match="TensorDataset: transform must be callable"):
        TensorDataset(images, transform="flip")


def test_random_split_lengths_fractions_seeded_and_disjoint():
    data = TensorDataset(np.arange(103))
    parts = random_split(data, [0.7, 0.2, 0.1], generator=cr.Generator().manual_seed(0))
    assert [len(part) for part in parts] == [73, 20, 10]  # floors 72, 20, 10; the leftover 1 goes to the first
    every = np.concatenate([part.indices for part in parts])
    assert sorted(every.tolist()) == list(range(103))
    again = random_split(data, [73, 20, 10], generator=cr.Generator().manual_seed(0))
    for part, other in zip(parts, again):
        np.testing.assert_array_equal(part.indices, other.indices)
    different = random_split(data, [73, 20, 10], generator=cr.Generator().manual_seed(1))
    assert not np.array_equal(parts[0].indices, different[0].indices)
    with pytest.raises(ValueError, match="sum to the dataset's 103 samples"):
        random_split(data, [50, 50])
    with pytest.raises(ValueError, match="fractions .* sum to 1"):
        random_split(data, [0.5, 0.6])


def test_default_collate_nested_structures():
    Pair = collections.namedtuple("Pair", "left right")
    samples = [
        {"image": np.full((2, 3), i, np.float32), "meta": (i, float(i) / 2, True, "name%d" % i),
         "pair": Pair(cr.tensor([i, i + 1]), np.int64(i)), "list": [np.float64(i), [i]]}
        for i in range(4)
    ]
    batch = default_collate(samples)
    assert isinstance(batch["image"], cr.Tensor) and batch["image"].shape == (4, 2, 3)
    assert batch["image"].dtype == np.float32
    ints, floats, flags, names = batch["meta"]
    assert isinstance(batch["meta"], tuple)
    assert ints.dtype == np.int64 and ints.tolist() == [0, 1, 2, 3]
    assert floats.dtype == np.float32 and floats.tolist() == [0.0, 0.5, 1.0, 1.5]
    assert flags.dtype == np.bool_ and flags.tolist() == [True] * 4
    assert names == ["name0", "name1", "name2", "name3"]
    assert isinstance(batch["pair"], Pair)
    assert batch["pair"].left.shape == (4, 2) and batch["pair"].left.dtype == np.int64
    assert batch["pair"].right.tolist() == [0, 1, 2, 3]
    assert isinstance(batch["list"], list) and batch["list"][0].dtype == np.float64
    assert batch["list"][1][0].tolist() == [0, 1, 2, 3]


def test_default_collate_errors_name_the_place():
    with pytest.raises(ValueError, match="at batch\\[0\\], samples have different shapes"):
        default_collate([(np.zeros(2),), (np.zeros(3),)])
    with pytest.raises(ValueError, match="sample 0 has keys \\['a'\\] but sample 1 has keys \\['b'\\]"):
        default_collate([{"a": 1}, {"b": 1}])
    with pytest.raises(TypeError, match="at batch\\['a'\\], don't know how to batch a object"):
        default_collate([{"a": object()}, {"a": object()}])
    with pytest.raises(TypeError, match="sample 0 is a tuple but sample 1 is a list"):
        default_collate([(1,), [1]])
    with pytest.raises(ValueError, match="empty list of samples"):
        default_collate([])
    with pytest.raises(ValueError, match="requires grad"):
        default_collate([cr.zeros(2, requires_grad=True)] * 2)


def test_len_drop_last_and_batch_shapes():
    images, labels = toy_arrays(23)
    data = TensorDataset(images, labels)
    assert len(DataLoader(data, batch_size=5)) == 5
    assert len(DataLoader(data, batch_size=5, drop_last=True)) == 4
    assert len(DataLoader(data, batch_size=23)) == 1
    shapes = [x.shape for x, _ in DataLoader(data, batch_size=5)]
    assert shapes == [(5, 2, 4, 4)] * 4 + [(3, 2, 4, 4)]
    assert [y.shape for _, y in DataLoader(data, batch_size=5, drop_last=True)] == [(5,)] * 4
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        DataLoader(data, batch_size=0)
    with pytest.raises(TypeError, match="generator must be a chainrule Generator"):
        DataLoader(data, generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="dataset must define __len__ and __getitem__"):
        DataLoader(object())


def test_unshuffled_order_and_shuffled_epochs_cover_every_sample_once():
    images, labels = toy_arrays(23)
    data = TensorDataset(images, np.arange(23))
    ordered = np.concatenate([y.numpy() for _, y in DataLoader(data, batch_size=4)])
    assert ordered.tolist() == list(range(23))
    loader = DataLoader(data, batch_size=4, shuffle=True, generator=cr.Generator().manual_seed(0))
    first = np.concatenate([y.numpy() for _, y in loader])
    second = np.concatenate([y.numpy() for _, y in loader])
    assert sorted(first.tolist()) == sorted(second.tolist()) == list(range(23))
    assert first.tolist() != second.tolist() and first.tolist() != list(range(23))
    assert loader.epoch == 2


def test_same_seed_gives_bitwise_same_batches_and_augmentations():
    images, labels = toy_arrays(40)
    augment = Compose([RandomShift(1), RandomRotation(20), Normalize(0.1, 0.3)])

    def run(seed):
        loader = DataLoader(TensorDataset(images, labels, transform=augment), batch_size=8, shuffle=True,
                            generator=cr.Generator().manual_seed(seed))
        return as_numpy(loader) + as_numpy(loader)

    assert_same_batches(run(3), run(3))
    assert not np.array_equal(run(3)[0][0], run(4)[0][0])


def test_default_generator_seeds_a_fresh_loader_generator():
    data = TensorDataset(np.arange(30))
    cr.manual_seed(11)
    first = as_numpy(DataLoader(data, batch_size=7, shuffle=True))
    cr.manual_seed(11)
    second = as_numpy(DataLoader(data, batch_size=7, shuffle=True))
    assert_same_batches(first, second)


def test_fast_path_equals_per_sample_path():
    images, labels = toy_arrays(23)
    fast = DataLoader(TensorDataset(images, labels), batch_size=6, shuffle=True, generator=cr.Generator().manual_seed(2))
    slow = DataLoader(PerSample(images, labels), batch_size=6, shuffle=True, generator=cr.Generator().manual_seed(2))
    assert fast.uses_fast_path and not slow.uses_fast_path
    assert_same_batches(as_numpy(fast), as_numpy(slow))
    with_collate = DataLoader(TensorDataset(images, labels), batch_size=6, collate_fn=default_collate)
    assert not with_collate.uses_fast_path
    assert_same_batches(as_numpy(with_collate), as_numpy(DataLoader(TensorDataset(images, labels), batch_size=6)))


def test_custom_collate_fn_receives_the_samples():
    data = PerSample(np.arange(10))
    loader = DataLoader(data, batch_size=4, collate_fn=lambda samples: [int(s[0]) for s in samples])
    assert list(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def make_resumable_loader(seed=0, transform=None, drop_last=False):
    images, labels = toy_arrays(23)
    data = TensorDataset(images, labels, transform=transform)
    return DataLoader(data, batch_size=5, shuffle=True, drop_last=drop_last, generator=cr.Generator().manual_seed(seed))


@pytest.mark.parametrize("stop_after", [0, 1, 3, 4, 5, 7, 12])
@pytest.mark.parametrize("augmented", [False, True])
def test_resume_mid_epoch_and_across_epoch_boundaries_is_bitwise(stop_after, augmented):
    transform = Compose([RandomShift(1), RandomRotation(15)]) if augmented else None
    total_batches = 3 * 5  # three epochs of five batches
    reference = make_resumable_loader(transform=transform)
    uninterrupted = as_numpy(batch for _ in range(3) for batch in reference)
    assert len(uninterrupted) == total_batches

    interrupted = make_resumable_loader(transform=transform)
    seen, iterator = [], iter(interrupted)
    while len(seen) < stop_after:
        try:
            seen.append(next(iterator))
        except StopIteration:
            iterator = iter(interrupted)
    state = json.loads(json.dumps(interrupted.state_dict()))  # what a checkpoint file would hold

    resumed = make_resumable_loader(seed=123, transform=transform)  # a different seed: the state must win
    resumed.load_state_dict(state)
    rest = []
    while len(seen) + len(rest) < total_batches:
        rest.extend(resumed)
    assert_same_batches(as_numpy(seen) + as_numpy(rest), uninterrupted)
    assert resumed.epoch == 3


def test_state_dict_counts_epochs_and_batches():
    loader = make_resumable_loader()
    iterator = iter(loader)
    next(iterator), next(iterator)
    state = loader.state_dict()
    assert (state["epoch"], state["batches_yielded"]) == (0, 2)
    for _ in range(3):
        next(iterator)
    state = loader.state_dict()  # the last batch of the epoch was handed out: the next epoch is due
    assert (state["epoch"], state["batches_yielded"]) == (1, 0)


def test_break_then_iterate_again_continues_the_epoch():
    loader = make_resumable_loader()
    reference = as_numpy(make_resumable_loader())
    taken = []
    for batch in loader:
        taken.append(batch)
        if len(taken) == 2:
            break
    taken.extend(loader)
    assert_same_batches(as_numpy(taken), reference)


def test_an_older_iterator_is_refused_after_a_newer_one_starts():
    loader = make_resumable_loader()
    old = iter(loader)
    next(old)
    new = iter(loader)
    next(new)
    with pytest.raises(RuntimeError, match="superseded by a newer iter\\(loader\\)"):
        next(old)


def test_load_state_dict_refuses_a_different_loader():
    state = make_resumable_loader().state_dict()
    with pytest.raises(ValueError, match="batch_size=5 but this one has batch_size=4"):
        images, labels = toy_arrays(23)
        DataLoader(TensorDataset(images, labels), batch_size=4, shuffle=True).load_state_dict(state)
    with pytest.raises(ValueError, match="dataset_length=23 but this one has dataset_length=22"):
        DataLoader(TensorDataset(np.arange(22)), batch_size=5, shuffle=True).load_state_dict(state)
    with pytest.raises(KeyError, match="lacks \\['epoch'\\]"):
        make_resumable_loader().load_state_dict({k: v for k, v in state.items() if k != "epoch"})
    with pytest.raises(ValueError, match="batches_yielded=9 is outside 0..4"):
        make_resumable_loader().load_state_dict(dict(state, batches_yielded=9))


def test_empty_and_short_datasets():
    assert list(DataLoader(TensorDataset(np.zeros((0, 3))), batch_size=4)) == []
    loader = DataLoader(TensorDataset(np.zeros((3, 2))), batch_size=4, drop_last=True)
    assert len(loader) == 0 and list(loader) == [] and loader.epoch == 1


@settings(max_examples=40, deadline=None)
@given(size=st.integers(0, 40), batch_size=st.integers(1, 12), shuffle=st.booleans(), drop_last=st.booleans(),
       seed=st.integers(0, 2**32), stop_after=st.integers(0, 20))
def test_any_loader_covers_its_samples_and_resumes_bitwise(size, batch_size, shuffle, drop_last, seed, stop_after):
    data = TensorDataset(np.arange(size, dtype=np.int64))

    def build():
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                          generator=cr.Generator().manual_seed(seed))

    loader = build()
    epoch = [batch[0].numpy().copy() for batch in loader]
    assert len(epoch) == len(loader)
    served = np.concatenate(epoch) if epoch else np.zeros(0, np.int64)
    expected_count = size - size % batch_size if drop_last else size
    assert served.size == expected_count and np.unique(served).size == expected_count
    full_batches = epoch if drop_last else epoch[:-1]
    assert all(batch.size == batch_size for batch in full_batches)

    if len(loader) == 0:
        return
    fresh = build()  # three uninterrupted epochs
    reference = [batch[0].numpy().copy() for _ in range(3) for batch in fresh]
    stopped = build()
    taken = []
    while len(taken) < min(stop_after, len(reference)):
        for batch in stopped:
            taken.append(batch[0].numpy().copy())
            if len(taken) == min(stop_after, len(reference)):
                break
    resumed = build()
    resumed.load_state_dict(stopped.state_dict())
    while len(taken) < len(reference):
        taken.extend(batch[0].numpy().copy() for batch in resumed)
    assert len(taken) == len(reference)
    for got, want in zip(taken, reference):
        np.testing.assert_array_equal(got, want)


def test_a_stale_iterator_never_rewinds_the_loader():
    reference_loader = make_resumable_loader()
    reference = as_numpy(reference_loader) + as_numpy(reference_loader)  # two uninterrupted epochs
    loader = make_resumable_loader()
    stale = iter(loader)  # made first, never started
    current = iter(loader)
    taken = [next(current)]  # draws epoch 0's order
    with pytest.raises(RuntimeError, match="superseded"):
        next(stale)  # must not reset the generator to the epoch's start
    taken.extend(current)
    taken.extend(loader)
    assert_same_batches(as_numpy(taken), reference)
