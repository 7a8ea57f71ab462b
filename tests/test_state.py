"""Runs that carry state: the input split into 2-3 runs, each resumed from the state file the
previous one left, gives byte for byte what one run gives (events, segments, positions).

What a run leaves is read the way the store holds it: events and segments replaced by id,
the events a run retracts removed. Each run's state goes through a real file
(:class:`seawatch.engine.state.StateStore`) between runs.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.decode import decode
from seawatch.decode.schemas import SCHEMAS, conform
from seawatch.engine.pipeline import Pipeline
from seawatch.engine.state import KEEP, StateFileError, StateStore
from seawatch.errors import ConfigError
from seawatch.events.registry import Detector, EventType, registered
from seawatch.events.schema import EVENTS_SCHEMA, build_events
from test_pipeline import eventful

WINDOW_S = 600.0
SUB_CHUNKS = 3


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo feed and vessels that make every kind of event, in an arrival order up to
    5 minutes out of time order (``<table>_ts``: each row's time, µs)."""
    from seawatch.sim.synth import write_sample

    path = tmp_path_factory.mktemp("feed") / "sample.nmea"
    write_sample(path, vessels=20, minutes=40, seed=11)
    tables, _ = decode(path)
    t0 = tables["positions"]["ts"][0].as_py()
    rng = np.random.default_rng(5)
    out: dict[str, Any] = {}
    for name, more in zip(("positions", "statics"), eventful(t0), strict=True):
        t = pa.concat_tables([conform(tables[name], name), more])
        ts = np.asarray(t["ts"].cast(pa.int64()), np.int64)
        arrival = ts + rng.integers(0, 300_000_000, len(ts))
        order = np.argsort(arrival, kind="stable")
        out[name], out[f"{name}_ts"] = t.take(order), ts[order]
        out[f"{name}_arrival"] = arrival[order]
    out["lo"] = int(min(out["positions_ts"].min(), out["statics_ts"].min()))
    out["hi"] = int(max(out["positions_ts"].max(), out["statics_ts"].max()))
    return out


class Held:
    """What the runs left, as the store holds it."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.segments: dict[int, dict[str, Any]] = {}
        self.positions: list[pa.Table] = []
        self.history: list[pa.Table] = []
        self.retracted: set[str] = set()

    def take(self, pipe: Pipeline, results: list[Any]) -> None:
        for res in results:
            self.positions.append(res.positions)
            for row in res.events.to_pylist():
                self.events[row["event_id"]] = row
            for event_id in res.retract:
                self.events.pop(event_id, None)
                self.retracted.add(event_id)
        for row in pipe.segments().to_pylist():
            self.segments[row["segment_id"]] = row
        self.history.append(pipe.history())

    def canonical(self) -> dict[str, str]:
        """A hash of each output in a total order."""
        events = pa.Table.from_pylist(
            [self.events[k] for k in sorted(self.events)], schema=EVENTS_SCHEMA
        )
        segments = pa.Table.from_pylist([self.segments[k] for k in sorted(self.segments)])
        positions = pa.concat_tables(self.positions)
        keys = [(k, "ascending") for k in ("mmsi", "ts", "lat", "lon", "segment_id")]
        history = pa.concat_tables(self.history).sort_by(
            [("segment_id", "ascending"), ("ts", "ascending")]
        )
        return {
            name: _hash(table)
            for name, table in (
                ("events", events),
                ("segments", segments),
                ("positions", positions.sort_by(keys)),
                ("history", history),
            )
        }


def _hash(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table.combine_chunks())
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def run(
    feed: dict[str, Any],
    lo: int,
    hi: int,
    held: Held,
    states: StateStore,
    watermark: int | None,
) -> Pipeline:
    """One run over the rows of times [lo, hi), from the bucket's last state, fed in a few
    chunks in arrival order; its state saved at the end."""
    pipe = Pipeline(geography=False, reorder_window_s=WINDOW_S)
    found = states.load("all")
    if found is not None:
        pipe.resume(found[1], "state")
    results = []
    for i in range(SUB_CHUNKS):  # cut by arrival time, as a feed would be
        a, b = lo + (hi - lo) * i // SUB_CHUNKS, lo + (hi - lo) * (i + 1) // SUB_CHUNKS
        chunk = {}
        for name in ("positions", "statics"):
            ts, arrival = feed[f"{name}_ts"], feed[f"{name}_arrival"]
            last = i == SUB_CHUNKS - 1
            keep = (ts >= lo) & (ts < hi) & (arrival >= a) & ((arrival < b) | last)
            if i == 0:
                keep |= (ts >= lo) & (ts < hi) & (arrival < a)
            chunk[name] = feed[name].filter(pa.array(keep))
        results.append(pipe.feed(chunk["positions"], chunk["statics"]))
    results.append(pipe.checkpoint(watermark))
    states.save("all", pipe.watermark_us, pipe.state())
    held.take(pipe, results)
    return pipe


def runs(
    feed: dict[str, Any], cuts: list[int], explicit: bool, root: Path, keep: int = KEEP
) -> Held:
    held, states = Held(), StateStore(root, keep)
    bounds = [feed["lo"], *cuts, feed["hi"] + 1]
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        last = i == len(bounds) - 2
        pipe = run(feed, lo, hi, held, states, hi if explicit or last else None)
        assert pipe.late == {"positions": 0, "statics": 0}
    return held


@pytest.fixture(scope="module")
def one_run(feed: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return runs(feed, [], True, tmp_path_factory.mktemp("one")).canonical()


def test_one_run_finds_every_kind_of_event(feed: dict[str, Any], tmp_path: Path) -> None:
    held = runs(feed, [], True, tmp_path)
    kinds = {e["event_type"] for e in held.events.values()}
    assert {"gap", "loitering", "encounter", "spoofing", "identity_change"} <= kinds


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.floats(0.02, 0.98), min_size=1, max_size=2), st.booleans())
def test_split_runs_give_the_one_run_result(
    feed: dict[str, Any],
    one_run: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    fractions: list[float],
    explicit: bool,
) -> None:
    lo, hi = feed["lo"], feed["hi"]
    cuts = sorted({lo + int(f * (hi - lo)) for f in fractions})
    got = runs(feed, cuts, explicit, tmp_path_factory.mktemp("split"))
    assert got.canonical() == one_run


def test_open_events_at_a_split_are_issued_again_or_retracted(
    feed: dict[str, Any], tmp_path: Path
) -> None:
    """A split inside an encounter and a loitering: the first run leaves them open, the
    second closes or re-issues them under the same id; nothing is left twice."""
    states, held = StateStore(tmp_path), Held()
    mid = feed["lo"] + (feed["hi"] - feed["lo"]) // 2
    first = run(feed, feed["lo"], mid, held, states, mid)
    assert first.watermark_us == mid
    opened = {k for k, e in held.events.items() if e["end_ts"] is None}
    assert {held.events[k]["event_type"] for k in opened} >= {"encounter", "loitering"}
    second = Held()
    run(feed, mid, feed["hi"] + 1, second, states, feed["hi"] + 1)
    assert opened <= set(second.events) | second.retracted
    assert not set(second.events) & second.retracted


def test_state_kept_is_bounded_and_versioned(feed: dict[str, Any], tmp_path: Path) -> None:
    cuts = [feed["lo"] + (feed["hi"] - feed["lo"]) * k // 4 for k in (1, 2, 3)]
    runs(feed, cuts, True, tmp_path, keep=2)
    states = StateStore(tmp_path)
    assert states.watermarks("all") == [cuts[2], feed["hi"] + 1]
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == [
        states.path("all", w).name for w in (cuts[2], feed["hi"] + 1)
    ]
    found = states.load("all", at_or_before_us=cuts[2] + 1)
    assert found is not None
    assert found[0] == cuts[2]
    assert states.load("all", at_or_before_us=cuts[1]) is None


def test_a_damaged_or_foreign_state_file_is_a_clear_error(tmp_path: Path) -> None:
    states = StateStore(tmp_path)
    pipe = Pipeline(geography=False, reorder_window_s=WINDOW_S)
    empty = SCHEMAS["positions"].empty_table(), SCHEMAS["statics"].empty_table()
    pipe.feed(*empty)
    pipe.checkpoint(10**15)
    path = states.save("all", 10**15, pipe.state())
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(StateFileError, match=str(path)):
        states.load("all")
    path.write_bytes(b"not arrow at all")
    with pytest.raises(StateFileError, match="damaged"):
        states.load("all")
    with pytest.raises(StateFileError, match="letters, digits"):
        states.load("../x")


def test_a_state_made_with_other_parameters_is_refused() -> None:
    pipe = Pipeline(geography=False, reorder_window_s=WINDOW_S)
    pipe.checkpoint(10**15)
    other = Pipeline(geography=False, reorder_window_s=WINDOW_S * 2)
    with pytest.raises(ConfigError, match="other detectors, parameters"):
        other.resume(pipe.state(), "x.arrow")


@dataclass(frozen=True)
class GuessParams:
    """No parameters."""


def guess(
    positions: pa.Table,
    params: GuessParams = GuessParams(),
    state: int | None = None,
    *,
    open_events: bool = True,
    watermark_us: int | None = None,
) -> tuple[pa.Table, int]:
    """A provisional event open at each run's end, started at the row count so far: the next
    run never issues it again (its count differs), so it must retract it."""
    n = (state or 0) + positions.num_rows
    if not open_events or not n:
        return EVENTS_SCHEMA.empty_table(), n
    events = build_events("guess", start_us=[n], end_us=[None], mmsi=[1], lat=[None],
                          lon=[None], confidence=[0.5], details=[{}])  # fmt: skip
    return events, n


def test_an_open_event_the_next_run_does_not_issue_again_is_retracted(
    feed: dict[str, Any], tmp_path: Path
) -> None:
    toy = Detector("guess", guess, "positions", GuessParams, (EventType("guess", None),))
    with registered(toy):
        mid = feed["lo"] + (feed["hi"] - feed["lo"]) // 2
        states, first, second = StateStore(tmp_path), Held(), Held()
        run(feed, feed["lo"], mid, first, states, mid)
        (provisional,) = [k for k, e in first.events.items() if e["event_type"] == "guess"]
        run(feed, mid, feed["hi"] + 1, second, states, feed["hi"] + 1)
    assert second.retracted == {provisional}
    assert [e["event_type"] for e in second.events.values()].count("guess") == 1
