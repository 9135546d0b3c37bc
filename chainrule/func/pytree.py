"""Nested containers of tensors ("pytrees"): flatten them to a list and rebuild them.

Function transforms accept tensors, and tuples, lists and dicts of tensors, as
torch.func does. They flatten those into a list of leaves, work on the list, and
rebuild the same structure around the results.
"""
from chainrule.core.tensor import Tensor


def tree_flatten(tree):
    """(leaves, spec): the tensors in ``tree`` in a fixed order, and the structure to rebuild it.

    Leaves come depth first: tuple and list items in order, dict values in insertion order.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.func import tree_flatten
        >>> leaves, spec = tree_flatten({"w": cr.tensor([1.0]), "b": (cr.tensor(2.0), cr.tensor(3.0))})
        >>> [leaf.tolist() for leaf in leaves]
        [[1.0], 2.0, 3.0]
    """
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
    """Rebuild the structure described by ``spec`` around ``leaves``: the inverse of ``tree_flatten``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.func import tree_flatten, tree_unflatten
        >>> leaves, spec = tree_flatten({"w": cr.tensor([1.0]), "b": (cr.tensor(2.0), cr.tensor(3.0))})
        >>> tree_unflatten(spec, [leaf * 10 for leaf in leaves])
        {'w': tensor([10.]), 'b': (tensor(20.), tensor(30.))}
    """
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
