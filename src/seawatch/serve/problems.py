"""The one mapping from exceptions to HTTP answers: RFC 9457 problem details.

In: whatever a route or dependency raised. Out: an ``application/problem+json`` response
(``type``, ``title``, ``status``, ``detail``, ``instance``). A
:class:`~seawatch.errors.SeawatchError` answers with its ``http_status`` and its message
(a bad bbox names the rule it broke, a 401 says why); a parameter FastAPI could not
validate is a 400 naming it; 404 and 405 from routing keep their headers (``Allow``);
anything else is a 500 whose detail says nothing of the internals (the log has it).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from seawatch.errors import RateLimited, SeawatchError, Unauthorized
from seawatch.serve.limits import RateLimiter

__all__ = ["PROBLEM", "PROBLEM_RESPONSES", "install_problems", "problem"]

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"

_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": HTTPStatus(status).phrase, "content": {PROBLEM: {"schema": _SCHEMA}}}
    for status in (400, 401, 404, 405, 406, 429)
}
"""The problem responses every API route may give, for the OpenAPI document."""


def problem(
    request: Request, status: int, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


async def _seawatch(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SeawatchError)
    status = exc.http_status
    if status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return problem(request, status, "the server failed; the node's log has the reason")
    headers = (
        {"WWW-Authenticate": 'Bearer realm="seawatch"'} if isinstance(exc, Unauthorized) else None
    )
    if isinstance(exc, RateLimited):
        headers = RateLimiter.header(exc.retry_after_s)
    return problem(request, status, str(exc), headers)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return problem(request, 400, "; ".join(parts) or "invalid request")


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path} (see /openapi.json)"
    if exc.status_code == 405 and detail == "Method Not Allowed":
        allow = (exc.headers or {}).get("Allow") or (exc.headers or {}).get("allow", "")
        detail = f"{request.method} is not allowed here (allowed: {allow})"
    return problem(request, exc.status_code, detail, dict(exc.headers or {}))


async def _gone(request: Request, exc: Exception) -> JSONResponse:
    """The client went away before its request had all come (a cut connection): no one is
    left to answer and nothing failed here, so one line, not a traceback."""
    log.warning("%s %s: the client went away before its request was read", request.method,
                request.url.path)  # fmt: skip
    return problem(request, 400, "the request's body did not all come")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path)
    return problem(request, 500, "the server failed; the node's log has the reason")


def install_problems(app: FastAPI) -> None:
    """Answer every error ``app`` raises as problem+json."""
    app.add_exception_handler(SeawatchError, _seawatch)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(ClientDisconnect, _gone)
    app.add_exception_handler(Exception, _unexpected)
