"""Releasing records to a peer as a sealed bundle (the courier/file transport).

In: the store, this :class:`~seawatch.share.node.Node`, a pinned peer and the release
rules. Out: a bundle folder ``<out>/<bundle id>/``:

- ``part-NNN.parquet.enc``: the released records of one stored table under one label, as
  Parquet (the table's columns but ``label_id``), encrypted for the peer
  (:mod:`.seal`: AES-256-GCM, the data key wrapped with X25519 + HKDF);
- ``manifest.dsse.json``: a DSSE envelope, signed with the node's Ed25519 key, of the
  manifest: originator, audience, bundle id, each part's table, structured label (STANAG
  4774 fields and CAPCO marking), rows and SHA-256 (sealed and plain), counts per marking,
  and the release entry of the node's audit log with its inclusion proof and the signed
  checkpoint that covers it.

Records are read for the peer through the query layer (the peer's nation at the top
clearance of its policy, holding no caveats), so what a label forbids to the peer never
leaves the store; only records this node originated are released (a node never passes on
what it did not originate); the rules then decide (:mod:`.rules`). The release, or the
refusal when no rule releases anything, is an entry in the audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seawatch.labels import Policy, Reader
from seawatch.share.cursor import Read, read_for_release, save_cursor
from seawatch.share.files import fsync_dir
from seawatch.share.history import previous_for
from seawatch.share.log import canonical
from seawatch.share.node import Node
from seawatch.share.note import parse_checkpoint, verify_note
from seawatch.share.outbox import Outbox
from seawatch.share.peers import Peer
from seawatch.share.retract import KEYED, SELF, Tombstones
from seawatch.share.rules import Rules
from seawatch.share.seal import (
    ENC_ALG,
    MANIFEST_TYPE,
    Wrapper,
    b64,
    dsse_envelope,
    encrypt_part,
    structured_label,
)
from seawatch.store import TABLES, Store
from seawatch.store.query import Query

__all__ = ["BUNDLE_FORMAT", "MANIFEST_FILE", "Release", "export_bundle", "peer_reader"]

BUNDLE_FORMAT: Final = "seawatch-bundle/1"
MANIFEST_FILE: Final = "manifest.dsse.json"
SHARED_TABLES: Final = ("positions", "statics", "events")
"""The stored tables bundles carry: positions, static reports (vessel identities), events."""


def peer_reader(peer: Peer, policy: Policy) -> Reader:
    """The reader a peer node is: its nation, the top clearance of its policy, no caveats."""
    return Reader(peer.nation, policy.for_nation(peer.nation).levels[-1], frozenset())


@dataclass(frozen=True)
class Release:
    """What one export did: the bundle (None when nothing was released), rows per marking,
    rows the rules withheld, and the audit log entry that records it."""

    bundle_id: str
    folder: Path | None
    counts: dict[str, int]
    withheld: int
    entry: int


def parquet_bytes(rows: pa.Table) -> bytes:
    """``rows`` as Parquet (zstd): 32/64-bit integers and times delta-encoded (keys, MMSIs
    and times of one label's rows are near-sorted), strings dictionary-encoded."""
    delta, strings = {}, []
    for field in rows.schema:
        t = field.type
        if pa.types.is_timestamp(t) or (pa.types.is_integer(t) and t.bit_width >= 32):
            delta[field.name] = "DELTA_BINARY_PACKED"
        elif pa.types.is_string(t):
            strings.append(field.name)
    buf = io.BytesIO()
    options: dict[str, Any] = {"use_dictionary": strings, "column_encoding": delta or None}
    pq.write_table(rows, buf, compression="zstd", **options)
    return buf.getvalue()


class _Encoded:
    """The plain Parquet of the last parts sealed, kept with their rows: a part of the
    same rows for another peer (equal in every column and in order: checked, a compare
    costs a small share of an encoding) is encoded once, as a node releasing what it
    stored to several peers does. Bounded by entries and by the rows' bytes held."""

    def __init__(self, entries: int = 8, max_bytes: int = 256 * 2**20) -> None:
        self.entries, self.max_bytes = entries, max_bytes
        self._held: OrderedDict[tuple[Any, ...], tuple[pa.Table, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def parquet(self, rows: pa.Table) -> bytes:
        """``parquet_bytes(rows)``, from the cache when equal rows were encoded last."""
        ends = rows.slice(0, 1).to_pylist() + rows.slice(rows.num_rows - 1).to_pylist()
        key = (rows.schema, rows.num_rows, rows.nbytes, repr(ends))  # a shortlist: then equals
        with self._lock:
            held = self._held.get(key)
        if held is not None and held[0].equals(rows):
            with self._lock:
                if key in self._held:
                    self._held.move_to_end(key)
            return held[1]
        plain = parquet_bytes(rows)
        if rows.nbytes <= self.max_bytes:
            with self._lock:
                self._held[key] = (rows, plain)
                self._held.move_to_end(key)
                while len(self._held) > self.entries or (
                    sum(r.nbytes for r, _ in self._held.values()) > self.max_bytes
                ):
                    self._held.popitem(last=False)
        return plain


_ENCODED = _Encoded()


def export_bundle(
    store: Store,
    node: Node,
    peer: Peer,
    rules: Rules,
    out_dir: Path,
    now: dt.datetime | None = None,
    outbox: Outbox | None = None,
) -> Release:
    """Release to ``peer`` what the rules and labels allow, as a bundle under ``out_dir``.

    With ``outbox`` (incremental): only what was not released to the peer before, read
    from the peer's release cursor on (:mod:`.cursor`: what was written since the last
    release, and what a delay withheld then); the bundle is also kept in the outbox, and
    when nothing is new nothing is sealed or logged (``Release.entry`` is -1). The cursor
    moves only once the release (or refusal) is logged."""
    with store.labels_held():  # one read of the labels for the whole release
        return _export(store, node, peer, rules, out_dir, now, outbox)


def _export(
    store: Store,
    node: Node,
    peer: Peer,
    rules: Rules,
    out_dir: Path,
    now: dt.datetime | None,
    outbox: Outbox | None,
) -> Release:
    now = now or dt.datetime.now(dt.UTC)
    recipient = peer.enc_public
    policy = store.policy
    query = Query(store, peer_reader(peer, policy))
    folder = None if outbox is None else outbox.folder
    read = read_for_release(store, query, SHARED_TABLES, node.nation, peer.name, rules, now, folder)
    labels = query.labels()
    fn: Any = pc  # the stubs reject a Python scalar beside a column
    bundle_id = uuid.uuid4().hex
    created = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    wrapper = Wrapper.to(recipient, bundle_id)
    parts: list[dict[str, Any]] = []
    sealed: list[bytes] = []
    withheld = 0
    retracted = Tombstones(node.data_dir, SELF)
    new: dict[str, pa.Table] = {}
    already = 0
    for table in SHARED_TABLES:
        rows = read.rows[table]
        first = rules.first_match(peer.name, table, rows, labels, policy, node.nation, now)
        released = rows.filter(fn.greater(first, 0))
        withheld += rows.num_rows - released.num_rows
        released = retracted.drop(table, released)  # a retracted record never leaves again
        if outbox is not None:
            before = released.num_rows
            after = read.checked_after if TABLES[table].on_conflict == "ignore" else None
            released = outbox.unsent(table, released, after)
            already += before - released.num_rows
            new[table] = released
        ids: list[int] = fn.unique(released.column("label_id")).to_pylist()
        for lid in sorted(ids):
            part_rows = released.filter(fn.equal(released.column("label_id"), lid))
            plain = _ENCODED.parquet(part_rows.drop_columns(["label_id"]))
            name = f"part-{len(parts) + 1:03d}.parquet.enc"
            data, key = encrypt_part(plain, wrapper, f"{bundle_id}/{name}".encode())
            sealed.append(data)
            parts.append(
                {
                    "file": name,
                    "table": table,
                    "label": structured_label(labels[lid], policy, created),
                    "rows": part_rows.num_rows,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "plain_sha256": hashlib.sha256(plain).hexdigest(),
                    "key": key,
                }
            )
    counts: dict[str, int] = {}
    for p in parts:
        counts[p["label"]["marking"]] = counts.get(p["label"]["marking"], 0) + p["rows"]
    if not parts and outbox is not None and (already or (not read.full and not read.fresh)):
        _keep_cursor(outbox, read)
        return Release(bundle_id, None, {}, withheld, -1)  # nothing new: no decision
    if not parts:
        if outbox is not None and read.full and outbox.refused() == withheld:
            return Release(bundle_id, None, {}, withheld, -1)  # the same refusal: logged
        index, _ = node.record(
            {"kind": "refusal", "peer": peer.name, "peer_nation": peer.nation,
             "reason": "no rule releases any record the labels allow", "withheld": withheld}
        )  # fmt: skip
        if outbox is not None:
            outbox.refuse(withheld)
            _keep_cursor(outbox, read)
        return Release(bundle_id, None, {}, withheld, index)
    entry = release_entry(bundle_id, peer, parts, withheld)
    index, note = node.record(entry)
    log = node.log()
    stored = canonical(log.entry(index))
    size = parse_checkpoint(verify_note(note, node.verifier)).size
    manifest = {
        "format": BUNDLE_FORMAT,
        "bundle_id": bundle_id,
        "created": created,
        "originator": {"name": node.name, "nation": node.nation, "vkey": node.verifier.vkey},
        "audience": {"name": peer.name, "nation": peer.nation, "enc_key": peer.enc_key},
        "encryption": {"alg": ENC_ALG, "ephemeral": b64(wrapper.ephemeral)},
        "parts": parts,
        "counts": counts,
        "release": {
            "index": index,
            "leaf": b64(stored),
            "proof": [b64(h) for h in log.inclusion(index, size)],
            "checkpoint": note,
            "previous": previous_for(log, peer.name, index, size),
        },
    }
    folder = _write(out_dir, bundle_id, manifest, parts, sealed, node)
    if outbox is not None:
        if folder.parent != outbox.folder:
            shutil.copytree(folder, outbox.folder / bundle_id)
        keys = {t: r.column(KEYED[t]).combine_chunks() for t, r in new.items()}
        outbox.keep(index, bundle_id, new, keys)
        _keep_cursor(outbox, read)  # only now: a crash before re-reads from the old one
    return Release(bundle_id, folder, counts, withheld, index)


def _keep_cursor(outbox: Outbox, read: Read) -> None:
    """Keep the read's cursor (after the decision is logged and the fingerprints kept);
    with the read's settled write number, every release kept so far holds only rows up
    to it: its ``through`` moves to the last of them."""
    if read.cursor is None:
        return
    cursor = read.cursor
    if read.settled:
        cursor = replace(cursor, through=outbox.last_index())
    save_cursor(outbox.folder, cursor)


def release_entry(
    bundle_id: str, peer: Peer, parts: list[dict[str, Any]], withheld: int
) -> dict[str, Any]:
    """The audit log entry of a release: what the manifest's parts must agree with."""
    return {
        "kind": "release",
        "bundle_id": bundle_id,
        "peer": peer.name,
        "peer_nation": peer.nation,
        "parts": [entry_part(p) for p in parts],
        "withheld": withheld,
    }


def entry_part(part: dict[str, Any]) -> dict[str, Any]:
    return {
        "file": part["file"],
        "table": part["table"],
        "marking": part["label"]["marking"],
        "rows": part["rows"],
        "plain_sha256": part["plain_sha256"],
    }


def _write(
    out_dir: Path,
    bundle_id: str,
    manifest: dict[str, Any],
    parts: list[dict[str, Any]],
    sealed: list[bytes],
    node: Node,
) -> Path:
    """Write the bundle to a temporary folder, then rename it into place."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{bundle_id}.tmp"
    tmp.mkdir()
    try:
        for part, data in zip(parts, sealed, strict=True):
            (tmp / part["file"]).write_bytes(data)
        payload = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
        (tmp / MANIFEST_FILE).write_bytes(
            dsse_envelope(payload, MANIFEST_TYPE, node.keys, node.name)
        )
        final = out_dir / bundle_id
        tmp.rename(final)
        fsync_dir(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
