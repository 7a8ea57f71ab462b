"""``seawatch simulate``: simulated AIS traffic with ground truth, written to a directory.

In: options (seed, vessels, hours, start). Out: hourly NMEA files, ``truth.jsonl``,
``zones.geojson`` and ``manifest.json`` in ``--out`` (see :mod:`seawatch.sim` and
docs/simulator.md), and a one-paragraph summary on stdout.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import click

from seawatch.cli.common import Failure
from seawatch.errors import SeawatchError
from seawatch.signals import stop_on_signals

__all__ = ["INTERRUPTED_EXIT", "simulate_command"]

INTERRUPTED_EXIT = 130  # stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it)


def _parse_start(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not ISO 8601 (e.g. 2025-06-01T00:00:00Z)") from None
    if t.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no time zone; add Z for UTC")
    return t.astimezone(dt.UTC)


def _hourly(total_s: int) -> Callable[[int], None]:
    """Progress without a terminal: a line on stderr per simulated hour."""
    done = [0]

    def step(n_s: int) -> None:
        before = done[0] // 3600
        done[0] += n_s
        if done[0] // 3600 > before:
            click.echo(f"simulated {done[0] / 3600:g} h of {total_s / 3600:g} h", err=True)

    return step


@click.command(
    "simulate",
    epilog="\b\nExamples:\n  seawatch simulate --seed 1 --vessels 300 --hours 24 --out data/sim\n"
    "  seawatch simulate --seed 7 --vessels 20000 --hours 6 \\\n"
    "      --start 2025-09-01T00:00:00Z --out /tmp/big",
)
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same bytes).")
@click.option(
    "--vessels", default=300, show_default=True, type=click.IntRange(1, 100_000), help="Fleet size."
)
@click.option(
    "--hours",
    default=24.0,
    show_default=True,
    type=click.FloatRange(0, 744, min_open=True),
    help="Simulated duration.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the NMEA files, truth.jsonl, zones.geojson and manifest.json.",
)
@click.option("--start", help="Start time, ISO 8601 UTC [default: 2025-06-01T00:00:00Z].")
@click.option(
    "--behaviours/--no-behaviours",
    default=True,
    show_default=True,
    help="Inject dark periods, rendezvous, spoofing... (recorded in truth.jsonl).",
)
@click.option(
    "--vhf-range-nm", default=40.0, show_default=True, type=click.FloatRange(1, 200),
    help="Range of the shore stations.",
)  # fmt: skip
@click.option(
    "--satellites", default=3, show_default=True, type=click.IntRange(0, 20),
    help="Satellites receiving AIS (S-AIS passes).",
)  # fmt: skip
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="With --tcp/--udp: simulated seconds per wall-clock second (60: an hour a minute).",
)
@click.option(
    "--tcp", metavar="HOST:PORT", help="Serve the lines live as a TCP server (waits for a client)."
)
@click.option(
    "--udp", metavar="HOST:PORT", help="Send the lines live as UDP datagrams, one a line."
)
def simulate_command(
    seed: int,
    vessels: int,
    hours: float,
    out_dir: Path,
    start: str | None,
    behaviours: bool,
    vhf_range_nm: float,
    satellites: int,
    speed: float,
    tcp: str | None,
    udp: str | None,
) -> None:
    """Simulate a fleet on real sea lanes and write what shore and satellite receivers hear.

    Vessels of realistic types (cargo, tankers, passenger ships: Class A; fishing;
    pleasure craft: Class B) sail searoute's lanes between ports of the Indian Ocean
    and beyond, report at the ITU-R M.1371 intervals and are heard by coast stations
    within VHF range or by passing satellites. Injected behaviours (going dark,
    rendezvous, loitering, foreign waters, shared MMSI, spoofing, identity changes,
    port calls) are listed in truth.jsonl with the detectors' event names. The boxes
    of other nations' waters go to zones.geojson, for `seawatch zones import`.

    With --tcp or --udp the lines are served live, paced by --speed, instead of
    written to files; truth.jsonl and manifest.json still go to --out at the end.

    Ctrl-C (or SIGTERM) stops after the current simulated minute and writes what was
    simulated so far: the NMEA files (whole lines), truth.jsonl of what happened until
    then, zones.geojson and manifest.json ("complete": false); the exit code is then 130.
    """
    from seawatch.sim import DEFAULT_START, SimConfig, simulate
    from seawatch.sim.live import LiveWriter, parse_address

    cfg = SimConfig(
        seed=seed,
        vessels=vessels,
        hours=hours,
        start=_parse_start(start) or DEFAULT_START,
        behaviours=behaviours,
        vhf_range_nm=vhf_range_nm,
        satellites=satellites,
    )
    began = time.perf_counter()
    stop = threading.Event()
    try:
        sink = None
        if tcp and udp:
            raise click.UsageError("give --tcp or --udp, not both")
        if tcp or udp:
            sink = LiveWriter(
                int(cfg.start.timestamp()),
                speed,
                tcp=parse_address(tcp) if tcp else None,
                udp=parse_address(udp) if udp else None,
                stop=stop,
            )
        total_s = int(hours * 3600)
        with (
            stop_on_signals(stop),
            click.progressbar(length=total_s, label="simulating", file=sys.stderr) as bar,
        ):
            progress = bar.update if sys.stderr.isatty() else _hourly(total_s)
            result = simulate(cfg, out_dir, progress=progress, sink=sink, stop=stop)
    except SeawatchError as exc:
        raise Failure(str(exc)) from exc
    took = time.perf_counter() - began
    where = f"sent to {tcp or udp}" if sink else f"in {len(result.files)} files in {out_dir}"
    events = ", ".join(f"{k} {v}" for k, v in result.behaviours.items()) or "none"
    click.echo(
        f"{result.lines} lines {where} ({took:.1f} s, "
        f"{result.lines / max(took, 1e-9):,.0f} lines/s); {result.transmissions} transmissions, "
        f"messages heard by type {result.by_type}; truth: {events}"
    )
    if not result.complete:
        reached = cfg.start + dt.timedelta(seconds=result.simulated_s)
        click.echo(
            f"interrupted: stopped at {reached:%Y-%m-%d %H:%M} UTC after "
            f"{result.simulated_s / 3600:.1f} of {hours:g} h; what was simulated is in {out_dir} "
            f"(NMEA files, truth.jsonl, zones.geojson, manifest.json)",
            err=True,
        )
        sys.exit(INTERRUPTED_EXIT)
