"""Position reports → table ``positions``: Class A (1, 2, 3), SAR aircraft (9),
Class B (18, 19) and long-range (27).

Type 19 also carries Class B static data and is projected into ``statics``.
"""

from __future__ import annotations

from seawatch.decode.fields import Field, Kind, Layout, header
from seawatch.decode.layouts.common import (
    PER_DEG_10_MIN,
    accuracy,
    assigned,
    comm_state_flag,
    course_tenths,
    dimensions,
    dte,
    epfd,
    flag,
    heading,
    lat,
    lon,
    name,
    nav_status,
    radio,
    raim,
    second,
    ship_type,
    spare,
    speed_tenths,
)

ROT = Field(
    "rate_of_turn_degpm",
    8,
    Kind.INT,
    na=-128,
    convert="rot",
    doc="Rate of turn, degrees per minute, positive = to starboard (ROT_AIS = 4.733·√ROT); "
    "±720 means turning faster than 5° per 30 s with no turn indicator",
)
MANEUVER = Field(
    "maneuver",
    2,
    na=0,
    doc="Special manoeuvre indicator: 1 = not engaged, 2 = engaged in special manoeuvre",
)


def _class_a(msg_type: int, doc: str) -> Layout:
    return Layout(
        msg_type,
        f"type{msg_type}",
        "positions",
        (
            *header(),
            nav_status(),
            ROT,
            speed_tenths(),
            accuracy(),
            lon(),
            lat(),
            course_tenths(),
            heading(),
            second(),
            MANEUVER,
            spare(3),
            raim(),
            radio(),
        ),
        min_bits=149,  # up to and including RAIM; the communication state may be cut off
        doc=doc,
    )


TYPE1 = _class_a(1, "Class A position report, scheduled (SOTDMA)")
TYPE2 = _class_a(2, "Class A position report, assigned schedule (SOTDMA)")
TYPE3 = _class_a(3, "Class A position report, special / on interrogation (ITDMA)")

TYPE9 = Layout(
    9,
    "type9",
    "positions",
    (
        *header(),
        Field(
            "altitude_m",
            12,
            na=4095,
            doc="Altitude (GNSS or barometric) of a SAR aircraft, metres (4094 = 4094 m or higher)",
        ),
        Field(
            "speed_kn",
            10,
            na=1023,
            as_float=True,
            doc="Speed over ground, knots (type 9: whole knots, 1022 = 1022 kn or more)",
        ),
        accuracy(),
        lon(),
        lat(),
        course_tenths(),
        second(),
        flag(
            "altitude_baro",
            "Altitude source: true = barometric, false = GNSS "
            "(ITU-R M.1371-5; gpsd: part of the regional reserved bits)",
        ),
        spare(7),
        dte(),
        spare(3),
        assigned(),
        raim(),
        comm_state_flag(),
        radio(),
    ),
    min_bits=148,
    doc="Standard SAR aircraft position report",
)

_CLASS_B_FLAGS = (
    flag("cs_unit", "Class B unit type: true = carrier-sense (CS), false = SOTDMA (SO)"),
    flag("display", "Unit has a display for safety messages (types 12 and 14)"),
    flag("dsc", "Unit is equipped with DSC"),
    flag("band", "Unit can use the whole marine band (false = upper 525 kHz only)"),
    flag("msg22", "Unit accepts channel management by message 22"),
    assigned(),
)

TYPE18 = Layout(
    18,
    "type18",
    "positions",
    (
        *header(),
        spare(8),
        speed_tenths(),
        accuracy(),
        lon(),
        lat(),
        course_tenths(),
        heading(),
        second(),
        spare(2),
        *_CLASS_B_FLAGS,
        raim(),
        comm_state_flag(),
        radio(),
    ),
    min_bits=148,
    doc="Standard Class B position report",
)

TYPE19 = Layout(
    19,
    "type19",
    "positions",
    (
        *header(),
        spare(8),
        speed_tenths(),
        accuracy(),
        lon(),
        lat(),
        course_tenths(),
        heading(),
        second(),
        spare(4),
        name(),
        ship_type(),
        *dimensions(),
        epfd(),
        raim(),
        dte(),
        assigned(),
        spare(4),
    ),
    min_bits=308,
    also=("statics",),
    doc="Extended Class B position report (position plus name, type and dimensions)",
)

TYPE27 = Layout(
    27,
    "type27",
    "positions",
    (
        *header(),
        accuracy(),
        raim(),
        nav_status(),
        lon(18, PER_DEG_10_MIN),
        lat(17, PER_DEG_10_MIN),
        Field("speed_kn", 6, na=63, as_float=True, doc="Speed over ground, knots (type 27: 0-62)"),
        Field("course_deg", 9, na=511, as_float=True, doc="Course over ground, whole degrees"),
        flag(
            "gnss",
            "Position latency > 5 s (ITU-R M.1371-5 'position latency'; "
            "gpsd reads it as 'not the current GNSS position')",
        ),
        spare(1),
    ),
    min_bits=95,
    doc="Long-range (satellite) position report, 1/10 min resolution",
)

LAYOUTS: tuple[Layout, ...] = (TYPE1, TYPE2, TYPE3, TYPE9, TYPE18, TYPE19, TYPE27)
