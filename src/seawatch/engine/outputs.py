"""Where ``seawatch decode`` writes decoded tables: Parquet files or JSON lines.

In: batches of Arrow tables by table name. Out: either one Parquet file per table in a
directory, written streaming and replaced atomically at the end (:class:`ParquetSink`),
or one JSON object per message on a text stream (:class:`JsonlSink`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seawatch.errors import InputError, SchemaError, StoreError

__all__ = ["JsonlSink", "ParquetSink", "conform_to", "jsonl_rows"]

log = logging.getLogger(__name__)


def conform_to(table: pa.Table, schema: pa.Schema, name: str) -> pa.Table:
    """``table`` with exactly ``schema``'s columns: reordered, cast, missing ones null."""
    if table.schema.equals(schema):
        return table
    extra = set(table.column_names) - set(schema.names)
    if extra:
        raise SchemaError(
            f"decoder produced columns {sorted(extra)} that table {name!r} does not declare "
            "(a decoder bug: please report it with the input)"
        )
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(len(table), f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


class ParquetSink:
    """One Parquet file per table in ``out_dir``, streamed across batches.

    Each table is written to a hidden temporary file in ``out_dir`` and renamed to
    ``<table>.parquet`` only by :meth:`commit`; leaving the ``with`` block through an
    exception removes the temporaries, so no half-written file survives. At commit,
    ``<table>.parquet`` files of known tables that this run did not produce are removed,
    so the directory never mixes results of two runs.
    """

    def __init__(self, out_dir: Path, schemas: Mapping[str, pa.Schema]) -> None:
        self.out_dir = out_dir
        self.schemas = schemas
        self._writers: dict[str, tuple[pq.ParquetWriter, Path]] = {}
        self._schemas: dict[str, pa.Schema] = {}
        self.rows: dict[str, int] = {}
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"cannot create output directory '{out_dir}': {exc.strerror} (choose another --out)"
            ) from None

    def write(self, name: str, table: pa.Table, *, create: bool = False) -> None:
        """Append ``table``'s rows to table ``name``. ``create``: make the file even when
        ``table`` is empty. A table not in ``schemas`` takes the schema of its first rows."""
        if table.num_rows == 0 and not create:
            return
        if name not in self._writers:
            schema = self.schemas.get(name, table.schema)
            tmp = self.out_dir / f".{name}.parquet.{os.getpid()}.tmp"
            try:
                writer = pq.ParquetWriter(tmp, schema, compression="zstd")
            except OSError as exc:
                raise StoreError(f"cannot write '{tmp}': {exc} (check --out)") from None
            self._writers[name] = (writer, tmp)
            self._schemas[name] = schema
            self.rows.setdefault(name, 0)
        writer = self._writers[name][0]
        if table.num_rows:
            writer.write_table(conform_to(table, self._schemas[name], name))
            self.rows[name] += table.num_rows

    def commit(self) -> list[Path]:
        """Close every file and move it into place; returns the final paths."""
        done = []
        try:
            for name, (writer, tmp) in sorted(self._writers.items()):
                writer.close()
                final = self.out_dir / f"{name}.parquet"
                os.replace(tmp, final)
                done.append(final)
        except OSError as exc:
            self.abort()
            raise StoreError(f"cannot write into '{self.out_dir}': {exc} (check --out)") from None
        self._writers.clear()
        for name in self.schemas:
            stale = self.out_dir / f"{name}.parquet"
            if name not in self.rows and stale.exists():
                log.info("removing %s from an earlier run (no %s rows this time)", stale, name)
                stale.unlink()
        return done

    def abort(self) -> None:
        """Drop every temporary file."""
        for writer, tmp in self._writers.values():
            try:
                writer.close()
            finally:
                tmp.unlink(missing_ok=True)
        self._writers.clear()

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if et is not None:
            self.abort()


def _json_default(value: Any) -> Any:
    """JSON for what the json module cannot write: times as ISO 8601 'Z', bytes as hex."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        text = value.astimezone(dt.UTC).isoformat()
        return text.removesuffix("+00:00") + "Z"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return str(value)


def jsonl_rows(
    tables: Mapping[str, pa.Table], skip: Mapping[str, frozenset[int]] | None = None
) -> list[dict[str, Any]]:
    """The rows of every table as dicts with a ``"table"`` key, ordered by ``line_no``.

    ``skip`` maps a table name to message types whose rows there are projections of a
    row in another table (type 4 is also in ``positions``); those are left out, so each
    message appears once. Rows of equal ``line_no`` keep the order of ``tables``.
    """
    rows: list[dict[str, Any]] = []
    for name, table in tables.items():
        drop = (skip or {}).get(name)
        if drop and "msg_type" in table.column_names:
            keep = pc.invert(pc.is_in(table.column("msg_type"), pa.array(sorted(drop))))
            table = table.filter(keep)
        for row in table.to_pylist():
            rows.append({"table": name, **row})
    rows.sort(key=lambda r: (r.get("line_no") is None, r.get("line_no") or 0))
    return rows


class JsonlSink:
    """One JSON object per decoded message, one per line, on ``stream`` (see :func:`jsonl_rows`)."""

    def __init__(self, stream: TextIO, skip: Mapping[str, frozenset[int]] | None = None) -> None:
        self.stream = stream
        self.skip = skip
        self.rows: dict[str, int] = {}

    def write_batch(self, tables: Mapping[str, pa.Table]) -> None:
        """Write the rows of one batch, ordered by input line."""
        for row in jsonl_rows(tables, self.skip):
            self.stream.write(json.dumps(row, default=_json_default, ensure_ascii=False) + "\n")
            self.rows[row["table"]] = self.rows.get(row["table"], 0) + 1
        self.stream.flush()
