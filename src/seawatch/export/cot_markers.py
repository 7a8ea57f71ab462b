"""Cursor-on-Target markers of what happened: detected events and fired alerts, one
``<event>`` line each, for the CoT feed (:mod:`seawatch.serve.cot_feed`, through
:mod:`seawatch.serve.cot_markers`) and the CoT export of events (:mod:`.cot`).

In: one row (an ``events`` row, or an alert row: ``alert_id``, ``rule_name``, ``kind``,
``mmsi``, ``lat``, ``lon``, ``ts``), the label of that row, the node's id and the stale
interval (setting ``cot_stale_s``). Out: one CoT 2.0 ``<event>`` line, or None for a row
without a usable position (a marker must stand somewhere).

Every marker carries the row's marking three ways, because routers keep different parts
of an event: in the ``access`` attribute (CoT 2.0), in the MIL-STD-6090 ``caveat`` and
``releasableTo`` attributes (:func:`mil_attrs`), and first in ``<remarks>`` (a TAK server
that rebuilds the ``<event>`` element, as taky 0.10 does, drops the attributes but passes
``<detail>`` on untouched).

- An event is a spot map marker, :data:`EVENT_TYPE` (``b-m-p-s-m``): something happened
  there, nothing moves; ``how`` :data:`EVENT_HOW`. With ``suspicion`` (the exports), an
  event whose rule states a suspicion of the vessel (:data:`SUSPECT_EVENTS`) is a suspect
  sea-surface track instead, :data:`SUSPECT_TYPE` (``a-s-S``), so that TAK draws it as one.
- ``time``/``start``/``stale`` follow the data; with ``now`` (replayed data, whose times
  are past), ``time`` is ``now`` and ``stale`` is ``now`` + the stale interval, so a TAK
  client shows the marker instead of dropping it as stale on arrival.
- An incident (:mod:`seawatch.events.incidents`: the events of one vessel, rule and kind,
  grouped) is a marker too (:func:`incident_line`, uid
  ``seawatch.<node>.incident.<incident_id>``), typed as its events are: :data:`SUSPECT_TYPE`
  when its kind states a suspicion (:data:`SUSPECT_INCIDENTS`), else :data:`EVENT_TYPE`;
  its summary and confidence in ``<remarks>``, after the marking of the combined label of
  its events (the caller's: :mod:`.cot_incidents`).
- An alert is an alarm (``b-a-...``, ATAK's emergency types): ``b-a-g`` "Geo-fence
  Breached" for a zone entry or exit, ``b-a-o-c`` "Custom" for every other kind
  (:data:`ALERT_TYPES`). Never ``b-a-o-tbl``: ATAK shows that as a person's 911 call.
  The ``<emergency type=...>`` detail names the alarm as ATAK does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import pyarrow as pa

from seawatch.export.common import TS_TYPE, iso_times, xml_attr, xml_text
from seawatch.labels import Label

__all__ = [
    "ALERT_DEFAULT_TYPE",
    "ALERT_TYPES",
    "EVENT_HOW",
    "EVENT_TYPE",
    "SUSPECT_EVENTS",
    "SUSPECT_INCIDENTS",
    "SUSPECT_TYPE",
    "alert_line",
    "alert_uid",
    "event_cot_type",
    "event_line",
    "event_uid",
    "incident_cot_type",
    "incident_line",
    "incident_summary",
    "incident_uid",
    "mil_attrs",
    "times",
]

EVENT_TYPE: Final = "b-m-p-s-m"
"""CoT type of a detected event: a spot map marker (``b-m-p-s-m``), the point ATAK draws
as a dropped marker, not a track: an event happened there, nothing is moving."""
SUSPECT_TYPE: Final = "a-s-S"
"""CoT type of an event whose rule states a suspicion: a suspect sea-surface track."""
SUSPECT_EVENTS: Final = frozenset({"suspected_disabling", "spoofing"})
"""Event types whose rule states a suspicion of the vessel: AIS switched off far out where
reception was good (suspected disabling, DOMAIN.md §5), positions no ship can have sent
(spoofing: jumps no ship can make, positions on land). The other types say what a vessel
did (a gap, an encounter, loitering), which is not by itself suspect."""
SUSPECT_INCIDENTS: Final = SUSPECT_EVENTS | {"shared_mmsi"}
"""Incident kinds whose rule states a suspicion: those of :data:`SUSPECT_EVENTS`, and a
shared MMSI (one MMSI used by two transmitters: positions in two places at once, identity
values that alternate). Misconfigured transponders (invalid MMSIs) are a fault, not a
suspicion; the other kinds say what a vessel did."""
EVENT_HOW: Final = "m-f"
"""CoT ``how`` of a detected event or an alert: machine, fused (derived from reports)."""
ALERT_TYPES: Final[Mapping[str, tuple[str, str]]] = {
    "zone_entry": ("b-a-g", "Geo-fence Breached"),
    "zone_exit": ("b-a-g", "Geo-fence Breached"),
}
"""CoT type and ATAK emergency name of an alert, by rule kind (others: the default)."""
ALERT_DEFAULT_TYPE: Final = ("b-a-o-c", "Custom")
"""An alert of a kind not in :data:`ALERT_TYPES` (gap, encounter, loitering, watchlist)."""
_UNKNOWN: Final = "9999999.0"


def mil_attrs(label: Label) -> str:
    """The MIL-STD-6090 ``caveat`` and ``releasableTo`` attributes of ``label`` (caveats
    joined by ``/``; REL TO entries by spaces), as XML attribute text, or ``""``."""
    parts = []
    if label.caveats:
        parts.append(f"caveat={xml_attr('/'.join(sorted(label.caveats)))}")
    rel = label.rel_to_list()
    if rel is not None:
        parts.append(f"releasableTo={xml_attr(' '.join(rel))}")
    return " ".join(parts)


def event_uid(node_id: str, event_id: object) -> str:
    return f"seawatch.{node_id}.event.{event_id}"


def alert_uid(node_id: str, alert_id: object) -> str:
    return f"seawatch.{node_id}.alert.{alert_id}"


def incident_uid(node_id: str, incident_id: object) -> str:
    return f"seawatch.{node_id}.incident.{incident_id}"


def times(
    start: datetime, end: datetime, stale_s: float, now: datetime | None = None
) -> tuple[str, str, str]:
    """CoT ``time``, ``start`` and ``stale`` (ISO 8601 UTC, milliseconds) of something seen
    from ``start`` to ``end``: the data's times (``time`` = ``start``, ``stale`` = ``end`` +
    ``stale_s``), or with ``now`` (replayed data) ``time`` = ``now`` and ``stale`` = ``now``
    + ``stale_s``."""
    anchor = end if now is None else now
    stamps = [start, anchor + timedelta(seconds=stale_s)] + ([] if now is None else [now])
    text = [t or "" for t in iso_times(pa.array(stamps, TS_TYPE), digits=3)]
    return (text[0] if now is None else text[2]), text[0], text[1]


def _marker(
    *,
    uid: str,
    cot_type: str,
    start: datetime,
    end: datetime,
    stale_s: float,
    lat: Any,
    lon: Any,
    label: Label,
    what: str,
    detail: str = "",
    now: datetime | None = None,
    remarks: str | None = None,
) -> str | None:
    if lat is None or lon is None or start is None:
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):  # NaN fails too
        return None
    time, begin, stale = times(start, end, stale_s, now)
    attrs = {
        "version": "2.0",
        "uid": uid,
        "type": cot_type,
        "time": time,
        "start": begin,
        "stale": stale,
        "how": EVENT_HOW,
        "access": label.marking,
    }
    head = " ".join(f"{k}={xml_attr(v)}" for k, v in attrs.items())
    extra = mil_attrs(label)
    point = f'<point lat="{float(lat)!r}" lon="{float(lon)!r}" hae="{_UNKNOWN}" ce="{_UNKNOWN}"'
    return (
        f'<event {head}{" " + extra if extra else ""}>{point} le="{_UNKNOWN}"/><detail>'
        f"<contact callsign={xml_attr(what)}/>{detail}"
        f"<remarks>{xml_text(label.marking + ' ' + (remarks or what))}</remarks>"
        "</detail></event>\n"
    )


def event_cot_type(row: Mapping[str, Any], suspicion: bool = True) -> str:
    """The CoT type of an event: :data:`SUSPECT_TYPE` for a type of :data:`SUSPECT_EVENTS`
    (with ``suspicion``), else the spot marker :data:`EVENT_TYPE`."""
    return SUSPECT_TYPE if suspicion and row["event_type"] in SUSPECT_EVENTS else EVENT_TYPE


def _who(row: Mapping[str, Any]) -> str:
    name = (row.get("name") or "").strip()
    return f"{name} (MMSI {row['mmsi']})" if name else f"MMSI {row['mmsi']}"


def event_line(
    row: Mapping[str, Any],
    label: Label,
    node_id: str,
    stale_s: float,
    *,
    suspicion: bool = False,
    now: datetime | None = None,
) -> str | None:
    """One detected event as a CoT marker (``uid`` ``seawatch.<node>.event.<event_id>``,
    ``time``/``start`` its start, ``stale`` its end or start + ``stale_s``; type
    :func:`event_cot_type`; ``now``: :func:`times`), or None without a position.
    ``<remarks>``: the marking, then what happened (the vessel's name when the row has
    one)."""
    what = f"{row['event_type']} {_who(row)}"
    if row.get("other_mmsi") is not None:
        what += f" and MMSI {row['other_mmsi']}"
    return _marker(
        uid=event_uid(node_id, row["event_id"]),
        cot_type=event_cot_type(row, suspicion),
        start=row["start_ts"],
        end=row["end_ts"] or row["start_ts"],
        stale_s=stale_s,
        lat=row["lat"],
        lon=row["lon"],
        label=label,
        what=what,
        now=now,
    )


def incident_cot_type(row: Mapping[str, Any]) -> str:
    """The CoT type of an incident: :data:`SUSPECT_TYPE` for a kind of
    :data:`SUSPECT_INCIDENTS`, else the spot marker :data:`EVENT_TYPE`."""
    return SUSPECT_TYPE if row["incident"] in SUSPECT_INCIDENTS else EVENT_TYPE


def _plural(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _kind(row: Mapping[str, Any]) -> str:
    """The incident's kind, with its rule or field when it has one (``spoofing (jump)``,
    ``identity_change (name)``): two incidents of one vessel differ by it."""
    rule = row.get("kind")
    return f"{row['incident']} ({rule})" if rule else str(row["incident"])


def incident_summary(row: Mapping[str, Any]) -> str:
    """What an incident is, in a line: its kind and vessel(s), its events per type, how
    many vessels, how far apart a shared MMSI's transmitters were, and its confidence,
    e.g. ``shared_mmsi MMSI 412000001: 3341 events (identity_change 1866, spoofing 1475),
    1 vessel, 300 km apart; confidence 1.00`` or ``spoofing (jump) MMSI 412000002: ...``."""
    who = f"MMSI {row['mmsi']}"
    if row.get("other_mmsi") is not None:
        who += f" and MMSI {row['other_mmsi']}"
    elif row["incident"] == "misconfigured_transponders" and (row.get("vessels") or 0) > 1:
        who += " and others"
    try:
        by_type = json.loads(row.get("by_type") or "{}")
        details = json.loads(row.get("details") or "{}")
    except ValueError:
        by_type, details = {}, {}
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(by_type.items(), key=lambda kv: -kv[1]))
    text = f"{_kind(row)} {who}: {_plural(int(row['events']), 'event')}"
    text += f" ({kinds}), {_plural(int(row['vessels']), 'vessel')}"
    apart = details.get("apart_m") if isinstance(details, dict) else None
    if row["incident"] == "shared_mmsi" and isinstance(apart, int | float):
        text += f", {apart / 1000:.0f} km apart"
    confidence = row.get("confidence")
    if confidence is not None and math.isfinite(confidence):
        text += f"; confidence {confidence:.2f}"
    return text


def incident_line(
    row: Mapping[str, Any],
    label: Label,
    node_id: str,
    stale_s: float,
    *,
    now: datetime | None = None,
) -> str | None:
    """One incident (a row of :func:`seawatch.events.incidents.incidents`) as a CoT marker
    at its place (``uid`` ``seawatch.<node>.incident.<incident_id>``, ``time``/``start``
    its first event's start, ``stale`` its last end (or start) + ``stale_s``; type
    :func:`incident_cot_type`; ``now``: :func:`times`), or None without a position.
    ``label``: the combination of its events' labels. ``contact callsign``: its kind and
    vessel; ``<remarks>``: the marking, then :func:`incident_summary`."""
    what = f"{_kind(row)} MMSI {row['mmsi']}"
    if row.get("other_mmsi") is not None:
        what += f" and MMSI {row['other_mmsi']}"
    return _marker(
        uid=incident_uid(node_id, row["incident_id"]),
        cot_type=incident_cot_type(row),
        start=row["start_ts"],
        end=row["end_ts"] or row["start_ts"],
        stale_s=stale_s,
        lat=row["lat"],
        lon=row["lon"],
        label=label,
        what=what,
        now=now,
        remarks=incident_summary(row),
    )


def alert_line(row: Mapping[str, Any], label: Label, node_id: str, stale_s: float) -> str | None:
    """One fired alert as a CoT alarm (``uid`` ``seawatch.<node>.alert.<alert_id>``,
    ``time``/``start`` its ``ts``, ``stale`` that + ``stale_s``; ``type`` by its kind,
    :data:`ALERT_TYPES`), or None without a position. ``<remarks>``: the marking, then
    the rule's name, the kind and the vessel."""
    cot_type, emergency = ALERT_TYPES.get(row["kind"], ALERT_DEFAULT_TYPE)
    what = f"{row['rule_name']}: {row['kind']} MMSI {row['mmsi']}"
    if row.get("other_mmsi") is not None:
        what += f" and MMSI {row['other_mmsi']}"
    return _marker(
        uid=alert_uid(node_id, row["alert_id"]),
        cot_type=cot_type,
        start=row["ts"],
        end=row["ts"],
        stale_s=stale_s,
        lat=row["lat"],
        lon=row["lon"],
        label=label,
        what=what,
        detail=f"<emergency type={xml_attr(emergency)}>{xml_text(row['rule_name'])}</emergency>",
    )
