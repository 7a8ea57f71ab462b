"""The output formats, declared once: name, media type, file suffix, the kinds of records
each can hold, and its writer.

In: a format name (``seawatch export --format``, ``seawatch query --format``, the coming
HTTP API's ``?f=``). Out: its :class:`OutputFormat`, whose ``write`` takes the records
(already filtered for their reader), the label dictionary, a path or binary file and the
:class:`WriteOptions`. Every writer puts each record's marking in the file and, where the
format has room for it, the marking of the whole file (docs/exports.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Final

import pyarrow as pa

from seawatch.errors import InputError
from seawatch.export.columnar import write_arrow, write_parquet
from seawatch.export.common import KINDS, PLACED, ExportResult, Kind
from seawatch.export.cot import write_cot
from seawatch.export.csv import write_csv
from seawatch.export.geojson import write_geojson
from seawatch.export.geoparquet import write_geoparquet
from seawatch.export.jsonl import write_jsonl
from seawatch.export.kml import write_kml
from seawatch.labels import Label, Policy

__all__ = ["FORMATS", "OUTPUT_FORMATS", "OutputFormat", "WriteOptions", "output_format"]

Sink = IO[bytes] | Path


@dataclass(frozen=True)
class WriteOptions:
    """What a writer needs besides the records: their kind, the node's policy, and the
    Cursor-on-Target settings (``node_id``, ``cot_stale_s``; ``cot_now``: the time of the
    export, for replayed data whose markers would otherwise be stale on arrival;
    ``cot_incidents``: a marker per incident after the events' markers)."""

    kind: Kind
    policy: Policy
    node_id: str = "local"
    cot_stale_s: float = 600.0
    cot_now: datetime | None = None
    cot_incidents: bool = False


Writer = Callable[[pa.Table, Mapping[int, Label], Sink, WriteOptions], ExportResult]


@dataclass(frozen=True)
class OutputFormat:
    """One output format: ``write(table, labels, out, options)`` and what it is."""

    name: str
    media_type: str
    suffix: str
    kinds: tuple[Kind, ...]
    binary: bool  # not for a terminal: a file (``--out``) or an HTTP body
    write: Writer
    help: str


OUTPUT_FORMATS: Final[Mapping[str, OutputFormat]] = {
    f.name: f
    for f in (
        OutputFormat(
            "geojson",
            "application/geo+json",
            ".geojson",
            PLACED,
            False,
            lambda t, lb, out, o: write_geojson(t, lb, out, kind=o.kind, policy=o.policy),
            "GeoJSON (RFC 7946) FeatureCollection",
        ),
        OutputFormat(
            "csv",
            "text/csv",
            ".csv",
            KINDS,
            False,
            lambda t, lb, out, o: write_csv(t, lb, out, kind=o.kind, policy=o.policy),
            "CSV (RFC 4180) with a label column",
        ),
        OutputFormat(
            "jsonl",
            "application/jsonl",
            ".jsonl",
            KINDS,
            False,
            lambda t, lb, out, o: write_jsonl(t, lb, out, kind=o.kind, policy=o.policy),
            "JSON Lines: a marking line, then a record per line",
        ),
        OutputFormat(
            "kml",
            "application/vnd.google-earth.kml+xml",
            ".kml",
            PLACED,
            False,
            lambda t, lb, out, o: write_kml(t, lb, out, kind=o.kind, policy=o.policy),
            "KML 2.2 (Google Earth)",
        ),
        OutputFormat(
            "cot",
            "application/xml",
            ".cot",
            PLACED,
            False,
            lambda t, lb, out, o: write_cot(
                t,
                lb,
                out,
                kind=o.kind,
                policy=o.policy,
                node_id=o.node_id,
                stale_s=o.cot_stale_s,
                now=o.cot_now,
                incidents=o.cot_incidents,
            ),
            "Cursor-on-Target 2.0 events: one per vessel, or a marker per event or incident (TAK)",
        ),
        OutputFormat(
            "geoparquet",
            "application/vnd.apache.parquet",
            ".parquet",
            PLACED,
            True,
            lambda t, lb, out, o: write_geoparquet(t, lb, out, kind=o.kind, policy=o.policy),
            "GeoParquet 1.1 (WKB points)",
        ),
        OutputFormat(
            "parquet",
            "application/vnd.apache.parquet",
            ".parquet",
            KINDS,
            True,
            lambda t, lb, out, o: write_parquet(t, lb, out, kind=o.kind, policy=o.policy),
            "Parquet with the marking in its metadata",
        ),
        OutputFormat(
            "arrow",
            "application/vnd.apache.arrow.file",
            ".arrow",
            KINDS,
            True,
            lambda t, lb, out, o: write_arrow(t, lb, out, kind=o.kind, policy=o.policy),
            "Arrow IPC file with the marking in its schema metadata",
        ),
    )
}
"""Every output format by name."""

FORMATS: Final[tuple[str, ...]] = tuple(OUTPUT_FORMATS)


def output_format(name: str, kind: Kind | None = None) -> OutputFormat:
    """The format called ``name``; :class:`InputError` when there is none, or when it cannot
    hold records of ``kind``."""
    found = OUTPUT_FORMATS.get(name)
    if found is None:
        raise InputError(f"unknown export format {name!r} (use one of {', '.join(FORMATS)})")
    if kind is not None and kind not in found.kinds:
        able = [f.name for f in OUTPUT_FORMATS.values() if kind in f.kinds]
        raise InputError(
            f"format {name} cannot hold {kind} (it holds {', '.join(found.kinds)}); "
            f"for {kind} use {', '.join(able)}"
        )
    return found
