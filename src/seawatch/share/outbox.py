"""What this node has released to each peer: the bundles, kept for resending, and the
fingerprints of the records in them, so the next release carries only what is new.

In: a peer's name, and bundles sealed for it (:mod:`.bundle`). Out, under
``<data_dir>/share/outbox/<peer>/``:

- ``<bundle id>/``: each bundle released to the peer, as written (a lost copy is resent
  as is: imports are idempotent), and ``<bundle id>.keys.json``: its records' keys (a
  bundle is retracted by its id);
- ``sent-<table>-<index>.parquet``: one ``fp`` per record released by the release at
  that index of this node's log (and, after a merge, by the earlier ones it took in): the
  key of a table whose rows never change (positions: ``msg_key``), the SHA-256 of the
  whole row as text for one whose rows are replaced as they grow (events: a longer event
  is new; events are few, so a row at a time is fine). Each release writes its own file
  (appended, never rewritten: the fingerprints of every release before it are not read
  and written again); past :data:`MERGE_AT` files of a table, the smaller ones are merged
  into one named by the largest index it holds. ``sent-<table>.parquet`` (one file,
  rewritten whole at each release, before) is still read, as index -1.

:meth:`Outbox.since` lists the bundles whose release entry is at or after a position of
this node's log: what a peer that verified this node's log up to that size may lack.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seawatch.share.files import fsync_dir, write_atomic
from seawatch.store import TABLES

__all__ = ["Outbox"]

MANIFEST = "manifest.dsse.json"
MERGE_AT = 16
"""Fingerprint files of one table beyond which the smaller ones are merged into one."""
_SEGMENT = re.compile(r"sent-([a-z]+)(?:-(\d+))?\.parquet")


def fingerprints(table: str, rows: pa.Table) -> pa.Array[Any]:
    """One value per row naming it as released (see the module)."""
    tdef = TABLES[table]
    if tdef.on_conflict == "ignore" and len(tdef.key) == 1:
        return rows.column(tdef.key[0]).combine_chunks()
    texts = (json.dumps(row, sort_keys=True, default=str) for row in rows.to_pylist())
    return pa.array([hashlib.sha256(t.encode()).hexdigest() for t in texts], pa.string())


class Outbox:
    """The releases to one peer (see the module)."""

    def __init__(self, data_dir: Path, peer: str) -> None:
        self.folder = Path(data_dir) / "share" / "outbox" / peer

    def segments(self, table: str) -> list[tuple[int, Path]]:
        """``(release index, file)`` of the table's fingerprint files, by index."""
        if not self.folder.exists():
            return []
        found = []
        for path in self.folder.iterdir():
            m = _SEGMENT.fullmatch(path.name)
            if m and m.group(1) == table:
                found.append((-1 if m.group(2) is None else int(m.group(2)), path))
        return sorted(found)

    def _sent(self, table: str, after: int | None = None) -> pa.Array[Any] | None:
        """The fingerprints of the releases after index ``after`` (None: all)."""
        parts = [
            pq.read_table(path).column("fp").combine_chunks()
            for index, path in self.segments(table)
            if after is None or index > after
        ]
        if not parts:
            return None
        return (
            parts[0]
            if len(parts) == 1
            else pa.concat_arrays([a.cast(parts[0].type) for a in parts])
        )

    def unsent(self, table: str, rows: pa.Table, after: int | None = None) -> pa.Table:
        """``rows`` but those released to the peer before (by a release after index
        ``after`` only, when the caller knows the earlier ones cannot hold them)."""
        if rows.num_rows == 0:
            return rows
        sent = self._sent(table, after)
        if sent is None:
            return rows
        fn: Any = pc
        seen = fn.is_in(fingerprints(table, rows), sent)
        return rows.filter(fn.invert(seen))

    def last_index(self) -> int | None:
        """The largest release index of any fingerprint file (None: none yet)."""
        indexes = [i for t in TABLES for i, _ in self.segments(t)]
        return max(indexes, default=None)

    def keep(
        self, index: int, bundle_id: str, new: dict[str, pa.Table], keys: dict[str, pa.Array[Any]]
    ) -> None:
        """Remember the release at log ``index``: the fingerprints of its records per table
        (one new file each) and its records' keys (so it can be retracted by its id). The
        files are written and fsynced, renamed into place, then the folder fsynced once."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "refused.json").unlink(missing_ok=True)  # a release came after it
        files = {f"{bundle_id}.keys.json": keys_json(keys)}
        for table, rows in new.items():
            if rows.num_rows:
                files[f"sent-{table}-{index:012d}.parquet"] = _parquet(fingerprints(table, rows))
        _write_all(self.folder, files)
        for table in new:
            self._merge(table)

    def _merge(self, table: str) -> None:
        """Past :data:`MERGE_AT` files: all but the largest merged into one, named by the
        largest index it holds (written before the merged files are removed: a crash in
        between leaves fingerprints twice, which is harmless)."""
        segments = self.segments(table)
        if len(segments) <= MERGE_AT:
            return
        largest = max(segments, key=lambda s: s[1].stat().st_size)
        merged = [s for s in segments if s is not largest]
        fps = [pq.read_table(path).column("fp").combine_chunks() for _, path in merged]
        fp = pa.concat_arrays([a.cast(fps[0].type) for a in fps])
        top = max(i for i, _ in merged)
        name = f"sent-{table}-{top:012d}.parquet"
        write_atomic(self.folder / name, _parquet(fp))
        for _, path in merged:
            if path.name != name:
                path.unlink(missing_ok=True)

    def bundles(self) -> list[tuple[int, Path]]:
        """``(release entry index, folder)`` of the bundles kept, in log order."""
        if not self.folder.exists():
            return []
        found = []
        for path in self.folder.iterdir():
            if (path / MANIFEST).is_file():
                envelope = json.loads((path / MANIFEST).read_bytes())
                manifest = json.loads(base64.b64decode(envelope["payload"]))
                found.append((int(manifest["release"]["index"]), path))
        return sorted(found)

    def since(self, after: int) -> list[Path]:
        """The bundles whose release entry is at index ``after`` or later."""
        return [path for index, path in self.bundles() if index >= after]

    def refused(self) -> int | None:
        """The rows withheld at the last refusal logged for the peer, if it is the last
        decision (a refusal that changed nothing is not logged again at every pull)."""
        path = self.folder / "refused.json"
        return int(json.loads(path.read_bytes())["withheld"]) if path.exists() else None

    def refuse(self, withheld: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / "refused.json", json.dumps({"withheld": withheld}).encode())

    def checkpoint_sizes(self, paths: list[Path]) -> list[int]:
        """The sizes of the checkpoints the bundles in ``paths`` carry (their release
        checkpoints: a pull answer proves each consistent with its own)."""
        sizes = set()
        for path in paths:
            envelope = json.loads((path / MANIFEST).read_bytes())
            note = json.loads(base64.b64decode(envelope["payload"]))["release"]["checkpoint"]
            sizes.add(int(note.split("\n")[1]))
        return sorted(sizes)

    def drop(self, bundle_id: str) -> None:
        """Forget a kept bundle (it is retracted: never resent)."""
        shutil.rmtree(self.folder / bundle_id, ignore_errors=True)
        (self.folder / f"{bundle_id}.keys.json").unlink(missing_ok=True)


def read_files(folder: Path) -> dict[str, bytes]:
    """A bundle folder's files by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _parquet(fp: pa.Array[Any]) -> bytes:
    sink = pa.BufferOutputStream()
    # no dictionary: fingerprints are all distinct (building one cost 10x the write)
    pq.write_table(pa.table({"fp": fp}), sink, compression="zstd", use_dictionary=False)
    return bytes(sink.getvalue().to_pybytes())


def _write_all(folder: Path, files: dict[str, bytes]) -> None:
    """Write each file (temporary, fsynced), rename them into place, fsync the folder once:
    after a crash each is whole or absent (the outbox's readers take either)."""
    tmps = []
    for name, data in files.items():
        tmp = folder / f"{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmps.append((tmp, folder / name))
    for tmp, path in tmps:
        tmp.replace(path)
    fsync_dir(folder)


def keys_json(keys: dict[str, pa.Array[Any]]) -> bytes:
    """``{table: [key, ...]}`` as JSON, as ``json.dumps`` writes it; integer keys joined as
    text in Arrow (a Python list of a million integers cost 40x more)."""
    out = []
    for table, values in keys.items():
        if pa.types.is_integer(values.type) and values.null_count == 0:
            fn: Any = pc  # the stubs do not know a list array beside a separator
            text = fn.cast(values, pa.string())
            one = pa.ListArray.from_arrays(pa.array([0, len(text)], pa.int32()), text)
            items = fn.binary_join(one, ", ")[0].as_py() or ""
        else:
            items = json.dumps(values.to_pylist())[1:-1]
        out.append(f"{json.dumps(table)}: [{items}]")
    return ("{" + ", ".join(out) + "}").encode()
