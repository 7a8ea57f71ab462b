"""Fork evidence held against an origin stops imports from it until the operator clears it.

In: the evidence :class:`~seawatch.share.witness.Witness` keeps in
``<data_dir>/share/forks/<id>.json`` (an origin signed two histories: both notes), a peer
about to be imported from (a bundle by courier, a pull or push answer). Out:
:class:`OriginForked` (a :class:`~seawatch.share.errors.BundleRejected` of check ``fork``)
and a ``rejection`` entry in the log while any evidence against that origin is held;
:func:`clear_fork` (``seawatch share forks clear ID --reason ...``) moves the evidence to
``share/forks/cleared/`` and logs a ``fork-cleared`` entry (who cleared what, and why), so
the decision to trust the origin again is itself on the record. Clearing keeps the
evidence (and its ``fork`` entry stays in the log); it only lifts the stop.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from seawatch.errors import InputError
from seawatch.share.errors import BundleRejected
from seawatch.share.files import write_atomic
from seawatch.share.node import Node
from seawatch.share.peers import Peer

__all__ = ["OriginForked", "clear_fork", "fork_files", "refuse_if_forked"]


class OriginForked(BundleRejected):
    """This node holds fork evidence against the origin: nothing is imported from it until
    the operator reviews and clears it (``seawatch share forks list|clear``)."""

    def __init__(self, peer: str, ids: list[str]) -> None:
        super().__init__(
            "fork",
            peer,
            f"this node holds fork evidence against {peer} ({', '.join(ids)}): nothing is "
            "imported from it until the operator clears it (seawatch share forks list, "
            "seawatch share forks clear ID --reason ...)",
        )
        self.peer = peer
        self.ids = ids


def _folder(data_dir: Path) -> Path:
    return Path(data_dir) / "share" / "forks"


def fork_files(data_dir: Path, cleared: bool = False) -> dict[str, dict[str, Any]]:
    """The evidence held (or cleared) by id."""
    folder = _folder(data_dir) / "cleared" if cleared else _folder(data_dir)
    if not folder.is_dir():
        return {}
    return {p.stem: json.loads(p.read_bytes()) for p in sorted(folder.glob("*.json"))}


def refuse_if_forked(node: Node, peer: Peer, what: str) -> None:
    """Raise :class:`OriginForked` (logging a rejection of ``what``) if evidence against
    ``peer`` is held."""
    ids = [i for i, d in fork_files(node.data_dir).items() if d.get("peer") == peer.name]
    if not ids:
        return
    error = OriginForked(peer.name, ids)
    node.record(
        {"kind": "rejection", "bundle": what, "check": "fork", "part": peer.name,
         "reason": str(error), "evidence": ids}
    )  # fmt: skip
    raise error


def clear_fork(node: Node, evidence_id: str, reason: str) -> int:
    """Lift the stop of one piece of evidence (see the module); the log entry's index."""
    held = fork_files(node.data_dir)
    if evidence_id not in held:
        raise InputError(f"no fork evidence {evidence_id!r} held (seawatch share forks list)")
    if not reason.strip():
        raise InputError("say why the origin is trusted again (--reason)")
    evidence = held[evidence_id]
    index, _ = node.record(
        {"kind": "fork-cleared", "evidence_id": evidence_id, "peer": evidence.get("peer"),
         "origin": evidence.get("origin"), "reason": reason}
    )  # fmt: skip
    cleared = _folder(node.data_dir) / "cleared"
    cleared.mkdir(parents=True, exist_ok=True)
    at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = {**evidence, "cleared_at": at, "cleared_reason": reason, "cleared_entry": index}
    write_atomic(cleared / f"{evidence_id}.json", json.dumps(record, indent=1).encode())
    (_folder(node.data_dir) / f"{evidence_id}.json").unlink()
    return index
