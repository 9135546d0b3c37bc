"""``chainrule.save`` / ``chainrule.load``: PyTorch's names, one safetensors file, never a pickle.

``torch.save`` pickles; unpickling a file can run any code its author put in it. chainrule
writes the same kinds of objects (a state dict, a tensor, an optimizer's state, nested dicts,
lists and tuples of them, with numbers, strings and None as leaves) as one safetensors file:

    the tensors     the safetensors body, each under a path-like name ("obj/state/0/exp_avg")
    the structure   JSON in the header's metadata, each tensor replaced by {"__tensor__": name}

The structure is encoded by ``core.state.encode_state`` (the same encoding checkpoints
use: tuples and non-string dict keys are marked so they come back as they went). Saving to a
path is atomic (temp file, fsync, rename); loading reads nothing it has not checked: a
PyTorch pickle or zip is refused with the command that converts it, the safetensors framing
and every tensor's offsets are checked, the JSON may not repeat a key or nest too deep, and
every tensor the structure names must be in the file and every tensor in the file named.
"""
import collections
import json
import os
import pathlib

from chainrule.core.state import decode_state, encode_state
from chainrule.core.tensor import Tensor
from chainrule.io.weights import WeightsFileError, check_weights_file, refuse_pickle

__all__ = ["load", "save"]

FORMAT = "chainrule.save"
VERSION = "1"
_ROOT = "obj"
_MAX_DEPTH = 64


def save(obj, f):
    """Write ``obj`` (tensors, state dicts, nested dicts/lists/tuples with numbers and strings) to ``f``.

    ``f`` is a path (written atomically: a crash mid-save leaves the old file whole) or a
    binary file object. Tensors are written as safetensors (on the CPU, with their dtype
    and shape); everything else as JSON in the header. PyTorch tensors inside ``obj`` are
    written too, so ``chainrule.save(torch.load(p, weights_only=True), q)`` converts a file.

    Example:
        >>> import os, tempfile, chainrule as cr
        >>> path = os.path.join(tempfile.mkdtemp(), "thing.pt")
        >>> cr.save({"w": cr.ones(2), "epoch": 3, "sizes": (1, 2)}, path)
        >>> cr.load(path)
        {'w': tensor([1., 1.]), 'epoch': 3, 'sizes': (1, 2)}
    """
    from safetensors.numpy import save as safetensors_bytes

    tensors = {}
    try:
        structure = encode_state(_with_foreign_tensors_as_arrays(obj), _ROOT, tensors)
    except (TypeError, ValueError) as error:
        raise TypeError(f"chainrule.save: {error}") from None
    metadata = {"format": FORMAT, "version": VERSION,
                "structure": json.dumps(structure, allow_nan=True, separators=(",", ":"))}
    payload = safetensors_bytes(tensors, metadata=metadata)
    if isinstance(f, (str, os.PathLike)):
        from chainrule.core.files import atomic_write

        with atomic_write(f, "wb") as handle:
            handle.write(payload)
    elif hasattr(f, "write"):
        f.write(payload)
    else:
        raise TypeError(f"chainrule.save: f must be a path or a binary file object, got {type(f).__name__}")


def load(f, map_location=None, weights_only=None, **_torch_only):
    """Read back what ``save`` wrote (or any safetensors file: a dict of its tensors), checking it all first.

    A ``torch.save`` file (a zip or a pickle) is refused with the one-line command that
    converts it. ``map_location`` ('cpu', 'cuda', a ``chainrule.device``) says where the
    tensors go; ``weights_only`` is accepted for PyTorch's sake: chainrule files hold
    data only, so there is nothing else to load either way.

    Example:
        >>> import io, chainrule as cr, chainrule.nn as nn
        >>> model, buffer = nn.Linear(2, 1), io.BytesIO()
        >>> cr.save(model.state_dict(), buffer)
        >>> _ = buffer.seek(0)
        >>> sorted(cr.load(buffer, weights_only=True))
        ['bias', 'weight']
    """
    if _torch_only:
        raise TypeError(f"chainrule.load: unexpected argument(s) {sorted(_torch_only)} (chainrule.load takes f, "
                        "map_location and weights_only)")
    if isinstance(f, (str, os.PathLike)):
        where = f"chainrule.load: {f}"
        try:
            check_weights_file(f)
        except WeightsFileError as error:
            raise WeightsFileError(f"chainrule.load: {error}{_nested_hint(f)}") from None
        payload = pathlib.Path(f).read_bytes()
    elif hasattr(f, "read"):
        where = f"chainrule.load: {getattr(f, 'name', type(f).__name__)}"
        payload = f.read()
        refuse_pickle(payload[:9], where, "convert it where you trust it, with PyTorch: see docs/porting.md")
    else:
        raise TypeError(f"chainrule.load: f must be a path or a binary file object, got {type(f).__name__}")
    tensors, metadata = _read_safetensors(payload, where)
    where_to = None if map_location is None else _device_of(map_location)
    if where_to is not None:
        tensors = {name: Tensor._wrap(array).to(where_to).array for name, array in tensors.items()}
    if metadata is None or metadata.get("format") != FORMAT:
        return collections.OrderedDict((name, Tensor._wrap(array)) for name, array in tensors.items())
    if metadata.get("version") != VERSION:
        raise WeightsFileError(f"{where}: written by chainrule.save format version {metadata.get('version')!r}; "
                               f"this chainrule reads version {VERSION}")
    structure = _strict_json(metadata.get("structure", ""), where)
    _check_structure(structure, tensors, where)
    return decode_state(structure, tensors)


def _nested_hint(path):
    target = pathlib.Path(path).with_suffix(".safetensors")
    return (f"; for a nested object (an optimizer's state, a dict of state dicts) use chainrule.save instead: "
            f"python -c \"import torch, chainrule; chainrule.save(torch.load('{path}', weights_only=True), "
            f"'{target}')\"")


def _device_of(map_location):
    from chainrule.core.device import device

    if isinstance(map_location, (str, device, int)):
        return device(map_location)
    raise TypeError(f"chainrule.load: map_location must be a device ('cpu', 'cuda', chainrule.device(...)), got "
                    f"{type(map_location).__name__}; chainrule does not take functions or dicts here")


def _with_foreign_tensors_as_arrays(value):
    """``value`` with every PyTorch tensor replaced by a NumPy array (so a torch.load result can be re-saved)."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()
    if isinstance(value, dict):
        return {name: _with_foreign_tensors_as_arrays(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_with_foreign_tensors_as_arrays(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_with_foreign_tensors_as_arrays(item) for item in value)
    return value


def _read_safetensors(payload, where):
    """(name → array, the header's metadata or None) from safetensors bytes, framing and offsets checked."""
    from safetensors.numpy import load as safetensors_load

    if len(payload) < 8:
        raise WeightsFileError(f"{where}: {len(payload)} bytes is too short for a safetensors file")
    header_bytes = int.from_bytes(payload[:8], "little")
    if header_bytes > len(payload) - 8:
        raise WeightsFileError(f"{where}: the header claims {header_bytes} bytes but the file has "
                               f"{len(payload) - 8} after the length field; it is truncated or not safetensors")
    header = _strict_json(payload[8:8 + header_bytes], where)
    if not isinstance(header, dict):
        raise WeightsFileError(f"{where}: the safetensors header must be a JSON object")
    metadata = header.get("__metadata__")
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(key, str) and isinstance(value, str) for key, value in metadata.items())):
        raise WeightsFileError(f"{where}: the header's __metadata__ must map strings to strings")
    try:
        arrays = safetensors_load(bytes(payload))   # checks every dtype, shape and offset against the data
    except Exception as error:  # safetensors raises its own error types
        raise WeightsFileError(f"{where}: cannot be read as safetensors: {error}") from None
    ordered = {name: arrays[name] for name in header if name != "__metadata__"}
    return ordered, metadata


def _refuse_repeated_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        raise WeightsFileError(f"the key(s) {repeated} appear twice in one JSON object")
    return dict(pairs)


def _strict_json(text, where):
    try:
        document = json.loads(text, object_pairs_hook=_refuse_repeated_keys)
    except WeightsFileError as error:
        raise WeightsFileError(f"{where}: {error}; a file that names a value twice is refused") from None
    except RecursionError:
        raise WeightsFileError(f"{where}: the JSON nests too deeply") from None
    except ValueError as error:   # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise WeightsFileError(f"{where}: the JSON is damaged ({str(error)[:200]})") from None
    return document


def _check_structure(structure, tensors, where):
    """Refuse a structure ``decode_state`` could not read faithfully: odd markers, too deep, tensors missing or extra."""
    named = []
    waiting = [(structure, 1)]
    while waiting:
        value, depth = waiting.pop()
        if depth > _MAX_DEPTH:
            raise WeightsFileError(f"{where}: the structure nests deeper than {_MAX_DEPTH} levels")
        if isinstance(value, list):
            waiting.extend((item, depth + 1) for item in value)
        elif isinstance(value, dict):
            markers = [key for key in value if key.startswith("__")]
            if not markers:
                waiting.extend((item, depth + 1) for item in value.values())
                continue
            if len(value) != 1 or markers[0] not in ("__tensor__", "__tuple__", "__items__"):
                raise WeightsFileError(f"{where}: the structure holds an unknown marker object {sorted(value)}")
            content = value[markers[0]]
            if markers[0] == "__tensor__":
                if not isinstance(content, str) or content not in tensors:
                    raise WeightsFileError(f"{where}: the structure names a tensor {content!r} the file lacks")
                named.append(content)
            elif markers[0] == "__tuple__" and isinstance(content, list):
                waiting.extend((item, depth + 1) for item in content)
            elif markers[0] == "__items__" and isinstance(content, list) and all(
                    isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int, float, bool, list))
                    for pair in content):
                waiting.extend((item, depth + 1) for pair in content for item in pair)
            else:
                raise WeightsFileError(f"{where}: the structure's {markers[0]} holds {type(content).__name__}, "
                                       "not the list it should")
        elif not (value is None or isinstance(value, (str, int, float))):
            raise WeightsFileError(f"{where}: the structure holds a {type(value).__name__}")
    if len(set(named)) != len(named):
        raise WeightsFileError(f"{where}: the structure names one tensor twice")
    extra = sorted(set(tensors) - set(named))
    if extra:
        raise WeightsFileError(f"{where}: the file holds tensors the structure does not name: {extra[:5]}")
