"""One history per originator: the checkpoints a receiver has seen must extend each other.

In (sender): the node's log and the peer a release goes to. Out: ``previous``, the size of
the checkpoint that covered the last release to that peer and a consistency proof from it
to the new checkpoint (:func:`previous_for`).

In (receiver): the checkpoint of an incoming bundle, verified, and the last checkpoint of
that originator it verified (``<data_dir>/share/seen/<peer>.note``). Out: how the new one
relates (:func:`check_history`): ``first``, ``same`` (same tree), ``extends`` (a
consistency proof from the seen one verifies), ``gap`` (bundles in between were not seen:
no proof from the seen size), ``older`` (a bundle delivered late); a checkpoint of the
same size with another root, or a proof that does not verify, is a fork: the originator
showed two histories, and the bundle is rejected (check ``fork``). :func:`remember` keeps
the largest verified checkpoint. Witnessing across partners (cosigned checkpoints, gossip,
proofs between any two sizes held) is :mod:`.witness`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seawatch.share import merkle
from seawatch.share.errors import BundleRejected
from seawatch.share.files import write_atomic
from seawatch.share.log import AuditLog
from seawatch.share.note import Checkpoint, parse_checkpoint, verify_checkpoint
from seawatch.share.peers import Peer
from seawatch.share.seal import b64, unb64

__all__ = ["check_history", "previous_for", "remember", "seen_checkpoint", "seen_note"]


def previous_for(log: AuditLog, peer: str, index: int, size: int) -> dict[str, Any] | None:
    """The checkpoint size that covered the last release to ``peer`` before entry
    ``index``, and a consistency proof from it to ``size``; None for a first release."""
    for j in range(index - 1, -1, -1):
        entry = json.loads(log.entries[j])
        if entry.get("kind") == "release" and entry.get("peer") == peer:
            sizes = [s for s, _ in log.checkpoints() if j < s <= size]
            if not sizes:
                return None
            first = min(sizes)
            return {"size": first, "proof": [b64(h) for h in log.consistency(first, size)]}
    return None


def _seen_file(data_dir: Path, peer: Peer) -> Path:
    return Path(data_dir) / "share" / "seen" / f"{peer.name}.note"


def seen_checkpoint(data_dir: Path, peer: Peer) -> Checkpoint | None:
    """The last checkpoint of ``peer``'s log this node verified, if any."""
    path = _seen_file(data_dir, peer)
    if not path.exists():
        return None
    return verify_checkpoint(path.read_text(encoding="utf-8"), peer.verifier)


def seen_note(data_dir: Path, peer: Peer) -> str:
    """The signed note of :func:`seen_checkpoint` (it must exist)."""
    return _seen_file(data_dir, peer).read_text(encoding="utf-8")


def check_history(data_dir: Path, peer: Peer, cp: Checkpoint, release: dict[str, Any]) -> str:
    """How ``cp`` relates to the last checkpoint seen from ``peer`` (see the module)."""
    seen = seen_checkpoint(data_dir, peer)
    if seen is None:
        return "first"
    if seen.size == cp.size:
        if seen.root_hash != cp.root_hash:
            raise BundleRejected(
                "fork", "manifest.dsse.json",
                f"{peer.name} signed two trees of {cp.size} entries: two histories",
            )  # fmt: skip
        return "same"
    if seen.size > cp.size:
        return "older"
    previous = release.get("previous")
    if not previous or int(previous["size"]) != seen.size:
        return "gap"
    proof = [unb64(h) for h in previous["proof"]]
    if not merkle.verify_consistency(seen.size, cp.size, proof, seen.root_hash, cp.root_hash):
        raise BundleRejected(
            "fork", "manifest.dsse.json",
            f"{peer.name}'s tree of {cp.size} does not extend the tree of {seen.size} it "
            "showed before: two histories",
        )  # fmt: skip
    return "extends"


def remember(data_dir: Path, peer: Peer, note: str) -> None:
    """Keep ``note`` (verified) as the latest checkpoint seen from ``peer`` if larger."""
    cp = parse_checkpoint(note.partition("\n\n")[0] + "\n")
    seen = seen_checkpoint(data_dir, peer)
    if seen is None or cp.size > seen.size:
        path = _seen_file(data_dir, peer)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, note.encode())
