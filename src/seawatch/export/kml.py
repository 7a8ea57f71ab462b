"""KML 2.2 (OGC 07-147r2) export: Placemarks a user can style, in folders per type, each
with its label.

In: positions, latest positions or events (an Arrow table with ``lon``, ``lat`` and
``label_id``; with the vessels' ``name`` and ``vessel_type`` when
:func:`seawatch.export.records.enriched` added them) and the label dictionary. Out:
``<kml><Document>`` whose ``description`` and ``ExtendedData`` (``label``, ``kind``) give
the collection's marking, a ``<Style>`` per event type and vessel type present
(:mod:`seawatch.export.kml_style`), a ``<Schema>`` typing every column, then a Folder per
type (event type for events, vessel type for vessels; GDAL reads each as a layer), marked
with the combination of its records' labels, holding

- ``latest``: one Placemark per vessel (name: the vessel's name, else its MMSI),
  ``TimeStamp``;
- ``positions``: one Folder per vessel (its name, else MMSI; marked with the combination
  of its positions' labels) holding its track (a ``LineString`` per segment, split where
  it crosses the antimeridian; ``TimeSpan`` of its positions) and a Placemark per position
  (``TimeStamp``, for a time slider);
- ``events``: one Placemark per event (name: type and vessel name, else MMSI;
  ``TimeSpan`` from ``start_ts`` to ``end_ts``).

Every record's Placemark has its marking as ``description``, its type's ``styleUrl``, every
column as ``ExtendedData/SchemaData`` (typed by the Schema, ``label`` included, null
values left out; event ``details`` flattened and 64-bit ids as text:
:mod:`seawatch.export.styled`) and a ``Point`` when the position is known. The elements
used and their order are those of the OGC KML 2.2 schema; the subset is
``schemas/kml22-seawatch.xsd``. Read back with :func:`read_kml`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree as ET

import pyarrow as pa
import pyarrow.compute as pc

from seawatch.export.common import (
    LABEL_COLUMN,
    ExportResult,
    Kind,
    binary_output,
    check_table,
    collection_label,
    column_values,
    from_text_columns,
    marking_array,
    marking_of,
    text_value,
    xml_attr,
    xml_text,
)
from seawatch.export.kml_style import field_types, schema_element, style_elements, style_id
from seawatch.export.styled import for_maps
from seawatch.labels import Label, Policy

__all__ = ["KML_NS", "read_kml", "write_kml"]

KML_NS = "http://www.opengis.net/kml/2.2"
BATCH_ROWS = 8192
_SKIP = ("label_id", "__group")


def _el(tag: str, text: str) -> str:
    return f"<{tag}>{xml_text(text)}</{tag}>"


def _extended(values: Mapping[str, Any]) -> str:
    parts = ["<ExtendedData>"]
    for name, value in values.items():
        text = text_value(value)
        if text is not None:
            parts.append(f"<Data name={xml_attr(name)}><value>{xml_text(text)}</value></Data>")
    parts.append("</ExtendedData>")
    return "".join(parts)


def _schema_data(schema_id: str, values: Mapping[str, Any]) -> str:
    parts = [f"<ExtendedData><SchemaData schemaUrl={xml_attr('#' + schema_id)}>"]
    for name, value in values.items():
        text = text_value(value)
        if text is not None:
            parts.append(f"<SimpleData name={xml_attr(name)}>{xml_text(text)}</SimpleData>")
    parts.append("</SchemaData></ExtendedData>")
    return "".join(parts)


def _coordinates(lon: Any, lat: Any) -> str | None:
    if lon is None or lat is None or not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        return None
    return f"{lon!r},{lat!r}"


def _vessel(row: Mapping[str, Any]) -> str:
    return (row.get("name") or "").strip() or str(row["mmsi"])


def _placemark(kind: str, row: Mapping[str, Any], schema_id: str) -> str:
    if kind == "events":
        who = (row.get("name") or "").strip() or f"MMSI {row['mmsi']}"
        name, style = f"{row['event_type']}: {who}", style_id("event", row["event_type"])
    else:
        name = _vessel(row) if kind == "latest" else row["ts"] or str(row["mmsi"])
        style = style_id("vessel", row.get("vessel_type"))
    parts = ["<Placemark>", _el("name", name), _el("description", row[LABEL_COLUMN])]
    if kind == "events":
        begin, end = row["start_ts"], row.get("end_ts")
        if begin is not None or end is not None:
            parts.append("<TimeSpan>")
            parts += [_el("begin", begin)] if begin is not None else []
            parts += [_el("end", end)] if end is not None else []
            parts.append("</TimeSpan>")
    elif row["ts"] is not None:
        parts.append(f"<TimeStamp>{_el('when', row['ts'])}</TimeStamp>")
    parts.append(_el("styleUrl", f"#{style}"))
    parts.append(_schema_data(schema_id, row))
    coords = _coordinates(row["lon"], row["lat"])
    if coords is not None:
        parts.append(f"<Point>{_el('coordinates', coords)}</Point>")
    parts.append("</Placemark>\n")
    return "".join(parts)


def _rows(table: pa.Table, labels: Mapping[int, Label]) -> Iterator[dict[str, Any]]:
    names = [n for n in table.column_names if n not in _SKIP]
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        part = pa.Table.from_batches([batch])
        cols = {n: column_values(part.column(n)) for n in names}
        cols[LABEL_COLUMN] = marking_array(part, labels).to_pylist()
        groups = part.column("__group").to_pylist()
        keys = list(cols)
        for i in range(part.num_rows):
            row = {k: cols[k][i] for k in keys}
            row["__group"] = groups[i]
            yield row


def _grouped(table: pa.Table, kind: Kind) -> pa.Table:
    """``table`` with its folder (``__group``: event type or vessel type), in folder order."""
    by = "event_type" if kind == "events" else "vessel_type"
    if by in table.column_names:
        fn: Any = pc  # the stubs reject a scalar fill value
        group: Any = fn.fill_null(table.column(by).cast(pa.string()), "unknown")
    else:
        group = pa.array(["unknown"] * table.num_rows, pa.string())
    table = table.append_column("__group", group)
    order: list[tuple[str, Any]] = [("__group", "ascending")]
    if kind == "events":
        order += [("start_ts", "ascending"), ("event_id", "ascending")]
    else:
        order += [("mmsi", "ascending"), ("ts", "ascending")]
    return table.sort_by(order)


def _markings(
    table: pa.Table, key: str, labels: Mapping[int, Label], policy: Policy
) -> dict[Any, str]:
    """The marking of each folder of ``key``: the combination of its records' labels."""
    grouped = table.group_by(key).aggregate([("label_id", "distinct")])
    return {
        k: collection_label([labels[i] for i in sorted(ids or ())], policy).marking
        for k, ids in zip(
            grouped[key].to_pylist(), grouped["label_id_distinct"].to_pylist(), strict=True
        )
    }


def _folder(name: str, mark: str, data: Mapping[str, Any]) -> bytes:
    text = "".join(["<Folder>", _el("name", name), _el("description", mark), _extended(data)])
    return (text + "\n").encode()


def write_kml(
    table: pa.Table,
    labels: Mapping[int, Label],
    out: IO[bytes] | str | Path,
    *,
    kind: Kind,
    policy: Policy,
) -> ExportResult:
    """Write ``table`` (already filtered for its reader) to ``out`` as KML 2.2."""
    check_table(table, kind)
    marked = marking_of(table, labels, policy)
    table = _grouped(for_maps(table, kind), kind)
    schema_id = f"seawatch-{kind}"
    names = [n for n in table.column_names if n not in _SKIP] + [LABEL_COLUMN]
    groups = [str(g) for g in table.column("__group").unique().to_pylist()]
    event_types = groups if kind == "events" else []
    vessel_types = [] if kind == "events" else groups
    head = "".join(
        [
            f'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="{KML_NS}">\n<Document>',
            _el("name", f"seawatch {kind}"),
            _el("description", marked.overall.marking),
            style_elements(event_types, vessel_types),
            _extended({LABEL_COLUMN: marked.overall.marking, "kind": kind}),
            "\n",
            schema_element(schema_id, field_types(table, names)),
        ]
    )
    group_marks = _markings(table, "__group", labels, policy)
    vessel_marks = _markings(table, "mmsi", labels, policy) if kind == "positions" else {}
    track = _Track(schema_id)
    with binary_output(out) as fh:
        fh.write(head.encode())
        group: str | None = None
        for row in _rows(table, labels):
            if row["__group"] != group:
                if group is not None:
                    fh.write(track.close() + b"</Folder>\n")
                group = row["__group"]
                what = "event_type" if kind == "events" else "vessel_type"
                fh.write(_folder(group, group_marks[group], {what: group}))
            if kind == "positions" and row["mmsi"] != track.mmsi:
                fh.write(track.close())
                mark = vessel_marks[row["mmsi"]]
                fh.write(_folder(_vessel(row), mark, {"mmsi": row["mmsi"], LABEL_COLUMN: mark}))
                track.open(row, mark)
            if kind == "positions":
                track.add(row)
            fh.write(_placemark(kind, row, schema_id).encode())
        if group is not None:
            fh.write(track.close() + b"</Folder>\n")
        fh.write(b"</Document>\n</kml>\n")
    return marked.result(table.num_rows)


class _Track:
    """One vessel's track as it is written: its line, then the end of its Folder."""

    def __init__(self, schema_id: str) -> None:
        self.schema_id = schema_id
        self.mmsi: Any = None
        self.pieces: list[list[str]] = []

    def open(self, row: Mapping[str, Any], mark: str) -> None:
        self.mmsi, self.mark, self.name = row["mmsi"], mark, _vessel(row)
        self.style = style_id("track", row.get("vessel_type"))
        self.pieces, self.segment, self.lon = [], None, None
        self.first, self.last = row["ts"], row["ts"]

    def add(self, row: Mapping[str, Any]) -> None:
        coords = _coordinates(row["lon"], row["lat"])
        if coords is None:
            return
        segment = row.get("segment_id")
        crosses = self.lon is not None and abs(row["lon"] - self.lon) > 180.0
        if not self.pieces or segment != self.segment or crosses:
            self.pieces.append([])
        self.pieces[-1].append(coords)
        self.segment, self.lon = segment, row["lon"]
        self.first = self.first or row["ts"]
        self.last = row["ts"] or self.last

    def close(self) -> bytes:
        """The track's Placemark (when it has a line) and the end of the vessel's Folder."""
        if self.mmsi is None:
            return b""
        lines = [
            f"<LineString><tessellate>1</tessellate>{_el('coordinates', ' '.join(p))}</LineString>"
            for p in self.pieces
            if len(p) > 1
        ]
        self.mmsi = None
        if not lines:
            return b"</Folder>\n"
        span = "".join(
            [_el("begin", self.first)] * (self.first is not None)
            + [_el("end", self.last)] * (self.last is not None)
        )
        geometry = (
            lines[0] if len(lines) == 1 else f"<MultiGeometry>{''.join(lines)}</MultiGeometry>"
        )
        text = "".join(
            [
                "<Placemark>",
                _el("name", f"{self.name} track"),
                _el("description", self.mark),
                f"<TimeSpan>{span}</TimeSpan>" if span else "",
                _el("styleUrl", f"#{self.style}"),
                _extended({LABEL_COLUMN: self.mark}),
                geometry,
                "</Placemark>\n</Folder>\n",
            ]
        )
        return text.encode()


def read_kml(path: str | Path, schema: pa.Schema | None = None) -> tuple[pa.Table, dict[str, str]]:
    """A KML export back as a table: every record's ``SchemaData`` and its Point (track
    lines left out).

    Returns the table and the Document's ``ExtendedData`` (``label``, ``kind``). With
    ``schema``, columns are typed (and ordered) as it says; otherwise they are text.
    """
    ns = {"k": KML_NS}
    root = ET.parse(path).getroot()
    doc = root.find("k:Document", ns)
    if doc is None:
        return pa.table({}), {}
    members = {
        d.get("name", ""): d.findtext("k:value", "", ns)
        for d in doc.findall("k:ExtendedData/k:Data", ns)
    }
    rows: list[dict[str, Any]] = []
    for pm in doc.iter(f"{{{KML_NS}}}Placemark"):
        if pm.find("k:ExtendedData/k:SchemaData", ns) is None:
            continue  # a track line, not a record
        row: dict[str, Any] = {
            d.get("name", ""): d.text or ""
            for d in pm.findall("k:ExtendedData/k:SchemaData/k:SimpleData", ns)
        }
        coords = pm.findtext("k:Point/k:coordinates", None, ns)
        if coords is not None:
            lon, lat = coords.strip().split(",")[:2]
            row["lon"], row["lat"] = float(lon), float(lat)
        else:
            row["lon"] = row["lat"] = None
        rows.append(row)
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    columns = {n: [row.get(n) for row in rows] for n in names}
    return from_text_columns(columns, schema), members
