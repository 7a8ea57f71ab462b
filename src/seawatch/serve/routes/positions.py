"""``GET /api/v1/positions``: positions in a bbox and time window, by time."""

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

router = api_router("positions")


@router.get("/positions", response_model=RecordPage, responses=FORMAT_RESPONSES)
def positions(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    where: Annotated[Area, Depends(area)],
    page: Annotated[Paging, Depends(paging)],
    f: FormatParam = None,
) -> Response:
    """Position reports the reader may read, in ``bbox`` and ``datetime``, by time."""
    q = Query(store, who.reader)
    got = q.page(
        "positions",
        limit=page.limit,
        after=page.cursor,
        bbox=where.bbox,
        start=where.start,
        end=where.end,
    )
    return records_answer(
        request, st, who, got.rows, q.labels(), kind="positions", cursor=got.next, f=f
    )
