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
import re
import shutil
import stat
import time
import uuid

import numpy

from chainrule.core.files import fsync_folder
from chainrule.core.state import decode_state, encode_state, referenced_tensors  # noqa: F401  (a checkpoint's encoding)
from chainrule.core.tensor import Tensor

try:
    import fcntl  # POSIX: the folder lock; absent on Windows, where the lock is a no-op
except ImportError:
    fcntl = None

CHECKPOINT_FORMAT = "chainrule-checkpoint"
MANIFEST_FORMAT = "chainrule-checkpoint-manifest"
CHECKPOINT_VERSION = 2          # 2: a manifest hashes every file (version 1 left meta.json unhashed)
TENSORS_FILE = "tensors.safetensors"
META_FILE = "meta.json"
MANIFEST_FILE = "manifest.json"
CHECKPOINT_FILES = (TENSORS_FILE, META_FILE, MANIFEST_FILE)
MAX_MANIFEST_BYTES = 1 << 16    # the manifest holds two records: anything larger is not one
MAX_HEADER_BYTES = 100 << 20    # the safetensors library's own bound on a header
MAX_JSON_DEPTH = 64             # real metadata nests about 8 deep
LOCK_FILE = ".lock"
_CHUNK_BYTES = 1 << 20
_RETIRED_NAME = re.compile(r"^\.old-(?P<name>step-\d+)-(?P<tag>.+)$")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, damaged, from another program, or for another model."""


# ----- turning nested state into JSON plus arrays --------------------------------------------------
# ----- writing --------------------------------------------------------------------------------------
def _write_bytes(path, data):
    """Write ``data`` to a new file in chunks, then flush and fsync it (the data is on disk when this returns).

    A failure (a full disk) is raised as an ``OSError`` that names the file.
    """
    try:
        with open(path, "xb") as handle:
            for start in range(0, len(data), _CHUNK_BYTES):
                handle.write(data[start:start + _CHUNK_BYTES])
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        if error.filename is not None:
            raise
        raise OSError(error.errno, error.strerror or str(error), str(path)) from error


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
    except OSError as error:  # name the file the caller meant, not the temporary one
        temporary.unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror or str(error), str(path)) from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def atomic_write_json(path, document):
    """``atomic_write_bytes`` of ``document`` as indented JSON."""
    atomic_write_bytes(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))


def _dump_json(document):
    # allow_nan keeps inf/nan (e.g. a scheduler's "best so far" before any epoch) as JSON's
    # Infinity/NaN, which Python's json reads back exactly.
    return json.dumps(document, indent=1, sort_keys=False, allow_nan=True).encode("utf-8")


def _file_record(data):
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def checkpoint_files(tensors, metadata):
    """The bytes of the three files of a checkpoint holding ``tensors`` and ``metadata``: a dict name -> bytes.

    Example:
        >>> import numpy as np
        >>> files = checkpoint_files({"w": np.arange(3.0)}, {"step": 1})
        >>> sorted(files), json.loads(files["manifest.json"])["files"]["meta.json"]["bytes"] == len(files["meta.json"])
        (['manifest.json', 'meta.json', 'tensors.safetensors'], True)
    """
    from safetensors.numpy import save as safetensors_save

    arrays = {}
    for name, value in tensors.items():
        array = value.detach().numpy() if isinstance(value, Tensor) else numpy.asarray(value)
        arrays[str(name)] = numpy.ascontiguousarray(array)
    payload = safetensors_save(arrays)
    meta_bytes = _dump_json({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "metadata": metadata})
    manifest = {"format": MANIFEST_FORMAT, "version": CHECKPOINT_VERSION,
                "files": {TENSORS_FILE: _file_record(payload), META_FILE: _file_record(meta_bytes)}}
    return {TENSORS_FILE: payload, META_FILE: meta_bytes, MANIFEST_FILE: _dump_json(manifest)}


def save_checkpoint(path, tensors, metadata):
    """Write a checkpoint folder at ``path`` atomically; return its path.

    ``tensors`` maps names to NumPy arrays (or tensors); ``metadata`` is JSON-able.
    An existing checkpoint at ``path`` is replaced only once the new one is complete:
    it is renamed aside (``.old-…``), the new one renamed in, then the old one removed.
    Every state in between is recovered by ``recover_checkpoints`` (which
    ``CheckpointManager`` runs when it opens a folder for writing).

    Example:
        >>> import numpy as np, tempfile, os
        >>> folder = os.path.join(tempfile.mkdtemp(), "step-1")
        >>> _ = save_checkpoint(folder, {"w": np.arange(3.0)}, {"step": 1})
        >>> tensors, meta = load_checkpoint(folder)
        >>> tensors["w"].tolist(), meta["step"]
        ([0.0, 1.0, 2.0], 1)
    """
    path = pathlib.Path(path)
    files = checkpoint_files(tensors, metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temporary = path.parent / f".tmp-{path.name}-{tag}"
    temporary.mkdir()
    try:
        for name in (TENSORS_FILE, META_FILE, MANIFEST_FILE):  # the manifest last: its presence means complete
            _write_bytes(temporary / name, files[name])
        fsync_folder(temporary)
        if path.exists():
            # os.replace cannot put a folder over a non-empty one: move the old one aside first. Should
            # the process die between the two renames, recover_checkpoints finds the complete new folder
            # (.tmp-) beside the old one (.old-) and finishes the move.
            retired = path.parent / f".old-{path.name}-{tag}"
            os.replace(path, retired)
            fsync_folder(path.parent)
            os.replace(temporary, path)
            fsync_folder(path.parent)
            _remove_folder(retired)
        else:
            os.replace(temporary, path)
            fsync_folder(path.parent)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return path


def _remove_folder(path):
    """Delete a folder so that no reader ever sees it half deleted: rename it to ``.del-…`` first, then remove."""
    path = pathlib.Path(path)
    doomed = path.parent / f".del-{path.name}-{uuid.uuid4().hex[:8]}"
    try:
        os.replace(path, doomed)
    except FileNotFoundError:
        return
    fsync_folder(path.parent)
    shutil.rmtree(doomed, ignore_errors=True)


def recover_checkpoints(directory):
    """Finish or undo what a crashed write left in ``directory``; return the names of the steps put back.

    - ``.old-step-N-TAG`` beside no ``step-N``: the crash came between the two renames of a
      re-save. The new folder ``.tmp-step-N-TAG`` is complete (it was fsynced before the first
      rename), so it is renamed into place; if it is not there or does not verify, the old one is.
    - ``.old-…`` beside its ``step-N``, ``.tmp-…`` folders of unfinished writes and ``.del-…``
      folders of an interrupted removal are deleted: none of them is a checkpoint.

    Example:
        >>> import numpy as np, os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> _ = save_checkpoint(os.path.join(folder, "step-1"), {"w": np.zeros(1)}, {})
        >>> os.rename(os.path.join(folder, "step-1"), os.path.join(folder, ".old-step-1-7-0a1b2c3d"))  # crash mid re-save
        >>> recover_checkpoints(folder), sorted(os.listdir(folder))
        (['step-1'], ['step-1'])
    """
    directory = pathlib.Path(directory)
    restored = []
    for old in sorted(directory.glob(".old-*")):
        match = _RETIRED_NAME.match(old.name)
        if match is None or (directory / match["name"]).exists():
            continue
        name, tag = match["name"], match["tag"]
        target = directory / name
        new = directory / f".tmp-{name}-{tag}"
        try:
            load_checkpoint(new)
            os.replace(new, target)
            _remove_folder(old)
        except (CheckpointError, OSError):
            os.replace(old, target)
        fsync_folder(directory)
        restored.append(name)
    for leftover in [*directory.glob(".tmp-*"), *directory.glob(".old-*"), *directory.glob(".del-*")]:
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return restored


# ----- reading: trust nothing -----------------------------------------------------------------------
def _read_regular_file(path, where, expected_bytes=None, limit=None):
    """The bytes of ``path`` if it is a plain file (not a folder, link, pipe or device) of the expected size.

    The file is opened without following a link and without blocking (a pipe put in its
    place would otherwise hang the reader), and checked on the open descriptor, so it
    cannot be swapped between the check and the read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise CheckpointError(f"{where} is incomplete: {path.name} is missing") from None
    except IsADirectoryError:
        raise CheckpointError(f"{where}: {path.name} is a folder, not a file") from None
    except OSError as error:
        if os.path.islink(path):
            raise CheckpointError(f"{where}: {path.name} is a link; a checkpoint's files are plain files, a link "
                                  "is never followed") from None
        raise CheckpointError(f"{where}: cannot read {path.name} ({error.strerror})") from None
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise CheckpointError(f"{where}: {path.name} is a folder, not a file")
        raise CheckpointError(f"{where}: {path.name} is not a plain file (a pipe or device is never read)")
    with os.fdopen(descriptor, "rb") as handle:
        if limit is not None and status.st_size > limit:
            raise CheckpointError(f"{where}: {path.name} is {status.st_size} bytes, more than the {limit} a "
                                  f"{path.name} can be")
        if expected_bytes is not None and status.st_size != expected_bytes:
            raise CheckpointError(f"{where}: {path.name} is {status.st_size} bytes but {MANIFEST_FILE} records "
                                  f"{expected_bytes}; it is damaged, truncated or from another checkpoint")
        try:
            data = handle.read(status.st_size + 1)  # one byte more: a file that grew since is caught too
        except OSError as error:
            raise CheckpointError(f"{where}: cannot read {path.name} ({error.strerror})") from None
    if len(data) != status.st_size:
        raise CheckpointError(f"{where}: {path.name} changed while it was read")
    return data


def _refuse_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


class _DuplicateKey(ValueError):
    pass


def _depth(document):
    """How deeply ``document`` nests lists and dicts (walked without recursion)."""
    deepest, waiting = 0, [(document, 1)]
    while waiting:
        value, depth = waiting.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                waiting.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return deepest


def parse_strict_json(data, where):
    """JSON from bytes, refusing what Python's ``json`` lets through: duplicate keys (the last would win),
    nesting deeper than ``MAX_JSON_DEPTH``, text that is not UTF-8. ``CheckpointError`` names ``where``.

    Example:
        >>> parse_strict_json(b'{"a": [1, 2.5, Infinity]}', "x.json")
        {'a': [1, 2.5, inf]}
        >>> try:
        ...     parse_strict_json(b'{"a": 1, "a": 2}', "x.json")
        ... except CheckpointError as error:
        ...     print(error)
        x.json: the key 'a' appears twice in one object; a file that names a value twice is refused
    """
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_refuse_duplicates)
    except _DuplicateKey as error:
        raise CheckpointError(f"{where}: the key {error.args[0]!r} appears twice in one object; a file that names a "
                              "value twice is refused") from None
    except RecursionError:
        raise CheckpointError(f"{where}: the JSON nests too deeply (more than {MAX_JSON_DEPTH} levels)") from None
    except (UnicodeDecodeError, ValueError) as error:
        message = " ".join(str(error).split())[:200]
        raise CheckpointError(f"{where} is not valid JSON ({message}); the file is damaged or truncated") from None
    if _depth(document) > MAX_JSON_DEPTH:
        raise CheckpointError(f"{where}: the JSON nests too deeply (more than {MAX_JSON_DEPTH} levels)")
    return document


def _check_manifest(manifest, where):
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise CheckpointError(f"{where} is not a chainrule checkpoint ({MANIFEST_FILE} lacks format "
                              f"'{MANIFEST_FORMAT}')")
    if manifest.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{where} has format version {manifest.get('version')!r}; this chainrule reads "
                              f"version {CHECKPOINT_VERSION}")
    files = manifest.get("files")
    if set(manifest) != {"format", "version", "files"} or not isinstance(files, dict) or set(files) != {
            TENSORS_FILE, META_FILE}:
        raise CheckpointError(f"{where}: {MANIFEST_FILE} must hold format, version and files (one record for each "
                              f"of {META_FILE} and {TENSORS_FILE})")
    for name, record in files.items():
        size = record.get("bytes") if isinstance(record, dict) else None
        digest = record.get("sha256") if isinstance(record, dict) else None
        if (not isinstance(record, dict) or set(record) != {"bytes", "sha256"} or isinstance(size, bool)
                or not isinstance(size, int) or size < 0 or not isinstance(digest, str)
                or len(digest) != 64 or any(char not in "0123456789abcdef" for char in digest)):
            raise CheckpointError(f"{where}: {MANIFEST_FILE} field files.{name} must be {{'bytes': <size>, "
                                  "'sha256': <64 hex digits>}")
    return files


def load_checkpoint(path):
    """Read and verify a checkpoint folder; return ``(tensors, metadata)`` with NumPy arrays.

    Raises ``CheckpointError`` with the reason if the folder is missing, holds other
    files than its three, a file is absent, not a plain file, of another size or hash
    than its manifest records, the JSON is not a chainrule checkpoint's (or names a key
    twice), or the tensors header is malformed. Nothing else is read or touched, and
    nothing runs.

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
    path = pathlib.Path(path)
    if path.name in CHECKPOINT_FILES and path.is_file():
        path = path.parent
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a checkpoint: a checkpoint is a folder holding {TENSORS_FILE}, "
                              f"{META_FILE} and {MANIFEST_FILE}")
    where = f"checkpoint {path}"
    try:
        present = set(os.listdir(path))
    except OSError as error:
        raise CheckpointError(f"{where}: cannot list the folder ({error.strerror})") from None
    if MANIFEST_FILE not in present:
        raise CheckpointError(f"{where} is incomplete or from an older chainrule: {MANIFEST_FILE}, which hashes "
                              f"every file of a checkpoint, is missing (this chainrule reads format version "
                              f"{CHECKPOINT_VERSION} only)")
    manifest = parse_strict_json(_read_regular_file(path / MANIFEST_FILE, where, limit=MAX_MANIFEST_BYTES),
                                 f"{where}: {MANIFEST_FILE}")
    records = _check_manifest(manifest, where)
    strangers = sorted(present - set(CHECKPOINT_FILES))
    if strangers:
        raise CheckpointError(f"{where} holds files its manifest does not cover: {strangers[:5]}; a checkpoint "
                              f"folder holds exactly {list(CHECKPOINT_FILES)}")
    contents = {}
    for name in (META_FILE, TENSORS_FILE):
        data = _read_regular_file(path / name, where, expected_bytes=records[name]["bytes"])
        if hashlib.sha256(data).hexdigest() != records[name]["sha256"]:
            raise CheckpointError(f"{where}: {name} ({len(data)} bytes) does not match the SHA-256 recorded in "
                                  f"{MANIFEST_FILE}; it is damaged or from another checkpoint")
        contents[name] = data
    document = parse_strict_json(contents[META_FILE], f"{where}: {META_FILE}")
    if not isinstance(document, dict) or document.get("format") != CHECKPOINT_FORMAT or set(document) != {
            "format", "version", "metadata"}:
        raise CheckpointError(f"{where} is not a chainrule checkpoint ({META_FILE} must hold format "
                              f"'{CHECKPOINT_FORMAT}', version and metadata)")
    if document["version"] != CHECKPOINT_VERSION:
        raise CheckpointError(f"{where} has format version {document['version']!r}; this chainrule reads version "
                              f"{CHECKPOINT_VERSION}")
    tensors = read_safetensors(contents[TENSORS_FILE], f"{where}: {TENSORS_FILE}")
    return tensors, document["metadata"]


# The safetensors dtypes chainrule reads, as little-endian NumPy dtypes.
SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
                      "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}


def read_safetensors(payload, where="safetensors data"):
    """The arrays of a safetensors file's bytes, every field of its header checked first.

    The format: 8 bytes (little-endian) giving the header's length N, N bytes of JSON
    ``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__"?: {...}}``, then
    the data. Refused with a ``CheckpointError`` naming the field: a header longer than
    the file or than ``MAX_HEADER_BYTES``, a name given twice, an unknown dtype, a
    shape whose byte count differs from its offsets, offsets outside the data or with
    gaps or overlaps between tensors.

    Example:
        >>> import numpy as np
        >>> from safetensors.numpy import save
        >>> read_safetensors(save({"w": np.arange(3, dtype=np.float32)}))["w"]
        array([0., 1., 2.], dtype=float32)
    """
    if len(payload) < 8:
        raise CheckpointError(f"{where}: {len(payload)} bytes is too short for a safetensors file (8-byte header "
                              "length first)")
    header_bytes = int.from_bytes(payload[:8], "little")
    if header_bytes > min(MAX_HEADER_BYTES, len(payload) - 8):
        raise CheckpointError(f"{where}: the header claims {header_bytes} bytes but the file holds {len(payload)} "
                              f"(and a header may be at most {MAX_HEADER_BYTES})")
    header = parse_strict_json(bytes(payload[8:8 + header_bytes]), f"{where} header")
    if not isinstance(header, dict):
        raise CheckpointError(f"{where}: the header must be a JSON object, got {type(header).__name__}")
    extra = header.pop("__metadata__", None)
    if extra is not None and not (isinstance(extra, dict) and all(
            isinstance(key, str) and isinstance(value, str) for key, value in extra.items())):
        raise CheckpointError(f"{where}: the header field __metadata__ must map strings to strings")
    body = memoryview(payload)[8 + header_bytes:]
    spans = []
    for name, entry in header.items():
        field = f"{where}: tensor {name!r}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise CheckpointError(f"{field} must have exactly dtype, shape and data_offsets")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in SAFETENSORS_DTYPES:
            raise CheckpointError(f"{field} has dtype {dtype!r}; chainrule reads {sorted(SAFETENSORS_DTYPES)}")
        if not isinstance(shape, list) or len(shape) > 32 or not all(
                isinstance(size, int) and not isinstance(size, bool) and size >= 0 for size in shape):
            raise CheckpointError(f"{field} has shape {shape!r}; a shape is a list of at most 32 sizes >= 0")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(
                isinstance(offset, int) and not isinstance(offset, bool) for offset in offsets)
                and 0 <= offsets[0] <= offsets[1] <= len(body)):
            raise CheckpointError(f"{field} has data_offsets {offsets!r}, outside the {len(body)} bytes of data")
        itemsize = numpy.dtype(SAFETENSORS_DTYPES[dtype]).itemsize
        if math.prod(shape) * itemsize != offsets[1] - offsets[0]:
            raise CheckpointError(f"{field}: shape {shape} of {dtype} needs {math.prod(shape) * itemsize} bytes but "
                                  f"its offsets span {offsets[1] - offsets[0]}")
        spans.append((offsets[0], offsets[1], name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise CheckpointError(f"{where}: tensor {name!r} starts at byte {begin} of the data, where byte "
                                  f"{position} was expected (tensors must tile the data without gaps or overlaps)")
        position = end
    if position != len(body):
        raise CheckpointError(f"{where}: the tensors cover {position} of the {len(body)} bytes of data")
    arrays = {}
    for begin, end, name in spans:
        entry = header[name]
        dtype = numpy.dtype(SAFETENSORS_DTYPES[entry["dtype"]])
        if entry["dtype"] == "BOOL" and any(byte > 1 for byte in bytes(body[begin:end])):
            raise CheckpointError(f"{where}: tensor {name!r} is BOOL but holds bytes other than 0 and 1")
        flat = numpy.frombuffer(body, dtype=dtype, count=(end - begin) // dtype.itemsize, offset=begin)
        arrays[name] = flat.reshape(entry["shape"]).astype(dtype.newbyteorder("="), copy=True)
    return arrays


def check_tensors_fit(expected, tensors, where, prefix=""):
    """Refuse ``tensors`` unless they hold exactly the names of ``expected``, each with its shape and dtype.

    ``expected`` maps names to arrays or tensors (a model's ``state_dict()``); the names in
    ``tensors`` carry ``prefix``. Checked before anything is loaded, so nothing changes
    when a checkpoint does not fit.

    Example:
        >>> import numpy as np
        >>> try:
        ...     check_tensors_fit({"w": np.zeros((2, 3), np.float32)}, {"w": np.zeros((3, 2), np.float32)}, "ckpt")
        ... except CheckpointError as error:
        ...     print(error)
        ckpt: w has shape (3, 2) and dtype float32 there but shape (2, 3) and dtype float32 here
    """
    names = {prefix + name for name in expected}
    stored = {name for name in tensors if name.startswith(prefix)}
    if names != stored:
        missing, unexpected = sorted(names - stored)[:5], sorted(stored - names)[:5]
        raise CheckpointError(f"{where} holds a different model: tensors missing from it {missing}, tensors not in "
                              f"this model {unexpected}")
    for name, value in expected.items():
        saved = tensors[prefix + name]
        shape, dtype = tuple(value.shape), numpy.dtype(str(value.dtype))
        if tuple(saved.shape) != shape or saved.dtype != dtype:
            raise CheckpointError(f"{where}: {name} has shape {tuple(saved.shape)} and dtype {saved.dtype} there but "
                                  f"shape {shape} and dtype {dtype} here")


# ----- one writer per folder ------------------------------------------------------------------------
class FolderLock:
    """An OS lock (``fcntl.flock``) on ``folder/.lock``: while one process holds it, another fails at once.

    The operating system drops the lock when its holder exits or is killed, so a
    crashed run never leaves a folder locked. Where ``fcntl`` does not exist (Windows)
    the lock is a no-op. The message names the holder's process id.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> with FolderLock(folder, "run folder"):
        ...     try:
        ...         FolderLock(folder, "run folder").acquire()      # a second holder, as another process would be
        ...     except RuntimeError as error:
        ...         print(str(error).split(" is in use")[0] == f"run folder {folder}")
        True
    """

    def __init__(self, folder, what="folder"):
        self.folder = pathlib.Path(folder)
        self.what = what
        self._handle = None

    @property
    def held(self):
        return self._handle is not None

    def acquire(self):
        if self._handle is not None or fcntl is None:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.folder / LOCK_FILE, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            who = "another writer in this process" if holder == str(os.getpid()) else f"another process (pid {holder})"
            raise RuntimeError(f"{self.what} {self.folder} is in use by {who}; wait for it to finish, or give "
                               "another folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def release(self):
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exception):
        self.release()


# ----- keeping the last few and the best -----------------------------------------------------------
def step_of(path):
    """The step number in a checkpoint folder's name ``step-NNNNNNNN``, or None.

    Example:
        >>> step_of("runs/a/checkpoints/step-00000120"), step_of("notes")
        (120, None)
    """
    match = re.fullmatch(r"step-(\d+)", pathlib.Path(path).name)
    return int(match[1]) if match else None


class CheckpointManager:
    """Saves numbered checkpoints into one folder, keeps the last ``keep_last`` plus the best.

    Checkpoints are named ``step-{step:08d}``. The best is the one whose
    ``metrics[monitor]`` is lowest (``mode='min'``) or highest (``'max'``) among the
    checkpoints saved with that metric, ties broken by the lower ``val_loss``; it is
    never deleted by the rotation, and neither is the checkpoint just written. The
    metrics live in each checkpoint's own meta.json, so the folder needs no separate
    index that could disagree with it.

    Writing takes the folder's lock (``FolderLock``: a second process writing into the
    same folder fails at once) and first repairs what a crash may have left
    (``recover_checkpoints``). ``set_aside_after(step)`` moves the checkpoints of an
    abandoned timeline (later than the step a run resumed from) into ``abandoned-…/``.

    Example:
        >>> import numpy as np, tempfile
        >>> manager = CheckpointManager(tempfile.mkdtemp(), keep_last=1, monitor="val_loss", mode="min")
        >>> for step, loss in [(1, 0.5), (2, 0.3), (3, 0.4)]:
        ...     _ = manager.save(step, {"w": np.full(1, step)}, {}, metrics={"val_loss": loss})
        >>> [p.name for p in manager.checkpoints()], manager.best().name
        (['step-00000002', 'step-00000003'], 'step-00000002')
        >>> manager.release()
    """

    TIE_BREAK = "val_loss"  # lower is better

    def __init__(self, directory, keep_last=3, monitor=None, mode="min", read_only=False):
        if keep_last is not None and (isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1):
            raise ValueError(f"CheckpointManager: keep_last must be a positive integer or None (keep all), got "
                             f"{keep_last!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"CheckpointManager: mode must be 'min' or 'max', got {mode!r}")
        self.directory = pathlib.Path(directory)
        self.keep_last = keep_last
        self.monitor = monitor
        self.mode = mode
        self.read_only = read_only  # only look: create nothing, remove nothing (evaluate, predict)
        self.lock = FolderLock(self.directory, "checkpoint folder")

    def acquire(self):
        """Take the folder's lock and repair what a crashed write left (see ``recover_checkpoints``)."""
        if self.read_only:
            raise RuntimeError("CheckpointManager: this manager was opened read_only")
        if not self.lock.held:
            self.lock.acquire()
            recover_checkpoints(self.directory)
        return self

    def release(self):
        """Let another process write into the folder."""
        self.lock.release()

    def path_for(self, step):
        return self.directory / f"step-{int(step):08d}"

    def checkpoints(self):
        """The checkpoint folders, oldest step first."""
        if not self.directory.is_dir():
            return []
        found = [path for path in self.directory.iterdir() if step_of(path) is not None and path.is_dir()]
        return sorted(found, key=step_of)

    def save(self, step, tensors, metadata, metrics=None):
        """Write ``step-{step}`` with ``metrics`` recorded in it, then delete the old ones beyond ``keep_last``."""
        self.acquire()
        metadata = dict(metadata)
        metadata["checkpoint_metrics"] = dict(metrics or {})
        path = save_checkpoint(self.path_for(step), tensors, metadata)
        self._rotate(path)
        return path

    def set_aside_after(self, step):
        """Move the checkpoints later than ``step`` into ``abandoned-<time>/`` (nothing is deleted); return them.

        A run resumed from step s starts a new timeline: checkpoints after s belong to
        the run that was abandoned, and left in place they would pass for the newest.
        """
        self.acquire()
        later = [path for path in self.checkpoints() if step_of(path) > step]
        if not later:
            return []
        aside = self.directory / f"abandoned-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
        aside.mkdir()
        for path in later:
            os.replace(path, aside / path.name)
        fsync_folder(self.directory)
        return [aside / path.name for path in later]

    def _metrics_of(self, path):
        try:
            document = parse_strict_json(_read_regular_file(path / META_FILE, str(path)), str(path))
            return {name: float(value) for name, value in document["metadata"]["checkpoint_metrics"].items()
                    if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)}
        except (OSError, CheckpointError, KeyError, TypeError, AttributeError):
            return {}

    def best(self):
        """The folder of the best checkpoint by ``monitor`` (ties: lower val_loss), or None if none has it."""
        if self.monitor is None:
            return None
        sign = 1.0 if self.mode == "min" else -1.0
        best_path, best_key = None, None
        for path in self.checkpoints():
            metrics = self._metrics_of(path)
            if self.monitor not in metrics:
                continue
            key = (sign * metrics[self.monitor], metrics.get(self.TIE_BREAK, math.inf))
            if best_key is None or key < best_key:  # strictly better: the first of full ties stays
                best_path, best_key = path, key
        return best_path

    def latest(self):
        """The folder of the newest checkpoint, or None."""
        found = self.checkpoints()
        return found[-1] if found else None

    def _rotate(self, just_written):
        if self.keep_last is None:
            return
        found = self.checkpoints()
        keep = set(found[-self.keep_last:]) | {pathlib.Path(just_written)}
        best = self.best()
        if best is not None:
            keep.add(best)
        for path in found:
            if path not in keep:
                _remove_folder(path)
