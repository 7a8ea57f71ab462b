"""``GET /live/sse``: the live stream as Server-Sent Events, resumable with ``Last-Event-ID``.

In: a bearer token, the filters of a ``/live`` subscription as query parameters (``bbox``
repeated for several boxes, ``mmsi``, ``types``, ``event_types`` and ``areas`` comma-separated;
``form``, ``items`` or ``columns``) and,
on reconnection, the ``Last-Event-ID`` header. Out: ``subscribed``, then ``positions`` and
``events`` events with the frames of :mod:`seawatch.serve.live` as data; the last event of
each batch carries the batch number as its ``id``. A client resuming after a batch the
server still keeps receives what it missed; otherwise a ``missed`` event first. See
docs/serve.md.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import StreamingResponse

from seawatch.errors import InputError
from seawatch.serve.deps import Principal, known_params, principal
from seawatch.serve.live import LiveHub
from seawatch.serve.live_auth import areas_for
from seawatch.serve.live_client import Client
from seawatch.serve.subscription import TYPES, Subscription

__all__ = ["KEEPALIVE_S", "install_sse"]

KEEPALIVE_S = 15.0


def _ints(text: str | None, name: str) -> list[int]:
    if not text:
        return []
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"{name} {text!r}: give comma-separated integers") from None


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError(
            f"bbox {text!r}: give four numbers min_lon,min_lat,max_lon,max_lat"
        ) from None


def _event(kind: str, data: dict[str, Any] | str, event_id: int | None = None) -> str:
    """One SSE event; ``data`` a JSON text, or an object to write as one."""
    head = f"event: {kind}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    text = data if isinstance(data, str) else json.dumps(data, default=str)
    return head + f"data: {text}\n\n"


async def _stream(
    request: Request, hub: LiveHub, client: Client, after: int | None
) -> AsyncIterator[str]:
    hub.add(client)
    try:
        resumed = True if after is None else hub.replay(client, after)
        yield _event("subscribed", {"type": "subscribed", **client.sub.describe()}, hub.seq)
        if not resumed:
            yield _event("missed", {"type": "missed", "after": after, "resumed_at": hub.seq})
        while not await request.is_disconnected():
            try:
                await asyncio.wait_for(client.ready.wait(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            client.ready.clear()
            seq = hub.seq  # every item queued now belongs to a batch up to this one
            frames: list[tuple[str, str]] = []
            missed = hub.missed_frame(client)
            if missed is not None:
                frames.append(("missed", missed))
            for kind in TYPES:
                got = client.queues.get(kind)
                if got:
                    frames += [(kind, frame) for frame in hub.frames(client, kind, got.take())]
            for n, (kind, data) in enumerate(frames):
                yield _event(kind, data, seq if n == len(frames) - 1 else None)
            await hub.audit(client)
    finally:
        hub.remove(client)
        await hub.audit(client, final=True)


async def live_sse(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    bbox: Annotated[list[str] | None, Query()] = None,
    mmsi: Annotated[str | None, Query()] = None,
    types: Annotated[str | None, Query()] = None,
    event_types: Annotated[str | None, Query()] = None,
    areas: Annotated[str | None, Query()] = None,
    form: Annotated[str | None, Query()] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """The live stream of what ``who`` may read inside the filters (see the module)."""
    msg: dict[str, Any] = {"bbox": [_floats(b) for b in bbox or []], "mmsi": _ints(mmsi, "mmsi")}
    if types:
        msg["types"] = types.split(",")
    if event_types:
        msg["event_types"] = event_types.split(",")
    if areas:
        msg["areas"] = areas.split(",")
    if form:
        msg["form"] = form
    hub_state = request.app.state.live.state
    sub = await asyncio.to_thread(Subscription.from_obj, msg, areas_for(hub_state, who.reader))
    after = None if last_event_id is None else _ints(last_event_id, "Last-Event-ID")[:1]
    hub: LiveHub = request.app.state.live
    client = Client(who.reader, sub, user=who.user.name, route="/live/sse")
    return StreamingResponse(
        _stream(request, hub, client, after[0] if after else None),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def install_sse(app: FastAPI) -> None:
    """``GET /live/sse`` on ``app`` (after :func:`seawatch.serve.live.install_live`); a
    stream, left out of the OpenAPI document (its clients are tested in
    tests/serve/test_live_ws.py)."""
    app.add_api_route(
        "/live/sse",
        live_sse,
        methods=["GET"],
        include_in_schema=False,
        dependencies=[Depends(known_params)],
    )
