"""``Store.append``: one new row by a plain INSERT (audit rows), in both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seawatch.errors import StoreError
from seawatch.serve.audit import audit_rows
from seawatch.store import Store


def _row(audit_id: str) -> dict[str, object]:
    return {
        "audit_id": audit_id,
        "ts": datetime(2025, 6, 1, 12, 0, 5, 250, tzinfo=UTC),
        "user_name": "ana",
        "route": "/api/v1/positions",
        "query": "bbox=80,5,90,15&limit=10",
        "rows": 10,
        "markings": "SECRET",
    }


def test_an_appended_row_reads_back_as_written(store: Store) -> None:
    with store.transaction():
        store.append("audit", _row("a1"))
        store.append("audit", {"audit_id": "a2", "ts": datetime(2025, 6, 2, tzinfo=UTC)})
    got = audit_rows(store).to_pylist()
    assert got[0] == _row("a1")
    assert got[1]["audit_id"] == "a2"
    assert got[1]["rows"] is None


def test_append_refuses_a_stored_key_records_and_unknown_columns(store: Store) -> None:
    with store.transaction():
        store.append("audit", _row("a1"))
    with pytest.raises(StoreError), store.transaction():
        store.append("audit", _row("a1"))
    with pytest.raises(StoreError, match="use write"):
        store.append("positions", {"mmsi": 1})
    with pytest.raises(StoreError, match="no column nope"):
        store.append("audit", {**_row("a3"), "nope": 1})
    assert [r["audit_id"] for r in audit_rows(store).to_pylist()] == ["a1"]
