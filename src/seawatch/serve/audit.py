"""The audit trail: every API request that returned records, written to the ``audit`` table.

In: who asked (:class:`~seawatch.serve.deps.Principal`), the route, the query string, how
many records went out and their combined marking. Out: one ``audit`` row per request
(never the token: the Authorization header is not part of the query string), written on
the app's store under its lock, committed before the response leaves.

Live streams (``/live``, ``/live/sse``) are audited per subscription by
:func:`record_stream`: the subscription (as JSON) is the query, written when the client
leaves or changes its subscription and, while it stays, every
:data:`~seawatch.serve.live.AUDIT_EVERY_S` seconds in which records were sent.
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

__all__ = ["audit_rows", "record", "record_stream"]


def record(
    state: ServeState, who: Principal, route: str, query: str, rows: int, marking: str
) -> None:
    """Write one audit row (and count the rows in the request's access-log line)."""
    note_rows(rows)
    record_stream(state, who.user.name, route, query, rows, marking)


def record_stream(
    state: ServeState, user_name: str, route: str, query: str, rows: int, marking: str
) -> None:
    """Write one audit row for ``user_name`` (a stream's subscription: ``query``)."""
    row = {
        "audit_id": uuid.uuid4().hex,
        "ts": datetime.now(UTC),
        "user_name": user_name,
        "route": route,
        "query": query,
        "rows": rows,
        "markings": marking,
    }
    with state.lock, state.store.transaction():  # committed before the answer leaves
        state.store.append("audit", row)


def audit_rows(store: Store) -> pa.Table:
    """The audit table, oldest first (for the node admin; holds no records)."""
    schema = TABLES["audit"].arrow_schema()
    return store.backend.fetch(
        f"SELECT {', '.join(schema.names)} FROM audit ORDER BY ts, audit_id", [], schema
    )
