"""Pieces shared by the CLI commands: error reporting, access to the settings, Ctrl-C."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from seawatch.errors import ConfigError, SeawatchError
from seawatch.settings import Settings, load_settings

__all__ = [
    "Failure",
    "SeawatchGroup",
    "columns_option",
    "load_zones",
    "params_option",
    "settings_of",
    "split_zone_names",
    "with_params",
    "zones_option",
]

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


class Failure(click.ClickException):
    """A :class:`SeawatchError` on its way out: printed as ``error: ...``, exit code 1."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.message}", file=file, err=file is None)


class SeawatchGroup(click.Group):
    """A click group that reports :class:`SeawatchError` without a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SeawatchError as exc:
            raise Failure(str(exc)) from exc


def settings_of(ctx: click.Context) -> Settings:
    """The effective settings the group loaded for this invocation."""
    found = ctx.find_object(Settings)
    if found is None:  # a subcommand invoked on its own (tests, embedding)
        found = load_settings()
        ctx.obj = found
    return found


def zones_option(f: F) -> F:
    """``--zones NAME``: zone layers to tag positions with (repeat, or comma-separated)."""
    return click.option(
        "--zones",
        "zone_names",
        multiple=True,
        metavar="NAME",
        help="Zone layer(s) imported under <data_dir>/zones/ (`seawatch zones import`) to tag "
        "positions with; repeat the option or separate names with commas.",
    )(f)


def split_zone_names(values: Sequence[str]) -> list[str]:
    """The layer names of ``--zones`` values (commas split)."""
    return [name for value in values for name in value.split(",") if name]


def load_zones(names: Sequence[str], data_dir: Path) -> list[Any]:
    """The zone layers named; a missing layer is an error, a missing package a warning."""
    if not names:
        return []
    try:
        from seawatch.geo.zones import load_zone_layer
    except ImportError as exc:
        log.warning("zone layers %s skipped: %s (install seawatch's geo extras)", names, exc)
        return []
    return [load_zone_layer(name, data_dir) for name in names]


def params_option(f: F) -> F:
    """``--param DETECTOR.PARAMETER=VALUE`` (repeatable): a detector parameter for this run."""
    return click.option(
        "--param",
        "params",
        multiple=True,
        metavar="DETECTOR.PARAM=VALUE",
        help="Set a detector parameter for this run, e.g. loitering.min_distance_to_shore_km=0 "
        "(repeatable; wins over [detectors.*] settings; docs/events.md lists them).",
    )(f)


def with_params(settings: Settings, params: Sequence[str]) -> Settings:
    """``settings`` with the detector parameters in force (``--param`` values applied).

    A bad ``--param`` is a usage error (exit 2) naming the valid detectors or parameters.
    """
    from seawatch.events.registry import given_params, resolve_params

    try:
        resolve_params(settings, params)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    return dataclasses.replace(settings, detectors=given_params(settings, params))


def columns_option(f: F) -> F:
    """``--columns COLUMN=HEADER,...``: which CSV header holds which column, for this run.

    Overrides the ``csv_columns`` setting in the command's settings (``ctx.obj``) before
    the command runs, so whatever decodes the inputs reads it from the settings. A
    malformed mapping is a usage error (exit 2).
    """
    return click.option(
        "--columns",
        metavar="COLUMN=HEADER,...",
        expose_value=False,
        callback=_set_columns,
        help="CSV files: which header holds which column, e.g. "
        "mmsi=MMSI,ts=Time,lat=Latitude,lon=Longitude[,speed_kn=Speed] for a header the "
        "decoder does not recognise [env SEAWATCH_CSV_COLUMNS].",
    )(f)


def _set_columns(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    from seawatch.decode.tabular_columns import parse_columns

    try:
        parse_columns(value)
    except ConfigError as exc:
        raise click.UsageError(str(exc), ctx) from exc
    ctx.obj = dataclasses.replace(settings_of(ctx), csv_columns=value)
