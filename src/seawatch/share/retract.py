"""Retraction: an originator takes back records it released; receivers remove them for good.

In (the originator, :func:`retract`): record keys (positions' ``msg_key``, events'
``event_id``) and/or bundle ids (their records, from the outbox). Out: a ``retraction``
entry in its audit log; a notice (the entry's exact bytes, its index, an inclusion proof
and the signed checkpoint covering it: authentic offline with the originator's pinned key
alone) kept under ``<data_dir>/share/retractions/`` and sent to peers with every pull
answer and file export; the bundles dropped from the outboxes; and the keys added to the
node's own tombstones, so they are never released again.

In (a receiver, :func:`apply_retraction`): a notice from a pinned peer. Out: the records
removed (only those labelled by that peer's nation: a node never deletes what another
originated), the keys added to that peer's tombstones (``<data_dir>/share/retracted/``),
and a ``receipt`` entry in the receiver's log (signed with its next checkpoint).
Tombstones are a grow-only set that wins over imports (:meth:`Tombstones.drop`): a
retracted record never comes back, whatever order old bundles arrive in.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from seawatch.errors import InputError
from seawatch.labels import Reader
from seawatch.share import merkle
from seawatch.share.errors import BundleRejected
from seawatch.share.files import write_atomic
from seawatch.share.node import Node
from seawatch.share.note import parse_checkpoint, verify_checkpoint, verify_note
from seawatch.share.outbox import Outbox
from seawatch.share.peers import Peer
from seawatch.share.seal import b64, unb64
from seawatch.store import TABLES, Store
from seawatch.store.archive import reopen
from seawatch.store.query import Query

__all__ = [
    "NOTICE_FORMAT",
    "Receipt",
    "Tombstones",
    "apply_retraction",
    "notices",
    "originator_of",
    "retract",
]

NOTICE_FORMAT: Final = "seawatch-retraction/1"
KEYED: Final = {"positions": "msg_key", "statics": "msg_key", "events": "event_id"}
"""The key each shared table's records are retracted by (a notice of an older version
may list no statics)."""
SELF: Final = "_self"


class Tombstones:
    """The keys retracted by one originator (``SELF``: this node), and the retractions
    seen: ``<data_dir>/share/retracted/<originator>.json``."""

    def __init__(self, data_dir: Path, originator: str) -> None:
        self.path = Path(data_dir) / "share" / "retracted" / f"{originator}.json"
        data: dict[str, Any] = {}
        if self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8"))
        self.keys: dict[str, set[Any]] = {t: set(data.get(t, [])) for t in KEYED}
        self.ids: set[str] = set(data.get("ids", []))

    def add(self, retraction_id: str, keys: dict[str, list[Any]]) -> None:
        for table in KEYED:
            self.keys[table].update(keys.get(table, []))
        self.ids.add(retraction_id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {t: sorted(v) for t, v in self.keys.items()} | {"ids": sorted(self.ids)}
        write_atomic(self.path, json.dumps(data).encode())

    def drop(self, table: str, rows: pa.Table) -> pa.Table:
        """``rows`` of ``table`` but the retracted ones."""
        gone = self.keys.get(table)
        if not gone or rows.num_rows == 0:
            return rows
        fn: Any = pc  # the stubs reject a Python scalar beside a column
        column = rows.column(KEYED[table])
        hit = fn.is_in(column, pa.array(sorted(gone), column.type))
        return rows.filter(fn.invert(hit))


def _folder(data_dir: Path) -> Path:
    return Path(data_dir) / "share" / "retractions"


def notices(data_dir: Path, peer: str) -> list[dict[str, Any]]:
    """The retraction notices this node made for ``peer``, oldest first."""
    folder = _folder(data_dir)
    if not folder.is_dir():
        return []
    found = [json.loads(p.read_bytes()) for p in folder.glob("*.json")]
    mine = [n for n, to in ((n, n.pop("to", None)) for n in found) if not to or peer in to]
    return sorted(mine, key=lambda n: int(n["index"]))


def retract(
    node: Node,
    positions: Iterable[int] = (),
    events: Iterable[str] = (),
    bundles: Iterable[str] = (),
    reason: str = "",
    peers: Iterable[str] = (),
    statics: Iterable[int] = (),
) -> dict[str, Any]:
    """Retract records and/or bundles this node released (see the module); the notice.
    It goes to ``peers`` (names), to the peers the bundles went to, or else to all."""
    keys: dict[str, set[Any]] = {"positions": set(positions), "statics": set(statics),
                                 "events": set(events)}  # fmt: skip
    bundle_ids = sorted(set(bundles))
    outboxes = [p for p in (Path(node.data_dir) / "share" / "outbox").glob("*") if p.is_dir()]
    to = set(peers)
    for bundle_id in bundle_ids:
        found = [o / f"{bundle_id}.keys.json" for o in outboxes]
        found = [f for f in found if f.exists()]
        if not found:
            raise InputError(f"no bundle {bundle_id!r} in the outbox (see share/outbox/<peer>)")
        for table, values in json.loads(found[0].read_bytes()).items():
            keys[table].update(values)
        to.update(f.parent.name for f in found)
    if not any(keys.values()):
        raise InputError("nothing to retract: give record keys or bundle ids")
    retraction_id = uuid.uuid4().hex
    entry = {
        "kind": "retraction",
        "retraction_id": retraction_id,
        "positions": sorted(keys["positions"]),
        "statics": sorted(keys["statics"]),
        "events": sorted(keys["events"]),
        "bundles": bundle_ids,
        "peers": sorted(to),
        "reason": reason,
    }
    index, note = node.record(entry)
    log = node.log()
    size = parse_checkpoint(verify_note(note, node.verifier)).size
    notice = {
        "format": NOTICE_FORMAT,
        "index": index,
        "leaf": b64(log.entries[index]),
        "proof": [b64(h) for h in log.inclusion(index, size)],
        "checkpoint": note,
    }
    folder = _folder(node.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    kept = {**notice, "to": sorted(to)}  # "to": whom it is sent to (not sent itself)
    write_atomic(folder / f"{retraction_id}.json", json.dumps(kept).encode())
    Tombstones(node.data_dir, SELF).add(retraction_id, {t: sorted(v) for t, v in keys.items()})
    for folder in outboxes:
        for bundle_id in bundle_ids:
            Outbox(node.data_dir, folder.name).drop(bundle_id)
    return notice


@dataclass(frozen=True)
class Receipt:
    """What applying one retraction did: its id, rows removed, whether it was seen before,
    and the receipt's log entry (-1 when seen before: nothing new to sign)."""

    retraction_id: str
    removed: int
    repeat: bool
    entry: int


def _entry(notice: Any, peer: Peer) -> tuple[dict[str, Any], int]:
    """The retraction entry of ``notice`` once proven in ``peer``'s signed log."""
    if notice.get("format") != NOTICE_FORMAT:
        raise ValueError(f"format {notice.get('format')!r}, expected {NOTICE_FORMAT}")
    cp = verify_checkpoint(notice["checkpoint"], peer.verifier)
    leaf = unb64(notice["leaf"])
    index = int(notice["index"])
    proof = [unb64(h) for h in notice["proof"]]
    if not merkle.verify_inclusion(index, cp.size, merkle.leaf_hash(leaf), proof, cp.root_hash):
        raise ValueError("the retraction is not in the originator's signed log")
    entry: dict[str, Any] = json.loads(leaf)
    if entry.get("kind") != "retraction" or not isinstance(entry.get("retraction_id"), str):
        raise ValueError("the logged entry is not a retraction")
    if not all(isinstance(entry.get(t), list) for t in ("positions", "events")):
        raise ValueError("the retraction does not list positions and events")
    if not isinstance(entry.setdefault("statics", []), list):
        raise ValueError("the retraction's statics are not a list")
    return entry, index


def originator_of(node: Node, notice: Any) -> Peer:
    """The pinned peer whose key signed the notice's checkpoint."""
    for peer in node.peers().peers.values():
        try:
            verify_checkpoint(str(notice["checkpoint"]), peer.verifier)
        except Exception:
            continue
        return peer
    raise BundleRejected("retraction", "notice", "not signed by a pinned peer")


def apply_retraction(store: Store, node: Node, peer: Peer, notice: Any) -> Receipt:
    """Remove what ``peer`` retracts in ``notice`` and sign a receipt (see the module);
    :class:`BundleRejected` (check ``retraction``) if the notice does not verify."""
    try:
        entry, index = _entry(notice, peer)
    except BundleRejected:
        raise
    except Exception as exc:
        raise BundleRejected("retraction", "notice", f"{type(exc).__name__}: {exc}") from None
    retraction_id = entry["retraction_id"]
    stones = Tombstones(node.data_dir, peer.name)
    if retraction_id in stones.ids:
        return Receipt(retraction_id, 0, True, -1)
    stones.add(retraction_id, {t: entry[t] for t in KEYED})
    query = Query(store, Reader.node_admin(f"share retract: records {peer.name} takes back"))
    theirs = [i for i, lb in query.labels().items() if lb.originator == peer.nation]
    removed = 0
    with store.transaction():
        for table, key in KEYED.items():
            values = entry[table]
            if not values or not theirs:
                continue
            held = {"positions": query.positions, "statics": query.statics,
                    "events": query.events}[table]()  # fmt: skip
            fn: Any = pc
            mask = fn.and_(
                fn.is_in(held.column(key), pa.array(values, held.column(key).type)),
                fn.is_in(held.column("label_id"), pa.array(theirs, pa.int32())),
            )
            removed += held.filter(mask).num_rows
            if table == "positions":  # archived days of the rows come back to be deleted
                reopen(store, held.filter(mask).column("ts"))
            labels = ", ".join(str(int(i)) for i in theirs)
            for start in range(0, len(values), 1000):
                chunk = values[start : start + 1000]
                marks = ", ".join("?" for _ in chunk)
                store.backend.execute(
                    f"DELETE FROM {TABLES[table].name} WHERE {key} IN ({marks}) "
                    f"AND label_id IN ({labels})",
                    chunk,
                )
    at, _ = node.record(
        {"kind": "receipt", "retraction_id": retraction_id, "originator": peer.name,
         "originator_nation": peer.nation, "retraction_index": index, "removed": removed}
    )  # fmt: skip
    return Receipt(retraction_id, removed, False, at)
