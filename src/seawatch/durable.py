"""Durable files: written whole or not at all, and renames that survive a power cut.

In: a path and bytes, or a file or folder just written. Out: :func:`write_atomic` puts
``data`` at ``path`` through a temporary file that is fsynced and renamed, the folder then
fsynced (readers see the old file or the new one, never half; after a crash, one of them);
:func:`fsync_path` and :func:`fsync_dir` for writers that make their own temporaries
(Parquet files, state folders). One place for every layer (engine states, the store's
archive, federation's logs and outboxes).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir", "fsync_path", "write_atomic"]


def fsync_path(path: Path) -> None:
    """Flush a written file (or a folder's entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename in folder ``path`` durable (POSIX; a no-op elsewhere)."""
    if os.name == "posix":
        fsync_path(path)


def write_atomic(path: Path, data: bytes, mode: int = 0o644, *, sync: bool = True) -> None:
    """Replace ``path`` with ``data``: readers see the old file or the new one, never half.
    ``sync=False`` skips the fsyncs (whole after a crash of the process, not of the
    machine). On failure the temporary file is removed and the ``OSError`` raised."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    if sync:
        fsync_dir(path.parent)
