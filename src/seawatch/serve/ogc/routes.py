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

from typing import Annotated, Any

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import Depends, Request, Response
from fastapi import Query as Param

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
from seawatch.serve.ogc.collections import COLLECTIONS, Collection, features, zones_in_bbox
from seawatch.serve.ogc.common import (
    GEOJSON,
    FParam,
    GeoJSONResponse,
    answer,
    base,
    check_f,
    link,
    marking,
    now,
    router,
    unmarked,
)
from seawatch.serve.ogc.metadata import Extents, describe
from seawatch.serve.ogc.models import (
    CollectionInfo,
    Collections,
    Conformance,
    Feature,
    FeatureCollection,
    LandingPage,
)
from seawatch.store import Store
from seawatch.store.bbox import BBox
from seawatch.store.query import Query
from seawatch.store.summary import count
from seawatch.store.tables import TABLES

__all__ = ["CONFORMANCE", "GEOJSON", "collection_of", "router"]

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-movingfeatures-1/1.0/conf/common",
)
"""Declared: what the node passes. Not the Moving Features class ``movingfeatures``: it also
requires writes (POST, DELETE; Features Part 4) and temporal geometry queries, which a
node, written only by its ingest, does not offer; its ``tgsequence`` (with ``leaf``) and
``tproperties`` GETs are served as that class describes them (docs/serve.md)."""


def collection_of(collection_id: str) -> Collection:
    coll = COLLECTIONS.get(collection_id)
    if coll is None:
        raise NotFound(f"no collection {collection_id!r} (collections: {', '.join(COLLECTIONS)})")
    return coll


@router.get("", summary="Landing page", response_model=LandingPage)
def landing(
    request: Request, store: Annotated[Store, Depends(session)], f: FParam = None
) -> Response:
    """The OGC API – Features landing page: links to the API definition, the conformance
    declaration and the collections."""
    check_f(f, "json")
    ogc = base(request)
    root = str(request.base_url).rstrip("/")
    body = {
        "title": "seawatch node: OGC API – Features",
        "description": "Vessels, positions, events, zones and vessel tracks (moving "
        "features), filtered for the token's reader",
        "links": [
            link(ogc, "self", title="This document"),
            link(
                f"{root}/openapi.json",
                "service-desc",
                "application/vnd.oai.openapi+json",
                "The API definition",
            ),
            link(f"{root}/docs", "service-doc", "text/html", "The API documentation"),
            link(f"{ogc}/conformance", "conformance", title="Conformance classes"),
            link(f"{ogc}/collections", "data", title="The collections"),
        ],
    }
    return answer(body, unmarked(store))


@router.get("/conformance", summary="Conformance declaration", response_model=Conformance)
def conformance(store: Annotated[Store, Depends(session)], f: FParam = None) -> Response:
    """The conformance classes this API implements."""
    check_f(f, "json")
    return answer({"conformsTo": list(CONFORMANCE)}, unmarked(store))


@router.get("/collections", summary="The collections", response_model=Collections)
def collections(
    request: Request,
    store: Annotated[Store, Depends(session)],
    who: Annotated[Principal, Depends(principal)],
    f: FParam = None,
) -> Response:
    """Every collection (vessels, positions, events, tracks, zones), its links and the
    extent of what the reader may read of it."""
    check_f(f, "json")
    q = Query(store, who.reader)
    extents = Extents(q)
    described = [describe(base(request), c, extents) for c in COLLECTIONS.values()]
    body = {
        "links": [link(f"{base(request)}/collections", "self")],
        "collections": [d for d, _ in described],
    }
    return answer(body, marking(q, *(rows for _, rows in described)))


@router.get("/collections/{collection_id}", summary="One collection", response_model=CollectionInfo)
def collection(
    request: Request,
    collection_id: str,
    store: Annotated[Store, Depends(session)],
    who: Annotated[Principal, Depends(principal)],
    f: FParam = None,
) -> Response:
    """One collection's metadata (its extent: of what the reader may read); 404 for an
    unknown id."""
    check_f(f, "json")
    q = Query(store, who.reader)
    body, rows = describe(base(request), collection_of(collection_id), Extents(q))
    return answer(body, marking(q, rows))


_ITEMS_200: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A GeoJSON FeatureCollection; header X-Seawatch-Marking: the combined "
        "marking of its features (each feature's own is its `label` property)",
    }
}


_ITEM_200: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A GeoJSON Feature; header X-Seawatch-Marking and member `marking`: "
        "its record's marking"
    }
}


def _matched(
    q: Query, coll: Collection, box: BBox | None, filters: dict[str, Any]
) -> tuple[int, pa.Table]:
    """How many features of ``coll`` the filters select for the reader (OGC
    ``numberMatched``), and the label ids of the rows counted."""
    if coll.id == "zones":  # cheap: a node holds few zones
        rows = q.zones()
        rows = rows if box is None else zones_in_bbox(rows, box)
        return rows.num_rows, rows.select(["label_id"])
    got = count(q, coll.listing, **filters)  # type: ignore[arg-type]
    return got.total, got.per_label


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection",
    response_class=GeoJSONResponse,
    response_model=FeatureCollection,
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
    ``next`` link holds the cursor of the following page. The first page (no ``cursor``)
    says how many features match in all (``numberMatched``), counted for the reader."""
    check_f(f, "json", "geojson")
    coll = collection_of(collection_id)
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
    counted = None if cursor is not None else _matched(q, coll, box, filters)
    mark = marking(q, rows, *([] if counted is None else [counted[1]]))
    self_url = str(request.url)
    href = f"{base(request)}/collections/{coll.id}"
    links = [link(self_url, "self", GEOJSON), link(href, "collection")]
    headers = {}
    if page.next is not None:
        nxt = str(request.url.include_query_params(cursor=page.next))
        links.append(link(nxt, "next", GEOJSON, "Next page"))
        headers["Link"] = f'<{nxt}>; rel="next"; type="{GEOJSON}"'
    body: dict[str, Any] = {
        "type": "FeatureCollection",
        "marking": mark,
        "timeStamp": now(),
        "numberReturned": rows.num_rows,
        "features": features(coll, rows, q.labels(), href),
        "links": links,
    }
    if counted is not None:
        body["numberMatched"] = counted[0]
    audit.record(st, who, request.url.path, request.url.query, rows.num_rows, mark)
    return answer(body, mark, GEOJSON, headers)


def feature_rows(q: Query, coll: Collection, feature_id: str) -> pa.Table:
    """The row of one feature the reader may read (empty: none, or denied: not told apart)."""
    if coll.listing == "latest":  # vessels, tracks: by MMSI, the latest position
        if not feature_id.isdigit() or int(feature_id) > 999_999_999:
            return TABLES["positions"].arrow_schema().empty_table()
        return q.page("latest", limit=1, mmsi=int(feature_id)).rows
    if coll.id in ("events", "zones"):  # by id: the listing filtered (no id lookup yet)
        listed = q.events() if coll.id == "events" else q.zones()
        return listed.filter(pc.equal(listed.column(coll.id_column), pa.scalar(feature_id)))
    raise NotFound(
        f"positions are not addressable one by one; page {coll.id}/items with bbox, "
        "datetime and limit"
    )


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature",
    response_class=GeoJSONResponse,
    response_model=Feature,
    responses=_ITEM_200,
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
    """One feature: a vessel by MMSI (its latest position; in tracks, a moving feature
    linking to its tgsequence), an event by id, a zone by id. 404 when there is none the
    reader may read (a denied feature is not told apart)."""
    check_f(f, "json", "geojson")
    coll = collection_of(collection_id)
    q = Query(store, who.reader)
    rows = feature_rows(q, coll, feature_id)
    if not rows.num_rows:
        raise NotFound(f"no feature {feature_id!r} in {coll.id} for this reader")
    mark = marking(q, rows)
    href = f"{base(request)}/collections/{coll.id}"
    feature = features(coll, rows, q.labels(), href)[0]
    feature["links"] = [
        link(str(request.url), "self", GEOJSON),
        link(href, "collection"),
        *feature.get("links", []),
    ]
    feature["marking"] = mark
    audit.record(st, who, request.url.path, request.url.query, rows.num_rows, mark)
    return answer(feature, mark, GEOJSON)
