"""Label ids: a new label's id drawn from a hash of its canonical form.

In: a :class:`~seawatch.labels.Label`. Out: its key (canonical text, originator, derived) and
the id that key hashes to, in [2**20, 2**31 - 1): the same on every node and every run, so
ids are stable without a counter (ids below 2**20 were given in order by older versions and
stay valid). :meth:`seawatch.store.base.Store.label_id` uses them.
"""

from __future__ import annotations

import hashlib

from seawatch.labels import Label

__all__ = ["hashed_label_id", "label_key", "next_label_id"]


def label_key(label: Label) -> tuple[str, str, bool]:
    return (str(label), label.originator, label.derived)


_HASHED_BASE = 1 << 20  # ids below: given in order by older versions (still valid)
_HASHED_SPAN = (1 << 31) - 1 - _HASHED_BASE


def hashed_label_id(key: tuple[str, str, bool]) -> int:
    """A label id from the label's canonical form, in [2**20, 2**31 - 1)."""
    digest = hashlib.sha256(repr(key).encode()).digest()
    return _HASHED_BASE + int.from_bytes(digest[:8], "big") % _HASHED_SPAN


def next_label_id(taken: int) -> int:
    """The id tried after ``taken`` when another label holds it (the next, wrapping)."""
    return _HASHED_BASE + (taken - _HASHED_BASE + 1) % _HASHED_SPAN
