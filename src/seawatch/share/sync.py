"""Sync over HTTP: a peer pulls what this node releases to it, from where it left off.

In (the puller, :func:`pull`): this node, its store, a pinned peer with a URL. It states
``after``: the size of the last checkpoint of the peer's log it verified (0 at first). Out:
the bundles imported, in the peer's log order, each verified as a courier bundle is
(:mod:`.receive`), and the peer's current checkpoint checked against the one seen before
(a consistency proof from ``after``: a peer that shows two histories is caught at the
next exchange, :class:`~seawatch.share.errors.BundleRejected` ``fork``).

In (the sender, :func:`answer_pull`): the puller, authenticated (:mod:`.httpsig`), and
``after``. Out: what is new is sealed first (only records never released to that peer:
:class:`~seawatch.share.outbox.Outbox`), then every bundle released to it at or after
log position ``after`` (so a lost answer is simply sent again: imports are idempotent),
the current signed checkpoint, a consistency proof from ``after`` to it, and its
retraction notices (:mod:`.retract`: applied before the bundles, once each). Requests and
answers are signed with the nodes' keys; there are no bearer tokens between nodes.

Push (:func:`push`) is the same answer sent the other way: the sender asks the receiver
which size of its log it verified (``/seen``), builds the answer from there and posts it
(``/push``); the receiver checks it as a puller does (:func:`check_answer`) and stores it.
The network exchange never holds the store (:func:`fetch`, then :func:`store_answer`).

An answer travels as JSON with the files in base64 (``seawatch-pull/1``), or as one binary
body (:mod:`.wire`) when the receiving side names ``seawatch-pull/2`` in ``formats`` (a
pull request's; a ``/seen`` answer's for a push): an older node names none and gets JSON.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from seawatch.share import merkle
from seawatch.share.bundle import export_bundle
from seawatch.share.errors import SyncError, VerifyError
from seawatch.share.forks import refuse_if_forked
from seawatch.share.history import remember, seen_checkpoint, seen_note
from seawatch.share.httpsig import NONCE, SIGNATURE, sign_request, verify_response
from seawatch.share.node import Node
from seawatch.share.note import verify_checkpoint
from seawatch.share.outbox import Outbox, read_files
from seawatch.share.peers import Peer
from seawatch.share.receive import Imported, import_bundle
from seawatch.share.retract import Receipt, apply_retraction, notices
from seawatch.share.rules import Rules
from seawatch.share.seal import b64, unb64
from seawatch.share.wire import BINARY_FORMAT, MEDIA_TYPE, decode_answer, encode_answer
from seawatch.share.witness import ForkEvidence, SplitView, Witness, parse_proofs, proofs_for
from seawatch.store import Store

__all__ = [
    "PREFIX",
    "PULL_FORMAT",
    "Answer",
    "Pulled",
    "answer_pull",
    "check_answer",
    "exchange_request",
    "fetch",
    "pull",
    "push",
    "seen_size",
    "signed_post",
    "store_answer",
]

PREFIX: Final = "/federation/v1"
PULL_FORMAT: Final = "seawatch-pull/1"
TIMEOUT_S: Final = 120.0


def current_checkpoint(node: Node) -> tuple[int, str]:
    """The size and signed checkpoint of this node's whole log."""
    log = node.log()
    note = log.latest()
    checkpoints = log.checkpoints()
    if note is None or checkpoints[-1][0] != log.size:
        note = log.sign(node.keys, node.name)
    return log.size, note


def answer_pull(
    store: Store,
    node: Node,
    peer: Peer,
    rules: Rules,
    after: int,
    request: Mapping[str, Any] | None = None,
    raw: bool = False,
) -> dict[str, Any]:
    """The answer to ``peer`` pulling from log position ``after`` (see the module); the
    bundles' files in base64 (JSON, ``seawatch-pull/1``), or as bytes with ``raw`` (for
    :func:`~seawatch.share.wire.encode_answer`).

    Witnessing (:mod:`.witness`): ``request`` may hold ``prove`` (sizes of this node's log
    the peer holds checkpoints of: each is proven consistent with the answer's checkpoint,
    as are the checkpoints of the bundles sent) and ``witnessed`` (the cosigned
    checkpoints the peer holds of third nodes, checked here: forks are logged). The answer
    carries this node's own ``witnessed`` notes for the peer to check."""
    witness = Witness(node)
    witness.receive((request or {}).get("witnessed"), peer.name)
    outbox = Outbox(node.data_dir, peer.name)
    export_bundle(store, node, peer, rules, outbox.folder, outbox=outbox)
    size, note = current_checkpoint(node)
    proof = node.log().consistency(after, size) if 0 < after <= size else []
    paths = outbox.since(after)
    bundles: list[dict[str, Any]] = [read_files(path) for path in paths]
    if not raw:
        bundles = [{name: b64(data) for name, data in files.items()} for files in bundles]
    prove = _sizes((request or {}).get("prove")) + outbox.checkpoint_sizes(paths)
    return {
        "format": PULL_FORMAT,
        "after": after,
        "checkpoint": note,
        "consistency": [b64(h) for h in proof],
        "bundles": bundles,
        "retractions": notices(node.data_dir, peer.name),
        "proofs": proofs_for(node.log(), prove, size),
        "witnessed": witness.held(exclude=peer.name),
    }


def _sizes(value: Any) -> list[Any]:
    """The sizes a peer asks to be proven (anything but a list: none)."""
    return value[:64] if isinstance(value, list) else []


def exchange_request(node: Node, peer: Peer) -> dict[str, Any]:
    """What a node tells a peer it exchanges with, beside ``after``: the sizes of the
    peer's log it wants proven and the cosigned checkpoints it holds of others."""
    witness = Witness(node)
    return {"prove": witness.wanted(peer), "witnessed": witness.held(exclude=peer.name)}


def signed_post(
    node: Node, peer: Peer, path: str, payload: dict[str, Any] | bytes
) -> dict[str, Any]:
    """POST ``payload`` (JSON, or a binary answer's body: :mod:`.wire`) to ``peer`` (its
    pinned URL), signed by this node; the answer (JSON, or a binary answer decoded), whose
    signature by ``peer`` is checked. :class:`SyncError` if the peer refuses or fails."""
    if not peer.url:
        raise SyncError(
            f"peer {peer.name!r} has no URL: `seawatch peers add {peer.name} ... --url URL "
            "--replace`"
        )
    binary = isinstance(payload, bytes)
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = sign_request(node.keys, node.name, peer.verifier, "POST", path, body)
    url = peer.url.rstrip("/") + path
    kind = MEDIA_TYPE if binary else "application/json"
    request = urllib.request.Request(url, body, {**headers, "Content-Type": kind}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            status, data = response.status, response.read()
            signature = response.headers.get(SIGNATURE)
            answered = str(response.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as exc:
        try:
            detail = exc.read().decode("utf-8", "replace")
        except (http.client.HTTPException, OSError):  # the link broke mid-answer again
            raise SyncError(f"{peer.name} ({url}) answered {exc.code}, then broke off") from None
        with contextlib.suppress(ValueError, KeyError, TypeError):
            detail = json.loads(detail)["detail"]
        raise SyncError(f"{peer.name} ({url}) answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SyncError(f"{peer.name} ({url}) cannot be reached: {exc}") from None
    except http.client.HTTPException as exc:  # the link broke mid-answer (IncompleteRead...)
        raise SyncError(f"{peer.name} ({url}) broke off: {type(exc).__name__}") from None
    if not verify_response(peer, status, headers[NONCE], data, signature):
        raise SyncError(f"the answer from {url} is not signed by {peer.name}'s key")
    if answered.startswith(MEDIA_TYPE):
        try:
            return decode_answer(data)
        except ValueError as exc:
            raise SyncError(f"the answer from {url} is malformed: {exc}") from None
    try:
        answer: dict[str, Any] = json.loads(data)
    except ValueError:
        raise SyncError(f"the answer from {url} is not JSON") from None
    return answer


@dataclass(frozen=True)
class Pulled:
    """What one exchange stored: the peer's log size now, each bundle imported, and each
    new retraction applied (a receipt logged)."""

    peer: str
    size: int
    imported: list[Imported]
    receipts: list[Receipt]
    forks: list[ForkEvidence] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """As JSON (the answer of ``/sync`` and ``/push``)."""
        return {
            "peer": self.peer,
            "size": self.size,
            "imported": [
                {"bundle_id": i.bundle_id, "counts": i.counts, "stored": i.stored,
                 "repeat": i.repeat}
                for i in self.imported
            ],
            "retracted": [
                {"retraction_id": r.retraction_id, "removed": r.removed} for r in self.receipts
            ],
            "forks": [f.as_json() for f in self.forks],
        }  # fmt: skip


@dataclass(frozen=True)
class Answer:
    """A peer's answer, checked (signature, checkpoint, one history), not yet stored."""

    peer: Peer
    size: int
    bundles: list[dict[str, bytes]]
    retractions: list[Any]
    note: str = ""
    proofs: dict[int, list[bytes]] = field(default_factory=dict)
    forks: list[ForkEvidence] = field(default_factory=list)


def check_answer(node: Node, peer: Peer, answer: Any, after: int) -> Answer:
    """``answer`` (of :func:`answer_pull`) checked against the last checkpoint of ``peer``
    this node verified, whose size must be ``after``; :class:`SyncError` if malformed or
    stale, :class:`BundleRejected` ``fork`` if the peer shows another history."""
    seen = seen_checkpoint(node.data_dir, peer)
    if (0 if seen is None else seen.size) != after:
        raise SyncError(f"stale: this node has verified {peer.name}'s log to another size now")
    refuse_if_forked(node, peer, "(sync)")  # evidence held against it: nothing from it
    try:
        if answer["format"] != PULL_FORMAT or answer["after"] != after:
            raise ValueError("not an answer from this position")
        cp = verify_checkpoint(answer["checkpoint"], peer.verifier)
        proof = [unb64(h) for h in answer["consistency"]]
        bundles = [  # bytes when it came in the binary form (.wire), else base64
            {str(k): v if isinstance(v, bytes) else unb64(v) for k, v in b.items()}
            for b in answer["bundles"]
        ]
        retractions = list(answer["retractions"])
        proofs = parse_proofs(answer.get("proofs"))
    except (KeyError, TypeError, ValueError, AttributeError, VerifyError) as exc:
        raise SyncError(f"the answer of {peer.name} is malformed: {exc}") from None
    witness = Witness(node)
    if seen is not None:
        same = seen.size == cp.size and seen.root_hash == cp.root_hash
        grows = seen.size < cp.size and merkle.verify_consistency(
            seen.size, cp.size, proof, seen.root_hash, cp.root_hash
        )
        if not (same or grows):
            node.record(
                {"kind": "rejection", "bundle": "(sync)", "check": "fork", "part": peer.name,
                 "reason": f"checkpoint {cp.size} does not extend {seen.size}"}
            )  # fmt: skip
            reason = (
                f"{peer.name}'s log of {cp.size} entries does not extend the log of "
                f"{seen.size} it showed before: two histories"
            )
            raise SplitView(
                witness.fork(peer, seen_note(node.data_dir, peer), answer["checkpoint"], reason)
            )
    split = witness.observe(peer, answer["checkpoint"], proofs)
    if split:
        node.record(
            {"kind": "rejection", "bundle": "(sync)", "check": "fork", "part": peer.name,
             "reason": split[0].reason}
        )  # fmt: skip
        raise SplitView(split[0])
    forks = witness.receive(answer.get("witnessed"), peer.name)
    return Answer(peer, cp.size, bundles, retractions, answer["checkpoint"], proofs, forks)


def store_answer(store: Store, node: Node, answer: Answer) -> Pulled:
    """Apply the retractions, then import the bundles, of a checked answer; then check
    the bundles' checkpoints against the answer's (the proofs it carries for them) and keep
    the peer's checkpoint as the last one verified."""
    receipts = [apply_retraction(store, node, answer.peer, n) for n in answer.retractions]
    done = [import_bundle(store, node, files) for files in answer.bundles]
    if answer.note:
        Witness(node).observe(answer.peer, answer.note, answer.proofs)
        # the last checkpoint verified: the next exchange starts there, and every node that
        # exchanged with the peer since it last grew holds the same root
        remember(node.data_dir, answer.peer, answer.note)
    return Pulled(
        answer.peer.name, answer.size, done, [r for r in receipts if not r.repeat], answer.forks
    )


def seen_size(node: Node, peer: Peer) -> int:
    """The size of ``peer``'s log this node verified (0: none yet)."""
    seen = seen_checkpoint(node.data_dir, peer)
    return 0 if seen is None else seen.size


def fetch(node: Node, peer: Peer) -> Answer:
    """Ask ``peer`` for what it releases to this node since the last exchange (no store:
    a server does this without holding its store)."""
    after = seen_size(node, peer)
    request = {"after": after, "formats": [BINARY_FORMAT], **exchange_request(node, peer)}
    return check_answer(node, peer, signed_post(node, peer, f"{PREFIX}/pull", request), after)


def pull(store: Store, node: Node, peer: Peer) -> Pulled:
    """Pull from ``peer`` what it releases to this node since the last exchange."""
    return store_answer(store, node, fetch(node, peer))


def push(node: Node, peer: Peer, build: Callable[[int, bool], dict[str, Any]]) -> dict[str, Any]:
    """Push to ``peer`` what this node releases to it since the position of this node's log
    it verified (asked first); ``build(after, raw)`` makes the answer (:func:`answer_pull`,
    with the store), ``raw`` when the peer reads the binary form (its ``/seen`` answer lists
    it in ``formats``). The peer's summary of what it stored."""
    state = signed_post(node, peer, f"{PREFIX}/seen", {})
    after = state.get("after")
    if not isinstance(after, int) or after < 0:
        raise SyncError(f"{peer.name} did not say what it has verified of this node's log")
    forks = Witness(node).receive(state.get("witnessed"), peer.name)
    formats = state.get("formats")
    binary = isinstance(formats, list) and BINARY_FORMAT in formats
    answer = build(after, binary)
    size = int(answer["checkpoint"].split("\n")[1])
    answer["proofs"] = {
        **proofs_for(node.log(), _sizes(state.get("prove")), size),
        **answer.get("proofs", {}),
    }
    body = encode_answer(answer) if binary else answer
    summary = signed_post(node, peer, f"{PREFIX}/push", body)
    summary["forks"] = summary.get("forks", []) + [f.as_json() for f in forks]
    return summary
