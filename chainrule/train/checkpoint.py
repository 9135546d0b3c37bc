"""Checkpoints: a folder holding tensors (safetensors) and metadata (JSON), written atomically; never pickle.

A checkpoint is a folder with two files:

    step-00000120/
        tensors.safetensors   every array: model parameters and buffers, optimizer buffers
        meta.json             everything else as JSON, plus the SHA-256 and size of tensors.safetensors

Writing is all-or-nothing. Both files go into a temporary folder beside the
target (``.tmp-...``), each is flushed and fsynced, then the folder is renamed
into place with ``os.replace`` (one atomic step on POSIX) and the parent folder is
fsynced. A crash at any moment leaves either the old checkpoint or the new one,
never a mix: a half-written temporary folder is never looked at by the loader
(and ``CheckpointManager`` removes it). The hash in meta.json is a second guard:
a tensors file that does not match its metadata (damaged disk, a file copied in
by hand) is refused.

Nested state (optimizer and scheduler state dicts, generator states) is turned
into JSON by ``encode_state``: each array is moved into the tensors file under a
path-like key and replaced by ``{"__tensor__": key}``; tuples and dicts with
non-string keys are marked so that ``decode_state`` gives back exactly what was
saved (floats round-trip bitwise through JSON, which writes their shortest repr).
"""
import hashlib
import json
import math
import os
import pathlib
import shutil
import uuid

import numpy

from chainrule.core.tensor import Tensor

CHECKPOINT_FORMAT = "chainrule-checkpoint"
CHECKPOINT_VERSION = 1
TENSORS_FILE = "tensors.safetensors"
META_FILE = "meta.json"
_CHUNK_BYTES = 1 << 20


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, damaged, from another program, or for another model."""


# ----- turning nested state into JSON plus arrays --------------------------------------------------
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
        >>> from chainrule.train.checkpoint import decode_state, encode_state
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
                raise CheckpointError(f"the metadata refers to a tensor {key!r} that the tensors file lacks")
            return Tensor(numpy.array(tensors[key], copy=True))
        if set(value) == {"__tuple__"}:
            return tuple(decode_state(item, tensors) for item in value["__tuple__"])
        if set(value) == {"__items__"}:
            return {_hashable(decode_state(name, tensors)): decode_state(item, tensors)
                    for name, item in value["__items__"]}
        return {name: decode_state(item, tensors) for name, item in value.items()}
    return value


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


# ----- writing --------------------------------------------------------------------------------------
def _write_bytes(path, data):
    """Write ``data`` to a new file in chunks, then flush and fsync it (the data is on disk when this returns)."""
    with open(path, "xb") as handle:
        for start in range(0, len(data), _CHUNK_BYTES):
            handle.write(data[start:start + _CHUNK_BYTES])
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_folder(path):
    """Make a folder's entries (new names, renames) durable; a no-op where folders cannot be opened."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def atomic_write_bytes(path, data):
    """Replace the file at ``path`` with ``data`` all at once: temp file in the same folder, fsync, os.replace.

    Readers see the old file or the new one, never a part (used for configs, summaries, reports).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "note.txt")
        >>> atomic_write_bytes(path, b"hello"); open(path).read()
        'hello'
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".tmp-{path.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        _write_bytes(temporary, data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def atomic_write_json(path, document):
    """``atomic_write_bytes`` of ``document`` as indented JSON."""
    atomic_write_bytes(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))


def _dump_json(document):
    # allow_nan keeps inf/nan (e.g. a scheduler's "best so far" before any epoch) as JSON's
    # Infinity/NaN, which Python's json reads back exactly.
    return json.dumps(document, indent=1, sort_keys=False, allow_nan=True).encode("utf-8")


def save_checkpoint(path, tensors, metadata):
    """Write a checkpoint folder at ``path`` atomically; return its path.

    ``tensors`` maps names to NumPy arrays (or tensors); ``metadata`` is JSON-able.
    An existing checkpoint at ``path`` is replaced only once the new one is complete.

    Example:
        >>> import numpy as np, tempfile, os
        >>> folder = os.path.join(tempfile.mkdtemp(), "step-1")
        >>> _ = save_checkpoint(folder, {"w": np.arange(3.0)}, {"step": 1})
        >>> tensors, meta = load_checkpoint(folder)
        >>> tensors["w"].tolist(), meta["step"]
        ([0.0, 1.0, 2.0], 1)
    """
    from safetensors.numpy import save as safetensors_save

    path = pathlib.Path(path)
    arrays = {}
    for name, value in tensors.items():
        array = value.detach().numpy() if isinstance(value, Tensor) else numpy.asarray(value)
        arrays[str(name)] = numpy.ascontiguousarray(array)
    payload = safetensors_save(arrays) if arrays else safetensors_save({"__empty__": numpy.zeros(0, numpy.uint8)})
    document = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "tensors_file": TENSORS_FILE,
        "tensors_sha256": hashlib.sha256(payload).hexdigest(),
        "tensors_bytes": len(payload),
        "metadata": metadata,
    }
    meta_bytes = _dump_json(document)

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".tmp-{path.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temporary.mkdir()
    try:
        _write_bytes(temporary / TENSORS_FILE, payload)
        _write_bytes(temporary / META_FILE, meta_bytes)
        _fsync_folder(temporary)
        if path.exists():
            # os.replace cannot put a folder over a non-empty one: move the old one aside first.
            # Between the two renames only the new checkpoint is missing, never a mix of the two.
            retired = path.parent / f".old-{path.name}-{uuid.uuid4().hex[:8]}"
            os.replace(path, retired)
            os.replace(temporary, path)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(temporary, path)
        _fsync_folder(path.parent)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return path


# ----- reading --------------------------------------------------------------------------------------
def load_checkpoint(path):
    """Read and verify a checkpoint folder; return ``(tensors, metadata)`` with NumPy arrays.

    Raises ``CheckpointError`` with the reason if the folder is missing, either file
    is absent, unreadable or truncated, the JSON is not a chainrule checkpoint, or the
    tensors file does not match the hash recorded beside it. Nothing else is touched.

    Example:
        >>> import numpy as np, os, tempfile
        >>> from chainrule.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = save_checkpoint(os.path.join(folder, "step-1"), {"w": np.arange(3.0)}, {"step": 1})
        ...     tensors, metadata = load_checkpoint(path)
        >>> tensors["w"].tolist(), metadata
        ([0.0, 1.0, 2.0], {'step': 1})
        >>> try:
        ...     load_checkpoint(path)                     # the folder is gone with the temporary directory
        ... except CheckpointError as error:
        ...     print(type(error).__name__, str(error).startswith("no checkpoint at"))
        CheckpointError True
    """
    from safetensors.numpy import load as safetensors_load

    path = pathlib.Path(path)
    if path.is_file() and path.name in (META_FILE, TENSORS_FILE):
        path = path.parent
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a checkpoint: a checkpoint is a folder holding {META_FILE} and "
                              f"{TENSORS_FILE}")
    meta_path, tensors_path = path / META_FILE, path / TENSORS_FILE
    for required in (meta_path, tensors_path):
        if not required.is_file():
            raise CheckpointError(f"checkpoint {path} is incomplete: {required.name} is missing")
    try:
        document = json.loads(meta_path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"checkpoint {path}: {META_FILE} is not valid JSON ({error}); the file is damaged "
                              "or truncated") from None
    if not isinstance(document, dict) or document.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a chainrule checkpoint ({META_FILE} lacks format "
                              f"'{CHECKPOINT_FORMAT}')")
    if document.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {document.get('version')!r}; this chainrule "
                              f"reads version {CHECKPOINT_VERSION}")
    payload = tensors_path.read_bytes()
    if len(payload) != document.get("tensors_bytes") or hashlib.sha256(payload).hexdigest() != document.get(
            "tensors_sha256"):
        raise CheckpointError(f"checkpoint {path}: {TENSORS_FILE} ({len(payload)} bytes) does not match the size "
                              f"and SHA-256 recorded in {META_FILE}; it is damaged, truncated or from another "
                              "checkpoint")
    try:
        tensors = safetensors_load(payload)
    except Exception as error:  # safetensors raises its own error types for malformed headers
        raise CheckpointError(f"checkpoint {path}: {TENSORS_FILE} cannot be read as safetensors ({error})") from None
    tensors.pop("__empty__", None)
    return tensors, document.get("metadata", {})


# ----- keeping the last few and the best -----------------------------------------------------------
class CheckpointManager:
    """Saves numbered checkpoints into one folder, keeps the last ``keep_last`` plus the best.

    Checkpoints are named ``step-{step:08d}``. The best is the one whose
    ``metrics[monitor]`` is lowest (``mode='min'``) or highest (``'max'``) among the
    checkpoints saved with that metric; it is never deleted by the rotation. The
    metrics live in each checkpoint's own meta.json, so the folder needs no separate
    index that could disagree with it.

    Example:
        >>> import numpy as np, tempfile
        >>> manager = CheckpointManager(tempfile.mkdtemp(), keep_last=1, monitor="val_loss", mode="min")
        >>> for step, loss in [(1, 0.5), (2, 0.3), (3, 0.4)]:
        ...     _ = manager.save(step, {"w": np.full(1, step)}, {}, metrics={"val_loss": loss})
        >>> [p.name for p in manager.checkpoints()], manager.best().name
        (['step-00000002', 'step-00000003'], 'step-00000002')
    """

    def __init__(self, directory, keep_last=3, monitor=None, mode="min", read_only=False):
        if keep_last is not None and (not isinstance(keep_last, int) or keep_last < 1):
            raise ValueError(f"CheckpointManager: keep_last must be a positive integer or None (keep all), got "
                             f"{keep_last!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"CheckpointManager: mode must be 'min' or 'max', got {mode!r}")
        self.directory = pathlib.Path(directory)
        self.keep_last = keep_last
        self.monitor = monitor
        self.mode = mode
        self.read_only = read_only  # only look: create nothing, remove nothing (evaluate, predict)
        if not read_only and self.directory.is_dir():
            self.remove_leftovers()

    def remove_leftovers(self):
        """Delete temporary folders left by a write that crashed (they are never valid checkpoints)."""
        for leftover in list(self.directory.glob(".tmp-*")) + list(self.directory.glob(".old-*")):
            shutil.rmtree(leftover, ignore_errors=True)

    def path_for(self, step):
        return self.directory / f"step-{int(step):08d}"

    def checkpoints(self):
        """The checkpoint folders, oldest step first."""
        if not self.directory.is_dir():
            return []
        return sorted((path for path in self.directory.glob("step-*") if path.is_dir()), key=lambda path: path.name)

    def save(self, step, tensors, metadata, metrics=None):
        """Write ``step-{step}`` with ``metrics`` recorded in it, then delete the old ones beyond ``keep_last``."""
        if self.read_only:
            raise RuntimeError("CheckpointManager: this manager was opened read_only")
        metadata = dict(metadata)
        metadata["checkpoint_metrics"] = dict(metrics or {})
        path = save_checkpoint(self.path_for(step), tensors, metadata)
        self._rotate()
        return path

    def _metric_of(self, path):
        try:
            document = json.loads((path / META_FILE).read_text("utf-8"))
            value = document["metadata"]["checkpoint_metrics"].get(self.monitor)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if not isinstance(value, (int, float)) or math.isnan(value):
            return None
        return float(value)

    def best(self):
        """The folder of the best checkpoint by ``monitor``, or None if none has that metric."""
        if self.monitor is None:
            return None
        best_path, best_value = None, None
        for path in self.checkpoints():
            value = self._metric_of(path)
            if value is None:
                continue
            if best_value is None or (value < best_value if self.mode == "min" else value > best_value):
                best_path, best_value = path, value
        return best_path

    def latest(self):
        """The folder of the newest checkpoint, or None."""
        found = self.checkpoints()
        return found[-1] if found else None

    def _rotate(self):
        if self.keep_last is None:
            return
        found = self.checkpoints()
        keep = set(found[-self.keep_last:])
        best = self.best()
        if best is not None:
            keep.add(best)
        for path in found:
            if path not in keep:
                shutil.rmtree(path, ignore_errors=True)
