"""A folder's lock (one updater at a time across threads and processes); durable small
writes are :mod:`seawatch.durable`'s, named here too for federation's modules."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from seawatch.durable import fsync_dir, write_atomic

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: updates are not serialised across processes
    fcntl = None  # type: ignore[assignment]

__all__ = ["folder_lock", "fsync_dir", "write_atomic"]


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock file (``folder/lock``, made with the folder) exclusively."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "a+b") as lock:
        if fcntl is not None:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
