"""The OGC API – Features collections of a node and their GeoJSON features.

In: a collection id and the rows one page of its :class:`~seawatch.store.query.Query`
listing returned (with ``label_id``) and the labels the reader may read. Out:
:data:`COLLECTIONS` (id → :class:`Collection`: title, the listing it pages, which of
``bbox``/``datetime`` apply and how), :func:`features` (each row as a GeoJSON Feature with
its ``id`` and its ``label`` marking among the properties) and :func:`zones_in_bbox`
(zones are polygons: ``bbox`` keeps those whose envelope meets the box, per page).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pyarrow as pa
import shapely
import shapely.geometry
import shapely.wkt

from seawatch.export.common import marking_array
from seawatch.export.styled import flat_details, text_ids
from seawatch.labels import Label
from seawatch.serve.render import jsonable
from seawatch.store.bbox import BBox

__all__ = [
    "COLLECTIONS",
    "TGSEQUENCE",
    "Collection",
    "features",
    "zone_extent",
    "zones_in_bbox",
]

TGSEQUENCE = "tgsequence"


@dataclass(frozen=True)
class Collection:
    """One collection: the :class:`Query` listing it pages, the column that identifies a
    feature, and which query parameters apply (``temporal``: what ``datetime`` selects)."""

    id: str
    title: str
    description: str
    listing: str
    id_column: str
    temporal: str | None  # None: datetime is refused (400)
    point: bool = True  # geometry from lon/lat; else zones' geometry_wkt
    item_type: str = "feature"  # "movingfeature": each item has a tgsequence (Moving Features)


COLLECTIONS: Final[Mapping[str, Collection]] = {
    c.id: c
    for c in (
        Collection(
            "vessels",
            "Vessels (latest position)",
            "Each vessel's latest position the reader may read (with datetime: the latest "
            "within the interval), by MMSI. Feature id: the MMSI.",
            "latest",
            "mmsi",
            "position time (ts) within the interval; the latest such position per vessel",
        ),
        Collection(
            "positions",
            "Positions",
            "AIS position reports, by time. Feature id: the message key.",
            "positions",
            "msg_key",
            "position time (ts) within the interval",
        ),
        Collection(
            "events",
            "Events",
            "Detected events (gaps, loitering, encounters, ...) at their representative "
            "position, by start time. Feature id: the event id.",
            "events",
            "event_id",
            "events overlapping the interval (start_ts .. end_ts; open events have no end)",
        ),
        Collection(
            "tracks",
            "Vessel tracks (moving features)",
            "Each vessel the reader may read as an OGC API - Moving Features moving feature, "
            "by MMSI: the feature is its latest position (as in vessels); its track is the "
            "temporal geometry sequence at items/{mmsi}/tgsequence. Feature id: the MMSI.",
            "latest",
            "mmsi",
            "position time (ts) within the interval; the latest such position per vessel",
            item_type="movingfeature",
        ),
        Collection(
            "zones",
            "Zones",
            "Zones of interest (polygons), by id. Feature id: the zone id. No time: "
            "datetime is refused.",
            "zones",
            "zone_id",
            None,
            point=False,
        ),
    )
}


def _point(lon: Any, lat: Any) -> dict[str, Any] | None:
    if lon is None or lat is None or not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    return {"type": "Point", "coordinates": [lon, lat]}


def _polygon(wkt: str | None) -> dict[str, Any] | None:
    if not wkt:
        return None
    shape: dict[str, Any] = json.loads(shapely.to_geojson(shapely.wkt.loads(wkt)))
    return shape


def features(
    coll: Collection, rows: pa.Table, labels: Mapping[int, Label], href: str | None = None
) -> list[dict[str, Any]]:
    """``rows`` of ``coll`` as GeoJSON Features: ``id``, geometry, every column but the
    geometry's as a property (times ISO 8601 UTC; as the GeoJSON export writes them, 64-bit
    ids as text and event details as typed properties: :mod:`seawatch.export.styled`), and
    ``label`` (the row's marking).
    Moving features (``href``: the collection's URL) link to their ``tgsequence``."""
    if not rows.num_rows:
        return []
    marks = marking_array(rows, labels).to_pylist()
    rows = text_ids(flat_details(rows) if coll.id == "events" else rows)
    geo = ("lon", "lat") if coll.point else ("geometry_wkt",)
    out = []
    for row, mark in zip(rows.drop_columns(["label_id"]).to_pylist(), marks, strict=True):
        geometry = _point(row["lon"], row["lat"]) if coll.point else _polygon(row["geometry_wkt"])
        fid = row[coll.id_column]
        props = jsonable({k: v for k, v in row.items() if k not in geo})
        props["label"] = mark
        feature: dict[str, Any] = {
            "type": "Feature",
            # int64 message keys exceed what JSON numbers carry exactly: text; a moving
            # feature's id is text (OGC API - Moving Features)
            "id": str(fid) if coll.id_column == "msg_key" or coll.item_type != "feature" else fid,
            "geometry": geometry,
            "properties": props,
        }
        if coll.item_type == "movingfeature" and href is not None:
            feature["links"] = [
                {
                    "href": f"{href}/items/{fid}/{TGSEQUENCE}",
                    "rel": "related",
                    "type": "application/json",
                    "title": "The track: a temporal geometry sequence",
                }
            ]
        out.append(feature)
    return out


def _boxes(bbox: BBox) -> list[shapely.Geometry]:
    """``bbox`` as one or two boxes (split at the antimeridian)."""
    x0, y0, x1, y1 = bbox
    if x0 <= x1:
        return [shapely.geometry.box(x0, y0, x1, y1)]
    return [shapely.geometry.box(x0, y0, 180, y1), shapely.geometry.box(-180, y0, x1, y1)]


def zones_in_bbox(rows: pa.Table, bbox: BBox) -> pa.Table:
    """The zones of ``rows`` whose geometry meets ``bbox``."""
    boxes = _boxes(bbox)
    keep = []
    for wkt in rows.column("geometry_wkt").to_pylist():
        shape = shapely.wkt.loads(wkt) if wkt else None
        keep.append(shape is not None and any(shape.intersects(b) for b in boxes))
    return rows.filter(pa.array(keep, pa.bool_()))


def zone_extent(rows: pa.Table) -> list[float] | None:
    """The envelope ``[min_lon, min_lat, max_lon, max_lat]`` of the zones in ``rows``."""
    shapes = [shapely.wkt.loads(w) for w in rows.column("geometry_wkt").to_pylist() if w]
    if not shapes:
        return None
    return [float(v) for v in shapely.total_bounds(shapes)]
