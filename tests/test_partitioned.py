"""The same answers, always: the partitioned engine against the streaming one.

Canonical outputs (positions with segment ids, segments, identity, events; sorted by a total
key and hashed, :mod:`seawatch.engine.canonical`) of the streaming engine (one process, one
pipeline) are the reference; the partitioned engine must give them byte for byte with 1, 7,
64 and 256 MMSI buckets, any chunk size, tasks in a shuffled order, and on a dask.distributed
LocalCluster with 1 worker (here) and 2 workers (tests/test_partitioned_dask.py). The data
crosses midnight (two days, a gap, loitering and an encounter spanning it), and two ships
change MMSI (an IMO links two vessels in different buckets; one on either side of midnight).

Daily runs (day 1 then day 2, a day split mid-way) are tests/test_partitioned_daily.py's.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.decode import decode
from seawatch.decode.schemas import conform
from seawatch.engine.canonical import digests
from seawatch.engine.dask_engine import run_partitioned
from seawatch.engine.detect import detect_files
from seawatch.engine.partitions import Manifest, bucket_of, read_part, write_partitions
from seawatch.engine.sinks import ParquetDirSink
from seawatch.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from test_pipeline import eventful
from tracks.helpers import statics


def write_inputs(d: Path) -> list[Path]:
    """The demo feed (NMEA) and eventful vessels from 18:00 to 08:00 the next day."""
    from seawatch.sim.synth import write_sample

    d.mkdir(parents=True, exist_ok=True)
    write_sample(d / "sample.nmea", vessels=20, minutes=30, seed=11)
    first = decode(d / "sample.nmea")[0]["positions"]["ts"][0].as_py()
    t0 = first.replace(hour=18, minute=0, second=0, microsecond=0)
    pos, sta = eventful(t0)
    # one ship (one IMO) re-flagged from India to Singapore: a new MMSI, in another bucket
    # and another at midnight: its new MMSI is heard the next day (identity changes carried)
    moved = [{"ts": t0 + timedelta(hours=h), "mmsi": m, "imo": imo, "name": name,
              "ship_type": 70} for h, m, imo, name in
             ((1, 419000001, 9123456, "MOVER"), (3, 563000001, 9123456, "MOVER"),
              (5, 419000077, 9234567, "CROSSER"), (7, 563000077, 9234567, "CROSSER"))]  # fmt: skip
    sta = pa.concat_tables([sta, statics(moved)])
    pq.write_table(conform(pos, "positions"), d / "positions.parquet")
    pq.write_table(conform(sta, "statics"), d / "statics.parquet")
    return [d / "sample.nmea", d / "positions.parquet", d / "statics.parquet"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def reference(inputs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The streaming engine's canonical digests."""
    out = tmp_path_factory.mktemp("stream")
    result = detect_files(inputs, settings=Settings(), out_dir=out)
    r = result.report
    assert not sum(r.late.values())
    assert r.events_by_type["encounter"] >= 1
    assert r.events_by_type["gap"] >= 2
    events = pq.read_table(out / "events.parquet").to_pylist()
    assert any('"before_mmsi":419000001' in e["details"] for e in events)  # across buckets
    assert any('"before_mmsi":419000077' in e["details"] for e in events)  # across midnight
    assert r.positions > 1000
    assert r.segments > 20
    return digests(out)


@pytest.fixture(scope="module")
def cluster(scheduler_one: str) -> Iterator[Any]:
    """A client of a loopback LocalCluster of 1 worker process (tests/partitioned_days.py)."""
    from distributed import Client

    with Client(scheduler_one) as client:
        yield client


def partitioned(inputs: list[Path], out: Path, **kw: Any) -> dict[str, str]:
    with ParquetDirSink(out) as sink:
        run_partitioned(inputs, Settings(), sinks=[sink], **kw)
    return digests(out)


@pytest.mark.parametrize("buckets", [1, 7, 64, 256])
def test_buckets_give_the_same_answers(
    inputs: list[Path], reference: dict[str, str], tmp_path: Path, buckets: int
) -> None:
    assert partitioned(inputs, tmp_path, buckets=buckets, shuffle=buckets) == reference


def test_spilling_while_partitioning_changes_nothing(
    inputs: list[Path], reference: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seawatch.engine import partitions

    monkeypatch.setattr(partitions, "_SPILL_ROWS", 300)
    assert partitioned(inputs, tmp_path, buckets=7, chunk_rows=500) == reference


@pytest.mark.parametrize("compression", ["lz4", "zstd"])
def test_compressed_working_files_give_the_same_answers(
    inputs: list[Path], reference: dict[str, str], tmp_path: Path, compression: str
) -> None:
    size = {}
    for how in ("none", compression):
        work, out = tmp_path / f"work-{how}", tmp_path / f"out-{how}"
        with ParquetDirSink(out) as sink:
            run_partitioned(inputs, Settings(work_compression=how), sinks=[sink], buckets=7,
                            work_dir=work)  # fmt: skip
        assert digests(out) == reference
        size[how] = sum(f.stat().st_size for f in work.rglob("*.arrow"))
    assert size[compression] < size["none"]  # the files were compressed


def _profiling() -> bool:
    import dask

    return bool(dask.config.get("distributed.worker.profile.enabled"))


def test_the_local_clusters_workers_do_not_sample_stacks(cluster: Any) -> None:
    assert set(cluster.run(_profiling).values()) == {False}


def test_one_worker_cluster_gives_the_same_answers(
    inputs: list[Path], reference: dict[str, str], tmp_path: Path, cluster: Any
) -> None:
    got = partitioned(inputs, tmp_path, buckets=7, engine="dask", client=cluster)
    assert got == reference


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    buckets=st.integers(1, 64),
    chunk_rows=st.one_of(st.none(), st.integers(20, 2000)),
    slot_h=st.sampled_from([1, 5, 24]),
    seed=st.integers(0, 2**16),
)
def test_buckets_chunks_slots_and_order_never_change_the_answers(
    inputs: list[Path],
    reference: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    buckets: int,
    chunk_rows: int | None,
    slot_h: int,
    seed: int,
) -> None:
    out = tmp_path_factory.mktemp("prop")
    got = partitioned(inputs, out, buckets=buckets, chunk_rows=chunk_rows,
                      slot_s=slot_h * 3600, shuffle=seed)  # fmt: skip
    assert got == reference


def splitmix64(x: int) -> int:
    """The published reference (Steele, Lea & Flood 2014), on Python ints."""
    m = (1 << 64) - 1
    z = (x + 0x9E3779B97F4A7C15) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return z ^ (z >> 31)


def test_the_bucket_is_a_stable_hash_recorded_in_the_manifest(
    inputs: list[Path], tmp_path: Path
) -> None:
    mmsi = np.array([0, 1, 366000001, 219000123, 999999999])
    assert bucket_of(mmsi, 64).tolist() == [54, 51, 17, 47, 24]  # pinned: never changes
    virtual = [splitmix64(int(m)) % 4096 for m in mmsi]
    assert bucket_of(mmsi, 7).tolist() == [v * 7 // 4096 for v in virtual]
    manifest, _ = write_partitions(inputs, Settings(), tmp_path, buckets=7)
    again = Manifest.load(tmp_path)
    assert again == manifest
    assert (again.buckets, again.virtual_buckets) == (7, 4096)
    assert "splitmix64" in again.hash
    assert len(again.days) == 2
    seen: dict[int, int] = {}
    for rel, f in again.files.items():
        t = read_part(tmp_path, rel, f["kind"])
        ts = np.asarray(t.column("ts").cast(pa.int64()), np.int64)
        assert (np.diff(ts) >= 0).all()  # time-ordered
        assert t.num_rows == f["rows"]
        for m in set(t.column("mmsi").to_pylist()) - {None}:
            assert seen.setdefault(m, f["bucket"]) == f["bucket"]  # one bucket per vessel
            assert f["bucket"] == bucket_of(np.array([m]), 7)[0]


def test_a_damaged_input_is_told_and_the_rest_kept_on_the_cluster(
    inputs: list[Path], tmp_path: Path, cluster: Any
) -> None:
    """Inputs decode as cluster tasks: a truncated input keeps what came before its damage
    and is one line in the findings, a file without AIS a note, as in the streaming run."""
    import gzip

    packed = gzip.compress(inputs[0].read_bytes())
    cut = tmp_path / "cut.nmea.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    prose = tmp_path / "notes.txt"
    prose.write_text("".join(f"line {k} of some notes\n" for k in range(50)))
    damaged = [cut, *inputs[1:], prose]
    stream = detect_files(damaged, settings=Settings(), out_dir=tmp_path / "stream").report
    assert len(stream.findings.errors) == 1
    assert str(cut) in stream.findings.errors[0]
    assert stream.findings.failed == {str(cut)}
    assert any(str(prose) in n for n in stream.findings.notes)
    for name, kw in (("here", {"shuffle": 3}), ("dask", {"engine": "dask", "client": cluster})):
        with ParquetDirSink(tmp_path / name) as sink:
            got = run_partitioned(damaged, Settings(), sinks=[sink], buckets=7, **kw)
        assert got.findings.errors == stream.findings.errors
        assert got.findings.notes == stream.findings.notes
        assert got.findings.failed == stream.findings.failed
        assert got.decode.messages == stream.decode.messages > 0
        assert digests(tmp_path / name) == digests(tmp_path / "stream")


def test_a_slot_task_reads_the_days_that_can_hold_its_steps_and_a_miss_is_caught() -> None:
    from seawatch.engine.partition_tasks import TaskConfig, VesselOut, slot_days, unread_steps
    from seawatch.errors import SeawatchError

    day, hour = 86_400_000_000, 3_600_000_000
    cfg = TaskConfig(root="", work="", watermark_us=30 * day, reorder_window_s=600)
    # a morning slot: only its own day; the evening one: the next day too (a grid step's
    # later row is up to max_interp_gap_s away, released by the next day's tasks)
    assert list(slot_days(cfg, 10 * day, 10 * day + 6 * hour, 29)) == [10]
    assert list(slot_days(cfg, 10 * day + 18 * hour, 11 * day, 29)) == [10, 11]
    assert list(slot_days(cfg, 29 * day + 18 * hour, 30 * day, 29)) == [29]  # the last day
    step = 600_000_000
    outs = [VesselOut(10, 0, steps=(10 * day // step, 10 * day // step + 5)),
            VesselOut(11, 0, steps=(11 * day // step, 11 * day // step + 5))]  # fmt: skip
    spans = [(10 * day, 10 * day + 6 * hour)]
    unread_steps(outs, [[0]], spans, cfg)  # day 11's points are not the slot's: fine
    with pytest.raises(SeawatchError, match="a bug"):
        unread_steps(outs, [[1]], spans, cfg)
