"""The `seawatch` command line, against a stand-in decoder (its contract) and the real one."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from seawatch import __version__
from seawatch.cli.main import cli
from seawatch.errors import InputError
from seawatch.log import configure_logging

UTC = dt.UTC
SCHEMAS = {
    "positions": pa.schema(
        [
            ("ts", pa.timestamp("us", tz="UTC")),
            ("mmsi", pa.int64()),
            ("line_no", pa.int64()),
            ("raw", pa.string()),
        ]
    ),
    "statics": pa.schema([("mmsi", pa.int64()), ("line_no", pa.int64()), ("spare", pa.binary())]),
}


@dataclass(frozen=True)
class FakeStats:
    lines: int = 0
    sentences: int = 0
    messages: int = 0
    other_sentences: int = 0
    by_type: dict[int, int] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)
    untimed: int = 0
    assumed: int = 0

    def merge(self, o: FakeStats) -> FakeStats:
        def add(a: dict[Any, int], b: dict[Any, int]) -> dict[Any, int]:
            return {k: a.get(k, 0) + b.get(k, 0) for k in {*a, *b}}

        return FakeStats(
            self.lines + o.lines,
            self.sentences + o.sentences,
            self.messages + o.messages,
            self.other_sentences + o.other_sentences,
            add(self.by_type, o.by_type),
            add(self.rejects, o.rejects),
        )


@dataclass
class FakeBatch:
    tables: dict[str, pa.Table]
    stats: FakeStats


@dataclass
class FakeDecoder:
    """Decodes lines "P <mmsi>" / "S <mmsi>"; anything else is rejected. Records its calls."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    fail_after_first_batch: bool = False
    fail_with: type[Exception] = InputError

    def __call__(self, source: Any, **kw: Any) -> Iterator[FakeBatch]:
        self.calls.append({"source": source, **kw})
        if source == "-":
            import sys

            data = sys.stdin.buffer.read()
        else:
            data = Path(source).read_bytes()
        lines = data.decode().splitlines()
        for start in range(0, len(lines), 2):  # two lines a "chunk"
            pos: list[dict[str, Any]] = []
            sta: list[dict[str, Any]] = []
            rejects: dict[str, int] = {}
            for i, line in enumerate(lines[start : start + 2], start=start + 1):
                kind, _, mmsi = line.partition(" ")
                if kind == "P":
                    ts = dt.datetime(2025, 1, 1, 0, 0, i, tzinfo=UTC)
                    raw = line if kw.get("keep_raw") else None
                    pos.append({"ts": ts, "mmsi": int(mmsi), "line_no": i, "raw": raw})
                elif kind == "S":
                    sta.append({"mmsi": int(mmsi), "line_no": i, "spare": b"\x01\xff"})
                else:
                    rejects["bad_line"] = rejects.get("bad_line", 0) + 1
                    if kw.get("quarantine") is not None:
                        kw["quarantine"].write(line.encode() + b"\n")
            if kw.get("progress"):
                kw["progress"](10)
            tables = {
                "statics": pa.Table.from_pylist(sta, schema=SCHEMAS["statics"]),
                "positions": pa.Table.from_pylist(pos, schema=SCHEMAS["positions"]),
            }
            n = len(pos) + len(sta)
            by_type = {k: v for k, v in {1: len(pos), 5: len(sta)}.items() if v}
            yield FakeBatch(tables, FakeStats(2, n, n, 0, by_type, rejects))
            if self.fail_after_first_batch:
                raise self.fail_with("input went away mid-stream (test)")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeDecoder:
    dec = FakeDecoder()
    import seawatch.engine.decode as engine_decode

    monkeypatch.setattr(engine_decode, "decode_stream", dec)
    monkeypatch.setattr(engine_decode, "DecodeStats", FakeStats)
    monkeypatch.setattr(engine_decode, "SCHEMAS", SCHEMAS)
    return dec


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    path = tmp_path / "feed.txt"
    path.write_text("P 419000001\nS 419000001\ngarbage\nP 419000002\nP 419000003\n")
    return path


def run(*args: str, env: dict[str, str] | None = None, input: bytes | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def test_version_and_help() -> None:
    res = run("--version")
    assert res.exit_code == 0
    assert __version__ in res.output
    for cmd in ([], ["decode"], ["settings"], ["demo"]):
        res = run(*cmd, "--help")
        assert res.exit_code == 0, res.output
        assert "Example" in res.output, f"`seawatch {' '.join(cmd)} --help` shows no example"


def test_settings_command_masks_secrets_and_shows_sources() -> None:
    env = {"SEAWATCH_DB": "postgresql://u:hunter2@h/db", "SEAWATCH_NODE_ID": "ifc"}
    res = run("--log-level", "warning", "settings", env=env)
    assert res.exit_code == 0, res.output
    assert "hunter2" not in res.output
    assert 'db = "********"' in res.output
    assert 'node_id = "ifc"' in res.output
    assert "env SEAWATCH_NODE_ID" in res.output
    assert 'log_level = "WARNING"' in res.output
    assert "# option" in res.output


def test_settings_file_option(tmp_path: Path) -> None:
    toml = tmp_path / "node.toml"
    toml.write_text('node_id = "ifc-ior"\n[decode]\nkeep_raw = true\n')
    res = run("--settings", str(toml), "settings")
    assert res.exit_code == 0, res.output
    assert 'node_id = "ifc-ior"' in res.stdout
    assert f"# file {toml}" in res.stdout
    assert run("--settings", str(tmp_path / "nope.toml"), "settings").exit_code == 2
    res = run("settings", env={"SEAWATCH_SETTINGS_FILE": str(tmp_path / "nope.toml")})
    assert res.exit_code == 1
    assert res.stderr.startswith("error: SEAWATCH_SETTINGS_FILE: cannot read settings file")


def test_settings_markdown_is_the_doc() -> None:
    res = run("settings", "--markdown")
    doc = Path(__file__).resolve().parents[1] / "docs" / "settings.md"
    assert res.output == doc.read_text(encoding="utf-8")


def test_bad_setting_is_error_without_traceback() -> None:
    res = run("settings", env={"SEAWATCH_DECODE_CHUNK_BYTES": "huge"})
    assert res.exit_code == 1
    assert res.stderr.startswith("error: SEAWATCH_DECODE_CHUNK_BYTES: bad value 'huge'")
    assert "Traceback" not in res.output


def test_configure_logging_to_stderr_once(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG")
    configure_logging("warning")  # replaces, does not stack
    ours = [h for h in logging.getLogger("seawatch").handlers if h.get_name() == "seawatch-cli"]
    assert len(ours) == 1
    log = logging.getLogger("seawatch.cli.test")
    log.info("quiet")
    log.warning("loud")
    captured = capsys.readouterr()
    assert "loud" in captured.err
    assert "quiet" not in captured.err
    assert captured.out == ""


def test_missing_input_exits_1_with_advice(fake: FakeDecoder, tmp_path: Path) -> None:
    res = run("decode", str(tmp_path / "nope.nmea"), "--out", str(tmp_path / "out"))
    assert res.exit_code == 1
    assert "error: cannot read" in res.stderr
    assert "nope.nmea" in res.stderr
    assert "(check the path)" in res.stderr
    assert not fake.calls


@pytest.mark.parametrize(
    "args",
    [
        ["decode"],
        ["decode", "x", "--format", "csv"],
        ["decode", "-", "--format", "jsonl", "--out", "d"],
    ],
)
def test_bad_arguments_exit_2(args: list[str], fake: FakeDecoder) -> None:
    assert run(*args).exit_code == 2


def test_decode_to_parquet(fake: FakeDecoder, feed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out).mkdir()
    (out / "statics.parquet").write_bytes(b"stale")  # from an earlier run: replaced
    res = run("decode", str(feed), "--out", str(out), "--no-progress")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["positions.parquet", "statics.parquet"]
    pos = pq.read_table(out / "positions.parquet")
    assert pos.schema.equals(SCHEMAS["positions"])
    assert pos.column("mmsi").to_pylist() == [419000001, 419000002, 419000003]
    assert pos.column("raw").null_count == 3
    assert "decoded 4 messages from 6 lines (1 rejected)" in res.stderr
    assert "(2 tables, 4 rows)" in res.stderr
    assert fake.calls[0]["keep_raw"] is False
    assert fake.calls[0]["settings"].node_id == "local"


def test_stale_table_removed(fake: FakeDecoder, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "statics.parquet").write_bytes(b"old")
    (out / "notes.parquet").write_bytes(b"mine")
    only_positions = tmp_path / "p.txt"
    only_positions.write_text("P 1\n")
    assert run("decode", str(only_positions), "--out", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["notes.parquet", "positions.parquet"]


def test_failure_leaves_nothing_half_written(fake: FakeDecoder, feed: Path, tmp_path: Path) -> None:
    fake.fail_after_first_batch = True
    fake.fail_with = RuntimeError  # a crash, not a damaged input
    out = tmp_path / "out"
    res = run("decode", str(feed), "--out", str(out))
    assert res.exit_code == 1
    assert list(out.iterdir()) == []


def test_damaged_input_keeps_what_came_before(
    fake: FakeDecoder, feed: Path, tmp_path: Path
) -> None:
    """An input that breaks off (InputError mid-stream) keeps the batches before the damage,
    written whole, and says so in one line; exit 1 (issue 12)."""
    fake.fail_after_first_batch = True
    out = tmp_path / "out"
    res = run("decode", str(feed), "--out", str(out))
    assert res.exit_code == 1
    assert "error: input went away mid-stream (test)" in res.stderr
    assert pq.read_table(out / "positions.parquet").num_rows == 1


def test_default_out_dir_from_settings(fake: FakeDecoder, feed: Path, tmp_path: Path) -> None:
    res = run("decode", str(feed), env={"SEAWATCH_DATA_DIR": str(tmp_path / "d")})
    assert res.exit_code == 0, res.output
    assert (tmp_path / "d" / "out" / "positions.parquet").is_file()


def test_jsonl_ordered_by_line_with_iso_times_and_hex(fake: FakeDecoder, feed: Path) -> None:
    res = run("decode", str(feed), "--format", "jsonl", "--raw", "--summary")
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["line_no"] for r in rows] == [1, 2, 4, 5]
    assert [r["table"] for r in rows] == ["positions", "statics", "positions", "positions"]
    assert rows[0] == {
        "table": "positions",
        "ts": "2025-01-01T00:00:01Z",
        "mmsi": 419000001,
        "line_no": 1,
        "raw": "P 419000001",
    }
    assert rows[1]["spare"] == "01ff"
    assert "messages by type" in res.stderr  # summary goes to stderr when stdout has data
    assert fake.calls[0]["keep_raw"] is True


def test_summary_on_stdout_for_parquet(fake: FakeDecoder, feed: Path, tmp_path: Path) -> None:
    res = run("decode", str(feed), "--out", str(tmp_path / "o"), "--summary")
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "messages by type" in out
    assert "Class A position (scheduled)" in out
    assert "rejected by reason" in out
    assert "bad_line" in out
    assert "msg/s" in out


def test_stdin_quarantine_raw_env_and_progress(fake: FakeDecoder, tmp_path: Path) -> None:
    q = tmp_path / "rejected.txt"
    res = run(
        "decode",
        "-",
        "--out",
        str(tmp_path / "o"),
        "--quarantine",
        str(q),
        "--progress",
        "--no-raw",
        env={"SEAWATCH_DECODE_KEEP_RAW": "1"},
        input=b"P 1\nbroken line\n",
    )
    assert res.exit_code == 0, res.output
    assert fake.calls[0]["source"] == "-"
    assert fake.calls[0]["keep_raw"] is False  # --no-raw beats the environment
    assert q.read_bytes() == b"broken line\n"
    assert "stdin" in res.stderr
    assert "10.0B" in res.stderr


def test_env_keep_raw(fake: FakeDecoder, feed: Path, tmp_path: Path) -> None:
    env = {"SEAWATCH_DECODE_KEEP_RAW": "true"}
    assert run("decode", str(feed), "--out", str(tmp_path / "o"), env=env).exit_code == 0
    assert fake.calls[0]["keep_raw"] is True


# --- the real decoder -------------------------------------------------------------------------


def _real() -> Any:
    from seawatch.decode import decode_stream
    from seawatch.decode.schemas import SCHEMAS as REAL

    return decode_stream, REAL


def test_real_decoder_to_parquet(shared_data: Path, tmp_path: Path) -> None:
    _, schemas = _real()
    src = shared_data / "ais" / "libais" / "typeexamples.nmea"
    out = tmp_path / "out"
    res = run(
        "decode", str(src), "--out", str(out), "--summary", "--quarantine", str(tmp_path / "q")
    )
    assert res.exit_code == 0, res.output
    written = {p.stem: pq.read_table(p) for p in out.glob("*.parquet")}
    assert "positions" in written
    assert written["positions"].num_rows > 0
    for name, table in written.items():
        assert table.schema.equals(schemas[name]), name
    assert "messages by type" in res.stdout
    assert not list(out.glob(".*"))


def test_real_decoder_jsonl(shared_data: Path) -> None:
    _real()
    src = shared_data / "ais" / "libais" / "typeexamples.nmea"
    res = run("decode", str(src), "--format", "jsonl")
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert rows
    assert all("table" in r and "mmsi" in r for r in rows)
    line_nos = [r["line_no"] for r in rows]
    assert line_nos == sorted(line_nos)  # one small file: one batch
    assert len(set(line_nos)) == len(rows)  # each message once (no projected copies)
    stamped = [r["ts"] for r in rows if r.get("ts")]
    assert all(t.endswith("Z") for t in stamped)


def test_jsonl_rows_skip_projections() -> None:
    from seawatch.engine.outputs import jsonl_rows

    base = pa.table({"msg_type": [4], "line_no": [2]})
    pos = pa.table({"msg_type": [1, 4], "line_no": [1, 2]})
    rows = jsonl_rows({"positions": pos, "base_stations": base}, {"positions": frozenset({4})})
    assert [(r["table"], r["msg_type"]) for r in rows] == [("positions", 1), ("base_stations", 4)]
