"""Geography columns for positions: what the events detectors read.

In: positions as an Arrow table with ``lat`` and ``lon`` (degrees, float64; null = unknown).
Out: the same table with :data:`ENRICH_SCHEMA`'s columns appended (replaced if present), and
one ``zone_<layer>`` column (int32 polygon index, null outside) per zone layer given.
Every column is computed vectorised; no Python object per position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from seawatch.geo._arrow import doc_field
from seawatch.geo.land import on_land
from seawatch.geo.ports import PortTable, default_ports
from seawatch.geo.shore import distance_inland_km, distance_to_shore_km
from seawatch.geo.zones import ZoneLayer

__all__ = ["ENRICH_SCHEMA", "INLAND_MARGIN_KM", "enrich", "zone_column"]

INLAND_MARGIN_KM = 2.0
"""A position is ``on_land`` when it lies in a land cell of the mask *and* farther than this
from the nearest coast cell: the 30″ mask (≈ 1 km cells) counts many quays and berths as
land, and ships lying there are not on land. Rivers and canals narrower than a cell (the
Suez Canal) are land in the mask whatever the margin (docs/geography.md)."""

ENRICH_SCHEMA = pa.schema(
    [
        doc_field(
            "on_land",
            pa.bool_(),
            "Position in a land cell of the 30-arc-second GLOBE mask (global-land-mask) and "
            "more than INLAND_MARGIN_KM (2 km) from the coast: quays and berths are not land",
        ),
        doc_field(
            "distance_to_shore_km",
            pa.float64(),
            "Great-circle km to the nearest coast (0 on land); see docs/geography.md",
        ),
        doc_field(
            "distance_to_port_km",
            pa.float64(),
            "Great-circle km to the nearest port of the port table",
        ),
        doc_field("port_id", pa.string(), "port_id of that nearest port"),
        doc_field("port_name", pa.string(), "port_name of that nearest port"),
    ]
)


def zone_column(layer_name: str) -> str:
    """Name of the column :func:`enrich` adds for a zone layer."""
    return f"zone_{layer_name}"


def _coords(positions: pa.Table, column: str) -> npt.NDArray[np.float64]:
    col = positions.column(column).combine_chunks().cast(pa.float64())
    values: npt.NDArray[np.float64] = col.to_numpy(zero_copy_only=False)
    return values.astype(np.float64, copy=False)


def _set(table: pa.Table, field: pa.Field[Any], values: Any) -> pa.Table:
    index = table.schema.get_field_index(field.name)
    if index >= 0:
        return table.set_column(index, field, values)
    return table.append_column(field, values)


def enrich(
    positions: pa.Table,
    *,
    ports: PortTable | None = None,
    zones: Sequence[ZoneLayer] = (),
    lat_column: str = "lat",
    lon_column: str = "lon",
) -> pa.Table:
    """``positions`` with on_land, distance_to_shore_km, distance_to_port_km, port_id/name.

    ``ports`` defaults to searoute's UN/LOCODE ports (extend it with
    :func:`seawatch.geo.ports.load_ports_csv`). Rows with a null or NaN position get nulls.
    """
    lat = _coords(positions, lat_column)
    lon = _coords(positions, lon_column)
    missing = ~(np.isfinite(lat) & np.isfinite(lon))
    table = ports or default_ports()
    land = np.zeros(len(lat), dtype=bool)
    land[~missing] = on_land(lat[~missing], lon[~missing])
    if land.any():
        land[land] = distance_inland_km(lat[land], lon[land]) > INLAND_MARGIN_KM
    shore = distance_to_shore_km(lat, lon)
    port_index, port_km = table.nearest(lat, lon)
    take = pa.array(np.where(port_index >= 0, port_index, 0), pa.int64(), mask=port_index < 0)
    columns: dict[str, Any] = {
        "on_land": pa.array(land, pa.bool_(), mask=missing),
        "distance_to_shore_km": pa.array(shore, pa.float64(), mask=missing),
        "distance_to_port_km": pa.array(port_km, pa.float64(), mask=missing),
        "port_id": table.table.column("port_id").combine_chunks().take(take),
        "port_name": table.table.column("port_name").combine_chunks().take(take),
    }
    out = positions
    for field in ENRICH_SCHEMA:
        out = _set(out, field, columns[field.name])
    for layer in zones:
        index = layer.locate(lat, lon)
        doc = f"Row of zone layer {layer.name!r} holding the position; null outside"
        field = doc_field(zone_column(layer.name), pa.int32(), doc)
        out = _set(out, field, pa.array(index, pa.int32(), mask=index < 0))
    return out
