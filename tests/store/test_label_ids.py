"""Label ids with two writers of one database (the server's live ingest and its API, each
on a session of its own): a label's id always names that label, whatever the order in
which the writers add labels and commit."""

from __future__ import annotations

from pathlib import Path

from seawatch.labels import parse_label
from seawatch.settings import load_settings
from seawatch.store import open_store

MARKINGS = (
    "UNCLASSIFIED",
    "CONFIDENTIAL//REL TO IND, USA",
    "SECRET//REL TO IND",
    "SECRET//REL TO IND, USA, JPN",
)


def test_a_stale_writer_never_gives_a_taken_id_to_another_label(tmp_path: Path) -> None:
    store = open_store(tmp_path / "node.duckdb", load_settings(env={"SEAWATCH_NODE_NATION": "IND"}))
    a, b, c, d = (parse_label(m, store.policy) for m in MARKINGS)
    with store.write_session() as other:
        with other.transaction():
            other.label_id(a)  # its cache: a only
        with store.transaction():  # the first writer adds b and c meanwhile
            ids = {b: store.label_id(b), c: store.label_id(c)}
        with other.transaction():  # the other adds d (new) and b (already stored)
            ids[d] = other.label_id(d)
            assert other.label_id(b) == ids[b]
        ids[a] = store.label_id(a)
    stored = store.labels()
    assert len(set(ids.values())) == 4
    for label, label_id in ids.items():
        assert stored[label_id] == label


def test_interleaved_transactions_give_distinct_ids(tmp_path: Path) -> None:
    store = open_store(tmp_path / "node.duckdb", load_settings(env={"SEAWATCH_NODE_NATION": "IND"}))
    b, c = (parse_label(m, store.policy) for m in MARKINGS[1:3])
    with store.write_session() as other, other.transaction():
        mine = other.label_id(b)  # not committed yet: invisible to the store
        with store.transaction():
            theirs = store.label_id(c)
    assert mine != theirs
    assert store.labels()[mine] == b
    assert store.labels()[theirs] == c
    store.close()
