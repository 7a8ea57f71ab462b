"""Listings read by area: a bbox and a time window, paged (``/positions``, ``/latest``).

In: the request's reader, its :class:`~seawatch.serve.deps.Area` and
:class:`~seawatch.serve.deps.Paging`, and the :class:`~seawatch.store.query.Query` listing to
read. Out: the page in the format asked for, marked and audited. The two routes differ
only in the listing they read, so they share this one reading.
"""

from __future__ import annotations

from typing import Literal

from fastapi import Request, Response

from seawatch.serve.deps import Area, Paging, Principal, ServeState
from seawatch.serve.render import StaleFrom, records_answer
from seawatch.store import Store
from seawatch.store.query import Query

__all__ = ["area_page"]


def area_page(
    listing: Literal["positions", "latest"],
    request: Request,
    who: Principal,
    store: Store,
    st: ServeState,
    where: Area,
    page: Paging,
    f: str | None,
    stale_from: StaleFrom = "data",
) -> Response:
    """One page of ``listing`` for the reader, in ``where``, after ``page.cursor``."""
    q = Query(store, who.reader)
    got = q.page(
        listing,
        limit=page.limit,
        after=page.cursor,
        bbox=where.bbox,
        start=where.start,
        end=where.end,
    )
    return records_answer(
        request,
        st,
        who,
        got.rows,
        q.labels(),
        kind=listing,
        cursor=got.next,
        f=f,
        stale_from=stale_from,
    )
