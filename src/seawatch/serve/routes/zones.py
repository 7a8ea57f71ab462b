"""``GET /api/v1/zones``: the stored zones (JSON; geometry as WKT)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi import Query as Param

from seawatch.serve.deps import Paging, Principal, ServeState, paging, principal, session, state
from seawatch.serve.render import FormatParam, records_answer
from seawatch.serve.routes import api_router
from seawatch.serve.routes.models import ZonePage
from seawatch.store import Store
from seawatch.store.query import Query

router = api_router("zones")


@router.get("/zones", response_model=ZonePage)
def zones(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    page: Annotated[Paging, Depends(paging)],
    kind: Annotated[str | None, Param(description="Zone layer kind (eez, port, ...)")] = None,
    f: FormatParam = None,
) -> Response:
    """Zones the reader may read, by id."""
    q = Query(store, who.reader)
    got = q.page("zones", limit=page.limit, after=page.cursor, kind=kind)
    return records_answer(request, st, who, got.rows, q.labels(), kind=None, cursor=got.next, f=f)
