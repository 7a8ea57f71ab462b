"""What a reader may read, summarised in the database: how many rows a listing holds, and
the space and time they span.

In: a :class:`~seawatch.store.query.Query` (the reader and the store) and a listing's
filters. Out: :func:`count` (the rows of ``positions``, ``latest`` or ``events`` that
:meth:`Query.page <seawatch.store.query.Query.page>` would page through, per label) and
:func:`extent` (the envelope and time interval of the positions or events the reader may
read, per label, combined in :class:`Extent`). Both go through the reader's label filter
(``label_id IN`` the ids :meth:`Query.allowed` gives, in the SQL) and the listings' own
conditions, so a denied row neither counts nor widens an extent; each answer carries the
label ids of the rows it summarises, so it can be marked like the rows themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from seawatch.errors import InputError
from seawatch.store.archive_read import snapshot
from seawatch.store.bbox import BBox
from seawatch.store.query import Query
from seawatch.store.tables import TS
from seawatch.store.where import where_area, where_events

__all__ = ["Counted", "Extent", "count", "extent"]

_LABEL = pa.field("label_id", pa.int32())


@dataclass(frozen=True)
class Counted:
    """How many rows a listing holds for the reader, and per label (``label_id``, ``rows``)."""

    total: int
    per_label: pa.Table


@dataclass(frozen=True)
class Extent:
    """The envelope ``(min_lon, min_lat, max_lon, max_lat)`` and the interval of the rows
    a reader may read (None: no rows; ``end`` None with ``open_end``: an event still open),
    and the label ids of those rows (``labels``: a table with ``label_id``)."""

    bbox: BBox | None
    start: datetime | None
    end: datetime | None
    open_end: bool
    labels: pa.Table


def _label_sql(q: Query) -> str | None:
    ids = q.allowed()
    return f"label_id IN ({', '.join(str(int(i)) for i in ids)})" if ids else None


_BY = "GROUP BY label_id"
_MERGED = (  # bounds of two parts (the database's, the archive's) as one
    "min(x0) AS x0, min(y0) AS y0, max(x1) AS x1, max(y1) AS y1, min(t0) AS t0, "
    "max(t1) AS t1, max(open) AS open"
)


def count(
    q: Query,
    listing: Literal["positions", "latest", "events"],
    *,
    bbox: BBox | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    mmsi: int | None = None,
    types: list[str] | None = None,
) -> Counted:
    """The rows of ``listing`` with these filters that the reader may read (``latest``: the
    vessels, counted under the label of their latest position), counted in the database."""
    schema = pa.schema([_LABEL, pa.field("rows", pa.int64())])
    label = _label_sql(q)
    if label is None:
        return Counted(0, schema.empty_table())
    if listing == "events":
        where, params = where_events(types, bbox, start, end, mmsi)
    elif listing == "positions":
        where, params = where_area(bbox, start, end, mmsi)
    elif listing == "latest":  # each vessel once: its latest row's label (as Query.latest)
        latest = q.latest(bbox=bbox, start=start, end=end, mmsi=mmsi).select(["label_id"])
        grouped = latest.group_by("label_id").aggregate([("label_id", "count")])
        rows = grouped.rename_columns(["label_id", "rows"]).cast(schema)
        return Counted(int(pc.sum(rows.column("rows")).as_py() or 0), rows)
    else:
        raise InputError(f"count: no listing {listing!r} (positions, latest, events)")
    rows = q.read(
        listing,
        lambda src: f"SELECT label_id, count(*) AS rows FROM {src} WHERE {label}{where} {_BY}",
        params,
        schema,
        f"SELECT label_id, sum(rows) AS rows FROM combined {_BY}",
        (start, end),
    )
    return Counted(int(pc.sum(rows.column("rows")).as_py() or 0), rows)


def extent(q: Query, table: Literal["positions", "events"], *, mmsi: int | None = None) -> Extent:
    """The space and time spanned by the rows of ``table`` (of ``mmsi`` when given) the
    reader may read; events: from the first start to the last end (open when one is)."""
    if table not in ("positions", "events"):
        raise InputError(f"extent: no table {table!r} (positions, events)")
    t0, t1 = ("ts", "ts") if table == "positions" else ("start_ts", "COALESCE(end_ts, start_ts)")
    # positions are never open: a constant, not max(0), which would cost DuckDB a scan
    is_open = "0" if table == "positions" else "max(CASE WHEN end_ts IS NULL THEN 1 ELSE 0 END)"
    who = "" if mmsi is None else " AND mmsi = ?"
    if table == "events" and mmsi is not None:
        who = " AND (mmsi = ? OR other_mmsi = ?)"
    params: list[Any] = [] if mmsi is None else [int(mmsi)] * who.count("?")
    fields: list[pa.Field[Any]] = [_LABEL]
    fields += [pa.field(n, pa.float64()) for n in ("x0", "y0", "x1", "y1")]
    fields += [pa.field("t0", TS), pa.field("t1", TS), pa.field("open", pa.int32())]
    schema = pa.schema(fields)
    label = _label_sql(q)
    if label is None:
        return Extent(None, None, None, False, schema.empty_table().select(["label_id"]))
    aggregates = (
        "min(lon) AS x0, min(lat) AS y0, max(lon) AS x1, max(lat) AS y1, "
        f"min({t0}) AS t0, max({t1}) AS t1, {is_open} AS open"
    )
    with snapshot(q.store, table):  # the archived days and the rows of one moment
        if mmsi is None and set(q.allowed()) >= set(q.store.labels()):
            # the reader may read every stored label: the whole table's bounds, which DuckDB
            # answers from its statistics without a scan; the labels present, for the marking
            bounds = f"min(label_id) AS label_id, max(label_id) AS last, {aggregates}"
            with_last = pa.schema([*schema, pa.field("last", pa.int32())])
            merge = f"SELECT min(label_id) AS label_id, max(last) AS last, {_MERGED} FROM combined"
            got = q.read(table, lambda src: f"SELECT {bounds} FROM {src}", [], with_last, merge)
            rows = got.drop_columns(["last"])
            rows = rows if rows.column("t0").null_count < rows.num_rows else rows.slice(0, 0)
            one = got.column("label_id").to_pylist() == got.column("last").to_pylist()
            distinct = "SELECT DISTINCT label_id FROM "
            labels = (  # one label (the usual node): no scan for the labels present
                rows.select(["label_id"])
                if one
                else q.read(
                    table,
                    lambda src: distinct + src,
                    [],
                    pa.schema([_LABEL]),
                    distinct + "combined",
                )
            )
        else:
            rows = q.read(
                table,
                lambda src: f"SELECT label_id, {aggregates} FROM {src} WHERE {label}{who} {_BY}",
                params,
                schema,
                f"SELECT label_id, {_MERGED} FROM combined {_BY}",
            )
            labels = rows.select(["label_id"])
    if not rows.num_rows:
        return Extent(None, None, None, False, labels)
    lo = [pc.min(rows.column(c)).as_py() for c in ("x0", "y0")]
    hi = [pc.max(rows.column(c)).as_py() for c in ("x1", "y1")]
    box = None if None in lo or None in hi else (lo[0], lo[1], hi[0], hi[1])
    open_end = bool(pc.max(rows.column("open")).as_py())
    return Extent(
        box,
        pc.min(rows.column("t0")).as_py(),
        None if open_end else pc.max(rows.column("t1")).as_py(),
        open_end,
        labels,
    )
