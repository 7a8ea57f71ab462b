"""A situation summary: events per type beside the incidents they make, and the most notable
incidents ranked, with names, flags, places and confidence.

In: events as the store's query layer returns them (:meth:`Query.events` columns) and the
vessels' latest static reports (:meth:`Query.vessels` columns), both already filtered for
one reader. Out: a :class:`Situation` (counts per type, incidents counted, ranked
:class:`Notable` incidents; :meth:`Situation.as_dict` for JSON) and, separately, its text
(:func:`format_situation`, from :mod:`.situation_text`, which also words the incidents and
names their places).

Which events are incidents, and how they are grouped, is the events stage's
(:mod:`seawatch.events.triage`, :mod:`seawatch.events.incidents`; docs/events.md). Ranking
(docs/run.md): minor incidents are left out; the rest are ordered by kind
(:func:`~seawatch.events.triage.incident_kinds`: the registry's rank of each event type,
``shared_mmsi`` just before ``spoofing``, ``misconfigured_transponders`` last), then (zone
entries, and vessels present in a zone at their track's start) fishing vessels first (ITU
ship type 30: the concern of a fishing zone), then by weight: surer first (confidence), more
events first, farther from shore first, earlier first; at most ``per_type`` of a kind, one
per vessel (its best) and ``top`` in all are kept. An incident without a position (identity
changes) is placed at the vessel's latest position when ``latest`` is given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.events import registry
from seawatch.events.incidents import incidents
from seawatch.events.triage import TriageParams, classify, incident_kinds
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
    "TriageParams",
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


@dataclass(frozen=True)
class Count:
    """Events of one type, the distinct vessels (MMSIs) involved, and what they make:
    incidents holding events of the type (of which minor), and events that are not
    incidents (routine; gaps still open at the end of the data)."""

    event_type: str
    events: int
    vessels: int
    incidents: int = 0
    minor: int = 0
    routine: int = 0
    open_at_end: int = 0


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
    """One ranked incident: what, who, when, where, and how sure."""

    rank: int
    incident: str
    """Its kind: an event type, ``shared_mmsi`` or ``misconfigured_transponders``."""
    event_type: str
    """The type of its first event."""
    kind: str | None
    what: str
    vessel: Vessel
    other: Vessel | None
    start: dt.datetime | None
    end: dt.datetime | None
    events: int
    vessels: int
    """Distinct MMSIs of its events (misconfigured transponders: more than one)."""
    by_type: dict[str, int]
    """Its events per event type."""
    confidence: float
    """The highest confidence of its events (docs/events.md, "Incidents")."""
    lat: float | None
    lon: float | None
    offshore_km: float | None
    place: str
    incident_id: str
    at_latest: bool = False
    """The incident has no position of its own: ``lat``/``lon`` are the vessel's latest."""


@dataclass(frozen=True)
class Situation:
    """Counts per event type (most first), incidents counted, the notable ones (ranked)."""

    counts: tuple[Count, ...]
    notable: tuple[Notable, ...]
    incidents: int = 0
    """Incidents in all (minor ones included)."""
    minor: int = 0
    """Incidents below the noise levels: counted, never ranked."""

    @property
    def total(self) -> int:
        return sum(c.events for c in self.counts)

    @property
    def routine(self) -> int:
        return sum(c.routine for c in self.counts)

    @property
    def open_at_end(self) -> int:
        return sum(c.open_at_end for c in self.counts)

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-able data (what the API returns): ``total``, ``incidents``,
        ``minor``, ``routine``, ``open_at_end``, ``counts`` and ``notable``, each field as
        named here; times ISO 8601 UTC with ``Z``, a vessel ``{"mmsi", "name", "flag"}``."""
        out: dict[str, Any] = _jsonable(dataclasses.asdict(self))
        extra = {"routine": self.routine, "open_at_end": self.open_at_end}
        return {"total": self.total, **out, **extra}


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


def event_counts(
    events: pa.Table,
    types: Sequence[str] = (),
    *,
    incidents_of: pa.Table | None = None,
    params: TriageParams | None = None,
    classified: pa.Table | None = None,
) -> tuple[Count, ...]:
    """Events and distinct vessels per type, most events first, beside the incidents they
    make (``incidents_of``: :func:`incidents` of ``events``; computed when None) and the
    events that are not incidents; ``types`` absent count 0. ``classified``:
    :func:`~seawatch.events.triage.classify` of ``events``, when the caller has it."""
    found: dict[str, dict[str, Any]] = {}
    if events.num_rows:
        t = classify(events, params) if classified is None else classified
        for etype, mmsi, role in zip(
            t.column("event_type").to_pylist(),
            t.column("mmsi").to_pylist(),
            t.column("role").to_pylist(),
            strict=True,
        ):
            c = found.setdefault(str(etype), {"n": 0, "vessels": set(), "role": {}})
            c["n"] += 1
            c["vessels"].add(mmsi)
            c["role"][role] = c["role"].get(role, 0) + 1
        inc = incidents(events, params, classified=t) if incidents_of is None else incidents_of
        for by_type, minor in zip(
            inc.column("by_type").to_pylist(), inc.column("minor").to_pylist(), strict=True
        ):
            for etype in json.loads(by_type or "{}"):
                c = found[etype]
                c["incidents"] = c.get("incidents", 0) + 1
                c["minor"] = c.get("minor", 0) + int(bool(minor))
    rows = [
        Count(
            t,
            c["n"],
            len(c["vessels"]),
            c.get("incidents", 0),
            c.get("minor", 0),
            c["role"].get("routine", 0),
            c["role"].get("open_at_end", 0),
        )
        for t, c in found.items()
    ]
    rows += [Count(t, 0, 0) for t in types if t not in found]
    return tuple(sorted(rows, key=lambda c: (-c.events, c.event_type)))


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


def _ranked(inc: pa.Table, per_type: int, top: int) -> tuple[pa.Table, np.ndarray[Any, Any]]:
    """The incidents kept, best first, and their distance from shore (km)."""
    from seawatch.geo.shore import distance_to_shore_km

    inc = inc.filter(pc.invert(inc.column("minor")))
    if inc.num_rows == 0 or top <= 0:
        return inc.slice(0, 0), np.zeros(0)
    offshore = distance_to_shore_km(_floats(inc.column("lat")), _floats(inc.column("lon")))
    kinds = incident_kinds()
    rank_of = {t: i for i, t in enumerate(kinds)}
    prio = np.array([rank_of.get(str(t), len(kinds)) for t in inc.column("incident").to_pylist()])
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
                    inc.column("incident").combine_chunks(),
                    value_set=pa.array(["zone_entry", "zone_present"]),
                ),
                pc.equal(pc.struct_field(ship, [0]), pa.scalar("30")),
            ),
            pa.scalar(False),
        ).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    confidence = np.nan_to_num(_floats(inc.column("confidence")), nan=0.0)
    events = np.asarray(inc.column("events").to_numpy(), dtype=np.int64)
    order = np.lexsort(
        (start, -np.nan_to_num(offshore, nan=0.0), -events, -confidence, ~fishing, prio)
    )
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
    params: TriageParams | None = None,
) -> Situation:
    """The summary of ``events``; names from ``vessels`` (columns ``mmsi``, ``name``),
    positions of incidents without one from ``latest`` (``mmsi``, ``lat``, ``lon``).

    ``types``: event types to list even when none occurred. ``zone_names``: zone names by
    ``<layer>:<polygon>`` (the store's ``zone_id``), for zone entries and presences.
    ``params``: the triage's noise levels and rules (default :class:`TriageParams`).
    """
    classified = classify(events, params)
    every = incidents(events, params, classified=classified)
    inc = every if latest is None else _place_at_latest(every, latest)
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
                incident=r["incident"],
                event_type=r["event_type"],
                kind=r["kind"],
                what=phrase(r, other, off, zone_names or {}),
                vessel=vessel,
                other=other,
                start=r["start_ts"],
                end=r["end_ts"],
                events=int(r["events"]),
                vessels=int(r["vessels"]),
                by_type={str(t): int(n) for t, n in json.loads(r["by_type"]).items()},
                confidence=float(r["confidence"]),
                lat=r["lat"],
                lon=r["lon"],
                offshore_km=off,
                place=places[k],
                incident_id=r["incident_id"],
                at_latest=bool(r.get("at_latest", False)),
            )
        )
    counts = event_counts(events, types, incidents_of=every, classified=classified)
    minor = int(pc.sum(every.column("minor").cast(pa.int64())).as_py() or 0)
    return Situation(counts, tuple(notable), every.num_rows, minor)
