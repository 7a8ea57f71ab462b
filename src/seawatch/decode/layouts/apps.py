"""Other application messages carried by types 6 and 8, each in its own table:
``persons_on_board`` (DAC 1 FI 16 of IMO SN.1/Circ.289; FI 40 of SN/Circ.236),
``inland_static`` (DAC 200 FI 10, inland ship static and voyage data, UNECE),
``berthing_data`` (DAC 1 FI 20), ``clearance_time`` (DAC 1 FI 18) and
``text_descriptions`` (DAC 1 FI 29 broadcast, FI 30 addressed).

Type 8 DAC 1 FI 16 is not persons on board but VTS-generated targets (ITU-R M.1371-1),
which the real feeds confirm (240-bit payloads); it is left to ``binary_messages``.
"""

from __future__ import annotations

from seawatch.decode.fields import Field, Layout
from seawatch.decode.layouts.binary import addressed_header, app_select, broadcast_header
from seawatch.decode.layouts.common import (
    MAX_MESSAGE_BITS,
    PER_DEG_1000_MIN,
    flag,
    lat,
    lon,
    rest_text,
    spare,
    text,
    uint,
    utc_time,
)

_PERSONS = uint("persons", 13, "Persons on board including crew (8191 = 8191 or more)", na=0)
_LINKAGE = uint("linkage_id", 10, "Message linkage ID tying related application messages", na=0)


def _app(
    msg_type: int, dac: int, fi: int, table: str, fields: tuple[Field, ...], min_bits: int, doc: str
) -> Layout:
    head = addressed_header() if msg_type == 6 else broadcast_header()
    return Layout(
        msg_type,
        f"type{msg_type}_dac{dac}_fi{fi}",
        table,
        (*head, *fields),
        min_bits=min_bits,
        select=app_select(msg_type, dac, fi),
        doc=doc,
    )


PERSONS_289 = _app(
    6,
    1,
    16,
    "persons_on_board",
    (_PERSONS, spare(35)),
    101,
    "Number of persons on board, addressed (IMO SN.1/Circ.289)",
)
PERSONS_236_ADDRESSED = _app(
    6,
    1,
    40,
    "persons_on_board",
    (_PERSONS, spare(3)),
    101,
    "Number of persons on board, addressed (IMO SN/Circ.236)",
)
PERSONS_236_BROADCAST = _app(
    8,
    1,
    40,
    "persons_on_board",
    (_PERSONS, spare(3)),
    69,
    "Number of persons on board, broadcast (IMO SN/Circ.236)",
)

INLAND_STATIC = _app(
    8,
    200,
    10,
    "inland_static",
    (
        text("eni", 48, "European vessel identification number (ENI), 8 characters"),
        Field("length_m", 13, scale=10, na=0, doc="Length of the ship or convoy, metres"),
        Field("beam_m", 10, scale=10, na=0, doc="Beam of the ship or convoy, metres"),
        uint("ship_type_eri", 14, "Vessel and convoy type, ERI code (UNECE inland AIS)"),
        uint("hazard", 3, "Hazardous cargo: 0-3 blue cones/lights, 4 = B-flag", na=5),
        Field("draught_m", 11, scale=100, na=0, doc="Static draught, metres"),
        uint("loaded", 2, "Load status: 1 = loaded, 2 = unloaded", na=0),
        flag("speed_quality", "Speed comes from a certified sensor (false = low/GNSS)"),
        flag("course_quality", "Course comes from a certified sensor (false = low/GNSS)"),
        flag("heading_quality", "Heading comes from a certified sensor (false = low)"),
        spare(8),
    ),
    160,
    "Inland ship static and voyage related data (UNECE inland AIS, DAC 200 FI 10)",
)

_SERVICES = (
    "agent",
    "fuel",
    "chandler",
    "stevedore",
    "electrical",
    "water",
    "customs",
    "cartage",
    "crane",
    "lift",
    "medical",
    "navrepair",
    "provisions",
    "shiprepair",
    "surveyor",
    "steam",
    "tugs",
    "solidwaste",
    "liquidwaste",
    "hazardouswaste",
    "ballast",
    "additional",
    "regional1",
    "regional2",
    "future1",
    "future2",
)

BERTHING = _app(
    6,
    1,
    20,
    "berthing_data",
    (
        _LINKAGE,
        uint("berth_length_m", 9, "Berth length, metres (511 = 511 m or more)", na=0),
        Field("berth_depth_m", 8, scale=10, na=0, doc="Water depth at berth, metres"),
        uint(
            "mooring_position",
            3,
            "Mooring: 1 port side to, 2 starboard side to, "
            "3 Mediterranean, 4 mooring buoy, 5 anchorage",
            na=0,
        ),
        *utc_time("berth_"),
        flag("services_available", "Services status is given"),
        *(
            uint(f"svc_{s}", 2, f"Service '{s}': 1 available, 2 no data or unknown", na=0)
            for s in _SERVICES
        ),
        text("berth_name", 120, "Name of the berth"),
        lon(25, PER_DEG_1000_MIN, "berth_lon"),
        lat(24, PER_DEG_1000_MIN, "berth_lat"),
    ),
    360,
    "Berthing data, addressed (IMO SN.1/Circ.289)",
)

CLEARANCE = _app(
    6,
    1,
    18,
    "clearance_time",
    (
        _LINKAGE,
        *utc_time("clearance_"),
        text("port_berth", 120, "Name of the port and berth"),
        text("destination", 30, "Destination UN/LOCODE (5 characters)"),
        lon(25, PER_DEG_1000_MIN),
        lat(24, PER_DEG_1000_MIN),
        spare(43),
    ),
    317,
    "Clearance time to enter port, addressed (IMO SN.1/Circ.289)",
)

TEXT_BROADCAST = _app(
    8,
    1,
    29,
    "text_descriptions",
    (_LINKAGE, rest_text("text", "Free text (6-bit ASCII)", MAX_MESSAGE_BITS - 66)),
    66,
    "Text description, broadcast (IMO SN.1/Circ.289)",
)
TEXT_ADDRESSED = _app(
    6,
    1,
    30,
    "text_descriptions",
    (_LINKAGE, rest_text("text", "Free text (6-bit ASCII)", MAX_MESSAGE_BITS - 98)),
    98,
    "Text description, addressed (IMO SN.1/Circ.289)",
)

LAYOUTS: tuple[Layout, ...] = (
    PERSONS_289,
    PERSONS_236_ADDRESSED,
    PERSONS_236_BROADCAST,
    INLAND_STATIC,
    BERTHING,
    CLEARANCE,
    TEXT_BROADCAST,
    TEXT_ADDRESSED,
)
