"""OGC API – Moving Features temporal properties of a vessel: its speed and course over time,
``/ogc/collections/tracks/items/{mmsi}/tproperties[/{name}]``.

In: the reader's :class:`~seawatch.store.query.Query`, an MMSI, a property name of
:data:`PROPERTIES` (stored position columns), ``datetime``/``bbox`` and ``limit``/``cursor``
(positions per page, as ``tgsequence``). Out: the list of the properties (name, type,
unit), or one property's ``valueSequence``: one ``TemporalPrimitiveValue`` (``datetimes``,
``values``, ``interpolation`` ``Linear``, ``label``) per run of positions of one segment
under one label, the positions without a value left out. A vessel the reader may read
nothing of is a 404, as one never seen; so is an unknown property.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import Depends, Request, Response
from fastapi import Query as Param
from pydantic import BaseModel, Field

from seawatch.errors import NotFound
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
from seawatch.serve.ogc.common import JSON, FParam, answer, base, check_f, link, marking, router
from seawatch.serve.ogc.common import now as timestamp
from seawatch.serve.ogc.models import Link
from seawatch.serve.ogc.moving import moving_vessel, rfc3339, run_bounds
from seawatch.store import Store
from seawatch.store.query import Query
from seawatch.store.tables import TABLES

__all__ = ["PROPERTIES", "TemporalProperties", "TemporalProperty"]

PROPERTIES: Final[Mapping[str, str]] = {"speed_kn": "[kn_i]", "course_deg": "deg"}
"""The temporal properties of a vessel: stored position columns and their UCUM units."""
_DOCS = {c.name: c.doc for c in TABLES["positions"].columns}


class PropertyInfo(BaseModel):
    name: str
    type: Literal["TReal"]
    form: str = Field(description="Unit of measure (UCUM)")
    description: str
    links: list[Link]


class TemporalProperties(BaseModel):
    """The temporal properties of a moving feature."""

    temporalProperties: list[PropertyInfo]  # noqa: N815 (the standard's names)
    marking: str
    timeStamp: str  # noqa: N815
    numberReturned: int  # noqa: N815
    links: list[Link]


class TemporalPrimitiveValue(BaseModel):
    datetimes: list[str]
    values: list[float]
    interpolation: Literal["Linear"]
    label: str = Field(description="The marking of the positions these values come from")


class TemporalProperty(BaseModel):
    """One temporal property of a moving feature, one page of positions."""

    name: str
    type: Literal["TReal"]
    form: str
    valueSequence: list[TemporalPrimitiveValue]  # noqa: N815
    marking: str
    timeStamp: str  # noqa: N815
    numberReturned: int  # noqa: N815
    links: list[Link]


def _info(href: str, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "TReal",
        "form": PROPERTIES[name],
        "description": _DOCS[name],
        "links": [link(f"{href}/{name}", "self")],
    }


@router.get(
    "/collections/{collection_id}/items/{feature_id}/tproperties",
    summary="A moving feature's temporal properties (a vessel's speed and course)",
    response_model=TemporalProperties,
)
def tproperties(
    request: Request,
    collection_id: str,
    feature_id: str,
    store: Annotated[Store, Depends(session)],
    who: Annotated[Principal, Depends(principal)],
    f: FParam = None,
) -> Response:
    """The temporal properties of the vessel (404 for one the reader may read nothing of),
    marked as its latest position (what tells that it exists)."""
    check_f(f, "json")
    q = Query(store, who.reader)
    coll, mmsi = moving_vessel(q, collection_id, feature_id)
    href = f"{base(request)}/collections/{coll.id}/items/{mmsi}/tproperties"
    mark = marking(q, q.latest(mmsi=mmsi))
    body = {
        "temporalProperties": [_info(href, name) for name in PROPERTIES],
        "marking": mark,
        "timeStamp": timestamp(),
        "numberReturned": len(PROPERTIES),
        "links": [link(str(request.url), "self")],
    }
    return answer(body, mark)


def value_runs(q: Query, rows: pa.Table, name: str) -> list[dict[str, Any]]:
    """The values of column ``name`` of ``rows`` (by time) per run of one segment under one
    label, positions without a value left out."""
    labels = q.labels()
    times = rfc3339(rows.column("ts"))
    values: list[Any] = rows.column(name).to_pylist()
    ids: list[Any] = rows.column("label_id").to_pylist()
    out = []
    for a, b in run_bounds(rows):
        keep = [i for i in range(a, b) if values[i] is not None]
        if keep:
            out.append(
                {
                    "datetimes": [times[i] for i in keep],
                    "values": [float(values[i]) for i in keep],
                    "interpolation": "Linear",
                    "label": labels[ids[a]].marking,
                }
            )
    return out


@router.get(
    "/collections/{collection_id}/items/{feature_id}/tproperties/{name}",
    summary="One temporal property of a moving feature (a vessel's speed or course)",
    response_model=TemporalProperty,
)
def tproperty(
    request: Request,
    collection_id: str,
    feature_id: str,
    name: str,
    store: Annotated[Store, Depends(session)],
    who: Annotated[Principal, Depends(principal)],
    st: Annotated[ServeState, Depends(state)],
    bbox: Annotated[
        str | None,
        Param(description="Positions in min_lon,min_lat,max_lon,max_lat (CRS84 degrees)"),
    ] = None,
    datetime_: Annotated[
        str | None,
        Param(alias="datetime", description="An RFC 3339 instant, or an interval a/b"),
    ] = None,
    limit: Annotated[
        int,
        Param(
            ge=1,
            description=f"Positions per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}: "
            "a larger limit is clamped to it)",
            json_schema_extra={"maximum": MAX_LIMIT},
        ),
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Param(description="The cursor of the `next` link of the previous page")
    ] = None,
    f: FParam = None,
) -> Response:
    """The property's values over the vessel's track the reader may read, a page of
    positions at a time (the ``next`` link), in ``datetime`` and ``bbox``."""
    check_f(f, "json")
    q = Query(store, who.reader)
    _, mmsi = moving_vessel(q, collection_id, feature_id)
    if name not in PROPERTIES:
        raise NotFound(f"no temporal property {name!r} (properties: {', '.join(PROPERTIES)})")
    start, end = (None, None) if datetime_ is None else parse_datetime(datetime_)
    page = q.page(
        "positions",
        limit=min(limit, MAX_LIMIT),
        after=cursor,
        mmsi=mmsi,
        bbox=None if bbox is None else parse_bbox(bbox),
        start=start,
        end=end,
    )
    used = page.rows.filter(pc.is_valid(page.rows.column(name)))
    values = value_runs(q, page.rows, name)
    links = [link(str(request.url), "self")]
    headers: dict[str, str] = {}
    if page.next is not None:
        nxt = str(request.url.include_query_params(cursor=page.next))
        links.append(link(nxt, "next", JSON, "Next page"))
        headers["Link"] = f'<{nxt}>; rel="next"; type="{JSON}"'
    mark = marking(q, used)
    body = {
        "name": name,
        "type": "TReal",
        "form": PROPERTIES[name],
        "valueSequence": values,
        "marking": mark,
        "timeStamp": timestamp(),
        "numberReturned": len(values),
        "links": links,
    }
    audit.record(st, who, request.url.path, request.url.query, used.num_rows, mark)
    return answer(body, mark, JSON, headers)
