"""The one Arrow schema of detected events, and helpers every detector uses to emit it.

Open events (``end_ts`` null: a vessel still silent, still loitering at the end of the data)
are a *snapshot*: each call of a detector returns every event it closed during that call
plus every event still open after it. :func:`combine` turns the outputs of successive calls
over time-ordered chunks into the events of the whole input: closed events of all calls,
open events of the last call only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.events.event_ids import event_ids

TS_TYPE = pa.timestamp("us", tz="UTC")


def _doc(name: str, typ: pa.DataType, doc: str) -> pa.Field[Any]:
    return pa.field(name, typ, metadata={"doc": doc})


EVENTS_SCHEMA = pa.schema(
    [
        _doc(
            "event_id",
            pa.string(),
            "Stable id: hex blake2b-128 of event_type, mmsi, other_mmsi, start_ts (µs) and the "
            "detector's discriminator (e.g. the changed field); equal inputs give equal ids",
        ),
        _doc("event_type", pa.string(), "gap, loitering, spoofing, identity_change, ..."),
        _doc("start_ts", TS_TYPE, "Start of the event, UTC"),
        _doc("end_ts", TS_TYPE, "End of the event, UTC; null while the event is still open"),
        _doc("mmsi", pa.int32(), "MMSI of the vessel"),
        _doc("other_mmsi", pa.int32(), "MMSI of the other vessel (encounters), else null"),
        _doc("lat", pa.float64(), "Representative latitude, degrees (see each detector)"),
        _doc("lon", pa.float64(), "Representative longitude, degrees (see each detector)"),
        _doc(
            "segment_ids",
            pa.list_(pa.string()),
            "Track segments involved, as strings (the tracks stage's segment_id cast to text); "
            "null when the input had no segment_id column",
        ),
        _doc(
            "confidence",
            pa.float64(),
            "0..1; 1 for a closed event whose rule fully fired, lower for open or partial "
            "evidence (levels of graded sources such as port visits 1–4 map to level/4)",
        ),
        _doc(
            "details",
            pa.string(),
            "JSON object: the measured numbers (units in the keys) and the parameters that "
            "justified the event",
        ),
    ],
    metadata={"table": "events"},
)


def event_id(
    event_type: str, mmsi: int, other_mmsi: int | None, start_us: int, discriminator: str = ""
) -> str:
    """Stable id of one event (hex of blake2b, 16 bytes)."""
    other = "" if other_mmsi is None else str(other_mmsi)
    text = f"{event_type}|{mmsi}|{other}|{start_us}|{discriminator}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def json_objects(n: int, fields: dict[str, Any]) -> pa.StringArray:
    """``n`` JSON objects (keys sorted, as ``json.dumps(..., sort_keys=True)``) built column-wise.

    Each value of ``fields`` is a numpy or Arrow array of numbers (NaN and null become
    ``null``; floats in their shortest round-trip form), an Arrow array of text (quoted and
    escaped as ``json.dumps`` does), a list of JSON-able Python values,
    or anything else JSON-able: a constant repeated in every object (e.g. the parameters).
    No Python object per event for the numeric columns.
    """
    if n == 0:
        return pa.array([], pa.string())
    join: Any = pc.binary_join_element_wise  # the stubs reject mixed scalars and arrays
    parts: list[Any] = []  # '{"key":', value, ',"key":', value, ... '}': one join
    for key in sorted(fields):
        value = fields[key]
        text: Any
        if isinstance(value, pa.Array) and pa.types.is_string(value.type):
            text = _json_strings(value)
        elif isinstance(value, np.ndarray | pa.Array):
            arr: Any = pa.array(value) if isinstance(value, np.ndarray) else value
            if pa.types.is_floating(arr.type) and _any_nan(value, arr):
                arr = pc.if_else(pc.is_nan(arr), pa.scalar(None, arr.type), arr)
            text = pc.cast(arr, pa.string())
            if arr.null_count:
                text = pc.fill_null(text, "null")
        elif isinstance(value, list):
            text = pa.array(_json_values(value), pa.string())
        else:
            text = json.dumps(value, sort_keys=True, separators=(",", ":"))
        head = ("{" if not parts else ",") + json.dumps(key) + ":"
        if parts and isinstance(parts[-1], str):  # constants run together
            parts[-1] += head
        else:
            parts.append(head)
        if isinstance(text, str):
            parts[-1] += text
        else:
            parts.append(text)
    if not parts:
        return pa.array(["{}"] * n, pa.string())
    if isinstance(parts[-1], str):
        parts[-1] += "}"
    else:
        parts.append("}")
    if len(parts) == 1:  # only constants: one object, n times
        return pa.array(parts * n, pa.string())
    out = join(*(pa.scalar(p) if isinstance(p, str) else p for p in parts), "")
    return cast("pa.StringArray", out)


_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
"""``json.dumps(v, sort_keys=True, separators=(",", ":"))`` (what it builds per call)."""


def _json_values(values: list[Any]) -> list[str]:
    """``json.dumps`` of each value (keys sorted, no spaces): Python's own ``repr`` for
    finite floats and ints, as the encoder writes them (a tenth of the encoder's cost per
    value), ``null`` for None, the encoder for anything else (bools, NaN, numpy numbers,
    texts, containers)."""
    out = []
    for v in values:
        kind = type(v)
        if kind is float and v - v == 0.0:  # finite
            out.append(float.__repr__(v))
        elif kind is int:
            out.append(int.__repr__(v))
        elif v is None:
            out.append("null")
        else:
            out.append(_ENCODE(v))
    return out


def _any_nan(value: Any, arr: Any) -> bool:
    """Whether a float column holds a NaN (numpy's test on a numpy float array)."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return bool(np.isnan(value).any())
    return bool(pc.any(pc.is_nan(arr)).as_py())


_PLAIN = r"^[ !#-\[\]-~]*$"  # printable ASCII but '"' and '\\': JSON text as it is


def _json_strings(values: pa.Array[Any]) -> Any:
    """Each text as ``json.dumps`` writes it (null: ``null``): quoted as it is when every
    text is printable ASCII without a quote or backslash, else one ``json.dumps`` each."""
    plain: Any = pc.match_substring_regex(values, _PLAIN)
    if not pc.all(pc.fill_null(plain, True)).as_py():
        return pa.array([json.dumps(v) for v in values.to_pylist()], pa.string())
    join: Any = pc.binary_join_element_wise
    return pc.fill_null(join('"', values, '"', ""), "null")


def _to_list(values: Any, n: int) -> list[Any]:
    if values is None:
        return [None] * n
    if isinstance(values, np.ndarray):
        return list(values.tolist())
    return list(values)


def _column(values: Any, n: int, typ: pa.DataType, kind: str) -> pa.Array[Any]:
    """``pa.array(_to_list(values, n), typ)``; a numpy array of ``kind`` (``"i"``: signed
    integers, ``"f"``: floats) is converted as it is, without a Python object per value
    (the same array: NaN stays NaN, an integer out of ``typ``'s range is an error)."""
    if isinstance(values, np.ndarray) and values.dtype.kind == kind and len(values) == n:
        return pa.array(values, typ)
    return pa.array(_to_list(values, n), typ)


def build_events(
    event_type: str,
    *,
    start_us: Any,
    end_us: Any,
    mmsi: Any,
    lat: Any,
    lon: Any,
    confidence: Any,
    details: Sequence[dict[str, Any]] | pa.StringArray,
    other_mmsi: Any = None,
    segment_ids: Sequence[list[str] | None] | pa.Array[Any] | None = None,
    discriminators: Sequence[str] | pa.StringArray | None = None,
) -> pa.Table:
    """An events table from columns (numpy arrays or lists; ``end_us`` may hold None).

    Timestamps are integer microseconds since the epoch, UTC. ``details``: one dict per
    event, or the JSON text already built (:func:`json_objects`).
    """
    n = len(details)
    discs: Any = [""] * n
    if isinstance(discriminators, pa.Array):  # texts already in Arrow
        discs = discriminators
    elif discriminators is not None:
        discs = list(discriminators)
    try:  # one compiled pass over the column; the same ids
        ids: Any = event_ids(event_type, mmsi, other_mmsi, start_us, discs)
    except (TypeError, ValueError, pa.ArrowException):  # floats, missing texts: one by one
        discs = _to_list(discs, n) if isinstance(discs, pa.Array) else discs
        starts, mmsis, others = (_to_list(v, n) for v in (start_us, mmsi, other_mmsi))
        ids = [
            event_id(event_type, int(m), None if o is None else int(o), int(s), d)
            for m, o, s, d in zip(mmsis, others, starts, discs, strict=True)
        ]
    cols: dict[str, pa.Array[Any]] = {
        "event_id": ids if isinstance(ids, pa.Array) else pa.array(ids, pa.string()),
        "event_type": pa.array([event_type] * n, pa.string()),
        "start_ts": _column(start_us, n, pa.int64(), "i").cast(TS_TYPE),
        "end_ts": _column(end_us, n, pa.int64(), "i").cast(TS_TYPE),
        "mmsi": _column(mmsi, n, pa.int32(), "i"),
        "other_mmsi": _column(other_mmsi, n, pa.int32(), "i"),
        "lat": _column(lat, n, pa.float64(), "f"),
        "lon": _column(lon, n, pa.float64(), "f"),
        "segment_ids": (
            segment_ids
            if isinstance(segment_ids, pa.Array)
            else pa.array(
                list(segment_ids) if segment_ids is not None else [None] * n,
                pa.list_(pa.string()),
            )
        ),
        "confidence": _column(confidence, n, pa.float64(), "f"),
        "details": (
            details
            if isinstance(details, pa.Array)
            else pa.array(
                [json.dumps(d, sort_keys=True, separators=(",", ":")) for d in details],
                pa.string(),
            )
        ),
    }
    return pa.Table.from_arrays(list(cols.values()), schema=EVENTS_SCHEMA)


def empty_events() -> pa.Table:
    return EVENTS_SCHEMA.empty_table()


def sort_events(events: pa.Table) -> pa.Table:
    """Canonical order: start, type, vessel, id."""
    names = ("start_ts", "event_type", "mmsi", "event_id")
    return events.sort_by([(name, "ascending") for name in names])


def combine(outputs: Iterable[pa.Table]) -> pa.Table:
    """Events of the whole input from the outputs of successive calls over time-ordered chunks.

    Closed events of every call are kept; open events (``end_ts`` null) only from the last
    call, since each call re-emits everything still open.
    """
    closed: list[pa.Table] = []
    last: pa.Table | None = None
    for out in outputs:
        closed.append(out.filter(pc.is_valid(out["end_ts"])))
        last = out
    if last is None:
        return empty_events()
    parts = [*closed, last.filter(pc.is_null(last["end_ts"]))]
    return sort_events(pa.concat_tables(parts))
