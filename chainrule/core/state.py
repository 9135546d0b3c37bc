"""State as plain data: nested numbers, strings, lists, tuples and dicts of arrays, as JSON plus named arrays.

``encode_state`` moves each array of a nested value into a dict of arrays under a
path-like key and puts ``{"__tensor__": key}`` in its place; tuples and dicts with
non-string keys are marked so that ``decode_state`` gives back exactly what was
encoded (floats round-trip bitwise through JSON, which writes their shortest repr).
Checkpoints (train/checkpoint.py) and ``chainrule.save`` (io/serialization.py) both
store state this way, as safetensors plus JSON: never pickle.
"""
import numpy

from chainrule.core.tensor import Tensor

__all__ = ["decode_state", "encode_state", "referenced_tensors"]


def encode_state(value, key, tensors):
    """``value`` as JSON-able data; every array inside is stored in ``tensors`` under ``key/...``.

    Example:
        >>> import numpy as np
        >>> tensors = {}
        >>> encode_state({"step": 3, "buffer": np.zeros(2), "betas": (0.9, 0.99)}, "opt", tensors)
        {'step': 3, 'buffer': {'__tensor__': 'opt/buffer'}, 'betas': {'__tuple__': [0.9, 0.99]}}
        >>> list(tensors)
        ['opt/buffer']
    """
    if isinstance(value, Tensor):
        value = value.detach().numpy()
    if isinstance(value, numpy.ndarray):
        if key in tensors:
            raise ValueError(f"encode_state: two arrays would be stored under the same key {key!r}")
        tensors[key] = numpy.ascontiguousarray(value).reshape(value.shape)  # ascontiguousarray makes 0-d 1-d
        return {"__tensor__": key}
    if isinstance(value, numpy.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [encode_state(item, f"{key}/{index}", tensors) for index, item in enumerate(value)]}
    if isinstance(value, list):
        return [encode_state(item, f"{key}/{index}", tensors) for index, item in enumerate(value)]
    if isinstance(value, dict):
        if all(isinstance(name, str) and not name.startswith("__") for name in value):
            return {name: encode_state(item, f"{key}/{name}", tensors) for name, item in value.items()}
        return {"__items__": [[encode_state(name, f"{key}/key{index}", tensors),
                               encode_state(item, f"{key}/{name}", tensors)]
                              for index, (name, item) in enumerate(value.items())]}
    raise TypeError(f"encode_state: cannot save a {type(value).__name__} found at {key!r}; checkpoints hold arrays, "
                    "numbers, strings, lists, tuples and dicts only (never pickled objects)")


def decode_state(value, tensors):
    """The inverse of ``encode_state``: arrays come back as chainrule tensors (copies).

    ``decode_state(encode_state(v, key, tensors), tensors)`` gives back v, with its arrays as tensors.

    Example:
        >>> import numpy as np
        >>> from chainrule.core.state import decode_state, encode_state
        >>> tensors = {}
        >>> document = encode_state({"step": 3, "buffer": np.zeros(2), "betas": (0.9, 0.99)}, "opt", tensors)
        >>> decode_state(document, tensors)
        {'step': 3, 'buffer': tensor([0., 0.], dtype=float64), 'betas': (0.9, 0.99)}
    """
    if isinstance(value, list):
        return [decode_state(item, tensors) for item in value]
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            key = value["__tensor__"]
            if key not in tensors:
                raise ValueError(f"decode_state: the metadata refers to a tensor {key!r} that the tensors lack")
            return Tensor(numpy.array(tensors[key], copy=True))
        if set(value) == {"__tuple__"}:
            return tuple(decode_state(item, tensors) for item in value["__tuple__"])
        if set(value) == {"__items__"}:
            return {_hashable(decode_state(name, tensors)): decode_state(item, tensors)
                    for name, item in value["__items__"]}
        return {name: decode_state(item, tensors) for name, item in value.items()}
    return value


def referenced_tensors(document):
    """The tensor keys that ``{"__tensor__": key}`` markers in ``document`` refer to (walked without recursion).

    Example:
        >>> sorted(referenced_tensors({"a": {"__tensor__": "opt/0"}, "b": [{"__tensor__": "opt/1"}, 3]}))
        ['opt/0', 'opt/1']
    """
    found, waiting = set(), [document]
    while waiting:
        value = waiting.pop()
        if isinstance(value, dict):
            if set(value) == {"__tensor__"} and isinstance(value["__tensor__"], str):
                found.add(value["__tensor__"])
            else:
                waiting.extend(value.values())
        elif isinstance(value, list):
            waiting.extend(value)
    return found


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value
