"""The published Arrow schemas of the tracks stage's outputs, every field documented.

- positions: the decode ``positions`` schema plus :data:`SEGMENT_ID` (see ``segment.py``)
- :data:`SEGMENTS`: one row per segment (a plausible single vessel behind one MMSI)
- :data:`IDENTITY`: per segment, the identity reported by static messages at each change
- ``seawatch.tracks.mid.FLAG_SCHEMA``: class, MID and flag of MMSIs
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from seawatch.decode.schemas import SCHEMAS as DECODED
from seawatch.decode.schemas import TS_TYPE


def _doc(name: str, typ: pa.DataType, doc: str) -> pa.Field[Any]:
    return pa.field(name, typ, metadata={"doc": doc})


SEGMENT_ID = _doc(
    "segment_id",
    pa.int64(),
    "Segment (plausible single vessel) of the MMSI: stable hash of the MMSI and the "
    "segment's first time and position; null for points the matcher rejects as noise",
)

# Identity fields taken from the statics table, in output order.
IDENTITY_FIELDS = (
    "name",
    "callsign",
    "imo",
    "ship_type",
    "dim_to_bow_m",
    "dim_to_stern_m",
    "dim_to_port_m",
    "dim_to_starboard_m",
    "draught_m",
    "destination",
)
_STATIC = DECODED["statics"]

IDENTITY = pa.schema(
    [
        _doc("segment_id", pa.int64(), "Segment the static reports were attributed to"),
        _doc("mmsi", pa.int32(), "MMSI"),
        _doc("ts", TS_TYPE, "Time of the static report that changed the identity (UTC)"),
        *(
            _doc(
                f,
                _STATIC.field(f).type,
                f"{(_STATIC.field(f).metadata or {})[b'doc'].decode()} (last reported value; "
                "null: never reported in this segment)",
            )
            for f in IDENTITY_FIELDS
        ),
        _doc("changed", pa.list_(pa.string()), "Fields whose value changed in this report"),
    ],
    metadata={"table": "identity"},
)

SEGMENTS = pa.schema(
    [
        _doc("segment_id", pa.int64(), "Segment id (as in positions.segment_id)"),
        _doc("mmsi", pa.int32(), "MMSI the segment's positions carry"),
        _doc("start_ts", TS_TYPE, "Time of the segment's first position (UTC)"),
        _doc("end_ts", TS_TYPE, "Time of the segment's last position (UTC)"),
        _doc("duration_s", pa.float64(), "end_ts - start_ts, seconds"),
        _doc("n_positions", pa.int64(), "Number of positions in the segment"),
        _doc("n_statics", pa.int64(), "Number of static reports attributed to the segment"),
        _doc("name", pa.string(), "Most often reported name (null: none reported)"),
        _doc("callsign", pa.string(), "Most often reported call sign"),
        _doc("imo", pa.int32(), "Most often reported IMO number"),
        _doc("ship_type", pa.int16(), "Most often reported ship type (ITU-R M.1371 code)"),
        _doc("flag", pa.string(), "Flag from the MMSI's MID, ISO 3166-1 alpha-3"),
        _doc("mmsi_class", pa.string(), "Kind of station the MMSI denotes (tracks.mid)"),
    ],
    metadata={"table": "segments"},
)
