"""``chainrule.utils.data``: ``torch.utils.data``'s names for ``chainrule.data`` (the same objects).

    from chainrule.utils.data import DataLoader, TensorDataset, random_split

See ``chainrule/data`` for the datasets, the resumable DataLoader and the samplers.
"""
from chainrule.data import (
    BatchSampler, DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler, Subset, SubsetRandomSampler,
    TensorDataset, WeightedRandomSampler, default_collate, random_split,
)

__all__ = [
    "BatchSampler", "DataLoader", "Dataset", "RandomSampler", "Sampler", "SequentialSampler", "Subset",
    "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "default_collate", "random_split",
]
