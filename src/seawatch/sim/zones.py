"""The simulated waters: the boxes of other nations' waters the simulator sends vessels into.

In: ground-truth records (``truth.jsonl``; its ``zone_entry`` and ``zone_present`` records
carry the box in ``params``: ``zone_name``, ``zone_country``, ``polygon``). Out: the boxes as
a GeoJSON FeatureCollection (``zones.geojson`` beside the NMEA files, for ``seawatch zones
import``) or as a :class:`~seawatch.geo.zones.ZoneLayer` (for detection in the same process).
Both list the boxes in one order (by name), so a detected ``details.zone`` index names the same
box either way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seawatch.errors import InputError

if TYPE_CHECKING:
    from seawatch.geo.zones import ZoneLayer

__all__ = ["WATERS_LAYER", "ZONES_FILE", "read_records", "waters", "write_zones", "zone_layer"]

WATERS_LAYER = "sim_waters"  # the layer name ``seawatch run`` gives the simulated waters
ZONE_TYPES = ("zone_entry", "zone_present")  # truth records that carry a box in params
ZONES_FILE = "zones.geojson"  # written by :func:`seawatch.sim.simulate` beside truth.jsonl


def read_records(truth: str | Path) -> list[dict[str, Any]]:
    """The records of a ``truth.jsonl`` file."""
    try:
        text = Path(truth).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {truth}: {exc.strerror}") from None
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def waters(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The simulated boxes as a GeoJSON FeatureCollection, features sorted by name.

    Each feature is a ``Polygon`` (a closed ring of ``[lon, lat]``) with properties
    ``name`` (e.g. "simulated waters of AE (near Fujairah)") and ``country`` (ISO 3166
    alpha-2, the nation whose waters the box stands for). No zone entries: no features.
    """
    boxes: dict[str, tuple[str, list[list[float]]]] = {}
    for rec in records:
        params = rec.get("params") or {}
        if rec.get("event_type") in ZONE_TYPES and params.get("polygon"):
            name = str(params.get("zone_name") or f"zone {len(boxes) + 1}")
            boxes.setdefault(name, (str(params.get("zone_country") or ""), params["polygon"]))
    features = [
        {
            "type": "Feature",
            "properties": {"name": name, "country": country},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
        for name, (country, ring) in sorted(boxes.items())
    ]
    return {"type": "FeatureCollection", "features": features}


def write_zones(records: Iterable[Mapping[str, Any]], path: str | Path) -> int:
    """Write :func:`waters` to ``path`` atomically (temporary file, then rename); returns
    the number of boxes."""
    path = Path(path)
    collection = waters(records)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(collection, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return len(collection["features"])


def zone_layer(records: Iterable[Mapping[str, Any]], name: str = WATERS_LAYER) -> ZoneLayer | None:
    """:func:`waters` as zone layer ``name`` (columns ``name``, ``country``); None if no box."""
    import numpy as np
    import pyarrow as pa
    import shapely

    from seawatch.geo.zones import ZoneLayer

    features = waters(records)["features"]
    if not features:
        return None
    geoms = np.array(
        [shapely.Polygon(f["geometry"]["coordinates"][0]) for f in features], dtype=object
    )
    table = pa.table(
        {
            "name": [f["properties"]["name"] for f in features],
            "country": [f["properties"]["country"] for f in features],
        }
    )
    return ZoneLayer(name, table, geoms)
