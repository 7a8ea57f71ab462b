"""Witnessing: partners cosign each other's checkpoints and compare what each was shown.

In: a peer's signed checkpoint verified in an exchange (a pull or push answer, a bundle's
release checkpoint), with the consistency proofs the origin gave from sizes seen before;
and the cosigned checkpoints partners pass on of third nodes (gossip). Out, under
``<data_dir>/share/witness/<peer>.json``: per origin, ``best`` (the largest checkpoint
proven consistent with everything held of that origin, cosigned by this node) and
``pending`` (checkpoints held but not yet proven consistent with ``best``: a gossiped one
of another size, a late bundle's); and, when an origin signed two histories, fork
evidence: both signed notes, kept in ``<data_dir>/share/forks/`` and logged as a ``fork``
entry (:class:`ForkEvidence`; raised as :class:`SplitView` when the origin itself is the
one answering).

Cosignatures are C2SP ``tlog-cosignature`` v1 (Ed25519): a signature line
``— <name> base64(key id || u64 timestamp || signature)`` added to the checkpoint note,
the key id ``SHA-256(name || "\\n" || 0x04 || public key)[:4]``, the signature over
``cosignature/v1\\ntime <timestamp>\\n`` and the checkpoint body. The node's one Ed25519
key signs checkpoints, manifests, requests and cosignatures; each signed message starts
with its own prefix (the log origin, ``DSSEv1``, ``seawatch-request/1``,
``cosignature/v1``), so one can never pass for another.

How checkpoints are compared: same size, the roots must be equal; different sizes need a
consistency proof from the origin. An exchange asks the origin to prove every size held
of it (:meth:`Witness.wanted`), from that size to its current checkpoint
(:func:`proofs_for`); a proof that does not verify, or two roots for one size, is a fork.
A checkpoint without a proof waits in ``pending`` until the next exchange with its origin.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final

from seawatch.share import merkle
from seawatch.share.errors import BundleRejected, VerifyError
from seawatch.share.files import folder_lock, write_atomic
from seawatch.share.keys import NodeKeys, Verifier
from seawatch.share.log import AuditLog
from seawatch.share.node import Node
from seawatch.share.note import DASH, Checkpoint, signer_names, verify_checkpoint
from seawatch.share.peers import Peer

__all__ = [
    "COSIGNATURE_ALG",
    "WITNESS_FORMAT",
    "ForkEvidence",
    "SplitView",
    "Witness",
    "cosign",
    "cosignature_time",
    "cosigner_key_id",
    "proofs_for",
]

COSIGNATURE_ALG: Final = 0x04
"""Signature type byte of an Ed25519 cosignature (C2SP tlog-cosignature v1)."""
HEADER: Final = "cosignature/v1"
WITNESS_FORMAT: Final = "seawatch-witness/1"
"""A courier export's ``witness-<node>.json``: the cosigned checkpoints the sender holds."""
MAX_HELD: Final = 64
"""Sizes held per origin, gossiped notes per exchange and proofs per answer, at most."""


def cosigner_key_id(name: str, public: bytes) -> bytes:
    """The 4-byte key id of an Ed25519 cosigner."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([COSIGNATURE_ALG]) + public).digest()[:4]


def _message(body: str, timestamp: int) -> bytes:
    return f"{HEADER}\ntime {timestamp}\n{body}".encode()


def _split(note: str) -> tuple[str, list[str]]:
    body, sep, sigs = note.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise VerifyError("signed note", "no blank line before the signature lines")
    return body + "\n", sigs[:-1].split("\n")


def cosign(note: str, keys: NodeKeys, name: str, timestamp: int | None = None) -> str:
    """``note`` (a signed checkpoint) with this node's cosignature added (an older one by
    the same key replaced)."""
    body, lines = _split(note)
    ts = int(dt.datetime.now(dt.UTC).timestamp()) if timestamp is None else timestamp
    kid = cosigner_key_id(name, keys.sign_public)
    raw = kid + ts.to_bytes(8, "big") + keys.sign(_message(body, ts))
    kept = [line for line in lines if not _is_cosignature_by(line, name, kid)]
    return (
        body
        + "\n"
        + "".join(f"{line}\n" for line in kept)
        + (f"{DASH} {name} {base64.b64encode(raw).decode()}\n")
    )


def _is_cosignature_by(line: str, name: str, kid: bytes) -> bool:
    parts = line.split(" ")
    if len(parts) != 3 or parts[1] != name:
        return False
    with contextlib.suppress(binascii.Error):
        raw = base64.b64decode(parts[2], validate=True)
        return len(raw) == 76 and raw[:4] == kid
    return False


def cosignature_time(note: str, cosigner: Verifier) -> int | None:
    """The timestamp of ``cosigner``'s valid cosignature on ``note``; None if it has none."""
    body, lines = _split(note)
    kid = cosigner_key_id(cosigner.name, cosigner.public)
    for line in lines:
        if _is_cosignature_by(line, cosigner.name, kid):
            raw = base64.b64decode(line.split(" ")[2])
            ts = int.from_bytes(raw[4:12], "big")
            if cosigner.verify(raw[12:], _message(body, ts)):
                return ts
    return None


def proofs_for(log: AuditLog, sizes: Iterable[Any], size: int) -> dict[str, list[str]]:
    """Consistency proofs from each of ``sizes`` (at most :data:`MAX_HELD`) to ``size``."""
    out: dict[str, list[str]] = {}
    for s in list(sizes)[:MAX_HELD]:
        if isinstance(s, int) and not isinstance(s, bool) and 0 < s < size:
            out[str(s)] = [base64.b64encode(h).decode() for h in log.consistency(s, size)]
    return out


def parse_proofs(value: Any) -> dict[int, list[bytes]]:
    """The ``proofs`` of an answer; ValueError if malformed."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("proofs is not an object")
    out = {}
    for k, hashes in value.items():
        if not str(k).isdigit() or not isinstance(hashes, list):
            raise ValueError("proofs maps sizes to lists of hashes")
        out[int(k)] = [base64.b64decode(h, validate=True) for h in hashes]
    return out


@dataclass(frozen=True)
class ForkEvidence:
    """An origin signed two histories: its two signed notes, which pinned peer it is, how
    this node came to hold the second (``via``: the peer that passed it on, or the origin
    itself) and why they cannot both be true."""

    origin: str
    peer: str
    notes: tuple[str, str]
    reason: str
    via: str

    def as_json(self) -> dict[str, Any]:
        return {"origin": self.origin, "peer": self.peer, "notes": list(self.notes),
                "reason": self.reason, "via": self.via}  # fmt: skip


class SplitView(BundleRejected):
    """A peer answered with a checkpoint that is not consistent with one it signed before
    (check ``fork``); ``evidence`` holds both signed notes."""

    http_status: ClassVar[int] = 422

    def __init__(self, evidence: ForkEvidence) -> None:
        super().__init__("fork", "checkpoint", f"{evidence.peer}: {evidence.reason}")
        self.evidence = evidence


def _cp(note: str, peer: Peer) -> Checkpoint:
    return verify_checkpoint(note, peer.verifier)


class Witness:
    """This node as a witness of its peers' logs (see the module)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.folder = Path(node.data_dir) / "share" / "witness"

    def _file(self, peer: str) -> Path:
        return self.folder / f"{peer}.json"

    def _load(self, peer: Peer) -> tuple[str | None, list[str]]:
        path = self._file(peer.name)
        if not path.exists():
            return None, []
        data = json.loads(path.read_bytes())
        return data.get("best"), list(data.get("pending", []))

    def _save(self, peer: Peer, best: str | None, pending: list[str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"best": best, "pending": pending[-MAX_HELD:]}
        write_atomic(self._file(peer.name), json.dumps(data).encode())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One update of the witness state at a time (a server syncs in several threads)."""
        with folder_lock(self.folder):
            yield

    def best(self, peer: Peer) -> Checkpoint | None:
        """The largest checkpoint of ``peer`` this node cosigned."""
        best, _ = self._load(peer)
        return None if best is None else _cp(best, peer)

    def wanted(self, peer: Peer) -> list[int]:
        """The sizes of ``peer``'s log this node holds checkpoints of (to be proven)."""
        best, pending = self._load(peer)
        sizes = {_cp(n, peer).size for n in ([best] if best else []) + pending}
        return sorted(sizes)[-MAX_HELD:]

    def held(self, exclude: str | None = None) -> list[str]:
        """The cosigned checkpoints this node holds, one per origin (what it gossips)."""
        if not self.folder.is_dir():
            return []
        out = []
        for path in sorted(self.folder.glob("*.json")):
            if path.stem != exclude:
                best = json.loads(path.read_bytes()).get("best")
                if best:
                    out.append(best)
        return out[:MAX_HELD]

    def observe(
        self, peer: Peer, note: str, proofs: Mapping[int, Sequence[bytes]], via: str = ""
    ) -> list[ForkEvidence]:
        """Compare ``note`` (a checkpoint of ``peer``'s log, its signature checked here)
        with all held of ``peer``, given the origin's consistency proofs from other sizes
        to it; keep it (cosigned when it becomes ``best``). The forks found (logged)."""
        x = _cp(note, peer)
        with self._locked():
            return self._observe(peer, note, x, proofs, via)

    def _observe(
        self, peer: Peer, note: str, x: Checkpoint, proofs: Mapping[int, Sequence[bytes]], via: str
    ) -> list[ForkEvidence]:
        best, pending = self._load(peer)
        before = (best, pending)
        forks: list[ForkEvidence] = []
        proven: set[int] = {0}
        keep: list[str] = []
        for held in ([best] if best else []) + pending:
            k = _cp(held, peer)
            if k.size == x.size:
                if k.root_hash != x.root_hash:
                    forks.append(self.fork(peer, held, note, f"two trees of {x.size}", via))
                else:
                    proven.add(k.size)
                continue
            if k.size < x.size and k.size in proofs:
                if merkle.verify_consistency(
                    k.size, x.size, list(proofs[k.size]), k.root_hash, x.root_hash
                ):
                    proven.add(k.size)
                    continue
                reason = f"the tree of {x.size} does not extend the tree of {k.size}"
                forks.append(self.fork(peer, held, note, reason, via))
            if held is not best:
                keep.append(held)
        if forks:
            return forks
        b = None if best is None else _cp(best, peer)
        if b is None or (b.size < x.size and b.size in proven):
            best = cosign(note, self.node.keys, self.node.name)
        elif not (b.size == x.size and b.size in proven):
            keep.append(note)
        unique = {(_cp(n, peer).size, _cp(n, peer).root_hash): n for n in keep}
        after = (best, [n for key, n in sorted(unique.items())][-MAX_HELD:])
        if after != before:  # a checkpoint seen before changes nothing: no write, no fsync
            self._save(peer, *after)
        return []

    def receive(self, notes: Any, via: str) -> list[ForkEvidence]:
        """Check the cosigned checkpoints a peer passed on (``via``) against those held of
        each origin; notes of unknown origins, of this node or malformed are ignored."""
        if not isinstance(notes, list):
            return []
        peers = list(self.node.peers().peers.values())
        forks: list[ForkEvidence] = []
        for note in notes[:MAX_HELD]:
            if not isinstance(note, str):
                continue
            origin = self._origin(note, peers)
            if origin is not None and origin.name != via:
                forks += self.observe(origin, note, {}, via)
        return forks

    @staticmethod
    def _origin(note: str, peers: list[Peer]) -> Peer | None:
        try:
            names = set(signer_names(note))
        except VerifyError:
            return None
        for peer in peers:
            if peer.verifier.name in names:
                with contextlib.suppress(VerifyError):
                    _cp(note, peer)
                    return peer
        return None

    def fork(self, peer: Peer, held: str, note: str, reason: str, via: str = "") -> ForkEvidence:
        """Keep and log the evidence (once per pair of notes)."""
        origin = _cp(note, peer).origin
        evidence = ForkEvidence(origin, peer.name, (held, note), reason, via or peer.name)
        digest = hashlib.sha256("\n".join(sorted((held, note))).encode()).hexdigest()[:32]
        path = Path(self.node.data_dir) / "share" / "forks" / f"{digest}.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(evidence.as_json(), indent=1).encode())
            self.node.record({"kind": "fork", "evidence_id": digest, **evidence.as_json()})
        return evidence

    def forks(self) -> list[ForkEvidence]:
        """The fork evidence this node holds."""
        folder = Path(self.node.data_dir) / "share" / "forks"
        out = []
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            d = json.loads(path.read_bytes())
            out.append(ForkEvidence(d["origin"], d["peer"], tuple(d["notes"]), d["reason"],
                                    d["via"]))  # fmt: skip
        return out
