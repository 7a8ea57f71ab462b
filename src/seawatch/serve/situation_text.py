"""The words of a situation summary: incidents phrased, places named, the text summary.

In: ranked incidents as :mod:`.situation` builds them (rows of :func:`~.situation.incidents`),
the vessels' latest static reports, positions. Out: short phrases (``AIS gap of 7.2 h``),
places relative to the nearest coastal port (``62 km SW of Visakhapatnam (INVTZ)``), vessel
names and flags, and :func:`format_situation`, a :class:`~.situation.Situation` as text.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from seawatch.events.triage import MISCONFIGURED, SHARED_MMSI, incident_kinds

if TYPE_CHECKING:
    from seawatch.geo.ports import PortTable
    from seawatch.serve.situation import Situation, Vessel

__all__ = ["flag_names", "format_situation", "phrase", "port_places", "vessel_names"]

_SHORT = {
    "suspected_disabling": "disabling",
    "identity_change": "identity",
    "misconfigured_transponders": "misconfigured",
}
_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def vessel_names(vessels: pa.Table) -> dict[int, str]:
    """Each vessel's broadcast name, ``@`` padding removed; vessels without one left out."""
    out: dict[int, str] = {}
    if vessels.num_rows == 0:
        return out
    for m, name in zip(
        vessels.column("mmsi").to_pylist(), vessels.column("name").to_pylist(), strict=True
    ):
        clean = (name or "").replace("@", " ").strip()
        if m is not None and clean:
            out[int(m)] = clean
    return out


def flag_names(mmsis: Sequence[int | None]) -> list[str | None]:
    """The flag (country name) of each MMSI's MID, None when it has none."""
    from seawatch.tracks.mid import flags

    if not mmsis:
        return []
    return flags(pa.array(mmsis, pa.int64())).column("flag_name").to_pylist()


def port_places(lat: np.ndarray[Any, Any], lon: np.ndarray[Any, Any]) -> list[str]:
    """``62 km SW of Visakhapatnam (INVTZ)``, or ``at Singapore (SGSIN)`` within 5 km."""
    if len(lat) == 0:
        return []
    ports = _coastal_ports()
    idx, km = ports.nearest(lat, lon)
    rows = ports.table.select(["port_id", "port_name", "lat", "lon"]).to_pylist()
    out = []
    for i, k, la, lo in zip(idx.tolist(), km.tolist(), lat.tolist(), lon.tolist(), strict=True):
        if i < 0:
            out.append("position unknown")
            continue
        p = rows[i]
        name = f"{p['port_name'] or p['port_id']} ({p['port_id']})"
        if k < 5.0:
            out.append(f"at {name}")
            continue
        out.append(f"{k:,.0f} km {_bearing(p['lat'], p['lon'], la, lo)} of {name}")
    return out


@functools.cache
def _coastal_ports() -> PortTable:
    """searoute's ports less the few > 50 km from any shore: offshore oil terminals, and
    coordinate errors (VCCRP Campden Park, St Vincent, at 61.14°E instead of °W)."""
    from seawatch.geo.ports import PortTable, default_ports
    from seawatch.geo.shore import distance_to_shore_km

    table = default_ports().table
    km = distance_to_shore_km(table.column("lat").to_numpy(), table.column("lon").to_numpy())
    return PortTable(table.filter(pa.array(km < 50.0)))


def _bearing(lat0: float, lon0: float, lat1: float, lon1: float) -> str:
    """Compass point (8) from (lat0, lon0) to (lat1, lon1)."""
    p0, p1, dl = math.radians(lat0), math.radians(lat1), math.radians(lon1 - lon0)
    y = math.sin(dl) * math.cos(p1)
    x = math.cos(p0) * math.sin(p1) - math.sin(p0) * math.cos(p1) * math.cos(dl)
    deg = math.degrees(math.atan2(y, x)) % 360.0
    return _COMPASS[int((deg + 22.5) // 45) % 8]


def _duration(start: dt.datetime | None, end: dt.datetime | None) -> str:
    if start is None or end is None:
        return "still open"
    s = (end - start).total_seconds()
    return f"{s / 3600:.1f} h" if s >= 3600 else f"{s / 60:.0f} min"


def phrase(
    r: Mapping[str, Any],
    other: Vessel | None,
    offshore_km: float | None,
    zone_names: Mapping[str, str | None],
) -> str:
    """A short phrase for an incident, from its type, kind and details."""
    try:
        d = json.loads(r["details"] or "{}")
    except ValueError:
        d = {}
    t, kind, n = r["event_type"], r["kind"], int(r["events"])
    dur = _duration(r["start_ts"], r["end_ts"])
    times = f" ({n:,} events)" if n > 1 else ""
    if r.get("incident") == SHARED_MMSI:
        return _shared(int(r["mmsi"]), d)
    if r.get("incident") == MISCONFIGURED:
        return _misconfigured(d, n)
    if t == "suspected_disabling":
        off = f" {offshore_km:,.0f} km offshore" if offshore_km else ""
        if r["end_ts"] is None:
            return f"AIS went silent{off}, still at the end of the data{times}"
        return f"AIS went silent{off} for {dur}{times}"
    if t == "gap":
        if r["end_ts"] is None:
            return f"AIS silent, still at the end of the data{times}"
        return f"AIS gap of {dur}{times}"
    if t == "encounter":
        return f"alongside {other} for {dur}{times}"
    if t == "loitering":
        speed = d.get("mean_speed_kn")
        at = f" at {speed:.1f} kn" if isinstance(speed, int | float) else ""
        return f"loitering{at} for {dur}{times}"
    if t == "spoofing":
        if kind == "jump":
            km = d.get("max_distance_m")
            far = f" of up to {km / 1000:,.0f} km" if isinstance(km, int | float) else ""
            return f"position jumps{far}{times}"
        if kind == "on_land":
            return f"positions reported on land{times}"
        if kind == "two_places":
            return f"in two places at once{times}"
        return f"spoofing ({kind or 'unknown rule'}){times}"
    if t in ("zone_entry", "zone_present"):
        key = f"{d.get('layer')}:{d.get('zone')}"
        zone = zone_names.get(key) or f"zone {key}"
        who = "a fishing vessel, " if d.get("ship_type") == 30 else ""  # ITU-R M.1371 code 30
        how = "entered" if t == "zone_entry" else "present at the start in"
        return f"{who}{how} {zone}{times}"
    if t == "identity_change":
        before, after = d.get("before"), d.get("after")
        change = f": {before} -> {after}" if before is not None or after is not None else ""
        more = f" (and {n - 1} more changes)" if n > 1 else ""
        return f"{kind or 'identity'} changed{change}{more}"
    return f"{t}{times}"


_REASON = {
    "imo_number": "an IMO number",
    "not_9_digits": "not 9 digits",
    "mid_out_of_range": "no such country code",
    "format": "no MMSI format",
}
_FIELD = {"draught_m": ("draught", " m"), "ship_type": ("ship type", ""), "imo": ("IMO", "")}


def _shared(mmsi: int, d: Mapping[str, Any]) -> str:
    """``MMSI 636324231 is used by two transmitters 2,964 km apart (1,482 position jumps,
    ...; 1,866 identity changes: draught 6.4 <-> 6.8 m, ...)``."""
    apart = d.get("apart_m")
    far = f" {apart / 1000:,.0f} km apart" if isinstance(apart, int | float) else ""
    parts = []
    if d.get("jumps"):
        twice = f", {d['two_places']:,} times in two places at once" if d.get("two_places") else ""
        parts.append(f"{d['jumps']:,} position jumps{twice}")
    if d.get("identity_changes"):
        shown = []
        for v in list(d.get("values") or [])[:2]:
            name, unit = _FIELD.get(str(v.get("field")), (str(v.get("field")), ""))
            shown.append(f"{name} {' <-> '.join(str(x) for x in v.get('values', []))}{unit}")
        more = f": {', '.join(shown)}" if shown else ""
        parts.append(f"{d['identity_changes']:,} identity changes{more}")
    why = f" ({'; '.join(parts)})" if parts else ""
    return f"MMSI {mmsi} is used by two transmitters{far}{why}"


def _misconfigured(d: Mapping[str, Any], n: int) -> str:
    """``3 misconfigured transponders: MMSI 1 (not 9 digits), 9123455 (an IMO number) and
    1 more (12 events)``."""
    mmsis = list(d.get("mmsis") or [])
    shown = ", ".join(
        f"{m['mmsi']} ({_REASON.get(str(m.get('reason')), m.get('reason'))})" for m in mmsis[:3]
    )
    more = f" and {len(mmsis) - 3} more" if len(mmsis) > 3 else ""
    s = "s" if len(mmsis) != 1 else ""
    return f"{len(mmsis)} misconfigured transponder{s}: MMSI {shown}{more} ({n:,} events)"


def _when(start: dt.datetime | None, end: dt.datetime | None) -> str:
    if start is None:
        return "time unknown"
    a = start.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
    if end is None:
        return f"{a} UTC, still open"
    e = end.astimezone(dt.UTC)
    b = (
        e.strftime("%H:%M")
        if e.date() == start.astimezone(dt.UTC).date()
        else e.strftime("%Y-%m-%d %H:%M")
    )
    return f"{a} UTC" if end == start else f"{a} -> {b} UTC"


def _latlon(lat: float | None, lon: float | None) -> str:
    if lat is None or lon is None:
        return "position unknown"
    ns, ew = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
    return f"{abs(lat):.2f}°{ns} {abs(lon):.2f}°{ew}"


def _beside(c: Any) -> str:
    """What a type's events make: ``3 incidents (1 minor), 38 routine``; ``routine``."""
    if c.events == 0:
        return ""
    parts = []
    if c.incidents or not (c.routine or c.open_at_end):
        minor = f" ({c.minor:,} minor)" if c.minor else ""
        parts.append(f"{c.incidents:,} incident{'s' if c.incidents != 1 else ''}{minor}")
    if c.routine:
        parts.append("routine" if c.routine == c.events else f"{c.routine:,} routine")
    if c.open_at_end:
        parts.append(f"{c.open_at_end:,} open at the end of the data")
    return "  " + ", ".join(parts)


def format_situation(s: Situation) -> str:
    """The summary as text: a table of counts beside incidents, then the notable incidents
    (each with its confidence)."""
    gaps = "gap" if s.open_at_end == 1 else "gaps"
    lines = [
        f"Events: {s.total:,} in {s.incidents:,} incident{'s' if s.incidents != 1 else ''} "
        f"({s.minor:,} minor); not incidents: {s.routine:,} routine, {s.open_at_end:,} {gaps} "
        "open at the end of the data"
    ]
    width = max((len(c.event_type) for c in s.counts), default=10)
    for c in s.counts:
        vessels = f"{c.vessels:,} vessel{'s' if c.vessels != 1 else ''}"
        lines.append(f"  {c.event_type:<{width}}  {c.events:>7,}  {vessels}{_beside(c)}")
    lines.append("")
    lines.append(
        "Most notable (by kind: "
        + " > ".join(_SHORT.get(t, t) for t in incident_kinds())
        + "; then surer, more events, farther offshore)"
    )
    if not s.notable:
        lines.append("  none")
    for n in s.notable:
        if n.incident == MISCONFIGURED:
            lines.append(f"  {n.rank}. {n.incident}: {n.vessels:,} with invalid MMSIs")
        else:
            lines.append(f"  {n.rank}. {n.incident}: {n.vessel}")
        lines.append(f"     {n.what}; confidence {n.confidence:.2f}")
        lines.append(f"     {_when(n.start, n.end)}")
        off = f", {n.offshore_km:,.0f} km offshore" if n.offshore_km else ""
        last = " (its latest position)" if n.at_latest else ""
        lines.append(f"     {_latlon(n.lat, n.lon)}{last}, {n.place}{off}")
    return "\n".join(lines) + "\n"
