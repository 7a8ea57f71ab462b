"""Binary ``COPY`` data made block by block (:func:`seawatch.store.pg_binary.binary_blocks`):
the same bytes whatever the block size (the header in the first piece, the trailer after
the last, no rows: both in one), parsed back by the independent reader; and a write of
more rows than a block stored and read back exactly by a real server."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from seawatch.labels import parse_label
from seawatch.settings import load_settings
from seawatch.store import TABLES, open_store
from seawatch.store.pg_binary import BLOCK_ROWS, SIGNATURE, binary_blocks, from_binary

COLUMNS = [c for c in TABLES["positions"].names if c != "seq"]
TYPES = [c.type for c in TABLES["positions"].columns if c.name != "seq"]
SCHEMA = pa.schema([TABLES["positions"].arrow_schema().field(c) for c in COLUMNS])
T0 = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp() * 1e6)


def _rows(n: int, label: int = 3) -> pa.Table:
    """``n`` positions with NULLs in every nullable column and strings of varied length."""
    i = np.arange(n, dtype=np.int64)
    every = i % 7 == 3  # a NULL every 7th row, in a different place for each column
    stations = np.array(["", "a", "Śrī Laṅkā ⚓", 'q"uoted,\n', "x" * 40], dtype=object)
    return pa.table(
        {
            "msg_key": pa.array(i * 7_919 - 2**40),
            "ts": pa.array(T0 + i * 1_000_003, pa.int64()).cast(SCHEMA.field("ts").type),
            "mmsi": pa.array(419_000_000 + i % 977, pa.int32()),
            "msg_type": pa.array(np.where(every, 0, i % 27), pa.int8(), mask=every),
            "nav_status": pa.array(i % 16, pa.int8(), mask=np.roll(every, 1)),
            "lat": pa.array(-80.0 + (i % 1600) / 10.0),
            "lon": pa.array(-179.9 + (i % 3599) / 10.0),
            "speed_kn": pa.array((i % 1023) / 10.0, mask=np.roll(every, 2)),
            "course_deg": pa.array((i % 3600) / 10.0, mask=np.roll(every, 3)),
            "heading_deg": pa.array(i % 511, pa.int16(), mask=np.roll(every, 4)),
            "accuracy": pa.array(i % 2 == 0, mask=np.roll(every, 5)),
            "station": pa.array(stations[i % 5], pa.string(), mask=np.roll(every, 6)),
            "segment_id": pa.array(i // 100, pa.int64(), mask=i % 3 == 0),
            "label_id": pa.array(np.full(n, label), pa.int32()),
        }
    ).cast(SCHEMA)


@pytest.mark.parametrize("n", [0, 1, 12, 100])
def test_any_block_size_gives_the_same_bytes(n: int) -> None:
    rows = _rows(n)
    whole = b"".join(binary_blocks(rows, TYPES, max(n, 1)))
    for block in (1, 5, 12, 99, 1000):
        pieces = [bytes(p) for p in binary_blocks(rows, TYPES, block)]
        assert len(pieces) == max(1, -(-n // block))
        assert pieces[0].startswith(SIGNATURE)
        assert pieces[-1].endswith(b"\xff\xff")
        assert b"".join(pieces) == whole
    assert from_binary(whole, SCHEMA).equals(rows)


def test_rows_of_several_blocks_stored_as_written(pg_url: str) -> None:
    node = load_settings(env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DB_WRITERS": "1"})
    n = 2 * BLOCK_ROWS + 1_001
    with open_store(pg_url, node) as store:
        label = store.label_id(parse_label("UNCLASSIFIED", store.policy))
        rows = _rows(n, label)
        with store.transaction():
            assert store.write("positions", rows) == n
        got = store.backend.fetch(
            f"SELECT {', '.join(COLUMNS)} FROM positions ORDER BY msg_key", (), SCHEMA
        )
    assert got.equals(rows.sort_by("msg_key"))
