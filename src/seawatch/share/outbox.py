"""What this node has released to each peer: the bundles, kept for resending, and the
fingerprints of the records in them, so the next release carries only what is new.

In: a peer's name, and bundles sealed for it (:mod:`.bundle`). Out, under
``<data_dir>/share/outbox/<peer>/``:

- ``<bundle id>/``: each bundle released to the peer, as written (a lost copy is resent
  as is: imports are idempotent), and ``<bundle id>.keys.json``: its records' keys (a
  bundle is retracted by its id);
- ``sent-<table>.parquet``: one ``fp`` per record released: the key of a table whose rows
  never change (positions: ``msg_key``), the whole row as text for one whose rows are
  replaced as they grow, the SHA-256 of the whole row (events: a longer event is new;
  events are few, so a row at a time is fine).

:meth:`Outbox.since` lists the bundles whose release entry is at or after a position of
this node's log: what a peer that verified this node's log up to that size may lack.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seawatch.share.files import write_atomic
from seawatch.store import TABLES

__all__ = ["Outbox"]

MANIFEST = "manifest.dsse.json"


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

    def _sent_file(self, table: str) -> Path:
        return self.folder / f"sent-{table}.parquet"

    def _sent(self, table: str) -> pa.Array[Any] | None:
        path = self._sent_file(table)
        if not path.exists():
            return None
        return pq.read_table(path).column("fp").combine_chunks()

    def unsent(self, table: str, rows: pa.Table) -> pa.Table:
        """``rows`` but those released to the peer before."""
        sent = self._sent(table)
        if sent is None or rows.num_rows == 0:
            return rows
        fn: Any = pc
        seen = fn.is_in(fingerprints(table, rows), sent)
        return rows.filter(fn.invert(seen))

    def mark(self, table: str, rows: pa.Table) -> None:
        """Remember ``rows`` as released (after their bundle is written)."""
        if rows.num_rows == 0:
            return
        new = fingerprints(table, rows)
        old = self._sent(table)
        fp = new if old is None else pa.concat_arrays([old, new.cast(old.type)])
        self.folder.mkdir(parents=True, exist_ok=True)
        sink = pa.BufferOutputStream()
        pq.write_table(pa.table({"fp": fp}), sink, compression="zstd")
        write_atomic(self._sent_file(table), sink.getvalue().to_pybytes())

    def keep_keys(self, bundle_id: str, keys: dict[str, list[Any]]) -> None:
        """Remember the record keys of a bundle (so it can be retracted by its id)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "refused.json").unlink(missing_ok=True)  # a release came after it
        write_atomic(self.folder / f"{bundle_id}.keys.json", json.dumps(keys).encode())

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
