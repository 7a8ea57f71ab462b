"""``seawatch detect``: AIS inputs to segmented positions, segments and events.

In: NMEA or tabular AIS files, or seawatch Parquet (anything :func:`seawatch.decode.decode_stream`
reads), and the names of zone layers imported under ``<data_dir>/zones/``. Out: in ``--out``,
``positions.parquet`` (cleaned, with ``segment_id`` and the geography columns),
``segments.parquet`` (:data:`seawatch.tracks.schemas.SEGMENTS`), ``identity.parquet``
(:data:`seawatch.tracks.schemas.IDENTITY`), ``events.parquet``
(:data:`seawatch.events.EVENTS_SCHEMA`) and ``late_positions.parquet`` /
``late_statics.parquet`` (rows quarantined as too late to put in time order), each written
to a temporary file and renamed into place; a count of events per type on stdout.

The work is :class:`seawatch.engine.pipeline.Pipeline`'s; this module reads the inputs chunk by
chunk (side by side, oldest chunk first, so a positions file and a statics file of the same
day interleave) and streams the pipeline's output to disk: memory is a chunk plus the
stages' state, not the input.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seawatch.cli.common import load_zones, settings_of, split_zone_names, zones_option
from seawatch.cli.decode import _check_input
from seawatch.cli.output import conform_to
from seawatch.engine.pipeline import DETECTORS, ChunkResult, Pipeline, ts_us
from seawatch.errors import InputError, StoreError

if TYPE_CHECKING:
    from seawatch.decode import DecodeStats
    from seawatch.settings import Settings

__all__ = ["DETECTORS", "DetectResult", "detect_command", "format_detect_summary", "run_detect"]

log = logging.getLogger(__name__)

_EXAMPLE = """\b
Examples:
  seawatch detect data/sample/bay-of-bengal.nmea --out data/detect
  seawatch detect day1.nmea.gz day2.nmea.gz --out data/detect --zones eez,fishing_areas
  seawatch detect data/out/positions.parquet data/out/statics.parquet --out data/detect
"""

Piece = tuple[pa.Table, pa.Table, "DecodeStats"]
_HEAD_BYTES = 64 * 1024  # decoded to find where an input starts


@dataclass
class DetectResult:
    """What one run produced: row counts, events per type, geography status, seconds."""

    messages: int = 0
    rejected: int = 0
    positions: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    late: dict[str, int] = field(default_factory=dict)
    segments: int = 0
    events_by_type: dict[str, int] = field(default_factory=dict)
    geography: bool = False
    elapsed_s: float = 0.0
    chunks: int = 0
    files: list[Path] = field(default_factory=list)


def _pieces(source: str | Path, settings: Settings, chunk_rows: int | None) -> Iterator[Piece]:
    """(positions, statics, decode counts) of ``source``, at most ``chunk_rows`` rows each."""
    from seawatch.decode import DecodeStats, decode_stream
    from seawatch.decode.schemas import SCHEMAS

    for batch in decode_stream(source, settings=settings):
        pos, st = (
            conform_to(batch.tables[name], SCHEMAS[name], name)
            if name in batch.tables
            else SCHEMAS[name].empty_table()
            for name in ("positions", "statics")
        )
        if not chunk_rows or max(pos.num_rows, st.num_rows) <= chunk_rows:
            yield pos, st, batch.stats
            continue
        # a batch is grouped by message type: cut it into spans of time instead
        pos, st = (t.take(np.argsort(ts_us(t), kind="stable")) for t in (pos, st))
        swap = st.num_rows > pos.num_rows  # cut the longer table by rows, the other by time
        lead, other = (st, pos) if swap else (pos, st)
        starts = list(range(0, lead.num_rows, chunk_rows))
        at = np.searchsorted(ts_us(other), ts_us(lead)[starts[1:]]).tolist()
        cuts = [0, *at, other.num_rows]
        for i, start in enumerate(starts):
            a = lead.slice(start, chunk_rows)
            b = other.slice(cuts[i], cuts[i + 1] - cuts[i])
            stats = batch.stats if i == 0 else DecodeStats()
            yield (b, a, stats) if swap else (a, b, stats)


def _span(piece: Piece) -> tuple[int | None, int | None]:
    """Oldest and newest time in a piece (µs), None when it has none."""
    lo: int | None = None
    hi: int | None = None
    for table in piece[:2]:
        mm: Any = pc.min_max(table.column("ts").cast(pa.int64()))
        if mm["min"].is_valid:
            lo = mm["min"].as_py() if lo is None else min(lo, mm["min"].as_py())
            hi = mm["max"].as_py() if hi is None else max(hi, mm["max"].as_py())
    return lo, hi


class _Input:
    """One input read a piece ahead, and the newest time fed from it."""

    def __init__(self, pieces: Iterator[Piece]) -> None:
        self.pieces = pieces
        self.head: Piece | None = None
        self.start: int | None = None
        self.clock: int | None = None
        self.advance()

    def advance(self) -> None:
        self.head = next(self.pieces, None)
        self.start = None if self.head is None else _span(self.head)[0]

    def take(self) -> Piece:
        assert self.head is not None
        piece, newest = self.head, _span(self.head)[1]
        if newest is not None:
            self.clock = newest if self.clock is None else max(self.clock, newest)
        self.advance()
        return piece


def _start(source: str | Path, settings: Settings) -> int | None:
    """Oldest time (µs) in the first batch of ``source`` with one, decoding only its head."""
    head = dataclasses.replace(settings, decode_chunk_bytes=_HEAD_BYTES)
    for k, piece in enumerate(_pieces(source, head, None)):
        start = _span(piece)[0]
        if start is not None or k >= 3:
            return start
    return None


def _merged(
    sources: Sequence[str | Path], settings: Settings, chunk_rows: int | None
) -> Iterator[tuple[Piece, int | None]]:
    """Pieces of all inputs, the one starting first next, and the time all inputs reached.

    Inputs are opened in the order of their first time, each only when its turn comes
    (inputs of successive days are read one after the other, a positions and a statics
    file of the same day side by side). The time reached is the slowest open input's newest
    time fed (or its start), and the start of any input not opened yet: the pipeline may
    release up to it, less its reorder window. None once every input is read.
    """
    never = np.iinfo(np.int64).min
    waiting = sorted(
        ((_start(src, settings), k, src) for k, src in enumerate(sources)),
        key=lambda w: (never if w[0] is None else w[0], w[1]),
    )
    opened: list[_Input] = []
    while True:
        live = [i for i in opened if i.head is not None]
        first = min((never if i.start is None else i.start for i in live), default=None)
        if waiting and (first is None or (waiting[0][0] or never) <= first):
            opened.append(_Input(_pieces(waiting.pop(0)[2], settings, chunk_rows)))
            continue
        if not live:
            return
        piece = min(live, key=lambda i: never if i.start is None else i.start).take()
        clocks = [i.clock if i.clock is not None else i.start for i in opened if i.head]
        clocks += [w[0] for w in waiting]
        yield piece, (None if not clocks else min(never if c is None else c for c in clocks))


class _Outputs:
    """Parquet files in ``out_dir``, each streamed to a hidden temporary file and renamed into
    place by :meth:`commit`; leaving the ``with`` block through an exception removes them."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._writers: dict[str, tuple[pq.ParquetWriter, Path]] = {}
        self.schemas: dict[str, pa.Schema] = {}
        self.rows: dict[str, int] = {}

    def write(self, name: str, table: pa.Table) -> None:
        """Append ``table`` to ``<name>.parquet`` (created, empty, by its first table)."""
        if name not in self._writers:
            tmp = self.out_dir / f".{name}.parquet.{os.getpid()}.tmp"
            try:
                self._writers[name] = (pq.ParquetWriter(tmp, table.schema, compression="zstd"), tmp)
            except OSError as exc:
                raise StoreError(f"cannot write '{tmp}': {exc} (check --out)") from None
            self.schemas[name] = table.schema
            self.rows[name] = 0
        writer, _ = self._writers[name]
        if table.num_rows:
            writer.write_table(conform_to(table, self.schemas[name], name))
            self.rows[name] += table.num_rows

    def commit(self) -> list[Path]:
        """Close every file and rename it into place; returns the final paths."""
        done = []
        try:
            for writer, _ in self._writers.values():
                writer.close()
            for name, (_, tmp) in self._writers.items():
                final = self.out_dir / f"{name}.parquet"
                os.replace(tmp, final)
                done.append(final)
        except OSError as exc:
            raise StoreError(f"cannot write into '{self.out_dir}': {exc} (check --out)") from None
        self._writers.clear()
        return done

    def abort(self) -> None:
        for writer, tmp in self._writers.values():
            try:
                writer.close()
            finally:
                tmp.unlink(missing_ok=True)
        self._writers.clear()

    def __enter__(self) -> _Outputs:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.abort()


def _late_table(table: pa.Table) -> pa.Table:
    return table.append_column("reason", pa.array(["late"] * table.num_rows, pa.string()))


def _write_chunk(out: _Outputs, result: ChunkResult, events: list[pa.Table]) -> None:
    out.write("positions", result.positions)
    for name, late in result.late.items():
        out.write(f"late_{name}", _late_table(late))
    events.append(result.events)


def run_detect(
    sources: Sequence[str | Path],
    *,
    settings: Settings,
    out_dir: Path,
    zone_names: Sequence[str] = (),
    chunk_rows: int | None = None,
) -> DetectResult:
    """Run the pipeline on ``sources`` chunk by chunk and write its tables into ``out_dir``."""
    from seawatch.decode import DecodeStats
    from seawatch.decode.schemas import SCHEMAS
    from seawatch.events import EVENTS_SCHEMA
    from seawatch.events.schema import sort_events

    started = time.perf_counter()
    zones = load_zones(zone_names, settings.data_dir)  # fail early on an unknown layer
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create output directory '{out_dir}': {exc.strerror} (choose another --out)"
        raise InputError(msg) from None
    pipe = Pipeline(zones=zones, reorder_window_s=settings.reorder_window_s)
    stats, decoded, chunks = DecodeStats(), 0, 0
    found: list[pa.Table] = [EVENTS_SCHEMA.empty_table()]
    with _Outputs(out_dir) as out:
        for name in ("positions", "statics"):  # the quarantine files exist even when empty
            out.write(f"late_{name}", _late_table(SCHEMAS[name].empty_table()))
        for (positions, statics, batch_stats), now in _merged(sources, settings, chunk_rows):
            stats = stats.merge(batch_stats)
            decoded += positions.num_rows
            chunks += 1
            _write_chunk(out, pipe.feed(positions, statics, now), found)
        _write_chunk(out, pipe.finish(), found)
        segments = pipe.segments()
        events = sort_events(pa.concat_tables(found))
        out.write("segments", segments)
        out.write("identity", pipe.history())
        out.write("events", events)
        files = out.commit()
    if not decoded:
        log.warning("no positions decoded from %d input(s): nothing to detect", len(sources))
    if sum(pipe.late.values()):
        log.warning(
            "%d positions and %d statics came more than %g s after newer rows (reorder_window_s)"
            ": left out and quarantined in %s; sort the input by time or raise "
            "SEAWATCH_REORDER_WINDOW_S",
            pipe.late["positions"],
            pipe.late["statics"],
            settings.reorder_window_s,
            out_dir / "late_*.parquet",
        )
    counts = events.group_by("event_type").aggregate([("event_id", "count")]).to_pylist()
    by_type = {name: 0 for name, _ in DETECTORS}
    by_type.update({row["event_type"]: row["event_id_count"] for row in counts})
    return DetectResult(
        messages=stats.messages,
        rejected=sum(stats.rejects.values()),
        positions=pipe.positions,
        dropped=dict(pipe.dropped),
        late=dict(pipe.late),
        segments=segments.num_rows,
        events_by_type=by_type,
        geography=pipe.geography,
        elapsed_s=time.perf_counter() - started,
        chunks=chunks,
        files=files,
    )


def format_detect_summary(result: DetectResult) -> str:
    """Segments and events per type as plain text."""
    width = max(len(name) for name in result.events_by_type) if result.events_by_type else 5
    lines = [
        "detect summary",
        f"  messages    {result.messages:>10,}  ({result.rejected:,} input lines rejected)",
        f"  positions   {result.positions:>10,}  (after cleaning; "
        f"{sum(result.dropped.values()):,} dropped)",
        f"  late        {sum(result.late.values()):>10,}  (quarantined in late_*.parquet)",
        f"  segments    {result.segments:>10,}",
        f"  geography   {'yes' if result.geography else 'no (see warning)':>10}",
        f"  elapsed     {result.elapsed_s:>10.2f} s  ({result.chunks:,} chunks)",
        "",
        "events by type",
    ]
    lines += [f"  {name:<{width}}  {n:>8,}" for name, n in sorted(result.events_by_type.items())]
    lines.append(f"  {'total':<{width}}  {sum(result.events_by_type.values()):>8,}")
    return "\n".join(lines) + "\n"


@click.command("detect", epilog=_EXAMPLE)
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for positions, segments, identity, events and late_* Parquet files.",
)
@zones_option
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Feed the pipeline at most N decoded rows at a time (default: each decoded batch, "
    "about decode_chunk_bytes of input).",
)
@click.option(
    "--summary/--no-summary", default=True, show_default=True, help="Print events per type."
)
@click.pass_context
def detect_command(
    ctx: click.Context,
    inputs: tuple[str, ...],
    out_dir: Path,
    zone_names: tuple[str, ...],
    chunk_rows: int | None,
    summary: bool,
) -> None:
    """Find tracks and events in AIS files (NMEA, CSV or seawatch Parquet).

    Decodes every INPUT, cleans and segments the positions, adds geography
    (land, distance to shore and port, --zones) when its packages are
    installed, runs every event detector and writes the results into --out.
    Inputs are read chunk by chunk, side by side, and put in time order within
    reorder_window_s (rows later than that are quarantined in late_*.parquet):
    memory stays bounded, not the whole input.
    Exit code 0 done, 1 an input cannot be read, 2 bad usage.
    """
    settings = settings_of(ctx)
    if "-" in inputs:
        raise click.UsageError("detect reads files, not stdin ('-'); save the feed to a file")
    sources = [_check_input(name) for name in inputs]
    names = split_zone_names(zone_names)
    result = run_detect(
        sources, settings=settings, out_dir=out_dir, zone_names=names, chunk_rows=chunk_rows
    )
    n_events = sum(result.events_by_type.values())
    click.echo(
        f"detected {n_events:,} events in {result.segments:,} segments of {result.positions:,} "
        f"positions in {result.elapsed_s:.1f} s -> {out_dir}",
        err=True,
    )
    if summary:
        click.echo(format_detect_summary(result), nl=False)
