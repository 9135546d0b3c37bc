"""Weights to and from PyTorch as safetensors: the names and layouts are PyTorch's, and nothing is unpickled.

A chainrule layer names and lays out its parameters exactly as the same ``torch.nn`` layer
does (Linear's weight out × in, Conv's O × I × kH × kW, LSTM's ``weight_ih_l0`` with the
gates stacked i, f, g, o, BatchNorm's ``running_mean``, ``running_var`` and
``num_batches_tracked``, MultiheadAttention's ``in_proj_weight``), so one safetensors file
serves both::

    chainrule.io.save_state_dict(model, "w.safetensors")
    torch_model.load_state_dict(safetensors.torch.load_file("w.safetensors"), strict=True)

    safetensors.torch.save_file(torch_model.state_dict(), "t.safetensors")
    model.load_state_dict(chainrule.io.load_state_dict("t.safetensors"))

A ``torch.save`` file (``.pt``/``.pth``: a zip archive or a raw pickle) is refused before it is
read any further: unpickling can run any code the file's author wrote.
"""
import collections
import pathlib
import struct

import numpy

from chainrule.core.files import atomic_write
from chainrule.core.tensor import Tensor

# safetensors' own ceiling on the JSON header; a larger claim is a damaged or hostile file.
_MAX_HEADER_BYTES = 100 * 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTOCOL_OPCODE = 0x80


class WeightsFileError(ValueError):
    """A weights file that chainrule will not read: a pickle, or a damaged safetensors file."""


def _conversion_hint(path):
    return (
        f"convert it once to safetensors where you trust the file: python -c \"import torch, safetensors.torch; "
        f"safetensors.torch.save_file(torch.load('{path}', weights_only=True), '{pathlib.Path(path).with_suffix('.safetensors')}')\""
        f", then load the .safetensors file"
    )


def refuse_pickle(head, where, hint):
    """Raise ``WeightsFileError`` if ``head`` (a file's first 9 bytes) begins a torch.save zip archive or a pickle.

    ``where`` names the file in the message and ``hint`` says how to convert it; the file is never unpickled.

    Example:
        >>> refuse_pickle(b"PK\\x03\\x04rest", "x.pt", "convert it")
        Traceback (most recent call last):
        ...
        chainrule.io.weights.WeightsFileError: x.pt is a PyTorch torch.save archive (a zip holding a pickle); ...
    """
    never = "chainrule never unpickles, since loading a pickle can run any code the file holds"
    if head.startswith(_ZIP_MAGIC):
        raise WeightsFileError(f"{where} is a PyTorch torch.save archive (a zip holding a pickle); {never}; {hint}")
    # A safetensors header of 640, 896, 1152 or 1408 bytes also begins 0x80 0x02..0x05; its next six
    # length bytes are zero and its JSON opens at byte 8, where a pickle has opcodes (never 0) instead.
    safetensors_framing = len(head) >= 9 and head[2:8] == bytes(6) and head[8:9] == b"{"
    if len(head) >= 2 and head[0] == _PICKLE_PROTOCOL_OPCODE and 2 <= head[1] <= 5 and not safetensors_framing:
        raise WeightsFileError(f"{where} is a PyTorch/pickle file (starts with a pickle protocol header); "
                               f"{never}; {hint}")


def check_weights_file(path):
    """Refuse pickles and check a safetensors file's framing before anything is allocated from it.

    A safetensors file is an 8-byte little-endian header length n, n bytes of JSON, then the
    raw tensor bytes. A ``torch.save`` file starts with ``PK\\x03\\x04`` (a zip archive) or
    ``\\x80`` followed by the pickle protocol (2–5): both are refused, never unpickled.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp(), "model.pt")
        >>> _ = path.write_bytes(b"\\x80\\x02}q\\x00.")          # what torch.save's pickle begins with
        >>> check_weights_file(path)
        Traceback (most recent call last):
        ...
        chainrule.io.weights.WeightsFileError: ... is a PyTorch/pickle file (starts with a pickle protocol header); ...
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist")
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(9)
    refuse_pickle(head, f"weights file {path}", _conversion_hint(path))
    head = head[:8]
    if len(head) < 8:
        raise WeightsFileError(f"weights file {path} is {size} bytes: too short for safetensors (an 8-byte header "
                               "length, then a JSON header); it is truncated or not a safetensors file")
    (header_bytes,) = struct.unpack("<Q", head)
    if header_bytes > min(_MAX_HEADER_BYTES, size - 8):
        raise WeightsFileError(
            f"weights file {path}: the header claims {header_bytes} bytes but the file has {size - 8} after the length "
            f"field (limit {_MAX_HEADER_BYTES}); it is truncated, damaged or not a safetensors file")
    return path


def load_state_dict(path):
    """The tensors of a safetensors file, by name, as chainrule tensors (an ordered dict, in the file's order: safetensors sorts the names).

    The file is checked first (``check_weights_file``); safetensors itself then checks that every
    tensor's offsets lie inside the file and match its dtype and shape. Feed the result to
    ``module.load_state_dict``, which checks every key and shape before it writes any.

    Example:
        >>> import tempfile, os, chainrule as cr, chainrule.io, chainrule.nn as nn
        >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
        >>> chainrule.io.save_state_dict(nn.Linear(3, 2), path)
        >>> sorted((name, t.shape) for name, t in chainrule.io.load_state_dict(path).items())
        [('bias', (2,)), ('weight', (2, 3))]
    """
    from safetensors import safe_open

    path = check_weights_file(path)
    state = collections.OrderedDict()
    try:
        with safe_open(str(path), framework="numpy") as reader:
            for name in reader.keys():
                state[name] = Tensor._wrap(reader.get_tensor(name))
    except Exception as error:  # safetensors raises its own error types for a malformed header or offsets
        raise WeightsFileError(f"weights file {path} cannot be read as safetensors: {error}") from None
    return state


def save_state_dict(model_or_state, path, metadata=None):
    """Write a module's ``state_dict()`` (or a dict of tensors) as one safetensors file, atomically.

    The file is written beside ``path`` under a temporary name, fsynced, then renamed over it,
    so a crash mid-save leaves the previous file whole. ``metadata`` (str → str) goes in the header.

    Example:
        >>> import tempfile, os, safetensors.numpy, chainrule.io, chainrule.nn as nn
        >>> path = os.path.join(tempfile.mkdtemp(), "bn.safetensors")
        >>> chainrule.io.save_state_dict(nn.BatchNorm1d(4), path)
        >>> sorted(safetensors.numpy.load_file(path))
        ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']
    """
    from safetensors.numpy import save as safetensors_save

    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") else model_or_state
    arrays = {}
    for name, value in state.items():
        if not isinstance(name, str):
            raise TypeError(f"save_state_dict: keys must be strings, got {name!r}")
        array = value.array if isinstance(value, Tensor) else value
        if hasattr(array, "get"):       # a CuPy array: bring it to the host
            array = array.get()
        arrays[name] = numpy.ascontiguousarray(array)
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("save_state_dict: metadata must map strings to strings (safetensors' header holds only text)")
    with atomic_write(path) as handle:
        handle.write(safetensors_save(arrays, metadata=metadata))


__all__ = ["WeightsFileError", "check_weights_file", "load_state_dict", "refuse_pickle", "save_state_dict"]
