"""``seawatch detect``: AIS inputs to segmented positions, segments and events.

In: NMEA or tabular AIS files, or seawatch Parquet (anything :func:`seawatch.decode.decode_stream`
reads), and the names of zone layers imported under ``<data_dir>/zones/``. Out: in ``--out``,
``positions.parquet`` (cleaned, with ``segment_id`` and the geography columns),
``segments.parquet`` (:data:`seawatch.tracks.schemas.SEGMENTS`) and ``events.parquet``
(:data:`seawatch.events.EVENTS_SCHEMA`), each written to a temporary file and renamed into
place; a count of events per type on stdout. The stages do the work; this module only
chains them: decode → tracks.clean → tracks.segment → geo.enrich → every events detector.

The whole input is held in memory (one pass, no chunking yet): fine for files of a few
million positions, not for months of a global feed.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pyarrow as pa
import pyarrow.parquet as pq

from seawatch.cli.common import settings_of
from seawatch.cli.decode import _check_input
from seawatch.cli.output import conform_to
from seawatch.errors import ConfigError, InputError, StoreError

if TYPE_CHECKING:
    from seawatch.settings import Settings

__all__ = ["DETECTORS", "DetectResult", "detect_command", "format_detect_summary", "run_detect"]

log = logging.getLogger(__name__)

DETECTORS: tuple[tuple[str, str], ...] = (
    ("gap", "positions"),
    ("suspected_disabling", "positions"),
    ("loitering", "positions"),
    ("spoofing", "positions"),
    ("encounter", "positions"),
    ("port_visit", "positions"),
    ("zone_entry", "positions"),
    ("identity_change", "statics"),
)
"""Each detector module of :mod:`seawatch.events` run by ``detect``, with the table it reads."""

_EXAMPLE = """\b
Examples:
  seawatch detect data/sample/bay-of-bengal.nmea --out data/detect
  seawatch detect day1.nmea.gz day2.nmea.gz --out data/detect --zones eez,fishing_areas
  seawatch detect data/out/positions.parquet data/out/statics.parquet --out data/detect
"""


@dataclass
class DetectResult:
    """What one run produced: row counts, events per type, geography status, seconds."""

    messages: int = 0
    rejected: int = 0
    positions: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    segments: int = 0
    events_by_type: dict[str, int] = field(default_factory=dict)
    geography: bool = False
    elapsed_s: float = 0.0
    files: list[Path] = field(default_factory=list)


def _decode_all(
    sources: Sequence[str | Path], settings: Settings
) -> tuple[pa.Table, pa.Table, Any]:
    """Positions and statics of every input, concatenated (held in memory), and decode counts."""
    from seawatch.decode import DecodeStats, decode_stream
    from seawatch.decode.schemas import SCHEMAS

    parts: dict[str, list[pa.Table]] = {"positions": [], "statics": []}
    stats = DecodeStats()
    for src in sources:
        for batch in decode_stream(src, settings=settings):
            stats = stats.merge(batch.stats)
            for name, tables in parts.items():
                table = batch.tables.get(name)
                if table is not None and table.num_rows:
                    tables.append(conform_to(table, SCHEMAS[name], name))
    positions, statics = (
        pa.concat_tables(parts[name]) if parts[name] else SCHEMAS[name].empty_table()
        for name in ("positions", "statics")
    )
    if not positions.num_rows:
        log.warning("no positions decoded from %d input(s): nothing to detect", len(sources))
    return positions, statics, stats


def _load_zones(names: Sequence[str], data_dir: Path) -> list[Any]:
    """The zone layers named; a missing layer is an error, a missing package a warning."""
    if not names:
        return []
    try:
        from seawatch.geo.zones import load_zone_layer
    except ImportError as exc:
        log.warning("zone layers %s skipped: %s (install seawatch's geo extras)", names, exc)
        return []
    return [load_zone_layer(name, data_dir) for name in names]


def _enrich(positions: pa.Table, zones: Sequence[Any]) -> tuple[pa.Table, bool]:
    """Positions with the geography columns, or unchanged (with a warning) if geo cannot run."""
    try:
        from seawatch.geo import enrich

        return enrich(positions, zones=zones), True
    except (ImportError, ConfigError, OSError) as exc:
        log.warning(
            "geography skipped (%s): events run without on_land, distance_to_shore_km and "
            "distance_to_port_km, so suspected_disabling finds nothing",
            exc,
        )
        return positions, False


def _detect_all(positions: pa.Table, statics: pa.Table) -> pa.Table:
    """Events of every detector in :data:`DETECTORS`, in canonical order."""
    from seawatch.events import EVENTS_SCHEMA
    from seawatch.events.schema import sort_events

    inputs = {"positions": positions, "statics": statics.sort_by([("ts", "ascending")])}
    found = [EVENTS_SCHEMA.empty_table()]
    for name, table in DETECTORS:
        module = importlib.import_module(f"seawatch.events.{name}")
        events, _state = module.detect(inputs[table])
        found.append(events)
    return sort_events(pa.concat_tables(found))


def _write_atomic(tables: dict[Path, pa.Table]) -> None:
    """Each table to its path: all to temporary files beside them first, then renamed."""
    temps = {path: path.with_name(f".{path.name}.{os.getpid()}.tmp") for path in tables}
    try:
        for path, table in tables.items():
            pq.write_table(table, temps[path], compression="zstd")
        for path, tmp in temps.items():
            os.replace(tmp, path)
    except OSError as exc:
        raise StoreError(f"cannot write into '{path.parent}': {exc} (check --out)") from None
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)


def run_detect(
    sources: Sequence[str | Path],
    *,
    settings: Settings,
    out_dir: Path,
    zone_names: Sequence[str] = (),
) -> DetectResult:
    """Run the pipeline on ``sources`` and write the three tables into ``out_dir``."""
    from seawatch import tracks

    started = time.perf_counter()
    zones = _load_zones(zone_names, settings.data_dir)  # fail early on an unknown layer
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create output directory '{out_dir}': {exc.strerror} (choose another --out)"
        raise InputError(msg) from None
    raw, statics, stats = _decode_all(sources, settings)
    cleaned = tracks.clean(raw)
    positions, _state = tracks.segment(cleaned.positions)
    segments = tracks.segments_table(positions, statics)
    positions, geography = _enrich(positions, zones)
    events = _detect_all(positions, statics)
    outputs = {"positions": positions, "segments": segments, "events": events}
    files = [out_dir / f"{name}.parquet" for name in outputs]
    _write_atomic(dict(zip(files, outputs.values(), strict=True)))
    counts = events.group_by("event_type").aggregate([("event_id", "count")]).to_pylist()
    by_type = {name: 0 for name, _ in DETECTORS}
    by_type.update({row["event_type"]: row["event_id_count"] for row in counts})
    return DetectResult(
        messages=stats.messages,
        rejected=sum(stats.rejects.values()),
        positions=positions.num_rows,
        dropped=dict(cleaned.dropped),
        segments=segments.num_rows,
        events_by_type=by_type,
        geography=geography,
        elapsed_s=time.perf_counter() - started,
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
        f"  segments    {result.segments:>10,}",
        f"  geography   {'yes' if result.geography else 'no (see warning)':>10}",
        f"  elapsed     {result.elapsed_s:>10.2f} s",
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
    help="Directory for positions.parquet, segments.parquet and events.parquet.",
)
@click.option(
    "--zones",
    "zone_names",
    multiple=True,
    metavar="NAME",
    help="Zone layer(s) imported under <data_dir>/zones/ (`seawatch zones import`) to tag "
    "positions with; repeat the option or separate names with commas.",
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
    summary: bool,
) -> None:
    """Find tracks and events in AIS files (NMEA, CSV or seawatch Parquet).

    Decodes every INPUT, cleans and segments the positions, adds geography
    (land, distance to shore and port, --zones) when its packages are
    installed, runs every event detector and writes the results into --out.
    The whole input is held in memory: split very large inputs by day.
    Exit code 0 done, 1 an input cannot be read, 2 bad usage.
    """
    settings = settings_of(ctx)
    if "-" in inputs:
        raise click.UsageError("detect reads files, not stdin ('-'); save the feed to a file")
    sources = [_check_input(name) for name in inputs]
    names = [name for value in zone_names for name in value.split(",") if name]
    result = run_detect(sources, settings=settings, out_dir=out_dir, zone_names=names)
    n_events = sum(result.events_by_type.values())
    click.echo(
        f"detected {n_events:,} events in {result.segments:,} segments of {result.positions:,} "
        f"positions in {result.elapsed_s:.1f} s -> {out_dir}",
        err=True,
    )
    if summary:
        click.echo(format_detect_summary(result), nl=False)
