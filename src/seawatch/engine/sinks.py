"""Sinks the engine hands its output to: a Parquet directory, and subscribers.

In: each chunk's :class:`~seawatch.engine.pipeline.ChunkResult` and, at the end, the
:class:`~seawatch.engine.run.Final`. Out:

- :class:`ParquetDirSink`: ``positions.parquet`` (cleaned, with ``segment_id`` and
  geography), ``segments.parquet``, ``identity.parquet``, ``events.parquet`` (sorted) and
  the quarantine ``late_positions.parquet`` / ``late_statics.parquet`` (rows too late to
  put in time order, with a ``reason``), each streamed to a hidden temporary file and
  renamed into place only when the run ends well (``seawatch detect``).
- :class:`Subscribers`: callables given the positions and events as they are released
  (the live stream and alert rules of the server). Given to an
  :class:`~seawatch.engine.ingest.Ingest`, they are told the rows as stored instead, after
  each commit (positions as soon as labelled, before it), with their ``label_id`` (what
  the streams filter readers by).

The store's sink is :class:`seawatch.engine.ingest.StoreSink`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import pyarrow as pa

from seawatch.decode.schemas import SCHEMAS
from seawatch.engine.inputs import Piece
from seawatch.engine.outputs import ParquetSink
from seawatch.engine.pipeline import SOURCE_ID, ChunkResult
from seawatch.engine.run import Final
from seawatch.events.schema import EVENTS_SCHEMA, sort_events

__all__ = ["ParquetDirSink", "Subscribers", "late_table"]

LATE_REASON = "late"


def _plain(table: pa.Table) -> pa.Table:
    """``table`` without the engine's :data:`SOURCE_ID`."""
    return table.drop_columns([SOURCE_ID]) if SOURCE_ID in table.column_names else table


def late_table(table: pa.Table) -> pa.Table:
    """Late rows as quarantined: the row and the reason it is there."""
    table = _plain(table)
    return table.append_column("reason", pa.array([LATE_REASON] * table.num_rows, pa.string()))


class ParquetDirSink:
    """The detect outputs in ``out_dir`` (see the module docstring); use as a context
    manager: leaving the block through an exception removes the temporaries."""

    def __init__(self, out_dir: Path) -> None:
        schemas = {f"late_{n}": late_table(SCHEMAS[n].empty_table()).schema for n in SCHEMAS}
        schemas = {k: v for k, v in schemas.items() if k in ("late_positions", "late_statics")}
        self.out = ParquetSink(out_dir, schemas)
        self._events: list[pa.Table] = [EVENTS_SCHEMA.empty_table()]
        self.files: list[Path] = []
        self.events = EVENTS_SCHEMA.empty_table()
        for name, schema in schemas.items():  # the quarantine files exist even when empty
            self.out.write(name, schema.empty_table(), create=True)

    def chunk(self, piece: Piece, result: ChunkResult | None) -> None:
        del piece
        if result is None:
            return
        self.out.write("positions", _plain(result.positions))
        for name, late in result.late.items():
            self.out.write(f"late_{name}", late_table(late))
        self._events.append(result.events)

    def finish(self, final: Final | None) -> None:
        if final is not None:
            self.out.write("positions", _plain(final.result.positions), create=True)
            self._events.append(final.result.events)
            self.events = sort_events(pa.concat_tables(self._events))
            self.out.write("segments", final.segments, create=True)
            self.out.write("identity", final.history, create=True)
            self.out.write("events", self.events, create=True)
        self.files = self.out.commit()

    def __enter__(self) -> ParquetDirSink:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if et is not None:
            self.out.abort()


class Subscribers:
    """Callables told of released positions and events, in the order they subscribed."""

    def __init__(self) -> None:
        self.positions: list[Callable[[pa.Table], None]] = []
        self.events: list[Callable[[pa.Table], None]] = []
        self.alerts: list[Callable[[pa.Table], None]] = []
        """Told the alerts fired (only through a store sink: alerts are fired as stored)."""
        self.labelled: list[Callable[[pa.Table], None]] = []
        """Told the positions too, through a store sink as soon as they are labelled, before
        their commit (:meth:`~seawatch.engine.store_sink.StoreSink.released`): for those
        that use the rows told (the live streams), not those that read the store back."""

    def chunk(self, piece: Piece, result: ChunkResult | None) -> None:
        del piece
        if result is not None:
            self._tell(result)

    def finish(self, final: Final | None) -> None:
        if final is not None:
            self._tell(final.result)

    def _tell(self, result: ChunkResult) -> None:
        self.tell(result.positions, result.events)

    def tell(
        self,
        positions: pa.Table,
        events: pa.Table,
        alerts: pa.Table | None = None,
        labelled: pa.Table | None = None,
    ) -> None:
        """Each subscriber told of ``positions``, ``events`` and ``alerts`` (when not empty);
        :attr:`labelled` first, of ``labelled`` (default: ``positions``; the positions not
        told them before the commit)."""
        labelled = positions if labelled is None else labelled
        for rows, fns in ((labelled, self.labelled), (positions, self.positions),
                          (events, self.events), (alerts, self.alerts)):  # fmt: skip
            if rows is not None and rows.num_rows:
                for fn in fns:
                    fn(rows)
