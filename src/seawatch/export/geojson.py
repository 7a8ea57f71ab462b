"""GeoJSON (RFC 7946) export: a FeatureCollection of Point features, each with its label.

In: positions, latest positions or events (an Arrow table with ``lon``, ``lat`` and
``label_id``) and the label dictionary. Out: a FeatureCollection whose features have a
``[lon, lat]`` Point (WGS84, no ``crs`` member; ``null`` geometry when the position is
missing or out of range), every other column as a property (units in the names, times as
ISO 8601 UTC text; event ``details`` flattened into typed properties and 64-bit ids as
text, :mod:`seawatch.export.styled`) and ``label``, the record's CAPCO marking. A feature's
``id`` is text: the event id, the message key of a position, the MMSI of a latest
position. Foreign members of the collection: ``label`` (the marking of the whole
collection, see :func:`~seawatch.export.common.collection_label`), ``labels`` (the
distinct markings present) and ``seawatch:kind``. Written in batches; read back with
:func:`read_geojson`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from seawatch.export.common import (
    LABEL_COLUMN,
    ExportResult,
    Kind,
    binary_output,
    check_table,
    column_values,
    from_text_columns,
    marking_array,
    marking_of,
)
from seawatch.export.styled import for_maps
from seawatch.labels import Label, Policy

__all__ = ["read_geojson", "write_geojson"]

BATCH_ROWS = 8192
_GEO = ("lon", "lat", "label_id")
_ID_COLUMN = {"events": "event_id", "positions": "msg_key", "latest": "mmsi"}


def _point(lon: Any, lat: Any) -> dict[str, Any] | None:
    if lon is None or lat is None or not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        return None
    return {"type": "Point", "coordinates": [lon, lat]}


def write_geojson(
    table: pa.Table,
    labels: Mapping[int, Label],
    out: IO[bytes] | str | Path,
    *,
    kind: Kind,
    policy: Policy,
) -> ExportResult:
    """Write ``table`` (already filtered for its reader) to ``out`` as GeoJSON."""
    check_table(table, kind)
    marked = marking_of(table, labels, policy)
    head = {
        "type": "FeatureCollection",
        "seawatch:kind": kind,
        "label": marked.overall.marking,
        "labels": sorted(set(marked.markings)),
    }
    table = for_maps(table, kind)
    props = [n for n in table.column_names if n not in _GEO]
    id_column = _ID_COLUMN.get(kind)
    if id_column not in table.column_names:
        id_column = None
    with binary_output(out) as fh:
        fh.write(json.dumps(head, ensure_ascii=False)[:-1].encode() + b', "features": [')
        first = True
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            part = pa.Table.from_batches([batch])
            cols = {n: column_values(part.column(n)) for n in props}
            cols[LABEL_COLUMN] = marking_array(part, labels).to_pylist()
            lons, lats = column_values(part["lon"]), column_values(part["lat"])
            names = list(cols)
            ids = cols[id_column] if id_column is not None else [None] * part.num_rows
            for i in range(part.num_rows):
                feature: dict[str, Any] = {"type": "Feature"}
                if ids[i] is not None:
                    feature["id"] = str(ids[i])
                feature["geometry"] = _point(lons[i], lats[i])
                feature["properties"] = {n: cols[n][i] for n in names}
                text = json.dumps(feature, ensure_ascii=False, allow_nan=False)
                fh.write((b"\n" if first else b",\n") + text.encode())
                first = False
        fh.write(b"\n]}\n")
    return marked.result(table.num_rows)


def read_geojson(
    path: str | Path, schema: pa.Schema | None = None
) -> tuple[pa.Table, dict[str, Any]]:
    """A GeoJSON export back as a table (``lon``, ``lat``, the properties, ``label``).

    Returns the table and the collection's foreign members (``label``, ``labels``,
    ``seawatch:kind``). With ``schema``, columns are typed (and ordered) as it says.
    """
    with Path(path).open("rb") as fh:
        doc = json.load(fh)
    features = doc.get("features", [])
    columns: dict[str, list[Any]] = {"lon": [], "lat": []}
    for feature in features:
        geom = feature.get("geometry")
        lon, lat = geom["coordinates"] if geom else (None, None)
        columns["lon"].append(lon)
        columns["lat"].append(lat)
        for name in feature.get("properties") or {}:
            columns.setdefault(name, [None] * (len(columns["lon"]) - 1))
        for name, values in columns.items():
            if name not in ("lon", "lat"):
                values.append((feature.get("properties") or {}).get(name))
    members = {k: v for k, v in doc.items() if k not in ("type", "features")}
    return from_text_columns(columns, schema), members
