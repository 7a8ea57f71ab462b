"""A pipeline's carried state cut per new MMSI bucket (:func:`seawatch.engine.rebucket.
split_state`): every part of it lands in the bucket of its vessel and nothing is lost; a
state part of which cannot be told per vessel is refused, naming why. (That the re-split
states give the one-run answer: tests/test_partitioned_rebucket.py.)"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from seawatch.decode import decode
from seawatch.decode.schemas import conform
from seawatch.engine.partition_tasks import PER_VESSEL
from seawatch.engine.partitions import bucket_of
from seawatch.engine.pipeline import Pipeline
from seawatch.engine.rebucket import _joined, _opened, split_state
from seawatch.errors import InputError
from test_partitioned import write_inputs


@pytest.fixture(scope="module")
def carried(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], pa.Table]:
    """The per-vessel pipeline's state at midnight over the test data's evening (rows
    after it wait in the reorder buffers), and the events open then."""
    tables: dict[str, list[pa.Table]] = {"positions": [], "statics": []}
    for path in write_inputs(tmp_path_factory.mktemp("split")):
        found, _ = decode(path)
        for kind in tables:
            if kind in found and found[kind].num_rows:
                tables[kind].append(conform(found[kind], kind))
    pos, st = (pa.concat_tables(tables[k]).sort_by("ts") for k in ("positions", "statics"))
    last = pc.max(pos.column("ts")).as_py()
    midnight = last.replace(hour=0, minute=0, second=0, microsecond=0)
    until = midnight + timedelta(minutes=30)
    keep = [t.filter(pc.less(t.column("ts"), pa.scalar(until, t.column("ts").type)))
            for t in (pos, st)]  # fmt: skip
    pipe = Pipeline(geography=False, only=PER_VESSEL)
    pipe.feed(*keep)
    pipe.checkpoint(int(midnight.timestamp()) * 1_000_000)
    state = pipe.state()
    return state, _opened(Pipeline(geography=False, only=PER_VESSEL), state)


def _vessels(state: dict[str, Any]) -> dict[str, np.ndarray[Any, Any]]:
    """The MMSI of every row of each per-vessel part of ``state``."""
    out = {f"held.{k}": np.asarray(t.column("mmsi").to_numpy(), np.int64)
           for k, (_, t) in state["held"].items()}  # fmt: skip
    out["clean"] = state["_clean"].mmsi
    out["segment"] = np.asarray(state["_segment"].mmsi, np.int64)
    out["ship"] = state["_ship"].mmsi
    identity = state["_identity"]
    out["identity"] = np.asarray(identity._agg.table().column("mmsi").to_numpy(), np.int64)
    out["tail"] = identity._tail[0]
    for name, tracks in state["_states"].items():
        if tracks is not None and tracks.keys is not None:
            n = len(tracks.keys)
            column = {"loitering": 13, "port_visit": 12, "zone_entry": 2}.get(name)
            by_mmsi = np.asarray(tracks.keys.to_numpy(), np.int64)
            out[name] = tracks.cols["i"][:n, column] if tracks.by_segment else by_mmsi
    return out


@pytest.mark.parametrize("buckets", [1, 2, 7, 64])
def test_every_part_goes_to_its_vessels_bucket(
    carried: tuple[dict[str, Any], pa.Table], buckets: int
) -> None:
    state, opened = carried
    whole = _vessels(state)
    assert sum(len(v) for v in whole.values()) > 100
    assert len(state["held"]["positions"][1])  # rows wait
    assert state["_open_ids"]  # events open
    parts = split_state(state, opened, buckets, "test")
    assert set(parts) <= set(range(buckets))
    for b, part in parts.items():
        for name, mmsi in _vessels(part).items():
            assert (bucket_of(mmsi, buckets) == b).all(), name
    for name, mmsi in whole.items():  # nothing lost, nothing doubled
        got = np.concatenate([_vessels(p)[name] for p in parts.values()])
        assert sorted(got.tolist()) == sorted(mmsi.tolist()), name
    assert set().union(*(p["_open_ids"] for p in parts.values())) == state["_open_ids"]
    again = _joined(list(parts.values()))
    assert {k: sorted(v.tolist()) for k, v in _vessels(again).items()} == {
        k: sorted(v.tolist()) for k, v in whole.items()
    }
    assert np.all(np.diff(again["_segment"].mmsi) >= 0)  # sorted by MMSI, as the matcher needs


def test_what_cannot_be_told_per_vessel_is_refused(
    carried: tuple[dict[str, Any], pa.Table],
) -> None:
    state, opened = carried
    bogus = dict(state, _open_ids={*state["_open_ids"], "not-an-event"})
    with pytest.raises(InputError, match="events left open are not those"):
        split_state(bogus, opened, 7, "test")
    by_segment = next(n for n, t in state["_states"].items() if t is not None and t.by_segment)
    other = dict(state, _states={**state["_states"], "mine": state["_states"][by_segment]})
    with pytest.raises(InputError, match="detector 'mine' keeps its tracks by segment"):
        split_state(other, opened, 7, "test")
    identity = state["_identity"]
    assert identity._n_statics.table().num_rows
    lost = copy.copy(identity)
    lost._agg = copy.copy(identity._agg)
    lost._agg._merged, lost._agg._parts = identity._agg.table().slice(0, 0), []
    with pytest.raises(InputError, match="whose MMSI the state does not hold"):
        split_state(dict(state, _identity=lost), opened, 7, "test")
