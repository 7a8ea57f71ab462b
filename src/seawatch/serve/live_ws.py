"""``/live`` itself: one WebSocket connection, from its token and subscription to its frames.

In: a connection with ``Authorization: Bearer <token>`` (or, from the web map, its session
cookie and the same origin) that sends a subscription within :data:`SUBSCRIBE_TIMEOUT_S`,
and the app's :class:`~seawatch.serve.live.LiveHub`. Out: ``{"type": "subscribed", ...}``,
then the frames the hub queues for this client, sent as they are queued (one message at a
time); a new subscription replaces the filters, its answer (or refusal) put on the
connection at once, ahead of the frames queued and not yet written; the audit rows of
each subscription. The hub (what is selected for whom, and when) is
:mod:`seawatch.serve.live`; see docs/serve.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

from fastapi import WebSocket, WebSocketDisconnect

from seawatch.errors import SeawatchError, Unauthorized
from seawatch.serve.live_auth import (
    POLICY_VIOLATION,
    areas_for,
    authenticate_stream,
    refuse,
    same_origin,
)
from seawatch.serve.live_client import Client
from seawatch.serve.live_frames import Chunk
from seawatch.serve.live_wire import EXTENSION
from seawatch.serve.sessions import COOKIE
from seawatch.serve.subscription import TYPES, Subscription, SubscriptionError

if TYPE_CHECKING:
    from seawatch.labels import Reader
    from seawatch.serve.live import LiveHub

__all__ = ["INLINE_SUBSCRIPTION_CHARS", "SUBSCRIBE_TIMEOUT_S", "live"]

SUBSCRIBE_TIMEOUT_S = 10.0
"""A connection that sends no subscription within this long is refused."""


INLINE_SUBSCRIPTION_CHARS = 4_096
"""A subscription this short that names no areas is parsed on the event loop (microseconds),
not on asyncio's threads, where it would wait behind other connections' store reads (a
thousand clients connecting at once: seconds)."""


class _AreasNamedError(SeawatchError):
    """The subscription names areas: looked up in the store, on a thread."""


def _no_areas(ids: list[str]) -> dict[str, Any]:
    raise _AreasNamedError


async def _parse(text: str, hub: LiveHub, reader: Reader) -> Subscription:
    if len(text) <= INLINE_SUBSCRIPTION_CHARS:
        with contextlib.suppress(_AreasNamedError):
            return Subscription.parse(text, _no_areas)
    return await asyncio.to_thread(Subscription.parse, text, areas_for(hub.state, reader))


def _wire(ws: WebSocket) -> dict[str, Any] | None:
    """The connection's ``seawatch.frames`` extension (None: this server has none)."""
    found = ws.scope.get("extensions", {}).get(EXTENSION)
    return found if isinstance(found, dict) and "fd" in found else None


def _text(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)  # as send_json


async def _tell(ws: WebSocket, client: Client, text: str) -> None:
    """A control message (a subscription's answer, what was missed) put on the connection
    now, ahead of the frames queued for ``client`` and not yet written (behind only what
    its transport already holds: a frame being written finishes first); through ASGI
    (another server) it waits its turn as any message."""
    if client.wire is None:
        await ws.send_text(text)
    else:
        client.wire["now"](text)


async def _one(ws: WebSocket, hub: LiveHub, client: Client, kind: str, chunk: Chunk) -> None:
    """One queued chunk, rendered once the connection can take it (so in the form of the
    subscription then, after any answer to a new one) and told of what was missed first."""
    if client.wire is not None:
        await client.wire["wait"]()
    missed = hub.missed_frame(client)
    if missed is not None:
        await _tell(ws, client, missed)
    if client.wire is None:
        for frame in hub.frames(client, kind, [chunk]):
            await ws.send_text(frame)
    else:
        for wire, text in hub.frames(client, kind, [chunk], wire=True):
            await client.wire["write"](wire, text)


async def _send(ws: WebSocket, hub: LiveHub, client: Client) -> None:
    """Send ``client`` what the hub queues for it and did not write itself
    (:mod:`seawatch.serve.live_push`): as bytes framed once for every client
    (:mod:`seawatch.serve.live_wire`) when the server offers it, else through ASGI; one
    chunk at a time, so that a subscription's answer overtakes those not yet written."""
    while True:
        await client.ready.wait()
        client.ready.clear()
        async with client.sending:
            missed = hub.missed_frame(client)
            if missed is not None:
                await _tell(ws, client, missed)
            for kind in TYPES:
                got = client.queues.get(kind)
                if not got:
                    continue
                since = got.since
                for chunk in got.take():
                    await _one(ws, hub, client, kind, chunk)
                hub.written(since)
        await hub.audit(client)


async def _refuse(ws: WebSocket, client: Client, sender: asyncio.Task[None], detail: str) -> None:
    """Refuse a new subscription: no more frames, the reason at once, then the close."""
    sender.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await sender
    await _tell(ws, client, _text({"type": "error", "detail": detail}))
    await ws.close(POLICY_VIOLATION, reason=detail[:120])


async def _principal(ws: WebSocket, hub: LiveHub) -> tuple[str, Reader]:
    """The user and reader of the handshake's token or session cookie, checked before the
    handshake is answered (a new token's slow KDF included), so that a subscription sent
    once connected is answered at once (:class:`~seawatch.errors.Unauthorized` or
    :class:`~seawatch.errors.InputError`: refused, with the reason)."""
    auth = ws.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    cookie = None if auth else ws.cookies.get(COOKIE)
    if cookie and not same_origin(ws):
        raise Unauthorized("session cookie from another site's page: refused")
    if not cookie and (scheme.lower() != "bearer" or not token.strip()):
        raise Unauthorized("missing token: send 'Authorization: Bearer <token>'")
    return await authenticate_stream(hub.state, token.strip(), cookie)


async def live(ws: WebSocket) -> None:
    """The ``/live`` WebSocket (see the module docstring and docs/serve.md)."""
    app = ws.app
    hub: LiveHub = app.state.live
    try:
        user, reader = await _principal(ws, hub)
    except SeawatchError as exc:
        with contextlib.suppress(WebSocketDisconnect):  # gone while its token was checked
            await ws.accept()
            await refuse(ws, str(exc))
        return
    try:
        await ws.accept()  # the handshake ends once the token is checked: see _principal
        text = await asyncio.wait_for(ws.receive_text(), SUBSCRIBE_TIMEOUT_S)
        sub = await _parse(text, hub, reader)
    except TimeoutError:
        await refuse(ws, f"no subscription within {SUBSCRIBE_TIMEOUT_S:g} s")
        return
    except SubscriptionError as exc:
        await refuse(ws, str(exc))
        return
    except WebSocketDisconnect:
        return
    client = Client(reader, sub, user=user, route="/live", wire=_wire(ws))
    await ws.send_json({"type": "subscribed", **sub.describe()})
    hub.add(client)
    sender = asyncio.create_task(_send(ws, hub, client))
    try:
        while True:  # a new subscription replaces the filters
            text = await ws.receive_text()
            try:
                new = await _parse(text, hub, reader)
            except SubscriptionError as exc:
                await _refuse(ws, client, sender, str(exc))
                return
            # through ASGI the answer waits its turn: no frame of the new one before it
            turn = client.sending if client.wire is None else contextlib.nullcontext()
            async with turn:
                replaced = hub.audit_start(client)  # the row of the one it replaces
                client.sub = new
                await _tell(ws, client, _text({"type": "subscribed", **new.describe()}))
            await hub.audit(client, final=True, job=replaced)  # acknowledged first
    except WebSocketDisconnect:
        pass
    finally:
        hub.remove(client)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
        await hub.audit(client, final=True)
