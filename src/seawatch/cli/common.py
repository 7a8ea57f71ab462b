"""Pieces shared by the CLI commands: error reporting and access to the settings."""

from __future__ import annotations

from typing import IO, Any

import click

from seawatch.errors import SeawatchError
from seawatch.settings import Settings, load_settings

__all__ = ["Failure", "SeawatchGroup", "settings_of"]


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
