"""Federation over HTTP: ``/federation/v1``, for partner nodes (and this node's own CLI).

In: requests signed with a node's Ed25519 key (:mod:`seawatch.share.httpsig`: method,
path, body digest, time, nonce and this node's key), checked against the pinned peers; an
unsigned, unknown, stale, altered or replayed request is a 401 problem. No bearer tokens:
a node is its key. Out: answers signed with this node's key (``X-Seawatch-Signature``).

- ``POST /federation/v1/pull`` ``{"after": N}``: a peer pulls what this node releases to
  it after position N of this node's log (:func:`seawatch.share.sync.answer_pull`); in the
  binary form (:mod:`seawatch.share.wire`) when ``formats`` names ``seawatch-pull/2``.
- ``POST /federation/v1/seen`` ``{}``: the size of the caller's log this node verified
  (and, for witnessing, the sizes of it to prove and the checkpoints held of others);
  ``POST /federation/v1/push``: the caller sends what a pull from there would answer
  (JSON, or the binary form when ``/seen`` listed it in ``formats``).
- ``POST /federation/v1/subscribe`` ``{"action": "subscribe"|"unsubscribe"}``: the caller
  asks this node to push to it what it releases, as it is written (a ``subscription``
  entry in this node's log; :mod:`seawatch.share.subscribe`, :mod:`seawatch.serve.publish`).
- ``POST /federation/v1/sync`` ``{"peer": NAME, "direction": "pull"|"push"}``: signed by
  this node's own key (its ``seawatch share pull|push NAME --via URL``): the server pulls
  from, or pushes to, that peer (it holds the store open). The network exchange is done
  without holding the store's lock (two nodes syncing with each other never wait on each
  other).

See docs/federation.md.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from seawatch.errors import InputError, Unauthorized
from seawatch.serve.deps import ServeState, state
from seawatch.serve.problems import PROBLEM_RESPONSES
from seawatch.share.httpsig import NONCE, SIGNATURE, Guard, sign_response
from seawatch.share.node import Node
from seawatch.share.peers import Peer
from seawatch.share.rules import Rules, rules_file
from seawatch.share.subscribe import ACTIONS, accept
from seawatch.share.sync import (
    PREFIX,
    answer_pull,
    check_answer,
    exchange_request,
    fetch,
    push,
    seen_size,
    store_answer,
)
from seawatch.share.wire import BINARY_FORMAT, MEDIA_TYPE, decode_answer, encode_answer

__all__ = ["install_federation"]

router = APIRouter(prefix=PREFIX, tags=["federation"])
_SIGNED = {
    "description": "Signed by the node (X-Seawatch-Signature)",
    "content": {"application/json": {}},
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _SIGNED,
    **PROBLEM_RESPONSES,
    424: {**PROBLEM_RESPONSES[400], "description": "A peer refused, failed or was stale"},
    422: {**PROBLEM_RESPONSES[400], "description": "A bundle or notice was rejected"},
}


_BINARY = {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}
_PULL_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_RESPONSES,
    200: {
        "description": "Signed by the node (X-Seawatch-Signature): JSON, or the binary form "
        f"({BINARY_FORMAT}) when the request's formats name it",
        "content": {"application/json": {}, **_BINARY},
    },
}


def _body(schema: dict[str, Any], binary: bool = False) -> dict[str, Any]:
    """The request body in the OpenAPI document (the route reads the raw bytes it signs);
    ``binary``: a pull answer's binary form is accepted too."""
    content: dict[str, Any] = {"application/json": {"schema": {"type": "object", **schema}}}
    if binary:
        content.update(_BINARY)
    return {"requestBody": {"required": True, "content": content}}


_AFTER = {"properties": {"after": {"type": "integer", "minimum": 0}}, "required": ["after"]}


async def _caller(
    request: Request, self_only: bool = False, binary: bool = False
) -> tuple[Node, Peer, Any]:
    """This node, the peer that signed the request, and the request's JSON body (or, with
    ``binary`` and its media type, a binary answer's: :mod:`seawatch.share.wire`)."""
    body = await request.body()
    node = Node.from_settings(state(request).settings)
    guard: Guard = request.app.state.federation_guard
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    peer = guard.verify(
        node.verifier, node.peers(), request.method, target, request.headers, body, self_only
    )
    if self_only and peer.vkey != node.verifier.vkey:
        raise Unauthorized("only this node itself (its own key) may ask it to sync")
    if not self_only and peer.vkey == node.verifier.vkey:
        raise Unauthorized("the signing key is not a pinned peer's (seawatch peers add)")
    if binary and request.headers.get("content-type", "").startswith(MEDIA_TYPE):
        try:
            return node, peer, decode_answer(body)
        except ValueError as exc:
            raise InputError(f"the body is not a {BINARY_FORMAT} answer: {exc}") from None
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError
    except ValueError:
        raise InputError("the body is a JSON object") from None
    return node, peer, payload


def _signed(node: Node, request: Request, answer: dict[str, Any], binary: bool = False) -> Response:
    """``answer`` as JSON, or with ``binary`` a pull answer's binary body, signed."""
    if binary:
        data, kind = encode_answer(answer), MEDIA_TYPE
    else:
        data, kind = json.dumps(answer, separators=(",", ":")).encode(), "application/json"
    signature = sign_response(node.keys, 200, request.headers[NONCE], data)
    return Response(data, media_type=kind, headers={SIGNATURE: signature})


@router.post("/pull", responses=_PULL_RESPONSES, openapi_extra=_body(_AFTER))
async def pull_route(request: Request) -> Response:
    """A peer pulls the bundles this node releases to it after a position of its log."""
    node, peer, payload = await _caller(request)
    after = payload.get("after")
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise InputError("'after' is the size of the last checkpoint verified (an integer ≥ 0)")
    st = state(request)
    formats = payload.get("formats")
    binary = isinstance(formats, list) and BINARY_FORMAT in formats  # the puller reads it

    def answer() -> dict[str, Any]:
        rules = Rules.load(rules_file(node.data_dir))
        with st.lock:
            return answer_pull(st.store, node, peer, rules, after, payload, raw=binary)

    return _signed(node, request, await run_in_threadpool(answer), binary)


@router.post("/seen", responses=_RESPONSES, openapi_extra=_body({}))
async def seen_route(request: Request) -> Response:
    """The size of the caller's log this node verified (where a push starts from)."""
    node, peer, _ = await _caller(request)
    seen = {
        "after": seen_size(node, peer),
        "formats": [BINARY_FORMAT],  # a push may come in the binary form
        **exchange_request(node, peer),
    }
    return _signed(node, request, seen)


@router.post("/push", responses=_RESPONSES, openapi_extra=_body(_AFTER, binary=True))
async def push_route(request: Request) -> Response:
    """A peer pushes what it releases to this node (the form of a pull's answer, JSON or
    binary)."""
    node, peer, payload = await _caller(request, binary=True)
    st = state(request)

    def run() -> dict[str, Any]:
        after = payload.get("after")
        if not isinstance(after, int):
            raise InputError("'after' is the size of the log the push starts from")
        answer = check_answer(node, peer, payload, after)
        with st.lock:
            return store_answer(st.store, node, answer).summary()

    return _signed(node, request, await run_in_threadpool(run))


@router.post(
    "/subscribe",
    responses=_RESPONSES,
    openapi_extra=_body(
        {
            "properties": {"action": {"type": "string", "enum": list(ACTIONS)}},
            "required": ["action"],
        }
    ),
)
async def subscribe_route(request: Request) -> Response:
    """A peer subscribes to (or unsubscribes from) what this node releases to it: this node
    logs it and pushes to the peer after each write while it serves."""
    node, peer, payload = await _caller(request)
    answer = await run_in_threadpool(accept, node, peer, payload.get("action"))
    publisher = getattr(request.app.state, "publisher", None)
    if publisher is not None:
        publisher.wake()
    return _signed(node, request, answer)


@router.post(
    "/sync",
    responses=_RESPONSES,
    openapi_extra=_body(
        {
            "properties": {
                "peer": {"type": "string"},
                "direction": {"type": "string", "enum": ["pull", "push"]},
            },
            "required": ["peer"],
        }
    ),
)
async def sync_route(request: Request) -> Response:
    """This node pulls from, or pushes to, one of its peers (asked by its own command
    line: ``{"peer": NAME, "direction": "pull" | "push"}``)."""
    node, _, payload = await _caller(request, self_only=True)
    name = payload.get("peer")
    direction = payload.get("direction", "pull")
    if not isinstance(name, str) or direction not in ("pull", "push"):
        raise InputError("'peer' is a pinned peer's name, 'direction' pull or push")
    other = node.peers().get(name)
    st: ServeState = state(request)

    def run() -> dict[str, Any]:
        if direction == "push":

            def build(after: int, raw: bool) -> dict[str, Any]:
                rules = Rules.load(rules_file(node.data_dir))
                with st.lock:
                    return answer_pull(st.store, node, other, rules, after, raw=raw)

            return push(node, other, build)
        answer = fetch(node, other)  # over the network, not holding the store
        with st.lock:
            return store_answer(st.store, node, answer).summary()

    return _signed(node, request, await run_in_threadpool(run))


def install_federation(app: FastAPI) -> None:
    """Mount ``/federation/v1`` with its replay guard."""
    app.state.federation_guard = Guard()
    app.include_router(router)
