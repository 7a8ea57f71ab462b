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
from numba import njit

from seawatch.events.identity_walk import Keys, chunk_keys, walk
from seawatch.events.params import param
from seawatch.events.schema import build_events, empty_events, json_objects
from seawatch.tracks.compiled import read_only
from seawatch.tracks.mid import flag_of
from seawatch.tracks.order import stable_key_time_order

PAIR = 1_000_000_000
"""An (IMO, MMSI) pair's key: IMO × this + MMSI."""
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


@njit(cache=True, nogil=True)
def _untrimmed(offsets: Any, data: Any, valid: Any, ok: Any) -> bool:  # pragma: no cover
    """Whether no text needs trimming: each non-empty text starts and ends with a printable
    ASCII character other than a space, and does not end with '@' (then neither trim
    changes it). Sets ``ok`` where a text is present and not empty; stops at the first
    text that would change."""
    for i in range(len(valid)):
        a, b = offsets[i], offsets[i + 1]
        if not valid[i] or a == b:
            ok[i] = False
            continue
        first, last = data[a], data[b - 1]
        if first <= 0x20 or first >= 0x7F or last <= 0x20 or last >= 0x7F or last == 0x40:
            return False
        ok[i] = True
    return True


def _plain_ok(col: Any) -> Any:
    """Per row whether the text is present and not empty, when no text of ``col`` needs
    trimming (see :func:`_untrimmed`); None when one does."""
    parts = []
    for chunk in col.chunks:
        wide = pa.types.is_large_string(chunk.type)
        _, offs, data = chunk.buffers()
        n = len(chunk)
        offsets = np.frombuffer(offs, np.int64 if wide else np.int32)[chunk.offset :][: n + 1]
        raw = np.frombuffer(data if data is not None else b"", np.uint8)  # read-only either way
        valid = np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
        ok = np.empty(n, np.bool_)
        if n and not _untrimmed(read_only(offsets), raw, valid, ok):
            return None
        parts.append(ok)
    return pa.array(np.concatenate(parts) if parts else np.empty(0, np.bool_))


def _field(statics: pa.Table, name: str) -> tuple[Any, Any]:
    """A field's values (texts trimmed when any needs it) and per row whether the value is
    present and not "not available" (an Arrow bool array, null as false)."""
    col = statics[name]
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        ok = _plain_ok(col)  # the usual case: nothing to trim, no trimmed copy
        if ok is None:
            col = pc.utf8_trim_whitespace(pc.utf8_rtrim(col, characters="@"))
            ok = pc.greater(pc.utf8_length(col), pa.scalar(0, pa.int32()))
    else:
        ok = pc.not_equal(col, pa.scalar(0).cast(col.type))
    return col, pc.fill_null(ok, False)


def _values(statics: pa.Table, name: str) -> pa.Table:
    col, ok = _field(statics, name)
    ok = pc.and_(ok, pc.is_valid(statics["ts"]))
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
    above: Any = pc.greater(imo, pa.scalar(0, pa.int64()))
    has_imo = pc.fill_null(above, False)
    ok = pc.and_(has_imo, pc.is_valid(statics["ts"]))
    t = pa.table({"mmsi": imo, "ts": statics["ts"], "vessel": statics["mmsi"]})
    if not pc.all(ok).as_py():  # the flag only of the rows with an IMO and a time
        t = t.filter(ok)
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
    name: str, before_ts: Any, after_ts: Any, before_arr: Any, after_arr: Any, mmsi: Any,
    params: IdentityParams, **extra: Any,
) -> pa.Table:  # fmt: skip
    """One event per change: the values and times before and after, the MMSIs."""
    before, after = before_arr.to_pylist(), after_arr.to_pylist()
    text = pa.types.is_string(before_arr.type)  # quoted column-wise; numbers as json.dumps does
    details = json_objects(  # column-wise: no dict and json.dumps per event
        len(after),
        {
            "field": name,
            "before": before_arr if text else before,
            "after": after_arr if text else after,
            "before_ts_us": np.asarray(before_ts, dtype=np.int64),
            **{k: np.asarray(v, dtype=np.int64) for k, v in extra.items()},
            "params": asdict(params),
        },
    )
    return build_events(
        "identity_change",
        start_us=after_ts,
        end_us=after_ts,
        mmsi=mmsi,
        lat=None,
        lon=None,
        confidence=[1.0] * len(after),
        details=details,
        discriminators=[f"{name}:{b!r}->{a!r}" for b, a in zip(before, after, strict=True)],
    )


def _grouped_events(
    name: str, hit: Any, ts: Any, vals: Any, order: Any, mmsi: Any, params: IdentityParams,
    **extra: Any,
) -> pa.Table:  # fmt: skip
    """:func:`_events` of the changed rows ``hit`` of the grouped order (rows ``hit - 1``
    hold the values before; ``vals`` in the rows' order, ``order`` the grouped order)."""
    before, after = vals.take(order[hit - 1]), vals.take(order[hit])
    return _events(name, ts[hit - 1], ts[hit], before, after, mmsi, params, **extra)


def _flag_changes(
    rows: pa.Table, seen: pa.Table, params: IdentityParams, head: int
) -> tuple[pa.Table, pa.Table, pa.Table]:
    if rows.num_rows == 0:
        return empty_events(), rows, seen
    order, imo, ts, vals, same, diff = _grouped(rows, head)
    vessel = np.asarray(rows["vessel"].to_numpy(), dtype=np.int64)[order]
    key = imo * PAIR + vessel
    old = np.asarray(seen["key"].to_numpy(), dtype=np.int64)
    uniq, first = np.unique(np.concatenate([old, key]), return_index=True)
    new_pair = np.zeros(len(key), dtype=bool)
    new_pair[first[first >= len(old)] - len(old)] = True  # first row of a pair never heard
    hit = np.flatnonzero(same & diff & new_pair[1:]) + 1
    events = _grouped_events(
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
    events = _grouped_events(name, hit, ts, vals, order, mmsi[hit], params)
    return events, _last_of_each(rows, order, same)


def _walked(
    statics: pa.Table, name: str, keys: Keys, prior: pa.Table | None, params: IdentityParams
) -> tuple[pa.Table, pa.Table] | None:
    """:func:`_changes` of a field by one pass over the rows (:mod:`.identity_walk`), the
    same events and state; None when the rows are not in time order per MMSI."""
    col, ok = _field(statics, name)
    ok = np.asarray(ok, dtype=bool) & keys.valid
    ch = walk(keys, ok, prior, col)
    if ch is None:
        return None
    s_key, s_ts = _prior_columns(prior, "mmsi", "ts")
    e = ch.ends
    state = pa.table(
        {"mmsi": ch.pick(e, s_key, keys.key), "ts": ch.pick(e, s_ts, keys.ts), "value": ch.take(e)}
    )
    if not len(e):  # no row at all: as the grouped path returns
        return empty_events(), state
    p, c = ch.prev, ch.cur
    before_ts, before = ch.pick(p, s_ts, keys.ts), ch.take(p)
    return _events(
        name, before_ts, keys.ts[c], before, ch.values.take(c), keys.key[c], params
    ), state


def _prior_columns(prior: pa.Table | None, *names: str) -> list[Any]:
    """Columns of a state table as int64 numpy arrays (empty without a state)."""
    if prior is None:
        return [np.empty(0, np.int64) for _ in names]
    return [np.asarray(prior[n].cast(pa.int64()), dtype=np.int64) for n in names]


def _walked_flags(
    rows: pa.Table, prior: pa.Table | None, seen: pa.Table, params: IdentityParams
) -> tuple[pa.Table, pa.Table, pa.Table] | None:
    """:func:`_flag_changes` by one pass over the rows (``rows``: this chunk's, from
    :func:`_flags_by_imo`); None when they are not in time order per IMO."""
    keys = chunk_keys(rows["mmsi"], rows["ts"])
    s_imo, s_ts, s_vessel = _prior_columns(prior, "mmsi", "ts", "vessel")
    vessel = np.asarray(rows["vessel"], dtype=np.int64)
    pair = np.concatenate([s_imo * PAIR + s_vessel, keys.key * PAIR + vessel])
    old = np.asarray(seen["key"].to_numpy(), dtype=np.int64)
    fresh = np.flatnonzero(~np.asarray(pc.is_in(pa.array(pair), value_set=pa.array(old))))
    new_keys, first = np.unique(pair[fresh], return_index=True)
    new_pair = np.zeros(len(pair), dtype=bool)
    new_pair[fresh[first]] = True  # first row of a pair never heard
    ch = walk(keys, keys.valid, prior, rows["value"], need=new_pair[len(s_imo) :])
    if ch is None:
        return None
    uniq = np.insert(old, np.searchsorted(old, new_keys), new_keys)
    p, c, e = ch.prev, ch.cur, ch.ends
    events = _events(
        "flag", ch.pick(p, s_ts, keys.ts), keys.ts[c], ch.take(p), ch.values.take(c),
        vessel[c], params, imo=keys.key[c], before_mmsi=ch.pick(p, s_vessel, vessel),
    )  # fmt: skip
    state = pa.table(
        {
            "mmsi": ch.pick(e, s_imo, keys.key),
            "ts": ch.pick(e, s_ts, keys.ts),
            "value": ch.take(e),
            "vessel": ch.pick(e, s_vessel, vessel),
        }
    )
    return events, state, pa.table({"key": pa.array(uniq, pa.int64())})


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
    keys = None  # the chunk's MMSIs, coded once for every field
    for name in params.fields:
        if name == "flag":
            if "imo" in statics.column_names:
                rows = _flags_by_imo(statics)
                seen = last.get("flag_pairs", pa.table({"key": pa.array([], pa.int64())}))
                got = None
                if rows.num_rows:
                    got = _walked_flags(rows, last.get(name), seen, params)
                if got is None:
                    head = last[name].num_rows if name in last else 0
                    if name in last:
                        rows = pa.concat_tables([last[name], rows.cast(last[name].schema)])
                    got = _flag_changes(rows, seen, params, head)
                events, last[name], last["flag_pairs"] = got
                out.append(events)
            continue
        if name not in statics.column_names:
            continue
        if keys is None:
            keys = chunk_keys(statics["mmsi"], statics["ts"])
        walked = _walked(statics, name, keys, last.get(name), params)
        if walked is None:
            rows = _values(statics, name)
            head = last[name].num_rows if name in last else 0
            if name in last:
                rows = pa.concat_tables([last[name], rows.cast(last[name].schema)])
            walked = _changes(rows, name, params, head)
        events, last[name] = walked
        out.append(events)
    return (pa.concat_tables(out) if out else empty_events()), IdentityState(last)
