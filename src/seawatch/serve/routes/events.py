"""``GET /api/v1/events``: events by type, area, time window and vessel."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi import Query as Param

from seawatch.errors import InputError
from seawatch.events.registry import event_types
from seawatch.serve.deps import (
    Area,
    Paging,
    Principal,
    ServeState,
    area,
    paging,
    principal,
    session,
    state,
)
from seawatch.serve.render import FormatParam, StaleFromParam, records_answer
from seawatch.serve.routes import FORMAT_RESPONSES, api_router
from seawatch.serve.routes.models import EventPage
from seawatch.store import Store
from seawatch.store.query import Query

router = api_router("events")


def _types(given: list[str] | None) -> list[str] | None:
    if not given:
        return None
    types = [t for value in given for t in value.split(",") if t]
    unknown = sorted(set(types) - set(event_types()))
    if unknown:
        raise InputError(
            f"unknown event type {', '.join(unknown)} (known: {', '.join(event_types())})"
        )
    return types


@router.get("/events", response_model=EventPage, responses=FORMAT_RESPONSES)
def events(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    where: Annotated[Area, Depends(area)],
    page: Annotated[Paging, Depends(paging)],
    type: Annotated[
        list[str] | None, Param(description="Event type(s): repeat or separate with commas")
    ] = None,
    mmsi: Annotated[int | None, Param(description="Vessel involved (either side)")] = None,
    f: FormatParam = None,
    stale_from: StaleFromParam = "data",
) -> Response:
    """Events the reader may read, overlapping ``datetime``, at ``bbox``, by start time."""
    q = Query(store, who.reader)
    got = q.page(
        "events",
        limit=page.limit,
        after=page.cursor,
        types=_types(type),
        bbox=where.bbox,
        start=where.start,
        end=where.end,
        mmsi=mmsi,
    )
    return records_answer(
        request,
        st,
        who,
        got.rows,
        q.labels(),
        kind="events",
        cursor=got.next,
        f=f,
        stale_from=stale_from,
    )
