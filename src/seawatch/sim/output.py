"""Where a simulation's output goes: hourly NMEA files, the truth, zones and the manifest.

In: a time step's position lines (one blob, receive-time ordered) and static messages, and
at the end the truth records and the run's counts. Out: the lines merged by receive second
into a :class:`Sink` (:class:`HourlyWriter`: ``ais-YYYYMMDDTHH.nmea`` files; or a socket,
:mod:`.live`), then ``truth.jsonl``, ``zones.geojson`` (:mod:`.zones`) and ``manifest.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import numpy.typing as npt

from seawatch.sim.zones import ZONES_FILE, write_zones

__all__ = ["HourlyWriter", "Sink", "count_types", "write_merged", "write_outputs"]


class Sink(Protocol):
    """Where the lines go: hourly files (:class:`HourlyWriter`) or a socket (:mod:`.live`)."""

    files: list[str]
    lines: int

    def write(self, c_s: int, data: bytes, n_lines: int) -> None: ...

    def close(self) -> None: ...


class HourlyWriter:
    """Hourly files named by the receive time's UTC hour; lines arrive time-ordered."""

    def __init__(self, out: Path, start_epoch: int) -> None:
        self.out, self.start_epoch = out, start_epoch
        self.hour = -1
        self.fh: IO[bytes] | None = None
        self.files: list[str] = []
        self.lines = 0

    def write(self, c_s: int, data: bytes, n_lines: int) -> None:
        hour = c_s // 3600
        if hour != self.hour:
            self.close()
            name = dt.datetime.fromtimestamp(hour * 3600, dt.UTC).strftime("ais-%Y%m%dT%H.nmea")
            self.fh = (self.out / name).open("wb")
            self.files.append(name)
            self.hour = hour
        assert self.fh is not None
        self.fh.write(data)
        self.lines += n_lines

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def write_merged(
    sink: Sink,
    c_s: npt.NDArray[np.int64],
    blob: bytes,
    lengths: npt.NDArray[np.int64],
    statics: list[tuple[int, list[str]]],
) -> int:
    """Positions and statics merged by receive second (positions first in a second).

    ``blob`` holds the position lines back to back (``lengths`` bytes each, receive seconds
    ``c_s`` ascending); ``statics`` are (receive second, lines), time-ordered. Returns the
    number of receptions written (position lines and static messages).
    """
    ends = np.cumsum(lengths)
    starts = ends - lengths
    seconds = np.unique(np.concatenate([c_s, np.array([s for s, _ in statics], np.int64)]))
    cut = np.searchsorted(c_s, seconds, side="left")
    cut_end = np.searchsorted(c_s, seconds, side="right")
    k = 0
    for sec, a, b in zip(seconds.tolist(), cut.tolist(), cut_end.tolist(), strict=True):
        if b > a:
            sink.write(sec, blob[int(starts[a]) : int(ends[b - 1])], b - a)
        lines: list[str] = []
        while k < len(statics) and statics[k][0] == sec:
            lines += statics[k][1]
            k += 1
        if lines:
            sink.write(sec, ("\n".join(lines) + "\n").encode("ascii"), len(lines))
    return len(lengths) + len(statics)


def count_types(records: list[dict[str, Any]]) -> dict[str, int]:
    """Truth records per event type, sorted by type."""
    out: dict[str, int] = {}
    for r in records:
        out[r["event_type"]] = out.get(r["event_type"], 0) + 1
    return dict(sorted(out.items()))


def write_outputs(out: Path, records: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    """``truth.jsonl`` (``records``), ``zones.geojson`` and ``manifest.json`` in ``out``.

    Each file is written to a temporary name and moved into place, so a reader never sees a
    half-written one.
    """
    tmp = out / f".truth.{os.getpid()}.tmp"
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(json.dumps(rec, sort_keys=True) + "\n")
    os.replace(tmp, out / "truth.jsonl")
    write_zones(records, out / ZONES_FILE)
    tmp = out / f".manifest.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, out / "manifest.json")
