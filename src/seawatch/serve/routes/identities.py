"""``GET /api/v1/identities``: who each vessel says it is (name, call sign, ship type), for
the web map's labels and colours.

In: a page of vessels by MMSI (``limit``, ``cursor``), of the ``mmsi`` listed only when
given (at most :data:`MAX_MMSIS`: the map asks for the vessels the live stream brings that it
cannot name yet). Out: for each, the latest static
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
from fastapi import Query as Param

from seawatch.errors import InputError
from seawatch.serve.deps import Paging, Principal, ServeState, paging, principal, session, state
from seawatch.serve.render import records_answer
from seawatch.serve.routes import api_router
from seawatch.serve.routes.models import IdentityPage
from seawatch.store import Store
from seawatch.store.query import Query

router = api_router("vessels")
MAX_MMSIS = 1000
"""Most MMSIs one request may list."""


def _mmsis(texts: list[str] | None) -> list[int] | None:
    """The MMSIs listed (repeated or comma-separated); None when none is."""
    if texts is None:
        return None
    tokens = [t.strip() for text in texts for t in text.split(",") if t.strip()]
    bad = next((t for t in tokens if not (t.isascii() and t.isdigit())), None)
    if bad is not None:
        raise InputError(f"mmsi: {bad[:20]!r} is not an MMSI (digits, comma-separated)")
    out = [int(t) for t in tokens]
    if not out or len(out) > MAX_MMSIS or any(not 0 <= m <= 999_999_999 for m in out):
        raise InputError(f"mmsi: give 1 to {MAX_MMSIS} MMSIs (0-999999999)")
    return out


@router.get("/identities", response_model=IdentityPage)
def identities(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    page: Annotated[Paging, Depends(paging)],
    mmsi: Annotated[
        list[str] | None,
        Param(description=f"Only these vessels: repeat or comma-separate (at most {MAX_MMSIS})"),
    ] = None,
) -> Response:
    """Each vessel's latest naming report, and its latest typed report when the naming
    one has no ship type, by MMSI (a page counts vessels, so it may hold two rows of one)."""
    q = Query(store, who.reader)
    got = q.page("identities", limit=page.limit, after=page.cursor, mmsis=_mmsis(mmsi))
    named = got.rows
    untyped = named.filter(pc.is_null(named.column("ship_type"))).column("mmsi")
    typed = q.identities(untyped.to_numpy().tolist(), typed=True) if len(untyped) else None
    rows = pa.concat_tables([named] + ([typed] if typed is not None else [])).sort_by(
        [("mmsi", "ascending"), ("ts", "descending")]
    )
    return records_answer(request, st, who, rows, q.labels(), kind=None, cursor=got.next, f=None)
