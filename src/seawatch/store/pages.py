"""Keyset pages of the query layer's listings: sort keys, cursors, limits.

In: a listing's name (a :class:`~.query.Query` method), the cursor a client gave back, the
rows of a page. Out: :data:`ORDERS` (each listing's total order), the SQL condition for
rows after a cursor, :class:`Page` (rows and the next cursor) and ``LIMIT`` clauses. A
cursor is the last row's sort key as base64url JSON, tagged with its listing; any other
string is refused with an :class:`~seawatch.errors.InputError`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import pyarrow as pa

from seawatch.errors import InputError

__all__ = [
    "ORDERS",
    "ORDERS_CURSOR",
    "Page",
    "checked_limit",
    "decode_cursor",
    "encode_cursor",
    "limit_sql",
    "next_page",
    "where_after",
]

ORDERS: Final[Mapping[str, tuple[str, ...]]] = {
    "positions": ("ts", "mmsi", "msg_key"),
    "track": ("ts", "mmsi", "msg_key"),
    "latest": ("mmsi",),
    "events": ("start_ts", "event_id"),
    "vessels": ("mmsi",),
    "zones": ("zone_id",),
    "ports": ("port_id",),
    "identities": ("mmsi",),
    "alerts": ("ts", "alert_id"),
    "alert_rules": ("rule_id",),
}
"""Each listing (a :class:`Query` method) and the sort key that orders it totally (its
last column is unique among the listing's rows): the key a page's cursor holds."""


ORDERS_CURSOR: Final[Mapping[str, str]] = {"track": "positions"}
"""Listings that share another's cursors (a track is positions of one vessel)."""


@dataclass(frozen=True)
class Page:
    """One page of a listing: its rows and the cursor of the next page (None: no more)."""

    rows: pa.Table
    next: str | None


def encode_cursor(listing: str, values: Sequence[Any]) -> str:
    key = [{"t": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    raw = json.dumps({"l": listing, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(listing: str, cursor: str) -> list[Any]:
    """The sort key a cursor of ``listing`` holds; :class:`InputError` for anything else."""
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        ok = isinstance(doc, dict) and doc.get("l") == ORDERS_CURSOR.get(listing, listing)
        key = doc["k"] if ok else None
        if not isinstance(key, list) or len(key) != len(ORDERS[listing]):
            raise ValueError(listing)
        values = [datetime.fromisoformat(v["t"]) if isinstance(v, dict) else v for v in key]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InputError(
            f"cursor {cursor[:40]!r} is not a cursor of {listing} "
            "(give the `next` of the previous page, unchanged)"
        ) from None
    if not all(isinstance(v, int | str | datetime) for v in values):
        raise InputError(f"cursor {cursor[:40]!r} is not a cursor of {listing}")
    return values


def where_after(listing: str, after: str | None) -> tuple[str, list[Any]]:
    """``AND (k1 > ? OR (k1 = ? AND k2 > ?) ...)``: rows after the cursor's key."""
    if after is None:
        return "", []
    keys, values = ORDERS[listing], decode_cursor(listing, after)
    ors, params = [], []
    for i, col in enumerate(keys):
        ands = [f"{k} = ?" for k in keys[:i]] + [f"{col} > ?"]
        ors.append("(" + " AND ".join(ands) + ")")
        params += [*values[:i], values[i]]
    return f" AND ({' OR '.join(ors)})", params


def next_page(listing: str, rows: pa.Table, limit: int) -> Page:
    """``rows`` (at most ``limit`` of ``listing``) as a page: the next cursor holds the last
    row's sort key, None when fewer than ``limit`` rows came (no more)."""
    if rows.num_rows < limit:
        return Page(rows, None)
    last = rows.slice(rows.num_rows - 1).select(list(ORDERS[listing])).to_pylist()[0]
    name = ORDERS_CURSOR.get(listing, listing)
    return Page(rows, encode_cursor(name, [last[k] for k in ORDERS[listing]]))


def checked_limit(limit: int) -> int:
    """``limit`` as an int; :class:`InputError` when negative."""
    if int(limit) < 0:
        raise InputError(f"limit {limit}: give a number >= 0")
    return int(limit)


def limit_sql(limit: int | None) -> str:
    """`` LIMIT n`` (nothing for None)."""
    return "" if limit is None else f" LIMIT {checked_limit(limit)}"
