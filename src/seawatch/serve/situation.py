"""A situation summary: events per type and the most notable incidents, with names, flags
and places.

In: events as the store's query layer returns them (:meth:`Query.events` columns) and the
vessels' latest static reports (:meth:`Query.vessels` columns), both already filtered for
one reader. Out: a :class:`Situation` (counts per type, ranked :class:`Notable` incidents;
:meth:`Situation.as_dict` for JSON) and, separately, its text (:func:`format_situation`,
from :mod:`.situation_text`, which also words the incidents and names their places).

Ranking (docs/run.md): events are grouped into *incidents*, one per event type, vessel,
other vessel and kind (the spoofing rule, the identity field), so the 500 position jumps of
one spoofed MMSI make one incident. Routine incidents are left out: port visits, zone exits
and a new voyage's destination (event types of rank None in
:mod:`seawatch.events.registry`). The rest are ordered by the type's rank there
(:func:`~seawatch.events.registry.priority`), then (zone entries, and vessels present in a
zone at their track's start) fishing vessels first (ITU ship type 30: the concern of a
fishing zone), then farther from shore first, then earlier first; at most ``per_type`` of
a type, one per vessel (its best) and ``top`` in all are kept. An incident without a
position (identity changes) is placed at the vessel's latest position when ``latest`` is
given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.events import registry
from seawatch.serve.situation_text import (
    flag_names,
    format_situation,
    phrase,
    port_places,
    vessel_names,
)

__all__ = [
    "PRIORITY",
    "ROUTINE",
    "Count",
    "Notable",
    "Situation",
    "event_counts",
    "format_situation",
    "incidents",
    "situation",
]

PRIORITY: tuple[str, ...] = registry.priority()
"""Event types by how much an operator wants to see them first (most first): the ranks of
the built-in detectors' event types in :mod:`seawatch.events.registry`. Ranking reads the
registry itself, so a detector registered later is ranked too."""

ROUTINE: tuple[str, ...] = registry.routine()
"""Event types never ranked notable (counted only; rank None in the registry); so is
``identity_change`` of ``destination``, which every new voyage makes."""

_KEYS = ["event_type", "mmsi", "other_mmsi", "kind"]


@dataclass(frozen=True)
class Count:
    """Events of one type and the distinct vessels (MMSIs) involved."""

    event_type: str
    events: int
    vessels: int


@dataclass(frozen=True)
class Vessel:
    """Who an MMSI is, as far as the reader may know: latest name heard and MID flag."""

    mmsi: int
    name: str | None
    flag: str | None
    """Flag administration as the ITU names it (e.g. ``India``); None: unknown MID."""

    def __str__(self) -> str:
        name = self.name or "(no name heard)"
        return f"{name} ({self.flag or 'flag unknown'}, MMSI {self.mmsi})"


@dataclass(frozen=True)
class Notable:
    """One ranked incident: what, who, when and where."""

    rank: int
    event_type: str
    kind: str | None
    what: str
    vessel: Vessel
    other: Vessel | None
    start: dt.datetime | None
    end: dt.datetime | None
    events: int
    lat: float | None
    lon: float | None
    offshore_km: float | None
    place: str
    at_latest: bool = False
    """The incident has no position of its own: ``lat``/``lon`` are the vessel's latest."""


@dataclass(frozen=True)
class Situation:
    """Counts per event type (most first) and the notable incidents (ranked)."""

    counts: tuple[Count, ...]
    notable: tuple[Notable, ...]

    @property
    def total(self) -> int:
        return sum(c.events for c in self.counts)

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-able data (what the API returns): ``total``, ``counts`` and
        ``notable``, each field as named here; times ISO 8601 UTC with ``Z``, a vessel
        ``{"mmsi", "name", "flag"}``."""
        out: dict[str, Any] = _jsonable(dataclasses.asdict(self))
        return {"total": self.total, **out}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def event_counts(events: pa.Table, types: Sequence[str] = ()) -> tuple[Count, ...]:
    """Events and distinct vessels per type, most events first; ``types`` absent count 0."""
    if events.num_rows:
        grouped = events.group_by("event_type").aggregate(
            [("event_id", "count"), ("mmsi", "count_distinct")]
        )
        types_: list[Any] = grouped.column("event_type").to_pylist()
        ns: list[Any] = grouped.column("event_id_count").to_pylist()
        vs: list[Any] = grouped.column("mmsi_count_distinct").to_pylist()
        found = {
            str(t): (int(n), int(v))
            for t, n, v in zip(
                types_,
                ns,
                vs,
                strict=True,
            )
        }
    else:
        found = {}
    for t in types:
        found.setdefault(t, (0, 0))
    rows = [Count(t, n, v) for t, (n, v) in found.items()]
    return tuple(sorted(rows, key=lambda c: (-c.events, c.event_type)))


def _kind(details: Any) -> Any:
    """The spoofing rule or the changed identity field from ``details`` (null if none)."""
    text: Any = pc.fill_null(details.combine_chunks(), pa.scalar(""))
    out: Any = None
    for key in ("rule", "field"):
        found: Any = pc.extract_regex(text, rf'"{key}":\s*"(?P<v>[^"]*)"')
        value: Any = pc.struct_field(found, [0])
        out = value if out is None else pc.coalesce(out, value)
    return out


def incidents(events: pa.Table) -> pa.Table:
    """Events grouped into incidents (see the module docstring), routine ones left out.

    Columns: event_type, mmsi, other_mmsi, kind, events, start_ts (earliest), end_ts
    (latest), lat, lon and details of the earliest event.
    """
    if events.num_rows == 0:
        return pa.table(
            {
                **{k: pa.array([], t) for k, t in zip(_KEYS, _key_types(events), strict=True)},
                "events": pa.array([], pa.int64()),
                "start_ts": pa.array([], events.schema.field("start_ts").type),
                "end_ts": pa.array([], events.schema.field("end_ts").type),
                "lat": pa.array([], pa.float64()),
                "lon": pa.array([], pa.float64()),
                "details": pa.array([], pa.string()),
            }
        )
    t = events.append_column("kind", _kind(events.column("details")))
    routine: Any = pc.or_(
        pc.is_in(t.column("event_type"), pa.array(registry.routine(), pa.string())),
        pc.and_(
            pc.equal(t.column("event_type"), pa.scalar("identity_change")),
            _is(t.column("kind"), "destination"),
        ),
    )
    t = t.filter(pc.invert(routine))
    t = t.sort_by([("start_ts", "ascending"), ("event_id", "ascending")])
    g = t.group_by(_KEYS, use_threads=False).aggregate(
        [
            ("event_id", "count"),
            ("start_ts", "min"),
            ("end_ts", "max"),
            ("lat", "first"),
            ("lon", "first"),
            ("details", "first"),
        ]
    )
    return pa.table(
        {
            **{k: g.column(k) for k in _KEYS},
            "events": g.column("event_id_count"),
            "start_ts": g.column("start_ts_min"),
            "end_ts": g.column("end_ts_max"),
            "lat": g.column("lat_first"),
            "lon": g.column("lon_first"),
            "details": g.column("details_first"),
        }
    )


def _place_at_latest(inc: pa.Table, latest: pa.Table) -> pa.Table:
    """Incidents without a position get their vessel's latest one (``at_latest`` true)."""
    where = {
        int(m): (la, lo)
        for m, la, lo in zip(
            latest.column("mmsi").to_pylist(),
            latest.column("lat").to_pylist(),
            latest.column("lon").to_pylist(),
            strict=True,
        )
        if m is not None
    }
    missing = np.asarray(pc.is_null(inc.column("lat")).to_numpy(zero_copy_only=False), bool)
    lat = inc.column("lat").to_pylist()
    lon = inc.column("lon").to_pylist()
    for i in np.flatnonzero(missing).tolist():
        lat[i], lon[i] = where.get(int(inc.column("mmsi")[i].as_py()), (None, None))
    inc = inc.set_column(inc.schema.get_field_index("lat"), "lat", pa.array(lat, pa.float64()))
    inc = inc.set_column(inc.schema.get_field_index("lon"), "lon", pa.array(lon, pa.float64()))
    return inc.append_column(
        "at_latest",
        pa.array(missing & pc.is_valid(inc.column("lat")).to_numpy(zero_copy_only=False)),
    )


def _is(col: Any, value: str) -> Any:
    """``col == value``, null as false."""
    eq: Any = pc.equal(col, pa.scalar(value))
    return pc.fill_null(eq, pa.scalar(False))


def _key_types(events: pa.Table) -> list[pa.DataType]:
    s = events.schema
    return [
        s.field("event_type").type,
        s.field("mmsi").type,
        s.field("other_mmsi").type,
        pa.string(),
    ]


def _ranked(inc: pa.Table, per_type: int, top: int) -> tuple[pa.Table, np.ndarray[Any, Any]]:
    """The incidents kept, best first, and their distance from shore (km)."""
    from seawatch.geo.shore import distance_to_shore_km

    n = inc.num_rows
    if n == 0 or top <= 0:
        return inc.slice(0, 0), np.zeros(0)
    lat = _floats(inc.column("lat"))
    lon = _floats(inc.column("lon"))
    offshore = distance_to_shore_km(lat, lon)
    ranked = registry.priority()
    rank_of = {t: i for i, t in enumerate(ranked)}
    types = inc.column("event_type").to_pylist()
    prio = np.array([rank_of.get(str(t), len(ranked)) for t in types])
    start = np.array(
        [0 if t is None else t.timestamp() for t in inc.column("start_ts").to_pylist()]
    )
    ship: Any = pc.extract_regex(
        pc.fill_null(inc.column("details").combine_chunks(), pa.scalar("")),
        r'"ship_type":\s*(?P<v>\d+)',
    )
    fishing = np.asarray(
        pc.fill_null(
            pc.and_(
                pc.is_in(
                    inc.column("event_type").combine_chunks(),
                    value_set=pa.array(["zone_entry", "zone_present"]),
                ),
                pc.equal(pc.struct_field(ship, [0]), pa.scalar("30")),
            ),
            pa.scalar(False),
        ).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    order = np.lexsort((start, -np.nan_to_num(offshore, nan=0.0), ~fishing, prio))
    mmsi = inc.column("mmsi").to_pylist()
    kept: list[int] = []
    per: dict[int, int] = {}
    seen: set[int] = set()
    for i in order.tolist():
        if per.get(int(prio[i]), 0) < per_type and mmsi[i] not in seen:
            per[int(prio[i])] = per.get(int(prio[i]), 0) + 1
            seen.add(mmsi[i])
            kept.append(i)
        if len(kept) == top:
            break
    idx = np.array(kept, dtype=np.int64)
    return inc.take(idx), offshore[idx]


def _floats(col: pa.ChunkedArray[Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """A float column as numpy, null as NaN."""
    return np.array([np.nan if v is None else v for v in col.to_pylist()], np.float64)


def situation(
    events: pa.Table,
    vessels: pa.Table,
    *,
    latest: pa.Table | None = None,
    types: Sequence[str] = (),
    top: int = 8,
    per_type: int = 2,
    zone_names: Mapping[str, str | None] | None = None,
) -> Situation:
    """The summary of ``events``; names from ``vessels`` (columns ``mmsi``, ``name``),
    positions of incidents without one from ``latest`` (``mmsi``, ``lat``, ``lon``).

    ``types``: event types to list even when none occurred. ``zone_names``: zone names by
    ``<layer>:<polygon>`` (the store's ``zone_id``), for zone entries and presences.
    """
    inc = incidents(events)
    if latest is not None:
        inc = _place_at_latest(inc, latest)
    chosen, offshore = _ranked(inc, per_type, top)
    names = vessel_names(vessels)
    rows = chosen.to_pylist()
    lat = np.array([r["lat"] if r["lat"] is not None else np.nan for r in rows], np.float64)
    lon = np.array([r["lon"] if r["lon"] is not None else np.nan for r in rows], np.float64)
    places = port_places(lat, lon)
    mmsis = [r["mmsi"] for r in rows] + [r["other_mmsi"] for r in rows]
    flags = flag_names(mmsis)
    notable = []
    for k, r in enumerate(rows):
        vessel = Vessel(int(r["mmsi"]), names.get(int(r["mmsi"])), flags[k])
        other = None
        if r["other_mmsi"] is not None:
            o = int(r["other_mmsi"])
            other = Vessel(o, names.get(o), flags[len(rows) + k])
        off = float(offshore[k]) if math.isfinite(offshore[k]) else None
        notable.append(
            Notable(
                rank=k + 1,
                event_type=r["event_type"],
                kind=r["kind"],
                what=phrase(r, other, off, zone_names or {}),
                vessel=vessel,
                other=other,
                start=r["start_ts"],
                end=r["end_ts"],
                events=int(r["events"]),
                lat=r["lat"],
                lon=r["lon"],
                offshore_km=off,
                place=places[k],
                at_latest=bool(r.get("at_latest", False)),
            )
        )
    return Situation(event_counts(events, types), tuple(notable))
