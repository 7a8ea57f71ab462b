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
from seawatch.serve.render import FormatParam, StaleFromParam
from seawatch.serve.routes import FORMAT_RESPONSES, api_router
from seawatch.serve.routes.area import area_page
from seawatch.serve.routes.models import PositionPage
from seawatch.store import Store

router = api_router("latest")


@router.get("/latest", response_model=PositionPage, responses=FORMAT_RESPONSES)
def latest(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    where: Annotated[Area, Depends(area)],
    page: Annotated[Paging, Depends(paging)],
    f: FormatParam = None,
    stale_from: StaleFromParam = "data",
) -> Response:
    """The latest position the reader may read of each vessel in ``bbox``, by MMSI."""
    return area_page("latest", request, who, store, st, where, page, f, stale_from)
