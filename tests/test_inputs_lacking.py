"""Inputs that lack what the commands need (issue 12): no receive times, not AIS at all
(binary, empty, prose), compressed files cut short. Each gives one line naming the input
and the reason, keeps what it can, and the other inputs of the run are still processed."""

from __future__ import annotations

import bz2
import gzip
import re
import shutil
from pathlib import Path

import duckdb
import pytest
import zstandard
from click.testing import CliRunner, Result

from seawatch.cli.main import cli

UNTIMED = "ais/aishub_gpsd_contrib/ais-nmea-sample.log"
TIMED = "ais/pyais/timestamped.ais"


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _head(src: Path, dst: Path, lines: int) -> Path:
    with src.open("rb") as f:
        dst.write_bytes(b"".join(f.readline() for _ in range(lines)))
    return dst


@pytest.fixture
def untimed(shared_data: Path, tmp_path: Path) -> Path:
    """The first 3,000 lines of AISHub's sample: !AIVDM sentences and no times at all."""
    return _head(shared_data / UNTIMED, tmp_path / "aishub.nmea", 3000)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"SEAWATCH_DATA_DIR": str(tmp_path / "data"), "SEAWATCH_NODE_NATION": "IND"}


def _count(db: Path, table: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]


# --- 1. no receive times -------------------------------------------------------------
def test_ingest_says_how_many_messages_lack_a_time(untimed: Path, tmp_path: Path, env) -> None:
    r = _run("ingest", str(untimed), "--db", str(tmp_path / "s.duckdb"), env=env)
    assert r.exit_code == 0, r.output
    said = r"[\d,]+ messages have no receive time \(no tag block c:, no timestamp"
    assert re.search(said, r.output)
    assert "--untimed START[,END]" in r.output


def test_ingest_untimed_stamps_and_records_assumed_times(
    untimed: Path, tmp_path: Path, env
) -> None:
    db = tmp_path / "s.duckdb"
    r = _run(
        "ingest", str(untimed), "--db", str(db),
        "--untimed", "2024-03-01T10:00:00Z,2024-03-01T10:03:00Z", env=env,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert _count(db, "positions") > 1000
    with duckdb.connect(str(db), read_only=True) as con:
        lo, hi, stations = con.execute(
            "SELECT min(ts), max(ts), list(DISTINCT station) FROM positions"
        ).fetchone()  # type: ignore[misc]
        logged = con.execute("SELECT list(input) FROM ingest_log").fetchone()[0]  # type: ignore[index]
    assert str(lo).startswith("2024-03-01 10:00")
    assert str(hi) <= "2024-03-01 10:03:00+00:00"
    assert stations == ["ts-assumed"]
    assert any("receive times assumed" in s for s in logged)


def test_detect_and_decode_say_untimed(untimed: Path, tmp_path: Path, env) -> None:
    r = _run("detect", str(untimed), "--out", str(tmp_path / "det"), env=env)
    assert r.exit_code == 0
    assert "messages have no receive time" in r.output
    r = _run("detect", str(untimed), "--out", str(tmp_path / "det"),
             "--untimed", "2024-03-01T10:00:00Z", env=env)  # fmt: skip
    assert r.exit_code == 0
    assert "messages have no receive time" not in r.output
    assert re.search(r"positions +[1-9]", r.output)
    r = _run("decode", str(untimed), "--out", str(tmp_path / "dec"), env=env)
    assert r.exit_code == 0
    assert "messages have no receive time" in r.output


def test_run_untimed_is_not_an_empty_picture(untimed: Path, tmp_path: Path, env) -> None:
    r = _run("run", str(untimed), "--out", str(tmp_path / "run"), env=env)
    assert r.exit_code == 1, r.output
    assert "messages have no receive time" in r.output
    assert "nothing to show" in r.output
    r = _run("run", str(untimed), "--out", str(tmp_path / "run"),
             "--untimed", "2024-03-01T10:00:00Z,2024-03-01T10:03:00Z", env=env)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "nothing to show" not in r.output


# --- 2. binary input -----------------------------------------------------------------
@pytest.mark.parametrize("command", ["decode", "detect", "ingest", "run"])
def test_binary_input_is_one_line_and_the_others_go_on(
    command: str, shared_data: Path, tmp_path: Path, env
) -> None:
    binary = tmp_path / "ls"
    shutil.copy("/bin/ls", binary)
    good = shared_data / TIMED
    db = ["--db", str(tmp_path / "s.duckdb")]
    out = db if command == "ingest" else ["--out", str(tmp_path / "o")]
    r = _run(command, str(binary), str(good), *out, env=env)
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    lines = [line for line in r.output.splitlines() if str(binary) in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {binary}: not AIS (binary data"), lines
    if command == "ingest":
        assert _count(tmp_path / "s.duckdb", "positions") > 0
    if command == "decode":
        assert (tmp_path / "o" / "positions.parquet").exists()


# --- 3. compressed files cut short ---------------------------------------------------
@pytest.mark.parametrize(
    ("suffix", "compress"),
    [
        (".gz", gzip.compress),
        (".bz2", bz2.compress),
        (".zst", lambda b: zstandard.ZstdCompressor().compress(b)),
    ],
)
def test_truncated_compressed_keeps_what_came_before(
    suffix: str, compress, shared_data: Path, tmp_path: Path, env
) -> None:
    data = (shared_data / UNTIMED).read_bytes()
    packed = compress(data)
    cut = tmp_path / f"feed.nmea{suffix}"
    cut.write_bytes(packed[: len(packed) // 2])
    db = tmp_path / "s.duckdb"
    r = _run("ingest", str(cut), "--db", str(db), "--untimed", "2024-03-01T10:00:00Z", env=env)
    assert r.exit_code == 1, r.output
    m = re.search(
        rf"error: {re.escape(str(cut))}: compressed data ends early after [\d.]+ [KM]iB "
        r"\(line ([\d,]+)\): kept the ([\d,]+) lines before it",
        r.output,
    )
    assert m, r.output
    kept = int(m.group(2).replace(",", ""))
    # about all the lines before the cut (half the file), not just the first MiB of them
    assert kept > 0.4 * data.count(b"\n")
    assert int(m.group(1).replace(",", "")) == kept + 1
    assert _count(db, "positions") > 500


# --- 4. empty, or no AIS -------------------------------------------------------------
def test_empty_and_prose_say_no_ais(shared_data: Path, tmp_path: Path, env) -> None:
    empty = tmp_path / "empty.nmea"
    empty.write_bytes(b"")
    notes = tmp_path / "notes.txt"
    notes.write_text("".join(f"line {k} of some notes\n" for k in range(120)))
    for command, out in (("decode", "--out"), ("detect", "--out"), ("ingest", "--db")):
        target = str(tmp_path / ("s.duckdb" if command == "ingest" else command))
        r = _run(command, str(empty), str(notes), str(shared_data / TIMED), out, target, env=env)
        assert r.exit_code == 0, r.output
        assert f"{empty}: no AIS messages (0 lines)" in r.output
        assert (
            f"{notes}: no AIS messages in 120 lines (not NMEA !AIVDM, not a known table)"
            in r.output
        )


def test_run_with_nothing_to_show(tmp_path: Path, env) -> None:
    empty = tmp_path / "empty.nmea"
    empty.write_bytes(b"")
    r = _run("run", str(empty), "--out", str(tmp_path / "run"), env=env)
    assert r.exit_code == 1, r.output
    assert f"{empty}: no AIS messages (0 lines)" in r.output
    assert "nothing to show" in r.output
    assert "Situation" not in r.output
    assert "Exports for" not in r.output
