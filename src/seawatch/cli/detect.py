"""``seawatch detect``: AIS inputs to segmented positions, segments and events.

In: NMEA or tabular AIS files, or seawatch Parquet, the names of zone layers imported
under ``<data_dir>/zones/`` and ``--param`` detector parameters. Out: in ``--out``,
``positions.parquet``, ``segments.parquet``, ``identity.parquet``, ``events.parquet`` and
the late-row quarantine ``late_*.parquet`` (:class:`seawatch.engine.sinks.ParquetDirSink`);
a count of events per type on stdout. The work is
:func:`seawatch.engine.detect.detect_files`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from seawatch.cli.common import (
    columns_option,
    load_zones,
    params_option,
    settings_of,
    split_zone_names,
    with_params,
    zones_option,
)
from seawatch.cli.decode import (
    _check_inputs,
    exit_if_none_readable,
    tell_findings,
    untimed_option,
)
from seawatch.cli.engine_options import engine_choice, engine_options
from seawatch.engine.detect import DetectResult, detect_files
from seawatch.engine.memory import keep_freed_memory

__all__ = ["detect_command", "format_detect_summary"]

_EXAMPLE = """\b
Examples:
  seawatch detect data/sample/bay-of-bengal.nmea --out data/detect
  seawatch detect day1.nmea.gz day2.nmea.gz --out data/detect --zones eez,fishing_areas
  seawatch detect data/out/positions.parquet data/out/statics.parquet --out data/detect
  seawatch detect suez.csv --out data/detect --param loitering.min_distance_to_shore_km=0
  seawatch detect baltic.csv --out data/detect --ports UpdatedPub150.csv
  seawatch detect day1.nmea.gz day2.nmea.gz --out data/detect --engine dask --workers 2
"""


def format_detect_summary(result: DetectResult) -> str:
    """Segments and events per type as plain text."""
    r = result.report
    width = max(len(name) for name in r.events_by_type) if r.events_by_type else 5
    lines = [
        "detect summary",
        f"  messages    {r.messages:>10,}  ({r.rejected:,} input lines rejected)",
        f"  positions   {r.positions:>10,}  (after cleaning; {sum(r.dropped.values()):,} dropped)",
        f"  late        {sum(r.late.values()):>10,}  (quarantined in late_*.parquet)",
        f"  segments    {r.segments:>10,}",
        f"  geography   {'yes' if r.geography else 'no (see warning)':>10}",
        f"  elapsed     {r.elapsed_s:>10.2f} s  ({r.chunks:,} chunks)",
        "",
        "events by type",
    ]
    lines += [f"  {name:<{width}}  {n:>8,}" for name, n in sorted(r.events_by_type.items())]
    lines.append(f"  {'total':<{width}}  {r.events:>8,}")
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
    "--ports",
    "port_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="CSV",
    help="Port list(s) added to the built-in one (World Port Index, GFW anchorages, or "
    "`seawatch ports list --csv`); repeatable. With a store, `seawatch ports import` "
    "keeps them for every ingest instead.",
)
@click.option(
    "--summary/--no-summary", default=True, show_default=True, help="Print events per type."
)
@columns_option
@params_option
@untimed_option
@engine_options
@click.pass_context
def detect_command(
    ctx: click.Context,
    inputs: tuple[str, ...],
    out_dir: Path,
    zone_names: tuple[str, ...],
    chunk_rows: int | None,
    summary: bool,
    params: tuple[str, ...],
    untimed: Any,
    port_files: tuple[Path, ...],
    engine: str,
    scheduler: str | None,
    workers: int,
    buckets: int,
) -> None:
    """Find tracks and events in AIS files (NMEA, CSV or seawatch Parquet).

    Decodes every INPUT, cleans and segments the positions, adds geography
    (land, distance to shore and port, --zones) when its packages are
    installed, runs every event detector and writes the results into --out.
    Inputs are read chunk by chunk, side by side, and put in time order within
    reorder_window_s (rows later than that are quarantined in late_*.parquet):
    memory stays bounded, not the whole input.
    Messages without a receive time (no tag block c:, no timestamp column)
    are counted and left out unless --untimed gives them assumed times.
    Exit code 0 done, 1 an input cannot be read (one error line each; the
    others are still processed), 2 bad usage.
    """
    keep_freed_memory()  # chunk after chunk of the same sizes: reuse the pages
    settings = with_params(settings_of(ctx), params)
    engine, options = engine_choice(engine, scheduler, workers, buckets)
    if "-" in inputs:
        raise click.UsageError("detect reads files, not stdin ('-'); save the feed to a file")
    sources, errors = _check_inputs(inputs)
    exit_if_none_readable(sources, errors)
    zones = load_zones(split_zone_names(zone_names), settings.data_dir)
    ports = None
    if port_files:
        from seawatch.geo.ports import default_ports, load_ports_csv

        ports = default_ports()
        for path in port_files:
            ports = ports.extend(load_ports_csv(path))
    result = detect_files(
        sources,
        settings=settings,
        out_dir=out_dir,
        zones=zones,
        chunk_rows=chunk_rows,
        untimed=untimed,
        ports=ports,
        engine=engine,
        options=options,
    )
    r = result.report
    click.echo(
        f"detected {r.events:,} events in {r.segments:,} segments of {r.positions:,} "
        f"positions in {r.elapsed_s:.1f} s -> {out_dir}",
        err=True,
    )

    if summary:
        click.echo(format_detect_summary(result), nl=False)
    if tell_findings(r.findings, errors, r.untimed, "not in tracks or events"):
        ctx.exit(1)
