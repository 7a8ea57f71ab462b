"""time_order: the rows already in order are returned as they are, and every other table is
sorted exactly as the full sort by (time, MMSI, message key) would, stable."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.decode import decode
from seawatch.decode.keys import message_keys
from seawatch.engine.reorder import ReorderBuffer, time_order, ts_us


@pytest.fixture(scope="module")
def positions(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    from seawatch.sim.synth import write_sample

    path = tmp_path_factory.mktemp("sample") / "sample.nmea"
    write_sample(path, vessels=8, minutes=10, seed=3)
    table: pa.Table = decode(path)[0]["positions"]
    return table


def full_sort(table: pa.Table) -> pa.Table:
    mmsi = np.asarray(pc.fill_null(table.column("mmsi").cast(pa.int64()), -1).to_numpy(), np.int64)
    keys = np.asarray(message_keys(table, "positions").to_numpy(), np.int64)
    return table.take(np.lexsort((keys, mmsi, ts_us(table))))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(0, 300),
    ties=st.sampled_from(["few", "repeated", "same_time"]),
    how=st.sampled_from(["sorted", "swapped", "shuffled"]),
)
def test_time_order_equals_the_full_sort(
    positions: pa.Table, seed: int, rows: int, ties: str, how: str
) -> None:
    rng = np.random.default_rng(seed)
    table = positions.take(
        rng.choice(positions.num_rows, min(rows, positions.num_rows), replace=False)
    )
    if ties == "repeated":  # rows equal in every key, twice
        table = pa.concat_tables([table, table])
    if ties == "same_time" and table.num_rows:  # every row at one time: the MMSI and key decide
        table = table.set_column(
            0,
            "ts",
            pa.array(
                [table.column("ts")[0].as_py()] * table.num_rows, table.schema.field("ts").type
            ),
        )
    table = full_sort(table)
    if how == "swapped" and table.num_rows > 1:
        k = int(rng.integers(0, table.num_rows - 1))
        order = np.arange(table.num_rows)
        order[[k, k + 1]] = order[[k + 1, k]]
        table = table.take(order)
    elif how == "shuffled":
        table = table.take(rng.permutation(table.num_rows))
    assert time_order(table, "positions").equals(full_sort(table))


def test_rows_in_order_are_returned_as_they_are(positions: pa.Table) -> None:
    table = full_sort(positions)
    assert time_order(table, "positions") is table


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), pushes=st.integers(1, 6))
def test_the_buffer_releases_what_one_concatenated_table_would(
    positions: pa.Table, seed: int, pushes: int
) -> None:
    """Held tables split only where they straddle the cutoff: the released rows, the late
    rows and the rows still held are those of filtering everything held at once."""
    rng = np.random.default_rng(seed)
    buffer, held = ReorderBuffer(positions.schema), positions.slice(0, 0)
    ts = ts_us(positions)
    ts = ts[np.asarray(positions.column("ts").is_valid(), bool)]
    for _ in range(pushes):
        table = positions.take(rng.choice(positions.num_rows, int(rng.integers(0, 80))))
        late = buffer.push(table)
        t = ts_us(table)
        want_late = (t < buffer.horizon_us) & np.asarray(table.column("ts").is_valid(), bool)
        assert late.equals(table.filter(pa.array(want_late)))
        held = pa.concat_tables([held, table.filter(pa.array(~want_late))])
        cutoff = int(rng.integers(ts.min(), ts.max() + 2))
        got = buffer.release(cutoff)
        horizon = max(buffer.horizon_us, cutoff)
        older = ts_us(held) < horizon
        assert got.equals(full_sort(held.filter(pa.array(older))))
        held = held.filter(pa.array(~older))
        assert buffer.rows == held.num_rows
