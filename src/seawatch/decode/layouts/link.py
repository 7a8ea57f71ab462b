"""VDL management by base stations: assignment commands (16, 23) → ``assignments``; data link
reservations (20) → ``data_link``; channel management (22) → ``channel_management``.

Type 22 has two layouts: a geographic area (broadcast) or two addressed stations,
chosen by the addressed flag at bit 139.
"""

from __future__ import annotations

from seawatch.decode.fields import Field, Layout, Select, header
from seawatch.decode.layouts.common import area_corner, flag, mmsi, spare, uint

_TXRX = "Tx/Rx mode: 0 = Tx on A and B, 1 = Tx on A only, 2 = Tx on B only (always Rx on A and B)"


def _assigned(station: str) -> tuple[Field, ...]:
    return (
        mmsi(f"dest_mmsi_{station}", f"MMSI of assigned station {station.upper()}"),
        uint(f"offset_{station}", 12, f"Slot offset for station {station.upper()}"),
        uint(
            f"increment_{station}",
            10,
            f"Slot increment (or reporting rate code) for station {station.upper()}",
        ),
    )


TYPE16 = Layout(
    16,
    "type16",
    "assignments",
    (*header(), spare(2), *_assigned("a"), *_assigned("b")),
    min_bits=92,
    doc="Assignment mode command for one or two stations",
)

TYPE23 = Layout(
    23,
    "type23",
    "assignments",
    (
        *header(),
        spare(2),
        *area_corner("ne"),
        *area_corner("sw"),
        uint(
            "station_type",
            4,
            "Station types addressed: 0 all mobiles, 1 Class A, 2 all Class B, 3 SAR aircraft, "
            "4 Class B SO, 5 Class B CS, 6 inland waterways, 10 base station coverage area",
        ),
        uint("ship_type", 8, "Type of ship and cargo addressed (0 = all types)"),
        spare(22),
        uint("txrx_mode", 2, _TXRX),
        uint(
            "report_interval", 4, "Reporting interval code (ITU-R M.1371 message 23 interval table)"
        ),
        uint("quiet_time_min", 4, "Quiet time before reporting, minutes (0 = none)"),
        spare(6),
    ),
    min_bits=154,
    doc="Group assignment command for the stations in an area",
)


def _reservation(i: int) -> tuple[Field, ...]:
    return (
        uint(f"offset{i}", 12, f"Reserved offset number {i}, slots", na=0),
        uint(f"number{i}", 4, f"Number of reserved consecutive slots in block {i}", na=0),
        uint(f"timeout{i}_min", 3, f"Time-out of reservation {i}, minutes"),
        uint(
            f"increment{i}",
            11,
            f"Increment between reserved blocks {i}, slots (0 = once per frame)",
        ),
    )


TYPE20 = Layout(
    20,
    "type20",
    "data_link",
    (*header(), spare(2), *(f for i in range(1, 5) for f in _reservation(i))),
    min_bits=70,
    doc="Data link management: FATDMA slot reservations of a base station",
)


def _channel_management(addressed: bool) -> Layout:
    if addressed:
        target: tuple[Field, ...] = (
            mmsi("dest_mmsi1", "MMSI of the first addressed station"),
            spare(5),
            mmsi("dest_mmsi2", "MMSI of the second addressed station"),
            spare(5),
        )
    else:
        target = (*area_corner("ne"), *area_corner("sw"))
    kind = "addressed" if addressed else "broadcast"
    return Layout(
        22,
        f"type22_{kind}",
        "channel_management",
        (
            *header(),
            spare(2),
            uint("channel_a", 12, "Channel number for AIS 1 / channel A (ITU-R M.1084)"),
            uint("channel_b", 12, "Channel number for AIS 2 / channel B (ITU-R M.1084)"),
            uint("txrx_mode", 4, _TXRX),
            flag("power_low", "Low transmit power requested (false = high, the default)"),
            *target,
            flag("addressed", "Command is addressed to two stations (else to an area)"),
            flag("band_a", "Channel A bandwidth flag (ITU-R M.1371-5: spare, formerly 12.5 kHz)"),
            flag("band_b", "Channel B bandwidth flag (ITU-R M.1371-5: spare, formerly 12.5 kHz)"),
            uint("zone_size", 3, "Transitional zone size code: nautical miles minus 1 (0-7)"),
            spare(23),
        ),
        min_bits=145,
        select=(Select(139, 1, int(addressed)),),
        doc=f"Channel management, {kind}",
    )


LAYOUTS: tuple[Layout, ...] = (
    TYPE16,
    TYPE20,
    _channel_management(False),
    _channel_management(True),
    TYPE23,
)
