"""The release cursor: how far the last release to a peer read the store, so the next one
reads only what was written since (not everything releasable, as before: a pull's cost
then grew with the store, not with what is new).

In: the store (its write order: the hidden ``seq`` of positions, statics and events,
schema 7, and :meth:`~seawatch.store.base.Store.settled_seq`), the peer's rules, this
node's labels, and ``<data_dir>/share/outbox/<peer>/cursor.json`` from the last release.
Out: the records to decide on (:func:`read_for_release`), and the cursor to keep once the
release (or refusal) is logged (:func:`save_cursor`, replaced atomically).

A cursor holds ``seq``: every row written with a number up to it was read and decided on
at a release at ``read_at`` or later; ``rules``: the SHA-256 of the peer's rules then;
``denied``: this node's labels the peer's nation could not read then. The next release
reads, of this node's labels the peer may read:

- rows written after ``seq`` (committed writes only: the new ``seq`` is the settled write
  number read before the rows, so a write still open then is read next time);
- rows written up to ``seq`` whose record time is after ``read_at`` less the longest
  delay of the peer's rules: what a delay withheld then and may release now;
- everything (as at the first release) when the peer's rules changed (a new ``share
  allow`` may release older records), when a label it could not read became readable (a
  policy change), or when the cursor is missing or unreadable.

The outbox's fingerprints still drop what was released before (a crash after the release
is logged and before the cursor is kept re-reads from the old cursor; nothing is sent
twice), and tombstones drop what was retracted. The cursor's ``through`` (the index of the
last release whose fingerprints it covers) bounds that check: rows read only after the
cursor (no full read, no delay) of a table whose rows never change (positions, statics)
are checked against the fingerprints of releases after ``through`` alone (none unless a
release crashed before its cursor was kept), not against everything ever released. If
writers stay in flight (5 s), the cursor does not move: the rows after it are read again
next time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from seawatch.share.files import write_atomic
from seawatch.share.rules import Rules
from seawatch.store import TABLES, Store
from seawatch.store.query import Query

__all__ = ["CURSOR_FILE", "Cursor", "Read", "load_cursor", "read_for_release", "save_cursor"]

CURSOR_FILE: Final = "cursor.json"
SETTLE_S: Final = 5.0
"""How long a release waits for writers in flight to settle the write order."""


@dataclass(frozen=True)
class Cursor:
    """See the module."""

    seq: int
    read_at: dt.datetime
    rules: str
    denied: tuple[int, ...]
    through: int | None = None
    """The outbox's fingerprint segments up to this release index hold only rows written
    up to ``seq`` (None: unknown, every segment is read)."""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seq": self.seq,
            "read_at": self.read_at.isoformat(),
            "rules": self.rules,
            "denied": list(self.denied),
        }
        if self.through is not None:
            out["through"] = self.through
        return out


@dataclass(frozen=True)
class Read:
    """The rows of this node's labels to decide on, per table; ``fresh``: how many of them
    are new since the cursor (all of them at a full read); ``full``: whether everything was
    read; ``cursor``: to keep once the decision is logged (None: keep none)."""

    rows: dict[str, pa.Table]
    fresh: int
    full: bool
    cursor: Cursor | None
    checked_after: int | None = None
    """Rows read of a table whose rows never change (positions, statics) can only have
    been released by a release whose index is after this one (a crash between a
    release and its cursor): only those fingerprint segments need checking (None: all)."""
    settled: bool = False
    """Whether ``cursor.seq`` is this read's settled write number (so every release kept
    so far holds only rows up to it) rather than the old cursor's kept again."""


def rules_digest(rules: Rules, peer: str) -> str:
    """SHA-256 of the peer's rules as text, in order (any change of them changes it)."""
    text = "".join(rule.to_toml() for _, rule in rules.for_peer(peer))
    return hashlib.sha256(text.encode()).hexdigest()


def load_cursor(folder: Path) -> Cursor | None:
    """The cursor kept in a peer's outbox folder (None: none, or unreadable)."""
    path = Path(folder) / CURSOR_FILE
    try:
        data = json.loads(path.read_bytes())
        return Cursor(
            int(data["seq"]),
            dt.datetime.fromisoformat(data["read_at"]),
            str(data["rules"]),
            tuple(int(i) for i in data["denied"]),
            None if data.get("through") is None else int(data["through"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a full read is always correct


def save_cursor(folder: Path, cursor: Cursor) -> None:
    Path(folder).mkdir(parents=True, exist_ok=True)
    write_atomic(Path(folder) / CURSOR_FILE, json.dumps(cursor.as_json()).encode())


def read_for_release(
    store: Store,
    query: Query,
    tables: tuple[str, ...],
    nation: str,
    peer: str,
    rules: Rules,
    now: dt.datetime,
    folder: Path | None,
) -> Read:
    """The rows of this node's (``nation``'s) labels the peer may read that the release at
    ``now`` must decide on: those new since the cursor in ``folder`` (the peer's outbox),
    or all of them without a folder or a usable cursor (see the module)."""
    settled = store.settled_seq(SETTLE_S) if folder is not None else None
    readable = query.labels()  # after the settled number: its rows' labels are stored
    ours = sorted(i for i, lb in readable.items() if lb.originator == nation)
    denied = sorted(
        i for i, lb in store.labels().items() if lb.originator == nation and i not in readable
    )
    digest = rules_digest(rules, peer)
    old = load_cursor(folder) if folder is not None else None
    usable = old is not None and old.rules == digest and not set(old.denied) & set(ours)
    rows: dict[str, pa.Table] = {}
    fresh = 0
    delays = [r.delay_s or 0.0 for _, r in rules.for_peer(peer)]
    last = query.last_written(tables) if old is not None and usable else {}
    for table in tables:
        if old is None or not usable:
            rows[table] = query.written(table, ours)
            fresh += rows[table].num_rows
            continue
        if last.get(table, 0) > old.seq:
            new = query.written(table, ours, after_seq=old.seq)
        else:  # nothing written after the cursor (one query for every table said so)
            new = TABLES[table].arrow_schema().empty_table()
        fresh += new.num_rows
        if max(delays, default=0.0) > 0:
            since = old.read_at - dt.timedelta(seconds=max(delays))
            held = query.written(table, ours, upto_seq=old.seq, time_after=since)
            new = pa.concat_tables([new, held])
        rows[table] = new
    if folder is None:
        cursor = None
    elif settled is not None:
        cursor = Cursor(settled, now, digest, tuple(denied))
    elif old is not None and usable:  # writers in flight: read after the old cursor again
        cursor = Cursor(old.seq, now, digest, tuple(denied), old.through)
    else:
        cursor = None
    only_new = old is not None and usable and max(delays, default=0.0) == 0
    checked_after = old.through if only_new and old is not None else None
    full = old is None or not usable
    return Read(rows, fresh, full, cursor, checked_after, settled is not None)
