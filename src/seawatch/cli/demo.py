"""``seawatch demo``: generate a sample AIS file, decode it, print the summary (placeholder)."""

from __future__ import annotations

import click


@click.command("demo")
def demo_command() -> None:
    """Generate a sample and decode it."""
    raise click.ClickException("not yet")
