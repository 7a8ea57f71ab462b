"""``--engine dask`` on a real 2-worker LocalCluster: the same files and the same store.

``seawatch detect --engine dask --scheduler ADDRESS`` writes tables whose canonical digests
equal the streaming engine's (tests/test_partitioned.py has the other variants), and an
ingest through the cluster stores exactly the positions, statics, segments and events a
streaming ingest stores (the loader, this process, is the store's only writer).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from seawatch.cli.main import cli
from seawatch.engine.canonical import digests
from seawatch.engine.ingest import ingest
from seawatch.settings import load_settings
from seawatch.store import TABLES, Store, open_store
from test_partitioned import write_inputs

RECORDS = ("positions", "statics", "events", "segments")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_inputs(tmp_path_factory.mktemp("inputs"))


def detect(inputs: list[Path], out: Path, *more: str) -> dict[str, str]:
    args = ["detect", *map(str, inputs), "--out", str(out), "--no-summary", *more]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    return digests(out)


def test_detect_on_two_workers_gives_the_streaming_answers(
    inputs: list[Path], scheduler: str, tmp_path: Path
) -> None:
    reference = detect(inputs, tmp_path / "local")
    got = detect(inputs, tmp_path / "dask", "--engine", "dask", "--scheduler", scheduler,
                 "--buckets", "64")  # fmt: skip
    assert got == reference


def test_engine_options_that_mean_nothing_are_usage_errors(
    inputs: list[Path], tmp_path: Path
) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["detect", str(inputs[0]), "--out", str(tmp_path),
                              "--scheduler", "tcp://127.0.0.1:1"])  # fmt: skip
    assert res.exit_code == 2
    assert "--scheduler goes with --engine dask" in res.output
    res = runner.invoke(cli, ["ingest", str(inputs[0]), "--engine", "dask"])
    assert res.exit_code == 2
    assert "add --detect" in res.output


def contents(store: Store) -> dict[str, list[dict[str, object]]]:
    out = {}
    for name in RECORDS:
        tdef = TABLES[name]
        out[name] = store.backend.fetch(
            f"SELECT * FROM {name} ORDER BY {', '.join(tdef.key)}", (), tdef.arrow_schema()
        ).to_pylist()
    return out


def test_ingest_through_the_cluster_stores_what_a_streaming_ingest_stores(
    inputs: list[Path], scheduler: str, tmp_path: Path
) -> None:
    node = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    stored: list[Any] = []
    on_cluster = {"engine": "dask", "options": {"scheduler": scheduler}}
    for name, kw in (("local", {}), ("dask", on_cluster)):
        with open_store(str(tmp_path / f"{name}.duckdb"), node) as store:
            report = ingest(store, inputs, node, detect=True, **kw)
            assert report.stored["events"] > 0
            stored.append(contents(store))
            logged = store.counts()["ingest_log"]
            assert logged >= len(inputs)  # every input logged complete
    assert stored[0] == stored[1]


def test_the_clusters_workers_keep_glibcs_own_malloc_trimming(scheduler: str) -> None:
    """Dask's nanny would start each worker with ``MALLOC_TRIM_THRESHOLD_=65536``: every
    large temporary array then mapped and faulted in afresh (about a third more of a
    worker's CPU on bench/scale.py's run); the engine's LocalCluster leaves it unset."""
    from distributed import Client

    with Client(scheduler) as client:  # type: ignore[no-untyped-call]
        seen = client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
    assert len(seen) == 2
    assert set(seen.values()) == {None}


def test_the_loaders_window_never_changes_what_is_stored(
    inputs: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At global density the loader takes less than an hour at a time (its memory follows
    the window): windows of a few seconds store what the streaming engine stores."""
    from seawatch.engine import loader

    node = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    stored: list[Any] = []
    steps: list[int] = []
    step = loader.load_step_us
    for name, kw in (("local", {}), ("partitioned", {"engine": "partitioned"})):
        if name == "partitioned":
            monkeypatch.setattr(loader, "_LOAD_ROWS", 5)
            monkeypatch.setattr(loader, "_LOAD_MIN_US", 5_000_000)
            monkeypatch.setattr(
                loader, "load_step_us", lambda *a: steps.append(step(*a)) or steps[-1]
            )
        with open_store(str(tmp_path / f"{name}.duckdb"), node) as store:
            ingest(store, inputs, node, detect=True, **kw)
            stored.append(contents(store))
    assert len(steps) == 2  # two days
    assert max(steps) < 3_600_000_000  # each in windows under an hour
    assert stored[0] == stored[1]


def test_the_loaders_window_is_the_day_or_what_holds_about_its_rows() -> None:
    from seawatch.engine.loader import load_step_us

    hour, minute = 3_600_000_000, 60_000_000
    assert load_step_us(1_000, 0, 24 * hour) == 24 * hour  # few rows: the day
    assert load_step_us(20_000_000, 0, hour) == 6 * minute  # ~2 M rows a window
    assert load_step_us(10**12, 0, hour) == minute  # never less than a minute
    assert load_step_us(4_000_000, 0, 0) == minute  # one instant
