"""The per-peer release cursor: a release reads only what was written since the last one
to that peer, and still releases what a delay withheld before, what a new rule allows,
events that grew, and what a write still open at the last release committed afterwards;
the cursor survives a restart and moves only once the release is logged."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from seawatch.labels import parse_label
from seawatch.share import cursor as cursor_mod
from seawatch.share.bundle import export_bundle, peer_reader
from seawatch.share.cursor import CURSOR_FILE, load_cursor, read_for_release
from seawatch.share.outbox import Outbox
from seawatch.share.rules import Rules, make_rule
from seawatch.store import TABLES, Store
from seawatch.store.query import Query

from .conftest import NodeDir
from .test_bundles import pin, store_of

MakeNode = Callable[[str, str], NodeDir]
NOW = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
TS = TABLES["positions"].arrow_schema().field("ts").type


def positions(store: Store, keys: range, at: dt.datetime, marking: str = "UNCLASSIFIED") -> None:
    lid = store.label_id(parse_label(marking, store.policy))
    n = len(keys)
    store.write(
        "positions",
        pa.table(
            {
                "msg_key": pa.array(keys, pa.int64()),
                "ts": pa.array([at] * n, TS),
                "mmsi": pa.array([419000001] * n, pa.int32()),
                "lat": [10.0] * n,
                "lon": [85.0] * n,
                "label_id": pa.array([lid] * n, pa.int32()),
            }
        ),
    )


def event(store: Store, end: dt.datetime) -> None:
    lid = store.label_id(parse_label("UNCLASSIFIED", store.policy))
    store.write(
        "events",
        pa.table(
            {
                "event_id": ["e1"],
                "event_type": ["gap"],
                "start_ts": pa.array([NOW - dt.timedelta(hours=3)], TS),
                "end_ts": pa.array([end], TS),
                "mmsi": pa.array([419000001], pa.int32()),
                "label_id": pa.array([lid], pa.int32()),
            }
        ),
    )


@pytest.fixture
def ind(make_node: MakeNode) -> NodeDir:
    ind, usa = make_node("IND", "ifc-ior"), make_node("USA", "usa-c2")
    pin(ind, usa)
    ind.run("db", "migrate")
    return ind


def release(node: NodeDir, rules: Rules, now: dt.datetime = NOW) -> dict[str, int]:
    """Rows released to usa-c2 per table (incremental, kept in the outbox)."""
    me = node.node()
    peer = me.peers().get("usa-c2")
    outbox = Outbox(me.data_dir, "usa-c2")
    with store_of(node) as store:
        done = export_bundle(store, me, peer, rules, outbox.folder, now=now, outbox=outbox)
    if done.folder is None:
        return {}
    keys = (done.folder.parent / f"{done.bundle_id}.keys.json").read_text()
    return {t: len(v) for t, v in json.loads(keys).items() if v}


def fresh(node: NodeDir, rules: Rules) -> int:
    """How many rows the next release would read as new (the cursor's effect)."""
    me = node.node()
    peer = me.peers().get("usa-c2")
    with store_of(node) as store:
        query = Query(store, peer_reader(peer, store.policy))
        folder = Outbox(me.data_dir, "usa-c2").folder
        read = read_for_release(store, query, ("positions",), "IND", peer.name, rules, NOW, folder)
    return read.fresh


def test_a_release_reads_only_what_was_written_since(ind: NodeDir) -> None:
    rules = Rules([make_rule({"peer": "usa-c2"})])
    with store_of(ind) as store, store.transaction():
        positions(store, range(0, 100), NOW - dt.timedelta(hours=1))
    assert release(ind, rules) == {"positions": 100}
    folder = Outbox(ind.node().data_dir, "usa-c2").folder
    assert (folder / CURSOR_FILE).exists()
    assert fresh(ind, rules) == 0  # nothing read again
    assert release(ind, rules) == {}
    with store_of(ind) as store, store.transaction():
        positions(store, range(100, 130), NOW - dt.timedelta(hours=2))  # older, written later
    assert fresh(ind, rules) == 30
    assert release(ind, rules) == {"positions": 30}
    # a restart (new store, node objects) keeps it
    assert release(ind, rules) == {}
    cur = load_cursor(folder)
    assert cur is not None
    assert cur.seq >= 2


def test_what_a_delay_withheld_goes_out_when_it_elapses(ind: NodeDir) -> None:
    rules = Rules([make_rule({"peer": "usa-c2", "delay_s": 6 * 3600})])
    with store_of(ind) as store, store.transaction():
        positions(store, range(0, 10), NOW - dt.timedelta(hours=7))  # releasable now
        positions(store, range(10, 20), NOW - dt.timedelta(hours=1))  # in 5 h
    assert release(ind, rules) == {"positions": 10}
    assert release(ind, rules, NOW + dt.timedelta(hours=1)) == {}
    with store_of(ind) as store, store.transaction():
        positions(store, range(20, 25), NOW)  # in 6 h
    assert release(ind, rules, NOW + dt.timedelta(hours=2)) == {}
    assert release(ind, rules, NOW + dt.timedelta(hours=5, minutes=1)) == {"positions": 10}
    assert release(ind, rules, NOW + dt.timedelta(hours=6, minutes=1)) == {"positions": 5}
    assert release(ind, rules, NOW + dt.timedelta(days=2)) == {}


def test_a_new_rule_releases_older_records(ind: NodeDir) -> None:
    only_unclass = {"peer": "usa-c2", "marking": "UNCLASSIFIED"}
    rules = Rules([make_rule(only_unclass)])
    with store_of(ind) as store, store.transaction():
        positions(store, range(0, 10), NOW)
        positions(store, range(10, 14), NOW, "CONFIDENTIAL//REL TO IND, USA")
    assert release(ind, rules) == {"positions": 10}
    assert release(ind, rules) == {}
    wider = Rules([make_rule(only_unclass), make_rule({"peer": "usa-c2"})])
    assert release(ind, wider) == {"positions": 4}  # the rules changed: everything re-read
    assert release(ind, wider) == {}


def test_an_event_that_grew_goes_out_again(ind: NodeDir) -> None:
    rules = Rules([make_rule({"peer": "usa-c2"})])
    with store_of(ind) as store, store.transaction():
        event(store, NOW - dt.timedelta(hours=2))
    assert release(ind, rules) == {"events": 1}
    with store_of(ind) as store, store.transaction():
        event(store, NOW - dt.timedelta(hours=1))  # replaced: written anew
    assert release(ind, rules) == {"events": 1}
    assert release(ind, rules) == {}


def test_a_write_open_at_a_release_goes_out_at_the_next(
    ind: NodeDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction draws its write number, another draws a later one and commits, a
    release runs, then the first commits: the cursor must not have passed it."""
    monkeypatch.setattr(cursor_mod, "SETTLE_S", 0.3)
    rules = Rules([make_rule({"peer": "usa-c2"})])
    drawn, finish, done = threading.Event(), threading.Event(), threading.Event()
    with store_of(ind) as store:
        with store.transaction():  # the label first (two writers adding it would conflict)
            store.label_id(parse_label("UNCLASSIFIED", store.policy))

        def slow_writer() -> None:
            with store.write_session() as session, session.transaction():
                positions(session, range(0, 5), NOW)
                drawn.set()
                finish.wait(30)
            done.set()

        thread = threading.Thread(target=slow_writer)
        thread.start()
        assert drawn.wait(30)
        with store.transaction():
            positions(store, range(5, 8), NOW)  # a later number, committed first
        assert store.settled_seq(0.1) is None  # the open write holds the order back
        me = ind.node()
        peer = me.peers().get("usa-c2")
        outbox = Outbox(me.data_dir, "usa-c2")
        first = export_bundle(store, me, peer, rules, outbox.folder, now=NOW, outbox=outbox)
        assert sum(first.counts.values()) == 3
        finish.set()
        assert done.wait(30)
        thread.join()
        second = export_bundle(store, me, peer, rules, outbox.folder, now=NOW, outbox=outbox)
        assert sum(second.counts.values()) == 5
        settled = store.settled_seq(1.0)
        assert settled is not None
        assert settled >= 2
    assert release(ind, rules) == {}


def test_a_cursor_that_cannot_be_read_means_a_full_read(ind: NodeDir, tmp_path: Path) -> None:
    rules = Rules([make_rule({"peer": "usa-c2"})])
    with store_of(ind) as store, store.transaction():
        positions(store, range(0, 10), NOW)
    assert release(ind, rules) == {"positions": 10}
    folder = Outbox(ind.node().data_dir, "usa-c2").folder
    (folder / CURSOR_FILE).write_text("{not json")
    assert fresh(ind, rules) == 10  # read again whole ...
    assert release(ind, rules) == {}  # ... and the fingerprints send nothing twice
    assert load_cursor(folder) is not None


def test_a_release_whose_cursor_was_lost_is_not_sent_twice(ind: NodeDir) -> None:
    """A crash after a release was logged and its fingerprints kept, before its cursor:
    the next release reads from the older cursor, whose ``through`` leaves that release's
    fingerprints to check, and sends none of its records again."""
    rules = Rules([make_rule({"peer": "usa-c2"})])
    with store_of(ind) as store, store.transaction():
        positions(store, range(0, 10), NOW)
    assert release(ind, rules) == {"positions": 10}
    folder = Outbox(ind.node().data_dir, "usa-c2").folder
    kept = (folder / CURSOR_FILE).read_bytes()
    assert load_cursor(folder).through is not None  # type: ignore[union-attr]
    with store_of(ind) as store, store.transaction():
        positions(store, range(10, 15), NOW)
    assert release(ind, rules) == {"positions": 5}
    (folder / CURSOR_FILE).write_bytes(kept)  # as if the crash came before the cursor
    with store_of(ind) as store, store.transaction():
        positions(store, range(15, 17), NOW)
    assert fresh(ind, rules) == 7
    assert release(ind, rules) == {"positions": 2}


def test_fingerprint_files_are_appended_then_merged(ind: NodeDir) -> None:
    """Each release adds one fingerprint file (the earlier ones are not rewritten); past
    MERGE_AT files the smaller ones are merged, and a full read still sends nothing twice."""
    from seawatch.share.outbox import MERGE_AT

    rules = Rules([make_rule({"peer": "usa-c2"})])
    outbox = Outbox(ind.node().data_dir, "usa-c2")
    for k in range(MERGE_AT + 2):
        with store_of(ind) as store, store.transaction():
            positions(store, range(100 * k, 100 * k + 3), NOW)
        assert release(ind, rules) == {"positions": 3}
        assert 1 <= len(outbox.segments("positions")) <= MERGE_AT
    (outbox.folder / CURSOR_FILE).unlink()  # a full read: every fingerprint checked
    assert fresh(ind, rules) == 3 * (MERGE_AT + 2)
    assert release(ind, rules) == {}
