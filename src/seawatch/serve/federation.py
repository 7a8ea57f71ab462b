"""Federation over HTTP: ``/federation/v1``, for partner nodes (and this node's own CLI).

In: requests signed with a node's Ed25519 key (:mod:`seawatch.share.httpsig`: method,
path, body digest, time, nonce and this node's key), checked against the pinned peers; an
unsigned, unknown, stale, altered or replayed request is a 401 problem. No bearer tokens:
a node is its key. Out: answers signed with this node's key (``X-Seawatch-Signature``).

- ``POST /federation/v1/pull`` ``{"after": N}``: a peer pulls what this node releases to
  it after position N of this node's log (:func:`seawatch.share.sync.answer_pull`).
- ``POST /federation/v1/sync`` ``{"peer": NAME}``: signed by this node's own key (its
  ``seawatch share pull NAME --via URL``): the server pulls from that peer into its store,
  which it holds open.

See docs/federation.md.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from seawatch.errors import InputError, Unauthorized
from seawatch.serve.deps import ServeState, state
from seawatch.share.httpsig import NONCE, SIGNATURE, Guard, sign_response
from seawatch.share.node import Node
from seawatch.share.peers import Peer
from seawatch.share.rules import Rules, rules_file
from seawatch.share.sync import PREFIX, answer_pull, pull

__all__ = ["install_federation"]

router = APIRouter(prefix=PREFIX, tags=["federation"])
_SIGNED = {
    "description": "Signed by the node (X-Seawatch-Signature)",
    "content": {"application/json": {}},
}
_RESPONSES: dict[int | str, dict[str, Any]] = {200: _SIGNED}


async def _caller(request: Request, self_only: bool = False) -> tuple[Node, Peer, Any]:
    """This node, the peer that signed the request, and the request's JSON body."""
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
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError
    except ValueError:
        raise InputError("the body is a JSON object") from None
    return node, peer, payload


def _signed(node: Node, request: Request, answer: dict[str, Any]) -> Response:
    data = json.dumps(answer, separators=(",", ":")).encode()
    signature = sign_response(node.keys, 200, request.headers[NONCE], data)
    return Response(data, media_type="application/json", headers={SIGNATURE: signature})


@router.post("/pull", responses=_RESPONSES)
async def pull_route(request: Request) -> Response:
    """A peer pulls the bundles this node releases to it after a position of its log."""
    node, peer, payload = await _caller(request)
    after = payload.get("after")
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise InputError("'after' is the size of the last checkpoint verified (an integer ≥ 0)")
    st = state(request)

    def answer() -> dict[str, Any]:
        rules = Rules.load(rules_file(node.data_dir))
        with st.lock:
            return answer_pull(st.store, node, peer, rules, after)

    return _signed(node, request, await run_in_threadpool(answer))


@router.post("/sync", responses=_RESPONSES)
async def sync_route(request: Request) -> Response:
    """This node pulls from one of its peers (asked by its own command line)."""
    node, _, payload = await _caller(request, self_only=True)
    name = payload.get("peer")
    if not isinstance(name, str):
        raise InputError("'peer' is a pinned peer's name")
    source = node.peers().get(name)
    st: ServeState = state(request)

    def run() -> dict[str, Any]:
        with st.lock:
            done = pull(st.store, node, source)
        return {
            "peer": done.peer,
            "size": done.size,
            "imported": [
                {"bundle_id": i.bundle_id, "counts": i.counts, "stored": i.stored,
                 "repeat": i.repeat}
                for i in done.imported
            ],
            "retracted": [
                {"retraction_id": r.retraction_id, "removed": r.removed} for r in done.receipts
            ],
        }  # fmt: skip

    return _signed(node, request, await run_in_threadpool(run))


def install_federation(app: FastAPI) -> None:
    """Mount ``/federation/v1`` with its replay guard."""
    app.state.federation_guard = Guard()
    app.include_router(router)
