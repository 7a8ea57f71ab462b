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
from seawatch.labels import Label, Policy

__all__ = ["KML_NS", "read_kml", "write_kml"]

KML_NS = "http://www.opengis.net/kml/2.2"
BATCH_ROWS = 8192
_SKIP = ("label_id",)


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


def _coordinates(lon: Any, lat: Any) -> str | None:
    if lon is None or lat is None or not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        return None
    return f"{lon!r},{lat!r}"


def _placemark(kind: str, row: Mapping[str, Any]) -> str:
    if kind == "events":
        name = f"{row['event_type']} {row['mmsi']}"
    elif kind == "latest":
        name = (row.get("name") or "").strip() or str(row["mmsi"])
    else:
        name = row["ts"] or str(row["mmsi"])
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
    parts.append(_extended(row))
    coords = _coordinates(row["lon"], row["lat"])
    if coords is not None:
        parts.append(f"<Point>{_el('coordinates', coords)}</Point>")
    parts.append("</Placemark>\n")
    return "".join(parts)


def _rows(table: pa.Table, labels: Mapping[int, Label]) -> Any:
    names = [n for n in table.column_names if n not in _SKIP]
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        part = pa.Table.from_batches([batch])
        cols = {n: column_values(part.column(n)) for n in names}
        cols[LABEL_COLUMN] = marking_array(part, labels).to_pylist()
        keys = list(cols)
        for i in range(part.num_rows):
            yield {k: cols[k][i] for k in keys}


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
    head = "".join(
        [
            f'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="{KML_NS}">\n<Document>',
            _el("name", f"seawatch {kind}"),
            _el("description", marked.overall.marking),
            _extended({LABEL_COLUMN: marked.overall.marking, "kind": kind}),
            "\n",
        ]
    )
    with binary_output(out) as fh:
        fh.write(head.encode())
        if kind == "positions":
            ordered = table.sort_by([("mmsi", "ascending"), ("ts", "ascending")])
            _write_folders(fh, ordered, labels, policy)
        else:
            for row in _rows(table, labels):
                fh.write(_placemark(kind, row).encode())
        fh.write(b"</Document>\n</kml>\n")
    return marked.result(table.num_rows)


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
            mark = folder_marking[current]
            folder = "".join(
                [
                    "<Folder>",
                    _el("name", str(current)),
                    _el("description", mark),
                    _extended({"mmsi": current, LABEL_COLUMN: mark}),
                    "\n",
                ]
            )
            fh.write(folder.encode())
        fh.write(_placemark("positions", row).encode())
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
