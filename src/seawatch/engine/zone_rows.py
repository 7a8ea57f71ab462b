"""The ``zones`` table's rows of a zone layer (what ``seawatch ingest --zones`` stores).

In: a :class:`~seawatch.geo.zones.ZoneLayer` and the label id of the run. Out: one row per
polygon, its geometry as WKT in WGS 84 and its name (the layer's ``name_field``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from seawatch.store.tables import TABLES

if TYPE_CHECKING:
    from seawatch.geo.zones import ZoneLayer

__all__ = ["zone_records"]


def zone_records(layer: ZoneLayer, label_id: int) -> pa.Table:
    """The ``zones`` rows of a layer: one per polygon, WKT in WGS 84, its name (the layer's
    ``name_field``, :meth:`ZoneLayer.names`)."""
    import shapely

    n = len(layer)
    names = layer.names()
    wkt = shapely.to_wkt(layer.geometries, rounding_precision=7)
    return pa.table(
        {
            "zone_id": pa.array([f"{layer.name}:{i}" for i in range(n)], pa.string()),
            "name": names,
            "kind": pa.array([layer.name] * n, pa.string()),
            "geometry_wkt": pa.array(wkt.tolist(), pa.string()),
            "label_id": pa.array([label_id] * n, pa.int32()),
        },
        schema=TABLES["zones"].arrow_schema(),
    )
