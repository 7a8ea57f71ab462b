"""``seawatch ports``: the ports and anchorages detection uses besides the built-in list.

In: ``--db``; for ``import`` a port list CSV (World Port Index Pub. 150, a GFW
pipe-anchorages list, or id/name/country/lat/lon), for ``derive`` the thresholds of the
anchorage rule (GFW's defaults) and an optional time window. Out: rows of the store's
``ports`` table (:mod:`seawatch.engine.ports`), a one-line report each, and ``list``
(what the reader may read; ``--csv`` writes a list ``seawatch detect --ports`` and
``ports import`` read back). Ingests with ``--detect`` after these use built-in +
imported + derived ports for port visits and the encounter and loitering port filters.
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path

import click

from seawatch.cli.common import settings_of
from seawatch.cli.db import db_option, open_db
from seawatch.engine.ports import derive_ports, import_ports
from seawatch.geo.anchorages import AnchorageParams
from seawatch.geo.ports import PORTS_SCHEMA
from seawatch.labels import Policy, Reader, default_reader, parse_label
from seawatch.store.query import Query

__all__ = ["ports_command"]


@click.group("ports")
def ports_command() -> None:
    """Ports and anchorages: import a list, derive them from stored positions, list them.

    \b
    Examples:
      seawatch ports import UpdatedPub150.csv
      seawatch ports import anchorage_overrides.csv
      seawatch ports derive
      seawatch ports derive --min-vessels 2 --min-stationary-h 2 --max-shore-km 5
      seawatch ports list --source derived
    """


@ports_command.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", help="Name stored in `source` [default: wpi, gfw-FILE or FILE].")
@click.option("--label", "marking", metavar="MARKING", help="Label of the ports stored.")
@db_option
@click.pass_context
def import_command(
    ctx: click.Context, file: Path, source: str | None, marking: str | None, db: str | None
) -> None:
    """Store the ports of FILE (World Port Index CSV, GFW anchorages CSV, or a CSV with
    id, name, country, lat, lon). Rows without a valid position or id are counted and
    left out; a port already stored under the same id is replaced."""
    settings = settings_of(ctx)
    label = None
    if marking is not None:
        label = parse_label(marking, Policy.from_settings(settings))
    with open_db(ctx, db) as store:
        r = import_ports(store, file, settings, label=label, source=source)
    bad = ", ".join(f"{n:,} {why}" for why, n in r.bad.items()) or "none"
    click.echo(
        f"ports import: {r.stored:,} ports stored from {r.rows:,} rows of {file} "
        f"({r.kind}); rows left out: {bad}"
    )


def _hours(value: float) -> float:
    return value * 3600.0


@ports_command.command("derive")
@click.option(
    "--min-vessels",
    type=click.IntRange(min=1),
    default=AnchorageParams.min_vessels,
    show_default=True,
    help="Distinct vessels stationary in a cell that make it an anchorage (GFW: 20).",
)
@click.option(
    "--min-stationary-h",
    type=click.FloatRange(min=0),
    default=AnchorageParams.min_stationary_s / 3600,
    show_default=True,
    help="Shortest stationary period, hours (GFW: 12; a shorter history needs less).",
)
@click.option(
    "--max-drift-km",
    type=click.FloatRange(min=0),
    default=AnchorageParams.max_drift_km,
    show_default=True,
    help="A stationary vessel stays within this of where it stopped (GFW: 0.5).",
)
@click.option(
    "--max-shore-km",
    type=click.FloatRange(min=0),
    default=None,
    help="Keep anchorages at most this far from the coast [default: no limit, as GFW].",
)
@click.option("--start", type=click.DateTime(), help="Use positions from this time (UTC).")
@click.option("--end", type=click.DateTime(), help="Use positions up to this time (UTC).")
@db_option
@click.pass_context
def derive_command(
    ctx: click.Context,
    min_vessels: int,
    min_stationary_h: float,
    max_drift_km: float,
    max_shore_km: float | None,
    start: datetime | None,
    end: datetime | None,
    db: str | None,
) -> None:
    """Derive anchorages from the stored positions the way Global Fishing Watch does: a
    ~0.5 km cell where at least --min-vessels distinct vessels were stationary (within
    --max-drift-km) for at least --min-stationary-h. GFW's defaults need weeks of data;
    over a few hours, lower them knowing that vessels stopped together at sea then count
    too (--max-shore-km keeps anchorages near the coast). docs/geography.md."""
    from datetime import UTC

    params = AnchorageParams(
        min_vessels=min_vessels,
        min_stationary_s=_hours(min_stationary_h),
        max_drift_km=max_drift_km,
        max_distance_to_shore_km=float("inf") if max_shore_km is None else max_shore_km,
    )
    window = [None if t is None else t.replace(tzinfo=UTC) for t in (start, end)]
    with open_db(ctx, db) as store:
        r = derive_ports(store, params, start=window[0], end=window[1])
    more = f"; {r.unlabelled:,} left out (no label reads all their inputs)" if r.unlabelled else ""
    click.echo(
        f"ports derive: {r.anchorages:,} anchorages ({r.stored:,} stored) from "
        f"{r.periods:,} stationary periods in {r.positions:,} positions "
        f"(≥ {params.min_vessels} vessels stationary ≥ {min_stationary_h:g} h within "
        f"{params.max_drift_km:g} km){more}"
    )
    if r.positions and not r.periods:
        click.echo(
            "no vessel was stationary that long: a short history needs a lower "
            "--min-stationary-h (and --min-vessels)"
        )


@ports_command.command("list")
@click.option("--source", help="Only this source (derived, wpi, gfw-FILE, ...).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout (read back by --ports).")
@click.option(
    "--reader",
    "reader_text",
    metavar="NATION:CLEARANCE[:CAVEATS]",
    help="List as this reader [default: the node's own].",
)
@db_option
@click.pass_context
def list_command(
    ctx: click.Context, source: str | None, as_csv: bool, reader_text: str | None, db: str | None
) -> None:
    """The stored ports the reader may read (the built-in list is not shown)."""
    with open_db(ctx, db, create=False) as store:
        reader = (
            default_reader(store.policy)
            if reader_text is None
            else Reader.parse(reader_text, store.policy)
        )
        rows = Query(store, reader).ports(source)
    if as_csv:
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(PORTS_SCHEMA.names)
        for row in rows.select(PORTS_SCHEMA.names).to_pylist():
            out.writerow(["" if v is None else v for v in row.values()])
        return
    if rows.num_rows == 0:
        click.echo("no stored ports (seawatch ports import FILE, seawatch ports derive)")
        return
    counts = rows.group_by("source").aggregate([("port_id", "count")]).to_pylist()
    for c in sorted(counts, key=lambda c: str(c["source"])):
        click.echo(f"{c['source']}: {c['port_id_count']:,} ports")
    if source is not None:
        for row in rows.to_pylist():
            vessels = "" if row["n_vessels"] is None else f"  {row['n_vessels']} vessels"
            click.echo(
                f"  {row['port_id']}  {row['lat']:.5f} {row['lon']:.5f}  "
                f"{row['port_name'] or ''}{vessels}"
            )
