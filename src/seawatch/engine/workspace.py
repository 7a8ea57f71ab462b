"""A run's working directory: nothing half-written survives a crash.

In: the run's output directory (``seawatch run --out``) and its store choice. Out: a store
that is ``--db`` as it is, or a fresh DuckDB built under a temporary name and put at
``<out>/seawatch.duckdb`` only once the run succeeded (:func:`fresh_store`); directories
and files put in place whole (:func:`replace_dir`, :func:`write_atomic`); and the
temporaries of runs that died removed (:func:`remove_stale`), never anything else.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from seawatch import durable
from seawatch.errors import InputError
from seawatch.store.factory import open_store

if TYPE_CHECKING:
    from seawatch.settings import Settings
    from seawatch.store.base import Store

__all__ = ["fresh_store", "remove_stale", "replace_dir", "temporary_dir", "write_atomic"]

_OWN_TEMPORARY = re.compile(r"^\.(?:seawatch\.(\d+)\.duckdb(?:\.wal)?|sim(?:\.old)?\.(\d+))$")
"""Names of a run's own temporaries in its output directory (the pid is the number)."""


def replace_dir(src: Path, dst: Path) -> None:
    """Put directory ``src`` (complete) at ``dst``, removing what was there."""
    old = dst.with_name(f".{dst.name}.old.{os.getpid()}")
    if dst.exists():
        dst.rename(old)
    src.rename(dst)
    shutil.rmtree(old, ignore_errors=True)


def temporary_dir(out: Path, name: str) -> Path:
    """``<out>/.<name>.<pid>``, empty: where a directory is built before :func:`replace_dir`
    (only ``sim`` is recognised as stale by :func:`remove_stale`)."""
    tmp = out / f".{name}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    return tmp


def write_atomic(path: Path, data: bytes) -> None:
    """``data`` at ``path``, whole or not at all (no fsync: a live batch's file is
    written ten times a second, and its rows are durable once the store commits them)."""
    try:
        durable.write_atomic(path, data, sync=False)
    except OSError as exc:
        raise InputError(f"cannot write '{path}': {exc.strerror} (choose another --out)") from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(out: Path) -> None:
    """The run's own temporaries left by runs that died (their pid is gone); nothing else."""
    for path in out.iterdir():
        m = _OWN_TEMPORARY.match(path.name)
        if m is None or _alive(int(m.group(1) or m.group(2))):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def fresh_store(out: Path, settings: Settings, db: str | None = None) -> Iterator[Store]:
    """``db`` as it is, or a fresh DuckDB built under a temporary name in ``out`` and put at
    ``<out>/seawatch.duckdb`` only when the block ends without an exception."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create '{out}': {exc.strerror} (choose --out)") from None
    remove_stale(out)
    if db:
        with open_store(db, settings) as store:
            yield store
        return
    tmp = out / f".seawatch.{os.getpid()}.duckdb"
    final = out / "seawatch.duckdb"
    leftovers = (tmp, tmp.with_name(tmp.name + ".wal"))
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    store = open_store(str(tmp), settings)
    try:
        yield store
    except BaseException:
        store.close()
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
        raise
    store.close()
    final.with_name(final.name + ".wal").unlink(missing_ok=True)
    os.replace(tmp, final)
