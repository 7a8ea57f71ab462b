"""``seawatch demo``: generate a sample AIS feed, decode it, print what came out.

In: nothing but options (vessel count, duration, seed). Out: a synthetic tag-blocked
NMEA file (default ``<data_dir>/sample/bay-of-bengal.nmea``, written by
:func:`seawatch.sim.synth.write_sample`), its decoded tables in ``<data_dir>/out`` (by
:func:`seawatch.engine.decode.decode_files`) and the decode summary on stdout.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from seawatch.cli.common import settings_of
from seawatch.cli.summary import format_summary
from seawatch.engine.decode import decode_files, parquet_sink
from seawatch.sim.synth import SAMPLE_NAME, write_sample

__all__ = ["demo_command"]


@click.command(
    "demo",
    epilog="\b\nExamples:\n  seawatch demo\n  seawatch demo --vessels 50 --minutes 10 --out /tmp/d",
)
@click.option(
    "--vessels",
    default=300,
    show_default=True,
    type=click.IntRange(1, 5000),
    help="Ships in the sample.",
)
@click.option(
    "--minutes",
    default=60,
    show_default=True,
    type=click.IntRange(1, 24 * 60),
    help="Duration of the sample.",
)
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same file).")
@click.option(
    "--sample",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Where to write the sample [default: <data_dir>/sample/{SAMPLE_NAME}].",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the decoded Parquet tables [default: <data_dir>/out].",
)
@click.pass_context
def demo_command(
    ctx: click.Context,
    vessels: int,
    minutes: int,
    seed: int,
    sample: Path | None,
    out_dir: Path | None,
) -> None:
    """Generate a sample Bay of Bengal AIS feed, decode it and print the summary.

    The sample has tag-blocked !AIVDM sentences (positions, statics, base stations)
    of a few hundred ships over an hour, with some deliberately corrupt lines.
    """
    settings = settings_of(ctx)
    sample = sample or settings.data_dir / "sample" / SAMPLE_NAME
    out_dir = out_dir or settings.data_dir / "out"
    started = time.perf_counter()
    lines = write_sample(sample, vessels=vessels, minutes=minutes, seed=seed)
    click.echo(
        f"wrote {sample}: {lines:,} lines, {vessels} vessels over {minutes} min "
        f"({time.perf_counter() - started:.1f} s)",
        err=True,
    )
    result = decode_files(
        [sample], settings=settings, sink=parquet_sink(out_dir), keep_raw=settings.decode_keep_raw
    )
    click.echo(f"decoded into {out_dir}/", err=True)
    click.echo(format_summary(result.stats, result.elapsed_s, result.rows), nl=False)
    click.echo(f"\nnext: seawatch decode {sample} --format jsonl | head", err=True)
