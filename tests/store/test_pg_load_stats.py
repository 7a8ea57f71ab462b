"""A bulk load's days (:mod:`seawatch.store.pg_load`) with a real server: no autovacuum on a
day while it is loaded, normal autovacuum once attached, and its planner statistics on the
filtered columns only, at a target of 50."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from seawatch.settings import load_settings
from seawatch.store import TABLES, open_store
from seawatch.store.pg_load import STATISTICS_COLUMNS, STATISTICS_TARGET

DAY_US = 86_400_000_000
T0_US = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp() * 1_000_000)
TS = TABLES["positions"].arrow_schema().field("ts").type


def _rows(label_id: int, n: int, days: int, rng: np.random.Generator) -> pa.Table:
    return pa.table(
        {
            "msg_key": pa.array(np.arange(n, dtype=np.int64) * 7919 + 13),
            "ts": pa.array(T0_US + np.sort(rng.integers(0, days * DAY_US, n)), pa.int64()).cast(TS),
            "mmsi": pa.array(419_000_000 + rng.integers(0, 40, n), pa.int32()),
            "label_id": pa.array(np.full(n, label_id), pa.int32()),
            "msg_type": pa.array(np.ones(n), pa.int8()),
            "lat": pa.array(rng.uniform(5.0, 15.0, n)),
            "lon": pa.array(rng.uniform(80.0, 90.0, n)),
            "speed_kn": pa.array(rng.uniform(0, 20, n)),
            "station": pa.array(np.array(["rx-a", "rx-b"], dtype=object)[rng.integers(0, 2, n)]),
        }
    )


def _options(store, like: str) -> dict[str, list[str] | None]:  # type: ignore[no-untyped-def]
    rows = store.backend.con.execute(
        "SELECT relname, reloptions FROM pg_class WHERE relname LIKE %s AND relkind = 'r'",
        [like],
    ).fetchall()
    return {str(r[0]): r[1] for r in rows}


def test_loaded_days_not_autovacuumed_while_loading_and_analyzed_cheaply(pg_url: str) -> None:
    from seawatch.labels import parse_label

    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    rng = np.random.default_rng(3)
    with open_store(pg_url, settings) as store:
        label = store.label_id(parse_label("UNCLASSIFIED", store.policy))
        with store.loading():
            with store.transaction():
                store.write("positions", _rows(label, 3000, 2, rng))
            loading = _options(store, "positions\\_l%")
            assert sorted(loading) == ["positions_l20240301", "positions_l20240302"]
            assert all(o == ["autovacuum_enabled=off"] for o in loading.values())
        parts = _options(store, "positions\\_p%")
        assert sorted(parts) == ["positions_p20240301", "positions_p20240302"]
        assert all(o is None for o in parts.values())  # autovacuum as for any table again
        con = store.backend.con
        analyzed = con.execute(
            "SELECT relname, analyze_count FROM pg_stat_user_tables "
            "WHERE relname LIKE 'positions\\_p%' ORDER BY 1"
        ).fetchall()
        assert [int(r[1]) for r in analyzed] == [0, 0]  # autovacuum's to do, not the load's
        con.execute("ANALYZE positions_p20240301")  # as autovacuum's
        con.execute("ANALYZE positions_p20240302")
        stats = con.execute(
            "SELECT DISTINCT attname FROM pg_stats WHERE tablename LIKE 'positions\\_p%'"
        ).fetchall()
        assert sorted(str(r[0]) for r in stats) == sorted(STATISTICS_COLUMNS)
        targets = con.execute(
            "SELECT DISTINCT attname, attstattarget FROM pg_attribute WHERE attnum > 0 "
            "AND attrelid = 'positions_p20240301'::regclass AND NOT attisdropped"
        ).fetchall()
        assert {str(r[0]): int(r[1]) for r in targets if r[1]} == dict.fromkeys(
            STATISTICS_COLUMNS, STATISTICS_TARGET
        )
        # a histogram of at most STATISTICS_TARGET buckets (3000 distinct times)
        bounds = con.execute(
            "SELECT array_length(histogram_bounds, 1) FROM pg_stats "
            "WHERE tablename = 'positions_p20240301' AND attname = 'ts'"
        ).fetchone()
        assert int(bounds[0]) == STATISTICS_TARGET + 1
        n = con.execute(
            "SELECT sum(reltuples) FROM pg_class "
            "WHERE relkind = 'r' AND relname LIKE 'positions\\_p%'"
        )
        assert int(n.fetchone()[0]) == 3000
