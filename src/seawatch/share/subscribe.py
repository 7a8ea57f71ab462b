"""Standing subscriptions: a peer asks this node to push what it releases to it as it is
written, instead of pulling when asked; the subscription is itself a logged entry, in the
subscriber's log and in the publisher's.

In (the subscriber, :func:`subscribe`): this node, a pinned peer with a URL, subscribe or
unsubscribe. It posts ``{"action": ...}`` to the peer's ``/federation/v1/subscribe``
(signed, :mod:`.httpsig`), checks the answer (signed by the peer; the peer's
``subscription`` entry, its inclusion proof and the signed checkpoint that covers it), then
logs its own ``subscription`` entry naming the publisher's entry, and keeps the
subscription in ``<data_dir>/share/subscribe/publishers.json``.

In (the publisher, :func:`accept`): the authenticated subscriber and the action. Out: a
``subscription`` entry in this node's log and ``<data_dir>/share/subscribe/subscribers.json``; a
serving node then pushes to each subscriber after each write it stores and each entry it
logs (:mod:`seawatch.serve.publish`). A subscriber must be pinned with a URL (the
publisher pushes to it there). Both files are replaced atomically; the log is the record.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Final, Literal

from seawatch.errors import InputError
from seawatch.share import merkle
from seawatch.share.errors import SyncError, VerifyError
from seawatch.share.files import folder_lock, write_atomic
from seawatch.share.log import canonical
from seawatch.share.node import Node
from seawatch.share.note import verify_checkpoint
from seawatch.share.peers import Peer
from seawatch.share.seal import b64, unb64
from seawatch.share.sync import PREFIX, signed_post

__all__ = ["ACTIONS", "Subscriptions", "accept", "subscribe"]

Action = Literal["subscribe", "unsubscribe"]
ACTIONS: Final = ("subscribe", "unsubscribe")
SUBSCRIBE_FORMAT: Final = "seawatch-subscription/1"


class Subscriptions:
    """This node's subscribers (peers it pushes to) and publishers (peers it subscribed
    to), by peer name: ``{"since": time, "entry": index in this node's log, ...}``."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = Path(data_dir) / "share" / "subscribe"

    def _read(self, name: str) -> dict[str, dict[str, Any]]:
        path = self.folder / name
        if not path.exists():
            return {}
        data: dict[str, dict[str, Any]] = json.loads(path.read_bytes())
        return data

    def _change(self, name: str, peer: str, value: dict[str, Any] | None) -> None:
        with folder_lock(self.folder):
            data = self._read(name)
            if value is None:
                data.pop(peer, None)
            else:
                data[peer] = value
            write_atomic(self.folder / name, json.dumps(data, sort_keys=True).encode())

    def subscribers(self) -> dict[str, dict[str, Any]]:
        return self._read("subscribers.json")

    def publishers(self) -> dict[str, dict[str, Any]]:
        return self._read("publishers.json")

    def set_subscriber(self, peer: str, value: dict[str, Any] | None) -> None:
        self._change("subscribers.json", peer, value)

    def set_publisher(self, peer: str, value: dict[str, Any] | None) -> None:
        self._change("publishers.json", peer, value)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def accept(node: Node, peer: Peer, action: Any) -> dict[str, Any]:
    """The publisher's side: log ``peer``'s (un)subscription and keep it; the answer holds
    the entry, its inclusion proof and the signed checkpoint covering it."""
    if action not in ACTIONS:
        raise InputError("'action' is subscribe or unsubscribe")
    if action == "subscribe" and not peer.url:
        raise InputError(
            f"{node.name} has no URL pinned for {peer.name} to push to "
            f"(`seawatch peers add {peer.name} ... --url URL --replace` there)"
        )
    index, note = node.record(
        {"kind": "subscription", "action": action, "subscriber": peer.name,
         "subscriber_nation": peer.nation, "publisher": node.name}
    )  # fmt: skip
    subs = Subscriptions(node.data_dir)
    subs.set_subscriber(peer.name, {"since": _now(), "entry": index} if action == "subscribe"
                        else None)  # fmt: skip
    log = node.log()
    size = int(note.split("\n")[1])
    return {
        "format": SUBSCRIBE_FORMAT,
        "action": action,
        "index": index,
        "leaf": b64(canonical(log.entry(index))),
        "proof": [b64(h) for h in log.inclusion(index, size)],
        "checkpoint": note,
    }


def subscribe(node: Node, peer: Peer, action: Action) -> dict[str, Any]:
    """The subscriber's side (see the module): the publisher's entry index and this node's."""
    answer = signed_post(node, peer, f"{PREFIX}/subscribe", {"action": action})
    try:
        if answer["format"] != SUBSCRIBE_FORMAT or answer["action"] != action:
            raise ValueError("not an answer to this request")
        index = int(answer["index"])
        leaf = unb64(answer["leaf"])
        entry = json.loads(leaf)
        cp = verify_checkpoint(answer["checkpoint"], peer.verifier)
        proof = [unb64(h) for h in answer["proof"]]
    except (KeyError, TypeError, ValueError, VerifyError) as exc:
        raise SyncError(f"the answer of {peer.name} is malformed: {exc}") from None
    wanted = {"kind": "subscription", "action": action, "subscriber": node.name}
    if any(entry.get(k) != v for k, v in wanted.items()) or not merkle.verify_inclusion(
        index, cp.size, merkle.leaf_hash(leaf), proof, cp.root_hash
    ):
        raise SyncError(f"{peer.name} did not log this {action} in the checkpoint it signed")
    mine, _ = node.record(
        {"kind": "subscription", "action": action, "publisher": peer.name,
         "publisher_nation": peer.nation, "publisher_entry": index, "subscriber": node.name}
    )  # fmt: skip
    subs = Subscriptions(node.data_dir)
    value = {"since": _now(), "entry": mine, "publisher_entry": index}
    subs.set_publisher(peer.name, value if action == "subscribe" else None)
    return {"peer": peer.name, "action": action, "publisher_entry": index, "entry": mine}
