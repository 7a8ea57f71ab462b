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
from collections import Counter
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.events.mmsi_check import REASONS, mmsi_problem
from seawatch.events.triage import (
    MISCONFIGURED,
    SHARED_MMSI,
    TriageParams,
    classify,
    is_imo_number,
    raw_value,
)

__all__ = ["INCIDENT_COLUMNS", "incidents", "members"]

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
    """A float column as numpy, null as NaN."""
    flat: Any = pa.chunked_array(col).combine_chunks().cast(pa.float64())
    arr: Any = pc.fill_null(flat, pa.scalar(np.nan, pa.float64()))
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)


def _distinct(values: Any, limit: int = 3) -> list[Any]:
    """Up to ``limit`` distinct JSON values of ``values`` (raw JSON texts), first seen first."""
    out: list[Any] = []
    for text in pc.unique(pc.drop_null(values)).to_pylist()[:limit]:
        try:
            out.append(json.loads(text))
        except ValueError:
            continue
    return out


def _shared_details(t: pa.Table) -> dict[str, Any]:
    """What two transmitters on one MMSI left (``t``: its events, in time order): how far
    apart, how many jumps, how many identity changes and the values that alternate."""
    etype: Any = pc.fill_null(t.column("event_type").combine_chunks(), pa.scalar(""))
    details: Any = t.column("details").combine_chunks()
    jumps: Any = pc.equal(etype, pa.scalar("spoofing"))
    on_jumps: Any = details.filter(jumps)
    distances = _floats(pc.cast(raw_value(on_jumps, "max_distance_m"), pa.float64()))
    pairs = np.nan_to_num(_floats(pc.cast(raw_value(on_jumps, "n_two_places"), pa.float64())))
    ident: Any = pc.equal(etype, pa.scalar("identity_change"))
    fields: Any = t.column("kind").combine_chunks().filter(ident)
    counted: Any = pc.value_counts(pc.drop_null(fields))
    counted = counted.to_pylist()
    changes = Counter({str(v["values"]): int(v["counts"]) for v in counted})
    values = []
    for f in sorted(changes, key=lambda f: (-changes[f], _order(f))):
        mine: Any = details.filter(ident).filter(pc.equal(fields, pa.scalar(f)))
        # before, after, before, ...: the values in the order they were heard
        both = pa.concat_arrays([raw_value(mine, "before"), raw_value(mine, "after")])
        order = np.argsort(np.r_[np.arange(len(mine)), np.arange(len(mine))], kind="stable")
        values.append({"field": f, "values": _distinct(both.take(order))})
    finite = distances[np.isfinite(distances)]
    return {
        "apart_m": float(np.median(finite)) if len(finite) else None,
        "jumps": int(pc.sum(jumps.cast(pa.int64())).as_py() or 0),
        "two_places": int(pairs.sum()),
        "identity_changes": sum(changes.values()),
        "values": values,
    }


def _order(field: str) -> int:
    """Identity fields by how plainly they tell two ships apart (names first)."""
    known = ("name", "imo", "callsign", "draught_m", "ship_type", "flag")
    return known.index(field) if field in known else len(known)


def _misconfigured_details(mmsi: Any) -> dict[str, Any]:
    """The invalid MMSIs (of each event), most events first, each with why it is not one."""
    counts = Counter(int(m) for m in mmsi.to_pylist() if m is not None)
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


def _group_ids(t: pa.Table) -> tuple[np.ndarray[Any, Any], list[tuple[Any, ...]]]:
    """Each event's incident (0, 1, ... in order of first event) and each incident's key
    (kind, mmsi, other_mmsi, rule or field): kind and MMSI for a shared MMSI, kind alone for
    the misconfigured transponders."""
    kind: Any = t.column("incident").combine_chunks()
    whole: Any = pc.equal(kind, pa.scalar(MISCONFIGURED))
    per_mmsi: Any = pc.or_(whole, pc.equal(kind, pa.scalar(SHARED_MMSI)))
    none_i: Any = pa.scalar(None, pa.int64())
    none_s: Any = pa.scalar(None, pa.string())
    cols: list[Any] = [
        kind,
        pc.if_else(whole, none_i, t.column("mmsi").combine_chunks().cast(pa.int64())),
        pc.if_else(per_mmsi, none_i, t.column("other_mmsi").combine_chunks().cast(pa.int64())),
        pc.if_else(per_mmsi, none_s, t.column("kind").combine_chunks()),
    ]
    text = [pc.fill_null(pc.cast(c, pa.string()), "") for c in cols]
    joined: Any = pc.binary_join_element_wise(*text, "|")
    encoded: Any = pc.dictionary_encode(joined)
    gid = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    first = np.unique(gid, return_index=True)[1]
    keys = list(zip(*(pa.array(c).take(first).to_pylist() for c in cols), strict=True))
    return gid, keys


def _by_type(gid: np.ndarray[Any, Any], etype: Any, n: int) -> list[str]:
    """Each incident's events per type, as JSON."""
    encoded: Any = pc.dictionary_encode(etype)
    names = encoded.dictionary.to_pylist()
    code = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    pairs, counts = np.unique(gid * len(names) + code, return_counts=True)
    out: list[dict[str, int]] = [{} for _ in range(n)]
    for pair, c in zip(pairs.tolist(), counts.tolist(), strict=True):
        out[pair // len(names)][str(names[pair % len(names)])] = int(c)
    return [json.dumps(d, sort_keys=True) for d in out]


def incidents(
    events: pa.Table, params: TriageParams | None = None, *, classified: pa.Table | None = None
) -> pa.Table:
    """The incidents of ``events`` (those :func:`~seawatch.events.triage.classify` calls
    incidents), in order of their first event; columns :data:`INCIDENT_COLUMNS`.
    ``classified``: ``classify(events, params)`` when the caller has it already."""
    t = classify(events, params) if classified is None else classified
    t = t.filter(pc.equal(t.column("role"), pa.scalar("incident")))
    if t.num_rows == 0:
        return _empty(events)
    t = t.sort_by([("start_ts", "ascending"), ("event_id", "ascending")])
    gid, keys = _group_ids(t)
    n = len(keys)
    first = np.unique(gid, return_index=True)[1]
    lat, lon = _floats(t.column("lat")), _floats(t.column("lon"))
    off = np.nan_to_num(_offshore(lat, lon), nan=-1.0)
    far_order = np.lexsort((np.arange(len(gid)), -off, gid))
    far = far_order[np.unique(gid[far_order], return_index=True)[1]]
    conf = np.full(n, -np.inf)
    np.maximum.at(conf, gid, np.nan_to_num(_floats(t.column("confidence")), nan=0.0))
    minor = np.ones(n, dtype=bool)
    np.logical_and.at(minor, gid, np.asarray(t.column("minor").to_numpy(zero_copy_only=False)))
    no_end = np.iinfo(np.int64).min
    ends: Any = pc.fill_null(t.column("end_ts").cast(pa.int64()), pa.scalar(no_end, pa.int64()))
    end_us = np.asarray(ends.to_numpy(), dtype=np.int64)
    end = np.full(n, no_end, dtype=np.int64)
    np.maximum.at(end, gid, end_us)
    mmsi = np.asarray(t.column("mmsi").cast(pa.int64()).to_numpy(), dtype=np.int64)
    vessels = np.bincount(np.unique(gid * 2**32 + (mmsi & 0xFFFFFFFF)) // 2**32, minlength=n)
    details = t.column("details").combine_chunks().take(first).to_pylist()
    main = mmsi[first].tolist()
    by_incident = np.argsort(gid, kind="stable")
    bounds = np.searchsorted(gid[by_incident], np.arange(n + 1))
    for g, key in enumerate(keys):
        if key[0] not in (SHARED_MMSI, MISCONFIGURED):
            continue
        mine = t.take(by_incident[bounds[g] : bounds[g + 1]])
        if key[0] == SHARED_MMSI:
            details[g] = json.dumps(_shared_details(mine), sort_keys=True)
        else:
            found = _misconfigured_details(mine.column("mmsi"))
            details[g] = json.dumps(found, sort_keys=True)
            main[g] = found["mmsis"][0]["mmsi"]
    schema = _empty(events).schema
    ts = schema.field("end_ts").type
    cols: dict[str, Any] = {
        "incident_id": [_incident_id(k) for k in keys],
        "incident": [k[0] for k in keys],
        "event_type": t.column("event_type").take(first),
        "mmsi": main,
        "other_mmsi": [k[2] for k in keys],
        "kind": [k[3] for k in keys],
        "events": np.bincount(gid, minlength=n),
        "vessels": vessels,
        "by_type": _by_type(gid, t.column("event_type").combine_chunks(), n),
        "start_ts": t.column("start_ts").take(first),
        "end_ts": pa.array(end, pa.int64(), mask=end == no_end).cast(ts),
        "lat": pa.array(lat[far], mask=np.isnan(lat[far])),
        "lon": pa.array(lon[far], mask=np.isnan(lon[far])),
        "confidence": conf,
        "minor": minor,
        "details": details,
    }
    return pa.table(
        {
            c: pa.array(v, schema.field(c).type) if not isinstance(v, pa.ChunkedArray) else v
            for c, v in cols.items()
        },
        schema=schema,
    )


def members(classified: pa.Table) -> pa.Table:
    """Which incident each incident event of ``classified`` (:func:`classify`'s output)
    belongs to: its ``event_id`` and ``label_id`` (when it has one) with ``incident_id``,
    the id :func:`incidents` gives that incident; so that what is derived from an incident
    (a CoT marker) can carry the combined label of exactly its events."""
    t = classified.filter(pc.equal(classified.column("role"), pa.scalar("incident")))
    keep = [c for c in ("event_id", "label_id") if c in t.column_names]
    if t.num_rows == 0:
        return t.select(keep).append_column("incident_id", pa.array([], pa.string()))
    gid, keys = _group_ids(t)
    ids = pa.array([_incident_id(k) for k in keys], pa.string())
    return t.select(keep).append_column("incident_id", ids.take(pa.array(gid)))
