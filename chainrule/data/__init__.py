"""chainrule.data: real digits offline, IDX files, synthetic sets, datasets, loaders and transforms.

    from chainrule.data import DataLoader, DigitsDataset
    from chainrule.data.transforms import Compose, Normalize, RandomShift
    train = DigitsDataset("train", transform=Compose([RandomShift(2), Normalize(0.1307, 0.3081)]))
    for images, labels in DataLoader(train, batch_size=64, shuffle=True):
        ...   # images: (64, 1, 28, 28) float32 tensor, labels: (64,) int64 tensor

See docs/data.md for the data's origin and license and for how resuming works.
"""
from chainrule.data import transforms
from chainrule.data.dataset import Dataset, Subset, TensorDataset, random_split
from chainrule.data.digits import DigitsDataset, load_digits, stratified_split
from chainrule.data.idx import load_idx_folder, read_idx, write_idx
from chainrule.data.loader import DataLoader, default_collate
from chainrule.data.synthetic import (
    make_blobs, make_circles, make_linear_regression, make_moons, make_polynomial_regression, make_spirals,
)
from chainrule.data.samplers import (
    BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler, WeightedRandomSampler,
)
from chainrule.data.transforms import Compose, Lambda, Normalize, RandomRotation, RandomShift, ToTensor

__all__ = [
    "BatchSampler", "Compose", "DataLoader", "Dataset", "DigitsDataset", "Lambda", "Normalize", "RandomRotation",
    "RandomSampler", "RandomShift", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset",
    "ToTensor", "WeightedRandomSampler", "default_collate", "load_digits", "load_idx_folder", "make_blobs", "make_circles",
    "make_linear_regression", "make_moons", "make_polynomial_regression", "make_spirals", "random_split",
    "read_idx", "stratified_split", "transforms", "write_idx",
]
