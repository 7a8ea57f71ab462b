"""Closed days of positions moved out of the database into GeoParquet files, read with it.

In: an open store (DuckDB or PostgreSQL), a day (``before``) and a folder. Out:
:func:`archive` moves the positions of every day before ``before`` (and before
``closed_until``: days the late-data machinery may still run again stay) into one
GeoParquet file per day, ``<folder>/day=YYYY-MM-DD/part-<stamp>.parquet`` (Hive style),
and records each day in the table ``archive_days``; :func:`positions_source` is what DuckDB
reads instead of ``positions``: the table and the archived days of a time window as one
relation, so the label filter and every condition apply to both (PostgreSQL:
:mod:`.archive_read`).

Crash safety: each day's rows are written under a temporary name, fsynced and renamed
(the folder fsynced), all inside one database transaction that then deletes the days'
rows and records them in ``archive_days``, and commits. Reads use only the files
``archive_days`` names: killed before the commit, the database still holds every row and
the new files are ignored (the next run removes them); after it, the files hold them. A
day archived again (rows written after it was) gets a new file name, the old one removed
after the commit.

Late data: a write of positions for an archived day (:func:`reopen`, called by
``Store.write``) first moves that day back from its file into the database, in the
write's transaction, so nothing is lost or stored twice; ``seawatch db archive`` archives
it again later. Reading in PostgreSQL, which reads no Parquet: :mod:`.archive_read`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seawatch.durable import fsync_dir, fsync_path
from seawatch.errors import StoreError
from seawatch.store.archive_reclaim import Reclaimed, clean, reclaim
from seawatch.store.changes import Cached, changed
from seawatch.store.duck import storage_order
from seawatch.store.geoparquet import with_geometry
from seawatch.store.tables import SEQ, TABLES, TS

if TYPE_CHECKING:
    from seawatch.store.base import Store

__all__ = [
    "Archived",
    "ArchivedDay",
    "archive",
    "archived_days",
    "literal",
    "positions_source",
    "reopen",
]

log = logging.getLogger(__name__)

TABLE: Final = "archive_days"
COLUMNS: Final = (*TABLES["positions"].names, SEQ)
"""What a file holds besides ``geometry``: every column of ``positions``, its write
number too (federation's cursor), so a re-opened day is what it was."""
ROW_GROUP: Final = 65_536
_DAY: Final = timedelta(days=1)
_SCHEMA = pa.schema([*TABLES["positions"].arrow_schema(), pa.field(SEQ, pa.int64())])


@dataclass(frozen=True)
class ArchivedDay:
    day: datetime
    folder: str
    file: str
    rows: int

    @property
    def path(self) -> Path:
        return Path(self.folder) / self.file


@dataclass(frozen=True)
class Archived:
    """What :func:`archive` did: the days archived, their rows and bytes, the folder, and
    the space given back (:mod:`.archive_reclaim`)."""

    folder: Path
    days: list[ArchivedDay]
    rows: int
    bytes: int
    reclaimed: Reclaimed


def _has_table(store: Store) -> bool:
    if getattr(store.backend, "_archive_table", False):
        return True
    found = TABLE in store.backend.table_names()
    if found:
        store.backend._archive_table = True  # type: ignore[attr-defined]
    return found


def day_of(t: datetime) -> datetime:
    """The UTC midnight starting ``t``'s day."""
    t = t.astimezone(UTC)
    return datetime(t.year, t.month, t.day, tzinfo=UTC)


def archived_days(
    store: Store, start: datetime | None = None, end: datetime | None = None
) -> list[ArchivedDay]:
    """The archived days overlapping ``[start, end]`` (each optional), by day."""
    if not _has_table(store):
        return []
    where, params = "", []
    if start is not None:
        where, params = " WHERE day >= ?", [day_of(start)]
    if end is not None:
        where += (" AND" if where else " WHERE") + " day <= ?"
        params.append(end)
    full = TABLES[TABLE].arrow_schema()
    schema = pa.schema([full.field(n) for n in ("day", "folder", "file", "rows")])
    got = store.backend.fetch(
        f"SELECT day, folder, file, rows FROM {TABLE}{where} ORDER BY day", params, schema
    )
    return [ArchivedDay(**r) for r in got.to_pylist()]


def literal(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def positions_source(
    store: Store, start: datetime | None, end: datetime | None, table: str = "positions"
) -> str:
    """What to read positions of ``[start, end]`` from: ``table`` (``positions``, or a
    relation in its place: :func:`.duck_tracks.source`) when no archived day overlaps the
    window, else it and those days' files as one relation named ``positions`` (DuckDB
    pushes the conditions into both sides)."""
    days = archived_days(store, start, end)
    if not days:
        return table if table == "positions" else f"{table} AS positions"
    files = ", ".join(literal(str(d.path)) for d in days)
    cols = ", ".join(COLUMNS)
    return (
        f"(SELECT {cols} FROM {table} UNION ALL "
        f"SELECT {cols} FROM read_parquet([{files}])) AS positions"
    )


def _folder(store: Store, to: Path | None) -> Path:
    """The store's archive folder: the one recorded, else ``to``, else beside the file."""
    got = store.backend.fetch(
        f"SELECT DISTINCT folder FROM {TABLE}", [], pa.schema([pa.field("folder", pa.string())])
    )
    recorded = [Path(str(f)) for f in got.column(0).to_pylist()]
    wanted = None if to is None else Path(to).resolve()
    if recorded:
        if wanted is not None and wanted != recorded[0]:
            raise StoreError(
                f"{store.backend.display}: its archive is in {recorded[0]}, not {wanted} "
                "(one archive folder per store; leave out --to)"
            )
        return recorded[0]
    if wanted is not None:
        return wanted
    path = getattr(store.backend, "path", None)
    if path is None:
        raise StoreError(
            f"{store.backend.display}: give the archive folder (--to DIR): this database "
            "has no file to put it beside"
        )
    return Path(path).with_name(Path(path).stem + ".archive").resolve()


def _day_rows(store: Store, day: datetime, old: ArchivedDay | None) -> pa.Table:
    """The day's positions in the database (and in its old file, when archived before),
    in (1-degree cell, vessel, time) order."""
    sql = f"SELECT {', '.join(COLUMNS)} FROM positions WHERE ts >= ? AND ts < ?"
    rows = store.backend.fetch(sql, [day, day + _DAY], _SCHEMA)
    if old is not None:
        rows = pa.concat_tables([rows, _file_rows(old.path)])
    cell = storage_order(rows)
    ts = pc.cast(rows.column("ts"), pa.int64()).to_numpy(zero_copy_only=False)
    mmsi = rows.column("mmsi").to_numpy(zero_copy_only=False)
    return rows.take(np.lexsort((ts, mmsi, cell)))


def _file_rows(path: Path) -> pa.Table:
    """An archived day's rows, as ``positions`` holds them (with ``seq``)."""
    t = pq.read_table(path, columns=list(COLUMNS))
    return pa.Table.from_arrays([t.column(f.name).cast(f.type) for f in _SCHEMA], schema=_SCHEMA)


def _write_day(
    store: Store,
    folder: Path,
    day: datetime,
    rows: pa.Table,
    stamp: str,
    tell: Callable[[str, datetime | None], None],
) -> Path:
    """``rows`` as ``day=YYYY-MM-DD/part-<stamp>.parquet`` under ``folder``: written under
    a temporary name, fsynced, renamed, the folder fsynced; the path, relative."""
    sub = folder / f"day={day:%Y-%m-%d}"
    sub.mkdir(parents=True, exist_ok=True)
    final, tmp = sub / f"part-{stamp}.parquet", sub / f".part-{stamp}.parquet.tmp"
    labels = store.labels()
    present = sorted({int(i) for i in rows.column("label_id").to_pylist() if i is not None})
    marks = {str(i): labels[i].marking for i in present if i in labels}
    own = {"kind": "positions", "archive": True, "labels": marks}
    meta = {b"seawatch": json.dumps(own).encode()}
    data = with_geometry(rows.replace_schema_metadata(meta), rows["lon"], rows["lat"])
    pq.write_table(data, tmp, compression="zstd", row_group_size=ROW_GROUP)
    fsync_path(tmp)
    tell("written", day)
    os.replace(tmp, final)
    fsync_dir(sub)
    fsync_dir(folder)
    return final.relative_to(folder)


def archive(
    store: Store,
    before: datetime,
    to: Path | None = None,
    *,
    closed_until: datetime | None = None,
    step: Callable[[str, datetime | None], None] | None = None,
    wait_s: float = 60.0,
) -> Archived:
    """Move the positions of every day before ``before`` (and ending by ``closed_until``)
    out of the database into the archive folder (see the module). ``step(what, day)`` is
    told each step done (``written``: a day's temporary file fsynced; ``renamed``: in place;
    ``deleted``: the rows deleted and the days recorded, not committed; ``committed``),
    for progress lines. After the commit the space is given back once no older read
    needs it, waiting up to ``wait_s`` (:mod:`.archive_reclaim`)."""
    store.require_current()
    tell = step or (lambda what, day: None)
    if before.tzinfo is None:
        raise StoreError(f"before {before.isoformat()}: give a timezone-aware day (UTC)")
    limit = day_of(before)
    if closed_until is not None:
        limit = min(limit, day_of(closed_until))
    folder = _folder(store, to)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    old = {d.day: d for d in archived_days(store)}
    clean(folder, {d.path.resolve() for d in old.values()})
    found = store.backend.fetch(
        "SELECT DISTINCT date_trunc('day', ts) AS day FROM positions WHERE ts < ? ORDER BY day",
        [limit],
        pa.schema([pa.field("day", TS)]),
    )
    days = [day_of(d) for d in found.column(0).to_pylist() if d is not None]
    done: list[ArchivedDay] = []
    size = 0
    with store.transaction():
        if store.backend.dialect.name != "duckdb":  # the deletion sees what was read
            store.backend.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        written: list[tuple[datetime, Path, int, int]] = []
        for day in days:
            rows = _day_rows(store, day, old.get(day))
            rel = _write_day(store, folder, day, rows, stamp, tell)
            tell("renamed", day)
            written.append((day, rel, rows.num_rows, (folder / rel).stat().st_size))
        for day, rel, n, nbytes in written:
            store.backend.execute(
                "DELETE FROM positions WHERE ts >= ? AND ts < ?", [day, day + _DAY]
            )
            row = {"day": day, "folder": str(folder), "file": str(rel), "rows": n}
            store.write(
                TABLE,
                pa.Table.from_pylist([{**row, "bytes": nbytes, "archived_at": datetime.now(UTC)}]),
            )
            done.append(ArchivedDay(day, str(folder), str(rel), n))
            size += nbytes
        tell("deleted", None)
    changed(TABLE)  # committed: cached lists of archived days read again
    tell("committed", None)
    freed = reclaim(
        store, folder, TABLE, lambda: [(d.day, d.path) for d in archived_days(store)], wait_s
    )
    return Archived(folder, done, sum(d.rows for d in done), size, freed)


def _archived(store: Store) -> list[ArchivedDay]:
    """Every archived day, as :func:`archived_days`: on DuckDB read again only when this
    process wrote ``archive_days`` since (:mod:`.changes`; a live feed writes positions
    ten times a second), on PostgreSQL every time."""
    cached = getattr(store.backend, "_archived", None)
    if cached is None:
        every_time = store.backend.dialect.name != "duckdb"
        cached = Cached(TABLE, lambda: archived_days(store), every_time=every_time)
        store.backend._archived = cached  # type: ignore[attr-defined]
    days: list[ArchivedDay] = cached.get()
    return days


def reopen(store: Store, ts: pa.ChunkedArray[Any] | pa.Array[Any]) -> int:
    """Before positions of times ``ts`` (timestamps, or µs since the epoch) are written:
    move each archived day they fall on back into the database, in the caller's
    transaction (see the module); the rows moved."""
    if len(ts) == 0 or not _has_table(store):
        return 0
    us: Any = pc.cast(ts, pa.int64()).to_numpy(zero_copy_only=False)  # µs (or timestamps)
    us = us[~np.isnan(us)] if us.dtype.kind == "f" else us  # nulls (as NaN)
    if len(us) == 0:
        return 0
    lo, hi = (datetime.fromtimestamp(int(v) / 1e6, UTC) for v in (us.min(), us.max()))
    days = [d for d in _archived(store) if day_of(lo) <= d.day <= hi]
    if not days:
        return 0
    hit = set((us // 86_400_000_000).tolist())
    moved = 0
    cols = ", ".join(COLUMNS)
    for d in days:
        if int(d.day.timestamp()) // 86_400 not in hit:
            continue
        if store.backend.dialect.name == "duckdb":  # with its write numbers
            source = f"read_parquet({literal(str(d.path))})"
            store.backend.execute(f"INSERT INTO positions ({cols}) SELECT {cols} FROM {source}")
        else:  # PostgreSQL: new write numbers (a peer's next release sends them again)
            positions = TABLES["positions"]
            store.backend.insert(positions, positions.conform(_file_rows(d.path)))
        store.backend.execute(f"DELETE FROM {TABLE} WHERE day = ?", [d.day])
        moved += d.rows
        log.warning(
            "positions for archived day %s: the day is re-opened from %s (%d positions back "
            "in the database; `seawatch db archive` archives it again)",
            f"{d.day:%Y-%m-%d}",
            d.path,
            d.rows,
        )
    return moved
