"""What every route needs, resolved once: the store session, the reader, common parameters.

In: the request (its ``Authorization: Bearer`` header or the web map's session cookie,
its query string) and the app's
state (:class:`ServeState`). Out: FastAPI dependencies: :func:`session` (a read session of
the store, one per request), :func:`principal` (the :class:`Principal`: the user and its
:class:`~seawatch.labels.Reader`; 401 otherwise), :func:`area` (``bbox`` and ``datetime``),
:func:`paging` (``limit`` up to :data:`MAX_LIMIT`, ``cursor``) and :func:`known_params`
(any query parameter the route does not declare is a 400 naming it: nothing is ignored).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from seawatch.errors import InputError, Unauthorized
from seawatch.labels import Reader
from seawatch.serve.access_log import note_user
from seawatch.serve.accounts import User, authenticate
from seawatch.serve.limits import RateLimiter
from seawatch.serve.sessions import COOKIE, Sessions, check_same_site
from seawatch.settings import Settings
from seawatch.store import Store
from seawatch.store.bbox import BBox, check_bbox

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Area",
    "Paging",
    "Principal",
    "ServeState",
    "area",
    "known_params",
    "paging",
    "parse_bbox",
    "parse_datetime",
    "principal",
    "session",
    "state",
]

MAX_LIMIT = 10_000
"""The most records one page holds (``limit``); more come through the ``next`` link."""
DEFAULT_LIMIT = 100


@dataclass
class ServeState:
    """What the app serves: the store and the settings; ``limiter``: each token's request
    rate (from the settings); ``sessions``: the web map's browser sessions
    (:mod:`seawatch.serve.sessions`). ``lock`` guards the store's own connection: requests' audit
    rows are written, and read sessions opened, under it. Live ingest (``seawatch serve
    --tcp``) does not take it: it writes on a write session of its own
    (:meth:`~seawatch.store.base.Store.write_session`), so a slow request never stalls it."""

    store: Store
    settings: Settings
    lock: threading.Lock = field(default_factory=threading.Lock)
    limiter: RateLimiter | None = None
    sessions: Sessions = field(default_factory=Sessions)

    def __post_init__(self) -> None:
        if self.limiter is None:
            s = self.settings
            self.limiter = RateLimiter(s.api_rate_per_s, s.api_burst)


@dataclass(frozen=True)
class Principal:
    """Who asks: the user (name, expiry; never its token) and the reader it reads as."""

    user: User
    reader: Reader


def state(request: Request) -> ServeState:
    found: ServeState = request.app.state.seawatch
    return found


def session(request: Request) -> Iterator[Store]:
    """A read session of the store for this request (closed when the request ends)."""
    st = state(request)
    with st.lock:
        cm = st.store.read_session()
        store = cm.__enter__()
    try:
        yield store
    finally:
        cm.__exit__(None, None, None)


_bearer = HTTPBearer(auto_error=False, description="A token from `seawatch users add`")


_cookie = APIKeyCookie(
    name=COOKIE,
    auto_error=False,
    description="The web map's session (HttpOnly, SameSite=Strict; POST /api/v1/session)",
)


def principal(
    request: Request,
    store: Annotated[Store, Depends(session)],
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    st: Annotated[ServeState, Depends(state)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """The user and reader of the request's bearer token, or else of its session cookie
    (the web map's); 401 with the reason otherwise, 429 when the user asks faster than its
    rate (:mod:`seawatch.serve.limits`). A cookie's request that changes something must come
    from the node's own pages (403 otherwise)."""
    if creds is not None:
        user, reader = authenticate(store, creds.credentials)
    elif cookie:
        check_same_site(request.method, request.headers)
        user, reader = st.sessions.principal(store, cookie)
    else:
        raise Unauthorized(
            "missing token: send 'Authorization: Bearer <token>' (`seawatch users add`)"
        )
    note_user(user.name)  # the access log's user
    assert st.limiter is not None
    st.limiter.take(user.name)
    return Principal(user, reader)


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route and its dependencies declare."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def known_params(request: Request, _who: Annotated[Principal, Depends(principal)]) -> None:
    """400 for a query parameter the route does not declare (after authentication: an
    anonymous caller learns nothing of the routes' parameters)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise InputError(
            f"unknown query parameter {', '.join(unknown)} "
            f"(this route takes: {', '.join(sorted(allowed)) or 'none'})"
        )


def parse_bbox(text: str) -> BBox:
    """``min_lon,min_lat,max_lon,max_lat`` checked by the store's rules."""
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InputError(
            f"bbox {text!r}: give four numbers min_lon,min_lat,max_lon,max_lat"
        ) from None
    return check_bbox(tuple(values))  # type: ignore[arg-type]


def _time(text: str) -> datetime | None:
    if text in ("", ".."):
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"datetime {text!r}: give an ISO 8601 time, e.g. 2024-03-01T00:00:00Z"
        ) from None
    if t.tzinfo is None:
        raise InputError(f"datetime {text!r}: give a time zone (e.g. a trailing Z for UTC)")
    return t


def parse_datetime(text: str) -> tuple[datetime | None, datetime | None]:
    """An instant, or an interval ``a/b`` with ``..`` for an open end."""
    if "/" not in text:
        t = _time(text)
        if t is None:
            raise InputError("datetime '..': give a time or an interval a/b")
        return t, t
    a, _, b = text.partition("/")
    start, end = _time(a), _time(b)
    if start is not None and end is not None and end < start:
        raise InputError(f"datetime {text!r}: the end is before the start")
    return start, end


def check_window(start: datetime | None, end: datetime | None, text: str, max_days: float) -> None:
    """A closed interval longer than ``max_days`` is a 400 naming the limit."""
    if start is None or end is None:
        return
    days = (end - start).total_seconds() / 86400
    if days > max_days:
        raise InputError(
            f"datetime {text!r}: a window of {days:.4g} days is over the limit of "
            f"{max_days:g} days (api_max_window_days); ask for shorter windows"
        )


@dataclass(frozen=True)
class Area:
    bbox: BBox | None
    start: datetime | None
    end: datetime | None


def area(
    bbox: Annotated[
        str | None, Query(description="min_lon,min_lat,max_lon,max_lat (WGS 84 degrees)")
    ] = None,
    datetime: Annotated[
        str | None,
        Query(description="An ISO 8601 instant, or an interval a/b ('..' for an open end)"),
    ] = None,
    st: Annotated[ServeState | None, Depends(state)] = None,
) -> Area:
    box = None if bbox is None else parse_bbox(bbox)
    start, end = (None, None) if datetime is None else parse_datetime(datetime)
    if datetime is not None and st is not None:
        check_window(start, end, datetime, st.settings.api_max_window_days)
    return Area(box, start, end)


@dataclass(frozen=True)
class Paging:
    limit: int
    cursor: str | None


def paging(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Records per page (at most {MAX_LIMIT})")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(description="The cursor of the `next` link of the previous page")
    ] = None,
) -> Paging:
    return Paging(limit, cursor)
