"""``GET /api/v1/identities``: who each vessel says it is (name, call sign, ship type), for
the web map's labels and colours.

In: a page of vessels by MMSI (``limit``, ``cursor``). Out: for each, the latest static
report the reader may read that names it (:meth:`~seawatch.store.query.Query.identities`)
and, when that report gives no ship type (a Class B vessel sends its name and its type in
two reports), also the latest report that does: each row a stored record under its own
label, so the map can mark what it draws from them.
"""

from __future__ import annotations

from typing import Annotated

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import Depends, Request, Response

from seawatch.serve.deps import Paging, Principal, ServeState, paging, principal, session, state
from seawatch.serve.render import records_answer
from seawatch.serve.routes import api_router
from seawatch.serve.routes.models import IdentityPage
from seawatch.store import Store
from seawatch.store.query import Query

router = api_router("vessels")


@router.get("/identities", response_model=IdentityPage)
def identities(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    page: Annotated[Paging, Depends(paging)],
) -> Response:
    """Each vessel's latest naming report, and its latest typed report when the naming
    one has no ship type, by MMSI (a page counts vessels, so it may hold two rows of one)."""
    q = Query(store, who.reader)
    got = q.page("identities", limit=page.limit, after=page.cursor)
    named = got.rows
    untyped = named.filter(pc.is_null(named.column("ship_type"))).column("mmsi")
    typed = q.identities(untyped.to_numpy().tolist(), typed=True) if len(untyped) else None
    rows = pa.concat_tables([named] + ([typed] if typed is not None else [])).sort_by(
        [("mmsi", "ascending"), ("ts", "descending")]
    )
    return records_answer(request, st, who, rows, q.labels(), kind=None, cursor=got.next, f=None)
