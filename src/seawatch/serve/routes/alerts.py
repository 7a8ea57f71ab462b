"""Areas of interest, alert rules and fired alerts: ``/api/v1/areas``, ``/alert-rules``,
``/alerts`` (list, make, delete, acknowledge).

In: the caller's reader and the request (a JSON body for what it makes). Out: what the
reader may read, through :class:`~seawatch.store.query.Query`; changes made by
:mod:`seawatch.engine.alert_admin` in one transaction of the app's writer, each audited.
The live ingest fires the rules from its next batch (:mod:`seawatch.engine.alerts`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Request, Response
from fastapi import Query as Param
from pydantic import BaseModel, ConfigDict, Field

from seawatch.engine.alert_admin import (
    AREA_KIND,
    Actor,
    acknowledge,
    add_area,
    add_rule,
    remove_area,
    remove_rule,
    rule_item,
)
from seawatch.errors import NotFound
from seawatch.events.alert_rules import RULE_KINDS
from seawatch.serve import audit
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
from seawatch.serve.render import MARKING_HEADER, FormatParam, json_answer, records_answer
from seawatch.serve.routes import api_router
from seawatch.serve.routes.models import (
    AlertItem,
    AlertPage,
    AlertRuleItem,
    AlertRulePage,
    ZonePage,
)
from seawatch.store import Store
from seawatch.store.query import Query

router = api_router("alerts")

RuleKindName = Literal["zone_entry", "zone_exit", "gap", "encounter", "loitering", "watchlist"]
assert set(RuleKindName.__args__) == set(RULE_KINDS)  # type: ignore[attr-defined]


class AreaIn(BaseModel):
    """An area of interest to make."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon (lon, lat)")
    marking: str | None = Field(None, description="Its marking (default: the node's)")


class RuleIn(BaseModel):
    """An alert rule to make (see docs/serve.md, "Alert rules")."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    kind: RuleKindName
    zone_id: str | None = Field(None, description="Zone or area it watches (GET /zones)")
    flags: list[str] = Field(default_factory=list, description="ISO 3166-1 alpha-3 flags")
    ship_types: list[int] = Field(default_factory=list, description="AIS ship type codes")
    speed_min_kn: float | None = None
    speed_max_kn: float | None = None
    mmsi: list[int] = Field(default_factory=list)
    imo: list[int] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list, description="Vessel names (watchlist)")
    rearm_h: float | None = Field(None, description="Watchlist: hours before it fires again")
    marking: str | None = Field(None, description="Its marking (default: the node's)")


class Made(BaseModel):
    """What was made, under its marking."""

    marking: str
    item: dict[str, Any]


def _actor(who: Principal, st: ServeState) -> Actor:
    return Actor(who.user.name, who.reader, st.settings.default_label)


@contextmanager
def _written(st: ServeState) -> Iterator[None]:
    """The app's one writer, in a transaction."""
    with st.lock, st.store.transaction():
        yield


def _made(
    request: Request, st: ServeState, who: Principal, item: dict[str, Any], label_id: int
) -> Response:
    label = st.store.labels()[label_id]
    audit.record(st, who, f"{request.method} {request.url.path}", "", 1, label.marking)
    body = Made(marking=label.marking, item={**item, "label": label.marking})
    return Response(
        body.model_dump_json(), status_code=201, media_type="application/json",
        headers={MARKING_HEADER: label.marking},
    )  # fmt: skip


def _deleted(
    request: Request,
    st: ServeState,
    who: Principal,
    remove: Callable[[Store, Actor, str], None],
    key: str,
) -> Response:
    """``remove`` the object ``key`` as the caller, audited; 204."""
    with _written(st):
        remove(st.store, _actor(who, st), key)
    audit.record(st, who, f"DELETE {request.url.path}", "", 0, "")
    return Response(status_code=204)


@router.get("/areas", response_model=ZonePage)
def areas(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    page: Annotated[Paging, Depends(paging)],
    f: FormatParam = None,
) -> Response:
    """Areas of interest the reader may read (zones of kind ``area``), by id."""
    q = Query(store, who.reader)
    got = q.page("zones", limit=page.limit, after=page.cursor, kind=AREA_KIND)
    return records_answer(request, st, who, got.rows, q.labels(), kind=None, cursor=got.next, f=f)


@router.post("/areas", status_code=201, response_model=Made)
def make_area(
    request: Request,
    body: AreaIn,
    who: Annotated[Principal, Depends(principal)],
    st: Annotated[ServeState, Depends(state)],
) -> Response:
    """Make an area of interest (a zone alert rules can watch)."""
    with _written(st):
        row = add_area(st.store, _actor(who, st), body.name, body.geometry, body.marking)
    return _made(
        request, st, who, {k: v for k, v in row.items() if k != "label_id"}, row["label_id"]
    )


@router.delete(
    "/areas/{zone_id}", status_code=204, responses={409: {"description": "Rules watch it"}}
)
def delete_area(
    request: Request,
    zone_id: Annotated[str, Path(max_length=200)],
    who: Annotated[Principal, Depends(principal)],
    st: Annotated[ServeState, Depends(state)],
) -> Response:
    """Delete an area made through the API (409 while rules watch it)."""
    return _deleted(request, st, who, remove_area, zone_id)


@router.get("/alert-rules", response_model=AlertRulePage)
def alert_rules(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    page: Annotated[Paging, Depends(paging)],
) -> Response:
    """Alert rules the reader may read, by id."""
    q = Query(store, who.reader)
    got = q.page("alert_rules", limit=page.limit, after=page.cursor)
    return records_answer(
        request, st, who, got.rows, q.labels(), kind=None, cursor=got.next, f=None,
        item=rule_item,
    )  # fmt: skip


@router.post("/alert-rules", status_code=201, response_model=Made)
def make_rule(
    request: Request,
    body: RuleIn,
    who: Annotated[Principal, Depends(principal)],
    st: Annotated[ServeState, Depends(state)],
) -> Response:
    """Make an alert rule; the engine fires it on data stored from now on."""
    obj = body.model_dump(exclude={"marking"}, exclude_none=True)
    with _written(st):
        rule = add_rule(st.store, _actor(who, st), obj, body.marking)
    return _made(request, st, who, rule.describe(), rule.label_id)


@router.get("/alert-rules/{rule_id}", response_model=AlertRuleItem)
def alert_rule(
    request: Request,
    rule_id: Annotated[str, Path(max_length=200)],
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
) -> Response:
    """One alert rule."""
    q = Query(store, who.reader)
    got = q.alert_rules(rule_id=rule_id)
    if got.num_rows == 0:
        raise NotFound(f"no alert rule {rule_id!r} (or none you may read)")
    row = got.to_pylist()[0]
    label = q.labels()[row.pop("label_id")]
    return json_answer(
        request, st, who, {"item": {**rule_item(row), "label": label.marking}}, label.marking, 1
    )


@router.delete("/alert-rules/{rule_id}", status_code=204)
def delete_alert_rule(
    request: Request,
    rule_id: Annotated[str, Path(max_length=200)],
    who: Annotated[Principal, Depends(principal)],
    st: Annotated[ServeState, Depends(state)],
) -> Response:
    """Delete an alert rule (the alerts it fired stay)."""
    return _deleted(request, st, who, remove_rule, rule_id)


@router.get("/alerts", response_model=AlertPage)
def alerts(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
    where: Annotated[Area, Depends(area)],
    page: Annotated[Paging, Depends(paging)],
    rule_id: Annotated[str | None, Param(max_length=200, description="Fired by this rule")] = None,
    kind: Annotated[RuleKindName | None, Param(description="Of rules of this kind")] = None,
    acked: Annotated[bool | None, Param(description="Acknowledged (true) or not (false)")] = None,
    mmsi: Annotated[int | None, Param(description="Vessel involved")] = None,
) -> Response:
    """Fired alerts the reader may read, by time."""
    q = Query(store, who.reader)
    got = q.page(
        "alerts", limit=page.limit, after=page.cursor, rule_id=rule_id,
        kinds=None if kind is None else [kind], acked=acked, bbox=where.bbox,
        start=where.start, end=where.end, mmsi=mmsi,
    )  # fmt: skip
    return records_answer(
        request, st, who, got.rows, q.labels(), kind=None, cursor=got.next, f=None
    )


@router.post("/alerts/{alert_id}/ack", response_model=AlertItem)
def ack(
    request: Request,
    alert_id: Annotated[str, Path(max_length=200)],
    who: Annotated[Principal, Depends(principal)],
    st: Annotated[ServeState, Depends(state)],
) -> Response:
    """Acknowledge an alert (the first acknowledgement is kept)."""
    with _written(st):
        row = acknowledge(st.store, _actor(who, st), alert_id)
    label = st.store.labels()[row.pop("label_id")]
    return json_answer(
        request, st, who, {"item": {**row, "label": label.marking}}, label.marking, 1
    )
