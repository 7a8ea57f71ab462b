"""``seawatch run``: the main job, end to end: traffic in, labelled store, events, summary,
exports.

In: nothing (a simulated day of traffic around India), AIS files, or a live feed
(``--tcp``/``--udp HOST:PORT``). Out: the store (a fresh ``<out>/seawatch.duckdb`` each run,
or ``--db``), GeoJSON, KML and Cursor-on-Target exports in ``<out>/export/``, and on stdout a
situation summary (:mod:`seawatch.serve.situation`). Every read goes through
:class:`seawatch.store.query.Query` for one reader. The steps are the library's:
:func:`seawatch.sim.simulate`, :class:`seawatch.sources.feed.Feed`,
:func:`seawatch.engine.ingest.ingest`, :func:`seawatch.export.export`. docs/run.md.
"""

from __future__ import annotations

import dataclasses
import logging
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
from seawatch.cli.node import require_nation
from seawatch.cli.run_serve import serve_after_run, wants_serve
from seawatch.cli.simulate import _parse_start
from seawatch.errors import InputError, LabelError
from seawatch.labels import Label, parse_label
from seawatch.settings import Settings
from seawatch.store.base import Store

__all__ = ["run_command"]

log = logging.getLogger(__name__)

DEFAULT_NATION = "IND"
"""The nation a simulated run acts for when ``node_nation`` is not set (``XXX``)."""
PARTNER = "USA"
"""Originator of the simulation's satellite AIS (a partner's feed, labelled apart)."""
COMPARE = ("USA:SECRET", "JPN:SECRET")
"""Readers the simulated run compares with its own: who sees what."""
_QUIET = ("seawatch.store", "seawatch.engine", "seawatch.sim", "seawatch.export")
"""Loggers whose INFO lines (per chunk, per file) the run leaves out unless DEBUG."""

_EXAMPLES = """\b
Three ways to run it:
  1. No input: simulate a day of traffic around India (a fixed seed), store it, detect,
     summarise, export.
       seawatch run
       seawatch run --vessels 50 --hours 6 --seed 3 --out /tmp/run
  2. Files (NMEA, CSV, Parquet: whatever `seawatch ingest` reads):
       seawatch run feed-2025-06-01.nmea.gz noaa.csv
       seawatch run ifc.nmea --label "CONFIDENTIAL//REL TO IND, USA" --originator IND
  3. A live feed, summarised when stopped (Ctrl-C, SIGTERM) or after --duration:
       seawatch run --tcp 127.0.0.1:10110 --batch-s 30
       seawatch run --udp 0.0.0.0:10110 --duration 600
     (try it with: seawatch simulate --speed 60 --tcp 127.0.0.1:10110 --out /tmp/sim)
\b
Outputs in --out (default <data_dir>/run): seawatch.duckdb (the store), sim/ (simulated NMEA
and truth.jsonl), live/<start>/ (the feed's batches as received), export/ (GeoJSON, KML, CoT).
The store is a fresh <out>/seawatch.duckdb each run; give --db (or SEAWATCH_DB) to add
to a store you keep (ingest stores each message once, so re-runs add nothing twice).
"""


@click.command("run", epilog=_EXAMPLES)
@click.argument("inputs", nargs=-1, metavar="[FILE]...")
@click.option("--tcp", metavar="HOST:PORT", help="Read a live NMEA feed from this TCP server.")
@click.option("--udp", metavar="HOST:PORT", help="Receive a live NMEA feed on this UDP address.")
@click.option(
    "--duration",
    "duration_s",
    type=click.FloatRange(min=0, min_open=True),
    help="Live feed: stop after this many seconds [default: until Ctrl-C or SIGTERM].",
)
@click.option(
    "--batch-s",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Live feed: store what arrived every this many seconds.",
)
@click.option("--seed", default=1, show_default=True, help="Simulation: random seed.")
@click.option(
    "--vessels",
    default=300,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Simulation: vessels.",
)
@click.option(
    "--hours",
    default=24.0,
    show_default=True,
    type=click.FloatRange(min=0, max=744, min_open=True),
    help="Simulation: hours of traffic.",
)
@click.option("--start", help="Simulation: start, ISO 8601 UTC [default: 2025-06-01T00:00:00Z].")
@click.option(
    "--label",
    "marking",
    metavar="MARKING",
    help='Label every record of the run, e.g. "CONFIDENTIAL//REL TO IND, USA" '
    "[default: the label_rules and default_label settings].",
)
@click.option("--originator", metavar="AAA", help="Nation owning the --label records.")
@click.option(
    "--reader",
    "reader_text",
    metavar="NATION:CLEARANCE[:CAVEATS]",
    help="Who the summary and exports are for [default: the node's nation, highest "
    "clearance, every caveat: all the node owns and all partners released to it].",
)
@zones_option
@click.option(
    "--top", default=8, show_default=True, type=click.IntRange(0, 100), help="Notable incidents."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the store, simulated files, live batches, exports "
    "[default: <data_dir>/run].",
)
@click.option(
    "--db",
    metavar="PATH|URL",
    help="Add to this store (DuckDB file or postgresql:// URL) instead of a fresh "
    "<out>/seawatch.duckdb [env SEAWATCH_DB].",
)
@click.option(
    "--serve/--no-serve",
    default=None,
    help="Then serve the map on the run's store with a one-time sign-in link, until Ctrl-C "
    "[default: when at a terminal; --no-serve: finish and exit, for scripts and CI].",
)
@click.option(
    "--federation",
    is_flag=True,
    help="Simulation: then share it between three nodes in <out>/federation (IND ingests "
    "the coast stations, USA the satellite passes, JPN receives what is REL TO JPN) by "
    "sealed courier bundles, and show what each holds (docs/run.md).",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="With --serve: the map's port on 127.0.0.1.",
)
@columns_option
@params_option
@untimed_option
@click.pass_context
def run_command(
    ctx: click.Context,
    inputs: tuple[str, ...],
    tcp: str | None,
    udp: str | None,
    duration_s: float | None,
    batch_s: float,
    seed: int,
    vessels: int,
    hours: float,
    start: str | None,
    marking: str | None,
    originator: str | None,
    reader_text: str | None,
    zone_names: tuple[str, ...],
    top: int,
    out_dir: Path | None,
    db: str | None,
    serve: bool | None,
    federation: bool,
    port: int,
    params: tuple[str, ...],
    untimed: Any,
) -> None:
    """Run the whole chain and print a situation summary: simulated traffic (default),
    AIS files, or a live feed -> labelled store -> tracks and events -> summary of event
    counts and the most notable incidents (names, flags, places, times) -> GeoJSON and KML
    (QGIS, Google Earth) and Cursor-on-Target (TAK) exports. docs/run.md. Then, at a
    terminal or with --serve, the map on the run's store until Ctrl-C (docs/map.md).

    Files: messages without a receive time are not stored unless --untimed
    gives them assumed times. An input that cannot be read is one error line
    (the others are still stored) and the exit code is 1; when the files give
    no position or static report at all, the run says there is nothing to
    show, prints no summary and exits 1.
    """
    from seawatch.cli.run_steps import Job, live_address

    settings = with_params(settings_of(ctx), params)
    if settings.log_level == "INFO":  # the default: the steps' per-chunk news stays quiet
        for name in _QUIET:
            logging.getLogger(name).setLevel(logging.WARNING)
    if tcp and udp:
        raise click.UsageError("give one of --tcp or --udp")
    live = live_address(tcp, udp)
    if live and inputs:
        raise click.UsageError("give input files or a live feed (--tcp/--udp), not both")
    if duration_s is not None and not live:
        raise click.UsageError("--duration is for a live feed (--tcp/--udp)")
    if originator is not None and marking is None:
        raise LabelError("--originator goes with --label (give the marking too)")
    if "-" in inputs:
        raise InputError("run needs files (the ingest log knows inputs by content), not stdin")
    checked, errors = _check_inputs(inputs)
    paths = [Path(p) for p in checked]
    exit_if_none_readable(paths, errors)  # none can be read: no simulation instead
    simulated = not paths and live is None
    if federation and not simulated:
        raise click.UsageError("--federation is for a simulated run (no files, no live feed)")
    run_settings, note = _settings_for_run(settings, simulated, marking)
    require_nation(run_settings)  # files and feeds: the node's own (a simulated run: IND)
    out = out_dir or settings.data_dir / "run"
    db = db or settings.db.reveal() or None
    zones = load_zones(split_zone_names(zone_names), settings.data_dir)
    job = Job(run_settings, out, db, reader_text, top, note, zones)
    job.untimed = untimed
    nothing = False
    with job.store() as store:
        label = _label(store, marking, originator, run_settings)
        if simulated:
            start_at = _parse_start(start)
            job.simulate(store, seed, vessels, hours, start_at, label)
        elif live is not None:
            job.live(store, live, batch_s, duration_s, label)
        else:
            job.files(store, paths, label)
        got = job.ingested
        nothing = got is not None and not sum(got.read.values())
        if not nothing:
            job.report(store, compare=COMPARE if simulated and marking is None else ())
    click.echo(job.text, nl=False)
    if federation and not nothing:
        from seawatch.cli.run_federation import federate

        click.echo("sharing between three nodes (IND, USA, JPN) ...", err=True)
        click.echo("\n" + federate(run_settings, out, job.sim_files), nl=False)
    got = job.ingested
    failed = got is not None and tell_findings(got.engine.findings, errors, got.engine.untimed)
    if nothing:
        click.echo(
            f"error: nothing to show: no position or static report read from "
            f"{len(inputs)} file(s); no summary or exports written",
            err=True,
        )
    if nothing or failed:
        ctx.exit(1)
    if wants_serve(serve, live=live is not None):
        serve_after_run(ctx, db or str(out / "seawatch.duckdb"), run_settings.node_nation, port)


def _settings_for_run(
    settings: Settings, simulated: bool, marking: str | None
) -> tuple[Settings, str]:
    """The settings the run uses: a simulated run without a nation acts as India, and
    labels its satellite receptions as a partner's feed unless labelling is configured."""
    if not simulated:
        return settings, ""
    notes = []
    changes: dict[str, Any] = {}
    nation = settings.node_nation
    if nation == "XXX":
        nation = changes["node_nation"] = DEFAULT_NATION
        notes.append(f"node_nation not set: this run acts for {nation}")
    if not settings.label_rules and marking is None:
        from seawatch.sim import SimConfig

        sats = ",".join(f"sat-{k + 1}" for k in range(SimConfig().satellites))
        changes["label_rules"] = (
            f"feed={sats} -> {PARTNER}:CONFIDENTIAL//REL TO {PARTNER}, {nation}"
        )
        notes.append(
            f"satellite receptions carry {PARTNER}'s label (a partner's feed), coast-station "
            "receptions the node's default label"
        )
    return dataclasses.replace(settings, **changes), "\n".join(notes)


def _label(
    store: Store, marking: str | None, originator: str | None, settings: Settings
) -> Label | None:
    if marking is None:
        return None
    return parse_label(
        marking, store.policy, originator=(originator or settings.node_nation).upper()
    )
