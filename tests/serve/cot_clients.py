"""What the CoT tests share: the simulator's live feed behind a gate, a ``seawatch serve``
process, and a pytak client that collects the CoT events it is sent.

The gate: ``seawatch serve --tcp`` connects to a loopback port of the test at once; the
lines of ``seawatch simulate --tcp`` (started only when :meth:`SimFeed.release` is called)
are relayed to it from then on, so the CoT clients are connected before anything is stored
(a client is sent each event once, when it is stored; none is missed by connecting late).
"""

from __future__ import annotations

import asyncio
import configparser
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree as ET

from seawatch.labels import Reader
from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.query import Query

with warnings.catch_warnings():  # pytak warns that its optional TLS/HTTP extras are absent
    warnings.simplefilter("ignore")
    import pytak

__all__ = ["SimFeed", "collect", "free_port", "node_env", "receive", "serve", "stop", "stored"]

NATION = {"SEAWATCH_NODE_NATION": "IND"}
# seed 1, 60 vessels, 8 h: the detectors find a gap, an encounter, a loitering vessel and
# about 200 spoofing jumps (4 of them west of 80 E); identity changes have no position
SIM = ["--seed", "1", "--vessels", "60", "--hours", "8", "--speed", "2400"]
RULES = (
    "event_type=spoofing bbox=-180,-90,80,90 -> IND:TOP SECRET; "
    "event_type=encounter -> IND:SECRET//REL TO IND, USA; "
    "event_type=loitering -> IND:SECRET//LIMDIS"
)
"""Events the CoT reader ``IND:SECRET:LIMDIS`` may read under three markings (plain,
REL TO, a caveat), and some it may not (TOP SECRET)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def node_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        **NATION,
        "SEAWATCH_DATA_DIR": str(tmp_path / "data"),
        "SEAWATCH_LABEL_RULES": RULES,
    }


class SimFeed:
    """A loopback port (:attr:`port`) for ``seawatch serve --tcp``; :meth:`release` starts
    the simulator and relays its lines there; :attr:`done` is set at its end."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path, self.env = tmp_path, env
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.lines = 0
        self.go, self.done, self.finish = threading.Event(), threading.Event(), threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._relay, daemon=True)
        self.thread.start()

    def release(self) -> None:
        self.go.set()

    def _relay(self) -> None:
        try:
            conn, _ = self.server.accept()
            with conn:
                assert self.go.wait(120)
                sim_port = free_port()
                cmd = [sys.executable, "-m", "seawatch.cli.main", "simulate", *SIM]
                cmd += ["--tcp", f"127.0.0.1:{sim_port}", "--out", str(self.tmp_path / "sim")]
                sim = subprocess.Popen(cmd, env=self.env, stderr=subprocess.DEVNULL)
                deadline = time.monotonic() + 120
                while True:
                    try:
                        source = socket.create_connection(("127.0.0.1", sim_port))
                        break
                    except OSError:
                        assert time.monotonic() < deadline, "the simulator did not listen"
                        time.sleep(0.1)
                with source:
                    while data := source.recv(65536):
                        conn.sendall(data)
                        self.lines += data.count(b"\n")
                sim.wait(60)
                self.done.set()
                self.finish.wait(120)
        except BaseException as exc:
            self.error = exc
            self.done.set()

    def close(self) -> None:
        self.finish.set()
        self.thread.join(10)
        self.server.close()


def serve(args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(free_port())]
    return subprocess.Popen(
        [*cmd, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM (the session is finished, its last output sent); its stderr."""
    import signal

    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err[-5000:]
    return err


def wait_stored(feed: SimFeed, tmp_path: Path, timeout_s: float = 120) -> None:
    """Until every relayed line is kept by the server's live ingest."""
    assert feed.done.wait(timeout_s), "the simulator did not finish"
    assert feed.error is None, feed.error
    deadline = time.monotonic() + timeout_s
    while True:
        kept = sum(p.read_bytes().count(b"\n") for p in tmp_path.glob("data/live/*/1/*.nmea"))
        if kept >= feed.lines:
            return
        assert time.monotonic() < deadline, f"{kept} of {feed.lines} lines received"
        time.sleep(0.2)


def uid_kind(e: ET.Element) -> tuple[str, str]:
    """What a CoT event of the feed is, by its ``uid`` (never by its type: a suspect event is
    an ``a-s-S`` track too): ``("vessel", mmsi)`` for ``seawatch.<node>.<mmsi>``, else
    ``("event" | "alert" | "incident", id)`` for ``seawatch.<node>.<what>.<id>``."""
    parts = e.get("uid", "").split(".")
    if len(parts) == 3 and parts[0] == "seawatch" and parts[2].isdigit():
        return "vessel", parts[2]
    if len(parts) >= 4 and parts[0] == "seawatch":
        return parts[2], ".".join(parts[3:])
    return "other", e.get("uid", "")


def of_kind(got: list[ET.Element], kind: str) -> dict[str, ET.Element]:
    """The events of ``got`` that are ``kind`` (:func:`uid_kind`), by id."""
    return {i: e for e in got for k, i in [uid_kind(e)] if k == kind}


def parse(data: bytes) -> list[ET.Element]:
    """CoT events in a byte stream, one after the other (with or without newlines)."""
    text = b"<stream>" + data.replace(b"<?xml version='1.0' encoding='UTF-8'?>", b"") + b"</stream>"
    return list(ET.fromstring(text))


async def receive(url: str, until: float, connected: threading.Event | None = None) -> bytes:
    """Bytes read through pytak's TCP client until ``until`` (monotonic) or the other side
    closes the connection."""
    config = configparser.ConfigParser()
    config["t"] = {"COT_URL": url}
    reader, writer = await pytak.protocol_factory(config["t"])
    if connected is not None:
        connected.set()
    data = b""
    try:
        while time.monotonic() < until:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 0.5)
            except TimeoutError:
                continue
            if not chunk:
                break
            data += chunk
    finally:
        writer.close()
    return data


class collect:  # noqa: N801 (used like a function that returns a handle)
    """A pytak client on a thread of its own: connected when this returns (tried again
    until the port is open), collecting until the other side closes or ``seconds`` pass;
    :meth:`events` waits for it and parses what it got."""

    def __init__(self, url: str, seconds: float = 240) -> None:
        self.url, self.until = url, time.monotonic() + seconds
        self.data: list[bytes] = []
        deadline = time.monotonic() + 120
        while True:
            self.connected, self.failed = threading.Event(), threading.Event()
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
            while not (self.connected.is_set() or self.failed.is_set()):
                time.sleep(0.05)
            if self.connected.is_set():
                return
            assert time.monotonic() < deadline, f"cannot connect to {url}"
            time.sleep(0.2)

    def _run(self) -> None:
        try:
            self.data.append(asyncio.run(receive(self.url, self.until, self.connected)))
        except OSError:
            self.failed.set()

    def events(self, timeout_s: float = 60) -> list[ET.Element]:
        self.thread.join(timeout_s)
        assert self.data, "the client ended without data (or did not end)"
        return parse(self.data[0])


def stored(
    db: str, env: dict[str, str], reader: str
) -> tuple[dict[str, dict[str, object]], set[str], dict[int, str]]:
    """At the end: the events the reader may read, by event id (with their marking), the
    ids of those it may not, and the marking of each vessel's latest position it may read."""
    with open_store(db, load_settings(env=env)) as store:
        admin = Query(store, Reader.node_admin("test: cot events"))
        q = Query(store, Reader.parse(reader, store.policy))
        labels = admin.labels()
        mine = {
            r["event_id"]: {**r, "marking": labels[r["label_id"]].marking}
            for r in q.events().to_pylist()
        }
        every = set(admin.events()["event_id"].to_pylist())
        vessels = {r["mmsi"]: labels[r["label_id"]].marking for r in q.latest().to_pylist()}
    return mine, every - set(mine), vessels


def stored_alerts(db: str, env: dict[str, str], reader: str) -> dict[str, dict[str, object]]:
    """At the end: the alerts the reader may read, by id, with their marking."""
    with open_store(db, load_settings(env=env)) as store:
        q = Query(store, Reader.parse(reader, store.policy))
        labels = q.labels()
        return {
            r["alert_id"]: {**r, "marking": labels[r["label_id"]].marking}
            for r in q.alerts().to_pylist()
        }
