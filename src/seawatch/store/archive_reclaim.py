"""After an archive commits: the space of the archived days given back, once no read can
still need it.

In: a store whose archive transaction has just committed, its archive folder. Out: the
files no ``archive_days`` row names removed (a day archived again, or re-opened), and in
PostgreSQL each archived day's partition truncated, so its pages go back to the operating
system (a ``DELETE`` leaves them to the partition, and no later write lands in a closed
day's partition: the database would only grow). What :func:`reclaim` did is a
:class:`Reclaimed`.

Why wait: a read of positions is one snapshot (:func:`seawatch.store.archive_read.snapshot`,
``REPEATABLE READ`` in PostgreSQL). A read whose snapshot is older than the archive's commit
still reads the day from the table and may still read an old file; ``TRUNCATE`` is not
MVCC-safe (an older snapshot would see the partition empty), and a removed file cannot be
read. So the removal first waits, up to ``wait_s``, until no client transaction of this
database started before the commit still holds a snapshot (``pg_stat_activity``:
``xact_start`` before the commit and a ``backend_xmin``; a role without
``pg_read_all_stats`` sees only its own roles' sessions). If one does, nothing is removed
now and the next ``seawatch db archive`` does it. Each partition is truncated in a
transaction that first locks it (``ACCESS EXCLUSIVE``, ``lock_timeout`` 5 s), then checks
that its day is still archived and that it holds no row (a late write re-opens a day:
its rows are back in the partition, which then stays); DuckDB needs no wait (one process
opens a database file) and frees deleted row groups' blocks for reuse itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pyarrow as pa

from seawatch.errors import StoreError
from seawatch.store.pg_parts import partition_name
from seawatch.store.tables import TS

if TYPE_CHECKING:
    from seawatch.store.base import Store

__all__ = ["Reclaimed", "clean", "reclaim"]

log = logging.getLogger(__name__)

POLL_S: Final = 0.1
LOCK_TIMEOUT: Final = "5s"
_OLDER = (
    "SELECT pid, xact_start FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
    "AND backend_xmin IS NOT NULL AND xact_start < ? ORDER BY xact_start"
)


@dataclass
class Reclaimed:
    """Partitions truncated (with the bytes they held), and reads waited for in vain."""

    partitions: list[str] = field(default_factory=list)
    bytes: int = 0
    waiting_for: list[int] = field(default_factory=list)  # pids of older reads: nothing done


def clean(folder: Path, keep: set[Path]) -> None:
    """Remove what a killed run left in ``folder`` and files no longer named: every file of
    a ``day=*`` folder not in ``keep`` (resolved paths), then the emptied folders."""
    if not folder.is_dir():
        return
    for sub in folder.glob("day=*"):
        for f in sub.iterdir():
            if f.resolve() not in keep:
                log.info("archive: removing %s (no archived day names it)", f)
                f.unlink()
        if not any(sub.iterdir()):
            sub.rmdir()


def _older_reads(store: Store, since: datetime) -> list[int]:
    schema = pa.schema([pa.field("pid", pa.int64()), pa.field("xact_start", TS)])
    pids = store.backend.fetch(_OLDER, [since], schema).column(0).to_pylist()
    return [int(p) for p in pids if p is not None]


def _wait(store: Store, wait_s: float) -> list[int]:
    """Wait until every client transaction older than now has ended; the pids still older
    when ``wait_s`` runs out (none: all ended)."""
    now = store.backend.fetch(
        "SELECT clock_timestamp() AS t", [], pa.schema([pa.field("t", TS)])
    ).column(0)[0]
    deadline = time.monotonic() + wait_s
    while older := _older_reads(store, now.as_py()):
        if time.monotonic() >= deadline:
            return older
        time.sleep(POLL_S)
    return []


def _bytes(store: Store, part: str) -> tuple[int, int] | None:
    """The partition's table and total (with indexes) bytes on disk; None if it does not
    exist."""
    got = store.backend.fetch(
        "SELECT pg_relation_size(r) AS heap, pg_total_relation_size(r) AS total "
        "FROM (SELECT to_regclass(?) AS r) AS p WHERE r IS NOT NULL",
        [part],
        pa.schema([pa.field("heap", pa.int64()), pa.field("total", pa.int64())]),
    ).to_pylist()
    return (int(got[0]["heap"]), int(got[0]["total"])) if got else None


def _truncate(store: Store, table: str, day: datetime, part: str) -> bool:
    """Truncate ``part`` if ``day`` is still archived and the partition holds no row."""
    b = store.backend
    with b.transaction():
        b.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        b.execute(f"LOCK TABLE {part} IN ACCESS EXCLUSIVE MODE")  # before any snapshot
        n = pa.schema([pa.field("n", pa.int64())])
        archived = b.fetch(f"SELECT count(*) AS n FROM {table} WHERE day = ?", [day], n)
        rows = b.fetch(f"SELECT count(*) AS n FROM (SELECT 1 FROM {part} LIMIT 1) AS r", [], n)
        if archived.column(0)[0].as_py() == 0 or rows.column(0)[0].as_py() > 0:
            return False
        b.execute(f"TRUNCATE {part}")
    return True


def reclaim(
    store: Store,
    folder: Path,
    table: str,
    days: Callable[[], Sequence[tuple[datetime, Path]]],
    wait_s: float = 60.0,
) -> Reclaimed:
    """Remove from ``folder`` what no archived day names and (PostgreSQL) truncate the
    archived days' partitions, once no older read can need them (see the module).
    ``days()`` lists the archived days and their files, ``table`` holds them."""
    done = Reclaimed()
    postgres = store.backend.dialect.name != "duckdb"
    if postgres and (older := _wait(store, wait_s)):
        done.waiting_for = older
        log.warning(
            "archive: space not given back yet: %d transaction(s) older than the archive "
            "still read (pids %s); the next `seawatch db archive` gives it back",
            len(older),
            ", ".join(map(str, older)),
        )
        return done
    listed = days()
    clean(folder, {path.resolve() for _, path in listed})
    if not postgres:
        return done
    for day, _ in listed:
        part = partition_name(day.date())
        size = _bytes(store, part)
        if size is None or size[0] == 0:  # none, or truncated before
            continue
        try:
            truncated = _truncate(store, table, day, part)
        except StoreError as exc:  # a long read holds the partition: the next run does it
            log.warning("archive: %s not truncated now: %s", part, exc)
            continue
        if truncated:
            after = _bytes(store, part)
            done.partitions.append(part)
            done.bytes += max(0, size[1] - (after[1] if after else 0))
    return done
