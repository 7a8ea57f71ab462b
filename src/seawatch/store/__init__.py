"""The store: labelled records in DuckDB (embedded) or PostgreSQL, read through one layer.

In: decoded positions and statics, segments and events (Arrow tables), each row with a
``label_id``. Out: a database (:func:`open_store` -> :class:`Store`) and, for a reader
only, query results as Arrow (:class:`Query`). See docs/storage.md.
"""

from __future__ import annotations

from seawatch.store.base import Backend, Store, redact_url
from seawatch.store.factory import db_location, open_store
from seawatch.store.tables import SCHEMA_VERSION, TABLES, Column, Dialect, TableDef

__all__ = [
    "SCHEMA_VERSION",
    "TABLES",
    "Backend",
    "Column",
    "Dialect",
    "Store",
    "TableDef",
    "db_location",
    "open_store",
    "redact_url",
]
