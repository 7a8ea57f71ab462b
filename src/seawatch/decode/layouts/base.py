"""Fixed stations: base station reports and UTC responses (4, 11) → ``base_stations``;
aid-to-navigation reports (21) → ``aids_to_navigation``.

Both type 4 and type 21 are also projected into ``positions`` (only the columns that
``positions`` declares: position, accuracy, second, RAIM, ...).
"""

from __future__ import annotations

from seawatch.decode.fields import Field, Layout, header
from seawatch.decode.layouts.common import (
    accuracy,
    assigned,
    dimensions,
    epfd,
    flag,
    lat,
    lon,
    name,
    radio,
    raim,
    rest_text,
    second,
    spare,
    uint,
    utc_time,
)


def _utc_report(msg_type: int, doc: str, also: tuple[str, ...]) -> Layout:
    return Layout(
        msg_type,
        f"type{msg_type}",
        "base_stations",
        (
            *header(),
            Field("year", 14, na=0, doc="UTC year (1-9999)"),
            *utc_time(),
            second("UTC second (0-59)"),
            accuracy(),
            lon(),
            lat(),
            epfd(),
            flag(
                "long_range_tx",
                "Requests Class A stations to transmit type 27 inside base "
                "station coverage (ITU-R M.1371-5; gpsd: spare)",
            ),
            spare(9),
            raim(),
            radio(),
        ),
        min_bits=149,
        also=also,
        doc=doc,
    )


TYPE4 = _utc_report(4, "Base station report: UTC time and position", ("positions",))
TYPE11 = _utc_report(11, "UTC/date response from a mobile station", ())

TYPE21 = Layout(
    21,
    "type21",
    "aids_to_navigation",
    (
        *header(),
        uint(
            "aid_type",
            5,
            "Type of aid to navigation (ITU-R M.1371 AtoN type code; null = not specified)",
            na=0,
        ),
        name("Name of the aid to navigation (first 20 characters)"),
        accuracy(),
        lon(),
        lat(),
        *dimensions(),
        epfd(),
        second(),
        flag("off_position", "Floating aid is off its charted position (valid when second <= 59)"),
        uint(
            "aton_status",
            8,
            "AtoN status bits for the competent authority "
            "(ITU-R M.1371-5; gpsd: regional reserved)",
        ),
        raim(),
        flag("virtual_aid", "Virtual aid to navigation (no physical aid at the position)"),
        assigned(),
        spare(1),
        rest_text("name_extension", "Name continued beyond 20 characters (up to 14 more)", 88),
    ),
    min_bits=271,
    also=("positions",),
    doc="Aid-to-navigation report",
)

LAYOUTS: tuple[Layout, ...] = (TYPE4, TYPE11, TYPE21)
