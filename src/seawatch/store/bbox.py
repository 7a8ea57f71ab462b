"""Bounding boxes of the queries: the rules a box must keep, one message per broken rule.

In: ``(min_lon, min_lat, max_lon, max_lat)`` as a caller gives it. Out: the box as floats
(:func:`check_bbox`), or :class:`~seawatch.errors.InputError` naming the first rule it
breaks (``bbox: min_lat 95 is above 90``), not all of them; :func:`swapped_box` is the box
with longitude and latitude swapped when that is a valid box, for callers that suggest it.
"""

from __future__ import annotations

import math
from typing import Any

from seawatch.errors import InputError

__all__ = ["BBox", "check_bbox", "format_bbox", "swapped_box", "where_bbox"]

BBox = tuple[float, float, float, float]
"""``(min_lon, min_lat, max_lon, max_lat)`` in degrees; ``min_lon > max_lon`` crosses the
antimeridian."""


def _deg(v: float) -> str:
    """``95.0`` → ``'95'``, ``91.5`` → ``'91.5'``: degrees as a user would write them."""
    return str(int(v)) if math.isfinite(v) and v == int(v) else str(v)


def format_bbox(bbox: BBox) -> str:
    """``(80.0, 10.0, 90.5, 20.0)`` → ``'80,10,90.5,20'``."""
    return ",".join(_deg(v) for v in bbox)


_ORDER = "give min_lon,min_lat,max_lon,max_lat"
_BOUNDS = (("min_lon", 180), ("min_lat", 90), ("max_lon", 180), ("max_lat", 90))


def _broken_rule(bbox: BBox) -> str | None:
    """The first rule a four-number box breaks, as a message; None for a valid box."""
    for (name, limit), v in zip(_BOUNDS, bbox, strict=True):
        if not math.isfinite(v):
            return f"{name} {_deg(v)} is not a finite number"
        if v > limit or v < -limit:
            side = "above" if v > limit else "below"
            return f"{name} {_deg(v)} is {side} {limit if v > limit else -limit}"
    x0, y0, x1, y1 = bbox
    if y0 > y1:
        return f"min_lat {_deg(y0)} > max_lat {_deg(y1)} ({_ORDER})"
    if x0 > x1 and not (x0 > 0 > x1):
        return (
            f"min_lon {_deg(x0)} > max_lon {_deg(x1)} ({_ORDER}; a box crossing the "
            "antimeridian runs east from a positive min_lon to a negative max_lon, "
            "e.g. 170,-10,-170,10)"
        )
    return None


def check_bbox(bbox: BBox) -> BBox:
    """``bbox`` as floats, or :class:`InputError` naming the one rule it breaks (the first
    of: four finite numbers; each longitude in [-180, 180] and latitude in [-90, 90];
    min_lat <= max_lat; min_lon <= max_lon unless the box crosses the antimeridian, east
    from a positive min_lon to a negative max_lon). When a latitude is out of range but
    the box with longitude and latitude swapped is valid, the message suggests it.
    """
    if len(bbox) != 4:
        raise InputError(f"bbox: {_ORDER.replace('give', 'give four numbers')}, not {len(bbox)}")
    if not all(isinstance(v, int | float) for v in bbox):
        raise InputError(f"bbox {bbox!r}: {_ORDER} as numbers")
    box: BBox = tuple(float(v) for v in bbox)  # type: ignore[assignment]
    rule = _broken_rule(box)
    if rule is None:
        return box
    swapped = swapped_box(box)
    out_of_range = " is above " in rule or " is below " in rule
    if swapped is not None and rule.startswith(("min_lat", "max_lat")) and out_of_range:
        rule += (
            "; did you swap longitude and latitude? The box would be "
            f"{format_bbox(swapped)} (min_lon,min_lat,max_lon,max_lat)"
        )
    raise InputError(f"bbox: {rule}")


def swapped_box(bbox: BBox) -> BBox | None:
    """``bbox`` with longitude and latitude swapped, when that is a valid box other than
    ``bbox`` itself; else None."""
    x0, y0, x1, y1 = (float(v) for v in bbox)
    swapped = (y0, x0, y1, x1)
    if swapped == (x0, y0, x1, y1) or _broken_rule(swapped) is not None:
        return None
    return swapped


def where_bbox(bbox: BBox | None, lon: str = "lon", lat: str = "lat") -> tuple[str, list[Any]]:
    """``AND ...`` SQL condition (and its parameters) of rows inside ``bbox`` (checked)."""
    if bbox is None:
        return "", []
    x0, y0, x1, y1 = check_bbox(bbox)
    op = "AND" if x0 <= x1 else "OR"
    return f" AND {lat} BETWEEN ? AND ? AND ({lon} >= ? {op} {lon} <= ?)", [y0, y1, x0, x1]
