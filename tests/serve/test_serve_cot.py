"""``seawatch serve --tcp ... --cot-port``: a live feed and a Cursor-on-Target stream, as a
TAK user runs it: a real process, a loopback feed of simulated lines in which the vessels
west of a meridian are labelled for another nation only, and a client connected through
pytak's own TCP client (:func:`pytak.protocol_factory`). The client receives every vessel
the CoT reader may read (what ``Query.latest`` gives that reader at the end), never one it
may not, and every event carries its marking."""

from __future__ import annotations

import asyncio
import configparser
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from xml.etree import ElementTree as ET

import cot_clients
import pyarrow.compute as pc
import pytest
from click.testing import CliRunner
from test_serve_live import _free_port, feed_server

from seawatch.cli.main import cli
from seawatch.engine.ingest import ingest
from seawatch.labels import Reader
from seawatch.serve.cot_markers import event_cot_type
from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.query import Query

with warnings.catch_warnings():  # pytak warns that its optional TLS/HTTP extras are absent
    warnings.simplefilter("ignore")
    import pytak

__all__ = ["feed_server"]

READER = "IND:SECRET"
SPLIT_LON = 72.0  # the rule below labels what is west of it for USA only


def _split(lines_file: Path, env: dict[str, str], tmp_path: Path) -> float:
    """A meridian that splits the sample's vessels in two (their median longitude)."""
    settings = load_settings(env=env)
    with open_store(tmp_path / "ref.duckdb", settings) as store:
        ingest(store, [lines_file], settings)  # as `seawatch ingest FILE` stores it
        lon = Query(store, Reader.node_admin("test: cot split")).latest()["lon"]
        return float(pc.approximate_median(lon).as_py())


async def _receive(port: int, until: float) -> list[ET.Element]:
    """CoT events read through pytak's TCP client until ``until`` (monotonic) or the
    server closes the connection."""
    config = configparser.ConfigParser()
    config["t"] = {"COT_URL": f"tcp://127.0.0.1:{port}"}
    reader, writer = await pytak.protocol_factory(config["t"])
    events: list[ET.Element] = []
    buf = b""
    try:
        while time.monotonic() < until:
            try:
                data = await asyncio.wait_for(reader.read(65536), 0.5)
            except TimeoutError:
                continue
            if not data:
                break
            buf += data
            *lines, buf = buf.split(b"\n")
            events += [ET.fromstring(line) for line in lines if line.strip()]
    finally:
        writer.close()
    return events


def test_cot_port_streams_what_the_reader_may_read(
    feed_server: tuple[int, Path, object], tmp_path: Path
) -> None:
    feed_port, lines_file, sent = feed_server
    env = {**os.environ, "SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DATA_DIR": str(tmp_path / "d")}
    split = _split(lines_file, env, tmp_path)
    env["SEAWATCH_LABEL_RULES"] = f"bbox=-180,-90,{split},90 -> USA:SECRET//NOFORN"
    db = str(tmp_path / "node.duckdb")
    port, cot_port = _free_port(), _free_port()
    cmd = [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(port)]
    cmd += ["--tcp", f"127.0.0.1:{feed_port}", "--db", db, "--batch-s", "0.5"]
    cmd += ["--cot-port", str(cot_port), "--cot-reader", READER]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:  # the CoT port is open before the feed is read
            try:
                asyncio.run(_receive(cot_port, time.monotonic() + 0.1))
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "no CoT port within 120 s"
                time.sleep(0.2)
        # connected while the feed arrives: live updates until the server stops (the
        # session's last output at SIGTERM included)
        got: list[list[ET.Element]] = []
        whole = threading.Thread(
            target=lambda: got.append(asyncio.run(_receive(cot_port, time.monotonic() + 300)))
        )
        whole.start()
        assert sent.wait(120)  # type: ignore[attr-defined]
        time.sleep(2)
        late = asyncio.run(_receive(cot_port, time.monotonic() + 3))  # a snapshot on connect
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    whole.join(10)
    events = got[0]
    assert proc.returncode == 0, err
    with open_store(db, load_settings(env=env)) as store:
        mine = set(Query(store, Reader.parse(READER, store.policy)).latest()["mmsi"].to_pylist())
        every = Query(store, Reader.node_admin("test: cot")).positions()
    west = pc.less_equal(every["lon"], split)
    denied_only = set(every.filter(west)["mmsi"].to_pylist()) - set(
        every.filter(pc.invert(west))["mmsi"].to_pylist()
    )
    assert mine
    assert denied_only
    vessels = [e for e in events + late if cot_clients.uid_kind(e)[0] == "vessel"]
    markers = list(cot_clients.of_kind(events, "event").values())
    assert events, err[-3000:]
    assert vessels
    assert late
    received = {int(e.get("uid", "").rsplit(".", 1)[1]) for e in vessels}
    snapshot = {int(e.get("uid", "").rsplit(".", 1)[1]) for e in late}
    assert snapshot
    assert snapshot <= mine
    assert received == mine  # what Query.latest gives the reader at the end
    assert not (received & denied_only)
    for e in events + late:
        marking = e.get("access")
        assert marking, ET.tostring(e)
        assert "USA" not in marking
        assert (e.findtext("detail/remarks") or "").startswith(marking)
        restricted = "REL TO" in marking or "NOFORN" in marking
        assert (e.get("releasableTo") is not None) == restricted, ET.tostring(e)
    for m in markers:
        assert m.find("point") is not None
    # the pytak helpers build an event with the same MIL-STD-6090 attributes
    built = pytak.cot_event(lat=1.0, lon=2.0, uid="x", access=vessels[0].get("access"))
    assert built.get("access") == vessels[0].get("access")


def test_cot_port_without_a_reader_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(_free_port())]
    cmd += ["--cot-port", str(_free_port()), "--db", str(tmp_path / "node.duckdb")]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "--cot-port and --cot-reader go together" in done.stderr


@pytest.mark.parametrize("reader", ["IND:SECERT", "nonsense"])
def test_a_bad_cot_reader_is_a_usage_error(tmp_path: Path, reader: str) -> None:
    env = {**os.environ, "SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(_free_port())]
    cmd += ["--cot-port", "0", "--cot-reader", reader, "--db", str(tmp_path / "node.duckdb")]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "--cot-reader" in done.stderr


EVENT_READER = "IND:SECRET:LIMDIS"


def test_live_events_reach_the_cot_port_as_markers_for_its_reader_only(tmp_path: Path) -> None:
    """The simulator's feed over TCP into ``seawatch serve``: the events detected live (a
    gap, an encounter, loitering, spoofing) arrive as markers, each with its marking in
    ``access``, ``caveat``/``releasableTo`` and ``<remarks>``; the events the reader may
    not read (TOP SECRET) never do."""
    env = cot_clients.node_env(tmp_path)
    feed = cot_clients.SimFeed(tmp_path, env)
    db, cot_port = str(tmp_path / "node.duckdb"), cot_clients.free_port()
    for kind in ("gap", "encounter"):  # alert rules fired live, sent as alarms too
        cmd = ["alerts", "rules", "add", f"any {kind}", "--kind", kind, "--db", db]
        added = CliRunner().invoke(cli, cmd, env=env)
        assert added.exit_code == 0, added.output
    args = ["--tcp", f"127.0.0.1:{feed.port}", "--db", db, "--batch-s", "0.5"]
    proc = cot_clients.serve(
        [*args, "--cot-port", str(cot_port), "--cot-reader", EVENT_READER], env
    )
    try:
        client = cot_clients.collect(f"tcp://127.0.0.1:{cot_port}")
        feed.release()
        cot_clients.wait_stored(feed, tmp_path)
    finally:
        err = cot_clients.stop(proc)
        feed.close()
    got = client.events()
    mine, denied, vessels = cot_clients.stored(db, env, EVENT_READER)
    placed = {k for k, r in mine.items() if r["lat"] is not None}
    assert denied, "the rules deny some events to the reader"
    assert {mine[k]["event_type"] for k in placed} >= {"gap", "encounter", "loitering"}
    markers = cot_clients.of_kind(got, "event")
    assert set(markers) == placed, err[-3000:]
    assert not set(markers) & denied
    received = {int(k) for k in cot_clients.of_kind(got, "vessel")}
    assert received == set(vessels)
    for key, e in markers.items():
        row, marking = mine[key], str(mine[key]["marking"])
        assert e.get("access") == marking
        assert e.get("type") == event_cot_type(row), ET.tostring(e)
        assert (e.findtext("detail/remarks") or "").startswith(
            marking + " " + str(row["event_type"])
        )
        assert e.get("caveat") == ("LIMDIS" if "LIMDIS" in marking else None), ET.tostring(e)
        rel = "IND USA" if row["event_type"] == "encounter" else None
        assert e.get("releasableTo") == rel, ET.tostring(e)
        point = e.find("point")
        assert point is not None
        assert float(point.get("lat", "nan")) == pytest.approx(row["lat"])
        assert float(point.get("lon", "nan")) == pytest.approx(row["lon"])
    alerts = cot_clients.stored_alerts(db, env, EVENT_READER)
    assert {a["kind"] for a in alerts.values()} == {"gap", "encounter"}
    alarms = {e.get("uid", "").split(".alert.")[1]: e for e in got if ".alert." in e.get("uid", "")}
    assert set(alarms) == {k for k, a in alerts.items() if a["lat"] is not None}
    for key, e in alarms.items():
        assert e.get("access") == alerts[key]["marking"]
        assert (e.findtext("detail/remarks") or "").startswith(str(alerts[key]["marking"]))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--cot-to", "127.0.0.1:8087"], "--cot-port and --cot-reader go together (--cot-to too)"),
        (["--cot-to", "nowhere", "--cot-reader", READER], "--cot-to"),
        (["--cot-to", "127.0.0.1:0", "--cot-reader", READER], "--cot-to"),
    ],
)
def test_a_bad_cot_to_is_a_usage_error(tmp_path: Path, args: list[str], says: str) -> None:
    env = {**os.environ, "SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(_free_port())]
    cmd += [*args, "--db", str(tmp_path / "node.duckdb")]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr


def test_cot_to_connects_again_while_the_tak_server_comes_and_goes(tmp_path: Path) -> None:
    """``--cot-to``: nobody listening is no error (it tries again); a TAK server that
    appears is connected to and sent the stream; one that closes is connected to again."""
    from seawatch.serve.cot_feed import CotFeed

    port = _free_port()
    with open_store(
        tmp_path / "n.duckdb", load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    ) as st:
        reader = Reader.parse(READER, st.policy)
        feed = CotFeed(st, reader, threading.Lock(), node_id="n", stale_s=60)
        feed.start(None, ("127.0.0.1", port), retry_s=0.1)
        try:
            time.sleep(0.5)
            assert feed.pushes == 0
            for n in (1, 2):
                with socket.create_server(("127.0.0.1", port)) as server:
                    server.settimeout(10)
                    conn, _ = server.accept()
                    deadline = time.monotonic() + 10
                    while feed.pushes < n:
                        assert time.monotonic() < deadline
                        time.sleep(0.05)
                    conn.close()  # the TAK server goes away
        finally:
            feed.stop()
