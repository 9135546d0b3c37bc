"""Nested containers of tensors ("pytrees"): flatten them to a list and rebuild them.

Function transforms accept tensors, and tuples, lists and dicts of tensors, as
torch.func does. They flatten those into a list of leaves, work on the list, and
rebuild the same structure around the results.
"""
from chainrule.core.tensor import Tensor


def tree_flatten(tree):
    """(leaves, spec): the tensors in ``tree`` in a fixed order, and the structure to rebuild it."""
    if isinstance(tree, Tensor):
        return [tree], "leaf"
    if isinstance(tree, (tuple, list)):
        leaves, specs = [], []
        for item in tree:
            item_leaves, item_spec = tree_flatten(item)
            leaves += item_leaves
            specs.append((len(item_leaves), item_spec))
        return leaves, (type(tree), specs)
    if isinstance(tree, dict):
        keys = list(tree)
        leaves, specs = [], []
        for key in keys:
            item_leaves, item_spec = tree_flatten(tree[key])
            leaves += item_leaves
            specs.append((len(item_leaves), item_spec))
        return leaves, (dict, keys, specs)
    raise TypeError(
        f"func: expected a tensor or a tuple/list/dict of tensors, got {type(tree).__name__}; "
        "wrap numbers with chainrule.tensor(...)"
    )


def tree_unflatten(spec, leaves):
    """Rebuild the structure described by ``spec`` around ``leaves``."""
    leaves = list(leaves)
    if spec == "leaf":
        return leaves[0]
    if spec[0] is dict:
        _, keys, specs = spec
        out, start = {}, 0
        for key, (count, item_spec) in zip(keys, specs):
            out[key] = tree_unflatten(item_spec, leaves[start:start + count])
            start += count
        return out
    container, specs = spec
    items, start = [], 0
    for count, item_spec in specs:
        items.append(tree_unflatten(item_spec, leaves[start:start + count]))
        start += count
    return container(items)
