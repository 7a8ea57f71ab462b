"""``seawatch ingest``: AIS inputs decoded and stored, once, crash-safe.

In: NMEA, CSV or Parquet inputs; ``--detect`` to run tracks and events on what arrived;
``--label``/``--originator`` to label the run's records by hand (else the settings'
``label_rules`` and ``default_label``). Out: the store (``--db``), and a summary line of
what was read and stored. The work is :func:`seawatch.engine.ingest.ingest`'s.
"""

from __future__ import annotations

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
from seawatch.cli.db import db_option, open_db
from seawatch.cli.decode import (
    _check_inputs,
    exit_if_none_readable,
    tell_findings,
    untimed_option,
)
from seawatch.cli.engine_options import engine_choice, engine_options
from seawatch.cli.node import require_nation
from seawatch.cli.query import parse_time
from seawatch.engine.ingest import ingest
from seawatch.engine.memory import keep_freed_memory
from seawatch.engine.state import StateStore, state_dir
from seawatch.errors import InputError, LabelError
from seawatch.labels import Policy, parse_label
from seawatch.store import Store

__all__ = ["ingest_command"]


@click.command("ingest")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--detect", is_flag=True, help="Also segment tracks and detect events.")
@click.option(
    "--incremental",
    is_flag=True,
    help="With --detect: resume from the state the last run left for this store and leave "
    "this run's for the next (daily runs: tracks and events go on across runs); rows of a "
    "day already run make that day and the following ones run again, until nothing changes "
    "(partitioned and dask: per bucket; another --buckets than the last run re-splits the "
    "buckets' states per vessel, and rows older than that change are refused).",
)
@click.option(
    "--watermark",
    metavar="TIME",
    help="With --incremental: the time up to which this run's data is complete, e.g. "
    "2026-01-02T00:00Z for a day's file (default: the newest time read minus "
    "reorder_window_s; later rows wait for the next run in the state).",
)
@click.option(
    "--label",
    "marking",
    metavar="MARKING",
    help='Label every record of this run, e.g. "CONFIDENTIAL//REL TO IND, USA".',
)
@click.option(
    "--originator",
    metavar="AAA",
    help="Nation owning the records labelled with --label (default: node_nation, which "
    "must then be set: `seawatch node init`).",
)
@zones_option
@columns_option
@params_option
@db_option
@untimed_option
@engine_options
@click.pass_context
def ingest_command(
    ctx: click.Context,
    inputs: tuple[str, ...],
    detect: bool,
    incremental: bool,
    watermark: str | None,
    marking: str | None,
    originator: str | None,
    zone_names: tuple[str, ...],
    params: tuple[str, ...],
    db: str | None,
    untimed: Any,
    engine: str,
    scheduler: str | None,
    workers: int,
    buckets: int,
) -> None:
    """Decode AIS inputs and store them; the same message is stored once.

    \b
    Examples:
      seawatch ingest data/sample/bay-of-bengal.nmea
      seawatch ingest day1.nmea.gz day2.nmea.gz --detect --db data/seawatch.duckdb
      seawatch ingest ifc.nmea --label "CONFIDENTIAL//REL TO IND, USA" --originator IND
      seawatch ingest day1.nmea --detect --zones eez
      seawatch ingest day1.nmea --detect --param gap.min_gap_s=3600
      seawatch ingest day2.nmea --detect --incremental --watermark 2026-01-03T00:00Z
      seawatch ingest day1-late.nmea --detect --incremental
      seawatch ingest aishub.nmea --untimed 2024-03-01T10:00Z,2024-03-01T10:03Z
      seawatch ingest day1.nmea day2.nmea --detect --engine dask --workers 2
      seawatch ingest day2.nmea --detect --incremental --engine dask --buckets 64

    Messages without a receive time are not stored unless --untimed gives
    them assumed times. Exit code 0 done, 1 an input cannot be read (one
    error line each; the others are still stored), 2 bad usage.
    """
    settings = with_params(settings_of(ctx), params)
    engine, options = engine_choice(engine, scheduler, workers, buckets)
    if engine != "local" and not detect:
        raise click.UsageError(f"--engine {engine} runs tracks and events: add --detect")
    if "-" in inputs:
        raise InputError("ingest needs files (the ingest log knows inputs by content)")
    paths, errors = _check_inputs(inputs)
    exit_if_none_readable(paths, errors)
    zones = load_zones(split_zone_names(zone_names), settings.data_dir)
    if originator is not None and marking is None:
        raise LabelError("--originator goes with --label (give the marking too)")
    label = None
    if marking is not None:
        label = parse_label(
            marking,
            Policy.from_settings(settings),
            originator=(originator or settings.node_nation).upper(),
        )
    if label is None or originator is None or detect:
        require_nation(settings)  # before the store is opened (or created)
    if (incremental or watermark) and not detect:
        raise InputError("--incremental and --watermark go with --detect")
    keep_freed_memory()  # chunk after chunk of the same sizes: reuse the pages
    if watermark is not None and not incremental:
        raise InputError("--watermark goes with --incremental")
    until = parse_time(watermark, "watermark")
    with open_db(ctx, db) as store:
        states = StateStore(state_dir(settings.data_dir, store.backend.display))
        before = _derived_counts(store) if detect else {}
        report = ingest(
            store,
            paths,
            settings,
            detect=detect,
            label=label,
            zones=zones,
            untimed=untimed,
            states=states if incremental else None,
            watermark_us=None if until is None else int(until.timestamp() * 1_000_000),
            engine=engine,
            options=options,
        )
        after = _derived_counts(store) if detect else {}
        where = store.backend.display
    new = {name: after[name] - before[name] for name in after} if detect else None
    click.echo(report.summary(new))
    click.echo(f"store: {where}")
    if tell_findings(report.engine.findings, errors, report.engine.untimed):
        ctx.exit(1)


def _derived_counts(store: Store) -> dict[str, int]:
    """Rows of the tables a re-run rewrites (segments, events): what is new is the growth."""
    counts = store.counts()
    return {name: counts.get(name, 0) for name in ("segments", "events")}
