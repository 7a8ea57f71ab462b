"""Cached reads of small tables (store.changes): read again once this process writes them,
whichever way (Store.write, a statement run by hand, an archive), never served stale after
the write has settled; on PostgreSQL read every time."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from seawatch.engine.alerts import AlertEngine
from seawatch.settings import load_settings
from seawatch.store import changes, open_store
from seawatch.store.changes import Cached
from seawatch.store.tables import TABLES


def _rule(rule_id: str, label_id: int) -> pa.Table:
    row = {
        "rule_id": rule_id,
        "name": rule_id,
        "kind": "gap",
        "zone_id": None,
        "filters": "{}",
        "created_by": "test",
        "created_at": datetime.now(UTC),
        "label_id": label_id,
    }
    return pa.Table.from_pylist([row], TABLES["alert_rules"].arrow_schema())


def test_a_cached_read_is_read_again_after_each_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changes, "SETTLE_S", 0.0)  # no settling: each write seen once
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with open_store(tmp_path / "node.duckdb", settings) as store, store.write_session() as other:
        engine = AlertEngine(store)
        assert engine.rules.get() == []
        assert engine.rules.get() == []
        assert engine.rules.reads == 1  # nothing written: read once
        label_id = other.label_id(other.policy.default_label)
        other.write("alert_rules", _rule("r1", label_id))  # another connection, same process
        assert [r.rule_id for r in engine.rules.get()] == ["r1"]
        other.backend.execute("DELETE FROM alert_rules WHERE rule_id = 'r1'")  # by hand
        assert engine.rules.get() == []
        reads = engine.rules.reads
        engine.rules.get()
        assert engine.rules.reads == reads  # unchanged since: not read


def test_a_write_is_read_again_until_it_has_settled(tmp_path: Path) -> None:
    """A write counted before its transaction commits: read every time for SETTLE_S."""
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with open_store(tmp_path / "node.duckdb", settings) as store, store.write_session() as other:
        engine = AlertEngine(store)
        engine.rules.get()
        label_id = other.label_id(other.policy.default_label)
        with other.transaction():
            other.write("alert_rules", _rule("r2", label_id))
            assert engine.rules.get() == []  # not committed yet: not seen
        assert [r.rule_id for r in engine.rules.get()] == ["r2"]  # committed: seen at once


def test_every_time_reads_every_time() -> None:
    values = iter(range(10))
    cached = Cached("alert_rules", lambda: next(values), every_time=True)
    assert [cached.get() for _ in range(3)] == [0, 1, 2]
    still = Cached("alert_rules", lambda: next(values))
    time.sleep(0.01)
    first = still.get()
    assert still.get() == first
