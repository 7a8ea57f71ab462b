"""What every ``/ogc`` route shares: media types, links, the marked answer, the router.

In: a request, a body and the marking of the records it holds. Out: :data:`router` (the
``/ogc`` router: unknown query parameters refused, problems documented), :func:`link`,
:func:`answer` (JSON or GeoJSON with ``X-Seawatch-Marking``), :func:`base` (the API's
root URL), :func:`unmarked` (the marking of an answer that holds no records) and
:func:`check_f` (the ``f`` parameter).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Depends, Request, Response
from fastapi import Query as Param
from fastapi.responses import JSONResponse

from seawatch.errors import InputError
from seawatch.export.common import collection_label, marking_of
from seawatch.serve.deps import known_params
from seawatch.serve.problems import PROBLEM_RESPONSES
from seawatch.serve.render import MARKING_HEADER
from seawatch.store import Store
from seawatch.store.query import Query

__all__ = [
    "CRS84",
    "GEOJSON",
    "JSON",
    "FParam",
    "GeoJSONResponse",
    "answer",
    "base",
    "check_f",
    "link",
    "marking",
    "now",
    "router",
    "unmarked",
]

GEOJSON = "application/geo+json"
JSON = "application/json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


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


def check_f(f: str | None, *allowed: str) -> None:
    if f is not None and f not in allowed:
        raise InputError(f"f={f}: this resource answers in {', '.join(allowed)}")


def base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def link(href: str, rel: str, type_: str = JSON, title: str | None = None) -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def now() -> str:
    """The time of an answer, RFC 3339 UTC (OGC ``timeStamp``)."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def answer(
    body: dict[str, Any], marking: str, media: str = JSON, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body), media_type=media, headers={MARKING_HEADER: marking, **(headers or {})}
    )


def unmarked(store: Store) -> str:
    return collection_label([], store.policy).marking


def marking(q: Query, *tables: pa.Table) -> str:
    """The combined marking of the rows of ``tables`` (each with a ``label_id``)."""
    if not tables:
        return unmarked(q.store)
    schema = pa.schema([pa.field("label_id", pa.int32())])
    used = pa.concat_tables([t.select(["label_id"]).cast(schema) for t in tables])
    return marking_of(used, q.labels(), q.store.policy).overall.marking
