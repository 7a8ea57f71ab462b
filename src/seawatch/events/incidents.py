"""Incidents: the events an analyst triages, grouped, weighed and placed.

In: events (:data:`~seawatch.events.schema.EVENTS_SCHEMA` columns, as a reader may read
them) and :class:`~seawatch.events.triage.TriageParams`. Out: :func:`incidents`, one row
per incident (:data:`INCIDENT_COLUMNS`); which events are incidents at all, and which
incident each belongs to, is :func:`seawatch.events.triage.classify`'s (docs/events.md,
"Incidents").

An incident is one per kind, vessel, other vessel and rule or field (the spoofing rule, the
identity field): the 500 position jumps of one spoofed MMSI are one incident; the jumps and
identity flips of an MMSI shared by two transmitters are one ``shared_mmsi`` incident; every
event of every invalid MMSI is one ``misconfigured_transponders`` incident. Each incident
has its **confidence**: the highest ``confidence`` among its events (an incident is as sure
as its strongest evidence; each detector documents its events': 1 for a rule that fully
fired, lower for one still open or partly seen). It is **placed** at its event farthest from
shore (the first such, in time), and **minor** when every event of it is below its noise
level. :mod:`seawatch.serve.situation` ranks, names and words them.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import Counter
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.events.mmsi_check import REASONS, mmsi_problem
from seawatch.events.triage import MISCONFIGURED, SHARED_MMSI, TriageParams, classify, is_imo_number

__all__ = ["INCIDENT_COLUMNS", "incidents"]

_KEYS: Final = ("incident", "mmsi", "other_mmsi", "kind")

INCIDENT_COLUMNS: Final = (
    "incident_id",
    "incident",
    "event_type",
    "mmsi",
    "other_mmsi",
    "kind",
    "events",
    "vessels",
    "by_type",
    "start_ts",
    "end_ts",
    "lat",
    "lon",
    "confidence",
    "minor",
    "details",
)
"""``incident_id``: hex blake2b-128 of the key; ``incident``: its kind (an event type,
``shared_mmsi``, ``misconfigured_transponders``); ``event_type``: its first event's type;
``events``, ``vessels`` (distinct MMSIs), ``by_type`` (JSON: events per type); times: the
earliest start, the latest end (null when every event is open); ``lat``/``lon``: its event
farthest from shore; ``details``: its first event's, or (shared MMSI, misconfigured
transponders) what was measured over all of them."""


def _incident_id(key: tuple[Any, ...]) -> str:
    text = "|".join("" if v is None else str(v) for v in key)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _offshore(lat: np.ndarray[Any, Any], lon: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    from seawatch.geo.shore import distance_to_shore_km

    if len(lat) == 0:
        return np.zeros(0)
    return np.asarray(distance_to_shore_km(lat, lon), dtype=np.float64)


def _floats(col: Any) -> np.ndarray[Any, Any]:
    return np.array([np.nan if v is None else v for v in col.to_pylist()], np.float64)


def _shared_details(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What two transmitters on one MMSI left: how far apart, how many jumps and flips."""
    distances: list[float] = []
    pairs = jumps = 0
    values: dict[str, list[Any]] = {}
    changes: Counter[str] = Counter()
    for r in rows:
        d = _json(r["details"])
        if r["event_type"] == "spoofing":
            jumps += 1
            pairs += int(d.get("n_two_places") or 0)
            if isinstance(d.get("max_distance_m"), int | float):
                distances.append(float(d["max_distance_m"]))
        elif r["event_type"] == "identity_change" and d.get("field"):
            field = str(d["field"])
            changes[field] += 1
            seen = values.setdefault(field, [])
            for v in (d.get("before"), d.get("after")):
                if v is not None and v not in seen and len(seen) < 3:
                    seen.append(v)
    return {
        "apart_m": statistics.median(distances) if distances else None,
        "jumps": jumps,
        "two_places": pairs,
        "identity_changes": sum(changes.values()),
        "values": [
            {"field": f, "values": values[f]}
            for f in sorted(changes, key=lambda f: (-changes[f], _order(f)))
        ],
    }


def _order(field: str) -> int:
    """Identity fields by how plainly they tell two ships apart (names first)."""
    known = ("name", "imo", "callsign", "draught_m", "ship_type", "flag")
    return known.index(field) if field in known else len(known)


def _misconfigured_details(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The invalid MMSIs, most events first, each with why it is not an MMSI."""
    counts = Counter(int(r["mmsi"]) for r in rows)
    mmsis = [m for m, _ in counts.most_common()]
    problems = mmsi_problem(np.array(mmsis, np.int64)).tolist()
    return {
        "mmsis": [
            {
                "mmsi": m,
                "events": counts[m],
                "reason": "imo_number" if is_imo_number(m) else REASONS.get(int(p), "format"),
            }
            for m, p in zip(mmsis, problems, strict=True)
        ]
    }


def _main_mmsi(rows: list[dict[str, Any]]) -> Any:
    """The MMSI with the most events (the earliest first among equals)."""
    return Counter(r["mmsi"] for r in rows).most_common(1)[0][0]


def _json(text: str | None) -> dict[str, Any]:
    try:
        out = json.loads(text or "{}")
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}


def _empty(events: pa.Table) -> pa.Table:
    s = events.schema
    ts = s.field("start_ts").type
    types = {
        "incident_id": pa.string(),
        "incident": pa.string(),
        "event_type": pa.string(),
        "mmsi": s.field("mmsi").type,
        "other_mmsi": s.field("other_mmsi").type,
        "kind": pa.string(),
        "events": pa.int64(),
        "vessels": pa.int64(),
        "by_type": pa.string(),
        "start_ts": ts,
        "end_ts": ts,
        "lat": pa.float64(),
        "lon": pa.float64(),
        "confidence": pa.float64(),
        "minor": pa.bool_(),
        "details": pa.string(),
    }
    return pa.schema([pa.field(k, types[k]) for k in INCIDENT_COLUMNS]).empty_table()


def incidents(events: pa.Table, params: TriageParams | None = None) -> pa.Table:
    """The incidents of ``events`` (those :func:`~seawatch.events.triage.classify` calls
    incidents), in no particular order; columns :data:`INCIDENT_COLUMNS`."""
    t = classify(events, params)
    t = t.filter(pc.equal(t.column("role"), pa.scalar("incident")))
    if t.num_rows == 0:
        return _empty(events)
    t = t.sort_by([("start_ts", "ascending"), ("event_id", "ascending")])
    misconf = pc.equal(t.column("incident"), pa.scalar(MISCONFIGURED)).to_numpy(
        zero_copy_only=False
    )
    shared = pc.equal(t.column("incident"), pa.scalar(SHARED_MMSI)).to_numpy(zero_copy_only=False)
    keys = list(
        zip(
            *(t.column(k).to_pylist() for k in ("incident", "mmsi", "other_mmsi", "kind")),
            strict=True,
        )
    )
    keys = [
        (k[0], None, None, None) if m else ((k[0], k[1], None, None) if s else k)
        for k, m, s in zip(keys, misconf.tolist(), shared.tolist(), strict=True)
    ]
    index: dict[tuple[Any, ...], int] = {}
    gid = np.array([index.setdefault(k, len(index)) for k in keys], dtype=np.int64)
    n = len(index)
    lat, lon = _floats(t.column("lat")), _floats(t.column("lon"))
    off = np.nan_to_num(_offshore(lat, lon), nan=-1.0)
    # per incident: its first event (time order) and its event farthest from shore
    first = np.unique(gid, return_index=True)[1]
    far_order = np.lexsort((np.arange(len(gid)), -off, gid))
    far = far_order[np.unique(gid[far_order], return_index=True)[1]]
    conf = np.full(n, -np.inf)
    np.maximum.at(conf, gid, np.nan_to_num(_floats(t.column("confidence")), nan=0.0))
    minor = np.ones(n, dtype=bool)
    np.logical_and.at(minor, gid, np.asarray(t.column("minor").to_numpy(zero_copy_only=False)))
    rows = t.select(["event_type", "mmsi", "start_ts", "end_ts", "details"]).to_pylist()
    members: list[list[int]] = [[] for _ in range(n)]
    for i, g in enumerate(gid.tolist()):
        members[g].append(i)
    out: dict[str, list[Any]] = {c: [] for c in INCIDENT_COLUMNS}
    for key, g in index.items():
        mine = [rows[i] for i in members[g]]
        ends = [r["end_ts"] for r in mine if r["end_ts"] is not None]
        if key[0] == SHARED_MMSI:
            details = json.dumps(_shared_details(mine), sort_keys=True)
        elif key[0] == MISCONFIGURED:
            details = json.dumps(_misconfigured_details(mine), sort_keys=True)
        else:
            details = mine[0]["details"]
        f, p = int(first[g]), int(far[g])
        values = {
            "incident_id": _incident_id(key),
            "incident": key[0],
            "event_type": rows[f]["event_type"],
            "mmsi": _main_mmsi(mine) if key[1] is None else key[1],
            "other_mmsi": key[2],
            "kind": key[3],
            "events": len(mine),
            "vessels": len({r["mmsi"] for r in mine}),
            "by_type": json.dumps(Counter(r["event_type"] for r in mine), sort_keys=True),
            "start_ts": min(r["start_ts"] for r in mine),
            "end_ts": max(ends) if ends else None,
            "lat": None if np.isnan(lat[p]) else float(lat[p]),
            "lon": None if np.isnan(lon[p]) else float(lon[p]),
            "confidence": float(conf[g]),
            "minor": bool(minor[g]),
            "details": details,
        }
        for c in INCIDENT_COLUMNS:
            out[c].append(values[c])
    schema = _empty(events).schema
    return pa.table({c: pa.array(out[c], schema.field(c).type) for c in INCIDENT_COLUMNS})
