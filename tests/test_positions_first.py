"""A live batch's positions are told before its detectors run, as soon as they are
labelled, and stored with the labels they were told with: the engine hands a sink the
released positions (:meth:`~seawatch.engine.pipeline.Pipeline.release`), the store sink
labels them and tells the live streams (``Subscribers.labelled``, when every label of theirs
is committed, so a stream can read it; else after the commit), then commits them with the
chunk's statics and log row and tells ``Subscribers.positions`` (which may read them back),
and only then do identity and the detectors run
(:meth:`~seawatch.engine.pipeline.Pipeline.detect`); their events are stored in a
transaction of their own and told after it commits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import toy_detector
from seawatch.decode.schemas import SCHEMAS
from seawatch.engine.ingest import Ingest
from seawatch.engine.pipeline import Pipeline
from seawatch.engine.sinks import Subscribers
from seawatch.events.registry import Detector, EventType, registered
from seawatch.serve import live
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample
from seawatch.store import Store, open_store
from seawatch.store.records import vessel_rows
from storerows import stored_rows
from tracks.helpers import pos, positions

SETTINGS = {"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_REORDER_WINDOW_S": "0"}  # as one feed
Steps = list[tuple[str, Any]]


def _keys(table: pa.Table) -> set[tuple[int, int]]:
    ts: Any = table.column("ts").cast(pa.int64()).to_pylist()
    mmsi: Any = table.column("mmsi").to_pylist()
    return set(zip(mmsi, ts, strict=True))


def _committed(reader: Store) -> set[tuple[int, int]]:
    """The (mmsi, ts µs) of every position another connection can read: committed."""
    schema = pa.schema([pa.field("mmsi", pa.int32()), pa.field("ts", pa.int64())])
    sql = "SELECT mmsi, epoch_us(ts) AS ts FROM positions"
    return _keys(reader.backend.fetch(sql, (), schema))


@pytest.fixture
def steps() -> Iterator[Steps]:
    """What happened, in order: ("detect", keys) for each call of a recording detector."""
    happened: Steps = []

    def detect(table: pa.Table, params: Any, state: Any = None, **kw: Any) -> Any:
        happened.append(("detect", _keys(vessel_rows(table))))  # what the store keeps
        return toy_detector.detect(table, params, state, **kw)

    recorder = Detector("recorder", detect, "positions", toy_detector.ToyParams,
                        (EventType("toy_fast", rank=0),))  # fmt: skip
    with registered(recorder):
        yield happened


def _labelled(table: pa.Table) -> set[tuple[int, int, int]]:
    ts: Any = table.column("ts").cast(pa.int64()).to_pylist()
    mmsi: Any = table.column("mmsi").to_pylist()
    ids: Any = table.column("label_id").to_pylist()
    return set(zip(mmsi, ts, ids, strict=True))


def _committed_labels(reader: Store) -> set[int]:
    schema = pa.schema([pa.field("label_id", pa.int32())])
    ids: Any = reader.backend.fetch("SELECT label_id FROM labels", (), schema).column(0)
    return set(ids.to_pylist())


def test_positions_are_told_before_the_detectors_see_them_and_stored_as_told(
    tmp_path: Path, steps: Steps
) -> None:
    env = {**SETTINGS, "SEAWATCH_LABEL_RULES": "bbox=88,0,100,90 -> SECRET//REL TO IND"}
    settings = load_settings(env=env)
    batches = _batches(tmp_path, 4)

    def tell(t: pa.Table) -> None:
        ids = set(t.column("label_id").to_pylist())
        steps.append(("told", (_labelled(t), _committed(reader), ids, _committed_labels(reader))))

    with open_store(tmp_path / "node.duckdb", settings) as store, store.read_session() as reader:
        told = Subscribers()
        told.labelled.append(tell)  # the live streams: as soon as labelled
        told.positions.append(lambda t: steps.append(("stored", (_keys(t), _committed(reader)))))
        told.events.append(lambda t: steps.append(("events", _committed(reader))))
        session = Ingest(store, settings, detect=True, sinks=[told])
        for path in batches:
            session.add([path])
        steps.append(("finish", None))  # the end: the rest stored with the open events
        session.finish()
        schema = pa.schema([pa.field(c, pa.int64()) for c in ("mmsi", "ts", "label_id")])
        sql = "SELECT mmsi, epoch_us(ts) AS ts, label_id FROM positions"
        stored = _labelled(reader.backend.fetch(sql, (), schema))
    seen: set[tuple[int, int, int]] = set()
    early = 0
    end = steps.index(("finish", None))
    for what, value in steps[:end]:
        if what == "told":
            rows, committed, ids, labels = value
            assert ids <= labels  # every label told can be read by a stream
            early += not {(m, t) for m, t, _ in rows} & committed  # told before stored
            seen |= rows
        elif what == "stored":
            keys, committed = value
            assert keys <= committed  # told to .positions (read back) once committed only
            assert keys <= {(m, t) for m, t, _ in seen}  # and told to .labelled first
        elif what == "detect":
            assert value <= {(m, t) for m, t, _ in seen}  # the detectors see positions told
    assert sum(what == "stored" for what, _ in steps[:end]) >= 3
    assert early >= 2  # the first batch's new labels wait for its commit, the next do not
    detects = [k for what, k in steps[:end] if what == "detect"]
    assert len(detects) >= 3
    assert set().union(*detects) == {(m, t) for m, t, _ in seen}
    assert seen < stored  # stored with the labels told; the last wait for the end
    assert len({i for _, _, i in seen}) == 2  # both labels of the rule were told
    events = [i for i, (what, _) in enumerate(steps[:end]) if what == "events"]
    assert events  # the toy detector's events (told once committed), after its call
    assert all(any(w == "detect" for w, _ in steps[:i]) for i in events)


def test_release_then_detect_equals_feed() -> None:
    rows = [pos(h / 6, 10.0 + h / 100, speed_kn=float(h)) for h in range(24)]
    empty = SCHEMAS["statics"].empty_table()
    one, two = Pipeline(geography=False), Pipeline(geography=False)
    fed = [one.feed(positions(rows[:12]), empty), one.feed(positions(rows[12:]), empty)]
    split = []
    for part in (rows[:12], rows[12:]):
        released = two.release(positions(part), empty)
        assert released.positions.num_rows  # released before any detector ran
        split.append(two.detect(released))
    for a, b in zip(fed, split, strict=True):
        assert a.positions.equals(b.positions)
        assert a.events.equals(b.events)
    assert one.finish().events.equals(two.finish().events)


def test_releases_go_through_the_detectors_in_their_order() -> None:
    pipe = Pipeline(geography=False)
    empty = SCHEMAS["statics"].empty_table()
    first = pipe.release(positions([pos(0.0, 10.0)]), empty)
    second = pipe.release(positions([pos(0.1, 10.0), pos(0.2, 10.0)]), empty)
    with pytest.raises(RuntimeError, match="oldest release"):
        pipe.detect(second)
    with pytest.raises(RuntimeError, match="every release before finish"):
        pipe.finish()
    pipe.detect(first)
    got = pipe.detect(second)
    assert int(pc.count(got.positions.column("mmsi")).as_py()) == got.positions.num_rows
    assert np.all(np.diff(got.positions.column("ts").cast(pa.int64()).to_numpy()) >= 0)
    pipe.finish()


def _batches(tmp_path: Path, n: int) -> list[Path]:
    feed = tmp_path / "feed.nmea"
    write_sample(feed, vessels=20, minutes=30)
    lines = feed.read_bytes().splitlines(keepends=True)
    out = [tmp_path / f"batch-{i}.nmea" for i in range(n)]
    for i, path in enumerate(out):  # a live feed's batches, in time order
        path.write_bytes(b"".join(lines[i * len(lines) // n : (i + 1) * len(lines) // n]))
    return out


def _contents(store: Store) -> dict[str, set[Any]]:
    """Every position (with its segment), event and segment, as tuples."""
    return stored_rows(store, {"positions": ("mmsi", "ts", "segment_id"),
                               "events": ("event_id", "end_ts", "details"),
                               "segments": ("segment_id", "n_positions", "end_ts")})  # fmt: skip


@contextlib.contextmanager
def _told(db: Path, settings: Any, steps: Steps) -> Iterator[tuple[Store, Ingest]]:
    """A store and an ingest session whose positions told are recorded in ``steps``."""
    with open_store(db, settings) as store:
        told = Subscribers()
        told.positions.append(lambda t: steps.append(("told", _keys(t))))
        yield store, Ingest(store, settings, detect=True, sinks=[told])


def test_detectors_run_later_store_the_same(tmp_path: Path, steps: Steps) -> None:
    """``detect_later`` (the live loop): later batches' positions are stored before earlier
    batches' detectors run, and the store ends as with the detectors run at once."""
    settings = load_settings(env=SETTINGS)
    batches = _batches(tmp_path, 6)
    got = {}
    for later in (False, True):
        with _told(tmp_path / f"node-{later}.duckdb", settings, steps) as (store, session):
            for path in batches:
                session.add([path], detect_later=later)
            if later:
                kinds = [what for what, _ in steps]
                assert "detect" not in kinds  # every batch's positions told, no detector yet
                assert session.waiting >= 3
                while session.detect_next():
                    pass
            session.finish()
            got[later] = _contents(store)
            steps.clear()
    assert got[True] == got[False]
    assert all(got[True].values())


def test_batches_waiting_go_through_the_detectors_in_one_pass(tmp_path: Path, steps: Steps) -> None:
    """Batches stored while the detectors were behind are detected in one pass (joined:
    the detectors' cost is mostly per pass), over every one of their positions; a re-run of
    the same batches stores no position again."""
    settings = load_settings(env=SETTINGS)
    batches = _batches(tmp_path, 6)
    with _told(tmp_path / "node.duckdb", settings, steps) as (store, session):
        for path in batches:
            session.add([path], detect_later=True)
        assert session.waiting >= 3
        told = set().union(*(keys for what, keys in steps if what == "told"))
        assert session.detect_next()
        assert session.waiting == 0
        detects = [keys for what, keys in steps if what == "detect"]
        assert len(detects) == 1
        assert detects[0] == told
        session.finish()
        again = Ingest(store, settings, detect=True)
        again.add(batches)
        assert again.report.stored["positions"] == 0  # every batch's rows stored once
        again.finish()


def test_detector_steps_between_batches_store_the_same(tmp_path: Path, steps: Steps) -> None:
    """The live loop runs the detectors a step at a time (identity, then one detector) and
    stores a batch that came between two steps: the next batch's positions are told in the
    middle of the previous batch's detection, and the store ends as with the detectors run
    at once (steps and passes mixed, as when the detectors fall behind)."""
    settings = load_settings(env=SETTINGS)
    batches = _batches(tmp_path, 6)
    got = {}
    for stepwise in (False, True):
        with _told(tmp_path / f"node-{stepwise}.duckdb", settings, steps) as (store, session):
            for n, path in enumerate(batches):
                session.add([path], detect_later=stepwise)
                if stepwise and n % 2:
                    waiting = session.waiting
                    assert session.detect_step()  # identity of the oldest waiting
                    assert session.detect_step()  # its first detector
                    assert session.waiting == waiting  # not done: the next batch comes now
            if stepwise:
                assert session.detect_next()  # the rest of a pass begun by steps
                while session.detect_step():
                    pass
                assert session.waiting == 0
            session.finish()
            got[stepwise] = _contents(store)
            steps.clear()
    assert got[True] == got[False]
    assert all(got[True].values())


def test_each_kind_of_live_frame_has_its_own_count() -> None:
    """A kind goes out when told, at most ten times in any second and half a tick after
    its last; a batch's events, told after its positions, do not hold the next positions
    back."""
    tick = live.TICK_S
    assert live.due_in([], {}, 5.0) == 0.0
    assert live.due_in(["positions"], {}, 5.0) == 0.0  # never sent: now
    went = {"positions": [5.0], "events": [5.0 + tick / 4]}
    assert live.due_in(["positions"], went, 5.0 + tick / 2) <= 0.0
    assert live.due_in(["events"], went, 5.0 + tick / 2) == pytest.approx(tick / 4)
    assert live.due_in(["events", "positions"], went, 5.0 + tick / 4) == pytest.approx(tick / 4)
    assert live.due_in(["events", "alerts"], went, 5.0 + tick / 4) == 0.0  # alerts: now
    busy = {"positions": [5.0 + i * tick * 0.6 for i in range(10)]}  # ten in 0.54 s
    assert live.due_in(["positions"], busy, 5.0 + 0.6) == pytest.approx(0.4)  # 1 s after the first
    assert live.due_in(["positions"], busy, 6.0) <= 0.0
