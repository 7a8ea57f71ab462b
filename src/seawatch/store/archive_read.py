"""Reading positions from the database and the archived days as one, in either backend.

In: a store, a query built around its source (``build(source) -> SQL``, ``?`` parameters)
and how to combine two results of it (``merge``: SQL over a relation ``combined``). Out:
the rows. DuckDB reads the archive's files itself: one query over
:func:`~seawatch.store.archive.positions_source`. PostgreSQL cannot read Parquet: the query
runs on the database over ``positions`` and on an in-process DuckDB over the archived
days' files (the same SQL text, the same label filter and conditions), and ``merge``
(the listing's order and limit again, or a sum of counts, min and max of bounds) runs over
the two results. Top-k of the union is top-k of the two top-k's, the latest row per
vessel the latest of the two latest, a count the sum: the answer is what one relation
would give.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from seawatch.errors import StoreError
from seawatch.store.archive import archived_days, literal, positions_source
from seawatch.store.duck_tracks import source as vessel_source

if TYPE_CHECKING:
    from seawatch.store.base import Store

__all__ = ["fetch_positions", "snapshot"]


def snapshot(store: Store, table: str) -> AbstractContextManager[Any]:
    """Around a read of positions: one snapshot (a DuckDB transaction, PostgreSQL's at
    ``REPEATABLE READ``), so the archived days listed and the rows read are of one moment
    (a day archived or re-opened by another process or thread meanwhile is read once,
    from the table or from its file)."""
    return store.backend.snapshot() if table == "positions" else nullcontext()


_THREAD = threading.local()
_ONE_VESSEL = " AND mmsi = ?"  # the condition of one vessel's positions (store.where)


def _reader() -> duckdb.DuckDBPyConnection:
    """This thread's in-process DuckDB for reading archived files (kept: it caches their
    Parquet footers across queries)."""
    con: duckdb.DuckDBPyConnection | None = getattr(_THREAD, "con", None)
    if con is None:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET parquet_metadata_cache = true")
        _THREAD.con = con
    return con


def fetch_positions(
    store: Store,
    build: Callable[..., str],
    params: Sequence[Any],
    schema: pa.Schema,
    merge: str,
    start: datetime | None = None,
    end: datetime | None = None,
    split: Sequence[tuple[str, list[Any]]] = (),
) -> pa.Table:
    """The rows of ``build(source)`` over the positions of the window ``[start, end]`` in
    the database and the archive (see the module); ``merge`` combines the two results of
    a backend that reads no Parquet (``SELECT ... FROM combined ...``). DuckDB reads a
    query of one vessel (``mmsi = ?``) from the copy of closed days in vessel order where
    there is one (:mod:`.duck_tracks`: the same rows as ``positions``, fewer row groups).
    ``split``: ``(more, params)`` of disjoint parts of the database's rows, each
    ``build(source, more)`` with ``params`` after the query's, read together
    (:meth:`~seawatch.store.base.Backend.fetch_parts`); the archive is read by ``build``."""
    if store.backend.dialect.name == "duckdb":
        table = "positions"
        if _ONE_VESSEL in build(table):
            table = vessel_source(store.backend, start) or table  # type: ignore[arg-type]
        source = positions_source(store, start, end, table)
        return store.backend.fetch(build(source), params, schema)
    if len(split) > 1:  # the database's rows as disjoint parts, read at once (.pg_split)
        parts = [(build("positions", more), [*params, *p]) for more, p in split]
        here = store.backend.fetch_parts(parts, schema)
    else:
        here = store.backend.fetch(build("positions"), params, schema)
    days = archived_days(store, start, end)
    if not days:
        return here
    files = ", ".join(literal(str(d.path)) for d in days)
    con = _reader()
    try:
        there = con.sql(build(f"read_parquet([{files}])"), params=list(params) or None)
        there_rows = there.to_arrow_table()
        archived = pa.Table.from_arrays(
            [there_rows.column(f.name).cast(f.type) for f in schema], schema=schema
        )
        con.register("combined", pa.concat_tables([here, archived]))
        got = con.sql(merge).to_arrow_table()
    except duckdb.Error as exc:
        raise StoreError(f"{store.backend.display}: reading the archive: {exc}") from exc
    finally:
        con.unregister("combined")
    return pa.Table.from_arrays([got.column(f.name).cast(f.type) for f in schema], schema=schema)
