"""Query results as data frames.

In: an Arrow table a :class:`~seawatch.store.query.Query` returned. Out: a pandas
DataFrame, or a GeoDataFrame of points from ``lon``/``lat``. Re-exported by
:mod:`.query`.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

__all__ = ["to_geopandas", "to_pandas"]


def to_pandas(table: pa.Table) -> Any:
    """A query result as a pandas DataFrame (timestamps tz-aware UTC)."""
    return table.to_pandas()


def to_geopandas(table: pa.Table) -> Any:
    """A query result with ``lon``/``lat`` as a GeoDataFrame of points (EPSG:4326)."""
    import geopandas as gpd  # type: ignore[import-untyped,unused-ignore]

    df = table.to_pandas()
    geometry = gpd.points_from_xy(df["lon"], df["lat"], crs="EPSG:4326")
    return gpd.GeoDataFrame(df, geometry=geometry, crs="EPSG:4326")
