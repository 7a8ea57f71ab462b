"""The ``seawatch`` command group, its global options and the ``settings`` command.

In: command-line arguments and ``SEAWATCH_*`` environment variables. Out: the effective
:class:`~seawatch.settings.Settings` handed to each subcommand (``ctx.obj``), logging on
stderr, and an exit code: 0 done, 1 a :class:`~seawatch.errors.SeawatchError` (printed as
``error: ...`` without a traceback), 2 bad usage.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from seawatch import __version__
from seawatch.cli.common import Failure, SeawatchGroup, settings_of
from seawatch.errors import SeawatchError
from seawatch.log import configure_logging
from seawatch.settings import SETTINGS, Settings, resolve_settings, settings_markdown

__all__ = ["cli", "main"]

_LOG_LEVELS = SETTINGS["log_level"].choices


#: The subcommands that live in their own modules, imported when invoked (or listed by
#: ``--help``): ``seawatch users list`` does not load the engine, the server and the simulator.
_SUBCOMMANDS = (
    "alerts", "audit", "db", "decode", "demo", "detect", "export", "ingest", "node",
    "peers", "ports", "query", "run", "serve", "share", "simulate", "users", "zones",
)  # fmt: skip  # each is ``<name>_command`` of ``seawatch.cli.<name>``


class _Group(SeawatchGroup):
    """The top-level group: its subcommands' modules load on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _SUBCOMMANDS and cmd_name not in self.commands:
            module = importlib.import_module(f"seawatch.cli.{cmd_name}")
            self.add_command(getattr(module, f"{cmd_name}_command"), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    name="seawatch",
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Example:  seawatch --log-level DEBUG decode feed.nmea.gz --out data/out --summary",
)
@click.option(
    "--settings",
    "settings_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML settings file (default: $SEAWATCH_SETTINGS_FILE, else ./seawatch.toml if "
    "present, else the per-user file: see `seawatch node show`).",
)
@click.option(
    "--log-level",
    type=click.Choice(_LOG_LEVELS, case_sensitive=False),
    help="Lowest level of log messages on stderr [env SEAWATCH_LOG_LEVEL; default INFO].",
)
@click.version_option(__version__, "--version", prog_name="seawatch")
@click.pass_context
def cli(ctx: click.Context, settings_file: Path | None, log_level: str | None) -> None:
    """seawatch: a sovereign, federated maritime domain awareness node.

    Data flows sources → decode → tracks → events → store → share → serve.
    Every option can also be set as SEAWATCH_<NAME> in the environment or in a
    settings file; see `seawatch settings` and docs/settings.md.
    """
    from seawatch.events.registry import resolve_params

    try:
        settings, sources = resolve_settings(settings_file, overrides={"log_level": log_level})
        resolve_params(settings)  # a bad [detectors.*] value fails here, before any work
    except SeawatchError as exc:
        raise Failure(str(exc)) from exc
    configure_logging(settings.log_level)
    ctx.obj = settings
    ctx.meta["seawatch.sources"] = sources
    ctx.meta["seawatch.settings_file"] = settings_file


@cli.command("settings")
@click.option("--markdown", is_flag=True, help="Print docs/settings.md (the reference) instead.")
@click.pass_context
def settings_command(ctx: click.Context, markdown: bool) -> None:
    """Print the effective settings as TOML, each with where it came from.

    Secret values are masked. The detector parameters follow, one [detectors.NAME]
    table per detector (docs/events.md).

    \b
    Examples:
      seawatch settings
      SEAWATCH_LOG_LEVEL=DEBUG seawatch settings
      SEAWATCH_DETECTORS__GAP__MIN_GAP_S=3600 seawatch settings
      seawatch settings --markdown > docs/settings.md
    """
    if markdown:
        click.echo(settings_markdown(), nl=False)
        return
    settings = settings_of(ctx)
    sources: dict[str, str] = ctx.meta.get("seawatch.sources", {})
    rows = [(f"{s.name} = {s.display(getattr(settings, s.name))}", s) for s in SETTINGS.values()]
    width = max(len(text) for text, _ in rows)
    for text, spec in rows:
        note = sources.get(spec.name, "default") + (" (secret, masked)" if spec.secret else "")
        click.echo(f"{text:<{width}}  # {note}")
    _echo_detector_params(settings, sources)


def _echo_detector_params(settings: Settings, sources: dict[str, str]) -> None:
    """``[detectors.<name>]`` tables: every parameter in force and where it came from."""
    from seawatch.events.registry import detectors, resolve_params

    params = resolve_params(settings)
    for d in detectors():
        click.echo(f"\n[detectors.{d.name}]")
        rows = []
        for spec in d.specs.values():
            value = getattr(params[d.name], spec.name)
            if spec.settable:
                key = f"detectors.{d.name}.{spec.name}"
                rows.append((f"{spec.name} = {spec.display(value)}", sources.get(key, "default")))
            else:
                rows.append((f"# {spec.name}", "not settable here (Python only)"))
        width = max(len(text) for text, _ in rows)
        for text, note in rows:
            click.echo(f"{text:<{width}}  # {note}")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``seawatch = seawatch.cli.main:main``)."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="seawatch")


if __name__ == "__main__":
    main()
