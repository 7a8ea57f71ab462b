"""KML 2.2 (OGC 07-147r2) export: a Placemark per position, vessel or event, with its label.

In: positions, latest positions or events (an Arrow table with ``lon``, ``lat`` and
``label_id``) and the label dictionary. Out: ``<kml><Document>`` whose ``description`` and
``ExtendedData`` (``label``, ``kind``) give the collection's marking; then

- ``latest``: one Placemark per vessel (name: vessel name, else MMSI), ``TimeStamp``;
- ``positions``: one Folder per vessel (MMSI), marked with the combination of its
  positions' labels, holding a Placemark per position (``TimeStamp``, for a time slider);
- ``events``: one Placemark per event (``TimeSpan`` from ``start_ts`` to ``end_ts``).

Every Placemark has its marking as ``description``, every column as ``ExtendedData/Data``
(``label`` included; null values left out) and a ``Point`` when the position is known.
The elements used and their order are those of the OGC KML 2.2 schema; the subset is
``schemas/kml22-seawatch.xsd``. Read back with :func:`read_kml`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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
    text_value,
    used_labels,
)
from seawatch.labels import Label, Policy

__all__ = ["KML_NS", "read_kml", "write_kml"]

KML_NS = "http://www.opengis.net/kml/2.2"
BATCH_ROWS = 8192
_SKIP = ("label_id",)


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el


def _extended(parent: ET.Element, values: Mapping[str, Any]) -> None:
    ext = _sub(parent, "ExtendedData")
    for name, value in values.items():
        text = text_value(value)
        if text is not None:
            data = _sub(ext, "Data")
            data.set("name", name)
            _sub(data, "value", text)


def _coordinates(lon: Any, lat: Any) -> str | None:
    if lon is None or lat is None or not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        return None
    return f"{lon!r},{lat!r}"


def _placemark(kind: str, row: Mapping[str, Any]) -> ET.Element:
    pm = ET.Element("Placemark")
    if kind == "events":
        _sub(pm, "name", f"{row['event_type']} {row['mmsi']}")
    elif kind == "latest":
        name = (row.get("name") or "").strip()
        _sub(pm, "name", name or str(row["mmsi"]))
    else:
        _sub(pm, "name", row["ts"])
    _sub(pm, "description", row[LABEL_COLUMN])
    if kind == "events":
        if row["start_ts"] is not None or row.get("end_ts") is not None:
            span = _sub(pm, "TimeSpan")
            if row["start_ts"] is not None:
                _sub(span, "begin", row["start_ts"])
            if row.get("end_ts") is not None:
                _sub(span, "end", row["end_ts"])
    elif row["ts"] is not None:
        _sub(_sub(pm, "TimeStamp"), "when", row["ts"])
    _extended(pm, row)
    coords = _coordinates(row["lon"], row["lat"])
    if coords is not None:
        _sub(_sub(pm, "Point"), "coordinates", coords)
    return pm


def _rows(table: pa.Table, labels: Mapping[int, Label]) -> Any:
    names = [n for n in table.column_names if n not in _SKIP]
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        part = pa.Table.from_batches([batch])
        cols = {n: column_values(part.column(n)) for n in names}
        cols[LABEL_COLUMN] = marking_array(part, labels).to_pylist()
        keys = list(cols)
        for i in range(part.num_rows):
            yield {k: cols[k][i] for k in keys}


def _text(el: ET.Element) -> bytes:
    text: bytes = ET.tostring(el, encoding="utf-8", xml_declaration=False)
    return text + b"\n"


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
    used = used_labels(table, labels)
    overall = collection_label(used, policy)
    head = ET.Element("Document")
    _sub(head, "name", f"seawatch {kind}")
    _sub(head, "description", overall.marking)
    _extended(head, {LABEL_COLUMN: overall.marking, "kind": kind})
    opening = _text(head).replace(b"</Document>\n", b"")
    with binary_output(out) as fh:
        fh.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
        fh.write(f'<kml xmlns="{KML_NS}">\n'.encode() + opening + b"\n")
        if kind == "positions":
            ordered = table.sort_by([("mmsi", "ascending"), ("ts", "ascending")])
            _write_folders(fh, ordered, labels, policy)
        else:
            for row in _rows(table, labels):
                fh.write(_text(_placemark(kind, row)))
        fh.write(b"</Document>\n</kml>\n")
    return ExportResult(table.num_rows, overall.marking, tuple(lb.marking for lb in used))


def _write_folders(
    fh: IO[bytes], table: pa.Table, labels: Mapping[int, Label], policy: Policy
) -> None:
    grouped = table.group_by("mmsi").aggregate([("label_id", "distinct")])
    mmsis: list[Any] = grouped["mmsi"].to_pylist()
    id_lists: list[Any] = grouped["label_id_distinct"].to_pylist()
    folder_marking = {
        mmsi: collection_label([labels[i] for i in sorted(ids)], policy).marking
        for mmsi, ids in zip(mmsis, id_lists, strict=True)
    }
    current: int | None = None
    for row in _rows(table, labels):
        if current is None or row["mmsi"] != current:
            if current is not None:
                fh.write(b"</Folder>\n")
            current = row["mmsi"]
            folder = ET.Element("Folder")
            _sub(folder, "name", str(current))
            _sub(folder, "description", folder_marking[current])
            _extended(folder, {"mmsi": current, LABEL_COLUMN: folder_marking[current]})
            fh.write(_text(folder).replace(b"</Folder>\n", b"\n"))
        fh.write(_text(_placemark("positions", row)))
    if current is not None:
        fh.write(b"</Folder>\n")


def read_kml(path: str | Path, schema: pa.Schema | None = None) -> tuple[pa.Table, dict[str, str]]:
    """A KML export back as a table: every Placemark's ``ExtendedData`` and its Point.

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
        row: dict[str, Any] = {
            d.get("name", ""): d.findtext("k:value", None, ns)
            for d in pm.findall("k:ExtendedData/k:Data", ns)
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


def label_counts(table: pa.Table) -> dict[str, int]:
    """How many records of each marking a read-back table holds (for checks and tests)."""
    counts: Any = pc.value_counts(table[LABEL_COLUMN].combine_chunks())
    return {str(c["values"]): int(c["counts"]) for c in counts.to_pylist()}
