"""The analyst's web map: its built assets at ``/``, sign-in, and the marking of a view.

In: the assets ``web/`` builds into :data:`WEB_DIST` (``make web``; shipped as package
data), and the map's requests. Out: ``GET /`` (the page, with a Content-Security-Policy
that lets it load nothing from outside the node; a 503 page saying how to build it when
the assets are missing), ``/assets/...`` (static files), ``POST /api/v1/session`` (an API
token or a one-time sign-in link in, an HttpOnly SameSite=Strict session cookie out:
:mod:`seawatch.serve.sessions`), ``DELETE /api/v1/session`` (sign out) and
``GET /api/v1/marking?of=...`` (the combined marking of the labels on screen, computed
by the node's policy). See docs/map.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from seawatch.errors import InputError
from seawatch.export.common import collection_label
from seawatch.labels import Label, parse_label
from seawatch.serve.accounts import authenticate
from seawatch.serve.deps import Principal, ServeState, known_params, principal, session, state
from seawatch.serve.problems import PROBLEM_RESPONSES
from seawatch.serve.sessions import COOKIE, SESSION_TTL, redeem_link
from seawatch.store import Store
from seawatch.store.query import Query as RecordQuery

__all__ = ["CSP", "WEB_DIST", "install_web"]

WEB_DIST = Path(__file__).parent / "web_dist"
"""Where ``web/`` is built (``make web``); gitignored, shipped in the wheel."""

CSP = (
    "default-src 'self'; script-src 'self'; worker-src 'self' blob:; "
    "img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
"""Nothing from outside the node: no CDN, tile server, font or sprite."""

_MISSING = """<!doctype html><meta charset="utf-8"><title>seawatch: map not built</title>
<h1>The map's assets were not built</h1>
<p>This seawatch was installed without its web map. Build it from a checkout with
<code>make web</code> (runs <code>npm ci</code> and <code>npm run build</code> in
<code>web/</code>; needs Node.js), then restart <code>seawatch serve</code>.
The API is served all the same: <a href="/docs">/docs</a>.</p>
"""


class SignIn(BaseModel):
    """Exactly one of an API token or a sign-in link's code."""

    token: str | None = Field(default=None, description="An API token (`seawatch users add`)")
    link: str | None = Field(
        default=None, description="The code of a sign-in link (`seawatch users link`)"
    )


class Marking(BaseModel):
    marking: str = Field(description="The combined marking of the markings given")


session_router = APIRouter(tags=["session"], responses=dict(PROBLEM_RESPONSES))


@session_router.post("/session", status_code=204, response_class=Response)
def sign_in(
    body: SignIn,
    request: Request,
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
) -> Response:
    """Start a browser session (the web map's sign-in): an HttpOnly, SameSite=Strict
    cookie, so the token stays out of scripts and URLs. A link works once, for 10 minutes."""
    if (body.token is None) == (body.link is None):
        raise InputError("give exactly one of 'token' or 'link'")
    if body.token is not None:
        user, _ = authenticate(store, body.token)
    else:
        assert body.link is not None
        user, _ = redeem_link(st.store, body.link, st.lock)
    sid = st.sessions.start(user)
    out = Response(status_code=204)
    out.set_cookie(
        COOKIE,
        sid,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return out


@session_router.delete("/session", status_code=204, response_class=Response)
def sign_out(request: Request, st: Annotated[ServeState, Depends(state)]) -> Response:
    """End the browser session (sign out)."""
    sid = request.cookies.get(COOKIE)
    if sid:
        st.sessions.end(sid)
    out = Response(status_code=204)
    out.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return out


@session_router.get("/marking", response_model=Marking, dependencies=[Depends(known_params)])
def marking(
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    of: Annotated[
        list[str], Query(description="A marking shown (repeat for each); none: an empty view")
    ] = [],  # noqa: B006  (FastAPI copies the default)
) -> Marking:
    """The combined marking of what a view shows (highest classification, releasability
    narrowed, caveats joined: the node's policy), for the map's banner. Each marking is the
    stored label of that marking the reader may read (with its originator), else parsed."""
    readable: dict[str, list[Label]] = {}
    for label in RecordQuery(store, who.reader).labels().values():
        readable.setdefault(label.marking, []).append(label)
    labels = [
        lb for m in dict.fromkeys(of) for lb in readable.get(m) or [parse_label(m, store.policy)]
    ]
    return Marking(marking=collection_label(labels, store.policy).marking)


def _index() -> Response:
    page = WEB_DIST / "index.html"
    if not page.is_file():
        return HTMLResponse(_MISSING, status_code=503)
    return FileResponse(page, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"})


def install_web(app: FastAPI, api_prefix: str) -> None:
    """The map at ``/`` and ``/assets``, the session routes under ``api_prefix``."""
    app.include_router(session_router, prefix=api_prefix)
    app.add_api_route("/", _index, methods=["GET"], include_in_schema=False)
    assets = WEB_DIST / "assets"
    if assets.is_dir():
        app.mount("/assets", StaticFiles(directory=assets), name="assets")
