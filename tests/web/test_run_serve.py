"""``seawatch run --serve`` as ``make run`` ends at a terminal: the job, then the map on its
store, with the user ``analyst`` and a one-time sign-in link alone on the last line before
the server starts; the link signs Chromium in and the map shows the run's vessels. The
screenshot is the README's (``docs/map.png``): written with ``UPDATE_SNAPSHOTS=1`` from
``make run``'s own data (300 vessels, 24 h), otherwise checked (it exists, a PNG under
300 KB) while the map is rendered from a smaller run. ``--no-serve`` finishes and exits."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx
import pytest
from browser import SETTLE, MapPage, require_chromium
from click.testing import CliRunner
from playwright.sync_api import Browser

from seawatch.cli.main import cli

pytestmark = pytest.mark.slow

require_chromium()

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "map.png"
MAX_BYTES = 300_000
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


class Running:
    """``seawatch run ... --serve`` in a process; its stdout lines as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        cmd = [sys.executable, "-m", "seawatch.cli.main", "run", *args]
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self.err: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, args=(stream, into), daemon=True)
            for stream, into in ((self.proc.stdout, self.lines), (self.proc.stderr, self.err))
        ]
        for t in self.readers:
            t.start()

    @staticmethod
    def _read(stream: IO[str], into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def wait_for(self, url: str, timeout_s: float) -> str:
        """The server up at ``url``; returns the sign-in link (stdout's last line)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                assert self.proc.poll() is None, "\n".join(self.lines + self.err)
                assert time.monotonic() < deadline, "seawatch run --serve did not serve"
                time.sleep(0.5)
        return self.lines[-1]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        for t in self.readers:
            t.join(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return code


def test_run_serve_ends_with_the_map_and_a_sign_in_link(browser: Browser, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAWATCH_")}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    size = [] if UPDATE else ["--vessels", "60", "--hours", "6"]  # make run's: the defaults
    run = Running(["--out", str(tmp_path / "run"), *size, "--serve", "--port", str(port)], env)
    try:
        link = run.wait_for(url, timeout_s=600)
        assert link.startswith(f"{url}/#signin=swl_"), run.lines[-3:]
        assert "open this link once, within 10 minutes" in run.lines[-2]
        assert any(ln.startswith("Most notable") for ln in run.lines)  # the summary came first
        mp = MapPage.open(browser, url)
        mp.goto(link.removeprefix(url))
        mp.wait_loaded()
        assert mp.page.inner_text("#who").startswith("analyst · IND · SECRET")
        n = mp.count()
        assert n > 0
        assert len({f["mmsi"] for f in mp.rendered()}) == n
        assert mp.banners()[0]
        # the README's picture: the first incident, its evidence and the panel
        mp.page.locator("#incidents button").first.click()
        mp.page.wait_for_selector("#panel[data-incident] .track-info[data-count]")
        mp.page.evaluate(SETTLE)
        assert mp.outside == []
        assert mp.errors == []
        shot = tmp_path / "map.png"
        mp.shot(shot)
        data = shot.read_bytes()
        assert len(data) < MAX_BYTES, f"the screenshot is {len(data):,} bytes"
        if UPDATE:
            SCREENSHOT.write_bytes(data)
    finally:
        code = run.stop()
    assert code == 0, "\n".join(run.err[-20:])
    assert SCREENSHOT.is_file(), "no docs/map.png: run this test with UPDATE_SNAPSHOTS=1"
    readme = SCREENSHOT.read_bytes()
    assert len(readme) < MAX_BYTES
    assert _png_size(readme) == (1200, 800)


def test_run_no_serve_finishes_and_exits(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", "--out", str(out), "--vessels", "3", "--hours", "0.5", "--no-serve"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "#signin=" not in result.output
    assert (out / "seawatch.duckdb").is_file()
