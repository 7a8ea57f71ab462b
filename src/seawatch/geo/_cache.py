"""Where derived geography (packed land mask, coastline points, zone layers' caches) is kept.

In: nothing but the environment. Out: a cache directory and an atomic ``.npy`` writer.
The directory is ``$SEAWATCH_GEO_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/seawatch/geo``,
else ``~/.cache/seawatch/geo``. Files in it can be deleted at any time; they are rebuilt
from the installed packages on next use.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["cache_dir", "load_npy", "save_npy_atomic"]


def cache_dir() -> Path:
    """The directory for derived geography, created if missing."""
    env = os.environ.get("SEAWATCH_GEO_CACHE_DIR")
    if env:
        path = Path(env)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "seawatch" / "geo"
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_npy(name: str) -> npt.NDArray[np.generic] | None:
    """The cached array ``name`` memory-mapped read-only, or None when absent or unreadable."""
    path = cache_dir() / name
    if not path.exists():
        return None
    try:
        arr: npt.NDArray[np.generic] = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    return arr


def save_npy_atomic(name: str, arr: npt.NDArray[np.generic]) -> None:
    """Write ``arr`` as ``name`` in the cache; readers never see a half-written file."""
    directory = cache_dir()
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, arr)
        os.replace(tmp, directory / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
