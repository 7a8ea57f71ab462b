"""Messages between stations: acknowledgements (7, 13) → ``acknowledgements``; UTC inquiry
and interrogation (10, 15) → ``interrogations``; safety-related text (12, 14) →
``safety_messages``; DGNSS corrections (17) → ``dgnss``.

Variable-length messages (7, 13, 15) declare their longest form; fields the actual
message does not reach decode as null.
"""

from __future__ import annotations

from seawatch.decode.fields import Field, Layout, header
from seawatch.decode.layouts.common import (
    MAX_MESSAGE_BITS,
    PER_DEG_10_MIN,
    flag,
    lat,
    lon,
    mmsi,
    rest_bits,
    rest_text,
    spare,
    uint,
)


def _ack(msg_type: int, doc: str) -> Layout:
    fields: list[Field] = [*header(), spare(2)]
    for i in range(1, 5):
        fields += [
            mmsi(f"dest_mmsi{i}", f"MMSI of acknowledged station {i}"),
            uint(f"seq_num{i}", 2, f"Sequence number of the message acknowledged to station {i}"),
        ]
    return Layout(
        msg_type, f"type{msg_type}", "acknowledgements", tuple(fields), min_bits=72, doc=doc
    )


TYPE7 = _ack(7, "Binary acknowledge (of addressed binary messages, type 6)")
TYPE13 = _ack(13, "Safety related acknowledge (of addressed safety messages, type 12)")

_INTERROGATED1 = mmsi("dest_mmsi1", "MMSI of the (first) interrogated station")

TYPE10 = Layout(
    10,
    "type10",
    "interrogations",
    (*header(), spare(2), _INTERROGATED1, spare(2)),
    min_bits=70,
    doc="UTC/date inquiry (answered by type 11)",
)


def _request(i: str, station: str) -> tuple[Field, ...]:
    return (
        uint(f"requested_type{i}", 6, f"Message type requested from station {station}"),
        uint(f"slot_offset{i}", 12, f"Slot offset for the response to request {i}"),
        spare(2),
    )


TYPE15 = Layout(
    15,
    "type15",
    "interrogations",
    (
        *header(),
        spare(2),
        _INTERROGATED1,
        *_request("1_1", "1"),
        *_request("1_2", "1"),
        mmsi("dest_mmsi2", "MMSI of the second interrogated station"),
        *_request("2_1", "2"),
    ),
    min_bits=88,
    doc="Interrogation: request for specific messages from one or two stations",
)

TYPE12 = Layout(
    12,
    "type12",
    "safety_messages",
    (
        *header(),
        uint("seq_num", 2, "Sequence number of an addressed message (0-3)"),
        mmsi("dest_mmsi", "MMSI of the addressed station"),
        flag("retransmit", "Message was retransmitted"),
        spare(1),
        rest_text("text", "Safety related text (6-bit ASCII)", MAX_MESSAGE_BITS - 72),
    ),
    min_bits=72,
    doc="Addressed safety related message",
)

TYPE14 = Layout(
    14,
    "type14",
    "safety_messages",
    (
        *header(),
        spare(2),
        rest_text("text", "Safety related text (6-bit ASCII)", MAX_MESSAGE_BITS - 40),
    ),
    min_bits=40,
    doc="Broadcast safety related message",
)

TYPE17 = Layout(
    17,
    "type17",
    "dgnss",
    (
        *header(),
        spare(2),
        lon(18, PER_DEG_10_MIN),
        lat(17, PER_DEG_10_MIN),
        spare(5),
        rest_bits("data", "DGNSS correction data (ITU-R M.823 message header and words)", 736),
    ),
    min_bits=80,
    doc="GNSS broadcast binary message: DGNSS corrections from a base station "
    "(position of the reference station in 1/10 min)",
)

LAYOUTS: tuple[Layout, ...] = (TYPE7, TYPE10, TYPE12, TYPE13, TYPE14, TYPE15, TYPE17)
