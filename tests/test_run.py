"""`seawatch run`: the main job on a small simulation, on files, on live TCP/UDP feeds.

Real components throughout: the simulator writes real NMEA files, the store is a real
DuckDB file, the live feeds are real loopback sockets, the signal test a real subprocess.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from lxml import etree

from seawatch.cli.main import cli
from seawatch.engine.pipeline import DETECTORS
from seawatch.events.registry import event_types
from seawatch.labels import Reader
from seawatch.settings import load_settings
from seawatch.sources.feed import Feed
from seawatch.store import open_store
from seawatch.store.query import Query

sys.path.insert(0, str(Path(__file__).parent / "store"))  # the throwaway PostgreSQL server
from pgserver import pg_server, pg_url

__all__ = ["pg_server", "pg_url"]  # fixtures

SMALL = ["--vessels", "30", "--hours", "8", "--seed", "2"]
COUNT_LINE = re.compile(r"^  ([a-z_]+) +([\d,]+)  ([\d,]+) vessels?(?:  .+)?$", re.M)


IND = {"SEAWATCH_NODE_NATION": "IND"}
"""A node with a nation: files and live feeds are labelled with it (a simulated run without
one acts for IND)."""


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["run", *args], env=env)


@pytest.fixture
def quick_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    """A closed TCP feed is tried again for 1 s, not 30, before the run ends ("feed
    closed"): the live tests' runs end soon after their feed does, not at --duration."""
    monkeypatch.setitem(Feed.__init__.__kwdefaults__, "reconnect_s", 1.0)


def counts_in(summary: str) -> dict[str, int]:
    """Events per type as the summary lists them."""
    return {t: int(n.replace(",", "")) for t, n, _ in COUNT_LINE.findall(summary)}


def store_counts(db: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Rows per table, and events per type read back with the maintenance reader."""
    with open_store(str(db), load_settings()) as store:
        events = Query(store, Reader.node_admin("test: compare with the summary")).events()
        by_type: dict[str, int] = {}
        for t in events.column("event_type").to_pylist():
            by_type[str(t)] = by_type.get(str(t), 0) + 1
        return store.counts(), by_type


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    out = tmp_path_factory.mktemp("run") / "out"
    result = run(*SMALL, "--out", str(out))
    assert result.exit_code == 0, result.output
    return result, out


def test_simulated_run_stores_positions_and_events(sim_run: tuple[Result, Path]) -> None:
    result, out = sim_run
    tables, by_type = store_counts(out / "seawatch.duckdb")
    assert tables["positions"] > 10_000
    assert tables["events"] > 0
    summary = counts_in(result.stdout)
    assert {
        t: n for t, n in summary.items() if n
    } == by_type  # the summary's counts are the store's
    assert sum(summary.values()) == tables["events"]
    assert f"Events: {tables['events']:,}" in result.stdout
    # every detector's type listed, 0 or not; only the types the registry declares
    assert {name for name, _ in DETECTORS} <= set(summary)
    assert set(summary) <= set(event_types())
    assert len(list((out / "sim").glob("ais-*.nmea"))) == 8
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporaries


def test_notable_events_have_names_flags_places_times(sim_run: tuple[Result, Path]) -> None:
    text = sim_run[0].stdout
    notable = text.split("Most notable", 1)[1].split("\nLabels: ", 1)[0]  # labels after them
    items = re.findall(
        r"^  (\d+)\. ([a-z_]+): (.+) \((.+), MMSI (\d{9})\)\n     (.+)\n     (.+)\n     (.+)$",
        notable,
        re.M,
    )
    assert len(items) >= 3
    truth = [json.loads(ln) for ln in (sim_run[1] / "sim" / "truth.jsonl").read_text().splitlines()]
    injected = {r["mmsi"] for r in truth} | {r["other_mmsi"] for r in truth}
    for _rank, _etype, name, flag, mmsi, what, when, where in items:
        assert re.search(r"; confidence [01]\.\d\d$", what), what
        assert name != "(no name heard)"
        assert flag != "flag unknown"
        assert int(mmsi) in injected  # ranked incidents are the simulator's injected behaviours
        assert re.match(r"^2025-06-01 \d\d:\d\d( -> [\d: -]+)? UTC", when), when
        assert re.match(
            r"^\d+\.\d\d°[NS] \d+\.\d\d°[EW].*, (at .+|[\d,]+ km [NESW]+ of .+) \([A-Z]{5}\)", where
        ), where
    assert [int(r) for r, *_ in items] == list(range(1, len(items) + 1))


def test_simulated_waters_are_watched(sim_run: tuple[Result, Path]) -> None:
    """The simulator's boxes of other nations' waters become the zone layer sim_waters:
    stored as zones, their entries detected and named in the summary."""
    result, out = sim_run
    truth = [json.loads(ln) for ln in (out / "sim" / "truth.jsonl").read_text().splitlines()]
    names = {r["params"]["zone_name"] for r in truth if r["event_type"] == "zone_entry"}
    assert names  # seed 2 sends a fishing vessel into a neighbour's waters
    with open_store(str(out / "seawatch.duckdb"), load_settings()) as store:
        zones = Query(store, Reader.node_admin("test: zones")).zones()
    assert set(zones.column("name").to_pylist()) == names
    assert all(z.startswith("sim_waters:") for z in zones.column("zone_id").to_pylist())
    assert counts_in(result.stdout)["zone_entry"] >= 1
    assert re.search(
        r"^     (a fishing vessel, )?entered simulated waters of [A-Z]{2} \(near .+\)"
        r"; confidence [01]\.\d\d$",
        result.stdout,
        re.M,
    )


def test_labels_visibly_matter(sim_run: tuple[Result, Path]) -> None:
    text = sim_run[0].stdout
    assert re.search(r"positions  UNCLASSIFIED  \(originator IND\)", text)
    assert re.search(r"positions  CONFIDENTIAL//REL TO USA, IND  \(originator USA\)", text)
    usa = re.search(r"reader USA:SECRET sees ([\d,]+) of ([\d,]+) vessels", text)
    jpn = re.search(r"reader JPN:SECRET sees ([\d,]+) of ([\d,]+) vessels", text)
    assert usa
    assert jpn
    assert usa.group(1) == usa.group(2)  # the satellite feed's owner sees every vessel
    assert int(jpn.group(1)) < int(jpn.group(2))  # the partner not named in REL TO does not


def test_exports_parse_and_carry_labels(sim_run: tuple[Result, Path]) -> None:
    text, out = sim_run[0].stdout, sim_run[1] / "export"
    n_events = int(re.search(r"Events: ([\d,]+)", text).group(1).replace(",", ""))  # type: ignore[union-attr]
    events = json.loads((out / "events.geojson").read_text())
    assert events["type"] == "FeatureCollection"
    assert len(events["features"]) == n_events
    vessels = json.loads((out / "vessels.geojson").read_text())
    assert vessels["features"]
    assert all(f["properties"]["label"] for f in vessels["features"])
    marking = "CONFIDENTIAL//REL TO IND, USA"
    for name in ("vessels.kml", "events.kml"):
        doc = etree.parse(str(out / name))
        ns = {"k": "http://www.opengis.net/kml/2.2"}
        assert doc.findtext("k:Document/k:description", namespaces=ns) == marking
        assert doc.findall(".//k:Placemark", namespaces=ns)
    cot = [etree.fromstring(line) for line in (out / "vessels.cot").read_bytes().splitlines()]
    assert len(cot) == len(vessels["features"])
    assert all(ev.tag == "event" and ev.findtext("detail/remarks") for ev in cot)
    # each vessel's latest position carries its own label (the node's or the partner's), or
    # with the vessel's name that label combined with the naming report's
    assert {ev.get("access") for ev in cot} <= {
        "UNCLASSIFIED",
        "CONFIDENTIAL//REL TO USA, IND",
        "CONFIDENTIAL//REL TO IND, USA",
    }
    callsigns = [ev.find("detail/contact").get("callsign") for ev in cot]
    named = [c for c in callsigns if not c.isdigit()]
    assert len(named) > 0.9 * len(callsigns)  # vessels go by their names, not MMSIs
    assert [f["properties"]["name"] for f in vessels["features"]].count(None) < len(named)
    assert f"marked {marking}" in text


def test_rerun_is_safe(tmp_path: Path) -> None:
    """The default store is rebuilt each run (same answer); a kept --db gains nothing twice.
    (A small run: 10 vessels, 2 h, 116 events of three types.)"""
    tiny = ["--vessels", "10", "--hours", "2", "--seed", "5"]
    first = run(*tiny, "--out", str(tmp_path / "default"))
    again = run(*tiny, "--out", str(tmp_path / "default"))
    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    assert sum(counts_in(first.stdout).values()) > 0
    assert counts_in(again.stdout) == counts_in(first.stdout)
    db = tmp_path / "kept.duckdb"
    tiny += ["--out", str(tmp_path / "o")]
    one = run(*tiny, "--db", str(db))
    tables_one, _ = store_counts(db)
    two = run(*tiny, "--db", str(db))
    assert one.exit_code == 0, one.output
    assert two.exit_code == 0, two.output
    assert "stored      0 new positions" in two.stdout
    assert store_counts(db)[0] == tables_one
    assert tables_one["positions"] > 0
    assert counts_in(two.stdout) == counts_in(one.stdout)


def test_files_mode_matches_the_simulation(sim_run: tuple[Result, Path], tmp_path: Path) -> None:
    """The simulated files given as inputs, with the simulator's waters imported as a zone
    layer (`seawatch zones import` of its zones.geojson, `--zones`), give the same events."""
    first, out = sim_run
    layer = out / "sim" / "zones.geojson"
    env = {"SEAWATCH_DATA_DIR": str(tmp_path / "data"), "SEAWATCH_NODE_NATION": "IND"}
    imported = CliRunner().invoke(
        cli, ["zones", "import", str(layer), "--name", "sim_waters"], env=env
    )
    assert imported.exit_code == 0, imported.output
    files = sorted(str(p) for p in (out / "sim").glob("ais-*.nmea"))
    result = CliRunner().invoke(
        cli, ["run", *files, "--zones", "sim_waters", "--out", str(tmp_path / "f")], env=env
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"seawatch run: {len(files)} input file(s)")
    assert counts_in(result.stdout) == counts_in(first.stdout)
    sim_tables, _ = store_counts(out / "seawatch.duckdb")
    tables, _ = store_counts(tmp_path / "f" / "seawatch.duckdb")
    assert tables["positions"] == sim_tables["positions"]
    assert "reader JPN" not in result.stdout  # labels from the settings: one default label
    # every stored position is the node's default label's, counted in the store
    counted = re.search(
        r"^ +([\d,]+) positions  UNCLASSIFIED  \(originator IND\)$", result.stdout, re.M
    )
    assert counted
    tables, _ = store_counts(tmp_path / "f" / "seawatch.duckdb")
    assert int(counted.group(1).replace(",", "")) == tables["positions"]


# --- live feeds ----------------------------------------------------------------------


def _sim_lines(out: Path, n: int) -> list[bytes]:
    lines: list[bytes] = []
    for path in sorted((out / "sim").glob("ais-*.nmea")):
        lines += path.read_bytes().splitlines(keepends=True)
        if len(lines) >= n:
            break
    return lines[:n]


@pytest.fixture
def tcp_server(sim_run: tuple[Result, Path]) -> Iterator[tuple[int, list[bytes]]]:
    """A loopback server that sends 3,000 simulated lines to its first client in small
    writes, then a few lines without a tag block, then closes."""
    lines = _sim_lines(sim_run[1], 3000)
    untagged = [b"!AIVDM,1,1,,B,16?p<k7P0cUKJIN5WQMPghV81:qa,0*09\r\n"]
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            for k in range(0, len(lines), 500):
                conn.sendall(b"".join(lines[k : k + 500]))
                time.sleep(0.2)
            conn.sendall(b"".join(untagged))
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, lines + untagged
    thread.join(5)
    server.close()


@pytest.mark.usefixtures("quick_reconnect")
def test_live_tcp_feed(tcp_server: tuple[int, list[bytes]], tmp_path: Path) -> None:
    port, sent = tcp_server
    started = time.time()
    result = run(
        "--tcp",
        f"127.0.0.1:{port}",
        "--batch-s",
        "0.5",
        "--duration",
        "4",
        "--out",
        str(tmp_path),
        env=IND,
    )
    assert result.exit_code == 0, result.output
    batches = sorted((tmp_path / "live").glob("*/batch-*.nmea"))
    assert len(batches) >= 2
    received = b"".join(p.read_bytes() for p in batches).splitlines()
    assert len(received) == len(sent)
    assert received[:-1] == [s.rstrip(b"\r\n") for s in sent[:-1]]  # tag blocks kept as sent
    stamped = received[-1].decode()
    m = re.match(r"^\\s:live,c:(\d+)\*([0-9A-F]{2})\\!AIVDM", stamped)
    assert m
    assert started - 1 <= int(m.group(1)) <= time.time() + 1
    assert f"received    {len(sent):,} lines" in result.stdout
    tables, by_type = store_counts(tmp_path / "seawatch.duckdb")
    assert tables["positions"] > 1000
    assert tables["events"] == sum(by_type.values())
    assert {t: n for t, n in counts_in(result.stdout).items() if n} == by_type
    with open_store(str(tmp_path / "seawatch.duckdb"), load_settings()) as store:
        q = Query(store, Reader.node_admin("test: the stamped line"))
        since = dt.datetime.fromtimestamp(started - 1, dt.UTC)
        assert q.positions(start=since).num_rows == 1  # stored with its receive time
        # one pipeline across the batches: every stored position belongs to a segment
        assert q.positions().column("segment_id").null_count == 0


def test_live_udp_feed(sim_run: tuple[Result, Path], tmp_path: Path) -> None:
    lines = _sim_lines(sim_run[1], 400)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    stop = threading.Event()

    def send() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            time.sleep(1.5)  # the run binds first
            for line in lines:
                s.sendto(line, ("127.0.0.1", port))
                time.sleep(0.001)
            stop.set()

    threading.Thread(target=send, daemon=True).start()
    result = run(
        "--udp",
        f"127.0.0.1:{port}",
        "--batch-s",
        "0.5",
        "--duration",
        "3",
        "--out",
        str(tmp_path),
        env=IND,
    )
    assert result.exit_code == 0, result.output
    assert stop.is_set()
    m = re.search(r"received    ([\d,]+) lines", result.stdout)
    assert m
    assert int(m.group(1).replace(",", "")) >= len(lines) * 0.95
    tables, _ = store_counts(tmp_path / "seawatch.duckdb")
    assert tables["positions"] > 0


def test_sigterm_stops_a_live_run_with_its_summary(
    sim_run: tuple[Result, Path], tmp_path: Path
) -> None:
    lines = _sim_lines(sim_run[1], 2000)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            for line in lines:  # a slow feed that never ends by itself
                try:
                    conn.sendall(line)
                except OSError:
                    return
                time.sleep(0.002)
            time.sleep(60)

    threading.Thread(target=serve, daemon=True).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAWATCH_")} | IND
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "seawatch.cli.main",
            "run",
            "--tcp",
            f"127.0.0.1:{port}",
            "--batch-s",
            "1",
            "--out",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.time() + 60
        while not list((tmp_path / "live").glob("*/batch-*.nmea")) and time.time() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        server.close()
    assert proc.returncode == 0, stderr.decode()
    text = stdout.decode()
    assert "(ended: stopped;" in text
    assert "Events:" in text
    assert (tmp_path / "seawatch.duckdb").is_file()


# --- bad input -----------------------------------------------------------------------


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nope.nmea"), "--out", str(tmp_path))
    assert result.exit_code == 1
    assert "error: cannot read" in result.output
    assert "nope.nmea" in result.output
    assert not (tmp_path / "seawatch.duckdb").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--tcp", "localhost"],
        ["--tcp", "127.0.0.1:99999"],
        ["--udp", ":10110"],
        ["--tcp", "127.0.0.1:1", "--udp", "127.0.0.1:2"],
        ["--duration", "5"],
        ["x.nmea", "--tcp", "127.0.0.1:10110"],
    ],
)
def test_bad_usage(args: list[str], tmp_path: Path) -> None:
    result = run(*args, "--out", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.output


def test_refused_connection_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ("--tcp", f"127.0.0.1:{port}", "--duration", "1", "--out", str(tmp_path))
    result = run(*args, env=IND)
    assert result.exit_code == 1
    assert f"error: cannot connect to 127.0.0.1:{port}" in result.output


def test_help_explains_the_three_ways() -> None:
    result = CliRunner().invoke(cli, ["run", "--help"])
    assert result.exit_code == 0
    text = result.output
    for needle in ("seawatch run\n", "seawatch run feed", "--tcp 127.0.0.1:10110", "--udp"):
        assert needle in text
    assert "Ctrl-C" in text
    assert "--duration" in text


def test_leftovers_of_a_killed_run_go_and_nothing_else(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)
    out = tmp_path / "out"
    (out / f".sim.{pid}").mkdir(parents=True)
    (out / f".seawatch.{pid}.duckdb").write_bytes(b"half a database")
    (out / ".notes.1").write_text("the user's")
    result = run("--vessels", "5", "--hours", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".notes.1"]


def test_postgresql_store_gives_the_same_summary(pg_url: str, tmp_path: Path) -> None:
    """The job on the production backend: --db postgresql://... ; the same counts as DuckDB."""
    tiny = ["--vessels", "8", "--hours", "2", "--seed", "4"]
    duck = run(*tiny, "--out", str(tmp_path / "d"))
    pg = run(*tiny, "--out", str(tmp_path / "p"), "--db", pg_url)
    assert duck.exit_code == 0, duck.output
    assert pg.exit_code == 0, pg.output
    assert counts_in(pg.stdout) == counts_in(duck.stdout)
    labels = re.compile(r"^ +[\d,]+ positions  .+$", re.M)
    assert labels.findall(pg.stdout) == labels.findall(duck.stdout)
    assert "postgresql://" in pg.stdout
    password = re.match(r"postgresql://[^:]+:([^@]+)@", pg_url).group(1)  # type: ignore[union-attr]
    assert password not in pg.output  # the password never printed
    assert ":***@" in pg.stdout


@pytest.mark.usefixtures("quick_reconnect")
def test_live_from_the_simulators_tcp_server(tmp_path: Path) -> None:
    """`seawatch simulate --tcp` (a real subprocess, 900x real time) feeding `seawatch run
    --tcp`: every line the simulator sent is received and stored (the run ends 1 s after
    the simulator closes its server, at the latest after --duration)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAWATCH_")}
    sim = subprocess.Popen(
        [
            *(sys.executable, "-m", "seawatch.cli.main", "simulate", "--seed", "2"),
            *("--vessels", "10", "--hours", "0.5", "--speed", "900"),
            *("--tcp", f"127.0.0.1:{port}", "--out", str(tmp_path / "sim")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert sim.stderr is not None
        for line in iter(sim.stderr.readline, b""):  # its log says when it listens
            if b"simulate: listening on" in line:
                break
        result = run(
            # the simulator sends for ~2 s once connected; 20 s: time to start on a busy
            # machine (8 s was not enough at load 8: 0 lines received)
            "--tcp", f"127.0.0.1:{port}", "--batch-s", "1", "--duration", "20",
            "--out", str(tmp_path / "run"), env=IND,
        )  # fmt: skip
        assert sim.wait(timeout=60) == 0, sim.stderr.read().decode() if sim.stderr else ""
    finally:
        sim.kill()
        if sim.stderr:
            sim.stderr.close()
    assert result.exit_code == 0, result.output
    assert "(ended: feed closed;" in result.stdout
    sent = json.loads((tmp_path / "sim" / "manifest.json").read_text())["lines"]
    assert f"received    {sent:,} lines" in result.stdout
    tables, by_type = store_counts(tmp_path / "run" / "seawatch.duckdb")
    assert tables["positions"] > 0
    assert {t: n for t, n in counts_in(result.stdout).items() if n} == by_type
