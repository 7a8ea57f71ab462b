"""Who opens a stream, and the areas they may filter it by: the user and reader of a
WebSocket's bearer token or, from the web map, of its session cookie (whose handshake must
come from a page of this node); the polygons of the areas a subscription names.

In: the app's state, the token or cookie, the handshake's headers; area ids. Out: the user
name and :class:`~seawatch.labels.Reader`, or the :class:`~seawatch.errors.Unauthorized`
saying why; :func:`areas_for` (the subscription's area lookup, through
:class:`~seawatch.store.query.Query` for the reader: an area it may not read is unknown).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import shapely
from fastapi import WebSocket

from seawatch.labels import Policy, Reader
from seawatch.serve.accounts import Claim, User, claim, verify
from seawatch.serve.deps import ServeState
from seawatch.serve.subscription import Areas, SubscriptionError
from seawatch.store.query import Query

__all__ = [
    "KDF_NICE",
    "KDF_THREADS",
    "POLICY_VIOLATION",
    "areas_for",
    "authenticate_stream",
    "refuse",
    "same_origin",
]

POLICY_VIOLATION = 1008
"""The WebSocket close code of a refused stream (with the reason)."""


KDF_THREADS = max(1, os.cpu_count() or 2)
"""Threads that check new tokens' secrets with the slow KDF (scrypt, ~40-70 ms of CPU each;
it lets go of the GIL, so they run on every core): their own, so a storm of new tokens
holds neither the event loop nor the other clients' work on asyncio's default threads
(their subscriptions, renders, audit rows)."""
KDF_NICE = 10
"""The KDF threads' nice value (Linux: each thread its own): the event loop and the live
ingest, at the process's own, come first for a core, so a storm of new tokens delays the
handshakes it brings, not the acknowledgement of a subscription already connected (nor the
frames). Elsewhere the threads keep the process's priority."""
_KDF: ThreadPoolExecutor | None = None
_CHECKING: dict[tuple[str, str, str], Future[tuple[User, Reader]]] = {}
"""The KDF runs under way, by :attr:`~seawatch.serve.accounts.Claim.key`: connections
that bring the same token at once wait for the one run (a thousand clients of ten users
cost ten KDFs, not a thousand)."""
_CHECKING_LOCK = threading.RLock()  # a run done at once calls _forget under it


def _kdf() -> ThreadPoolExecutor:
    global _KDF
    if _KDF is None:
        _KDF = ThreadPoolExecutor(KDF_THREADS, thread_name_prefix="live-kdf", initializer=_behind)
    return _KDF


def _behind() -> None:
    """This thread at :data:`KDF_NICE` (where threads have their own: Linux)."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), KDF_NICE)


async def _check(found: Claim, policy: Policy) -> tuple[User, Reader]:
    """:func:`~seawatch.serve.accounts.verify` ``found`` with the KDF on its threads, or
    after the run under way for the same token (then from the cache of verified secrets:
    its revocation and expiry checked again, on this claim's row)."""
    key = found.key
    with _CHECKING_LOCK:
        running = _CHECKING.get(key) if key is not None else None
        if running is None:
            job = _kdf().submit(verify, found, policy)
            if key is not None:
                _CHECKING[key] = job
                job.add_done_callback(lambda _: _forget(key, job))
    if running is None:
        return await asyncio.wrap_future(job)
    with contextlib.suppress(Exception):  # its own verdict follows, from this claim
        await asyncio.wrap_future(running)
    if found.needs_kdf:  # the run refused that secret: refuse it the same way, off the loop
        return await asyncio.wrap_future(_kdf().submit(verify, found, policy))
    return verify(found, policy)


def _forget(key: tuple[str, str, str], job: Future[tuple[User, Reader]]) -> None:
    with _CHECKING_LOCK:
        if _CHECKING.get(key) is job:
            del _CHECKING[key]


def _claim(state: ServeState, token: str) -> Claim:
    with state.lock:
        cm = state.store.read_session()
        store = cm.__enter__()
    try:
        return claim(store, token)
    finally:
        cm.__exit__(None, None, None)


def _principal(state: ServeState, cookie: str) -> tuple[str, Reader]:
    with state.lock:
        cm = state.store.read_session()
        store = cm.__enter__()
    try:
        user, reader = state.sessions.principal(store, cookie)
        return user.name, reader
    finally:
        cm.__exit__(None, None, None)


async def authenticate_stream(
    state: ServeState, token: str, cookie: str | None = None
) -> tuple[str, Reader]:
    """The user name and reader of a bearer token, or (no token) of the web map's session
    cookie. The store is read on asyncio's threads; a token's secret not verified before is
    checked with the slow KDF on :data:`KDF_THREADS` threads of its own (once for the
    connections that bring it at the same time), one verified before at once (a fast
    hash). The user's row is read for every connection: a token revoked or expired since
    it was verified is refused."""
    if cookie is not None:
        return await asyncio.to_thread(_principal, state, cookie)
    found = await asyncio.to_thread(_claim, state, token)
    policy = state.store.policy
    if found.needs_kdf:
        user, reader = await _check(found, policy)
    else:
        user, reader = verify(found, policy)
    return user.name, reader


def same_origin(ws: WebSocket) -> bool:
    """A browser's handshake comes from a page of this node (the cookie is SameSite=Strict
    too; this refuses cross-site WebSocket hijacking outright)."""
    origin = ws.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == ws.headers.get("host")


def areas_for(state: ServeState, reader: Reader) -> Areas:
    """The lookup of area (zone) ids for ``reader``'s subscriptions."""

    def look_up(ids: list[str]) -> dict[str, Any]:
        with state.lock:
            cm = state.store.read_session()
            store = cm.__enter__()
        try:
            zones = Query(store, reader).zones().to_pylist()
        finally:
            cm.__exit__(None, None, None)
        found = {z["zone_id"]: z["geometry_wkt"] for z in zones if z["zone_id"] in ids}
        unknown = [i for i in ids if i not in found]
        if unknown:
            raise SubscriptionError(
                f"areas: unknown area id(s) {', '.join(unknown)} (GET /api/v1/areas and "
                "/api/v1/zones list those you may read)"
            )
        shapes = {}
        for zone_id, wkt in found.items():
            shape = shapely.from_wkt(wkt)
            shapely.prepare(shape)
            shapes[zone_id] = shape
        return shapes

    return look_up


async def refuse(ws: WebSocket, detail: str) -> None:
    """Tell a WebSocket client why it is refused, and close with :data:`POLICY_VIOLATION`."""
    await ws.send_json({"type": "error", "detail": detail})
    await ws.close(POLICY_VIOLATION, reason=detail[:120])
