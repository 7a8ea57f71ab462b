"""The data, helpers and clusters of the partitioned engine's daily-run tests
(tests/test_partitioned_daily.py, _late.py, _rebucket.py, _dask.py, tests/test_partitioned.py,
_ranges.py), a pytest plugin of tests/conftest.py.

The data (tests/test_partitioned.py's inputs) crosses midnight: a gap, loitering and an
encounter span it, and a ship changes MMSI across buckets; :func:`cut` cuts it into a file
per day. The days and the one-run reference are made once per test process (session
fixtures), and so are the loopback Dask clusters: ``scheduler`` (2 workers) and
``scheduler_one`` (1 worker) start on first use and are closed after a module when the next
module's first test needs neither (each start costs ~3-6 CPU-s, an idle cluster a little all along).
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from seawatch.decode import decode
from seawatch.decode.schemas import conform
from seawatch.engine.canonical import digest
from seawatch.engine.dask_engine import local_cluster
from seawatch.engine.ingest import ingest
from seawatch.engine.state import StateStore
from seawatch.settings import load_settings
from seawatch.store import TABLES, open_store
from seawatch.store.tables import SEQ
from test_partitioned import write_inputs

NODE = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
STORED = ("positions", "statics", "segments", "events")


Days = tuple[list[Path], list[Path], int, int]


@functools.cache
def _decoded() -> dict[str, pa.Table]:
    """The inputs of tests/test_partitioned.py decoded, by kind: made once per process
    (they are always the same; ~0.4 CPU-s each time)."""
    tables: dict[str, list[pa.Table]] = {"positions": [], "statics": []}
    with tempfile.TemporaryDirectory() as tmp:
        for path in write_inputs(Path(tmp)):
            found, _ = decode(path)
            for kind in tables:
                if kind in found and found[kind].num_rows:
                    tables[kind].append(conform(found[kind], kind))
    return {kind: pa.concat_tables(parts) for kind, parts in tables.items()}


def cut(d: Path, at: list[datetime]) -> list[list[Path]]:
    """The inputs of tests/test_partitioned.py cut at the times ``at``: a file per piece and
    kind (a kind without rows in a piece has none)."""
    d.mkdir(parents=True, exist_ok=True)
    files: list[list[Path]] = [[] for _ in range(len(at) + 1)]
    for kind, table in _decoded().items():
        ts = table.column("ts")
        bounds = [None, *(pa.scalar(t, ts.type) for t in at), None]
        for k in range(len(at) + 1):
            lo, hi = bounds[k], bounds[k + 1]
            mask = pc.and_(pc.greater_equal(ts, lo) if lo else pc.is_valid(ts),
                           pc.less(ts, hi) if hi else pc.is_valid(ts))  # fmt: skip
            part = table.filter(mask)
            if part.num_rows:
                files[k].append(d / f"{kind}-{k}.parquet")
                pq.write_table(part, files[k][-1])
    return files


def _us(t: datetime) -> int:
    return int(t.timestamp()) * 1_000_000


@pytest.fixture(scope="session")
def midnight(tmp_path_factory: pytest.TempPathFactory) -> datetime:
    """The midnight the data crosses."""
    found, _ = decode(write_inputs(tmp_path_factory.mktemp("probe"))[1])
    last = pc.max(found["positions"].column("ts")).as_py()
    return datetime.combine(last.date(), datetime.min.time(), UTC)


@pytest.fixture(scope="session")
def days(tmp_path_factory: pytest.TempPathFactory, midnight: datetime) -> Days:
    """Day 1's files, day 2's, the midnight between them and the end of day 2 (µs)."""
    day1, day2 = cut(tmp_path_factory.mktemp("days"), [midnight])
    assert len(day1) == 2
    assert day2
    return day1, day2, _us(midnight), _us(midnight + timedelta(days=1))


def canonical(db: Path) -> dict[str, str]:
    """Each stored table's digest (rows in a total order; not the write order, SEQ)."""
    out = {}
    with open_store(str(db), NODE) as store:
        for name in STORED:
            schema = TABLES[name].arrow_schema()
            cols = [f.name for f in schema if f.name != SEQ]
            rows = store.backend.fetch(f"SELECT {', '.join(cols)} FROM {name}", (),
                                       pa.schema([schema.field(c) for c in cols]))  # fmt: skip
            out[name] = digest(rows)
    return out


def run(tmp: Path, name: str, runs: list[tuple[list[Path], int | None]], engine: str = "local",
        reports: list[Any] | None = None, **options: Any) -> dict[str, str]:  # fmt: skip
    """``runs`` (files, watermark) one after another into a new store; its digests (and
    the runs' reports appended to ``reports``)."""
    db = tmp / f"{name}.duckdb"
    states = StateStore(tmp / f"{name}-states")
    for files, until in runs:
        with open_store(str(db), NODE) as store:
            report = ingest(store, files, NODE, detect=True, states=states, watermark_us=until,
                            engine=engine, options=options)  # fmt: skip
            assert not report.late
            if reports is not None:
                reports.append(report)
    return canonical(db)


@pytest.fixture(scope="session")
def reference(days: Days, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One run of the local engine over both days."""
    day1, day2, _, end = days
    return run(tmp_path_factory.mktemp("ref"), "whole", [(day1 + day2, end)])


_CLUSTERS: dict[int, Any] = {}
_CLUSTER_FIXTURES = {"scheduler", "scheduler_one"}


def _address(workers: int) -> str:
    if workers not in _CLUSTERS:
        _CLUSTERS[workers] = local_cluster(workers)
    return str(_CLUSTERS[workers].scheduler_address)


@pytest.fixture(scope="module")
def scheduler() -> str:
    """The address of a loopback LocalCluster of 2 worker processes."""
    return _address(2)


@pytest.fixture(scope="module")
def scheduler_one() -> str:
    """The address of a loopback LocalCluster of 1 worker process."""
    return _address(1)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After a module's last test (its fixtures, the clients too, torn down): the clusters
    close when the next module's first test (pytest-xdist keeps one queued) uses neither."""
    yield
    names = set(getattr(nextitem, "fixturenames", ()))
    module = getattr(nextitem, "module", None)
    if _CLUSTERS and module is not item.module and not names & _CLUSTER_FIXTURES:
        for cluster in _CLUSTERS.values():
            cluster.close()
        _CLUSTERS.clear()
