"""Decode to files: AIS inputs decoded, table by table, into Parquet or JSON lines.

In: sources (files, or ``-`` for stdin), the settings, an output (:class:`ParquetSink` in a
directory, or :class:`JsonlSink` on a stream), and optionally a quarantine file for rejected
lines and callbacks for progress. Out: the decoded tables written (Parquet files put in
place only once every input was read) and a :class:`DecodeResult`. An input that cannot be
read (or only in part) is named in ``DecodeResult.findings`` and the others are decoded.
Inputs are decoded one after the other: decoding needs no time order across inputs
(``seawatch detect`` and ``ingest`` merge them through the engine). ``seawatch decode``
and ``seawatch demo`` are this call.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from seawatch.decode import DecodeStats, decode_stream
from seawatch.decode.lacking import Untimed, no_ais_text
from seawatch.decode.layouts import LAYOUTS
from seawatch.decode.schemas import SCHEMAS
from seawatch.engine.inputs import Findings
from seawatch.engine.outputs import JsonlSink, ParquetSink
from seawatch.errors import InputError

if TYPE_CHECKING:
    from seawatch.settings import Settings

__all__ = ["DecodeResult", "decode_files", "jsonl_sink", "parquet_sink", "projections"]


@dataclass
class DecodeResult:
    """What decoding saw, the rows written per table, and how long it took."""

    stats: DecodeStats = field(default_factory=DecodeStats)
    rows: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    findings: Findings = field(default_factory=Findings)
    """Inputs that could not be read (or only in part), and inputs without AIS."""


def projections() -> dict[str, frozenset[int]]:
    """Table → message types that appear there only as a projection (``Layout.also``)."""
    primary = {(lay.table, lay.msg_type) for lay in LAYOUTS}
    out: dict[str, set[int]] = {}
    for lay in LAYOUTS:
        for table in lay.also:
            if (table, lay.msg_type) not in primary:
                out.setdefault(table, set()).add(lay.msg_type)
    return {table: frozenset(types) for table, types in out.items()}


def parquet_sink(out_dir: Path) -> ParquetSink:
    """One Parquet file per decoded table in ``out_dir`` (the tables' declared schemas)."""
    return ParquetSink(out_dir, dict(SCHEMAS))


def jsonl_sink(stream: object) -> JsonlSink:
    """One JSON object per message on ``stream``, each under its own table only."""
    return JsonlSink(stream, skip=projections())  # type: ignore[arg-type]


def decode_files(
    sources: Sequence[str | Path],
    *,
    settings: Settings,
    sink: ParquetSink | JsonlSink,
    keep_raw: bool = False,
    quarantine: BinaryIO | None = None,
    on_source: Callable[[str], object] | None = None,
    progress: Callable[[int], object] | None = None,
    untimed: Untimed | None = None,
) -> DecodeResult:
    """Decode ``sources`` one after the other into ``sink``. ``on_source`` is told each
    input's name as it starts, ``progress`` the bytes read; ``untimed``: times assumed for
    messages without one (:mod:`seawatch.decode.lacking`)."""
    started = time.perf_counter()
    total = DecodeStats()
    found = Findings()
    parquet = isinstance(sink, ParquetSink)
    with sink if isinstance(sink, ParquetSink) else contextlib.nullcontext():
        for src in sources:
            name = str(src) if src != "-" else "stdin"
            if on_source is not None:
                on_source(Path(src).name if src != "-" else "stdin")
            batches = decode_stream(
                src,
                keep_raw=keep_raw,
                quarantine=quarantine,
                settings=settings,
                progress=progress,
                untimed=untimed,
            )
            seen = DecodeStats()
            try:
                for batch in batches:
                    if isinstance(sink, ParquetSink):
                        for table_name, table in batch.tables.items():
                            sink.write(table_name, table)
                    else:
                        sink.write_batch(batch.tables)
                    seen = seen.merge(batch.stats)
            except InputError as e:  # what came before the damage is kept
                found.errors.append(str(e))
                found.failed.add(name)
            else:
                if seen.messages == 0:
                    found.notes.append(
                        no_ais_text(name, seen.lines, seen.sentences, dict(seen.rejects))
                    )
            total = total.merge(seen)
        if parquet:
            sink.commit()  # type: ignore[union-attr]
    return DecodeResult(total, dict(sink.rows), time.perf_counter() - started, found)
