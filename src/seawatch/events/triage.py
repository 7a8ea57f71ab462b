"""Triage: which events are incidents, which incident each belongs to, and which are noise.

In: events (:data:`~seawatch.events.schema.EVENTS_SCHEMA` columns, as a reader may read
them) and :class:`TriageParams`. Out: the events with four columns added
(:func:`classify`): ``kind`` (the spoofing rule or the identity field), ``role``
(``incident``, ``routine`` or ``open_at_end``), ``incident`` (the incident's kind: an event
type, :data:`SHARED_MMSI` or :data:`MISCONFIGURED`; null when not an incident) and ``minor``
(the event is below its noise level). :mod:`.incidents` groups them into incidents.

Rules (docs/events.md, "Incidents"):

- **Not incidents** (they stay events, in the store and the API): routine events (event types
  of rank None in :mod:`.registry`: port visits, zone exits; and destination changes, which
  every new voyage makes), and gaps still open at the end of the data (``end_ts`` null: a
  ship that left the range of a receiver, which may itself be moving). A silence that meets
  the suspected-disabling rule is its own ``suspected_disabling`` event, an incident.
- **Misconfigured transponders**: every event of an invalid MMSI (:mod:`.mmsi_check`: MMSI 1,
  an IMO number used as MMSI) belongs to one incident for all of them, ranked last.
- **Shared MMSI**: an MMSI in two places at once (``n_two_places`` of its position jumps) at
  least ``shared_min_two_places`` times, or whose identity fields change back to the value
  before at least ``shared_min_flips`` times (A → B → A), is used by two transmitters: its
  position jumps and identity changes are one incident.
- **Minor**: a draught change of at most ``draught_noise_m`` is noise (AIS reports draught in
  0.1 m steps: a re-entry or rounding). An incident whose every event is minor is counted
  but never ranked notable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.events import registry
from seawatch.events.mmsi_check import mmsi_problem
from seawatch.events.params import ParamSpec, param, param_specs

__all__ = [
    "MISCONFIGURED",
    "SHARED_MMSI",
    "TriageParams",
    "classify",
    "incident_kinds",
    "is_imo_number",
    "kind_of",
    "params_markdown",
    "raw_value",
    "update_doc",
]

SHARED_MMSI: Final = "shared_mmsi"
"""Incident kind: one MMSI used by two transmitters (position jumps and identity flips)."""
MISCONFIGURED: Final = "misconfigured_transponders"
"""Incident kind: the events of every invalid MMSI, together."""


@dataclass(frozen=True)
class TriageParams:
    """Noise levels and the shared-MMSI rule of the triage (docs/events.md, "Incidents")."""

    draught_noise_m: float = param(
        0.1, "a draught change of at most this is noise: minor, not notable (AIS steps: 0.1 m)"
    )
    shared_min_two_places: int = param(
        3, "an MMSI in two places at once this often (jump pairs) is used by two transmitters"
    )
    shared_min_flips: int = param(
        3, "an MMSI whose identity changes back (A -> B -> A) this often is shared"
    )


def incident_kinds() -> tuple[str, ...]:
    """Incident kinds, most wanted first: the registry's ranked event types with
    :data:`SHARED_MMSI` just before ``spoofing`` and :data:`MISCONFIGURED` last."""
    out: list[str] = []
    for t in registry.priority():
        if t == "spoofing":
            out.append(SHARED_MMSI)
        out.append(t)
    if SHARED_MMSI not in out:
        out.append(SHARED_MMSI)
    return (*out, MISCONFIGURED)


def kind_of(details: Any) -> Any:
    """The spoofing rule or the changed identity field from ``details`` (null if none)."""
    text: Any = pc.fill_null(pa.chunked_array(details).combine_chunks(), pa.scalar(""))
    out: Any = None
    for key in ("rule", "field"):
        found: Any = pc.extract_regex(text, rf'"{key}":\s*"(?P<v>[^"]*)"')
        value: Any = pc.struct_field(found, [0])
        out = value if out is None else pc.coalesce(out, value)
    return out


def is_imo_number(mmsi: int) -> bool:
    """A 7-digit number whose last digit is the IMO check digit (weights 7..2, mod 10)."""
    if not 1_000_000 <= mmsi <= 9_999_999:
        return False
    digits = [int(c) for c in str(mmsi)]
    return sum(d * w for d, w in zip(digits[:6], range(7, 1, -1), strict=True)) % 10 == digits[6]


def _np(col: Any, fill: Any = None) -> np.ndarray[Any, Any]:
    arr: Any = pa.chunked_array(col).combine_chunks() if not isinstance(col, pa.Array) else col
    if fill is not None:
        arr = pc.fill_null(arr, pa.scalar(fill, arr.type))
    return np.asarray(arr.to_numpy(zero_copy_only=False))


def raw_value(details: Any, key: str) -> Any:
    """The JSON text of ``details[key]`` for each event (``6.4``, ``"NAME"``); null when
    absent. Top-level keys of the detectors' flat details (no nested object has them)."""
    text: Any = pc.fill_null(details, pa.scalar(""))
    found: Any = pc.extract_regex(
        text, rf'"{key}":\s*(?P<v>"(?:[^"\\]|\\.)*"|[-+\d.eE]+|true|false|null)'
    )
    value: Any = pc.struct_field(found, [0])
    return pc.if_else(pc.equal(value, pa.scalar("null")), pa.scalar(None, pa.string()), value)


def _number(details: Any, key: str) -> np.ndarray[Any, Any]:
    """``details[key]`` as float64 (NaN when absent or not a number)."""
    raw: Any = raw_value(details, key)
    ok: Any = pc.match_substring_regex(raw, r"^[-+\d.eE]+$")
    num: Any = pc.if_else(pc.fill_null(ok, False), raw, pa.scalar(None, pa.string()))
    return _np(pc.cast(num, pa.float64()), float("nan"))


def _flips(t: pa.Table, rows: np.ndarray[Any, Any], mmsi: np.ndarray[Any, Any]) -> dict[int, int]:
    """Per MMSI, identity changes (events ``rows`` of ``t``, in time order) back to the value
    before the field's previous change."""
    sub = t.take(rows)
    field: Any = _np(kind_of(sub.column("details")), "").astype(str)
    details: Any = sub.column("details").combine_chunks()
    before = _np(raw_value(details, "before"), "")
    after = _np(raw_value(details, "after"), "")
    m = mmsi[rows]
    order = np.lexsort((np.arange(len(rows)), field, m))
    m, field, before, after = m[order], field[order], before[order], after[order]
    same = (m[1:] == m[:-1]) & (field[1:] == field[:-1])
    back = same & (after[1:] == before[:-1]) & (after[1:] != "")
    many, counts = np.unique(m[1:][back], return_counts=True)
    return {int(k): int(n) for k, n in zip(many.tolist(), counts.tolist(), strict=True)}


def _shared(t: pa.Table, kind: Any, params: TriageParams) -> set[int]:
    """MMSIs used by two transmitters (see the module docstring)."""
    etype = _np(t.column("event_type"))
    kinds = _np(kind, "")
    mmsi = _np(t.column("mmsi"), 0).astype(np.int64)
    out: set[int] = set()
    jumps = (etype == "spoofing") & (kinds == "jump")
    if jumps.any():
        details: Any = t.column("details").combine_chunks().filter(pa.array(jumps))
        pairs = np.nan_to_num(_number(details, "n_two_places"))
        sums: dict[int, float] = {}
        for m, n in zip(mmsi[jumps].tolist(), pairs.tolist(), strict=True):
            sums[m] = sums.get(m, 0) + n
        out |= {m for m, n in sums.items() if n >= max(1, params.shared_min_two_places)}
    ident = (etype == "identity_change") & (kinds != "destination") & (kinds != "flag")
    if ident.any():
        many, counts = np.unique(mmsi[ident], return_counts=True)
        candidates = many[counts > max(1, params.shared_min_flips)]
        sel = ident & np.isin(mmsi, candidates)
        if sel.any():
            order = np.argsort(_np(t.column("start_ts").cast(pa.int64()), 0)[sel], kind="stable")
            flips = _flips(t, np.flatnonzero(sel)[order], mmsi)
            out |= {m for m, n in flips.items() if n >= max(1, params.shared_min_flips)}
    return out


def _draught_noise(t: pa.Table, kind: np.ndarray[Any, Any], noise_m: float) -> np.ndarray[Any, Any]:
    """Draught changes of at most ``noise_m``."""
    sel = (_np(t.column("event_type")) == "identity_change") & (kind == "draught_m")
    out = np.zeros(t.num_rows, dtype=bool)
    if not sel.any():
        return out
    details: Any = t.column("details").combine_chunks().filter(pa.array(sel))
    d = {key: _number(details, key) for key in ("before", "after")}
    small = np.abs(d["after"] - d["before"]) <= noise_m + 1e-9
    out[np.flatnonzero(sel)] = small
    return out


def classify(events: pa.Table, params: TriageParams | None = None) -> pa.Table:
    """``events`` with ``kind``, ``role``, ``incident`` and ``minor`` (module docstring)."""
    params = params or TriageParams()
    kind: Any = kind_of(events.column("details")) if events.num_rows else pa.array([], pa.string())
    n = events.num_rows
    etype = _np(events.column("event_type")) if n else np.array([], dtype=object)
    kinds = _np(kind, "") if n else np.array([], dtype=object)
    mmsi = _np(events.column("mmsi"), 0).astype(np.int64) if n else np.zeros(0, np.int64)
    routine = np.isin(etype, list(registry.routine())) | (
        (etype == "identity_change") & (kinds == "destination")
    )
    open_gap = (etype == "gap") & (
        _np(pc.is_null(events.column("end_ts"))).astype(bool) if n else np.zeros(0, bool)
    )
    role = np.where(routine, "routine", np.where(open_gap, "open_at_end", "incident"))
    incident = etype.astype(object).copy()
    shared = _shared(events, kind, params) if n else set()
    in_shared = np.isin(mmsi, list(shared)) & (
        ((etype == "spoofing") & (kinds == "jump")) | (etype == "identity_change")
    )
    incident[in_shared] = SHARED_MMSI
    incident[mmsi_problem(mmsi) != 0] = MISCONFIGURED
    incident[role != "incident"] = None
    minor = _draught_noise(events, kinds, params.draught_noise_m) if n else np.zeros(0, bool)
    return (
        events.append_column("kind", kind)
        .append_column("role", pa.array(role.tolist(), pa.string()))
        .append_column("incident", pa.array(incident.tolist(), pa.string()))
        .append_column("minor", pa.array(minor, pa.bool_()))
    )


def params_markdown() -> str:
    """The table of :class:`TriageParams` for docs/events.md (as the detectors' tables)."""
    lines = ["| parameter | default | unit | meaning |", "|---|---|---|---|"]
    specs: dict[str, ParamSpec] = param_specs(TriageParams)
    for s in specs.values():
        value = f"{s.default:g}" if isinstance(s.default, float) else str(s.default)
        lines.append(f"| `{s.name}` | {value} | {s.unit or '–'} | {s.help} |")
    return "\n".join(lines) + "\n"


_REGION = re.compile(r"(<!-- triage-params -->\n).*?(<!-- /triage-params -->)", re.S)


def update_doc(text: str) -> str:
    """docs/events.md with its ``<!-- triage-params -->`` table regenerated."""
    return _REGION.sub(lambda m: m.group(1) + params_markdown() + m.group(2), text)


if __name__ == "__main__":  # python -m seawatch.events.triage docs/events.md
    import sys
    from pathlib import Path

    for name in sys.argv[1:]:
        doc = Path(name)
        doc.write_text(update_doc(doc.read_text(encoding="utf-8")), encoding="utf-8")
