"""Who opens a stream: the user and reader of a WebSocket's bearer token or, from the web
map, of its session cookie (whose handshake must come from a page of this node).

In: the app's state, the token or cookie, the handshake's headers. Out: the user name and
:class:`~seawatch.labels.Reader`, or the :class:`~seawatch.errors.Unauthorized` saying why.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import WebSocket

from seawatch.labels import Reader
from seawatch.serve.accounts import authenticate
from seawatch.serve.deps import ServeState

__all__ = ["authenticate_stream", "same_origin"]


def authenticate_stream(
    state: ServeState, token: str, cookie: str | None = None
) -> tuple[str, Reader]:
    """The user name and reader of a bearer token, or (no token) of the web map's session
    cookie."""
    with state.lock:
        cm = state.store.read_session()
        store = cm.__enter__()
    try:
        if cookie is not None:
            user, reader = state.sessions.principal(store, cookie)
        else:
            user, reader = authenticate(store, token)
        return user.name, reader
    finally:
        cm.__exit__(None, None, None)


def same_origin(ws: WebSocket) -> bool:
    """A browser's handshake comes from a page of this node (the cookie is SameSite=Strict
    too; this refuses cross-site WebSocket hijacking outright)."""
    origin = ws.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == ws.headers.get("host")
