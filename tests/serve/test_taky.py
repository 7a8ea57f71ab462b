"""taky (a TAK server on PyPI) as a real router between seawatch and a TAK client: taky's
own ``taky`` command on a loopback port (a config file in tmp, no TLS), ``seawatch serve
--tcp ... --cot-to`` connecting out to it and streaming its CoT feed, and a pytak client
connected to taky. The client receives, through taky, every vessel and every event marker
the feed's reader may read, and nothing else.

taky 0.10 rebuilds each ``<event>`` element from what it parses (uid, type, how, times,
point) and passes ``<detail>`` on as it came: the ``access``, ``caveat`` and
``releasableTo`` attributes do not survive it, the marking at the start of ``<remarks>``
does (which is why seawatch writes it there too).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import cot_clients
import pytest

from seawatch.serve.cot_markers import event_cot_type

READER = "IND:SECRET:LIMDIS"


def _taky_bin() -> str:
    found = Path(sys.executable).parent / "taky"  # installed by the test extra
    assert found.exists(), "taky is in the test extra: pip install -e '.[test]'"
    return str(found)


class Taky:
    """taky's CoT router (its ``taky`` command) on a free loopback port."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = cot_clients.free_port()
        conf = tmp_path / "taky.conf"
        conf.write_text(
            "[taky]\nbind_ip = 127.0.0.1\nroot_dir = .\n"
            f"[cot_server]\nport = {self.port}\n"
            "[dp_server]\nupload_path = ./dp-user\n"
            "[ssl]\nenabled = false\n"
        )
        self.log = tmp_path / "taky.log"
        with self.log.open("w") as out:
            cmd = [_taky_bin(), "-c", str(conf), "-l", "info"]
            self.proc = subprocess.Popen(cmd, stderr=out, cwd=tmp_path)
        deadline = time.monotonic() + 120
        while "Listening for tcp" not in self.log.read_text():
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "taky did not listen within 120 s"
            time.sleep(0.1)

    def clients(self) -> int:
        return self.log.read_text().count("New tcp cot client")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def taky(tmp_path: Path) -> Iterator[Taky]:
    router = Taky(tmp_path)
    try:
        yield router
    finally:
        router.stop()


def test_taky_routes_seawatch_cot_to_a_tak_client(taky: Taky, tmp_path: Path) -> None:
    env = cot_clients.node_env(tmp_path)
    feed = cot_clients.SimFeed(tmp_path, env)
    db = str(tmp_path / "node.duckdb")
    client = cot_clients.collect(f"tcp://127.0.0.1:{taky.port}")
    args = ["--tcp", f"127.0.0.1:{feed.port}", "--db", db, "--batch-s", "0.5"]
    args += ["--cot-to", f"127.0.0.1:{taky.port}", "--cot-reader", READER]
    proc = cot_clients.serve(args, env)
    try:
        deadline = time.monotonic() + 60
        while taky.clients() < 2:  # the pytak client, then seawatch
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, taky.log.read_text()[-3000:]
            time.sleep(0.1)
        feed.release()
        cot_clients.wait_stored(feed, tmp_path)
    finally:
        err = cot_clients.stop(proc)  # the session's last output is sent before it closes
        feed.close()
    time.sleep(2)  # taky routes what it read before seawatch closed
    taky.stop()  # the client's connection ends
    got = client.events()
    mine, denied, vessels = cot_clients.stored(db, env, READER)
    assert "CoT: streaming to the TAK server" in err
    placed = {k for k, r in mine.items() if r["lat"] is not None}
    markers = cot_clients.of_kind(got, "event")
    tracks = {int(k): e for k, e in cot_clients.of_kind(got, "vessel").items()}
    assert denied
    assert {mine[k]["event_type"] for k in placed} >= {"gap", "encounter", "loitering"}
    assert set(markers) == placed, taky.log.read_text()[-3000:]
    assert set(tracks) == set(vessels)
    for key, e in markers.items():
        marking = str(mine[key]["marking"])
        assert (e.findtext("detail/remarks") or "").startswith(f"{marking} ")
        assert e.get("access") in (None, marking)  # taky 0.10 drops the attribute
        assert e.get("type") == event_cot_type(mine[key]), ET.tostring(e)
    for mmsi, e in tracks.items():
        assert e.findtext("detail/remarks") == vessels[mmsi]
