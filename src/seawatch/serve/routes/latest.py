"""``GET /api/v1/latest``: each vessel's latest position in a bbox (and time window)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

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
from seawatch.serve.render import FormatParam, records_answer
from seawatch.serve.routes import FORMAT_RESPONSES, RecordPage, api_router
from seawatch.store import Store
from seawatch.store.query import Query

router = api_router("latest")


@router.get("/latest", response_model=RecordPage, responses=FORMAT_RESPONSES)
def latest(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    where: Annotated[Area, Depends(area)],
    page: Annotated[Paging, Depends(paging)],
    f: FormatParam = None,
) -> Response:
    """The latest position the reader may read of each vessel in ``bbox``, by MMSI."""
    q = Query(store, who.reader)
    got = q.page(
        "latest",
        limit=page.limit,
        after=page.cursor,
        bbox=where.bbox,
        start=where.start,
        end=where.end,
    )
    return records_answer(
        request, st, who, got.rows, q.labels(), kind="latest", cursor=got.next, f=f
    )
