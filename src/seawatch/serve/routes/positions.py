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
from seawatch.serve.render import FormatParam, StaleFromParam
from seawatch.serve.routes import FORMAT_RESPONSES, api_router
from seawatch.serve.routes.area import area_page
from seawatch.serve.routes.models import PositionPage
from seawatch.store import Store

router = api_router("positions")


@router.get("/positions", response_model=PositionPage, responses=FORMAT_RESPONSES)
def positions(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    where: Annotated[Area, Depends(area)],
    page: Annotated[Paging, Depends(paging)],
    f: FormatParam = None,
    stale_from: StaleFromParam = "data",
) -> Response:
    """Position reports the reader may read, in ``bbox`` and ``datetime``, by time."""
    return area_page("positions", request, who, store, st, where, page, f, stale_from)
