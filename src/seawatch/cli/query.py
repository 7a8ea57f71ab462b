"""``seawatch query``: stored records for a reader, in any output format that can hold them.

In: a reader (``--reader USA:SECRET[:CAVEATS]``), the query's filters, ``--db``. Out: the
rows the reader may read (:class:`seawatch.store.query.Query`), written by the export
writers (:data:`seawatch.export.FORMATS`): each record with its ``label`` marking, the
file with the marking of the whole (docs/exports.md); on stdout, or in ``--out``
(required for the binary formats: Parquet, GeoParquet, Arrow). With ``--limit N`` one page
of at most N rows (:meth:`~seawatch.store.query.Query.page`); when more may follow, the
next page's cursor goes to stderr as ``next: CURSOR``, to give back as ``--after CURSOR``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import click
import pyarrow as pa

from seawatch.cli.common import settings_of
from seawatch.cli.db import db_option, open_db
from seawatch.errors import InputError
from seawatch.export import FORMATS, Kind, export, output_format
from seawatch.labels import Policy, Reader
from seawatch.store.query import BBox, Query, check_bbox, format_bbox, swapped_box

__all__ = ["parse_bbox", "parse_time", "query_command", "warn_if_swapped"]

F = TypeVar("F", bound=Callable[..., Any])


def _common(func: F) -> F:
    for opt in reversed(
        [
            click.option(
                "--reader",
                required=True,
                metavar="NATION:CLEARANCE[:CAVEATS]",
                help="Who reads, e.g. USA:SECRET or IND:C:ORCON.",
            ),
            click.option(
                "--format",
                "fmt",
                type=click.Choice(FORMATS),
                default="jsonl",
                show_default=True,
                help="Output format (docs/exports.md).",
            ),
            click.option(
                "--out",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write here instead of stdout (required for parquet, geoparquet, arrow).",
            ),
            db_option,
        ]
    ):
        func = opt(func)
    return func


def parse_bbox(text: str | None) -> BBox | None:
    """``--bbox`` text → a valid box, or :class:`InputError` naming what is wrong with it
    (:func:`~seawatch.store.query.check_bbox`: one rule per message)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise InputError(
            f"--bbox {text!r}: give four numbers min_lon,min_lat,max_lon,max_lat, "
            f"not {len(parts)} (e.g. 80,5,95,22)"
        )
    values = []
    for part in parts:
        try:
            values.append(float(part))
        except ValueError:
            raise InputError(
                f"--bbox {text!r}: {part!r} is not a number "
                "(give min_lon,min_lat,max_lon,max_lat in degrees, e.g. 80,5,95,22)"
            ) from None
    return check_bbox((values[0], values[1], values[2], values[3]))


def warn_if_swapped(
    q: Query, bbox: BBox | None, start: datetime | None, end: datetime | None, rows: int
) -> None:
    """On stderr, when ``bbox`` gave no rows and holds no position the reader may read, but
    the box with longitude and latitude swapped does: say so, with how many it holds."""
    swapped = None if bbox is None or rows else swapped_box(bbox)
    if bbox is None or swapped is None or _positions_in(q, bbox, start, end):
        return
    n = _positions_in(q, swapped, start, end)
    if n:
        click.echo(
            f"warning: no rows in bbox {format_bbox(bbox)} (min_lon,min_lat,max_lon,max_lat); "
            f"the swapped box {format_bbox(swapped)} holds {n:,} position{'s' * (n != 1)} "
            "— did you swap longitude and latitude?",
            err=True,
        )


def _positions_in(q: Query, bbox: BBox, start: datetime | None, end: datetime | None) -> int:
    """How many positions the reader may read in ``bbox`` and the window."""
    counts = q.count_positions(bbox=bbox, start=start, end=end).column("positions")
    return sum(int(n) for n in counts.to_pylist() if n is not None)


def parse_time(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--{name} {text!r}: give an ISO 8601 time, e.g. 2024-03-01T00:00Z"
        ) from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _paging(func: F) -> F:
    """``--limit`` and ``--after``: one page of the listing, the next page's cursor on stderr."""
    func = click.option(
        "--after",
        metavar="CURSOR",
        help="Rows after this cursor: the `next:` that the previous page printed (needs --limit).",
    )(func)
    return click.option(
        "--limit",
        type=click.IntRange(min=0),
        help="At most this many rows. When there may be more, the cursor of the next page "
        "is printed on stderr as `next: CURSOR` (stdout holds only the data).",
    )(func)


def _ask(
    q: Query, listing: str, filters: dict[str, Any], limit: int | None, after: str | None
) -> tuple[pa.Table, str | None]:
    """The rows of ``listing`` (a :class:`Query` method) and the next page's cursor."""
    if after is not None and limit is None:
        raise InputError("--after CURSOR needs --limit N (the size of the page)")
    method = getattr(q, listing)
    if limit is None:
        return method(**filters), None
    if limit == 0:  # no rows: nothing to page on
        return method(**filters, limit=0, after=after), None
    page = q.page(listing, limit=limit, after=after, **filters)
    return page.rows, page.next


def _run(
    ctx: click.Context,
    db: str | None,
    reader_text: str,
    fmt: str,
    out: Path | None,
    kind: Kind,
    listing: str,
    filters: dict[str, Any],
    page: tuple[int | None, str | None] = (None, None),
) -> None:
    settings = settings_of(ctx)
    policy = Policy.from_settings(settings)
    reader = Reader.parse(reader_text, policy)
    spec = output_format(fmt, kind)
    if spec.binary and out is None:
        raise InputError(f"--format {fmt} writes a file: give --out FILE{spec.suffix}")
    with open_db(ctx, db, create=False) as store:
        store.require_current()
        q = Query(store, reader)
        table, cursor = _ask(q, listing, filters, *page)
        if page[1] is None:  # a later page may be empty after rows: nothing to suggest
            warn_if_swapped(
                q, filters.get("bbox"), filters.get("start"), filters.get("end"), table.num_rows
            )
        labels = q.labels()
    target: Path | IO[bytes] = out if out is not None else sys.stdout.buffer
    export(
        table,
        labels,
        target,
        fmt=fmt,
        kind=kind,
        reader=reader,
        policy=policy,
        node_id=settings.node_id,
        cot_stale_s=settings.cot_stale_s,
    )
    if cursor is not None:
        if out is None:  # the data first, then the cursor
            sys.stdout.buffer.flush()
        click.echo(f"next: {cursor}", err=True)


@click.group("query")
def query_command() -> None:
    """Read stored records as a reader: only what its labels allow.

    \b
    Examples:
      seawatch query area --bbox 80,5,95,22 --start 2024-03-01 --end 2024-03-02 --reader USA:SECRET
      seawatch query track 419000001 --reader IND:CONFIDENTIAL --format csv
      seawatch query latest --bbox 80,5,95,22 --reader USA:S
      seawatch query events --type encounter --reader IND:S --format parquet --out ev.parquet
      seawatch query vessels --name "EVER GIVEN" --reader USA:U
      seawatch query events --reader USA:S --limit 1000 --after CURSOR   # the next page
    """


@query_command.command("area")
@click.option("--bbox", help="min_lon,min_lat,max_lon,max_lat (degrees).")
@click.option("--start", help="From this time (ISO 8601, UTC unless given).")
@click.option("--end", help="Up to this time (ISO 8601).")
@_paging
@_common
@click.pass_context
def area_command(
    ctx: click.Context,
    bbox: str | None,
    start: str | None,
    end: str | None,
    limit: int | None,
    after: str | None,
    reader: str,
    fmt: str,
    out: Path | None,
    db: str | None,
) -> None:
    """Positions in a bounding box and time window."""
    b, t0, t1 = parse_bbox(bbox), parse_time(start, "start"), parse_time(end, "end")
    filters = {"bbox": b, "start": t0, "end": t1}
    _run(ctx, db, reader, fmt, out, "positions", "positions", filters, (limit, after))


@query_command.command("track")
@click.argument("mmsi", type=int)
@click.option("--start", help="From this time (ISO 8601).")
@click.option("--end", help="Up to this time (ISO 8601).")
@_paging
@_common
@click.pass_context
def track_command(
    ctx: click.Context,
    mmsi: int,
    start: str | None,
    end: str | None,
    limit: int | None,
    after: str | None,
    reader: str,
    fmt: str,
    out: Path | None,
    db: str | None,
) -> None:
    """One vessel's positions over a period."""
    t0, t1 = parse_time(start, "start"), parse_time(end, "end")
    filters = {"mmsi": mmsi, "start": t0, "end": t1}
    _run(ctx, db, reader, fmt, out, "positions", "track", filters, (limit, after))


@query_command.command("latest")
@click.option("--bbox", help="min_lon,min_lat,max_lon,max_lat (degrees).")
@click.option("--start", help="Only positions from this time (ISO 8601).")
@click.option("--end", help="Only positions up to this time (ISO 8601).")
@_paging
@_common
@click.pass_context
def latest_command(
    ctx: click.Context,
    bbox: str | None,
    start: str | None,
    end: str | None,
    limit: int | None,
    after: str | None,
    reader: str,
    fmt: str,
    out: Path | None,
    db: str | None,
) -> None:
    """The latest position of each vessel in an area."""
    b, t0, t1 = parse_bbox(bbox), parse_time(start, "start"), parse_time(end, "end")
    filters = {"bbox": b, "start": t0, "end": t1}
    _run(ctx, db, reader, fmt, out, "latest", "latest", filters, (limit, after))


@query_command.command("events")
@click.option("--type", "types", help="Event types, comma-separated (e.g. encounter,gap).")
@click.option("--bbox", help="min_lon,min_lat,max_lon,max_lat (degrees).")
@click.option("--start", help="Events ending after this time (ISO 8601).")
@click.option("--end", help="Events starting before this time (ISO 8601).")
@click.option("--mmsi", type=int, help="Events of this vessel (either side of an encounter).")
@_paging
@_common
@click.pass_context
def events_command(
    ctx: click.Context,
    types: str | None,
    bbox: str | None,
    start: str | None,
    end: str | None,
    mmsi: int | None,
    limit: int | None,
    after: str | None,
    reader: str,
    fmt: str,
    out: Path | None,
    db: str | None,
) -> None:
    """Events by type, area, time and vessel."""
    b, t0, t1 = parse_bbox(bbox), parse_time(start, "start"), parse_time(end, "end")
    kinds = [t.strip() for t in types.split(",") if t.strip()] if types else None
    filters = {"types": kinds, "bbox": b, "start": t0, "end": t1, "mmsi": mmsi}
    _run(ctx, db, reader, fmt, out, "events", "events", filters, (limit, after))


@query_command.command("vessels")
@click.option("--name", help="Part of the name (case-insensitive).")
@click.option("--mmsi", type=int, help="MMSI.")
@click.option("--imo", type=int, help="IMO number.")
@click.option("--callsign", help="Part of the call sign (case-insensitive).")
@_paging
@_common
@click.pass_context
def vessels_command(
    ctx: click.Context,
    name: str | None,
    mmsi: int | None,
    imo: int | None,
    callsign: str | None,
    limit: int | None,
    after: str | None,
    reader: str,
    fmt: str,
    out: Path | None,
    db: str | None,
) -> None:
    """Vessels by name, MMSI, IMO or call sign (their latest matching report)."""
    filters = {"name": name, "mmsi": mmsi, "imo": imo, "callsign": callsign}
    _run(ctx, db, reader, fmt, out, "vessels", "vessels", filters, (limit, after))
