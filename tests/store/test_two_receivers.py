"""Two receivers, one picture: every entry point gives the same tracks and events.

A simulated 3 h run is split as partners deliver it: the coast stations' file and the
satellites' file, each in time order, overlapping in time. ``detect`` on both, ``ingest
--detect`` on both (each backend), ``run`` on both files, and a live feed replaying both
must each give the segments and events of ``detect`` on the simulator's own single stream.
(``ingest --detect`` once read its inputs one after the other: the satellite file came
after the coast file had moved time on, so its rows were late, and every identity change
was lost, silently.) A hypothesis test splits one input at random into several files.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.cli.main import cli
from seawatch.engine.detect import detect_files
from seawatch.engine.ingest import ingest
from seawatch.labels import Reader
from seawatch.settings import Settings, load_settings
from seawatch.sources.feed import Feed
from seawatch.store import open_store
from seawatch.store.query import Query

EVENT_KEY = ["event_id", "event_type", "mmsi", "other_mmsi", "start_ts", "end_ts"]
SEGMENT_KEY = ["segment_id", "mmsi", "start_ts", "end_ts", "n_positions"]


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "seawatch.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "SEAWATCH_NODE_NATION": "IND", **(env or {})},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _groups(lines: list[bytes]) -> list[list[bytes]]:
    """Lines grouped by message (the fragments of a multi-sentence message together)."""
    out: list[list[bytes]] = []
    pending: list[bytes] = []
    for line in lines:
        body = line.rsplit(b"\\", 1)[-1].split(b",")
        pending.append(line)
        if len(body) < 3 or body[1] == body[2]:  # fragment count == fragment number
            out.append(pending)
            pending = []
    if pending:
        out.append(pending)
    return out


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The simulator's stream (``all.nmea``) and its two receivers' files."""
    work = tmp_path_factory.mktemp("two")
    sim = work / "sim"
    simulate = ["simulate", "--hours", "3", "--vessels", "60", "--seed", "1", "--out", str(sim)]
    made = CliRunner().invoke(cli, simulate)  # the input, made in-process
    assert made.exit_code == 0, made.output
    lines = b"".join(p.read_bytes() for p in sorted(sim.glob("ais-*.nmea"))).splitlines(
        keepends=True
    )
    files = {"all": work / "all.nmea", "coast": work / "coast.nmea", "sat": work / "sat.nmea"}
    files["all"].write_bytes(b"".join(lines))
    files["sat"].write_bytes(b"".join(x for x in lines if x.startswith(b"\\s:sat")))
    files["coast"].write_bytes(b"".join(x for x in lines if not x.startswith(b"\\s:sat")))
    return files


def _sorted(table: pa.Table, key: list[str]) -> list[dict[str, object]]:
    rows = table.select(key).to_pylist()
    for row in rows:  # an integer in Parquet, a string in the store
        if "segment_id" in row:
            row["segment_id"] = str(row["segment_id"])
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in key))


def _detect(inputs: list[Path], out: Path, settings: Settings | None = None) -> dict[str, list]:  # type: ignore[type-arg]
    result = detect_files(inputs, settings=settings or load_settings(env={}), out_dir=out)
    assert sum(result.report.late.values()) == 0
    return {
        "events": _sorted(pq.read_table(out / "events.parquet"), EVENT_KEY),
        "segments": _sorted(pq.read_table(out / "segments.parquet"), SEGMENT_KEY),
    }


@pytest.fixture(scope="module")
def reference(split: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:  # type: ignore[type-arg]
    """detect on the simulator's single stream."""
    ref = _detect([split["all"]], tmp_path_factory.mktemp("ref"))
    types = {e["event_type"] for e in ref["events"]}
    assert {"identity_change", "spoofing", "port_visit"} <= types  # the run has something
    return ref


def _stored(db: str) -> dict[str, list]:  # type: ignore[type-arg]
    with open_store(db, load_settings(env={"SEAWATCH_NODE_NATION": "IND"})) as store:
        q = Query(store, Reader.node_admin("test: two receivers"))
        segments = store.backend.fetch(
            "SELECT segment_id, mmsi, start_ts, end_ts, n_positions FROM segments",
            (),
            pa.schema(
                [
                    ("segment_id", pa.string()),
                    ("mmsi", pa.int64()),
                    ("start_ts", pa.timestamp("us", tz="UTC")),
                    ("end_ts", pa.timestamp("us", tz="UTC")),
                    ("n_positions", pa.int64()),
                ]
            ),
        )
        unsegmented = q.positions().column("segment_id").null_count
        assert unsegmented == 0, f"{unsegmented} stored positions have no track"
        return {
            "events": _sorted(q.events(), EVENT_KEY),
            "segments": _sorted(segments, SEGMENT_KEY),
        }


def _same(got: dict[str, list], ref: dict[str, list]) -> None:  # type: ignore[type-arg]
    for what in ("events", "segments"):
        assert len(got[what]) == len(ref[what]), what
        assert got[what] == ref[what], what


def test_detect_on_both_files(split: dict[str, Path], reference: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    _same(_detect([split["coast"], split["sat"]], tmp_path / "a"), reference)
    _same(_detect([split["sat"], split["coast"]], tmp_path / "b"), reference)  # any order


def test_ingest_detect_on_both_files(
    split: dict[str, Path],
    reference: dict,
    store_url: str,  # type: ignore[type-arg]
) -> None:
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with open_store(store_url, settings) as store:
        report = ingest(store, [split["coast"], split["sat"]], settings, detect=True)
    assert report.late == 0
    _same(_stored(store_url), reference)


def test_ingest_command_on_both_files(
    split: dict[str, Path],
    reference: dict,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    db = str(tmp_path / "cli.duckdb")
    _cli("ingest", str(split["coast"]), str(split["sat"]), "--detect", "--db", db)
    _same(_stored(db), reference)


def test_run_on_both_files(split: dict[str, Path], reference: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    _cli("run", str(split["coast"]), str(split["sat"]), "--out", str(tmp_path))
    _same(_stored(str(tmp_path / "seawatch.duckdb")), reference)


@pytest.fixture
def replay(split: dict[str, Path]) -> Iterator[int]:
    """A loopback TCP server replaying both receivers' lines as they were received (in
    receive-time order, the two interleaved), in small writes, then closing."""
    coast = _groups(split["coast"].read_bytes().splitlines(keepends=True))
    sat = _groups(split["sat"].read_bytes().splitlines(keepends=True))

    def t(group: list[bytes]) -> int:
        tag = group[0].split(b"\\")[1]
        return int(tag.split(b"c:")[1].split(b"*")[0].split(b",")[0])

    stream = sorted(coast + sat, key=t)  # stable: equal times keep their order
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            for k in range(0, len(stream), 4000):
                conn.sendall(b"".join(b"".join(g) for g in stream[k : k + 4000]))
                time.sleep(0.3)
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    thread.join(10)
    server.close()


def test_live_feed_replaying_both(
    replay: int,
    reference: dict,  # type: ignore[type-arg]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`seawatch run --tcp` (in this process) until the replay closes its feed: a closed
    feed is tried again for 1 s here (30 s by default, waited out by the test before)."""
    monkeypatch.setitem(Feed.__init__.__kwdefaults__, "reconnect_s", 1.0)
    started = dt.datetime.now(dt.UTC)
    res = CliRunner().invoke(
        cli,
        ["run", "--tcp", f"127.0.0.1:{replay}", "--batch-s", "0.5", "--duration", "60",
         "--out", str(tmp_path)],
        env={"SEAWATCH_NODE_NATION": "IND"},
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "ended: feed closed" in res.stdout
    assert dt.datetime.now(dt.UTC) - started < dt.timedelta(seconds=60)
    _same(_stored(str(tmp_path / "seawatch.duckdb")), reference)


SPLIT_SETTINGS = {"SEAWATCH_DECODE_CHUNK_BYTES": "64KiB"}


@pytest.fixture(scope="module")
def small(
    split: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[list, dict[str, list]]:  # type: ignore[type-arg]
    """The first hour of the stream's messages, and detect's answer on it as one file."""
    lines = split["all"].read_bytes().splitlines(keepends=True)
    first = [x for x in lines if int(x.split(b"c:")[1][:10]) < 1748736000 + 3600]
    folder = tmp_path_factory.mktemp("small")
    path = folder / "hour.nmea"
    path.write_bytes(b"".join(first))
    return _groups(first), _detect([path], folder / "one", load_settings(env=SPLIT_SETTINGS))


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_splits_give_the_same_answer(
    small: tuple[list, dict[str, list]],
    tmp_path: Path,
    data: st.DataObject,  # type: ignore[type-arg]
) -> None:
    """Each message goes to one of k files at random (order kept within a file)."""
    groups, ref = small
    k = data.draw(st.integers(2, 5), label="files")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = random.Random(seed)
    parts: list[list[bytes]] = [[] for _ in range(k)]
    for group in groups:
        parts[rng.randrange(k)].extend(group)
    run = Path(tempfile.mkdtemp(prefix=f"split-{k}-", dir=tmp_path))
    files = []
    for i, part in enumerate(parts):
        f = run / f"part{i}.nmea"
        f.write_bytes(b"".join(part))
        files.append(f)
    _same(_detect(files, run / "split", load_settings(env=SPLIT_SETTINGS)), ref)
