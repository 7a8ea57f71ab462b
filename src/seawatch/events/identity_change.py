"""Identity changes: a vessel's broadcast name, IMO, call sign, ship type, destination or
draught changed (MarineTraffic "identity change" events; DOMAIN.md §5).

Per MMSI and field, in time order, each non-empty value is compared with the last non-empty
value before it; a difference is one event (``details``: field, before, after, when the
old value was last seen). "Not available" values (empty text, IMO 0, ship type 0, draught 0)
are skipped rather than reported as changes. A *flag* change is seen per IMO number (an
MMSI's MID, hence its flag, never changes; a reflagged ship gets a new MMSI but keeps its
IMO): when an IMO's statics come from an MMSI whose flag (MID, :mod:`seawatch.tracks.mid`)
differs from the flag of the MMSI it was last heard with, the event is on the new MMSI with
``before_mmsi`` and ``imo`` in the details; once per (IMO, MMSI) pair, so that two
transponders broadcasting one IMO (or a copied IMO) alternating do not flood the analyst.
In: decoded ``statics`` (``ts``, ``mmsi`` and any of the fields). Out: events without position.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.events.params import param
from seawatch.events.schema import build_events, empty_events, json_objects
from seawatch.tracks.mid import flag_of
from seawatch.tracks.order import stable_key_time_order

FIELDS = ("name", "imo", "callsign", "ship_type", "destination", "draught_m", "flag")


@dataclass(frozen=True)
class IdentityParams:
    """Which fields to watch (default: all of :data:`FIELDS` present in the input)."""

    fields: tuple[str, ...] = param(
        FIELDS, "statics columns watched (those present; `flag` needs `imo`)"
    )


@dataclass(frozen=True)
class IdentityState:
    """Per field, the last non-empty value of each MMSI (columns mmsi, ts, value); for
    ``flag``, per IMO (columns mmsi = the IMO, ts, value, vessel = the MMSI), and under
    ``flag_pairs`` every (IMO, MMSI) pair heard (column key = IMO × 10⁹ + MMSI)."""

    last: dict[str, pa.Table] = field(default_factory=dict)


def _values(statics: pa.Table, name: str) -> pa.Table:
    col = statics[name]
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = pc.utf8_trim_whitespace(pc.utf8_rtrim(col, characters="@"))
        ok = pc.greater(pc.utf8_length(col), pa.scalar(0, pa.int32()))
    else:
        ok = pc.not_equal(col, pa.scalar(0).cast(col.type))
    ok = pc.and_(pc.fill_null(ok, False), pc.is_valid(statics["ts"]))
    ok = pc.and_(ok, pc.is_valid(statics["mmsi"]))
    t = pa.table(
        {
            "mmsi": statics["mmsi"].cast(pa.int64()),
            "ts": statics["ts"].cast(pa.int64()),
            "value": col,
        }
    )
    return t.filter(ok)


def _flags_by_imo(statics: pa.Table) -> pa.Table:
    """(mmsi = IMO, ts, value = flag of the MMSI, vessel = MMSI) of statics with both."""
    imo = statics["imo"].cast(pa.int64())
    imo_np = np.asarray(imo.to_numpy(), dtype=np.float64)  # nulls: NaN
    ok = (np.nan_to_num(imo_np) > 0) & np.asarray(statics["ts"].is_valid(), dtype=bool)
    t = pa.table({"mmsi": imo, "ts": statics["ts"], "vessel": statics["mmsi"]})
    if not ok.all():  # the flag only of the rows with an IMO and a time
        t = t.filter(pa.array(ok))
    flag = flag_of(t["vessel"])
    t = pa.table(
        {
            "mmsi": t["mmsi"],
            "ts": t["ts"].cast(pa.int64()),
            "value": flag,
            "vessel": t["vessel"].cast(pa.int64()),
        }
    )
    return t if flag.null_count == 0 else t.filter(flag.is_valid())


def _codes(col: Any) -> Any:
    """Values as numbers that are equal exactly when the values are: numeric columns as
    they are, others (text) by a dictionary code."""
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        return np.asarray(col.to_numpy())
    enc = pc.dictionary_encode(col)
    return np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)


def _grouped(rows: pa.Table, head: int = 0) -> tuple[Any, Any, Any, Any, Any, Any]:
    """``rows`` grouped by their ``mmsi`` column (the key), each group by time: the row
    order, the key and times in that order, the values (in ``rows``' order), and per row
    after the first whether it has the same key as the row before (``same``) and another
    value (``diff``). ``head``: the leading rows from the state (one per key)."""
    key = np.asarray(rows["mmsi"].to_numpy(), dtype=np.int64)
    ts = np.asarray(rows["ts"].to_numpy(), dtype=np.int64)
    order = stable_key_time_order(key, ts, ordered=False, head=head)
    key, ts = key[order], ts[order]
    same = key[1:] == key[:-1]
    vals = rows["value"].combine_chunks()
    code = _codes(vals)[order]
    diff = code[1:] != code[:-1]
    return order, key, ts, vals, same, diff


def _last_of_each(rows: pa.Table, order: Any, same: Any) -> pa.Table:
    """The state to carry: the last row of each key (in the grouped order)."""
    last = np.ones(rows.num_rows, dtype=bool)
    last[:-1] = ~same
    return rows.take(order[last])


def _events(
    name: str, hit: Any, ts: Any, vals: Any, order: Any, mmsi: Any, params: IdentityParams,
    **extra: Any,
) -> pa.Table:  # fmt: skip
    """One event per changed row ``hit`` of the grouped order (rows ``hit - 1`` hold the
    values before; ``vals`` in the rows' order, ``order`` the grouped order)."""
    before_arr, after_arr = vals.take(order[hit - 1]), vals.take(order[hit])
    before, after = before_arr.to_pylist(), after_arr.to_pylist()
    text = pa.types.is_string(vals.type)  # quoted column-wise; numbers as json.dumps writes
    details = json_objects(  # column-wise: no dict and json.dumps per event
        len(hit),
        {
            "field": name,
            "before": before_arr if text else before,
            "after": after_arr if text else after,
            "before_ts_us": np.asarray(ts[hit - 1], dtype=np.int64),
            **{k: np.asarray(v, dtype=np.int64) for k, v in extra.items()},
            "params": asdict(params),
        },
    )
    return build_events(
        "identity_change",
        start_us=ts[hit],
        end_us=ts[hit],
        mmsi=mmsi,
        lat=None,
        lon=None,
        confidence=[1.0] * len(hit),
        details=details,
        discriminators=[f"{name}:{b!r}->{a!r}" for b, a in zip(before, after, strict=True)],
    )


def _flag_changes(
    rows: pa.Table, seen: pa.Table, params: IdentityParams, head: int
) -> tuple[pa.Table, pa.Table, pa.Table]:
    if rows.num_rows == 0:
        return empty_events(), rows, seen
    order, imo, ts, vals, same, diff = _grouped(rows, head)
    vessel = np.asarray(rows["vessel"].to_numpy(), dtype=np.int64)[order]
    key = imo * 1_000_000_000 + vessel
    old = np.asarray(seen["key"].to_numpy(), dtype=np.int64)
    uniq, first = np.unique(np.concatenate([old, key]), return_index=True)
    new_pair = np.zeros(len(key), dtype=bool)
    new_pair[first[first >= len(old)] - len(old)] = True  # first row of a pair never heard
    hit = np.flatnonzero(same & diff & new_pair[1:]) + 1
    events = _events(
        "flag", hit, ts, vals, order, vessel[hit], params, imo=imo[hit],
        before_mmsi=vessel[hit - 1],
    )  # fmt: skip
    state = _last_of_each(rows, order, same)
    return events, state, pa.table({"key": pa.array(uniq, pa.int64())})


def _changes(
    rows: pa.Table, name: str, params: IdentityParams, head: int
) -> tuple[pa.Table, pa.Table]:
    if rows.num_rows == 0:
        return empty_events(), rows
    order, mmsi, ts, vals, same, diff = _grouped(rows, head)
    hit = np.flatnonzero(same & diff) + 1
    events = _events(name, hit, ts, vals, order, mmsi[hit], params)
    return events, _last_of_each(rows, order, same)


def detect(
    statics: pa.Table,
    params: IdentityParams = IdentityParams(),
    state: IdentityState | None = None,
    *,
    open_events: bool = True,
    watermark_us: int | None = None,
) -> tuple[pa.Table, IdentityState]:
    """Identity changes in ``statics`` (time-ordered chunks; see module doc).

    Changes are point events: ``open_events`` has no effect.
    """
    del watermark_us  # changes are point events: nothing waits for the end of the data
    del open_events
    state = state or IdentityState()
    out, last = [], dict(state.last)
    for name in params.fields:
        if name == "flag":
            if "imo" in statics.column_names:
                rows = _flags_by_imo(statics)
                head = last[name].num_rows if name in last else 0
                if name in last:
                    rows = pa.concat_tables([last[name], rows.cast(last[name].schema)])
                seen = last.get("flag_pairs", pa.table({"key": pa.array([], pa.int64())}))
                events, last[name], last["flag_pairs"] = _flag_changes(rows, seen, params, head)
                out.append(events)
            continue
        if name not in statics.column_names:
            continue
        rows = _values(statics, name)
        head = last[name].num_rows if name in last else 0
        if name in last:
            rows = pa.concat_tables([last[name], rows.cast(last[name].schema)])
        events, last[name] = _changes(rows, name, params, head)
        out.append(events)
    return (pa.concat_tables(out) if out else empty_events()), IdentityState(last)
