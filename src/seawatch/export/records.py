"""The records an export holds, read for one reader: positions and latest positions with
their vessels' names, events as they are.

In: a :class:`~seawatch.store.query.Query` (a store and a reader), the kind of records and
the area, time and event-type filters. Out: the Arrow table and the label dictionary to
hand to :func:`seawatch.export.export` (a name adds the static report's label to the
position's: :func:`seawatch.export.common.with_identity`). ``seawatch export``,
``seawatch run``'s exports and the HTTP API read through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa

from seawatch.errors import InputError
from seawatch.export.common import Kind, with_identity
from seawatch.labels import Label
from seawatch.store.query import BBox, Query

__all__ = ["export_records", "named"]


def named(query: Query, table: pa.Table) -> tuple[pa.Table, dict[int, Label]]:
    """Positions of ``table`` with their vessel's ``name`` and ``callsign`` from the latest
    static report the query's reader may read, and the labels to write them with."""
    mmsis = [int(m) for m in table.column("mmsi").unique().to_pylist() if m is not None]
    return with_identity(
        table, query.identities(mmsis), query.labels(), query.store.policy, query.reader
    )


def export_records(
    query: Query,
    kind: Kind,
    *,
    bbox: BBox | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    types: Sequence[str] = (),
) -> tuple[pa.Table, dict[int, Label]]:
    """The records of ``kind`` the query's reader may read, and the labels they carry.

    Positions (and latest positions) are :func:`named`; ``types`` picks event types
    (events only)."""
    if types and kind != "events":
        raise InputError("event types select events: give types only for events")
    if kind == "events":
        return query.events(types=list(types) or None, bbox=bbox, start=start, end=end), (
            query.labels()
        )
    if kind == "positions":
        return named(query, query.positions(bbox=bbox, start=start, end=end))
    if kind == "latest":
        return named(query, query.latest(bbox=bbox, start=start, end=end))
    raise InputError(f"cannot export {kind} records (use positions, latest or events)")
