"""``seawatch decode``: AIS input files to Parquet tables or JSON lines.

In: NMEA or tabular AIS files (plain, .gz, .bz2, .zst) or ``-`` for stdin. Out: one
Parquet file per decoded table in ``--out`` (default ``<data_dir>/out``), or JSON lines
on stdout; optionally rejected lines in a quarantine file and a summary of counts.
The decoding itself is :func:`seawatch.decode.decode_stream`; this module only moves
batches from it to the chosen output.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import click
from tqdm import tqdm

from seawatch.cli.common import columns_option, settings_of
from seawatch.cli.summary import StatsLike, format_summary
from seawatch.errors import ConfigError, InputError, SeawatchError

if TYPE_CHECKING:
    from seawatch.decode.lacking import Untimed
    from seawatch.engine.inputs import Findings
    from seawatch.settings import Settings

__all__ = ["decode_command", "run_decode"]

log = logging.getLogger(__name__)

_COMPRESSED = (".gz", ".bz2", ".zst", ".zstd", ".xz")
_EXAMPLE = """\b
Examples:
  seawatch decode data/sample/bay-of-bengal.nmea --out data/out --summary
  seawatch decode feed-*.nmea.gz --format jsonl | head
  cat feed.nmea | seawatch decode - --quarantine rejected.txt --summary
"""


def _check_input(name: str) -> str | Path:
    """``name`` as a decoder source; raises :class:`InputError` if it cannot be read."""
    if name == "-":
        return name
    path = Path(name)
    if not path.exists():
        raise InputError(f"cannot read '{name}': no such file (check the path)")
    if path.is_dir():
        raise InputError(f"cannot read '{name}': it is a directory (give the files in it)")
    if not os.access(path, os.R_OK):
        raise InputError(f"cannot read '{name}': permission denied (check its permissions)")
    return path


def _check_inputs(names: Sequence[str]) -> tuple[list[str | Path], list[str]]:
    """The inputs that can be opened, and one line for each that cannot."""
    ok: list[str | Path] = []
    errors = []
    for name in names:
        try:
            ok.append(_check_input(name))
        except InputError as e:
            errors.append(str(e))
    return ok, errors


def exit_if_none_readable(ok: Sequence[object], errors: Sequence[str]) -> None:
    """Every input named was unreadable: say why, each on one line, and exit 1 (before
    anything else is checked or opened)."""
    if errors and not ok:
        for line in errors:
            click.echo(f"error: {line}", err=True)
        raise SystemExit(1)


def _parse_untimed(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    from seawatch.decode.lacking import Untimed  # late: the decoder compiles on import

    try:
        return Untimed.parse(value)
    except ConfigError as e:
        raise click.BadParameter(str(e)) from None


untimed_option = click.option(
    "--untimed",
    metavar="START[,END]",
    callback=_parse_untimed,
    help="Stamp messages that have no receive time (no tag block c:, no timestamp column) "
    "from START (ISO 8601 UTC), one line a second, or spread evenly over the input's lines "
    "to END when given (the capture's window); stamped rows get station=ts-assumed. "
    "Live feeds need none: their lines are stamped on arrival.",
)


def tell_findings(
    found: Findings, errors: Sequence[str] = (), untimed: int = 0, what: str = "not stored"
) -> bool:
    """Print what was wrong with the inputs on stderr, one line each; True if any could not
    be read (the command then exits 1)."""
    for line in found.notes:
        click.echo(f"warning: {line}", err=True)
    if untimed:
        from seawatch.decode.lacking import untimed_text

        click.echo(f"warning: {untimed_text(untimed, what)}", err=True)
    for line in [*errors, *found.errors]:
        click.echo(f"error: {line}", err=True)
    return bool(errors or found.errors)


def _total_bytes(sources: list[str | Path]) -> int | None:
    """Bytes the progress bar counts to, or None when unknown (stdin, compressed)."""
    total = 0
    for src in sources:
        if not isinstance(src, Path) or src.suffix.lower() in _COMPRESSED:
            return None
        total += src.stat().st_size
    return total


def _want_progress(flag: bool | None, settings: Settings) -> bool:
    """Explicit --progress/--no-progress wins; otherwise the setting, on a terminal only."""
    if flag is not None:
        return flag
    return settings.progress and sys.stderr.isatty()


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0


def run_decode(
    sources: list[str | Path],
    *,
    settings: Settings,
    out_dir: Path | None,
    fmt: str,
    keep_raw: bool,
    quarantine: BinaryIO | None,
    show_progress: bool,
    untimed: Untimed | None = None,
) -> tuple[Any, dict[str, int], float, Findings]:
    """Decode ``sources`` into the chosen output with a progress bar; returns (stats, rows by
    table, seconds). The work is :func:`seawatch.engine.decode.decode_files`'s."""
    try:
        from seawatch.engine.decode import decode_files, jsonl_sink, parquet_sink
    except ImportError as exc:  # imported late: it compiles code, and --help stays fast
        raise SeawatchError(
            f"the decoder is not available ({exc}); reinstall seawatch with `make venv`"
        ) from exc
    bar = tqdm(
        total=_total_bytes(sources),
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        disable=not show_progress,
        # a pseudo-terminal without a size reports 0 x 0, where tqdm would print nothing
        **({"dynamic_ncols": True} if _terminal_width() > 0 else {"ncols": 80, "nrows": 20}),
    )
    sink = (
        parquet_sink(out_dir or settings.data_dir / "out")
        if fmt == "parquet"
        else jsonl_sink(sys.stdout)
    )
    with bar:
        result = decode_files(
            sources,
            settings=settings,
            sink=sink,
            keep_raw=keep_raw,
            quarantine=quarantine,
            on_source=bar.set_description,
            progress=bar.update,
            untimed=untimed,
        )
    return result.stats, result.rows, result.elapsed_s, result.findings


def _one_line(stats: StatsLike, rows: dict[str, int], elapsed_s: float, out: str) -> str:
    rejected = sum(stats.rejects.values())
    return (
        f"decoded {stats.messages:,} messages from {stats.lines:,} lines ({rejected:,} rejected) "
        f"in {elapsed_s:.1f} s -> {out} ({len(rows)} tables, {sum(rows.values()):,} rows)"
    )


@click.command("decode", epilog=_EXAMPLE)
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the Parquet files, one per table [default: <data_dir>/out].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "jsonl"]),
    default="parquet",
    show_default=True,
    help="parquet: files in --out; jsonl: one JSON object per message on stdout "
    "(under its own table only, e.g. type 4 in base_stations, not also in positions).",
)
@click.option("--summary", is_flag=True, help="Print counts per message type and rejection reason.")
@click.option(
    "--quarantine",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write every rejected line, as read, to this file.",
)
@click.option(
    "--raw/--no-raw",
    default=None,
    help="Keep the raw sentences in a `raw` column [env SEAWATCH_DECODE_KEEP_RAW; default off].",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr [default: on when stderr is a terminal; env SEAWATCH_PROGRESS].",
)
@columns_option
@untimed_option
@click.pass_context
def decode_command(
    ctx: click.Context,
    files: tuple[str, ...],
    out_dir: Path | None,
    fmt: str,
    summary: bool,
    quarantine: Path | None,
    raw: bool | None,
    progress: bool | None,
    untimed: Untimed | None,
) -> None:
    """Decode AIS files (NMEA or tabular; plain, .gz, .bz2, .zst) into tables.

    FILE may be - for standard input. Rejected lines are counted, not fatal:
    the exit code is 0 unless a file cannot be read (1: each such file is one
    error line, the others are still decoded) or the usage is wrong (2).
    Messages without a receive time get a null ts unless --untimed is given.
    """
    settings = settings_of(ctx)
    if fmt == "jsonl" and out_dir is not None:
        raise click.UsageError("--out is for --format parquet; jsonl goes to stdout (redirect it)")
    if files.count("-") > 1:
        raise click.UsageError("'-' (stdin) can be given only once")
    sources, errors = _check_inputs(files)
    exit_if_none_readable(sources, errors)
    keep_raw = settings.decode_keep_raw if raw is None else raw
    with contextlib.ExitStack() as stack:
        qfile = None
        if quarantine is not None:
            try:
                qfile = stack.enter_context(quarantine.open("wb"))
            except OSError as exc:
                raise InputError(
                    f"cannot write quarantine file '{quarantine}': {exc.strerror} (check the path)"
                ) from None
        try:
            stats, rows, elapsed, found = run_decode(
                sources,
                settings=settings,
                out_dir=out_dir,
                fmt=fmt,
                keep_raw=keep_raw,
                quarantine=qfile,
                show_progress=_want_progress(progress, settings),
                untimed=untimed,
            )
        except BrokenPipeError:  # `seawatch decode ... --format jsonl | head`
            _silence_stdout()
            return
    out = "stdout" if fmt == "jsonl" else str(out_dir or settings.data_dir / "out")
    click.echo(_one_line(stats, rows, elapsed, out), err=True)
    if summary:
        click.echo(format_summary(stats, elapsed, rows), nl=False, err=fmt == "jsonl")
    if tell_findings(found, errors, stats.untimed - stats.assumed, "written with a null ts"):
        ctx.exit(1)


def _silence_stdout() -> None:
    """After the reader of stdout went away, stop Python complaining at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
