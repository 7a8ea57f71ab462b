"""The ``WHERE`` conditions of the listings (:mod:`seawatch.store.query`,
:mod:`seawatch.store.summary`): positions in an area and a time window, events of some
types overlapping a window; times must be timezone-aware.

In: the filters of a listing. Out: ``" AND ..."`` SQL with ``?`` placeholders and its
parameters, appended after the label filter.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from seawatch.errors import InputError
from seawatch.store.bbox import BBox, check_bbox, where_bbox

__all__ = ["area_parts", "check_window", "like_literal", "where_area", "where_events"]


def where_area(
    bbox: BBox | None, start: datetime | None, end: datetime | None, mmsi: int | None = None
) -> tuple[str, list[Any]]:
    """``AND ...`` conditions of positions in ``bbox`` with ``start <= ts <= end`` (of
    ``mmsi``), each optional, and their parameters."""
    check_window(start, end)
    where, params = where_bbox(bbox)
    for cond, value in (("ts >= ?", start), ("ts <= ?", end), ("mmsi = ?", mmsi)):
        if value is not None:
            where += f" AND {cond}"
            params.append(value)
    return where, params


def area_parts(bbox: BBox | None, parts: int) -> list[tuple[str, list[Any]]]:
    """``parts`` disjoint ``AND ...`` conditions (and parameters) that split ``bbox``'s
    latitudes, cut at whole degrees where the band is that tall (rows are stored in 1-degree
    cells: each part reads its own pages); [] when not split (no box, one part, too flat)."""
    if bbox is None or parts < 2:
        return []
    _, y0, _, y1 = check_bbox(bbox)
    cuts: list[float] = []
    for i in range(1, parts):
        cut = y0 + (y1 - y0) * i / parts
        whole = float(round(cut))
        cut = whole if y1 - y0 >= parts and y0 < whole < y1 else cut
        if (cuts[-1] if cuts else y0) < cut < y1:
            cuts.append(cut)
    if not cuts:
        return []
    out: list[tuple[str, list[Any]]] = [(" AND lat < ?", [cuts[0]])]
    out += [(" AND lat >= ? AND lat < ?", [a, b]) for a, b in itertools.pairwise(cuts)]
    return [*out, (" AND lat >= ?", [cuts[-1]])]


def where_events(
    types: Sequence[str] | None,
    bbox: BBox | None,
    start: datetime | None,
    end: datetime | None,
    mmsi: int | None,
) -> tuple[str, list[Any]]:
    """``AND ...`` conditions of events of ``types`` at ``bbox`` overlapping the window,
    involving ``mmsi`` (either side), and their parameters."""
    check_window(start, end)
    where, params = where_bbox(bbox)
    for cond, values in (
        (f"event_type IN ({', '.join('?' for _ in types or ())})", list(types or ())),
        ("(end_ts IS NULL OR end_ts >= ?)", [] if start is None else [start]),
        ("start_ts <= ?", [] if end is None else [end]),
        ("(mmsi = ? OR other_mmsi = ?)", [] if mmsi is None else [int(mmsi)] * 2),
    ):
        if values:
            where += f" AND {cond}"
            params.extend(values)
    return where, params


def check_window(start: datetime | None, end: datetime | None) -> None:
    for name, t in (("start", start), ("end", end)):
        if t is not None and t.tzinfo is None:
            raise InputError(f"{name} {t.isoformat()}: give a timezone-aware time (UTC)")
    if start is not None and end is not None and end < start:
        raise InputError(f"time window {start.isoformat()} .. {end.isoformat()}: end before start")


def like_literal(text: str) -> str:
    """``text`` with LIKE wildcards taken literally (``ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
