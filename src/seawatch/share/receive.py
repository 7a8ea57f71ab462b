"""Importing a bundle a peer released to this node: verify everything, then store it whole.

In: a bundle folder (:mod:`.bundle`), the store and this node. Out: the records stored
under their originator's labels, untouched (the label ids are this store's, the labels the
originator's), and an ``import`` entry in the audit log; or :class:`BundleRejected` naming
the check and the file that failed, nothing stored, and a ``rejection`` entry in the log.

Checks, in order: the manifest envelope parses (``manifest``); it is signed by a pinned
peer (``originator``) whose signature verifies (``signature``); the bundle is for this
node's nation and encryption key (``audience``); the release entry is in the originator's
signed log and names this bundle and these parts (``proof``); each part's sealed and
plain SHA-256 (``digest``), decryption (``decrypt``), label (originated by the peer and
releasable to this nation: ``label``) and Parquet schema and row count (``schema``).
Imports are idempotent: records are keyed, so a replayed bundle stores nothing new.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from cryptography.exceptions import InvalidTag

from seawatch.errors import LabelError
from seawatch.labels import Label, Policy, Reader, default_reader, may_read
from seawatch.share import merkle
from seawatch.share.bundle import BUNDLE_FORMAT, MANIFEST_FILE, SHARED_TABLES, entry_part
from seawatch.share.errors import BundleRejected, ShareError, VerifyError
from seawatch.share.forks import OriginForked, fork_files
from seawatch.share.history import check_history, remember
from seawatch.share.keys import enc_key_text, parse_vkey
from seawatch.share.node import Node
from seawatch.share.note import Checkpoint, verify_checkpoint
from seawatch.share.peers import Peer
from seawatch.share.retract import Tombstones
from seawatch.share.seal import MANIFEST_TYPE, Wrapper, decrypt_part, dsse_open, label_of, unb64
from seawatch.share.witness import SplitView, Witness
from seawatch.store import TABLES, Store
from seawatch.store.duck import in_storage_order
from seawatch.store.query import Query

__all__ = ["Imported", "import_bundle", "verify_bundle"]

_PART_NAME = re.compile(r"part-\d{3}\.parquet\.enc")
_AHEAD = 1
"""Parts read, checked and decrypted ahead of the one being written (memory: this many
decrypted parts more than one at a time)."""
T = TypeVar("T")


@dataclass(frozen=True)
class Imported:
    """What one import stored: the bundle, its originator, rows per marking, new rows."""

    bundle_id: str
    originator: str
    counts: dict[str, int]
    stored: int
    repeat: bool
    entry: int


def _check(check: str, part: str, fn: Callable[[], T]) -> T:
    """``fn()``, any malformed-input error turned into :class:`BundleRejected`."""
    try:
        return fn()
    except BundleRejected:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, LabelError) as exc:
        raise BundleRejected(check, part, f"malformed ({type(exc).__name__}: {exc})") from None
    except ShareError as exc:
        raise BundleRejected(check, part, str(exc)) from None


Source = Path | Mapping[str, bytes]
"""A bundle: its folder, or its files' bytes by name (received over HTTP, or in a test)."""


def _name(folder: Source) -> str:
    return folder.name if isinstance(folder, Path) else "(in memory)"


def _read(folder: Source, name: str) -> bytes:
    if isinstance(folder, Path):
        return (folder / name).read_bytes()
    if name not in folder:
        raise FileNotFoundError(2, "No such file")
    return folder[name]


def import_bundle(store: Store, node: Node, folder: Source) -> Imported:
    """Verify the bundle in ``folder`` and store its records; see the module docstring.

    The parts are read, checked and decrypted ahead on a thread (digests, AES-GCM and
    Parquet release the GIL) while the part before is written: the write runs in one
    transaction that commits only once every part and the checkpoint passed, so a
    bundle failing any check stores nothing (rolled back) and is rejected whole."""
    try:
        peer, manifest, relation, wrapper = _verify_head(store, node, folder)
    except BundleRejected as exc:
        _reject(node, folder, exc)
        raise
    release = manifest["release"]
    bundle_id = manifest["bundle_id"]
    repeat = any(
        e.get("kind") == "import" and e.get("bundle_id") == bundle_id
        for e in (json.loads(line) for line in node.log().entries)
    )
    stored = kept = 0
    counts: dict[str, int] = {}
    retracted = Tombstones(node.data_dir, peer.name)
    try:
        with store.transaction():
            parts = _verify_parts(store, folder, peer, manifest, wrapper)
            for part, (label, rows) in zip(manifest["parts"], parts, strict=True):
                table = part["table"]
                rows = retracted.drop(table, rows)  # what the originator took back stays out
                if TABLES[table].on_conflict == "replace":
                    rows, held = _not_replacing_others(store, table, rows, peer.nation)
                    kept += held
                lid = store.label_id(label)
                rows = rows.append_column("label_id", pa.array([lid] * rows.num_rows, pa.int32()))
                n = store.write(table, rows)
                stored += n if TABLES[table].on_conflict == "ignore" else 0
                counts[label.marking] = counts.get(label.marking, 0) + rows.num_rows
            # every part passed: the checkpoint against those held (rolled back on a split)
            previous = release.get("previous") or {}
            proofs = (
                {int(previous["size"]): [unb64(h) for h in previous["proof"]]} if previous else {}
            )
            split = Witness(node).observe(peer, release["checkpoint"], proofs)
            if split:
                raise _Split(split[0])
    except BundleRejected as exc:
        store.forget_label_cache()  # labels added in the rolled-back transaction are gone
        if isinstance(exc, _Split):  # logged against the manifest, as a split view
            exc = SplitView(exc.evidence)
            _reject(node, folder, exc, MANIFEST_FILE, exc.evidence.reason)
            raise exc from None
        _reject(node, folder, exc)
        raise
    remember(node.data_dir, peer, release["checkpoint"])
    index, _ = node.record(
        {"kind": "import", "bundle_id": bundle_id, "originator": peer.name,
         "originator_nation": peer.nation, "release_index": release["index"],
         "parts": [entry_part(p) for p in manifest["parts"]], "repeat": repeat,
         "history": relation, "kept_local": kept}
    )  # fmt: skip
    return Imported(bundle_id, peer.name, counts, stored, repeat, index)


class _Split(SplitView):
    """The bundle's checkpoint split the view of its originator (raised in the import's
    transaction to roll it back)."""


def _reject(
    node: Node, folder: Source, exc: BundleRejected, part: str = "", reason: str = ""
) -> None:
    """The ``rejection`` entry of a bundle that failed a check."""
    node.record(
        {"kind": "rejection", "bundle": _name(folder), "check": exc.check,
         "part": part or exc.part, "reason": reason or str(exc)}
    )  # fmt: skip


def _not_replacing_others(
    store: Store, table: str, rows: pa.Table, originator: str
) -> tuple[pa.Table, int]:
    """``rows`` without those whose key a record of another originator holds here (a
    replacing write would relabel it), and how many were left out."""
    query = Query(store, Reader.node_admin(f"share import: keep {table} others originated"))
    labels = query.labels()
    held = query.events() if table == "events" else query.positions()
    key = TABLES[table].key[0]
    fn: Any = pc  # the stubs reject a Python scalar beside a column
    foreign = pa.array([i for i, lb in labels.items() if lb.originator != originator], pa.int32())
    others = held.filter(fn.is_in(held.column("label_id"), foreign)).column(key)
    if len(others) == 0:
        return rows, 0
    kept = rows.filter(fn.invert(fn.is_in(rows.column(key), others.combine_chunks())))
    return kept, rows.num_rows - kept.num_rows


def verify_bundle(
    store: Store, node: Node, folder: Source
) -> tuple[Peer, dict[str, Any], list[tuple[Label, pa.Table]], str]:
    """Every check of the module docstring, storing nothing: the originator, the manifest,
    each part's label and records, and how its checkpoint relates to those seen before.
    Raises :class:`BundleRejected`."""
    peer, manifest, relation, wrapper = _verify_head(store, node, folder)
    return peer, manifest, list(_verify_parts(store, folder, peer, manifest, wrapper)), relation


def _verify_head(
    store: Store, node: Node, folder: Source
) -> tuple[Peer, dict[str, Any], str, Wrapper]:
    """The checks before the parts: manifest, originator, signature, forks held, audience,
    proof and history; the originator, the manifest, the history relation and the key
    unwrapper of the parts."""
    envelope = _check("manifest", MANIFEST_FILE, lambda: _read_json(folder))
    peer = _check("originator", MANIFEST_FILE, lambda: _originator(node, envelope))
    payload = _check(
        "signature", MANIFEST_FILE, lambda: dsse_open(envelope, MANIFEST_TYPE, peer.verifier)
    )
    if payload is None:
        raise BundleRejected("signature", MANIFEST_FILE, f"not signed by {peer.name}'s key")
    forked = [i for i, d in fork_files(node.data_dir).items() if d.get("peer") == peer.name]
    if forked:  # evidence held against the originator: nothing from it until cleared
        raise OriginForked(peer.name, forked)
    manifest: dict[str, Any] = _check("manifest", MANIFEST_FILE, lambda: json.loads(payload))
    _check("manifest", MANIFEST_FILE, lambda: _manifest_ok(manifest, peer))
    _check("audience", MANIFEST_FILE, lambda: _audience_ok(manifest, node))
    cp = _check("proof", MANIFEST_FILE, lambda: _proof_ok(manifest, peer, node))
    relation = _check(
        "fork", MANIFEST_FILE, lambda: check_history(node.data_dir, peer, cp, manifest["release"])
    )
    wrapper = _check(
        "decrypt",
        MANIFEST_FILE,
        lambda: Wrapper.at(
            node.keys, unb64(manifest["encryption"]["ephemeral"]), manifest["bundle_id"]
        ),
    )
    return peer, manifest, relation, wrapper


def _verify_parts(
    store: Store, folder: Source, peer: Peer, manifest: dict[str, Any], wrapper: Wrapper
) -> Iterator[tuple[Label, pa.Table]]:
    """Each part's label and records, in the manifest's order, every check passed
    (:class:`BundleRejected` at the first that fails). Up to :data:`_AHEAD` parts are read,
    checked and decrypted ahead on a thread while the caller uses the one before."""
    reader = default_reader(store.policy)
    parts = manifest["parts"]

    def read(part: dict[str, Any]) -> tuple[Label, pa.Table]:
        name = str(part.get("file"))
        return _check("digest", name, lambda: _part(folder, part, wrapper, manifest, store.policy))

    with ThreadPoolExecutor(1, thread_name_prefix="bundle-part") as pool:
        ahead: deque[Future[tuple[Label, pa.Table]]] = deque()
        try:
            for i, part in enumerate(parts):
                while len(ahead) <= _AHEAD and i + len(ahead) < len(parts):
                    ahead.append(pool.submit(read, parts[i + len(ahead)]))
                label, rows = ahead.popleft().result()
                name = str(part.get("file"))
                if label.originator != peer.nation:
                    raise BundleRejected(
                        "label", name,
                        f"labelled by {label.originator}, not the originator {peer.nation}",
                    )  # fmt: skip
                if not may_read(reader, label, store.policy):
                    raise BundleRejected(
                        "label", name, f"{label.marking} is not releasable to {reader}"
                    )
                yield label, rows
        finally:
            for future in ahead:
                future.cancel()


def _read_json(folder: Source) -> Any:
    try:
        return json.loads(_read(folder, MANIFEST_FILE))
    except OSError as exc:
        raise BundleRejected("manifest", MANIFEST_FILE, f"cannot read: {exc.strerror}") from None


def _originator(node: Node, envelope: Any) -> Peer:
    peers = node.peers()
    for sig in envelope["signatures"]:
        signer = parse_vkey(sig["keyid"])
        peer = peers.by_key(signer.public)
        if peer is not None:
            return peer
    raise BundleRejected(
        "originator", MANIFEST_FILE, "not signed by a pinned peer (seawatch peers add)"
    )


def _manifest_ok(manifest: dict[str, Any], peer: Peer) -> None:
    if manifest["format"] != BUNDLE_FORMAT:
        raise ValueError(f"format {manifest['format']!r}, expected {BUNDLE_FORMAT}")
    origin = manifest["originator"]
    if parse_vkey(origin["vkey"]).public != peer.verifier.public or origin["nation"] != (
        peer.nation
    ):
        raise ValueError("originator fields differ from the signer")
    if not re.fullmatch(r"[0-9a-f]{32}", manifest["bundle_id"]):
        raise ValueError("bad bundle id")
    parts = manifest["parts"]
    if not isinstance(parts, list) or not parts or not all(isinstance(p, dict) for p in parts):
        raise ValueError("parts is not a list of objects")
    if not isinstance(manifest["release"], dict) or not isinstance(manifest["encryption"], dict):
        raise ValueError("release or encryption is not an object")


def _audience_ok(manifest: dict[str, Any], node: Node) -> None:
    audience = manifest["audience"]
    mine = enc_key_text(node.keys.enc_public)
    if audience["nation"] != node.nation or audience["enc_key"] != mine:
        raise BundleRejected(
            "audience",
            MANIFEST_FILE,
            f"released to {audience['nation']} ({audience['name']}), not to this node",
        )


def _proof_ok(manifest: dict[str, Any], peer: Peer, node: Node) -> Checkpoint:
    release = manifest["release"]
    try:
        cp = verify_checkpoint(release["checkpoint"], peer.verifier)
    except VerifyError as exc:
        raise BundleRejected("proof", MANIFEST_FILE, f"checkpoint: {exc}") from None
    leaf = unb64(release["leaf"])
    proof = [unb64(h) for h in release["proof"]]
    index = int(release["index"])
    if not merkle.verify_inclusion(index, cp.size, merkle.leaf_hash(leaf), proof, cp.root_hash):
        raise BundleRejected("proof", MANIFEST_FILE, "the release entry is not in the signed log")
    entry = json.loads(leaf)
    want = {"kind": "release", "bundle_id": manifest["bundle_id"], "peer_nation": node.nation}
    if any(entry.get(k) != v for k, v in want.items()) or entry["parts"] != [
        entry_part(p) for p in manifest["parts"]
    ]:
        raise BundleRejected("proof", MANIFEST_FILE, "the logged release is of another bundle")
    return cp


def _part(
    folder: Source, part: dict[str, Any], wrapper: Wrapper, manifest: dict[str, Any], policy: Policy
) -> tuple[Label, pa.Table]:
    name = part["file"]
    if not isinstance(name, str) or not _PART_NAME.fullmatch(name):
        raise BundleRejected("manifest", MANIFEST_FILE, f"bad part file name {name!r}")
    try:
        data = _read(folder, name)
    except OSError as exc:
        raise BundleRejected("digest", name, f"cannot read: {exc.strerror}") from None
    if hashlib.sha256(data).hexdigest() != part["sha256"]:
        raise BundleRejected("digest", name, "SHA-256 differs from the manifest's")
    try:
        plain = decrypt_part(data, part["key"], wrapper, f"{manifest['bundle_id']}/{name}".encode())
    except InvalidTag:
        raise BundleRejected("decrypt", name, "not decryptable with this node's key") from None
    if hashlib.sha256(plain).hexdigest() != part["plain_sha256"]:
        raise BundleRejected("digest", name, "plain SHA-256 differs from the manifest's")
    label = _check("label", name, lambda: label_of(part["label"], policy))
    table = part["table"]
    if table not in SHARED_TABLES:
        raise BundleRejected("schema", name, f"table {table!r} is not shared")
    rows = _check("schema", name, lambda: pq.read_table(io.BytesIO(plain)))
    want = TABLES[table].arrow_schema()
    fields = [(f.name, f.type) for f in want if f.name != "label_id"]
    if [(f.name, f.type) for f in rows.schema] != fields or rows.num_rows != part["rows"]:
        raise BundleRejected("schema", name, f"columns, types or row count differ from {table}'s")
    rows = TABLES[table].conform(rows).drop_columns(["label_id"])
    if table == "positions":  # sorted here, on the reading thread: the write only checks
        rows = in_storage_order(rows)
    return label, rows
