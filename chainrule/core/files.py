"""Writing a file all at once: a reader, or a crash, sees the old file or the new one, never a part.

This is the one helper the library's writers share (IDX files, pictures, pages, plots).
It lives in ``core`` because it needs nothing but the standard library and every room that
writes files (``data``, ``optim``, ``explain``, ``lab``, ``cli``) may import from ``core``:
the import arrows still point down.
"""
import contextlib
import os
import pathlib
import uuid

__all__ = ["atomic_write", "fsync_folder"]


def fsync_folder(folder):
    """Make a folder's entries (new names, renames) durable; skipped where a folder cannot be opened (Windows).

    Example:
        >>> import tempfile
        >>> fsync_folder(tempfile.mkdtemp())
    """
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_write(path, mode="wb", encoding=None):
    """Open a temporary file beside ``path``; on success it replaces ``path``, on any error it is removed.

    The steps: a new file ``.<name>.<random>.tmp`` in the same folder (the same file system,
    so the rename is atomic), the caller writes to it, then flush, ``fsync`` of the file,
    ``os.replace`` onto ``path`` and ``fsync`` of the folder so the rename itself is on disk.
    ``mode`` is ``"wb"`` (bytes) or ``"w"`` (text, with ``encoding``). The file gets the
    usual permissions (0o666 less the umask), like one made by ``open``.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "note.txt")
        >>> with atomic_write(path, "w", encoding="utf-8") as handle:
        ...     _ = handle.write("hello")
        >>> open(path).read(), os.listdir(os.path.dirname(path))
        ('hello', ['note.txt'])
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    path = pathlib.Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {path.parent} does not exist")
    temporary = path.with_name(f".{path.name[:200]}.{uuid.uuid4().hex[:12]}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(descriptor, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)
