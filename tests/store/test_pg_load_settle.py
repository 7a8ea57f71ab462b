"""A PostgreSQL bulk load leaves each day it attached vacuumed and analyzed, with autovacuum
on again (:func:`seawatch.store.pg_load.settle`), no loading table left; while loading, a
day's table is not autovacuumed."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from seawatch.labels import parse_label
from seawatch.settings import load_settings
from seawatch.store import TABLES, open_store

TS = TABLES["positions"].arrow_schema().field("ts").type
T0_US = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp() * 1_000_000)


def test_loaded_days_are_vacuumed_analyzed_and_autovacuum_is_back(pg_url: str) -> None:
    node = load_settings(env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DB_WRITERS": "1"})
    n = 6000
    rng = np.random.default_rng(3)
    with open_store(pg_url, node) as store:
        label = store.label_id(parse_label("UNCLASSIFIED", store.policy))
        rows = pa.table(
            {
                "msg_key": pa.array(np.arange(n, dtype=np.int64)),
                "ts": pa.array(T0_US + np.sort(rng.integers(0, 3 * 86_400, n)) * 10**6).cast(TS),
                "mmsi": pa.array(rng.integers(419_000_000, 419_000_050, n), pa.int32()),
                "label_id": pa.array(np.full(n, label), pa.int32()),
                "lat": pa.array(rng.uniform(5.0, 15.0, n)),
                "lon": pa.array(rng.uniform(80.0, 90.0, n)),
            }
        )
        con = store.backend.con  # type: ignore[attr-defined]
        with store.loading():
            with store.transaction():
                store.write("positions", rows.slice(0, n // 2))
            loading = con.execute(
                "SELECT relname, reloptions FROM pg_class WHERE relname LIKE 'positions\\_l%'"
            ).fetchall()
            with store.transaction():
                store.write("positions", rows.slice(n // 2))
        parts = con.execute(
            "SELECT c.relname, c.reloptions, c.reltuples, "
            "(SELECT count(*) FROM pg_stats s WHERE s.tablename = c.relname), "
            "(SELECT vacuum_count FROM pg_stat_user_tables u WHERE u.relid = c.oid) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'positions'::regclass ORDER BY 1"
        ).fetchall()
        left = con.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'positions\\_l%'")
        assert left.fetchone() == (0,)
        stored = con.execute("SELECT count(*) FROM positions").fetchone()
    assert stored == (n,)
    assert loading
    assert all(opts == ["autovacuum_enabled=false"] for _, opts in loading)
    assert [p[0] for p in parts] == [
        "positions_p20240301",
        "positions_p20240302",
        "positions_p20240303",
    ]
    for name, options, tuples, stats, vacuums in parts:
        # vacuumed once, by the load (the test server's commits are asynchronous, so its
        # pages are not all marked all-visible yet: hint bits wait for the WAL's flush)
        assert vacuums == 1, name
        assert options is None, name  # autovacuum on again
        assert tuples > 0, name  # analyzed
        assert stats > 0, name
