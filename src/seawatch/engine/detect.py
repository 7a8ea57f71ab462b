"""Detect to files: AIS inputs through the engine into a directory of Parquet tables.

In: input files (anything :func:`seawatch.decode.decode_stream` reads), the settings, zone
layers and detector parameters. Out: in ``out_dir`` the tables of
:class:`seawatch.engine.sinks.ParquetDirSink` (positions, segments, identity, events and
the late-row quarantine), and a :class:`DetectResult`. ``seawatch detect`` is this call.
``engine``: ``local`` (the streaming engine, :class:`seawatch.engine.run.Engine`) or the
partitioned engine in this process or on Dask (:mod:`seawatch.engine.dask_engine`, with its
``options``: scheduler, workers, buckets...), into the same tables.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seawatch.decode.lacking import Untimed
from seawatch.engine.run import Engine, EngineReport
from seawatch.engine.sinks import ParquetDirSink, Subscribers
from seawatch.errors import InputError

if TYPE_CHECKING:
    from seawatch.geo.ports import PortTable
    from seawatch.geo.zones import ZoneLayer
    from seawatch.settings import Settings

__all__ = ["DetectResult", "detect_files"]

log = logging.getLogger(__name__)


@dataclass
class DetectResult:
    """The engine's report and the files written."""

    report: EngineReport
    files: list[Path] = field(default_factory=list)


def detect_files(
    sources: Sequence[str | Path],
    *,
    settings: Settings,
    out_dir: Path,
    zones: Sequence[ZoneLayer] = (),
    params: Mapping[str, Any] | None = None,
    chunk_rows: int | None = None,
    subscribers: Subscribers | None = None,
    untimed: Untimed | None = None,
    ports: PortTable | None = None,
    engine: str = "local",
    options: Mapping[str, Any] | None = None,
) -> DetectResult:
    """Run the engine on ``sources`` (merged in time order) and write its tables into
    ``out_dir``; nothing is left there half-written if it fails. An input that cannot be
    read is named in ``report.findings`` and the others go on; ``untimed``: times assumed
    for messages without one (:mod:`seawatch.decode.lacking`); ``ports``: the port list for
    ``distance_to_port_km`` (default: the built-in one)."""
    with ParquetDirSink(out_dir) as out:
        sinks: list[Any] = [out] if subscribers is None else [out, subscribers]
        if engine != "local":
            from seawatch.engine.dask_engine import run_partitioned

            if ports is not None:
                raise InputError(
                    f"--ports is not yet read by the {engine} engine (only by --engine local)"
                )
            report = run_partitioned(sources, settings, sinks=sinks, engine=engine,
                                     zones=zones, params=params, chunk_rows=chunk_rows,
                                     untimed=untimed, **(options or {}))  # fmt: skip
        else:
            run = Engine(
                settings,
                sinks=sinks,
                zones=zones,
                params=params,
                chunk_rows=chunk_rows,
                untimed=untimed,
                ports=ports,
            )
            run.add(sources)
            report = run.finish()
    if not report.read["positions"]:
        log.warning("no positions decoded from %d input(s): nothing to detect", len(sources))
    return DetectResult(report, out.files)
