"""Which rows of a live batch each client gets, worked out for all of a fan-out's clients at once.

In: one record kind's rows of a batch (:class:`~seawatch.serve.live_render.Rendered`), the
clients it is fanned out to, and ``allowed``: each reader's label mask over the rows (the
hub's label check, :meth:`LiveHub.allowed <seawatch.serve.live.LiveHub.allowed>`, the one
every row sent goes through). Out: for each client the indexes of the rows its reader may
read inside its filters: what :meth:`Subscription.where
<seawatch.serve.subscription.Subscription.where>` and the mask choose, the same array for
clients given the same rows.

Clients whose filters are bounding boxes or nothing (the usual ones) are done together:
every box against every row in a few NumPy operations over a boxes x rows grid, each
client's row of it the OR of its boxes and its reader's mask, then the clients grouped by
those bits; the others one by one, by :meth:`Subscription.where`.

Why: NumPy lets go of the GIL in each operation over more than a few hundred values. A
client's filter was about ten of them a batch; with the live ingest thread busy in Python
beside the event loop, the loop waited for the GIL to come back after each (up to the switch
interval), thousands of times a batch with 200 clients (bench/RESULTS.md, 2026-12-07
session 3, h-fan).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from seawatch.serve.live_render import Rendered

if TYPE_CHECKING:
    from seawatch.labels import Reader
    from seawatch.serve.live_client import Client
    from seawatch.serve.subscription import Subscription

__all__ = ["chosen", "inside"]

Rows = np.ndarray[Any, np.dtype[np.intp]]
Mask = np.ndarray[Any, np.dtype[np.bool_]]


def inside(lon: Any, lat: Any, boxes: np.ndarray[Any, Any]) -> Mask:
    """``boxes`` (min_lon, min_lat, max_lon, max_lat each; across the antimeridian when
    min_lon > max_lon) x rows: where each row's position is inside each box (NaN: never)."""
    x0, y0, x1, y1 = (boxes[:, k : k + 1] for k in range(4))
    with np.errstate(invalid="ignore"):
        in_lat = (lat >= y0) & (lat <= y1)
        east, west = lon >= x0, lon <= x1
    in_lon = np.where(x0 <= x1, east & west, east | west)
    return in_lon & in_lat  # type: ignore[no-any-return]


def _together(sub: Subscription, kind: str) -> bool:
    """Whether ``sub`` filters ``kind`` by bounding boxes alone, or not at all."""
    return not sub.mmsi and not sub.shapes and not (kind == "events" and sub.event_types)


def chosen(r: Rendered, clients: Sequence[Client], allowed: Callable[[Reader], Mask]) -> list[Rows]:
    """For each of ``clients``, in order, the indexes of the rows of ``r`` it gets (see
    the module docstring)."""
    out: list[Rows | None] = [None] * len(clients)
    together = [i for i, c in enumerate(clients) if _together(c.sub, r.kind)]
    if together:
        readers: dict[Reader, int] = {}
        which = [readers.setdefault(clients[i].reader, len(readers)) for i in together]
        grid = np.stack([allowed(reader) for reader in readers])[which]  # clients x rows
        boxed = [j for j, i in enumerate(together) if clients[i].sub.bboxes]
        if boxed:
            lon, lat = r.column("lon"), r.column("lat")
            if lon is None or lat is None:
                grid[boxed] = False  # no positions: no row inside a box
            else:
                subs = [clients[together[j]].sub for j in boxed]
                boxes = np.array([b for s in subs for b in s.bboxes], np.float64)
                starts = np.cumsum([0] + [len(s.bboxes) for s in subs[:-1]])
                hits = inside(np.asarray(lon, np.float64), np.asarray(lat, np.float64), boxes)
                grid[boxed] &= np.logical_or.reduceat(hits, starts, axis=0)
        bits = np.packbits(grid, axis=1)
        width, flat = bits.shape[1], bits.tobytes()
        by_bits: dict[bytes, Rows] = {}
        for j, i in enumerate(together):
            key = flat[j * width : (j + 1) * width]
            found = by_bits.get(key)
            if found is None:
                found = by_bits[key] = np.flatnonzero(grid[j])
            out[i] = found
    for i, client in enumerate(clients):
        if out[i] is None:
            mask, where = allowed(client.reader), client.sub.where(r)
            out[i] = np.flatnonzero(mask if where is None else mask & where)
    return out  # type: ignore[return-value]
