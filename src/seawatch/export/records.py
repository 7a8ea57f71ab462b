"""The records an export holds, read for one reader: positions and latest positions with
their vessels' identities, events each at a position.

In: a :class:`~seawatch.store.query.Query` (a store and a reader), the kind of records and
the area, time and event-type filters. Out: the Arrow table and the label dictionary to
hand to :func:`seawatch.export.export` (values taken from other records add those records'
labels: :mod:`seawatch.export.identity`). ``seawatch export``, ``seawatch run``'s exports
and the HTTP API's ``?f=`` formats read through here (:func:`enriched`).

- Positions, latest positions and events (:func:`named`) carry their vessel's ``name``,
  ``callsign``, ``imo``, ``ship_type`` and ``destination`` (the newest value of each in
  the static reports the reader may read), ``vessel_type`` (the ship type's category,
  :data:`~seawatch.export.identity.VESSEL_TYPES`) and ``flag`` (ISO 3166-1 alpha-3 of the
  MMSI's MID; null for an MMSI that is not a ship station's).
- Events without a position of their own (identity changes: a static report has none)
  are placed at the vessel's position nearest in time to their start (:func:`placed`;
  within :data:`PLACE_WINDOW_S`, else its latest position); ``position_ts`` says when the
  vessel was there (null for an event with its own position).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.errors import InputError
from seawatch.export.common import TS_TYPE, Kind
from seawatch.export.identity import (
    combined_ids,
    identities_of,
    nearest_rows,
    vessel_type,
    with_identity,
)
from seawatch.labels import Label
from seawatch.store.query import BBox, Query
from seawatch.tracks.mid import flag_of

__all__ = ["PLACE_WINDOW_S", "enriched", "export_records", "named", "placed"]

PLACE_WINDOW_S: Final = 86_400.0
"""How far from an event's start :func:`placed` looks for its vessel's positions (either
side); beyond, the vessel's latest position stands in."""


def named(
    query: Query, table: pa.Table, labels: dict[int, Label] | None = None
) -> tuple[pa.Table, dict[int, Label]]:
    """Records of ``table`` (positions, events) with their vessel's identity, flag and
    vessel type (module docstring), and the labels to write them with."""
    mmsis = [int(m) for m in table.column("mmsi").unique().to_pylist() if m is not None]
    policy, reader = query.store.policy, query.reader
    known = query.labels() if labels is None else labels
    idents, labels = identities_of(query.latest_reports(mmsis), known, policy, reader)
    table, labels = with_identity(table, idents, labels, policy, reader)
    table = table.append_column("vessel_type", vessel_type(table.column("ship_type")))
    return table.append_column("flag", flag_of(table.column("mmsi"))), labels


def _positions_near(query: Query, mmsi: int, starts_us: list[int]) -> pa.Table:
    """The vessel's positions within :data:`PLACE_WINDOW_S` of its events, by time; its
    latest position when there is none."""
    pad = timedelta(seconds=PLACE_WINDOW_S)
    first = datetime.fromtimestamp(min(starts_us) / 1e6, UTC) - pad
    last = datetime.fromtimestamp(max(starts_us) / 1e6, UTC) + pad
    near = query.track(mmsi, first, last)
    return near if near.num_rows else query.latest(mmsi=mmsi)


def placed(
    query: Query, events: pa.Table, labels: dict[int, Label] | None = None
) -> tuple[pa.Table, dict[int, Label]]:
    """``events`` with a position for each event that has none (module docstring) and a
    ``position_ts`` column, and the labels to write them with."""
    labels = query.labels() if labels is None else labels
    n = events.num_rows
    lat = events.column("lat").to_numpy(zero_copy_only=False).astype(np.float64)
    lon = events.column("lon").to_numpy(zero_copy_only=False).astype(np.float64)
    when = np.full(n, -1, dtype=np.int64)
    other = np.full(n, -1, dtype=np.int64)
    missing = np.flatnonzero(np.isnan(lat) | np.isnan(lon))
    if len(missing):
        mmsis = events.column("mmsi").to_numpy(zero_copy_only=False)
        starts = events.column("start_ts").cast(TS_TYPE).cast(pa.int64())
        start_us = starts.to_numpy(zero_copy_only=False)
        for mmsi in np.unique(mmsis[missing]).tolist():
            rows = missing[mmsis[missing] == mmsi]
            track = _positions_near(query, int(mmsi), start_us[rows].tolist())
            ts = track.column("ts").cast(TS_TYPE).cast(pa.int64()).to_numpy()
            at = nearest_rows(start_us[rows].tolist(), ts)
            ok = at >= 0
            rows, at = rows[ok], at[ok]
            lat[rows] = track.column("lat").to_numpy()[at]
            lon[rows] = track.column("lon").to_numpy()[at]
            when[rows] = ts[at]
            other[rows] = track.column("label_id").cast(pa.int64()).to_numpy()[at]
    own = events.column("label_id").cast(pa.int64()).to_numpy()
    ids, usable, out = combined_ids(own, other, labels, query.store.policy, query.reader)
    take = usable & (other >= 0)
    lat[~take & (other >= 0)] = np.nan
    lon[~take & (other >= 0)] = np.nan
    events = _set(events, "lat", pa.array(lat, from_pandas=True))
    events = _set(events, "lon", pa.array(lon, from_pandas=True))
    events = _set(events, "label_id", pa.array(ids.astype(np.int32)))
    ts_at: Any = pa.array(np.where(take, when, 0)).cast(TS_TYPE)
    position_ts = pc.if_else(pa.array(take), ts_at, pa.nulls(n, TS_TYPE))
    return events.append_column("position_ts", position_ts), out


def _set(table: pa.Table, name: str, values: pa.Array[Any]) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, name, values.cast(table.schema.field(i).type))


def enriched(
    query: Query, kind: Kind, table: pa.Table, labels: dict[int, Label] | None = None
) -> tuple[pa.Table, dict[int, Label]]:
    """``table`` of ``kind`` as an export holds it: positions :func:`named`, events
    :func:`placed` and named (their vessel's identity, as positions); vessels as they are."""
    if kind == "events":
        table, labels = placed(query, table, labels)
        return named(query, table, labels)
    if kind in ("positions", "latest"):
        return named(query, table)
    return table, query.labels() if labels is None else labels


def export_records(
    query: Query,
    kind: Kind,
    *,
    bbox: BBox | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    types: Sequence[str] = (),
) -> tuple[pa.Table, dict[int, Label]]:
    """The records of ``kind`` the query's reader may read, and the labels they carry
    (:func:`enriched`); ``types`` picks event types (events only)."""
    if types and kind != "events":
        raise InputError("event types select events: give types only for events")
    if kind == "events":
        table = query.events(types=list(types) or None, bbox=bbox, start=start, end=end)
    elif kind == "positions":
        table = query.positions(bbox=bbox, start=start, end=end)
    elif kind == "latest":
        table = query.latest(bbox=bbox, start=start, end=end)
    else:
        raise InputError(f"cannot export {kind} records (use positions, latest or events)")
    return enriched(query, kind, table)
