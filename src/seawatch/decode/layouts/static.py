"""Static and voyage data → table ``statics``: Class A (5) and Class B (24 parts A and B).

Type 24 part B has two layouts: ordinary stations send the ship's dimensions, auxiliary
craft (MMSI 98xxxxxxx, ITU-R M.585) send their mothership's MMSI in the same 30 bits.
"""

from __future__ import annotations

from seawatch.decode.fields import Field, Layout, Select, header
from seawatch.decode.layouts.common import (
    callsign,
    dimensions,
    dte,
    epfd,
    mmsi,
    name,
    ship_type,
    spare,
    text,
    uint,
    utc_time,
)

TYPE5 = Layout(
    5,
    "type5",
    "statics",
    (
        *header(),
        uint("ais_version", 2, "AIS version: 0 = ITU-R M.1371-1, 1 = -3, 2 = -5, 3 = later"),
        Field("imo", 30, na=0, doc="IMO ship identification number (null = not available)"),
        callsign(),
        name(),
        ship_type(),
        *dimensions(),
        epfd(),
        *utc_time("eta_"),
        Field(
            "draught_m",
            8,
            scale=10,
            na=0,
            doc="Maximum present static draught, metres (25.5 = 25.5 m or more)",
        ),
        text("destination", 120, "Destination as entered by the crew"),
        dte(),
        spare(1),
    ),
    # Some transponders send 420 bits; the destination then keeps its first 19 characters.
    min_bits=420,
    doc="Class A static and voyage related data",
)

PART_NUM = Field("part_num", 2, doc="Part of a type 24 message: 0 = part A (name), 1 = part B")
PART_A = Select(38, 2, 0)
PART_B = Select(38, 2, 1)
#: MMSI of an auxiliary craft associated with a parent ship: 98MIDxxxx.
AUXILIARY_CRAFT = Select(8, 30, 980_000_000, upper=989_999_999)

TYPE24A = Layout(
    24,
    "type24a",
    "statics",
    (*header(), PART_NUM, name()),
    min_bits=160,
    select=(PART_A,),
    doc="Class B static data report, part A: name",
)

_PART_B_HEAD = (
    *header(),
    PART_NUM,
    ship_type(),
    text("vendor_id", 18, "Manufacturer's ID (3 characters)"),
    uint("model", 4, "Unit model code"),
    uint("serial", 20, "Unit serial number"),
    callsign(),
)
# ITU-R M.1371-5 adds the position fixing device in part B (gpsd and pyais: 6 spare bits).
_PART_B_TAIL = (epfd(), spare(2))

TYPE24B = Layout(
    24,
    "type24b",
    "statics",
    (*_PART_B_HEAD, *dimensions(), *_PART_B_TAIL),
    min_bits=162,
    select=(PART_B,),
    unless=(AUXILIARY_CRAFT,),
    doc="Class B static data report, part B: type, vendor, call sign, dimensions",
)

TYPE24B_AUX = Layout(
    24,
    "type24b_aux",
    "statics",
    (
        *_PART_B_HEAD,
        mmsi("mothership_mmsi", "MMSI of the mother ship (auxiliary craft only)"),
        *_PART_B_TAIL,
    ),
    min_bits=162,
    select=(PART_B, AUXILIARY_CRAFT),
    doc="Class B static data report, part B of an auxiliary craft (MMSI 98xxxxxxx)",
)

LAYOUTS: tuple[Layout, ...] = (TYPE5, TYPE24A, TYPE24B, TYPE24B_AUX)
