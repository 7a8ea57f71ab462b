"""``/ogc``: OGC API – Features Part 1 (Core, GeoJSON, OpenAPI 3.0) over the node's records.

In: the request's reader (:func:`~seawatch.serve.deps.principal`, a Bearer token as on
``/api/v1``) and the store. Out: the landing page, ``/conformance``, ``/collections`` and
one collection's metadata, its items (a GeoJSON FeatureCollection, ``application/geo+json``,
paged by the cursor of :meth:`Query.page <seawatch.store.query.Query.page>` in the
``next`` link) and one item. Every page is marked (``X-Seawatch-Marking`` and the
collection's ``marking`` member) and audited like the REST API's. ``limit`` above
:data:`~seawatch.serve.deps.MAX_LIMIT` is clamped to it (OGC 17-069r4 7.15.3: not an
error); an unknown parameter, a bad ``bbox`` or ``datetime`` (or ``datetime`` on a
collection without time) is a 400 problem.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, Request, Response
from fastapi import Query as Param
from fastapi.responses import JSONResponse

from seawatch.errors import InputError, NotFound
from seawatch.export.common import collection_label, marking_of
from seawatch.serve import audit
from seawatch.serve.deps import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Principal,
    ServeState,
    known_params,
    parse_bbox,
    parse_datetime,
    principal,
    session,
    state,
)
from seawatch.serve.ogc.collections import (
    COLLECTIONS,
    Collection,
    features,
    zone_extent,
    zones_in_bbox,
)
from seawatch.serve.problems import PROBLEM_RESPONSES
from seawatch.serve.render import MARKING_HEADER
from seawatch.store import Store
from seawatch.store.query import Query

__all__ = ["CONFORMANCE", "GEOJSON", "router"]

GEOJSON = "application/geo+json"
_JSON = "application/json"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
)
_CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


router = APIRouter(
    prefix="/ogc",
    tags=["ogc"],
    dependencies=[Depends(known_params)],
    responses=dict(PROBLEM_RESPONSES),
)

FParam = Annotated[
    str | None, Param(alias="f", description="Format: json (the only one; geojson for items)")
]


def _f(f: str | None, *allowed: str) -> None:
    if f is not None and f not in allowed:
        raise InputError(f"f={f}: this resource answers in {', '.join(allowed)}")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _link(href: str, rel: str, type_: str = _JSON, title: str | None = None) -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def _answer(
    body: dict[str, Any], marking: str, media: str = _JSON, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body), media_type=media, headers={MARKING_HEADER: marking, **(headers or {})}
    )


def _unmarked(store: Store) -> str:
    return collection_label([], store.policy).marking


def _collection(collection_id: str) -> Collection:
    coll = COLLECTIONS.get(collection_id)
    if coll is None:
        raise NotFound(f"no collection {collection_id!r} (collections: {', '.join(COLLECTIONS)})")
    return coll


@router.get("", summary="Landing page")
def landing(
    request: Request, store: Annotated[Store, Depends(session)], f: FParam = None
) -> Response:
    """The OGC API – Features landing page: links to the API definition, the conformance
    declaration and the collections."""
    _f(f, "json")
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    body = {
        "title": "seawatch node: OGC API – Features",
        "description": "Vessels, positions, events and zones, filtered for the token's reader",
        "links": [
            _link(base, "self", title="This document"),
            _link(
                f"{root}/openapi.json",
                "service-desc",
                "application/vnd.oai.openapi+json",
                "The API definition",
            ),
            _link(f"{root}/docs", "service-doc", "text/html", "The API documentation"),
            _link(f"{base}/conformance", "conformance", title="Conformance classes"),
            _link(f"{base}/collections", "data", title="The collections"),
        ],
    }
    return _answer(body, _unmarked(store))


@router.get("/conformance", summary="Conformance declaration")
def conformance(store: Annotated[Store, Depends(session)], f: FParam = None) -> Response:
    """The conformance classes this API implements."""
    _f(f, "json")
    return _answer({"conformsTo": list(CONFORMANCE)}, _unmarked(store))


def _describe(base: str, coll: Collection, q: Query) -> tuple[dict[str, Any], str | None]:
    """A collection's metadata, and the marking of the records it summarises (zones'
    extent: their envelope), None when it reads none."""
    href = f"{base}/collections/{coll.id}"
    out: dict[str, Any] = {
        "id": coll.id,
        "title": coll.title,
        "description": coll.description,
        "itemType": "feature",
        "crs": [_CRS84],
        "links": [
            _link(href, "self"),
            _link(f"{href}/items", "items", GEOJSON, f"{coll.title} as GeoJSON"),
        ],
    }
    marking = None
    if coll.id == "zones":  # cheap: a node holds few zones
        rows = q.zones()
        box = zone_extent(rows)
        if box is not None:
            out["extent"] = {"spatial": {"bbox": [box], "crs": _CRS84}}
            marking = marking_of(rows, q.labels(), q.store.policy).overall.marking
    return out, marking


@router.get("/collections", summary="The collections")
def collections(
    request: Request,
    store: Annotated[Store, Depends(session)],
    who: Annotated[Principal, Depends(principal)],
    f: FParam = None,
) -> Response:
    """Every collection (vessels, positions, events, zones) and its links."""
    _f(f, "json")
    base = _base(request)
    q = Query(store, who.reader)
    described = [_describe(base, c, q) for c in COLLECTIONS.values()]
    marks = [m for _, m in described if m is not None]
    body = {
        "links": [_link(f"{base}/collections", "self")],
        "collections": [d for d, _ in described],
    }
    return _answer(body, marks[0] if marks else _unmarked(store))


@router.get("/collections/{collection_id}", summary="One collection")
def collection(
    request: Request,
    collection_id: str,
    store: Annotated[Store, Depends(session)],
    who: Annotated[Principal, Depends(principal)],
    f: FParam = None,
) -> Response:
    """One collection's metadata; 404 for an unknown id."""
    _f(f, "json")
    body, marking = _describe(_base(request), _collection(collection_id), Query(store, who.reader))
    return _answer(body, marking or _unmarked(store))


_ITEMS_200: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A GeoJSON FeatureCollection; header X-Seawatch-Marking: the combined "
        "marking of its features (each feature's own is its `label` property)",
        "content": {GEOJSON: {}},
    }
}


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection",
    response_class=GeoJSONResponse,
    responses=_ITEMS_200,
)
def items(
    request: Request,
    collection_id: str,
    store: Annotated[Store, Depends(session)],
    who: Annotated[Principal, Depends(principal)],
    st: Annotated[ServeState, Depends(state)],
    bbox: Annotated[
        str | None,
        Param(description="min_lon,min_lat,max_lon,max_lat (CRS84 degrees; four numbers)"),
    ] = None,
    datetime_: Annotated[
        str | None,
        Param(
            alias="datetime",
            description="An RFC 3339 instant, or an interval a/b ('..' for an open end); "
            "refused on collections without time (zones)",
        ),
    ] = None,
    limit: Annotated[
        int,
        Param(
            ge=1,
            description=f"Features per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}: "
            "a larger limit is clamped to it)",
            json_schema_extra={"maximum": MAX_LIMIT},
        ),
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Param(description="The cursor of the `next` link of the previous page")
    ] = None,
    f: FParam = None,
) -> Response:
    """The features the reader may read, in ``bbox`` and ``datetime``, one page; the
    ``next`` link holds the cursor of the following page."""
    _f(f, "json", "geojson")
    coll = _collection(collection_id)
    box = None if bbox is None else parse_bbox(bbox)
    filters: dict[str, Any] = {}
    if datetime_ is not None:
        if coll.temporal is None:
            raise InputError(f"datetime: collection {coll.id} has no time; leave datetime out")
        filters["start"], filters["end"] = parse_datetime(datetime_)
    if coll.point:
        filters["bbox"] = box
    q = Query(store, who.reader)
    page = q.page(coll.listing, limit=min(limit, MAX_LIMIT), after=cursor, **filters)
    rows = page.rows if coll.point or box is None else zones_in_bbox(page.rows, box)
    labels = q.labels()
    marking = marking_of(rows, labels, store.policy).overall.marking
    self_url = str(request.url)
    links = [
        _link(self_url, "self", GEOJSON),
        _link(f"{_base(request)}/collections/{coll.id}", "collection"),
    ]
    headers = {}
    if page.next is not None:
        nxt = str(request.url.include_query_params(cursor=page.next))
        links.append(_link(nxt, "next", GEOJSON, "Next page"))
        headers["Link"] = f'<{nxt}>; rel="next"; type="{GEOJSON}"'
    body = {
        "type": "FeatureCollection",
        "marking": marking,
        "timeStamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "numberReturned": rows.num_rows,
        "features": features(coll, rows, labels),
        "links": links,
    }
    audit.record(st, who, request.url.path, request.url.query, rows.num_rows, marking)
    return _answer(body, marking, GEOJSON, headers)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature",
    response_class=GeoJSONResponse,
    responses=_ITEMS_200,
)
def item(
    request: Request,
    collection_id: str,
    feature_id: str,
    store: Annotated[Store, Depends(session)],
    who: Annotated[Principal, Depends(principal)],
    st: Annotated[ServeState, Depends(state)],
    f: FParam = None,
) -> Response:
    """One feature: a vessel by MMSI (its latest position), an event by id, a zone by id.
    404 when there is none the reader may read (a denied feature is not told apart)."""
    _f(f, "json", "geojson")
    coll = _collection(collection_id)
    q = Query(store, who.reader)
    missing = NotFound(f"no feature {feature_id!r} in {coll.id} for this reader")
    if coll.id == "vessels":
        if not feature_id.isdigit():
            raise missing
        rows = q.page("latest", limit=1, mmsi=int(feature_id)).rows
    elif coll.id in ("events", "zones"):  # by id: the listing filtered (no id lookup yet)
        listed = q.events() if coll.id == "events" else q.zones()
        rows = listed.filter(pc.equal(listed.column(coll.id_column), pa.scalar(feature_id)))
    else:
        raise NotFound(
            f"positions are not addressable one by one; page {coll.id}/items with bbox, "
            "datetime and limit"
        )
    if not rows.num_rows:
        raise missing
    labels = q.labels()
    marking = marking_of(rows, labels, store.policy).overall.marking
    feature = features(coll, rows, labels)[0]
    base = f"{_base(request)}/collections/{coll.id}"
    feature["links"] = [
        _link(str(request.url), "self", GEOJSON),
        _link(base, "collection"),
    ]
    feature["marking"] = marking
    audit.record(st, who, request.url.path, request.url.query, rows.num_rows, marking)
    return _answer(feature, marking, GEOJSON)
