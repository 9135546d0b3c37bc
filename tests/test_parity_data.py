"""torch.utils.data's names on chainrule.data: the alias, samplers, DataLoader's PyTorch signature, ToTensor."""
import numpy
import pytest
import torch
import torch.utils.data as torch_data
from PIL import Image

import chainrule
import chainrule as cr
from chainrule.data import transforms
from chainrule.data import (
    BatchSampler, DataLoader, DigitsDataset, RandomSampler, SequentialSampler, SubsetRandomSampler, TensorDataset,
    WeightedRandomSampler,
)


def test_utils_data_is_chainrule_data_under_torchs_name():
    assert chainrule.utils.data.DataLoader is chainrule.data.DataLoader
    for name in ["Dataset", "DataLoader", "TensorDataset", "Subset", "random_split", "Sampler", "SequentialSampler",
                 "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler", "default_collate"]:
        assert hasattr(torch_data, name) and getattr(chainrule.utils.data, name) is getattr(chainrule.data, name)


def test_samplers_give_what_torchs_give_where_no_randomness_is_involved():
    data = list(range(7))
    assert list(SequentialSampler(data)) == list(torch_data.SequentialSampler(data))
    for drop_last in (False, True):
        ours = list(BatchSampler(SequentialSampler(data), 3, drop_last))
        theirs = list(torch_data.BatchSampler(torch_data.SequentialSampler(data), 3, drop_last))
        assert ours == theirs and len(BatchSampler(SequentialSampler(data), 3, drop_last)) == len(theirs)


def test_random_samplers_draw_what_they_promise():
    generator = cr.Generator().manual_seed(0)
    assert sorted(RandomSampler(range(6), generator=generator)) == list(range(6))
    long = list(RandomSampler(range(4), num_samples=10, generator=generator))
    assert len(long) == 10 and sorted(long[:4]) == sorted(long[4:8]) == [0, 1, 2, 3]
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=generator))
    assert len(drawn) == 50 and set(drawn) <= {0, 1, 2}
    assert sorted(SubsetRandomSampler([5, 1, 9], generator=generator)) == [1, 5, 9]
    weighted = numpy.array(list(WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=generator)))
    assert 0 not in weighted and abs((weighted == 2).mean() - 0.75) < 0.03
    assert sorted(WeightedRandomSampler([1.0, 1.0, 0.0, 1.0], 3, replacement=False, generator=generator)) == [0, 1, 3]


@pytest.mark.parametrize("attempt, words", [
    (lambda: WeightedRandomSampler([0.0, 0.0], 3), "not all zero"),
    (lambda: WeightedRandomSampler([1.0, 0.0], 2, replacement=False), "only 1 weights are positive"),
    (lambda: RandomSampler(range(3), num_samples=-1), "non-negative"),
    (lambda: BatchSampler(SequentialSampler(range(3)), 0, False), "positive integer"),
    (lambda: RandomSampler(range(3), generator=numpy.random.default_rng(0)), "chainrule Generator"),
])
def test_bad_sampler_arguments_are_refused(attempt, words):
    with pytest.raises((ValueError, TypeError), match=words):
        attempt()


def test_the_loader_takes_torchs_arguments():
    data = TensorDataset(numpy.arange(10.0), numpy.arange(10))
    loader = DataLoader(data, 4, False, None, None, 2, None, True, True)      # torch's positional order
    assert loader.num_workers == 2 and loader.pin_memory and len(loader) == 2
    assert [y.tolist() for _, y in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    by_sampler = DataLoader(data, batch_size=3, sampler=SubsetRandomSampler([1, 3, 5, 7]))
    assert len(by_sampler) == 2 and sorted(sum((y.tolist() for _, y in by_sampler), [])) == [1, 3, 5, 7]
    by_batches = DataLoader(data, batch_sampler=[[9, 0], [4]])
    assert [y.tolist() for _, y in by_batches] == [[9, 0], [4]] and len(DataLoader(data, batch_sampler=[[1]])) == 1
    plain_iterable = DataLoader(data, batch_size=2, sampler=[8, 6, 4])
    assert [y.tolist() for _, y in plain_iterable] == [[8, 6], [4]]


@pytest.mark.parametrize("arguments", [dict(sampler=[0], shuffle=True), dict(batch_sampler=[[0]], batch_size=2),
                                       dict(batch_sampler=[[0]], drop_last=True), dict(num_workers=-1)])
def test_conflicting_loader_arguments_are_refused_as_torch_refuses_them(arguments):
    data = TensorDataset(numpy.arange(4.0))
    with pytest.raises(ValueError):
        torch_data.DataLoader(torch_data.TensorDataset(torch.arange(4.0)), **arguments)
    with pytest.raises(ValueError, match="DataLoader"):
        DataLoader(data, **arguments)


def test_a_loader_with_a_random_sampler_resumes_bitwise():
    data = TensorDataset(numpy.arange(20.0), numpy.arange(20))

    def loader():
        return DataLoader(data, batch_size=3, sampler=RandomSampler(data), generator=cr.Generator().manual_seed(4))

    uninterrupted = loader()
    straight = [y.tolist() for _, y in uninterrupted] + [y.tolist() for _, y in uninterrupted]
    assert straight[:7] != straight[7:]                      # the sampler draws a new order each epoch
    first = loader()
    seen = []
    for index, (_, y) in enumerate(first):
        seen.append(y.tolist())
        if index == 2:
            break
    resumed = loader()
    resumed.load_state_dict(first.state_dict())
    seen += [y.tolist() for _, y in resumed] + [y.tolist() for _, y in resumed]
    assert seen == straight


def test_to_tensor_turns_file_pixels_into_chainrule_images():
    pixels = numpy.random.default_rng(0).integers(0, 256, (5, 4, 3), dtype=numpy.uint8)
    out = transforms.ToTensor()(pixels)
    assert isinstance(out, cr.Tensor) and out.shape == (3, 5, 4) and out.dtype == cr.float32
    numpy.testing.assert_allclose(out.numpy(), pixels.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    gray = transforms.ToTensor()(Image.fromarray(pixels[:, :, 0]))
    numpy.testing.assert_allclose(gray.numpy(), pixels[None, :, :, 0] / 255.0, rtol=1e-6)
    assert transforms.ToTensor().batch(numpy.zeros((2, 5, 4, 3), numpy.uint8)).shape == (2, 3, 5, 4)
    image = numpy.random.default_rng(1).random((1, 6, 6)).astype(numpy.float32)
    assert numpy.array_equal(transforms.ToTensor()(image).numpy(), image)             # chainrule's layout stays
    with pytest.raises(ValueError, match="ToTensor: expected images"):
        transforms.ToTensor()(numpy.zeros(3))


def test_torchvision_style_pipeline_on_the_bundled_digits():
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    dataset = DigitsDataset("val", transform=transform)
    raw = DigitsDataset("val")
    expected = (raw[7][0] - numpy.float32(0.1307)) / numpy.float32(0.3081)
    numpy.testing.assert_allclose(numpy.asarray(dataset[7][0]), expected, rtol=1e-6)
    images, labels = next(iter(DataLoader(dataset, batch_size=8)))
    assert images.shape == (8, 1, 28, 28)
    numpy.testing.assert_allclose(images.numpy()[7], expected, rtol=1e-6)
    assert isinstance(transforms.Normalize(0.5, 0.5)(cr.ones(1, 2, 2)), cr.Tensor)


def test_the_bundled_splits_are_sorted_unless_a_shuffled_view_is_asked_for():
    labels = DigitsDataset("val").arrays[1]
    assert numpy.all(numpy.diff(labels) >= 0)
    shuffled = DigitsDataset("val", shuffle_seed=0)
    again = DigitsDataset("val", shuffle_seed=0)
    assert numpy.array_equal(shuffled.arrays[1], again.arrays[1])
    assert numpy.array_equal(numpy.sort(shuffled.arrays[1]), labels)
    assert len(set(shuffled.arrays[1][:50].tolist())) == 10       # every digit in the first stretch
    image_of = {row.tobytes(): label for row, label in zip(*DigitsDataset("val").arrays)}
    assert all(image_of[row.tobytes()] == label for row, label in zip(*shuffled.arrays))   # pairs kept together
