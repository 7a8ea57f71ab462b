"""Cursor-on-Target (CoT 2.0) export for TAK: one ``<event>`` per vessel at its latest
position, or one marker per detected event.

In: latest positions (or positions, of which each vessel's latest is taken), or events,
with ``label_id``; the label dictionary, the node's id, the stale interval (setting
``cot_stale_s``) and, for replayed data, the time of the export (``now``). Out: a CoT
stream, one ``<event>`` document per line, as a TAK server or ``pytak`` sends them (the
file can be replayed to a TAK server as it is). Events are the markers the live CoT feed
sends (:mod:`seawatch.export.cot_markers`: a spot marker ``b-m-p-s-m``, or a suspect
sea-surface track ``a-s-S`` for an event whose rule states a suspicion of the vessel,
suspected disabling and spoofing). With ``incidents`` (``seawatch export events --format
cot``, unless ``--no-cot-incidents``), the incidents of those events follow, one marker
each (:mod:`seawatch.export.cot_incidents`: uid ``seawatch.<node>.incident.<id>``, under
the combined label of its events, its summary and confidence in ``<remarks>``). A vessel::

    <event version="2.0" uid="seawatch.<node>.<mmsi>" type="a-n-S" how="m-g"
           time=… start=… stale=… access="<marking>">
      <point lat lon hae="9999999.0" ce le="9999999.0"/>
      <detail><track course speed/><contact callsign/><remarks>marking</remarks></detail>
    </event>

- ``type``: ``a-n-S`` (neutral sea surface) when the MMSI is a ship station's with a MID
  allocated to a flag (ITU-R M.585; :func:`seawatch.tracks.mid.flags`), else ``a-u-S``
  (unknown: an invalid or non-ship MMSI says nothing about who the vessel is).
- ``time`` = ``start`` = the position's time; ``stale`` = that + ``stale_s``. With ``now``
  (``seawatch export --cot-stale-from export``: replayed data, whose times are past),
  ``time`` = ``now`` and ``stale`` = ``now`` + ``stale_s``; ``start`` stays the data's.
  Times are ISO 8601 UTC to the millisecond.
- ``how`` ``m-g``: machine, GPS (the position is the vessel's own GNSS fix, sent by AIS).
- ``point``: ``ce`` 10 m when the AIS position accuracy flag is set (ITU-R M.1371: better
  than 10 m), else 9999999.0 (unknown), as are ``hae`` and ``le``.
- ``track``: course over ground in degrees true and speed in m/s (knots × 0.514444,
  rounded to 6 decimals); left out when either is not available.
- ``contact callsign``: the vessel's name, else its call sign, else its MMSI.
- The record's label: its CAPCO marking is the ``remarks`` text and the event's ``access``
  attribute (CoT 2.0's optional access-control field), its caveats and REL TO list the
  MIL-STD-6090 ``caveat`` and ``releasableTo`` attributes.

The elements and attributes written are those of the CoT 2.0 event schema; the subset is
``schemas/cot-event-seawatch.xsd``. Read back with :func:`read_cot`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final
from xml.etree import ElementTree as ET

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.export.common import (
    TS_TYPE,
    ExportResult,
    Kind,
    binary_output,
    check_table,
    column_values,
    iso_times,
    marking_array,
    marking_of,
    xml_attr,
    xml_text,
)
from seawatch.export.cot_incidents import incident_lines
from seawatch.export.cot_markers import event_line, mil_attrs, times
from seawatch.labels import Label, Policy
from seawatch.tracks.mid import flags

__all__ = ["KNOT_M_S", "UNKNOWN", "latest_per_vessel", "read_cot", "write_cot"]

KNOT_M_S: Final = 0.514444
"""Metres per second in one knot (1852 m / 3600 s, as CoT's ``track speed`` wants)."""
UNKNOWN: Final = 9999999.0
"""CoT's value for an unknown height or error."""
ACCURATE_CE_M: Final = 10.0
BATCH_ROWS = 8192


def latest_per_vessel(table: pa.Table) -> pa.Table:
    """Each MMSI's row with the latest ``ts`` (ties: the first in table order)."""
    if table.num_rows == 0:
        return table
    ordered = table.sort_by([("mmsi", "ascending"), ("ts", "descending")])
    mmsi = ordered["mmsi"].to_numpy(zero_copy_only=False)
    first = np.ones(len(mmsi), dtype=bool)
    first[1:] = mmsi[1:] != mmsi[:-1]
    return ordered.filter(pa.array(first))


def _fmt(value: float) -> str:
    return repr(float(value))


def _callsign(name: Any, callsign: Any, mmsi: int) -> str:
    for text in (name, callsign):
        if isinstance(text, str) and text.strip():
            return text.strip()
    return str(mmsi)


def _attrs(values: Mapping[str, str]) -> str:
    return " ".join(f"{k}={xml_attr(v)}" for k, v in values.items())


def _event(row: Mapping[str, Any], node_id: str, stale: str | None, extra: str) -> str | None:
    """One vessel's ``<event>`` as a line of XML, or None without a usable position."""
    lon, lat = row["lon"], row["lat"]
    if lon is None or lat is None or row["ts"] is None:
        return None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        return None
    event = {
        "version": "2.0",
        "uid": f"seawatch.{node_id}.{row['mmsi']}",
        "type": row["type"],
        "time": row.get("time") or row["ts"],
        "start": row["ts"],
        "stale": stale or row["ts"],
        "how": "m-g",
        "access": row["label"],
    }
    ce = ACCURATE_CE_M if row.get("accuracy") else UNKNOWN
    point = {"lat": _fmt(lat), "lon": _fmt(lon), "hae": _fmt(UNKNOWN), "ce": _fmt(ce)}
    point["le"] = _fmt(UNKNOWN)
    parts = [f"<event {_attrs(event)}{extra}><point {_attrs(point)}/><detail>"]
    course, speed = row.get("course_deg"), row.get("speed_kn")
    if course is not None and speed is not None and 0 <= course < 360 and speed >= 0:
        track = {"course": _fmt(course), "speed": _fmt(round(speed * KNOT_M_S, 6))}
        parts.append(f"<track {_attrs(track)}/>")
    callsign = _callsign(row.get("name"), row.get("callsign"), row["mmsi"])
    parts.append(f"<contact callsign={xml_attr(callsign)}/>")
    parts.append(f"<remarks>{xml_text(row['label'])}</remarks></detail></event>\n")
    return "".join(parts)


def _placed(table: pa.Table) -> pa.Table:
    """The rows of ``table`` with a usable position."""
    fn: Any = pc  # the stubs reject scalars mixed with chunked arrays
    coords_ok = fn.and_(
        fn.and_(fn.is_finite(table["lon"]), fn.is_finite(table["lat"])),
        fn.and_(
            fn.less_equal(fn.abs(table["lon"]), 180.0),
            fn.less_equal(fn.abs(table["lat"]), 90.0),
        ),
    )
    return table.filter(fn.fill_null(coords_ok, False))


def _write_events(
    fh: IO[bytes],
    table: pa.Table,
    labels: Mapping[int, Label],
    node_id: str,
    stale_s: float,
    now: datetime | None,
) -> None:
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        for row in batch.to_pylist():
            line = event_line(
                row, labels[int(row["label_id"])], node_id, stale_s, suspicion=True, now=now
            )
            if line is not None:
                fh.write(line.encode())


def write_cot(
    table: pa.Table,
    labels: Mapping[int, Label],
    out: IO[bytes] | str | Path,
    *,
    kind: Kind = "latest",
    policy: Policy,
    node_id: str,
    stale_s: float,
    now: datetime | None = None,
    incidents: bool = False,
) -> ExportResult:
    """Write one CoT event per vessel of ``table`` (already filtered for its reader), or
    per event (``kind`` ``events``), then with ``incidents`` one per incident of those
    events (``rows`` counts the events).

    ``kind`` ``positions`` keeps each vessel's latest position. Records without a usable
    position are left out. ``now``: ``time`` and ``stale`` from the time of the export
    (module docstring).
    """
    check_table(table, kind)
    if kind == "events":
        placed = _placed(table)
        placed = placed.filter(pc.is_valid(placed["start_ts"]))
        marked = marking_of(placed, labels, policy)
        with binary_output(out) as fh:
            _write_events(fh, placed, labels, node_id, stale_s, now)
            if incidents:
                for marker in incident_lines(placed, labels, policy, node_id, stale_s, now):
                    fh.write(marker.encode())
        return marked.result(placed.num_rows)
    latest = _placed(latest_per_vessel(table))
    latest = latest.filter(pc.is_valid(latest["ts"]))
    marked = marking_of(latest, labels, policy)
    wanted = ("mmsi", "lon", "lat", "accuracy", "course_deg", "speed_kn", "name", "callsign")
    stale_us = round(stale_s * 1e6)
    fn: Any = pc
    with binary_output(out) as fh:
        for batch in latest.to_batches(max_chunksize=BATCH_ROWS):
            part = pa.Table.from_batches([batch])
            ts = part["ts"].cast(TS_TYPE)
            cols = {n: column_values(part[n]) for n in wanted if n in part.column_names}
            cols["ts"] = iso_times(ts, digits=3)
            stale_ts = pc.add(ts.cast(pa.int64()), stale_us).cast(TS_TYPE)
            cols["stale"] = iso_times(stale_ts, digits=3)
            cols["label"] = marking_array(part, labels).to_pylist()
            ids: list[int] = part["label_id"].to_pylist()  # type: ignore[assignment]
            kinds = flags(part["mmsi"])
            neutral = fn.and_(
                fn.equal(kinds["mmsi_class"], "ship"), fn.is_valid(kinds["flag"])
            ).to_pylist()
            cols["type"] = ["a-n-S" if n else "a-u-S" for n in neutral]
            keys = list(cols)
            for i in range(part.num_rows):
                row = {k: cols[k][i] for k in keys}
                extra = mil_attrs(labels[ids[i]])
                if now is not None:
                    row["time"], _, row["stale"] = times(now, now, stale_s, now)
                line = _event(row, node_id, row["stale"], f" {extra}" if extra else "")
                if line is not None:
                    fh.write(line.encode())
    return marked.result(latest.num_rows)


def read_cot(path: str | Path) -> pa.Table:
    """A CoT export back as a table: ``uid``, ``type``, ``how``, ``access``, ``time``,
    ``start``, ``stale`` (timestamps), ``lat``, ``lon``, ``hae``, ``ce``, ``le``,
    ``course_deg``, ``speed_m_s``, ``speed_kn``, ``callsign``, ``label`` (the remarks)."""
    rows: list[dict[str, Any]] = []
    with Path(path).open("rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            ev = ET.fromstring(line)
            point = ev.find("point")
            track = ev.find("detail/track")
            contact = ev.find("detail/contact")
            row: dict[str, Any] = {k: ev.get(k) for k in ("uid", "type", "how", "access")}
            row |= {k: ev.get(k) for k in ("time", "start", "stale")}
            for k in ("lat", "lon", "hae", "ce", "le"):
                row[k] = float(point.get(k, "nan")) if point is not None else None
            course = None if track is None else track.get("course")
            speed = None if track is None else track.get("speed")
            row["course_deg"] = None if course is None else float(course)
            row["speed_m_s"] = None if speed is None else float(speed)
            row["speed_kn"] = None if speed is None else float(speed) / KNOT_M_S
            row["callsign"] = None if contact is None else contact.get("callsign")
            row["label"] = ev.findtext("detail/remarks")
            rows.append(row)
    schema = pa.schema(
        [("uid", pa.string()), ("type", pa.string()), ("how", pa.string())]
        + [("access", pa.string())]
        + [(k, TS_TYPE) for k in ("time", "start", "stale")]
        + [(k, pa.float64()) for k in ("lat", "lon", "hae", "ce", "le")]
        + [(k, pa.float64()) for k in ("course_deg", "speed_m_s", "speed_kn")]
        + [("callsign", pa.string()), ("label", pa.string())]
    )
    columns = {f.name: [r[f.name] for r in rows] for f in schema}
    arrays = [
        pa.array(columns[f.name], pa.string()).cast(f.type)
        if pa.types.is_timestamp(f.type)
        else pa.array(columns[f.name], f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)
