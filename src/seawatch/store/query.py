"""The one query layer: every read of stored records goes through here, for a reader.

In: an open :class:`~seawatch.store.base.Store` and a :class:`~seawatch.labels.Reader`
(``Reader.parse("USA:SECRET", policy)``, or ``Reader.node_admin(reason)`` for
maintenance, which is logged). Out: Arrow tables, each row with its ``label_id``
(:meth:`Query.labels` gives the labels they refer to); :func:`to_pandas` and
:func:`to_geopandas` convert.

The label filter is part of the SQL (``label_id IN (<ids the reader may read>)``, the ids
from :func:`seawatch.labels.allowed_label_ids` over the store's labels at query time), so
denied rows never leave the database. A label added after that moment is denied.
Positions of days archived to GeoParquet (:mod:`.archive`) are read with the table as one
relation (:meth:`Query.read`), under the same filter.

Every listing has a total order (:data:`ORDERS`: its sort key ends on a unique column) and
pages by keyset: ``limit`` rows ``after`` an opaque cursor (the last row's sort key,
base64url JSON); :meth:`Query.page` returns a :class:`Page` with the next cursor. The label
filter applies on every page, as on every query. Cursors, sort keys and limits are in
:mod:`.pages`, bounding boxes (one message per broken rule) in :mod:`.bbox`; this module
holds the listings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from seawatch.errors import InputError
from seawatch.labels import Label, Reader, allowed_label_ids
from seawatch.store.alerting import AlertListings
from seawatch.store.archive_read import fetch_positions, snapshot
from seawatch.store.base import Store
from seawatch.store.bbox import BBox, check_bbox, format_bbox, swapped_box
from seawatch.store.frames import to_geopandas, to_pandas
from seawatch.store.pages import (
    ORDERS,
    Page,
    checked_limit,
    limit_sql,
    next_page,
    where_after,
)
from seawatch.store.places import PlaceListings
from seawatch.store.tables import TABLES
from seawatch.store.where import area_parts, like_literal, where_area, where_events
from seawatch.store.written import WrittenListings

__all__ = [
    "ORDERS",
    "BBox",
    "Page",
    "Query",
    "check_bbox",
    "format_bbox",
    "swapped_box",
    "to_geopandas",
    "to_pandas",
]

log = logging.getLogger(__name__)

_VESSEL_COLUMNS = ("mmsi", "ts", "msg_type", "imo", "callsign", "name", "ship_type", "label_id")
_IDENTITY_COLUMNS = ("mmsi", "ts", "name", "callsign", "ship_type", "label_id")
_IN_LIST_MAX = 10_000  # more MMSIs than this: every vessel's identity, filtered in Arrow


class Query(AlertListings, PlaceListings, WrittenListings):
    """Queries for one reader. ``Query(store, reader).positions(bbox=..., start=..., end=...)``.

    Every method returns a :class:`pyarrow.Table` with the stored table's columns
    (``label_id`` included), only rows the reader may read.
    """

    def __init__(self, store: Store, reader: Reader) -> None:
        if not isinstance(reader, Reader):
            raise TypeError("Query needs a seawatch.labels.Reader (Reader.parse('USA:SECRET'))")
        self.store = store
        self.reader = reader

    def __repr__(self) -> str:
        return f"Query({self.store!r}, {self.reader!r})"

    # --- the label filter -------------------------------------------------------------
    def allowed(self) -> list[int]:
        """Label ids the reader may read, now."""
        ids = allowed_label_ids(self.reader, self.store.labels(), self.store.policy)
        if self.reader.is_node_admin:
            log.warning("node-admin query (%s)", self.reader.admin_reason)
        return sorted(ids)

    def labels(self) -> dict[int, Label]:
        """The labels the reader may read by id (those the returned rows refer to)."""
        labels = self.store.labels()
        ok = set(allowed_label_ids(self.reader, labels, self.store.policy))
        return {i: lb for i, lb in labels.items() if i in ok}

    def _label_filter(self) -> str | None:
        """``label_id IN (...)`` of the ids the reader may read; None: it may read none."""
        ids = self.allowed()
        return f"label_id IN ({', '.join(str(int(i)) for i in ids)})" if ids else None

    def read(
        self,
        table: str,
        build: Callable[..., str],
        params: Sequence[Any],
        schema: pa.Schema,
        merge: str,
        window: tuple[datetime | None, datetime | None] = (None, None),
        split: Sequence[tuple[str, list[Any]]] = (),  # parts: build(src, more) (.archive_read)
    ) -> pa.Table:
        """The rows of ``build(source)`` (the label filter and conditions after ``source``):
        ``table``, or the positions and archived days of ``window`` as one
        (:mod:`.archive_read`; ``merge`` joins the parts where the database reads no Parquet)."""
        if table != "positions":
            return self.store.backend.fetch(build(table), list(params), schema)
        with snapshot(self.store, table):
            return fetch_positions(self.store, build, list(params), schema, merge, *window, split)

    def _select(
        self,
        table: str,
        where: str,
        params: Sequence[Any],
        tail: str,
        *,
        distinct: str = "",
        window: tuple[datetime | None, datetime | None] = (None, None),
        order: tuple[str, ...] = (),
        split: Sequence[tuple[str, list[Any]]] = (),  # with order: the read's disjoint parts
    ) -> pa.Table:
        """``order``: ``tail`` is only ``ORDER BY`` these columns (no limit), which a
        dialect that ``sorts_late`` leaves out of the database's query for Arrow's sort."""
        tdef = TABLES[table]
        schema, label, cols = tdef.arrow_schema(), self._label_filter(), ", ".join(tdef.names)
        if label is None:
            return schema.empty_table()
        merge = f"SELECT {distinct}{cols} FROM combined {tail}"
        late = bool(order) and self.store.backend.dialect.sorts_late
        sql_tail = "" if late else tail

        def sql(src: str, more: str = "") -> str:
            return f"SELECT {distinct}{cols} FROM {src} WHERE {label}{where}{more} {sql_tail}"

        rows = self.read(table, sql, params, schema, merge, window, split if late else ())
        return rows.sort_by([(c, "ascending") for c in order]) if late else rows

    # --- queries ----------------------------------------------------------------------
    def positions(
        self,
        *,
        bbox: BBox | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        mmsi: int | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> pa.Table:
        """Positions in ``bbox`` with ``start <= ts <= end`` (each optional), by time (then
        MMSI, message key); ``limit`` rows ``after`` a cursor (:meth:`page`)."""
        where, params = where_area(bbox, start, end, mmsi)
        more, more_params = where_after("positions", after)
        where, params = where + more, params + more_params
        order = ORDERS["positions"]
        tail = f"ORDER BY {', '.join(order)}" + limit_sql(limit)
        late = () if limit is not None else order
        split = area_parts(bbox, self.store.backend.read_parts) if mmsi is None and late else []
        return self._select(
            "positions", where, params, tail, window=(start, end), order=late, split=split
        )

    def count_positions(
        self,
        *,
        bbox: BBox | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pa.Table:
        """How many positions the reader may read in ``bbox`` and the window, per label:
        columns ``label_id``, ``positions`` (int64), by label id. Counted in the database,
        so a summary of a big store reads no rows."""
        where, params = where_area(bbox, start, end)
        schema = pa.schema([pa.field("label_id", pa.int32()), pa.field("positions", pa.int64())])
        label = self._label_filter()
        if label is None:
            return schema.empty_table()
        by_label = "GROUP BY label_id ORDER BY label_id"
        return self.read(
            "positions",
            lambda src: (
                f"SELECT label_id, count(*) AS positions FROM {src} WHERE {label}{where} "
                + by_label
            ),
            params,
            schema,
            f"SELECT label_id, sum(positions) AS positions FROM combined {by_label}",
            (start, end),
        )

    def track(
        self,
        mmsi: int,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        limit: int | None = None,
        after: str | None = None,
    ) -> pa.Table:
        """One vessel's positions over a period, by time."""
        return self.positions(mmsi=int(mmsi), start=start, end=end, limit=limit, after=after)

    def latest(
        self,
        *,
        bbox: BBox | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        mmsi: int | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> pa.Table:
        """The latest position the reader may read of each vessel in ``bbox`` (within the
        time window when given; of ``mmsi`` only when given), by MMSI."""
        where, params = where_area(bbox, start, end, mmsi)
        more, more_params = where_after("latest", after)
        where, params = where + more, params + more_params
        tdef = TABLES["positions"]
        label = self._label_filter()
        if label is None:
            return tdef.arrow_schema().empty_table()
        cols = ", ".join(tdef.names)

        def build(src: str) -> str:
            if not self.store.backend.dialect.arg_max:
                # PostgreSQL: each vessel's latest ts by a hash aggregate, its row (the
                # smallest msg_key) through the (mmsi, ts) index; DISTINCT ON sorted every
                # row of the window (bench/RESULTS.md, 2026-12-07 h-pg)
                return (
                    f"SELECT p.* FROM (SELECT mmsi, max(ts) AS ts FROM {src} WHERE {label}"
                    f"{where} GROUP BY mmsi) AS m CROSS JOIN LATERAL (SELECT {cols} FROM {src} "
                    f"AS r WHERE {label}{where} AND r.mmsi = m.mmsi AND r.ts = m.ts ORDER BY "
                    f"msg_key LIMIT 1) AS p ORDER BY p.mmsi{limit_sql(limit)}"
                )
            # DuckDB: the latest key per vessel by arg_max (2-3x faster than DISTINCT ON),
            # the same row: latest ts, then the smallest msg_key
            latest = (
                "SELECT arg_max(msg_key, struct_pack(t := ts, k := -(msg_key::HUGEINT))) "
                f"FROM {src} WHERE {label}{where} GROUP BY mmsi"
            )
            return (
                f"SELECT {cols} FROM {src} WHERE {label}{where} "
                f"AND msg_key IN ({latest}) ORDER BY mmsi{limit_sql(limit)}"
            )

        merge = (  # PostgreSQL with archived days: the latest of the two latest
            f"SELECT DISTINCT ON (mmsi) {cols} FROM combined "
            f"ORDER BY mmsi, ts DESC, msg_key{limit_sql(limit)}"
        )
        schema = tdef.arrow_schema()
        return self.read("positions", build, params + params, schema, merge, (start, end))

    def events(
        self,
        *,
        types: Sequence[str] | None = None,
        bbox: BBox | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        mmsi: int | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> pa.Table:
        """Events of ``types`` at ``bbox`` overlapping ``[start, end]`` involving ``mmsi``
        (as the vessel or the other vessel), by start time."""
        where, params = where_events(types, bbox, start, end, mmsi)
        more, more_params = where_after("events", after)
        where, params = where + more, params + more_params
        return self._select(
            "events", where, params, "ORDER BY start_ts, event_id" + limit_sql(limit)
        )

    def vessels(
        self,
        *,
        name: str | None = None,
        mmsi: int | None = None,
        imo: int | None = None,
        callsign: str | None = None,
        limit: int | None = 100,
        after: str | None = None,
    ) -> pa.Table:
        """Vessels whose static reports match (name and call sign: case-insensitive
        substring; MMSI, IMO: equal), the latest matching report the reader may read per
        MMSI, by MMSI. Columns: mmsi, ts, msg_type, imo, callsign, name, ship_type, label_id."""
        where = ""
        params: list[Any] = []
        for cond, value in (
            ("name ILIKE ? ESCAPE '\\'", None if name is None else f"%{like_literal(name)}%"),
            (
                "callsign ILIKE ? ESCAPE '\\'",
                None if callsign is None else f"%{like_literal(callsign)}%",
            ),
            ("mmsi = ?", None if mmsi is None else int(mmsi)),
            ("imo = ?", None if imo is None else int(imo)),
        ):
            if value is not None:
                where += f" AND {cond}"
                params.append(value)
        if not params:
            raise InputError("vessel search: give a name, MMSI, IMO or call sign")
        more, more_params = where_after("vessels", after)
        rows = self._select(
            "statics",
            where + more,
            params + more_params,
            "ORDER BY mmsi, ts DESC, msg_key" + limit_sql(limit),
            distinct="DISTINCT ON (mmsi) ",
        )
        return rows.select(list(_VESSEL_COLUMNS))

    def statics(self, *, limit: int | None = None) -> pa.Table:
        """Every static report the reader may read, by time (then MMSI, message key): the
        whole table as the reader sees it (what federation releases)."""
        return self._select("statics", "", [], "ORDER BY ts, mmsi, msg_key" + limit_sql(limit))

    def reports(self, mmsi: int, *, limit: int | None = 1000) -> pa.Table:
        """One vessel's static reports the reader may read, newest first (its identity
        history: names, call signs, IMO numbers and ship types it reported)."""
        return self._select(
            "statics", " AND mmsi = ?", [int(mmsi)], "ORDER BY ts DESC, msg_key" + limit_sql(limit)
        )

    def identities(
        self,
        mmsis: Sequence[int] | None = None,
        *,
        typed: bool = False,
        limit: int | None = None,
        after: str | None = None,
    ) -> pa.Table:
        """Each vessel's latest report the reader may read that names it (else the latest
        with a call sign), for ``mmsis`` (all when None), by MMSI. Columns: mmsi, ts, name,
        callsign, ship_type, label_id (that report's label). ``typed``: instead, the latest
        report giving its ship type (a Class B vessel names itself in another report)."""
        where = " AND (COALESCE(name, '') <> '' OR COALESCE(callsign, '') <> '')"
        where = " AND ship_type IS NOT NULL" if typed else where
        order = (
            "ORDER BY mmsi, " + ("" if typed else "COALESCE(name, '') = '', ") + "ts DESC, msg_key"
        )
        wanted = None if mmsis is None else sorted({int(m) for m in mmsis})
        if wanted is not None:
            if not wanted:
                return TABLES["statics"].arrow_schema().empty_table().select(_IDENTITY_COLUMNS)
            if len(wanted) <= _IN_LIST_MAX:
                where += f" AND mmsi IN ({', '.join(str(m) for m in wanted)})"
        in_arrow = wanted is not None and len(wanted) > _IN_LIST_MAX
        more, params = where_after("identities", after)
        rows = self._select(
            "statics",
            where + more,
            params,
            order + ("" if in_arrow else limit_sql(limit)),
            distinct="DISTINCT ON (mmsi) ",
        ).select(list(_IDENTITY_COLUMNS))
        if in_arrow and wanted is not None:
            rows = rows.filter(pc.is_in(rows.column("mmsi"), pa.array(wanted, pa.int32())))
            rows = rows if limit is None else rows.slice(0, checked_limit(limit))
        return rows

    def latest_reports(self, mmsis: Sequence[int]) -> pa.Table:
        """Each vessel's latest report the reader may read of each kind (type 5, 19, 24 A/B;
        named or not) for ``mmsis``, by MMSI: its identity (:mod:`seawatch.export.identity`)."""
        named = "COALESCE(name, '') = ''"
        wanted, key = sorted({int(m) for m in mmsis}), f"mmsi, msg_type, part_num, {named}"
        if not wanted:
            return TABLES["statics"].arrow_schema().empty_table()
        ids = ", ".join(map(str, wanted)) if len(wanted) <= _IN_LIST_MAX else ""
        tail, distinct = f"ORDER BY {key}, ts DESC, msg_key", f"DISTINCT ON ({key}) "
        rows = self._select("statics", ids and f" AND mmsi IN ({ids})", [], tail, distinct=distinct)
        return rows.filter(pc.is_in(rows.column("mmsi"), pa.array(wanted, pa.int32())))

    # --- pages ------------------------------------------------------------------------
    def page(self, listing: str, *, limit: int, after: str | None = None, **filters: Any) -> Page:
        """One page of ``listing`` (a name in :data:`ORDERS`, e.g. ``"positions"``): at most
        ``limit`` rows after the cursor ``after`` (None: the first page), with the cursor
        of the next page (None when this page is the last). ``filters`` are the listing
        method's (``bbox=``, ``start=`` ...). Concatenating every page gives the listing
        unpaged, as long as nothing is written in between."""
        if listing not in ORDERS:
            raise InputError(f"no listing {listing!r} (pages of: {', '.join(ORDERS)})")
        if checked_limit(limit) == 0:
            raise InputError("page limit 0: give a limit of at least 1")
        method = getattr(self, listing)
        rows: pa.Table = method(**filters, limit=limit, after=after)
        return next_page(listing, rows, limit)
