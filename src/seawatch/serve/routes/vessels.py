"""``GET /api/v1/vessels?q=``, ``/vessels/{mmsi}`` (the profile) and ``/vessels/{mmsi}/track``.

Search: ``q`` of 9 digits is an MMSI, 7 digits (or ``IMO`` and 7 digits) an IMO number,
anything else a case-insensitive part of a name or call sign. The profile holds the
vessel's identity history (its static reports, newest first), flag (from the MMSI's MID),
latest position and events; a vessel the reader may read nothing of is a 404, the same
answer as for one never seen, so a reader cannot tell the two apart.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import pyarrow as pa
from fastapi import Depends, Path, Request, Response
from fastapi import Query as Param

from seawatch.errors import InputError, NotFound
from seawatch.export.common import marking_of
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
from seawatch.serve.origins import origins
from seawatch.serve.render import (
    FormatParam,
    StaleFromParam,
    items,
    json_answer,
    records_answer,
)
from seawatch.serve.routes import FORMAT_RESPONSES, api_router
from seawatch.serve.routes.models import PositionPage, Profile, VesselPage
from seawatch.store import Store
from seawatch.store.pages import encode_cursor
from seawatch.store.query import Query
from seawatch.tracks.mid import flag_of

__all__ = ["router", "search"]

router = api_router("vessels")
MMSI = Annotated[int, Path(ge=0, le=999_999_999, description="The vessel's MMSI")]
_IMO = re.compile(r"^(?:IMO\s*)?(\d{7})$", re.IGNORECASE)


def search(q: Query, text: str, limit: int, after: str | None) -> tuple[pa.Table, str | None]:
    """Vessels matching ``text`` (see the module docstring), by MMSI: a page and the next
    cursor."""
    text = text.strip()
    if not text:
        raise InputError("q is empty: give a name, call sign, MMSI or IMO number")
    if re.fullmatch(r"\d{9}", text):
        got = q.page("vessels", limit=limit, after=after, mmsi=int(text))
        return got.rows, got.next
    imo = _IMO.match(text)
    if imo:
        got = q.page("vessels", limit=limit, after=after, imo=int(imo.group(1)))
        return got.rows, got.next
    by_name = q.page("vessels", limit=limit, after=after, name=text)
    by_sign = q.page("vessels", limit=limit, after=after, callsign=text)
    rows = pa.concat_tables([by_name.rows, by_sign.rows]).sort_by(
        [("mmsi", "ascending"), ("ts", "descending")]
    )
    seen: set[int | None] = set()
    keep = []
    for i, m in enumerate(rows.column("mmsi").to_pylist()):
        if m not in seen:
            seen.add(m)
            keep.append(i)
    rows = rows.take(pa.array(keep, pa.int64()))
    more = by_name.next is not None or by_sign.next is not None or rows.num_rows > limit
    rows = rows.slice(0, limit)
    last = rows.column("mmsi")[-1].as_py() if rows.num_rows else None
    return rows, encode_cursor("vessels", [last]) if more and last is not None else None


@router.get("/vessels", response_model=VesselPage, responses=FORMAT_RESPONSES)
def vessels(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    q: Annotated[str, Param(description="Name or call sign (part of), MMSI or IMO number")],
    page: Annotated[Paging, Depends(paging)],
    f: FormatParam = None,
) -> Response:
    """Vessels whose static reports match ``q``: the latest matching report per vessel."""
    query = Query(store, who.reader)
    rows, nxt = search(query, q, page.limit, page.cursor)
    return records_answer(request, st, who, rows, query.labels(), kind="vessels", cursor=nxt, f=f)


def _history(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reports (newest first) collapsed to identity changes, each with first and last seen."""
    keys = ("name", "callsign", "imo", "ship_type", "label")
    out: list[dict[str, Any]] = []
    for r in reports:
        ident = {k: r.get(k) for k in keys}
        if r.get("name") is None and r.get("callsign") is None and r.get("imo") is None:
            continue
        if out and all(out[-1][k] == ident[k] for k in keys):
            out[-1]["first_seen"] = r["ts"]
            continue
        out.append({**ident, "first_seen": r["ts"], "last_seen": r["ts"]})
    return out


@router.get("/vessels/{mmsi}", response_model=Profile)
def profile(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    mmsi: MMSI,
) -> Response:
    """A vessel's profile: identity history, flag, latest position, its events (at most
    100, the latest; ``/events?mmsi=`` pages through all; port calls are its ``port_visit``
    events) and where the records came from (``origins``)."""
    q = Query(store, who.reader)
    labels = q.labels()
    reports = q.reports(mmsi, limit=1000)
    latest = q.latest(mmsi=mmsi)
    evs = q.events(mmsi=mmsi)
    evs = evs.slice(max(0, evs.num_rows - 100))
    if reports.num_rows == 0 and latest.num_rows == 0 and evs.num_rows == 0:
        raise NotFound(f"no vessel with MMSI {mmsi} that you may read")
    both = pa.concat_tables([t.select(["label_id"]) for t in (reports, latest, evs)])
    marking = marking_of(both, labels, store.policy).overall.marking
    body = {
        "mmsi": mmsi,
        "flag": flag_of(pa.array([mmsi], pa.int64()))[0].as_py(),
        "identities": _history(items(reports, labels)),
        "latest": next(iter(items(latest, labels)), None),
        "events": items(evs, labels),
        "origins": origins(both.column("label_id"), labels, st.settings),
    }
    return json_answer(request, st, who, body, marking, both.num_rows)


@router.get("/vessels/{mmsi}/track", response_model=PositionPage, responses=FORMAT_RESPONSES)
def track(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    mmsi: MMSI,
    where: Annotated[Area, Depends(area)],
    page: Annotated[Paging, Depends(paging)],
    f: FormatParam = None,
    stale_from: StaleFromParam = "data",
) -> Response:
    """The vessel's positions in ``datetime`` (and ``bbox``), by time."""
    q = Query(store, who.reader)
    got = q.page(
        "positions",
        limit=page.limit,
        after=page.cursor,
        mmsi=mmsi,
        bbox=where.bbox,
        start=where.start,
        end=where.end,
    )
    if got.rows.num_rows == 0 and page.cursor is None and q.latest(mmsi=mmsi).num_rows == 0:
        raise NotFound(f"no vessel with MMSI {mmsi} that you may read")
    return records_answer(
        request,
        st,
        who,
        got.rows,
        q.labels(),
        kind="positions",
        cursor=got.next,
        f=f,
        stale_from=stale_from,
    )
