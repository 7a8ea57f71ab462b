"""Places in the store, listed for a reader: zones (areas, layers) and ports (built-in,
imported, derived anchorages).

:class:`PlaceListings` is mixed into :class:`~seawatch.store.query.Query`, whose label
filter every listing goes through (``_select``); paged like every listing (``after``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import pyarrow as pa

from seawatch.store.pages import limit_sql, where_after

__all__ = ["PlaceListings"]


class _Selects(Protocol):
    def _select(
        self, table: str, where: str, params: Sequence[Any], tail: str, *, distinct: str = ""
    ) -> pa.Table: ...


class PlaceListings:
    """The zone and port listings of :class:`~seawatch.store.query.Query` (label-filtered)."""

    def zones(
        self: _Selects,
        kind: str | None = None,
        *,
        limit: int | None = None,
        after: str | None = None,
    ) -> pa.Table:
        """Stored zones (of layer ``kind`` when given), by id."""
        where, params = ("", []) if kind is None else (" AND kind = ?", [kind])
        more, more_params = where_after("zones", after)
        return self._select(
            "zones", where + more, params + more_params, "ORDER BY zone_id" + limit_sql(limit)
        )

    def ports(
        self: _Selects,
        source: str | None = None,
        *,
        limit: int | None = None,
        after: str | None = None,
    ) -> pa.Table:
        """Stored ports and anchorages (of ``source`` when given: ``derived``, ``wpi``...)."""
        where, params = ("", []) if source is None else (" AND source = ?", [source])
        more, more_params = where_after("ports", after)
        return self._select(
            "ports", where + more, params + more_params, "ORDER BY port_id" + limit_sql(limit)
        )
