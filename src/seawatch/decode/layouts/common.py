"""Fields that several layouts share, declared once so a column has one meaning and one doc.

Everything here returns :class:`~seawatch.decode.fields.Field` values; the message
modules assemble them (after :func:`~seawatch.decode.fields.header`) into layouts.
Resolutions that differ between message types (longitude in 1/10 000 min in type 1,
1/10 min in type 27) are parameters; the output unit is the same.
"""

from __future__ import annotations

from seawatch.decode.fields import Field, Kind

#: Characters of a six-bit ASCII field, indexed by their six-bit code (ITU-R M.1371 Table 47).
SIXBIT = "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?"

#: Largest message the VDL carries (5 slots); bounds "rest of message" fields.
MAX_MESSAGE_BITS = 1008

#: Raw units per degree of the position resolutions used by AIS messages.
PER_DEG_10000_MIN = 600_000  # 1/10 000 minute (types 1-4, 9, 11, 18, 19, 21)
PER_DEG_1000_MIN = 60_000  # 1/1 000 minute (IMO application messages)
PER_DEG_10_MIN = 600  # 1/10 minute (types 17, 22, 23, 27)

EPFD_DOC = (
    "Type of position fixing device: 1 GPS, 2 GLONASS, 3 GPS/GLONASS, 4 Loran-C, 5 Chayka, "
    "6 integrated navigation system, 7 surveyed, 8 Galileo, 15 internal GNSS (null = undefined)"
)
NAV_STATUS_DOC = (
    "Navigational status: 0 under way using engine, 1 at anchor, 2 not under command, "
    "3 restricted manoeuvrability, 4 constrained by draught, 5 moored, 6 aground, "
    "7 engaged in fishing, 8 under way sailing, 14 AIS-SART/MOB/EPIRB active, "
    "15 not defined (default; also AIS-SART under test)"
)


def spare(width: int) -> Field:
    """Reserved bits: only their width matters."""
    return Field("spare", width, Kind.SPARE, doc="Spare or reserved bits")


def flag(name: str, doc: str) -> Field:
    return Field(name, 1, Kind.BOOL, doc=doc)


def uint(name: str, width: int, doc: str, *, na: int | None = None) -> Field:
    return Field(name, width, doc=doc, na=na)


def text(name: str, width: int, doc: str, *, max_width: int = 0) -> Field:
    return Field(name, width, Kind.TEXT, doc=doc, max_width=max_width)


def mmsi(name: str, doc: str) -> Field:
    return Field(name, 30, doc=doc)


def lon(width: int = 28, per_deg: int = PER_DEG_10000_MIN, name: str = "lon") -> Field:
    return Field(
        name,
        width,
        Kind.INT,
        scale=per_deg,
        na=181 * per_deg,
        doc="Longitude, degrees (WGS 84, east positive; null = not available)",
    )


def lat(width: int = 27, per_deg: int = PER_DEG_10000_MIN, name: str = "lat") -> Field:
    return Field(
        name,
        width,
        Kind.INT,
        scale=per_deg,
        na=91 * per_deg,
        doc="Latitude, degrees (WGS 84, north positive; null = not available)",
    )


def area_corner(prefix: str) -> tuple[Field, Field]:
    """Corner of a rectangular area in 1/10 min (types 22, 23); no "not available" value."""
    corner = f"{prefix.upper()} corner of the area, degrees"
    k = Kind.INT
    return (
        Field(f"{prefix}_lon", 18, k, scale=PER_DEG_10_MIN, doc=f"Longitude of the {corner}"),
        Field(f"{prefix}_lat", 17, k, scale=PER_DEG_10_MIN, doc=f"Latitude of the {corner}"),
    )


def speed_tenths() -> Field:
    return Field(
        "speed_kn",
        10,
        scale=10,
        na=1023,
        doc="Speed over ground, knots (102.2 = 102.2 kn or more)",
    )


def course_tenths() -> Field:
    return Field("course_deg", 12, scale=10, na=3600, doc="Course over ground, degrees true")


def heading() -> Field:
    return Field("heading_deg", 9, na=511, doc="True heading, degrees")


def accuracy() -> Field:
    return flag("accuracy", "Position accuracy: true = high (better than 10 m), false = low")


def second(
    doc: str = "UTC second of the report (0-59); 61 manual input, 62 dead reckoning, "
    "63 positioning system inoperative (null = not available)",
) -> Field:
    return Field("second", 6, na=60, doc=doc)


def raim() -> Field:
    return flag("raim", "RAIM (receiver autonomous integrity monitoring) in use")


def radio() -> Field:
    return Field(
        "radio",
        19,
        doc="Communication state, raw 19 bits (SOTDMA or ITDMA sync state, "
        "slot timeout and sub-message)",
    )


def comm_state_flag() -> Field:
    return flag("comm_state_itdma", "Communication state selector: true = ITDMA, false = SOTDMA")


def epfd() -> Field:
    return Field("epfd", 4, na=0, doc=EPFD_DOC)


def nav_status() -> Field:
    return Field("nav_status", 4, doc=NAV_STATUS_DOC)


def ship_type() -> Field:
    return Field(
        "ship_type",
        8,
        na=0,
        doc="Type of ship and cargo (ITU-R M.1371 code; null = not available)",
    )


def dimensions() -> tuple[Field, ...]:
    ref = "from the position reference point to"
    return (
        Field("dim_to_bow_m", 9, doc=f"Distance {ref} the bow, metres (511 = 511 m or more)"),
        Field("dim_to_stern_m", 9, doc=f"Distance {ref} the stern, metres (511 = 511 m or more)"),
        Field("dim_to_port_m", 6, doc=f"Distance {ref} port, metres (63 = 63 m or more)"),
        Field("dim_to_starboard_m", 6, doc=f"Distance {ref} starboard, metres (63 = 63 m or more)"),
    )


def name(doc: str = "Name of the vessel or station (6-bit ASCII)") -> Field:
    return text("name", 120, doc)


def callsign() -> Field:
    return text("callsign", 42, "Radio call sign")


def dte() -> Field:
    return flag("dte", "Data terminal equipment NOT ready (true = not available, the default)")


def assigned() -> Field:
    return flag("assigned", "Station is in assigned mode (false = autonomous and continuous)")


def utc_time(prefix: str = "") -> tuple[Field, ...]:
    """Month, day, hour, minute with the usual "not available" values (0, 0, 24, 60)."""
    what = f"{prefix.rstrip('_').upper()} " if prefix else ""
    return (
        Field(f"{prefix}month", 4, na=0, doc=f"{what}UTC month (1-12)".strip()),
        Field(f"{prefix}day", 5, na=0, doc=f"{what}UTC day of month (1-31)".strip()),
        Field(f"{prefix}hour", 5, na=24, doc=f"{what}UTC hour (0-23)".strip()),
        Field(f"{prefix}minute", 6, na=60, doc=f"{what}UTC minute (0-59)".strip()),
    )


def rest_bits(name: str, doc: str, max_width: int) -> Field:
    """Binary data running to the end of the message."""
    return Field(name, 0, Kind.BITS, doc=doc, max_width=max_width)


def rest_text(name: str, doc: str, max_width: int) -> Field:
    """Six-bit text running to the end of the message."""
    return Field(name, 0, Kind.TEXT, doc=doc, max_width=max_width)
