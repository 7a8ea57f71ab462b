"""Binary messages → table ``binary_messages``: addressed (6), broadcast (8), single-slot (25)
and multi-slot (26).

Each keeps its application data as bits (``data`` plus the engine's ``data_nbits``).
Types 25 and 26 come in four variants, told apart by the addressed (bit 38) and
structured (bit 39) flags. Following ITU-R M.1371-5, an addressed 25/26 has 2 spare
bits after the destination MMSI (gpsd and pyais read the application ID right after it).
The header helpers here are shared with the IMO application layouts (``imo.py``, ``apps.py``).
"""

from __future__ import annotations

from seawatch.decode.fields import Field, Layout, Select, header
from seawatch.decode.layouts.common import (
    MAX_MESSAGE_BITS,
    flag,
    mmsi,
    rest_bits,
    spare,
    uint,
)

DATA_DOC = "Application data bits after the application identifier (DAC/FI), or all data if none"
DATA26_DOC = DATA_DOC + "; type 26: the last 20 bits are the communication state flag and state"


def dac_fi() -> tuple[Field, Field]:
    return (
        uint("dac", 10, "Designated area code of the application (1 = international, else MID)"),
        uint("fi", 6, "Function identifier of the application within its DAC"),
    )


def addressed_header() -> tuple[Field, ...]:
    """Type 6 up to and including the application identifier (88 bits)."""
    return (
        *header(),
        uint("seq_num", 2, "Sequence number of an addressed message (0-3)"),
        mmsi("dest_mmsi", "MMSI of the addressed station"),
        flag("retransmit", "Message was retransmitted"),
        spare(1),
        *dac_fi(),
    )


def broadcast_header() -> tuple[Field, ...]:
    """Type 8 up to and including the application identifier (56 bits)."""
    return (*header(), spare(2), *dac_fi())


def app_select(msg_type: int, dac: int, fi: int) -> tuple[Select, Select]:
    """Predicates on DAC and FI of an application message carried by type 6 or 8."""
    off = 72 if msg_type == 6 else 40
    return (Select(off, 10, dac), Select(off + 10, 6, fi))


TYPE6 = Layout(
    6,
    "type6",
    "binary_messages",
    (*addressed_header(), rest_bits("data", DATA_DOC, MAX_MESSAGE_BITS - 88)),
    min_bits=88,
    doc="Addressed binary message",
)

TYPE8 = Layout(
    8,
    "type8",
    "binary_messages",
    (*broadcast_header(), rest_bits("data", DATA_DOC, MAX_MESSAGE_BITS - 56)),
    min_bits=56,
    doc="Broadcast binary message",
)


def _slot_binary(msg_type: int, addressed: bool, structured: bool) -> Layout:
    """One variant of type 25 (one slot, max 168 bits) or 26 (up to 5 slots, 1064 bits)."""
    fields: list[Field] = [
        *header(),
        flag("addressed", "Message is addressed to one station (else broadcast)"),
        flag("structured", "Data starts with an application identifier (DAC/FI)"),
    ]
    if addressed:
        fields += [mmsi("dest_mmsi", "MMSI of the addressed station"), spare(2)]
    if structured:
        fields += dac_fi()
    head = sum(f.width for f in fields)
    total = 168 if msg_type == 25 else 1064
    radio_bits = 0 if msg_type == 25 else 20
    fields.append(rest_bits("data", DATA_DOC if msg_type == 25 else DATA26_DOC, total - head))
    kind = ("addressed" if addressed else "broadcast") + (
        "_structured" if structured else "_unstructured"
    )
    return Layout(
        msg_type,
        f"type{msg_type}_{kind}",
        "binary_messages",
        tuple(fields),
        min_bits=head + radio_bits,
        select=(Select(38, 1, int(addressed)), Select(39, 1, int(structured))),
        doc=("Single-slot" if msg_type == 25 else "Multiple-slot")
        + f" binary message, {kind.replace('_', ', ')}",
    )


_VARIANTS = ((False, False), (False, True), (True, False), (True, True))

LAYOUTS: tuple[Layout, ...] = (
    TYPE6,
    TYPE8,
    *(_slot_binary(25, a, s) for a, s in _VARIANTS),
    *(_slot_binary(26, a, s) for a, s in _VARIANTS),
)
