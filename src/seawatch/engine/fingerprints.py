"""The inputs' fingerprints (:func:`~seawatch.engine.store_sink.fingerprint`) for a run,
read and hashed a few files at a time.

A run hashes every input before any work starts (the ingest log knows an input by its
fingerprint), so it is the run's serial start: ~0.35 s for four days of a 250-vessel
simulation (298 MB). ``hashlib`` releases the GIL while it hashes, and so does the read, so
threads share it out over the cores, idle at that point (bench/RESULTS.md, 2026-12-08
session 7, h-dask). The digests are the same; an unreadable input is told by its place."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from seawatch.decode.lacking import Untimed
from seawatch.engine.store_sink import fingerprint
from seawatch.errors import InputError

THREADS = 4
"""At most this many inputs read and hashed at once."""


def fingerprints(names: Sequence[str], untimed: Untimed | None) -> list[str | InputError]:
    """Each input's fingerprint, in the order of ``names``, or the :class:`InputError`
    that tells why it cannot be read."""

    def one(name: str) -> str | InputError:
        try:
            return fingerprint(Path(name), untimed)
        except InputError as exc:
            return exc

    if len(names) < 2:
        return [one(n) for n in names]
    with ThreadPoolExecutor(min(THREADS, len(names)), thread_name_prefix="fingerprint") as ex:
        return list(ex.map(one, names))
