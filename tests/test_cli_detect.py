"""`seawatch detect`: AIS files in, positions with segment_id, segments and events out."""

from __future__ import annotations

import importlib
import json
import re
import shlex
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from seawatch.cli.main import cli
from seawatch.engine.pipeline import DETECTORS
from seawatch.errors import ConfigError

OUTPUTS = ("positions", "segments", "identity", "events", "late_positions", "late_statics")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic feed (the `seawatch demo` generator)."""
    from seawatch.sim.synth import write_sample

    path = tmp_path_factory.mktemp("feed") / "bay-of-bengal.nmea"
    write_sample(path, vessels=25, minutes=20, seed=5)
    return path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def counts(stdout: str) -> dict[str, int]:
    """Event type -> count from the summary's "events by type" block."""
    block = stdout.split("events by type\n", 1)[1]
    return {
        m[1]: int(m[2].replace(",", "")) for m in re.finditer(r"^  (\w+)\s+([\d,]+)$", block, re.M)
    }


def check_schemas(out: Path) -> dict[str, pa.Table]:
    from seawatch.decode.schemas import SCHEMAS
    from seawatch.events import EVENTS_SCHEMA
    from seawatch.tracks.schemas import IDENTITY, SEGMENT_ID, SEGMENTS

    tables = {name: pq.read_table(out / f"{name}.parquet") for name in OUTPUTS}
    assert not list(out.glob(".*"))  # no temporary left behind
    assert tables["events"].schema.equals(EVENTS_SCHEMA)
    assert tables["segments"].schema.equals(SEGMENTS)
    assert tables["identity"].schema.equals(IDENTITY)
    for name in ("positions", "statics"):
        late = tables[f"late_{name}"].schema
        assert list(late) == [*SCHEMAS[name], pa.field("reason", pa.string())]
    positions = tables["positions"].schema
    declared = [*SCHEMAS["positions"], SEGMENT_ID]
    assert list(positions)[: len(declared)] == declared  # geography columns may follow
    return tables


def test_sample_writes_documented_tables(sample: Path, tmp_path: Path) -> None:
    res = run("detect", str(sample), "--out", str(tmp_path / "det"))
    assert res.exit_code == 0, res.output
    tables = check_schemas(tmp_path / "det")
    positions, segments = tables["positions"], tables["segments"]
    assert positions.num_rows > 0
    assert positions["segment_id"].null_count < positions.num_rows
    assert segments.num_rows == len(set(positions["segment_id"].drop_null().to_pylist()))
    assert set(counts(res.stdout)) == {name for name, _ in DETECTORS} | {"total"}
    assert f"segments    {segments.num_rows:>10,}" in res.stdout
    assert "detected" in res.stderr


def test_decoded_parquet_input_gives_the_same_result(sample: Path, tmp_path: Path) -> None:
    assert run("decode", str(sample), "--out", str(tmp_path / "dec")).exit_code == 0
    direct = run("detect", str(sample), "--out", str(tmp_path / "a"), "--no-summary")
    inputs = [str(tmp_path / "dec" / f"{t}.parquet") for t in ("positions", "statics")]
    decoded = run("detect", *inputs, "--out", str(tmp_path / "b"), "--no-summary")
    assert (direct.exit_code, decoded.exit_code) == (0, 0), decoded.output
    assert "events by type" not in decoded.stdout
    a, b = check_schemas(tmp_path / "a"), check_schemas(tmp_path / "b")
    for name in ("segments", "events"):
        assert a[name].equals(b[name])


def test_zone_layer_column(sample: Path, tmp_path: Path) -> None:
    from seawatch.geo.zones import import_zones

    square = [[70, -5], [105, -5], [105, 25], [70, 25], [70, -5]]
    feature = {
        "type": "Feature",
        "properties": {"name": "bay"},
        "geometry": {"type": "Polygon", "coordinates": [square]},
    }
    src = tmp_path / "bay.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    import_zones(src, "bay", tmp_path / "data")
    env = {"SEAWATCH_DATA_DIR": str(tmp_path / "data")}
    res = run("detect", str(sample), "--out", str(tmp_path / "det"), "--zones", "bay", env=env)
    assert res.exit_code == 0, res.output
    zone = pq.read_table(tmp_path / "det" / "positions.parquet")["zone_bay"]
    assert zone.null_count == 0
    assert set(zone.to_pylist()) == {0}
    res = run("detect", str(sample), "--out", str(tmp_path / "x"), "--zones", "bay,nope", env=env)
    assert res.exit_code == 1
    assert "no zone layer 'nope'" in res.output
    assert not (tmp_path / "x").exists()  # failed before decoding anything


def test_missing_geography_is_a_warning(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_geography(*args: object, **kwargs: object) -> None:
        raise ConfigError("the default ports need the 'searoute' package: pip install searoute")

    monkeypatch.setattr(importlib.import_module("seawatch.geo"), "enrich", no_geography)
    res = run("detect", str(sample), "--out", str(tmp_path / "det"))
    assert res.exit_code == 0, res.output
    assert "geography skipped" in res.stderr
    assert "searoute" in res.stderr
    names = pq.read_table(tmp_path / "det" / "positions.parquet").column_names
    assert "segment_id" in names
    assert "distance_to_shore_km" not in names
    check_schemas(tmp_path / "det")


def test_exit_codes(tmp_path: Path) -> None:
    res = run("detect", str(tmp_path / "missing.nmea"), "--out", str(tmp_path / "o"))
    assert res.exit_code == 1
    assert "error: cannot read" in res.stderr
    assert run("detect", str(tmp_path)).exit_code == 2  # no --out
    assert run("detect", "-", "--out", str(tmp_path / "o")).exit_code == 2
    assert run("detect", "--out", str(tmp_path / "o")).exit_code == 2  # no input
    help_text = run("detect", "--help").output
    assert "seawatch detect data/sample/bay-of-bengal.nmea --out" in help_text
    assert "reorder_window_s" in help_text
    assert "--chunk-rows" in help_text


def test_guernsey_passage(shared_data: Path, tmp_path: Path) -> None:
    """18 h of raw NMEA recorded aboard a yacht crossing to Guernsey (OpenCPN test data)."""
    path = shared_data / "ais" / "opencpn_testdata" / "Go_to_Guernesey.txt"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    res = run("detect", str(path), "--out", str(tmp_path / "det"))
    assert res.exit_code == 0, res.output
    tables = check_schemas(tmp_path / "det")
    assert 15_000 < tables["positions"].num_rows < 18_000  # 16,711 after cleaning
    assert 50 <= tables["segments"].num_rows <= 300  # 123: ships passing in and out of range
    found = counts(res.stdout)
    assert found["gap"] == 62  # as tests/events/test_events_nmea.py: ships left the yacht's range
    assert found["loitering"] == 0  # a passage, no slow hours of a vessel
    assert found["total"] == tables["events"].num_rows


def test_input_without_positions_is_a_warning(tmp_path: Path) -> None:
    feed = tmp_path / "garbage.nmea"
    feed.write_text("not AIS at all\n")
    res = run("detect", str(feed), "--out", str(tmp_path / "det"))
    assert res.exit_code == 0, res.output
    assert "no positions decoded" in res.stderr
    assert counts(res.stdout)["total"] == 0
    tables = check_schemas(tmp_path / "det")
    assert tables["positions"].num_rows == 0


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's `seawatch detect` example, on the demo sample generated small."""
    from seawatch.sim.synth import write_sample

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Tracks and events\n", 1)[1].split("\n## ", 1)[0]
    examples = [
        shlex.split(line.strip())
        for line in section.splitlines()
        if line.strip().startswith("seawatch detect ")
    ]
    assert examples, "README 'Tracks and events' shows no `seawatch detect` example"
    monkeypatch.chdir(tmp_path)
    for argv in examples:
        for arg in argv[2:]:
            if arg.endswith(".nmea"):
                write_sample(Path(arg), vessels=10, minutes=5)
        res = run(*argv[1:])
        assert res.exit_code == 0, res.output
        assert "events by type" in res.stdout
        assert (Path(argv[argv.index("--out") + 1]) / "events.parquet").is_file()


def test_chunked_runs_write_the_same_tables(sample: Path, tmp_path: Path) -> None:
    """Decoded in 8 KiB chunks or fed 300 rows at a time: the tables of one pass."""
    one = run("detect", str(sample), "--out", str(tmp_path / "one"), "--no-summary")
    env = {"SEAWATCH_DECODE_CHUNK_BYTES": "8KiB"}
    small = run("detect", str(sample), "--out", str(tmp_path / "small"), env=env)
    rows = run("detect", str(sample), "--out", str(tmp_path / "rows"), "--chunk-rows", "300")
    assert (one.exit_code, small.exit_code, rows.exit_code) == (0, 0, 0), small.output
    assert "late                 0" in small.stdout
    want = check_schemas(tmp_path / "one")
    order = [(k, "ascending") for k in ("mmsi", "ts", "lat", "lon", "segment_id")]
    for out in ("small", "rows"):
        got = check_schemas(tmp_path / out)
        for name in ("segments", "identity", "events"):
            assert got[name].equals(want[name]), (out, name)
        assert got["positions"].sort_by(order).equals(want["positions"].sort_by(order))


def test_late_rows_are_counted_and_quarantined(sample: Path, tmp_path: Path) -> None:
    """Sentences moved from the start of the feed to its end arrive ~20 min late."""
    lines = sample.read_text(encoding="ascii").splitlines(keepends=True)
    moved = [i for i, line in enumerate(lines[:400]) if "!AIVDM,1,1," in line][:30]
    kept = [line for i, line in enumerate(lines) if i not in set(moved)]
    feed = tmp_path / "late.nmea"
    feed.write_text("".join(kept + [lines[i] for i in moved]), encoding="ascii")
    env = {"SEAWATCH_DECODE_CHUNK_BYTES": "16KiB"}
    res = run("detect", str(feed), "--out", str(tmp_path / "det"), env=env)
    assert res.exit_code == 0, res.output
    late = pq.read_table(tmp_path / "det" / "late_positions.parquet")
    assert 0 < late.num_rows <= 30
    assert set(late["reason"].to_pylist()) == {"late"}
    assert f"late        {late.num_rows:>10,}" in res.stdout
    assert "quarantined" in res.stderr
    assert "SEAWATCH_REORDER_WINDOW_S" in res.stderr
    positions = check_schemas(tmp_path / "det")["positions"]
    direct = run("detect", str(sample), "--out", str(tmp_path / "ref"), "--no-summary")
    assert direct.exit_code == 0
    whole = pq.read_table(tmp_path / "ref" / "positions.parquet")
    assert positions.num_rows <= whole.num_rows - late.num_rows + 30  # a few were duplicates
    wide = {**env, "SEAWATCH_REORDER_WINDOW_S": "3600"}
    res = run("detect", str(feed), "--out", str(tmp_path / "wide"), env=wide)
    assert res.exit_code == 0
    assert pq.read_table(tmp_path / "wide" / "late_positions.parquet").num_rows == 0


def test_a_failure_midway_leaves_no_partial_file(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seawatch.engine.pipeline import Pipeline

    out = tmp_path / "det"
    assert run("detect", str(sample), "--out", str(out), "--no-summary").exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # the engine: release, then the detectors' steps, each chunk
    detect, calls = Pipeline.detect_steps, []

    def failing(self: Pipeline, *args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return detect(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Pipeline, "detect_steps", failing)
    res = run("detect", str(sample), "--out", str(out), "--chunk-rows", "200")
    assert res.exit_code != 0
    assert isinstance(res.exception, RuntimeError)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # old results, no temps
    calls.clear()
    res = run("detect", str(sample), "--out", str(tmp_path / "new"), "--chunk-rows", "200")
    assert res.exit_code != 0
    assert list((tmp_path / "new").iterdir()) == []


_MEMORY_CHILD = r"""
import re, resource, sys
from pathlib import Path
import pyarrow.parquet as pq
from seawatch.sim.synth import write_sample
from seawatch.engine.detect import detect_files as run_detect
from seawatch.decode.encode import checksum
from seawatch.settings import load_settings

work, copies = Path(sys.argv[1]), int(sys.argv[2])
base = work / "base.nmea"
write_sample(base, vessels=100, minutes=30, seed=2)
lines = base.read_text(encoding="ascii").splitlines()
tag = re.compile(r"^\\([^*]*)\*[0-9A-F]{2}\\")

def write(n):
    # n copies of the 30-minute feed, each 30 minutes later than the one before
    path = work / f"feed{n}.nmea"
    with path.open("w", encoding="ascii") as fh:
        for k in range(n):
            for line in lines:
                m = tag.match(line)
                if m is None:  # the demo's broken lines
                    fh.write(line + "\n")
                    continue
                t = re.sub(r"c:(\d+)", lambda c: f"c:{int(c[1]) + k * 1800}", m[1])
                fh.write(f"\\{t}*{checksum(t)}\\{line[m.end():]}\n")
    return path

settings = load_settings(env={"SEAWATCH_DECODE_CHUNK_BYTES": "256KiB"})
run_detect([write(2)], settings=settings, out_dir=work / "warm")  # imports, JIT, land data
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
big = write(copies)
result = run_detect([big], settings=settings, out_dir=work / "big").report
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
held = pq.read_table(work / "big" / "positions.parquet").nbytes
print(big.stat().st_size, result.chunks, result.positions, held, before * 1024, after * 1024)
"""


def test_memory_stays_bounded_by_the_chunk(tmp_path: Path) -> None:
    """A feed 50 times the decoder's chunk: peak RSS grows by a fraction of the input's weight.

    Measured on this feed (24 copies of 100 vessels x 30 min, 136 k positions, 21 MiB in
    Arrow): reading the whole input first, as detect did, grew the peak by 173 MiB (8x);
    streaming by 46 MiB, of which 31 MiB is the detectors' state and 15 MiB the rest.
    """
    import subprocess
    import sys

    child = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(tmp_path), "24"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    size, chunks, positions, held, before, after = map(int, child.stdout.split())
    assert chunks >= 40  # one per 256 KiB of input
    assert size > 40 * 256 * 1024
    assert positions > 100_000
    print(f"peak RSS {before >> 20} -> {after >> 20} MiB; positions {held >> 20} MiB in Arrow")
    assert after - before < 4 * held


def test_inputs_in_any_order_give_the_tables_of_one_file(sample: Path, tmp_path: Path) -> None:
    """Two halves of a feed, given last half first, and a positions + statics Parquet pair."""
    lines = sample.read_text(encoding="ascii").splitlines(keepends=True)
    half = len(lines) // 2
    first, second = tmp_path / "first.nmea", tmp_path / "second.nmea"
    first.write_text("".join(lines[:half]), encoding="ascii")
    second.write_text("".join(lines[half:]), encoding="ascii")
    env = {"SEAWATCH_DECODE_CHUNK_BYTES": "16KiB"}
    one = run("detect", str(sample), "--out", str(tmp_path / "one"), env=env)
    two = run("detect", str(second), str(first), "--out", str(tmp_path / "two"), env=env)
    assert (one.exit_code, two.exit_code) == (0, 0), two.output
    a, b = check_schemas(tmp_path / "one"), check_schemas(tmp_path / "two")
    assert b["late_positions"].num_rows == 0
    for name in ("segments", "identity", "events"):
        assert a[name].equals(b[name]), name
