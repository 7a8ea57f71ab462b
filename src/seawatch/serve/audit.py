"""The audit trail: every API request that returned records, written to the ``audit`` table.

In: who asked (:class:`~seawatch.serve.deps.Principal`), the route, the query string, how
many records went out and their combined marking. Out: one ``audit`` row per request
(never the token: the Authorization header is not part of the query string), written on
the app's store under its lock (the one writer), committed before the response leaves.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from seawatch.serve.access_log import note_rows
from seawatch.store import Store
from seawatch.store.tables import TABLES

if TYPE_CHECKING:
    from seawatch.serve.deps import Principal, ServeState

__all__ = ["audit_rows", "record"]


def record(
    state: ServeState, who: Principal, route: str, query: str, rows: int, marking: str
) -> None:
    """Write one audit row (and count the rows in the request's access-log line)."""
    note_rows(rows)
    row = {
        "audit_id": uuid.uuid4().hex,
        "ts": datetime.now(UTC),
        "user_name": who.user.name,
        "route": route,
        "query": query,
        "rows": rows,
        "markings": marking,
    }
    table = pa.Table.from_pylist([row], TABLES["audit"].arrow_schema())
    with state.lock, state.store.transaction():
        state.store.write("audit", table)


def audit_rows(store: Store) -> pa.Table:
    """The audit table, oldest first (for the node admin; holds no records)."""
    schema = TABLES["audit"].arrow_schema()
    return store.backend.fetch(
        f"SELECT {', '.join(schema.names)} FROM audit ORDER BY ts, audit_id", [], schema
    )
