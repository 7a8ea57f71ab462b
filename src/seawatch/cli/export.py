"""``seawatch export``: what a reader may see, in any output format of
:data:`seawatch.export.FORMATS` (GeoJSON, CSV, KML, CoT, GeoParquet ...), each record
with its label.

In: the kind of records (``positions``, ``latest``, ``events``), a reader
(``--reader USA:SECRET[:CAVEATS]``), optional area/time/event-type filters and ``--db``.
Out: ``--out FILE``, written to a temporary file and renamed into place; on stdout, how
many records were written and the marking of the whole file. The records come from the
store's one query layer (:func:`seawatch.export.records.export_records`); the writers are
:mod:`seawatch.export`'s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import click

from seawatch.cli.common import settings_of
from seawatch.cli.db import db_option, open_db
from seawatch.cli.query import parse_bbox, parse_time, warn_if_swapped
from seawatch.errors import InputError
from seawatch.export import FORMATS, PLACED, Kind, export
from seawatch.export.records import export_records
from seawatch.labels import Reader
from seawatch.store.query import Query

__all__ = ["export_command"]

_EXAMPLE = """\b
Examples:
  seawatch export latest --format cot --reader USA:SECRET --bbox 80,5,95,22 --out vessels.cot
  seawatch export positions --format geojson --reader IND:C --start 2024-03-01 --out d.geojson
  seawatch export events --type encounter --format kml --reader AUS:S --out encounters.kml
  seawatch export events --format cot --cot-stale-from export --reader USA:S --out events.cot
  seawatch export positions --format geoparquet --reader USA:S --out positions.parquet
"""


@click.command("export", epilog=_EXAMPLE)
@click.argument("kind", type=click.Choice(PLACED))
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), required=True, help="File format to write."
)
@click.option(
    "--reader",
    "reader_text",
    required=True,
    metavar="NATION:CLEARANCE[:CAVEATS]",
    help="Who the export is for, e.g. USA:SECRET or IND:C:ORCON.",
)
@click.option("--bbox", help="min_lon,min_lat,max_lon,max_lat (degrees).")
@click.option("--start", help="From this time (ISO 8601, UTC unless given).")
@click.option("--end", help="Up to this time (ISO 8601, UTC unless given).")
@click.option(
    "--type", "types", multiple=True, help="Event type (events only; repeat for several)."
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (replaced only once complete).",
)
@click.option(
    "--cot-stale-from",
    type=click.Choice(["data", "export"]),
    default="data",
    show_default=True,
    help="Cursor-on-Target: stale after the data's time, or after the time of the export "
    "(replayed data, which TAK would otherwise drop as stale on arrival).",
)
@click.option(
    "--cot-incidents/--no-cot-incidents",
    default=True,
    show_default=True,
    help="Cursor-on-Target of events: a marker per incident after the events' markers.",
)
@db_option
@click.pass_context
def export_command(
    ctx: click.Context,
    kind: str,
    fmt: str,
    reader_text: str,
    bbox: str | None,
    start: str | None,
    end: str | None,
    types: tuple[str, ...],
    out: Path,
    cot_stale_from: str,
    cot_incidents: bool,
    db: str | None,
) -> None:
    """Export the records a reader may see, each carrying its label.

    Every record carries its CAPCO marking, the file the most restrictive combination of
    them (docs/exports.md). Cursor-on-Target writes one event per vessel at its latest
    position (positions or latest), or a marker per event and per incident (events),
    stale after the cot_stale_s setting.
    """
    settings = settings_of(ctx)
    if types and kind != "events":
        raise InputError("--type selects event types: use it with `seawatch export events`")
    with open_db(ctx, db, create=False) as store:
        store.require_current()
        reader = Reader.parse(reader_text, store.policy)
        q, box = Query(store, reader), parse_bbox(bbox)
        t0, t1 = parse_time(start, "start"), parse_time(end, "end")
        table, labels = export_records(
            q, cast("Kind", kind), bbox=box, start=t0, end=t1, types=types
        )
        warn_if_swapped(q, box, t0, t1, table.num_rows)
        result = export(
            table,
            labels,
            out,
            fmt=fmt,
            kind=cast("Kind", kind),
            reader=reader,
            policy=store.policy,
            node_id=settings.node_id,
            cot_stale_s=settings.cot_stale_s,
            cot_now=datetime.now(UTC) if cot_stale_from == "export" else None,
            cot_incidents=cot_incidents,
        )
    click.echo(f"{result.rows} {kind} record(s) written to {out}, marked {result.marking}")
