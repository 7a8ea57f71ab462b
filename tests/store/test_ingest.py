"""Ingest through ``store_url``: stored once (same file twice, same message from two
receivers), labels from rules or --label, --detect's derived records and their labels."""

from __future__ import annotations

import atexit
import functools
import re
import shutil
import tempfile
from functools import reduce
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from seawatch.cli.main import cli
from seawatch.engine.ingest import ingest
from seawatch.labels import Reader, may_read
from seawatch.settings import Settings, load_settings
from seawatch.store import TABLES, Store, open_store
from seawatch.store.query import Query


@functools.cache
def sample() -> Path:
    """The feed `make run` writes (the demo generator: 300 vessels, 1 h, seed 7), generated
    once per test session into a temporary directory removed at exit."""
    from seawatch.sim.synth import write_sample

    folder = Path(tempfile.mkdtemp(prefix="seawatch-sample-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "bay-of-bengal.nmea"
    write_sample(path)
    return path


RECORDS = ("positions", "statics", "events", "segments")


def head(tmp_path: Path, n: int, station: str | None = None, name: str = "head.nmea") -> Path:
    """The sample's first ``n`` lines, the tag block's station renamed when given."""
    lines = sample().read_text().splitlines()[:n]
    if station is not None:
        lines = [_restation(line, station) for line in lines]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _restation(line: str, station: str) -> str:
    tag, _, sentence = line[1:].partition("\\")
    fields = [f"s:{station}" if f.startswith("s:") else f for f in tag.split("*")[0].split(",")]
    body = ",".join(fields)
    checksum = reduce(lambda a, c: a ^ ord(c), body, 0)
    return f"\\{body}*{checksum:02X}\\{sentence}"


def contents(store: Store) -> dict[str, list[dict[str, object]]]:
    """Every record of every table, sorted (node-admin: this is the test's oracle)."""
    out = {}
    for name in RECORDS:
        tdef = TABLES[name]
        key = ", ".join(tdef.key)
        out[name] = store.backend.fetch(
            f"SELECT * FROM {name} ORDER BY {key}", (), tdef.arrow_schema()
        ).to_pylist()
    return out


def test_same_file_twice_and_two_receivers_store_once(
    store_url: str, node: Settings, tmp_path: Path
) -> None:
    a = head(tmp_path, 3000)
    b = head(tmp_path, 3000, station="rx-2", name="rx2.nmea")
    with open_store(store_url, node) as store:
        first = ingest(store, [a], node)
        assert first.stored["positions"] > 2000
        assert first.stored["statics"] > 100
        once = contents(store)
        again = ingest(store, [a], node)
        assert again.skipped_inputs == 1
        assert contents(store) == once
        other = ingest(store, [b], node)  # same messages, another receiver
        assert other.read["positions"] == first.read["positions"]
        assert other.stored == {
            "positions": 0,
            "statics": 0,
            "events": 0,
            "segments": 0,
            "zones": 0,
            "alerts": 0,
        }
        assert contents(store) == once
        # a file both receivers' lines interleaved: still once
        mixed = tmp_path / "mixed.nmea"
        mixed.write_text(b.read_text() + a.read_text())
        assert ingest(store, [mixed], node).stored["positions"] == 0
        assert contents(store) == once


def test_duplicates_within_a_chunk_keep_the_same_row_whatever_the_order(
    store_url: str, node: Settings, tmp_path: Path
) -> None:
    a = head(tmp_path, 500).read_text().splitlines()
    b = head(tmp_path, 500, station="rx-2", name="b.nmea").read_text().splitlines()
    stored = []
    for i, (x, y) in enumerate(((a, b), (b, a))):
        path = tmp_path / f"both{i}.nmea"
        path.write_text("\n".join(v for pair in zip(x, y, strict=True) for v in pair) + "\n")
        with open_store(store_url.replace("store", f"store{i}"), node) as store:
            report = ingest(store, [path], node)
            assert report.stored["positions"] * 2 == report.read["positions"]
            stored.append(contents(store))
    assert stored[0]["positions"] == stored[1]["positions"]  # the same receiver's copy
    # multi-sentence statics of two receivers interleaved: the decoder reassembles one
    # copy, which depends on the order; the message is the same
    for rows in stored:
        for row in rows["statics"]:
            del row["station"]
    assert stored[0]["statics"] == stored[1]["statics"]


def test_labels_from_rules_and_from_the_run(store_url: str, tmp_path: Path) -> None:
    rules = "feed=chennai -> IND:SECRET//REL TO IND; bbox=80,15,100,30 -> CONFIDENTIAL//REL TO QUAD"
    node = load_settings(env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_LABEL_RULES": rules})
    path = head(tmp_path, 4000)
    with open_store(store_url, node) as store:
        ingest(store, [path], node)
        labels = store.labels()
        rows = contents(store)["positions"]
        by_station = {(r["station"], str(labels[r["label_id"]])) for r in rows}
        assert ("chennai", "SECRET//NOFORN") in by_station
        assert all(lb == "SECRET//NOFORN" for st, lb in by_station if st == "chennai")
        north = [
            r
            for r in rows
            if r["station"] != "chennai" and 15 <= r["lat"] <= 30 and 80 <= r["lon"] <= 100
        ]
        assert north
        assert all(str(labels[r["label_id"]]) == "CONFIDENTIAL//REL TO IND, QUAD" for r in north)
        usa = Query(store, Reader.parse("USA:TS", store.policy)).positions()
        assert usa.num_rows == sum(
            may_read(Reader.parse("USA:TS", store.policy), labels[r["label_id"]], store.policy)
            for r in rows
        )
        assert "chennai" not in set(usa.column("station").to_pylist())


def test_detect_stores_segments_and_events_with_combined_labels(
    store_url: str, node: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    args = [
        "ingest",
        str(sample()),
        "--detect",
        "--db",
        store_url,
        "--label",
        "CONFIDENTIAL//REL TO IND, USA",
        "--originator",
        "IND",
        "--param",
        "gap.min_gap_s=600",  # the sample's hour holds no 6 h gap: 10-minute ones, events
    ]
    env = {"SEAWATCH_NODE_NATION": "IND"}
    res = runner.invoke(cli, args, env=env)
    assert res.exit_code == 0, res.output
    with open_store(store_url, node) as store:
        first = contents(store)
        n_seg, n_ev = len(first["segments"]), len(first["events"])
        assert f"; {n_seg} new segments, {n_ev} new events" in res.output
        assert first["segments"]
        assert first["events"]
        assert all(r["segment_id"] is not None for r in first["positions"])
        labels = store.labels()
        for name in ("events", "segments"):
            for row in first[name]:
                label = labels[row["label_id"]]
                assert not label.derived  # IND's own records combined on an IND node
                assert str(label) == "CONFIDENTIAL//REL TO IND, USA"
    res = runner.invoke(cli, args, env=env)  # again: nothing new, same contents
    assert res.exit_code == 0, res.output
    n_read = re.search(r"read (\d+) positions", res.output)
    assert n_read
    assert f"stored 0 new positions (of {n_read[1]} read), 0 new statics; " in res.output
    assert res.stdout.splitlines()[0].endswith("; segments and events unchanged")
    with open_store(store_url, node) as store:
        assert contents(store) == first
        usa = Query(store, Reader.parse("USA:C", store.policy))
        assert usa.events().num_rows == len(first["events"])
        assert Query(store, Reader.parse("GBR:TS", store.policy)).events().num_rows == 0


def test_foreign_label_makes_derived_records_derived(
    store_url: str, node: Settings, tmp_path: Path
) -> None:
    res = CliRunner().invoke(
        cli,
        [
            "ingest",
            str(head(tmp_path, 8000)),
            "--detect",
            "--db",
            store_url,
            "--label",
            "SECRET//REL TO USA, IND",
            "--originator",
            "USA",
        ],
        env={"SEAWATCH_NODE_NATION": "IND"},
    )
    assert res.exit_code == 0, res.output
    with open_store(store_url, node) as store:
        labels = store.labels()
        segs = contents(store)["segments"]
        assert segs
        for row in segs:
            label = labels[row["label_id"]]
            assert label.derived
            assert label.originator == "IND"
            assert str(label) == "SECRET//REL TO IND, USA"
        assert Query(store, Reader.parse("IND:C", store.policy)).latest().num_rows == 0
        assert Query(store, Reader.parse("USA:S", store.policy)).latest().num_rows > 0
        # issue 12: the originator's own readers need the clearance too
        assert Query(store, Reader.parse("USA:C", store.policy)).latest().num_rows == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "area", "--reader", "USA"], "expected NATION:CLEARANCE"),
        (["query", "area", "--reader", "USA:SUPERSECRET"], "unknown clearance 'SUPERSECRET'"),
        (["query", "area", "--reader", "ABC:S"], "not an ISO 3166-1 alpha-3"),
        (["query", "area", "--reader", "USA:S", "--bbox", "1,2,3"], "--bbox '1,2,3'"),
        (["query", "area", "--reader", "USA:S", "--start", "yesterday"], "--start 'yesterday'"),
        (["query", "area", "--reader", "USA:S", "--format", "parquet"], "give --out"),
        (["ingest", "SAMPLE", "--label", "CONFIDENTIAL//REL TO ABC"], "ABC"),
        (["ingest", "SAMPLE", "--label", "SECRETISH"], "SECRETISH"),
        (["ingest", "SAMPLE", "--originator", "IND"], "--originator goes with --label"),
        (["ingest", "missing.nmea"], "no such file"),
    ],
)
def test_bad_arguments_give_precise_errors(
    args: list[str], message: str, store_url: str, tmp_path: Path
) -> None:
    args = [str(sample()) if a == "SAMPLE" else a for a in args] + ["--db", store_url]
    res = CliRunner().invoke(cli, args, env={})
    assert res.exit_code != 0
    assert message in res.output


def test_bad_db_urls(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["db", "stats", "--db", "mysql://me:hunter2@host/db"], env={})
    assert res.exit_code == 1
    assert "unknown scheme 'mysql'" in res.output
    assert "hunter2" not in res.output
    (tmp_path / "dir.duckdb").mkdir()
    res = runner.invoke(cli, ["db", "stats", "--db", str(tmp_path / "dir.duckdb")], env={})
    assert res.exit_code == 1
    assert "cannot open DuckDB database" in res.output
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database" * 100)
    res = runner.invoke(cli, ["db", "migrate", "--db", str(junk)], env={})
    assert res.exit_code == 1
    assert "cannot open DuckDB database" in res.output


def test_query_formats_and_stats(store_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"SEAWATCH_NODE_NATION": "IND"}
    res = runner.invoke(cli, ["ingest", str(head(tmp_path, 2000)), "--db", store_url], env=env)
    assert res.exit_code == 0, res.output
    base = ["query", "latest", "--bbox", "80,5,95,22", "--reader", "USA:U", "--db", store_url]
    jl = runner.invoke(cli, [*base], env=env)
    csv = runner.invoke(cli, [*base, "--format", "csv"], env=env)
    out = tmp_path / "latest.parquet"
    pq_res = runner.invoke(cli, [*base, "--format", "parquet", "--out", str(out)], env=env)
    assert jl.exit_code == csv.exit_code == pq_res.exit_code == 0, jl.output + csv.output
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    n = table.num_rows
    assert n > 10
    assert len(jl.stdout.splitlines()) == n + 1  # the marking line, then the records
    assert len(csv.stdout.splitlines()) == n + 1
    assert set(table.column("label").to_pylist()) == {"UNCLASSIFIED"}
    assert isinstance(table, pa.Table)
    stats = runner.invoke(cli, ["db", "stats", "--db", store_url], env=env)
    assert stats.exit_code == 0, stats.output
    assert "bytes per position" in stats.output
    assert "UNCLASSIFIED" in stats.output


def test_zone_layers_tag_positions_and_are_stored(
    store_url: str, node: Settings, tmp_path: Path
) -> None:
    """--zones: the layer's polygons land in the zones table (under the run's label), and
    the zone events' details name a stored zone."""
    import json

    layer = tmp_path / "box.geojson"
    box = [[80.0, 5.0], [90.0, 5.0], [90.0, 22.0], [80.0, 22.0], [80.0, 5.0]]
    layer.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "West Bay"},
                        "geometry": {"type": "Polygon", "coordinates": [box]},
                    }
                ],
            }
        )
    )
    env = {"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    res = runner.invoke(cli, ["zones", "import", str(layer), "--name", "bay"], env=env)
    assert res.exit_code == 0, res.output
    args = ["ingest", str(head(tmp_path, 20_000)), "--detect", "--zones", "bay"]
    marking = "RESTRICTED//REL TO IND, JPN"
    res = runner.invoke(cli, [*args, "--db", store_url, "--label", marking], env=env)
    assert res.exit_code == 0, res.output
    assert ", 1 zones" in res.output
    with open_store(store_url, node) as store:
        q = Query(store, Reader.parse("IND:R", store.policy))
        zones = q.zones().to_pylist()
        assert [(z["zone_id"], z["name"], z["kind"]) for z in zones] == [
            ("bay:0", "West Bay", "bay")
        ]
        assert zones[0]["geometry_wkt"].startswith("POLYGON ((80 5, 90 5")
        assert str(store.labels()[zones[0]["label_id"]]) == marking
        entries = q.events(types=["zone_entry"]).to_pylist()
        assert entries
        for ev in entries:
            d = json.loads(ev["details"])
            assert f"{d['layer']}:{d['zone']}" == "bay:0"
        # a reader the run's label does not release to sees no zone
        assert Query(store, Reader.parse("USA:TS", store.policy)).zones().num_rows == 0
    res = runner.invoke(cli, [*args, "--zones", "nope", "--db", store_url], env=env)
    assert res.exit_code == 1
    assert "no zone layer 'nope'" in res.output


def test_session_over_batches_equals_one_run(
    store_url: str, node: Settings, tmp_path: Path
) -> None:
    """A live feed's batches added one by one to an Ingest session store what one ingest
    of the same files stores: tracks and events span the batches."""
    from seawatch.engine.ingest import Ingest
    from seawatch.events.gap import GapParams

    lines = sample().read_text().splitlines()[:30_000]
    batches = []
    for k in range(3):
        path = tmp_path / f"batch-{k}.nmea"
        path.write_text("\n".join(lines[k * 10_000 : (k + 1) * 10_000]) + "\n")
        batches.append(path)
    whole = str(tmp_path / "whole.duckdb")
    params = {"gap": GapParams(min_gap_s=600)}  # the sample's hour holds no 6 h gap
    with open_store(whole, node) as store:
        ingest(store, batches, node, detect=True, params=params)
        expected = contents(store)
    with open_store(store_url, node) as store:
        session = Ingest(store, node, detect=True, params=params)
        for path in batches:
            session.add([path])
            assert session.report.stored["positions"] > 0  # stored as the batches arrive
        report = session.finish()
        assert report.inputs == 3
        assert contents(store) == expected
        assert expected["events"]
        assert expected["segments"]
        assert all(r["segment_id"] is not None for r in expected["positions"])
