"""A ``/live`` subscription: what a client asks for, checked, and the rows it matches.

In: a subscription message (JSON, or the SSE route's query parameters as the same object).
Out: a :class:`Subscription` (bounding boxes, areas of interest, MMSIs, record types:
positions, events, alerts; event types; the frame form) whose
:meth:`~Subscription.where` selects the rows of a rendered batch that match, or a
:class:`SubscriptionError` (400) saying what was wrong. See docs/serve.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from seawatch.errors import InputError, SeawatchError
from seawatch.events.registry import event_types
from seawatch.serve.live_frames import FORMS
from seawatch.serve.live_render import Rendered
from seawatch.store.bbox import BBox, check_bbox

__all__ = ["TYPES", "Areas", "Subscription", "SubscriptionError"]

TYPES = ("positions", "events", "alerts")
_KEYS = {"bbox", "mmsi", "types", "event_types", "areas", "form"}

Areas = Callable[[list[str]], dict[str, Any]]
"""Area ids → their polygons, for the subscriber's reader; an id it cannot read (or that
does not exist) is a :class:`SubscriptionError`."""


class SubscriptionError(InputError):
    """A subscription message that cannot be followed; the detail says why."""


@dataclass(frozen=True)
class Subscription:
    bboxes: tuple[BBox, ...] = ()
    mmsi: frozenset[int] = frozenset()
    types: frozenset[str] = frozenset(TYPES)
    event_types: frozenset[str] = frozenset()
    areas: tuple[str, ...] = ()
    form: str = FORMS[0]
    shapes: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def parse(cls, text: str, areas: Areas | None = None) -> Subscription:
        try:
            msg = json.loads(text)
        except ValueError:
            raise SubscriptionError("the subscription is not JSON") from None
        return cls.from_obj(msg, areas)

    @classmethod
    def from_obj(cls, msg: Any, areas: Areas | None = None) -> Subscription:
        """The subscription ``msg`` (a decoded JSON object) asks for; ``areas`` looks its
        area ids up (none: a subscription naming areas is refused)."""
        if not isinstance(msg, dict):
            raise SubscriptionError("the subscription must be a JSON object")
        unknown = sorted(set(msg) - _KEYS)
        if unknown:
            raise SubscriptionError(
                f"unknown key(s) {', '.join(unknown)} (use {', '.join(sorted(_KEYS))})"
            )
        boxes = msg.get("bbox", [])
        if not isinstance(boxes, list) or not all(
            isinstance(b, list)
            and len(b) == 4
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in b)
            for b in boxes
        ):
            raise SubscriptionError(
                "bbox: give a list of [min_lon, min_lat, max_lon, max_lat] lists"
            )
        try:
            bboxes = tuple(check_bbox(tuple(float(v) for v in b)) for b in boxes)  # type: ignore[arg-type]
        except SeawatchError as exc:
            raise SubscriptionError(f"bbox: {exc}") from None
        mmsi = msg.get("mmsi", [])
        if not isinstance(mmsi, list) or not all(
            isinstance(m, int) and not isinstance(m, bool) and 0 < m < 1_000_000_000 for m in mmsi
        ):
            raise SubscriptionError("mmsi: give a list of MMSIs (integers of up to 9 digits)")
        types = msg.get("types", list(TYPES))
        if not isinstance(types, list) or not types or not set(types) <= set(TYPES):
            raise SubscriptionError(f"types: give a non-empty list of {', '.join(TYPES)}")
        ev = msg.get("event_types", [])
        known = set(event_types())
        if not isinstance(ev, list) or not all(isinstance(e, str) and e in known for e in ev):
            raise SubscriptionError(f"event_types: give a list of {', '.join(sorted(known))}")
        ids = msg.get("areas", [])
        if not isinstance(ids, list) or not all(isinstance(a, str) and a for a in ids):
            raise SubscriptionError("areas: give a list of area or zone ids (GET /api/v1/areas)")
        form = msg.get("form", FORMS[0])
        if form not in FORMS:
            raise SubscriptionError(f"form: give one of {', '.join(FORMS)}")
        shapes: dict[str, Any] = {}
        if ids:
            if areas is None:
                raise SubscriptionError("areas: not available on this stream")
            shapes = areas(sorted(set(ids)))
        return cls(bboxes, frozenset(mmsi), frozenset(types), frozenset(ev),
                   tuple(sorted(shapes)), form,
                   tuple(shapes[k] for k in sorted(shapes)))  # fmt: skip

    def describe(self) -> dict[str, Any]:
        return {
            "bbox": [list(b) for b in self.bboxes],
            "mmsi": sorted(self.mmsi),
            "types": [t for t in TYPES if t in self.types],
            "event_types": sorted(self.event_types),
            "areas": list(self.areas),
            "form": self.form,
        }

    def where(self, r: Rendered) -> np.ndarray[Any, np.dtype[np.bool_]] | None:
        """Where the rows of ``r`` match the bbox, MMSI and event type filters (None: all).
        Any kind is filtered by the columns it has (``lon``/``lat``, ``mmsi`` and
        ``other_mmsi``); a row without a position or an MMSI does not match a filter on
        it; ``event_types`` filters events only."""
        parts: list[Any] = []
        none = np.zeros(r.rows.num_rows, bool)
        lon, lat = r.column("lon"), r.column("lat")
        if self.bboxes:
            if lon is None or lat is None:
                return none
            parts.append(reduce(np.logical_or, [_in_box(lon, lat, b) for b in self.bboxes]))
        if self.mmsi:
            value_set = np.array(sorted(self.mmsi), np.float64)
            cols = [c for c in (r.column("mmsi"), r.column("other_mmsi")) if c is not None]
            if not cols:
                return none
            hits = [np.isin(np.asarray(c, np.float64), value_set) for c in cols]
            parts.append(reduce(np.logical_or, hits))
        if self.shapes:
            if lon is None or lat is None:
                return none
            xs, ys = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
            inside = reduce(np.logical_or, [shapely.intersects_xy(g, xs, ys) for g in self.shapes])
            parts.append(np.asarray(inside, bool))
        if r.kind == "events" and self.event_types:
            types = pa.array(sorted(self.event_types), pa.string())
            hit: Any = pc.is_in(r.rows.column("event_type"), value_set=types)
            parts.append(np.asarray(pc.fill_null(hit, False).to_numpy(), bool))
        if not parts:
            return None
        return reduce(np.logical_and, parts)  # type: ignore[no-any-return]


def _in_box(lon: Any, lat: Any, b: BBox) -> Any:
    """Inside ``b`` (NaN, a missing value, is not)."""
    with np.errstate(invalid="ignore"):
        in_lat = (lat >= b[1]) & (lat <= b[3])
        if b[0] <= b[2]:
            in_lon = (lon >= b[0]) & (lon <= b[2])
        else:  # across the antimeridian
            in_lon = (lon >= b[0]) | (lon <= b[2])
    return in_lon & in_lat
