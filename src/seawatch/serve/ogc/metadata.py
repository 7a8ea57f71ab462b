"""A collection's metadata as the reader sees it: links, and the ``extent`` of what it may read.

In: a :class:`~seawatch.serve.ogc.collections.Collection`, the URL of ``/ogc`` and the
reader's :class:`~seawatch.store.query.Query`. Out: :func:`describe` (the collection
document of OGC API – Features 7.14 and the rows its extent summarises, for the marking).
Extents come from :func:`seawatch.store.summary.extent` (positions, events: min/max in
the database behind the label filter) and the zones' envelope: a row the reader may not
read never widens them. vessels, positions and tracks share the positions' extent
(``datetime`` selects among all positions in each); zones have no time.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from seawatch.serve.ogc.collections import Collection, zone_extent
from seawatch.serve.ogc.common import CRS84, GEOJSON, link
from seawatch.serve.render import jsonable
from seawatch.store.query import Query
from seawatch.store.summary import Extent, extent

__all__ = ["TRS", "Extents", "describe"]

TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


class Extents:
    """The extents of one request's collections, each computed once."""

    def __init__(self, q: Query) -> None:
        self.q = q
        self._done: dict[str, tuple[dict[str, Any] | None, pa.Table]] = {}

    def of(self, coll: Collection) -> tuple[dict[str, Any] | None, pa.Table]:
        """The ``extent`` member of ``coll`` (None: the reader may read nothing of it) and
        the label ids of the rows it spans."""
        source = {"events": "events", "zones": "zones"}.get(coll.id, "positions")
        if source not in self._done:
            self._done[source] = self._compute(source)
        return self._done[source]

    def _compute(self, source: str) -> tuple[dict[str, Any] | None, pa.Table]:
        if source == "zones":  # cheap: a node holds few zones
            rows = self.q.zones()
            box = zone_extent(rows)
            labels = rows.select(["label_id"])
            return (None, labels) if box is None else (_member(box, None), labels)
        got: Extent = extent(self.q, "events" if source == "events" else "positions")
        if got.bbox is None and got.start is None:
            return None, got.labels
        interval = [got.start, None if got.open_end else got.end]
        return _member(None if got.bbox is None else list(got.bbox), interval), got.labels


def _member(bbox: list[float] | None, interval: list[Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if bbox is not None:
        out["spatial"] = {"bbox": [[float(v) for v in bbox]], "crs": CRS84}
    if interval is not None:
        out["temporal"] = {"interval": [jsonable(interval)], "trs": TRS}
    return out


def describe(base: str, coll: Collection, extents: Extents) -> tuple[dict[str, Any], pa.Table]:
    """A collection's metadata and the label ids of the records its extent summarises."""
    href = f"{base}/collections/{coll.id}"
    out: dict[str, Any] = {
        "id": coll.id,
        "title": coll.title,
        "description": coll.description,
        "itemType": coll.item_type,
        "crs": [CRS84],
        "links": [
            link(href, "self"),
            link(f"{href}/items", "items", GEOJSON, f"{coll.title} as GeoJSON"),
        ],
    }
    member, labels = extents.of(coll)
    if member is not None:
        out["extent"] = member
    return out, labels
