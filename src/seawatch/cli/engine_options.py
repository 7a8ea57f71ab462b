"""``--engine``, ``--scheduler``, ``--workers`` and ``--buckets`` of ``detect`` and ``ingest``.

In: the options as given. Out: the engine's name and the options of
:func:`seawatch.engine.dask_engine.run_partitioned` (:func:`engine_choice`), or a usage error
for a combination that means nothing (a scheduler without ``--engine dask``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from seawatch.engine.dask_engine import ENGINES

__all__ = ["engine_choice", "engine_options"]

F = TypeVar("F", bound=Callable[..., Any])


def engine_options(fn: F) -> F:
    """The engine options, added to a command."""
    options = [
        click.option(
            "--engine",
            type=click.Choice(ENGINES),
            default="local",
            show_default=True,
            help="local: one streaming pipeline (late rows quarantined); partitioned: "
            "inputs written per (day, MMSI bucket), a task per partition, in this process; "
            "dask: those tasks on a dask.distributed cluster (same answers).",
        ),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            default=None,
            help="With --engine dask: the cluster's scheduler, e.g. tcp://10.0.0.5:8786 (its "
            "workers must see this machine's temporary directory); default a LocalCluster "
            "on 127.0.0.1.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=2,
            show_default=True,
            help="With --engine dask and no --scheduler: LocalCluster worker processes.",
        ),
        click.option(
            "--buckets",
            type=click.IntRange(min=1, max=4096),
            default=64,
            show_default=True,
            help="With --engine partitioned or dask: MMSI buckets (tasks per day); another count "
            "than a store's last daily run (--incremental) re-splits its states per vessel.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def engine_choice(
    engine: str, scheduler: str | None, workers: int, buckets: int
) -> tuple[str, dict[str, Any]]:
    """The engine and its options, checked."""
    if scheduler is not None and engine != "dask":
        raise click.UsageError("--scheduler goes with --engine dask")
    options: dict[str, Any] = {}
    if engine != "local":
        options["buckets"] = buckets
    if engine == "dask":
        options |= {"scheduler": scheduler, "workers": workers}
    return engine, options
