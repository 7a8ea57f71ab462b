"""The simulator's parts: the columnar packer equals the project's encoder, the ITU table,
memory that does not grow with the duration, the CLI and the documented example."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from seawatch.cli.main import cli
from seawatch.decode import decode
from seawatch.decode.encode import encode_payload, to_sentences
from seawatch.decode.layouts import LAYOUTS
from seawatch.sim.pack import line_blob, pack_payloads
from seawatch.sim.radio import reporting_interval_s

DOC = Path(__file__).resolve().parents[1] / "docs" / "simulator.md"
LAYOUT = {lay.name: lay for lay in LAYOUTS}


@pytest.mark.parametrize("name", ["type1", "type18"])
def test_pack_equals_encoder(name: str) -> None:
    rng = np.random.default_rng(5)
    n = 300
    cols = {
        "mmsi": rng.integers(200_000_000, 799_999_999, n),
        "lat": np.round(rng.uniform(-90, 90, n), 6),
        "lon": np.round(rng.uniform(-180, 180, n), 6),
        "speed_kn": np.round(rng.uniform(0, 102.2, n), 1),
        "course_deg": np.round(rng.uniform(0, 359.9, n), 1),
        "heading_deg": rng.integers(0, 360, n),
        "second": rng.integers(0, 60, n),
        "nav_status": rng.integers(0, 16, n),
        "radio": rng.integers(0, 1 << 19, n),
        "accuracy": rng.random(n) < 0.5,
        "cs_unit": rng.random(n) < 0.5,
        "dsc": rng.random(n) < 0.5,
    }
    layout = LAYOUT[name]
    fields = {f.name for f in layout.fields}
    packed = pack_payloads(layout, cols, n)
    stations = ["sw-inmaa", "sat-1"]
    st = rng.integers(0, 2, n)
    c_s = rng.integers(1_700_000_000, 1_800_000_000, n)
    chan_b = rng.random(n) < 0.5
    blob, lengths = line_blob(packed, 0, st, stations, c_s, chan_b)
    lines = blob.decode("ascii").splitlines()
    assert len(lines) == n
    assert (np.array([len(x) + 1 for x in lines]) == lengths).all()
    for i in range(n):
        values = {k: v[i].item() for k, v in cols.items() if k in fields}
        payload, fill = encode_payload(layout, values)
        assert packed[i].tobytes().decode() == payload
        tag = f"s:{stations[st[i]]},c:{c_s[i]}"
        (want,) = to_sentences(payload, fill, channel="AB"[int(chan_b[i])], tag_block=tag)
        assert lines[i] == want


def test_itu_intervals() -> None:
    sog = np.array([0.0, 5.0, 14.5, 24.0, 1.0, 5.0, 15.0, 30.0, 1.0, 20.0])
    a = np.array([True, True, True, True, False, False, False, False, False, False])
    so = np.array([False] * 4 + [True] * 4 + [False, False])
    anchor = np.array([True] + [False] * 9)
    got = reporting_interval_s(sog, a, so, anchor)
    assert got.tolist() == [180, 10, 6, 2, 180, 30, 15, 5, 180, 30]


def _peak_rss_kb(tmp: Path, hours: float) -> int:
    code = (
        "import resource, sys\n"
        "from seawatch.sim import SimConfig, simulate\n"
        f"simulate(SimConfig(seed=2, vessels=400, hours={hours}), sys.argv[1])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp)], capture_output=True, text=True, check=True
    )
    return int(out.stdout.split()[-1])


def test_memory_does_not_grow_with_duration(tmp_path: Path) -> None:
    short = _peak_rss_kb(tmp_path / "short", 0.5)
    long = _peak_rss_kb(tmp_path / "long", 3.0)
    assert long < short * 1.08 + 8_000, (short, long)


def _doc_command() -> list[str]:
    block = re.search(r"```console\n\$ (seawatch simulate [^\n]+)\n", DOC.read_text())
    assert block is not None, "docs/simulator.md needs a ```console example"
    return shlex.split(block.group(1))[1:]


def test_doc_example_runs(tmp_path: Path) -> None:
    args = _doc_command()
    out = args[args.index("--out") + 1]
    args[args.index("--out") + 1] = str(tmp_path / out)
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "lines in" in res.output
    files = sorted((tmp_path / out).glob("ais-*.nmea"))
    assert files
    _, stats = decode(files[0])
    assert stats.rejects == {}
    assert stats.messages > 0
    manifest = json.loads((tmp_path / out / "manifest.json").read_text())
    assert manifest["config"]["seed"] == int(args[args.index("--seed") + 1])
    for event_type in json.loads((tmp_path / out / "manifest.json").read_text())["behaviours"]:
        assert f"`{event_type}`" in DOC.read_text()


def test_cli_rejects_a_naive_start(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["simulate", "--out", str(tmp_path), "--start", "2025-06-01T00:00:00"]
    )
    assert res.exit_code == 2
    assert "time zone" in res.output


def test_live_udp_sends_the_same_lines(tmp_path: Path) -> None:
    import socket

    from seawatch.sim import SimConfig, simulate
    from seawatch.sim.live import LiveWriter

    cfg = SimConfig(seed=4, vessels=10, hours=0.05)
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sink = LiveWriter(int(cfg.start.timestamp()), 3600.0, udp=receiver.getsockname())
    result = simulate(cfg, tmp_path / "live", sink=sink)
    got = [receiver.recv(4096) for _ in range(result.lines)]
    receiver.close()
    files = simulate(cfg, tmp_path / "files")
    assert b"".join(got) == b"".join((tmp_path / "files" / f).read_bytes() for f in files.files)
    assert (tmp_path / "live" / "truth.jsonl").read_bytes() == (
        tmp_path / "files" / "truth.jsonl"
    ).read_bytes()


def test_live_tcp_serves_a_client(tmp_path: Path) -> None:
    import socket
    import threading

    from seawatch.sim import SimConfig, simulate
    from seawatch.sim.live import LiveWriter

    cfg = SimConfig(seed=4, vessels=10, hours=0.05)
    sink = LiveWriter(int(cfg.start.timestamp()), 3600.0, tcp=("127.0.0.1", 0))
    done = threading.Thread(target=simulate, args=(cfg, tmp_path / "live"), kwargs={"sink": sink})
    done.start()
    chunks = []
    with socket.create_connection(tuple(sink.address), timeout=10) as client:
        while data := client.recv(65536):
            chunks.append(data)
    done.join(timeout=30)
    files = simulate(cfg, tmp_path / "files")
    assert b"".join(chunks) == b"".join((tmp_path / "files" / f).read_bytes() for f in files.files)
