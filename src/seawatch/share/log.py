"""The node's append-only audit log of federation decisions, kept as files.

In: entries (JSON objects: a ``kind`` such as ``release``, ``refusal``, ``import``, and its
facts) and the node's keys. Out, under ``<data_dir>/log/``:

- ``origin``: the log's name in its checkpoints (``seawatch/<NATION>/<node name>``), fixed
  when the log is created;
- ``entries``: one entry per line, each the canonical JSON (sorted keys, no spaces, ASCII)
  whose exact bytes are the Merkle leaf (:mod:`.merkle`); only ever appended (fsync);
- ``checkpoints/<size>.note``: the C2SP signed checkpoint of the tree after each append
  (written to a temporary file, fsynced, renamed).

Why files and not a store table: the log must outlive and stand apart from the store it
audits (a PostgreSQL store can be rebuilt, re-ingested or pointed elsewhere; the log must
not move with it), it is read whole by :func:`verify_log` and by partners (``audit
export``), and an append-only text file with atomic checkpoints is simple to check by hand
and by third-party tools. Appends are serialised by an exclusive lock on ``log/lock``; a
line torn by a crash (no final newline) was never checkpointed and is cut off on the next
append. Entries after the latest checkpoint (a crash between the two writes) are covered
by the next checkpoint.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seawatch.share import merkle
from seawatch.share.errors import LogError, VerifyError
from seawatch.share.files import folder_lock, write_atomic
from seawatch.share.keys import NodeKeys, Verifier
from seawatch.share.note import Checkpoint, signed_checkpoint, signer_names, verify_checkpoint

__all__ = ["AuditLog", "LogReport", "canonical", "log_dir", "verify_log"]


def log_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "log"


def canonical(entry: Mapping[str, Any]) -> bytes:
    """The one byte form of ``entry``: sorted keys, no spaces, ASCII (so no newline)."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


class AuditLog:
    """The log in ``folder``: its entries (leaf bytes) and leaf hashes, read when opened."""

    def __init__(self, folder: Path, origin: str) -> None:
        self.folder = folder
        self.origin = origin
        self.entries: list[bytes] = []
        self.leaves: list[bytes] = []
        self._read()

    @classmethod
    def open(cls, data_dir: Path, origin: str | None = None) -> AuditLog:
        """The node's log; created (with ``origin``) if it does not exist yet."""
        folder = log_dir(data_dir)
        origin_file = folder / "origin"
        if origin_file.is_file():
            return cls(folder, origin_file.read_text(encoding="utf-8").strip())
        if origin is None:
            raise LogError(f"no audit log in '{folder}' (it is made by the first release)")
        (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
        write_atomic(origin_file, origin.encode() + b"\n")
        return cls(folder, origin)

    @property
    def size(self) -> int:
        return len(self.entries)

    def _read(self) -> None:
        path = self.folder / "entries"
        try:
            data = path.read_bytes() if path.exists() else b""
        except OSError as exc:
            raise LogError(f"cannot read the audit log '{path}': {exc.strerror}") from None
        end = data.rfind(b"\n") + 1  # a torn last line (crash mid-append) is not an entry
        self.entries = data[:end].split(b"\n")[:-1] if end else []
        self.leaves = [merkle.leaf_hash(e) for e in self.entries]
        self._valid_bytes = end

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with folder_lock(self.folder):
            yield

    def append(
        self, entries: list[Mapping[str, Any]], keys: NodeKeys, key_name: str
    ) -> tuple[int, str]:
        """Append ``entries`` (each gets ``ts`` if it has none) and sign a checkpoint of the
        new tree. Returns the index of the first new entry and the signed checkpoint."""
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lines = [canonical({"ts": now, **e}) for e in entries]
        with self._locked():
            self._read()  # another process may have appended
            first = self.size
            path = self.folder / "entries"
            with open(path, "ab") as f:
                f.truncate(self._valid_bytes)
                f.write(b"".join(line + b"\n" for line in lines))
                f.flush()
                os.fsync(f.fileno())
            self.entries += lines
            self.leaves += [merkle.leaf_hash(line) for line in lines]
            self._valid_bytes += sum(len(line) + 1 for line in lines)
            note = self.sign(keys, key_name)
        return first, note

    def sign(self, keys: NodeKeys, key_name: str) -> str:
        """Sign and store a checkpoint of the whole log as it is now."""
        cp = Checkpoint(self.origin, self.size, merkle.root(self.leaves))
        note = signed_checkpoint(cp, keys, key_name)
        folder = self.folder / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / f"{self.size}.note", note.encode())
        return note

    def checkpoints(self) -> list[tuple[int, str]]:
        """``(size, signed note)`` of every stored checkpoint, smallest tree first."""
        folder = self.folder / "checkpoints"
        found = [p for p in folder.glob("*.note") if p.stem.isdigit()] if folder.is_dir() else []
        return [(int(p.stem), _note_text(p)) for p in sorted(found, key=_size)]

    def latest(self) -> str | None:
        notes = self.checkpoints()
        return notes[-1][1] if notes else None

    def entry(self, index: int) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.entries[index])
        return value

    def inclusion(self, index: int, size: int | None = None) -> list[bytes]:
        return merkle.inclusion_proof(index, self.leaves[: self.size if size is None else size])

    def consistency(self, first: int, second: int) -> list[bytes]:
        return merkle.consistency_proof(first, self.leaves[:second])


def _size(path: Path) -> int:
    return int(path.stem)


def _note_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise VerifyError("checkpoint", f"'{path.name}' is not UTF-8 text") from None
    except OSError as exc:
        raise LogError(f"cannot read checkpoint '{path}': {exc.strerror}") from None


def _verified(note: str, public: bytes, origin: str) -> Checkpoint:
    """The checkpoint ``note`` if ``public`` signed it under any name (the node's name may
    have changed since; the key id binds the name to the key)."""
    names = signer_names(note) or [""]
    for name in names[:-1]:
        with contextlib.suppress(VerifyError):
            return verify_checkpoint(note, Verifier(name, public), origin)
    return verify_checkpoint(note, Verifier(names[-1], public), origin)


@dataclass(frozen=True)
class LogReport:
    """What :func:`verify_log` found: entries, checkpoints checked, the latest head."""

    entries: int
    checkpoints: int
    checkpointed: int
    root_hash: bytes


def verify_log(log: AuditLog, public: bytes) -> LogReport:
    """Check every entry parses and every checkpoint is signed by ``public`` (under the name
    on its signature line) over the root of that many entries. VerifyError otherwise."""
    for i, line in enumerate(log.entries):
        try:
            value = json.loads(line)
        except ValueError:
            raise VerifyError("entry", f"entry {i} is not JSON") from None
        if not isinstance(value, dict) or canonical(value) != line:
            raise VerifyError("entry", f"entry {i} is not a canonical JSON object")
    builder = merkle.RootBuilder()
    checked, last = 0, 0
    for size, note in log.checkpoints():
        if size > log.size:
            raise VerifyError(
                "checkpoint",
                f"checkpoint of {size} entries, but the log holds {log.size}: entries lost",
            )
        cp = _verified(note, public, log.origin)
        if cp.size != size:
            raise VerifyError("checkpoint", f"file {size}.note holds a tree of {cp.size}")
        while builder.size < size:
            builder.append(log.leaves[builder.size])
        if builder.root() != cp.root_hash:
            raise VerifyError(
                "root", f"the first {size} entries do not hash to checkpoint {size}'s root"
            )
        checked, last = checked + 1, size
    return LogReport(log.size, checked, last, merkle.root(log.leaves))
