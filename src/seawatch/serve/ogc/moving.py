"""OGC API – Moving Features (Part 1, OGC 22-003r3): a vessel's track as a temporal geometry
sequence, ``/ogc/collections/tracks/items/{mmsi}/tgsequence``.

In: the reader's :class:`~seawatch.store.query.Query`, an MMSI, ``datetime`` and ``bbox``
(the positions at an instant or within an interval, in a box), ``leaf`` (instants to
answer) or ``limit``/``cursor`` (positions per page). Out: a ``TemporalGeometrySequence``:
one ``MovingPoint`` per run of consecutive positions of one segment under one label
(``interpolation`` ``Linear``, its ``label`` the marking of its positions), paged like
:meth:`Query.track <seawatch.store.query.Query.track>` (the ``next`` link); with ``leaf``,
the position at each instant, interpolated linearly between the two positions of one
segment around it (read within :data:`LEAF_WINDOW_S` of it), as ``Discrete`` MovingPoints,
in one document. A vessel the reader may read nothing of is a 404, as one never seen.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import Depends, Request, Response
from fastapi import Query as Param
from pydantic import BaseModel, Field

from seawatch.errors import InputError, NotFound
from seawatch.serve import audit
from seawatch.serve.deps import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Principal,
    ServeState,
    parse_bbox,
    parse_datetime,
    principal,
    session,
    state,
)
from seawatch.serve.ogc.collections import COLLECTIONS, TGSEQUENCE, Collection
from seawatch.serve.ogc.common import (
    CRS84,
    JSON,
    FParam,
    answer,
    base,
    check_f,
    link,
    marking,
    router,
)
from seawatch.serve.ogc.common import now as timestamp
from seawatch.serve.render import jsonable
from seawatch.store import Store
from seawatch.store.query import Query

__all__ = [
    "LEAF_WINDOW_S",
    "MAX_LEAF",
    "TemporalGeometrySequence",
    "moving_vessel",
    "rfc3339",
    "run_bounds",
    "runs",
    "tgsequence",
]

LEAF_WINDOW_S = 3600
"""A ``leaf`` instant is answered from positions at most this far from it (seconds)."""
MAX_LEAF = 1000
"""The most instants one ``leaf`` holds."""
_TRS = "urn:ogc:data:time:iso8601"


class MovingPoint(BaseModel):
    """A TemporalPrimitiveGeometry (MF-JSON Prism) of one run of a vessel's positions."""

    id: str = Field(description="MMSI-segment (segment 'none': positions without one)")
    type: Literal["MovingPoint"]
    datetimes: list[str] = Field(description="Increasing RFC 3339 instants (UTC)")
    coordinates: list[list[float]] = Field(description="[lon, lat] at each instant (CRS84)")
    interpolation: Literal["Linear", "Discrete"]
    crs: dict[str, Any]
    trs: dict[str, Any]
    label: str = Field(description="The marking of the positions this geometry comes from")


class TemporalGeometrySequence(BaseModel):
    """A vessel's track, one page (OGC API – Moving Features ``tgsequence``)."""

    type: Literal["TemporalGeometrySequence"]
    geometrySequence: list[MovingPoint]  # noqa: N815 (the standard's name)
    marking: str = Field(description="Combined marking of every position used")
    timeStamp: str  # noqa: N815
    numberReturned: int  # noqa: N815
    links: list[dict[str, str]]


def _instants(text: str) -> list[datetime]:
    """``leaf``: comma-separated RFC 3339 instants, strictly increasing."""
    out: list[datetime] = []
    parts = text.split(",")
    if len(parts) > MAX_LEAF:
        raise InputError(f"leaf: {len(parts)} instants, over the limit of {MAX_LEAF}")
    for part in parts:
        try:
            start, end = parse_datetime(part.strip())
        except InputError as exc:  # the same rules, named for this parameter
            raise InputError(f"leaf {str(exc).removeprefix('datetime ')}") from None
        if start is None or start != end:
            raise InputError(f"leaf {part!r}: give instants, not intervals")
        if out and start <= out[-1]:
            raise InputError(f"leaf: {part} is not after the instant before it (increasing)")
        out.append(start)
    return out


def _geometry(
    mmsi: int, seg: Any, rows: list[dict[str, Any]], interp: str, label: str
) -> dict[str, Any]:
    return {
        "id": f"{mmsi}-{'none' if seg is None else seg}",
        "type": "MovingPoint",
        "datetimes": [jsonable(r["ts"]) for r in rows],
        "coordinates": [[r["lon"], r["lat"]] for r in rows],
        "interpolation": interp,
        "crs": {"type": "Name", "properties": CRS84},
        "trs": {"type": "Name", "properties": _TRS},
        "label": label,
    }


def rfc3339(ts: Any) -> list[Any]:
    """A time column as RFC 3339 UTC text, column-wise."""
    out: list[Any] = pc.strftime(ts, format="%Y-%m-%dT%H:%M:%SZ").to_pylist()
    return out


def moving_vessel(q: Query, collection_id: str, feature_id: str) -> tuple[Collection, int]:
    """The collection of moving features and the MMSI of one the reader may read; 404
    otherwise (a denied vessel is not told apart from one never seen)."""
    coll = COLLECTIONS.get(collection_id)
    if coll is None or coll.item_type != "movingfeature":
        movers = [c.id for c in COLLECTIONS.values() if c.item_type == "movingfeature"]
        raise NotFound(f"no moving features in {collection_id!r} (they are in {movers[0]})")
    mmsi = int(feature_id) if feature_id.isdigit() and len(feature_id) <= 9 else None
    if mmsi is None or q.latest(mmsi=mmsi).num_rows == 0:
        raise NotFound(f"no feature {feature_id!r} in {coll.id} for this reader")
    return coll, mmsi


def run_bounds(rows: pa.Table) -> list[tuple[int, int]]:
    """``[start, end)`` of each run of ``rows`` (by time) in one segment under one label."""
    segs = rows.column("segment_id").to_pylist()
    ids = rows.column("label_id").to_pylist()
    n = len(segs)
    cuts = [0, *(i for i in range(1, n) if (segs[i], ids[i]) != (segs[i - 1], ids[i - 1]))]
    return list(zip(cuts, [*cuts[1:], n], strict=True)) if n else []


def runs(q: Query, mmsi: int, rows: pa.Table, interp: str = "Linear") -> list[dict[str, Any]]:
    """``rows`` (by time) as MovingPoints: a new one where the segment or the label changes
    (column-wise: a month of positions is tens of thousands of rows)."""
    if not rows.num_rows:
        return []
    labels = q.labels()
    segs = rows.column("segment_id").to_pylist()
    ids: list[Any] = rows.column("label_id").to_pylist()
    times = rfc3339(rows.column("ts"))
    lons, lats = rows.column("lon").to_pylist(), rows.column("lat").to_pylist()
    out = []
    for a, b in run_bounds(rows):
        out.append(
            {
                "id": f"{mmsi}-{'none' if segs[a] is None else segs[a]}",
                "type": "MovingPoint",
                "datetimes": times[a:b],
                "coordinates": [[x, y] for x, y in zip(lons[a:b], lats[a:b], strict=True)],
                "interpolation": interp,
                "crs": {"type": "Name", "properties": CRS84},
                "trs": {"type": "Name", "properties": _TRS},
                "label": labels[ids[a]].marking,
            }
        )
    return out


def at_leaves(q: Query, mmsi: int, track: pa.Table, leaves: list[datetime]) -> tuple[Any, pa.Table]:
    """The vessel's position at each instant of ``leaves`` from ``track`` (its positions
    around them, by time): exact, or linear between the two positions of one segment on
    either side. Out: Discrete MovingPoints and the label ids of the positions used."""
    rows = track.select(["ts", "lon", "lat", "segment_id", "label_id"]).to_pylist()
    times = [r["ts"] for r in rows]
    points: list[dict[str, Any]] = []
    used: list[int] = []
    for t in leaves:
        i = bisect.bisect_left(times, t)
        if i < len(rows) and times[i] == t:
            pair = [rows[i]]
        elif 0 < i < len(rows) and rows[i - 1]["segment_id"] == rows[i]["segment_id"]:
            pair = [rows[i - 1], rows[i]]
        else:
            continue  # no position on both sides within the window, or a segment's edge
        a, b = pair[0], pair[-1]
        w = 0.0 if a is b else (t - a["ts"]) / (b["ts"] - a["ts"])
        dlon = b["lon"] - a["lon"]
        dlon -= 360.0 * round(dlon / 360.0)  # the short way across the antimeridian
        lon = a["lon"] + w * dlon
        if not -180.0 <= lon <= 180.0:
            lon = (lon + 180.0) % 360.0 - 180.0
        ids = sorted({p["label_id"] for p in pair})
        points.append(
            {
                "ts": t,
                "lon": lon,
                "lat": a["lat"] + w * (b["lat"] - a["lat"]),
                "segment_id": a["segment_id"],
                "label_id": ids[0] if len(ids) == 1 else tuple(ids),
            }
        )
        used += ids
    out: list[dict[str, Any]] = []
    for p in points:  # one Discrete MovingPoint per run of one segment and label set
        key = (p["segment_id"], p["label_id"])
        if out and out[-1]["key"] == key:
            out[-1]["rows"].append(p)
        else:
            out.append({"key": key, "rows": [p]})
    used_rows = pa.table({"label_id": pa.array(used, pa.int32())})
    geometries = []
    for group in out:
        key = group["key"][1]
        ids = list(key) if isinstance(key, tuple) else [key]
        label = marking(q, pa.table({"label_id": pa.array(ids, pa.int32())}))
        seg = group["key"][0]
        geometries.append(_geometry(mmsi, seg, group["rows"], "Discrete", label))
    return geometries, used_rows


@router.get(
    "/collections/{collection_id}/items/{feature_id}/" + TGSEQUENCE,
    summary="A moving feature's temporal geometry sequence (a vessel's track)",
    response_model=TemporalGeometrySequence,
)
def tgsequence(
    request: Request,
    collection_id: str,
    feature_id: str,
    store: Annotated[Store, Depends(session)],
    who: Annotated[Principal, Depends(principal)],
    st: Annotated[ServeState, Depends(state)],
    bbox: Annotated[
        str | None,
        Param(description="Positions in min_lon,min_lat,max_lon,max_lat (CRS84 degrees)"),
    ] = None,
    datetime_: Annotated[
        str | None,
        Param(
            alias="datetime",
            description="Positions at an RFC 3339 instant or within an interval a/b ('..': "
            "open end)",
        ),
    ] = None,
    leaf: Annotated[
        str | None,
        Param(
            description="Comma-separated increasing RFC 3339 instants (at most "
            f"{MAX_LEAF}): the position at each, interpolated linearly within a segment "
            "(interpolation Discrete; no paging)"
        ),
    ] = None,
    limit: Annotated[
        int,
        Param(
            ge=1,
            description=f"Positions per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}: "
            "a larger limit is clamped to it); not with leaf",
            json_schema_extra={"maximum": MAX_LIMIT},
        ),
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Param(description="The cursor of the `next` link of the previous page")
    ] = None,
    f: FParam = None,
) -> Response:
    """The vessel's track the reader may read, as MovingPoints (one per run of one segment
    under one label), a page of positions at a time; with ``leaf``, its positions at those
    instants. 404 for a vessel the reader may read nothing of."""
    check_f(f, "json")
    q = Query(store, who.reader)
    coll, mmsi = moving_vessel(q, collection_id, feature_id)
    start, end = (None, None) if datetime_ is None else parse_datetime(datetime_)
    box = None if bbox is None else parse_bbox(bbox)
    links = [link(str(request.url), "self")]
    links.append(link(f"{base(request)}/collections/{coll.id}/items/{mmsi}", "parent"))
    headers: dict[str, str] = {}
    if leaf is not None:
        if cursor is not None or "limit" in request.query_params:
            raise InputError("leaf answers in one document: leave limit and cursor out")
        leaves = _instants(leaf)
        window = timedelta(seconds=LEAF_WINDOW_S)
        lo, hi = leaves[0] - window, leaves[-1] + window
        lo, hi = max(lo, start) if start else lo, min(hi, end) if end else hi
        track = q.positions(mmsi=mmsi, bbox=box, start=lo, end=hi)
        geometries, used = at_leaves(q, mmsi, track, leaves)
    else:
        page = q.page(  # the vessel's track (Query.track), in the box when one is given
            "positions",
            limit=min(limit, MAX_LIMIT),
            after=cursor,
            mmsi=mmsi,
            bbox=box,
            start=start,
            end=end,
        )
        geometries, used = runs(q, mmsi, page.rows), page.rows
        if page.next is not None:
            nxt = str(request.url.include_query_params(cursor=page.next))
            links.append(link(nxt, "next", JSON, "Next page"))
            headers["Link"] = f'<{nxt}>; rel="next"; type="{JSON}"'
    mark = marking(q, used)
    body = {
        "type": "TemporalGeometrySequence",
        "geometrySequence": geometries,
        "marking": mark,
        "timeStamp": timestamp(),
        "numberReturned": len(geometries),
        "links": links,
    }
    audit.record(st, who, request.url.path, request.url.query, used.num_rows, mark)
    return answer(body, mark, JSON, headers)
