"""The ingest log a store sink keeps in memory follows what committed.

A chunk's ``ingest_log`` row is written in the chunk's own transaction. If that
transaction rolls back, neither the row nor the sink's memory of it may survive: a session
that tried the chunk again would otherwise skip it as stored, and lose it.
"""

from __future__ import annotations

import pytest

from seawatch.engine.store_sink import _LOG_KEY, StoreSink
from seawatch.labels import LabelRules
from seawatch.settings import Settings
from seawatch.store import open_store
from seawatch.store.records import Labeller


class RolledBackError(Exception):
    pass


def log_then_fail(sink: StoreSink) -> None:
    with sink._committing():
        sink.log_row("fp-1", 0, "a.nmea", 10, 10)
        raise RolledBackError


def logged(store_url: str, node: Settings) -> list[tuple[str, int]]:
    with open_store(store_url, node) as store:
        sql = "SELECT fingerprint, chunk FROM ingest_log ORDER BY 1, 2"
        t = store.backend.fetch(sql, (), _LOG_KEY)
        return list(zip(t.column(0).to_pylist(), t.column(1).to_pylist(), strict=True))


def test_a_log_row_rolled_back_is_not_known_done(store_url: str, node: Settings) -> None:
    with open_store(store_url, node) as store:
        rules = LabelRules.from_settings(node, store.policy)
        sink = StoreSink(store, Labeller(store, rules), None)
        with pytest.raises(RolledBackError):
            log_then_fail(sink)
        assert not sink.done("fp-1", 0)  # the row went with the transaction
        with sink._committing():
            sink.log_row("fp-1", 0, "a.nmea", 10, 10)
            sink.log_row("fp-1", 0, "a.nmea", 10, 10)  # the same chunk twice: one row
        assert sink.done("fp-1", 0)
    assert logged(store_url, node) == [("fp-1", 0)]
