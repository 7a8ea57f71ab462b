"""Operations: the server's access log, one JSON line per HTTP request.

In: every HTTP request the app answers (an ASGI middleware around it), the user its token
resolved to (:func:`note_user`, called by :func:`seawatch.serve.deps.principal`) and the
records it returned (:func:`note_rows`, called by the audit trail). Out: when the response
has been sent, one record on the ``seawatch.access`` logger whose message is a JSON object::

    {"time": "2025-06-01T02:30:00.123Z", "method": "GET", "path": "/api/v1/latest",
     "status": 200, "duration_ms": 12.3, "user": "ana", "rows": 40}

``user`` is null when no valid token came with the request; ``rows`` is null when the answer
held no records. ``path`` is the request's path alone: never its query string (whatever a
caller puts there stays out of the log), never a header (the token is one). ``duration_ms``
runs until the last byte of the body was handed to the server. The entry points give the
logger a handler that writes the message alone (:func:`seawatch.log.configure_logging`).
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seawatch.log import ACCESS_LOGGER

__all__ = ["ACCESS_LOGGER", "AccessLog", "note_rows", "note_user"]

log = logging.getLogger(ACCESS_LOGGER)

_current: ContextVar[dict[str, Any] | None] = ContextVar("seawatch_access", default=None)
"""The line being built for the request in progress (shared with the threads the request's
dependencies and routes run on: they get a copy of the context, holding the same dict)."""


def note_user(name: str) -> None:
    """The request's user (its token was valid)."""
    line = _current.get()
    if line is not None:
        line["user"] = name


def note_rows(rows: int) -> None:
    """How many records the request's answer holds."""
    line = _current.get()
    if line is not None:
        line["rows"] = (line["rows"] or 0) + rows


class AccessLog:
    """ASGI middleware: one access-log line per HTTP request (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        line: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "method": scope["method"],
            "path": scope["path"],
            "status": 500,  # unless a response starts
            "duration_ms": None,
            "user": None,
            "rows": None,
        }
        token = _current.set(line)
        done = False

        def finish() -> None:
            nonlocal done
            if not done:
                done = True
                line["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
                log.info("%s", json.dumps(line, separators=(",", ":")))

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                line["status"] = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                finish()

        try:
            await self.app(scope, receive, sending)
        finally:
            finish()
            _current.reset(token)
