"""`seawatch demo` and its synthetic feed: deterministic, decodable, with its bad lines."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

from seawatch.cli.main import cli


def test_same_seed_same_feed() -> None:
    from seawatch.sim.synth import generate

    a = list(generate(vessels=5, minutes=3, seed=1))
    assert a == list(generate(vessels=5, minutes=3, seed=1))
    assert a != list(generate(vessels=5, minutes=3, seed=2))


def test_feed_decodes_with_expected_rejects() -> None:
    from seawatch.decode import decode
    from seawatch.sim.synth import generate

    lines = list(generate(vessels=30, minutes=10, seed=3, bad_every=50))
    tables, stats = decode(lines)
    assert stats.lines == len(lines)
    assert {1, 4, 5}.issubset(stats.by_type)
    assert stats.other_sentences > 0  # the $GPZDA lines
    assert stats.rejects.get("bad_checksum", 0) > 0
    assert sum(stats.rejects.values()) >= len(lines) // 50 // 2
    pos = tables["positions"]
    lat, lon = pos.column("lat").to_pylist(), pos.column("lon").to_pylist()
    assert all(-1 <= y <= 23 for y in lat if y is not None)
    assert all(75 <= x <= 100 for x in lon if x is not None)
    assert pos.column("ts").null_count == 0  # every line carries a receive time
    mids = {m // 1_000_000 for m in tables["statics"].column("mmsi").to_pylist()}
    assert mids  # flags of the region, e.g. 419 India
    assert all(201 <= mid <= 775 for mid in mids)


def test_demo_command(tmp_path: Path) -> None:
    sample = tmp_path / "s" / "feed.nmea"
    out = tmp_path / "out"
    args = ["demo", "--vessels", "15", "--minutes", "5", "--sample", str(sample), "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert sample.is_file()
    assert not list(sample.parent.glob(".*"))  # no temporary left behind
    assert pq.read_table(out / "positions.parquet").num_rows > 0
    assert "messages by type" in res.stdout
    assert f"wrote {sample}" in res.stderr
