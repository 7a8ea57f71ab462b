"""Scoring detected events against the simulator's ground truth: precision and recall per type.

In: ``truth.jsonl`` (:func:`read_truth`, or a table from :func:`truth_table`) and an events
table of :data:`seawatch.events.schema.EVENTS_SCHEMA` (the store's events query or
``seawatch detect``'s ``events.parquet``; extra columns such as ``label_id`` are ignored).
Out: a :class:`TypeScore` per event type (truth, detected, true positives, precision, recall,
recall of the injected records, and the unmatched rows on both sides for diagnosis).

A detection matches a truth record when (see docs/simulator.md, "Measuring the detectors"):

- the event types are equal, and for ``spoofing`` the rule too (``details.rule``; a truth
  ``two_places`` is reported by the detector as rule ``jump``, docs/events.md);
- the vessels agree: ``mmsi`` equal, or for ``encounter`` the pair equal in either order;
- the windows overlap once the truth window is widened by the type's tolerance
  (:data:`TOLERANCE_S`) on both sides; an open detection (``end_ts`` null) runs to the end of
  time.

Matching is one-to-one (a detection satisfies at most one truth record and the reverse): a
maximum matching, and among those the one with the smallest total time difference
(``|start - start| + |end - end|``), so the result does not depend on row order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.optimize import linear_sum_assignment

from seawatch.errors import InputError
from seawatch.sim.names import check_event_types

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "TOLERANCE_S",
    "TRUTH_SCHEMA",
    "TypeScore",
    "read_truth",
    "score",
    "truth_table",
]

_US = pa.timestamp("us", tz="UTC")

#: Tolerance (seconds) by which a truth window is widened on each side before the overlap
#: test. One hour covers what reception adds (a ship far out is heard in satellite passes
#: about every 30 min, a static message every 6 min); loitering is decided in whole UTC hours
#: (two hours); an identity change is seen at the first static message received after it.
DEFAULT_TOLERANCE_S = 3600.0
TOLERANCE_S: Mapping[str, float] = {
    "loitering": 7200.0,
    "suspected_disabling": 7200.0,
    "identity_change": 7200.0,
}
check_event_types(TOLERANCE_S, f"{__name__}.TOLERANCE_S")

TRUTH_SCHEMA = pa.schema(
    [  # type: ignore[arg-type]
        pa.field("event_type", pa.string()),
        pa.field("mmsi", pa.int64()),
        pa.field("other_mmsi", pa.int64()),
        pa.field("start_ts", _US),
        pa.field("end_ts", _US),
        pa.field("rule", pa.string()),  # spoofing: params.rule
        pa.field("injected", pa.bool_()),  # false: incidental (made by another behaviour)
        pa.field("params", pa.string()),  # JSON
    ]
)
"""The truth as a table: one row per ``truth.jsonl`` record."""

_RULE_AS_DETECTED = {"two_places": "jump"}  # the detector reports a shared MMSI as jumps


@dataclass(frozen=True)
class TypeScore:
    """Scores of one event type; ``missed`` and ``false`` are the unmatched rows."""

    event_type: str
    truth: int
    detected: int
    true_positives: int
    injected: int
    injected_found: int
    missed: pa.Table  # truth rows no detection matched (TRUTH_SCHEMA)
    false: pa.Table  # detections no truth record matched (the events' columns)

    @property
    def precision(self) -> float | None:
        """TP / detected; None when nothing was detected."""
        return self.true_positives / self.detected if self.detected else None

    @property
    def recall(self) -> float | None:
        """TP / truth; None when the truth has no record of the type."""
        return self.true_positives / self.truth if self.truth else None

    @property
    def injected_recall(self) -> float | None:
        """Matched injected truth records / injected truth records."""
        return self.injected_found / self.injected if self.injected else None


def _ts_us(value: Any, what: str) -> int:
    try:
        return int(pa.scalar(value).cast(_US).cast(pa.int64()).as_py())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError) as exc:
        raise InputError(f"{what}: not an ISO 8601 UTC time: {value!r}") from exc


def truth_table(records: list[dict[str, Any]], where: str = "truth") -> pa.Table:
    """Truth records (``truth.jsonl`` objects) as a :data:`TRUTH_SCHEMA` table.

    A record without ``injected`` counts as injected (files written before the field).
    """
    cols: dict[str, list[Any]] = {name: [] for name in TRUTH_SCHEMA.names}
    for k, rec in enumerate(records, 1):
        try:
            params = rec.get("params") or {}
            cols["event_type"].append(str(rec["event_type"]))
            cols["mmsi"].append(int(rec["mmsi"]))
            other = rec.get("other_mmsi")
            cols["other_mmsi"].append(None if other is None else int(other))
            start = _ts_us(str(rec["start_ts"]).replace("Z", "+00:00"), f"{where}:{k}")
            end = _ts_us(str(rec["end_ts"]).replace("Z", "+00:00"), f"{where}:{k}")
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"{where}:{k}: a truth record needs event_type, mmsi, start_ts, end_ts ({exc})"
            ) from exc
        if end < start:
            raise InputError(f"{where}:{k}: end_ts before start_ts")
        cols["start_ts"].append(start)
        cols["end_ts"].append(end)
        rule = params.get("rule")
        cols["rule"].append(None if rule is None else str(rule))
        cols["injected"].append(bool(rec.get("injected", True)))
        cols["params"].append(json.dumps(params, sort_keys=True))
    arrays = [
        pa.array(cols[f.name], pa.int64() if f.type == _US else f.type).cast(f.type)
        for f in TRUTH_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=TRUTH_SCHEMA)


def read_truth(path: str | Path) -> pa.Table:
    """``truth.jsonl`` as a :data:`TRUTH_SCHEMA` table; :class:`InputError` on a bad line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read the truth file {path}: {exc}") from exc
    records = []
    for k, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{k}: not JSON ({exc.msg})") from exc
    return truth_table(records, str(path))


I64 = np.ndarray[Any, np.dtype[np.int64]]


def _ints(col: Any, fill: int, *, ts: bool = False) -> I64:
    """An integer (or timestamp: µs) column as int64, nulls as ``fill``."""
    ints = (col.cast(_US) if ts else col).cast(pa.int64())
    return np.asarray(pc.fill_null(ints, pa.scalar(fill, pa.int64())), dtype=np.int64)


def _rules(details: Any) -> list[str | None]:
    out: list[str | None] = []
    for d in details.to_pylist():
        try:
            rule = json.loads(d).get("rule") if d else None
        except (json.JSONDecodeError, AttributeError):
            rule = None
        out.append(None if rule is None else str(rule))
    return out


def _vessel_keys(mmsi: I64, other: I64, pair: bool) -> I64:
    """One key per row: the MMSI, or for pair types the ordered pair."""
    if not pair:
        return mmsi * (1 << 31)
    lo, hi = np.minimum(mmsi, other), np.maximum(mmsi, other)
    return lo * (1 << 31) + hi


def score(
    truth: pa.Table,
    events: pa.Table,
    *,
    tolerance_s: Mapping[str, float] | None = None,
    types: list[str] | None = None,
) -> dict[str, TypeScore]:
    """Match ``events`` to ``truth`` (see the module docstring), per event type.

    ``types``: the event types scored (default: every type in the truth or the events);
    ``tolerance_s`` overrides :data:`TOLERANCE_S` per type.
    """
    for name in ("event_type", "mmsi", "other_mmsi", "start_ts", "end_ts", "details"):
        if name not in events.column_names:
            raise InputError(f"events table: column {name!r} missing (EVENTS_SCHEMA expected)")
    tol = {**TOLERANCE_S, **(tolerance_s or {})}
    if types is None:
        present = set(truth.column("event_type").to_pylist())
        present |= set(events.column("event_type").to_pylist())
        types = sorted(t for t in present if t is not None)
    return {t: _score_type(t, truth, events, tol.get(t, DEFAULT_TOLERANCE_S)) for t in types}


def _score_type(event_type: str, truth: pa.Table, events: pa.Table, tol_s: float) -> TypeScore:
    kind = pa.scalar(event_type, pa.string())
    tr = truth.filter(pc.equal(truth.column("event_type"), kind))
    ev = events.filter(pc.equal(events.column("event_type"), kind))
    pair = event_type == "encounter"
    never = int(np.iinfo(np.int64).max)
    t_start, t_end = _ints(tr["start_ts"], 0, ts=True), _ints(tr["end_ts"], never, ts=True)
    d_start, d_end = _ints(ev["start_ts"], 0, ts=True), _ints(ev["end_ts"], never, ts=True)
    t_key = _vessel_keys(_ints(tr["mmsi"], -1), _ints(tr["other_mmsi"], -1), pair)
    d_key = _vessel_keys(_ints(ev["mmsi"], -1), _ints(ev["other_mmsi"], -1), pair)
    t_rule: list[str | None] = [None] * tr.num_rows
    d_rule: list[str | None] = [None] * ev.num_rows
    if event_type == "spoofing":
        t_rule = [
            None if r is None else _RULE_AS_DETECTED.get(r, r) for r in tr["rule"].to_pylist()
        ]
        d_rule = _rules(ev["details"])
    tol_us = int(tol_s * 1e6)
    matched_t = np.zeros(tr.num_rows, bool)
    matched_d = np.zeros(ev.num_rows, bool)
    # candidates only within one vessel key: small assignment problems
    for key in np.intersect1d(t_key, d_key):
        ti = np.flatnonzero(t_key == key)
        di = np.flatnonzero(d_key == key)
        ok = (d_start[di][None, :] <= t_end[ti][:, None] + tol_us) & (
            t_start[ti][:, None] - tol_us <= d_end[di][None, :]
        )
        if event_type == "spoofing":
            same = [[t_rule[a] == d_rule[b] for b in di] for a in ti]
            ok &= np.array(same, bool).reshape(ok.shape)
        if not ok.any():
            continue
        end_gap = np.abs(
            np.minimum(d_end[di], t_end[ti].max() + 10 * tol_us)[None, :] - t_end[ti][:, None]
        )
        cost = (np.abs(d_start[di][None, :] - t_start[ti][:, None]) + end_gap) / 1e6
        big = float(cost.sum()) + 1.0  # a non-candidate costs more than all candidates together
        rows, cols = linear_sum_assignment(np.where(ok, cost, big))
        good = ok[rows, cols]
        matched_t[ti[rows[good]]] = True
        matched_d[di[cols[good]]] = True
    injected = np.asarray(tr.column("injected"), bool)
    return TypeScore(
        event_type=event_type,
        truth=tr.num_rows,
        detected=ev.num_rows,
        true_positives=int(matched_t.sum()),
        injected=int(injected.sum()),
        injected_found=int((injected & matched_t).sum()),
        missed=tr.filter(pa.array(~matched_t)),
        false=ev.filter(pa.array(~matched_d)),
    )
