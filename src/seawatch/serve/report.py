"""A reader's report on the store: what it sees per label, the situation, and the exports.

In: an open store, a reader (:func:`seawatch.labels.default_reader` when none is named),
an optional time window, and readers to compare with. Out: a :class:`Report` (positions
per label counted in the database, vessels and events seen, what the other readers see,
the :class:`~seawatch.serve.situation.Situation`), its label lines
(:func:`format_labels`), and the standard exports written for the reader
(:func:`write_exports`: GeoJSON, KML, CoT of the latest positions and the events).
``seawatch run`` prints them; the HTTP API returns them as data. Every read goes through
:class:`~seawatch.store.query.Query`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from seawatch.events.registry import detectors
from seawatch.export import ExportResult, Kind, export
from seawatch.export.records import enriched, named
from seawatch.labels import Label, Reader
from seawatch.serve.situation import Situation, situation
from seawatch.store.base import Store
from seawatch.store.query import Query
from seawatch.store.tables import TABLES

__all__ = [
    "EXPORTS",
    "Report",
    "SeenBy",
    "StandardExport",
    "Written",
    "build_report",
    "format_labels",
    "write_exports",
]


@dataclass(frozen=True)
class StandardExport:
    """One file of the standard exports: its kind, format, file name and who uses it."""

    kind: Kind
    fmt: str
    name: str
    use: str


EXPORTS: tuple[StandardExport, ...] = (
    StandardExport("latest", "geojson", "vessels.geojson", "QGIS"),
    StandardExport("events", "geojson", "events.geojson", "QGIS"),
    StandardExport("latest", "kml", "vessels.kml", "Google Earth"),
    StandardExport("events", "kml", "events.kml", "Google Earth"),
    StandardExport("latest", "cot", "vessels.cot", "TAK"),
)
"""The standard exports (``seawatch run`` writes them to ``<out>/export/``)."""


@dataclass(frozen=True)
class SeenBy:
    """What another reader sees of the same window: vessels and events."""

    reader: str
    vessels: int
    events: int


@dataclass(frozen=True)
class Report:
    """What ``reader`` sees in the window, and the tables it was made from."""

    reader: Reader
    labels: dict[int, Label]
    positions: dict[int, int]
    """Positions per label id (counted in the database)."""
    events: pa.Table
    latest: pa.Table
    others: tuple[SeenBy, ...]
    situation: Situation

    @property
    def vessels(self) -> int:
        return self.latest.num_rows

    def as_dict(self) -> dict[str, Any]:
        """JSON-able: the reader, positions per label marking, counts, the situation."""
        return {
            "reader": str(self.reader),
            "positions": [
                {"label": self.labels[i].marking, "originator": self.labels[i].originator, "n": n}
                for i, n in _most_first(self.positions)
            ],
            "vessels": self.vessels,
            "events": self.events.num_rows,
            "others": [vars(o) for o in self.others],
            "situation": self.situation.as_dict(),
        }


def _most_first(counts: dict[int, int]) -> list[tuple[int, int]]:
    return sorted(counts.items(), key=lambda kv: -kv[1])


def _no_vessels() -> pa.Table:
    schema = TABLES["statics"].arrow_schema()
    return pa.table(
        {"mmsi": pa.array([], schema.field("mmsi").type), "name": pa.array([], pa.string())}
    )


def build_report(
    store: Store,
    reader: Reader,
    *,
    window: tuple[dt.datetime, dt.datetime] | None = None,
    top: int = 8,
    compare: Sequence[Reader] = (),
) -> Report:
    """Read the store for ``reader`` (and count what each of ``compare`` sees)."""
    query = Query(store, reader)
    start, end = window or (None, None)
    events = query.events(start=start, end=end)
    latest = query.latest(start=start, end=end)
    counted = query.count_positions(start=start, end=end)
    ids: list[Any] = counted.column("label_id").to_pylist()
    ns: list[Any] = counted.column("positions").to_pylist()
    positions = {int(lid): int(n) for lid, n in zip(ids, ns, strict=True)}
    types = [d.name for d in detectors()]
    # the notable incidents first, then the names of only their vessels
    first = situation(events, _no_vessels(), latest=latest, types=types, top=top)
    mmsis = sorted(
        {n.vessel.mmsi for n in first.notable}
        | {n.other.mmsi for n in first.notable if n.other is not None}
    )
    vessels = query.identities(mmsis)
    zones = query.zones()
    zone_names: dict[str, str | None] = {
        str(z): None if n is None else str(n)
        for z, n in zip(
            zones.column("zone_id").to_pylist(), zones.column("name").to_pylist(), strict=True
        )
    }
    summary = situation(events, vessels, latest=latest, types=types, top=top, zone_names=zone_names)
    others = []
    for other in compare:
        q = Query(store, other)
        seen_vessels = q.latest(start=start, end=end).num_rows
        others.append(SeenBy(str(other), seen_vessels, q.events(start=start, end=end).num_rows))
    return Report(reader, query.labels(), positions, events, latest, tuple(others), summary)


def format_labels(report: Report) -> list[str]:
    """Positions per label the reader sees, then what the other readers see."""
    out = [
        f"Labels: reader {report.reader} sees {sum(report.positions.values()):,} positions of "
        f"{report.vessels:,} vessels and {report.events.num_rows:,} events"
    ]
    for lid, n in _most_first(report.positions):
        lb = report.labels[lid]
        out.append(f"  {n:>12,} positions  {lb}  (originator {lb.originator})")
    for o in report.others:
        out.append(
            f"  reader {o.reader} sees {o.vessels:,} of {report.vessels:,} vessels and "
            f"{o.events:,} of {report.events.num_rows:,} events"
        )
    return out


@dataclass(frozen=True)
class Written:
    """One export written: what, where, and what it holds."""

    spec: StandardExport
    path: Path
    result: ExportResult


def write_exports(
    store: Store,
    report: Report,
    folder: Path,
    *,
    node_id: str = "local",
    cot_stale_s: float = 600.0,
    exports: Sequence[StandardExport] = EXPORTS,
) -> list[Written]:
    """Write ``exports`` of the report's events and latest positions (vessels' identity from
    the static reports the reader may read, events placed: as ``seawatch export`` holds
    them, :func:`seawatch.export.records.enriched`) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    query = Query(store, report.reader)
    latest, latest_labels = named(query, report.latest)
    events, event_labels = enriched(query, "events", report.events, report.labels)
    written = []
    for spec in exports:
        table, labels = (events, event_labels) if spec.kind == "events" else (latest, latest_labels)
        path = folder / spec.name
        result = export(
            table,
            labels,
            path,
            fmt=spec.fmt,
            kind=spec.kind,
            reader=report.reader,
            policy=store.policy,
            node_id=node_id,
            cot_stale_s=cot_stale_s,
        )
        written.append(Written(spec, path, result))
    return written
