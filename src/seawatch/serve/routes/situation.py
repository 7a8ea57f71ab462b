"""``GET /api/v1/situation``: the situation summary (ranked incidents) as data, for a reader."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pyarrow as pa
from fastapi import Depends, Request, Response
from fastapi import Query as Param

from seawatch.export.common import marking_of
from seawatch.serve.deps import Area, Principal, ServeState, area, principal, session, state
from seawatch.serve.render import StaleFromParam, incidents_cot_answer, json_answer
from seawatch.serve.routes import api_router
from seawatch.serve.routes.models import SituationSummary
from seawatch.serve.situation import situation as summarise
from seawatch.store import Store
from seawatch.store.query import Query

router = api_router("situation")


_COT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The summary (JSON), or with f=cot a Cursor-on-Target marker per "
        "incident; header X-Seawatch-Marking: the combined marking of what it used",
        "content": {"application/json": {}, "application/xml": {}},
    }
}


@router.get("/situation", response_model=SituationSummary, responses=_COT_RESPONSE)
def situation(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    where: Annotated[Area, Depends(area)],
    f: Annotated[
        Literal["json", "cot"],
        Param(
            description="json (default): the summary; cot: a Cursor-on-Target marker per "
            "incident (not minor), under the combined label of its events (docs/exports.md)"
        ),
    ] = "json",
    stale_from: StaleFromParam = "data",
) -> Response:
    """The events the reader may read in ``bbox`` and ``datetime``, counted by type, with
    the notable incidents ranked; marked with the combination of every record it used.
    With ``f=cot``: the incidents of those events as CoT markers."""
    q = Query(store, who.reader)
    events = q.events(bbox=where.bbox, start=where.start, end=where.end)
    if f == "cot":
        return incidents_cot_answer(request, st, who, q, events, stale_from)
    mmsis = [
        m for m in events.column("mmsi").to_pylist() + events.column("other_mmsi").to_pylist() if m
    ]
    vessels = q.identities(mmsis)
    latest = q.latest(bbox=where.bbox, start=where.start, end=where.end)
    used = pa.concat_tables([t.select(["label_id"]) for t in (events, vessels, latest)])
    marking = marking_of(used, q.labels(), store.policy).overall.marking
    body = summarise(events, vessels, latest=latest).as_dict()
    return json_answer(request, st, who, body, marking, used.num_rows)
