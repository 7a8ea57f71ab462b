"""``bench/serve.py --live``: runs the scenarios of bench/serve_live.py and prints figures.

Processes: the feed, ``seawatch serve --tcp``, ``--client-procs`` client processes; users
made with ``seawatch users add`` (in-process :func:`create_user`, the same code, when more
than a handful are needed) before the server holds the database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from seawatch.labels import Reader
from seawatch.serve.accounts import create_user
from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.query import Query

HERE = Path(__file__).parent
PY = sys.executable
LABEL_RULES = "bbox=60,-90,180,90 -> SECRET//REL TO IND"
READERS = ("IND:SECRET", "IND:UNCLASSIFIED", "USA:SECRET", "IND:CONFIDENTIAL")
BOXES = (
    None,  # the world
    (40.0, -40.0, 60.0, 30.0),
    (60.0, -10.0, 80.0, 25.0),
    (70.0, 0.0, 100.0, 25.0),
    (95.0, -10.0, 120.0, 10.0),
    (30.0, -45.0, 120.0, 30.0),
)
# goals of issue 13 ("Show it") and peers' figures (../shared/docs/SERVE.md section 3)
GOALS = {
    "ingest": "0 lost, ingest -> subscriber p99 < 1 s, 0 errors (20,000 msg/s, 50 clients)",
    "latency": "NMEA line in -> client frame p99 <= 250 ms at 1,000 msg/s",
    "fanout": ">= 200 clients, >= 5,000 positions/s each, p99 <= 200 ms",
    "idle": "1,000 idle subscribers held",
}
PEERS = (
    "SERVE.md probe (one uvicorn process, same 2 cores, batches every 100 ms): 100 clients "
    "x 9.9 k positions/s p99 62 ms; 500 x 9.4 k p99 720 ms; SSE 100 x 6.3 k p99 166 ms"
)
RESUB_EVERY_CLIENTS, RESUB_S = 10, 3.0
"""Fan-out: one client in this many sends its subscription again every this many seconds
while frames come, and times the acknowledgement (among the frames: under feed)."""
SCENARIOS: dict[str, dict[str, Any]] = {
    "ingest": {"rate": 20_000, "clients": 50, "light": False},
    "latency": {"rate": 1_000, "clients": 5, "light": False},
    "fanout": {"rate": 6_000, "clients": 200, "light": True},
    "idle": {"rate": 1_000, "clients": 1_000, "light": True},
}


def add_live_options(ap: argparse.ArgumentParser) -> None:
    g = ap.add_argument_group("live (--live)")
    g.add_argument("--live", choices=sorted(SCENARIOS), help="measure a live scenario")
    g.add_argument("--duration-s", type=float, default=60.0, help="feed time (goal: 600)")
    g.add_argument("--rate", type=float, help="lines/s (default: the scenario's)")
    g.add_argument("--clients", type=int, help="WebSocket clients (default: the scenario's)")
    g.add_argument("--client-procs", type=int, default=2)
    g.add_argument("--batch-s", type=float, default=0.1, help="serve --batch-s")
    g.add_argument(
        "--window-s", type=float, default=0.0, help="serve --reorder-window-s (one feed: 0)"
    )
    g.add_argument("--ws-deflate", action="store_true", help="serve --ws-deflate")
    g.add_argument(
        "--form", choices=("items", "columns"), default="items",
        help="the frames the clients ask for (the subscription's form)",
    )  # fmt: skip
    g.add_argument("--sim-vessels", type=int, default=100_000)
    g.add_argument("--sim-dir", type=Path, default=Path(tempfile.gettempdir()) / "sw-bench-sim")
    g.add_argument("--no-reference", action="store_true", help="skip the reference ingest")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sim(args: argparse.Namespace, lines: float) -> list[Path]:
    """NMEA files of a simulation holding at least ``lines`` lines (cached)."""
    hours = max(0.1, round(lines / (args.sim_vessels * 0.065 * 3600) + 0.05, 1))
    out = args.sim_dir / f"v{args.sim_vessels}-h{hours}"
    if not (out / "manifest.json").exists():
        print(f"simulating {args.sim_vessels} vessels for {hours} h into {out} ...", flush=True)
        subprocess.run(
            [PY, "-m", "seawatch.cli.main", "simulate", "--vessels", str(args.sim_vessels),
             "--hours", str(hours), "--out", str(out)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return sorted(out.glob("*.nmea"))


def _specs(name: str, n: int, db: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """Each client's token and subscription; users made before the server starts."""
    rng = random.Random(5)
    settings = load_settings(env={k: v for k, v in env.items() if k.startswith("SEAWATCH_")})
    specs: list[dict[str, Any]] = []
    if name in ("ingest", "latency"):
        tokens = {}
        for i, reader in enumerate(READERS):  # as a user does it: the CLI
            done = subprocess.run(
                [PY, "-m", "seawatch.cli.main", "users", "add", f"u{i}", "--reader", reader,
                 "--db", str(db)],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            tokens[reader] = done.stdout.strip().splitlines()[-1]
        for k in range(n):
            reader = READERS[0] if name == "latency" else READERS[k % len(READERS)]
            box = None if name == "latency" else BOXES[k % len(BOXES)]
            sub: dict[str, Any] = {"bbox": [list(box)]} if box else {}
            if k % 3 == 2:
                sub["types"] = ["positions"]
            specs.append({"token": tokens[reader], "sub": sub, "reader": reader, "box": box})
        return specs
    with open_store(db, settings) as store:
        users = n if name == "fanout" else 10
        tokens = [create_user(store, f"f{i}", "IND:SECRET")[1] for i in range(users)]
    for k in range(n):
        if name == "fanout":  # each its own bbox, holding (nearly) all of the traffic
            x0, y0 = rng.uniform(15, 30), rng.uniform(-55, -45)
            box = (x0, y0, rng.uniform(125, 150), rng.uniform(35, 45))
            sub = {"bbox": [list(box)], "types": ["positions"]}
        else:  # idle: an MMSI nobody has
            box, sub = None, {"mmsi": [1]}
        specs.append({"token": tokens[k % len(tokens)], "sub": sub, "reader": "IND:SECRET",
                      "box": box})  # fmt: skip
        if name == "fanout" and k % RESUB_EVERY_CLIENTS == 0:  # acks timed under feed
            specs[-1]["resub_s"] = RESUB_S
    return specs


def _delays(metrics: str) -> str:
    """The server's ``seawatch_live_delay_seconds`` histograms as p50/p99 bucket bounds and
    means per stage (ingest: line time -> told, of which wait: batch cut -> storing begun and
    store: storing begun -> told; detect: each detector pass; hub: told -> queued for every
    client; client: queued -> written to the client's connection)."""
    buckets: dict[str, list[tuple[float, float]]] = {}
    sums: dict[str, float] = {}
    for line in metrics.splitlines():
        m = re.match(r"seawatch_live_delay_seconds_(bucket|sum|count)\{(.*)\} (\S+)", line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        stage, value = labels["stage"], float(m.group(3))
        if m.group(1) == "bucket":
            le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
            buckets.setdefault(stage, []).append((le, value))
        else:
            sums[f"{stage}:{m.group(1)}"] = value
    out = []
    for stage in ("ingest", "wait", "store", "detect", "hub", "client"):
        bs = sorted(buckets.get(stage, []))
        n = bs[-1][1] if bs else 0
        if not n:
            continue

        def q(f: float, bs: list[tuple[float, float]] = bs, n: float = n) -> str:
            le = next(le for le, c in bs if c >= f * n)
            return f"<= {le * 1e3:.0f}" if le != float("inf") else "> 10,000"

        mean = sums.get(f"{stage}:sum", 0.0) / n * 1e3
        out.append(
            f"{stage} mean {mean:.0f}, p50 {q(0.5)}, p90 {q(0.9)}, p99 {q(0.99)} ms ({n:,.0f})"
        )
    return "; ".join(out) or "none"


def _memory(metrics: str) -> str:
    """The server's ``seawatch_memory_bytes`` by part, in MiB."""
    found = re.findall(r'seawatch_memory_bytes\{part="(\w+)"\} (\S+)', metrics)
    return ", ".join(f"{part} {float(v) / 2**20:,.0f}" for part, v in found) or "none"


def _proc_stats(pid: int) -> tuple[float, int]:
    """CPU seconds used and resident MiB of process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = next(
        int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS")
    )  # fmt: skip
    return cpu, rss // 1024


def _children_cpu(pid: int) -> float:
    """CPU seconds used by the child processes of ``pid`` now running (the server's: its
    detectors' process, ``SEAWATCH_LIVE_DETECT_PROCESS``, and multiprocessing's tracker)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180  # a first start compiles the Numba kernels
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()  # not left running (and holding its feed) after the bench
            sys.exit("the server did not start")
        time.sleep(0.1)


def live_main(args: argparse.Namespace) -> None:
    from serve_live import percentile_ms

    sc = SCENARIOS[args.live]
    rate = args.rate or sc["rate"]
    n = args.clients or sc["clients"]
    files = _sim(args, rate * args.duration_s)
    load0 = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="sw-bench-live-"))
    db = tmp / "node.duckdb"
    env = {
        **os.environ,
        "SEAWATCH_NODE_NATION": "IND",
        "SEAWATCH_DATA_DIR": str(tmp / "data"),
        "SEAWATCH_LABEL_RULES": LABEL_RULES,
    }
    specs = _specs(args.live, n, db, env)
    for spec in specs if args.form != "items" else ():
        spec["sub"]["form"] = args.form
    feed = subprocess.Popen(
        [PY, str(HERE / "serve_live.py"), "feed", str(rate), str(args.duration_s)]
        + [str(f) for f in files],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert feed.stdin is not None
    assert feed.stdout is not None
    feed_port = json.loads(feed.stdout.readline())["port"]
    port = _free_port()
    err = (tmp / "serve.log").open("w")
    server = subprocess.Popen(
        [PY, "-m", "seawatch.cli.main", "serve", "--port", str(port), "--db", str(db),
         "--tcp", f"127.0.0.1:{feed_port}", "--batch-s", str(args.batch_s),
         "--reorder-window-s", str(args.window_s),
         "--ws-deflate" if args.ws_deflate else "--no-ws-deflate"],
        env=env, stdout=subprocess.DEVNULL, stderr=err,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(url, server)
    cpu0, rss0 = _proc_stats(server.pid)
    procs = []
    k = max(1, min(args.client_procs, n))
    for i in range(k):
        mine = specs[i::k]
        p = subprocess.Popen(
            [PY, str(HERE / "serve_live.py"), "clients"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert p.stdin is not None
        job = {"url": url.replace("http", "ws"), "light": sc["light"], "clients": mine}
        p.stdin.write(json.dumps(job) + "\n")
        p.stdin.flush()
        procs.append(p)
    t_connect = time.monotonic()
    for p in procs:
        assert p.stdout is not None
        json.loads(p.stdout.readline())
    connect_s = time.monotonic() - t_connect
    cpu1, rss1 = _proc_stats(server.pid)
    ccpu1 = sum(_proc_stats(p.pid)[0] for p in procs)
    kcpu1 = _children_cpu(server.pid)
    feed.stdin.write("go\n")
    feed.stdin.flush()
    t_go = time.monotonic()
    samples = []
    while feed.poll() is None:
        line = feed.stdout.readline()
        if line:
            sent = json.loads(line)
            break
        time.sleep(0.5)
    run_s = time.monotonic() - t_go
    cpu2, rss2 = _proc_stats(server.pid)
    ccpu2 = sum(_proc_stats(p.pid)[0] for p in procs)
    kcpu = _children_cpu(server.pid) - kcpu1
    samples.append(os.getloadavg())
    time.sleep(args.window_s + args.batch_s + 3)
    metrics = httpx.get(
        f"{url}/metrics", headers={"Authorization": f"Bearer {specs[0]['token']}"}, timeout=300
    )
    outs: list[dict[str, Any]] = [{} for _ in specs]
    for i, p in enumerate(procs):
        assert p.stdin is not None
        assert p.stdout is not None
        p.stdin.write("stop\n")
        p.stdin.flush()
        outs[i::k] = json.loads(p.stdout.read())  # process i ran specs[i::k], in that order
        p.wait(60)
    load1 = os.getloadavg()
    server.send_signal(signal.SIGTERM)
    t_stop = time.monotonic()
    try:
        server.wait(300)
        print(f"server stopped {time.monotonic() - t_stop:.1f} s after SIGTERM")
    except subprocess.TimeoutExpired:
        print("ERROR: the server did not stop within 300 s of SIGTERM; killed")
        server.kill()
        server.wait()
    feed.stdin.close()
    feed.wait(30)
    stored_metric = next(
        (float(x.split()[-1]) for x in metrics.text.splitlines()
         if x.startswith("seawatch_ingest_positions_total")), float("nan"),
    )  # fmt: skip
    stats = (cpu0, rss0, cpu1, rss1, cpu2, rss2, ccpu2 - ccpu1, _delays(metrics.text),
             _memory(metrics.text), kcpu)  # fmt: skip
    _report(args, sc, rate, n, tmp, env, specs, outs, sent, run_s, connect_s, stats,
            stored_metric, load0, load1, percentile_ms)  # fmt: skip


def _report(
    args: argparse.Namespace, sc: dict[str, Any], rate: float, n: int, tmp: Path,
    env: dict[str, str], specs: list[dict[str, Any]], outs: list[dict[str, Any]],
    sent: dict[str, Any], run_s: float, connect_s: float, proc: tuple[Any, ...],
    stored_metric: float, load0: tuple[float, ...], load1: tuple[float, ...], pct: Any,
) -> None:  # fmt: skip
    cpu0, rss0, cpu1, rss1, cpu2, rss2, client_cpu, delays, memory, kcpu = proc
    kept = sum(p.read_bytes().count(b"\n") for p in (tmp / "data" / "live").glob("*/1/*.nmea"))
    settings = load_settings(env={k: v for k, v in env.items() if k.startswith("SEAWATCH_")})
    cutoff = int(sent["t1"] - args.window_s - 2)
    lost = 0
    with open_store(tmp / "node.duckdb", settings) as store:
        stored = store.counts()["positions"]
        if not sc["light"]:
            cache: dict[tuple[Any, ...], int] = {}
            for spec, out in zip(specs, outs, strict=True):
                key = (spec["reader"], spec["box"])
                if key not in cache:
                    q = Query(store, Reader.parse(spec["reader"], store.policy))
                    t = q.positions(bbox=spec["box"]).column("ts")
                    secs = [x.timestamp() for x in t.to_pylist()]
                    cache[key] = sum(1 for s in secs if s < cutoff)
                got = sum(v for k, v in out["per_s"].items() if int(k) < cutoff)
                out["expected"], out["got"] = cache[key], got
                lost += max(0, cache[key] - got)
    hists = [o["hist"] for o in outs]
    positions = sum(o["positions"] for o in outs)
    errors = [e for o in outs for e in o["errors"]]
    missed = sum(o["missed"] for o in outs)

    def spread(key: str) -> str:
        got = sorted(o[key] for o in outs if key in o) or [float("nan")]
        p99 = got[min(len(got) - 1, round(0.99 * (len(got) - 1)))]
        return f"p50 {got[len(got) // 2]:.0f}, p99 {p99:.0f}, max {got[-1]:.0f} ms"

    print(f"bench/serve --live {args.live}  ({dt.datetime.now(dt.UTC).date()}, {tmp})")
    print(f"goal: {GOALS[args.live]}")
    print(
        f"feed: {sent['sent']:,} lines in {run_s:.1f} s ({sent['sent'] / run_s:,.0f}/s asked "
        f"{rate:,.0f}); server kept {kept:,} lines ({sent['sent'] - kept:,} lost on the way)"
    )
    print(f"stored positions {stored:,} (/metrics before stop {stored_metric:,.0f})")
    print(
        f"clients {n}: connected+subscribed in {connect_s:.1f} s; handshake {spread('connect_ms')}"
        f"; subscribe -> ack {spread('ack_ms')}; connect -> first ack {spread('open_ack_ms')} "
        f"(each new token's KDF is in one of these); the same again -> ack "
        f"{spread('again_ms')} (no KDF)"
    )
    under = sorted(x for o in outs for x in o.get("feed_ack_ms", ()))
    if under:
        print(
            f"under feed, the same subscription again -> ack ({len(under)} times, one client "
            f"in {RESUB_EVERY_CLIENTS} every {RESUB_S:g} s): p50 {under[len(under) // 2]:.0f}, "
            f"p99 {under[min(len(under) - 1, round(0.99 * (len(under) - 1)))]:.0f}, "
            f"max {under[-1]:.0f} ms"
        )
    print(
        f"received {positions:,} positions ({positions / run_s / n:,.0f}/s per client), "
        f"{sum(o['events'] for o in outs):,} events, {sum(o['frames'] for o in outs):,} "
        f"frames, {sum(o['bytes'] for o in outs) / 1e6:,.0f} MB; missed (told) {missed:,}"
    )
    if not sc["light"]:
        print(
            f"per client, positions received vs Query (ts < feed end - {args.window_s + 2:g} s):"
            f" {lost:,} missing in all; worst "
            + str(min(((o["got"] - o["expected"]), o["got"], o["expected"]) for o in outs))
        )
    mode = "worst item of each frame" if sc["light"] else "each item"
    print(
        f"latency ({mode}): p50 {pct(hists, 0.5):.0f} ms, p99 {pct(hists, 0.99):.0f} ms, "
        f"max {pct(hists, 1.0):.0f} ms"
    )
    from serve_live import SAMPLE_EVERY

    own = [o["own_hist"] for o in outs if "own_hist" in o]
    if sc["light"] and own and sum(sum(h["n"]) for h in own):
        print(
            f"latency (each item by its own ts, one columnar frame in {SAMPLE_EVERY} per client "
            f"parsed whole: {sum(sum(h['n']) for h in own):,} items): p50 {pct(own, 0.5):.0f} ms, "
            f"p99 {pct(own, 0.99):.0f} ms, max {pct(own, 1.0):.0f} ms"
        )
    print(f"server's delays (where rows waited): {delays}")
    print(f"server's memory at the end of the feed (MiB, /metrics): {memory}")
    print(f"errors {len(errors)}: {errors[:3]}")
    print(
        f"server: RSS {rss0} MiB idle, {rss1} MiB with clients, {rss2} MiB at the end; CPU "
        f"{(cpu1 - cpu0) / max(connect_s, 1e-9):.0%} while connecting, "
        f"{(cpu2 - cpu1) / run_s:.0%} while feeding (of one core: {cpu2 - cpu1:.1f} CPU-s); "
        f"the {args.client_procs} client processes {client_cpu / run_s:.0%} "
        f"({client_cpu:.1f} CPU-s)"
    )
    print(f"the server's child processes (its detectors'): {kcpu / run_s:.0%} while feeding "
          f"({kcpu:.1f} CPU-s)")  # fmt: skip
    print(
        f"batch-s {args.batch_s}, reorder window {args.window_s} s, deflate {args.ws_deflate}, "
        f"form {args.form}, client procs "
        f"{args.client_procs}, sim {args.sim_vessels} vessels"
    )
    print(
        "load average (1, 5, 15 min): before {:.2f} {:.2f} {:.2f}".format(*load0)
        + ", after {:.2f} {:.2f} {:.2f}".format(*load1)
    )
    print(f"peers: {PEERS}")
    if not args.no_reference:  # last: long on big runs
        batch = sorted((tmp / "data" / "live").glob("*/1/*.nmea"))
        subprocess.run(
            [
                PY,
                "-m",
                "seawatch.cli.main",
                "ingest",
                "--detect",
                "--db",
                str(tmp / "ref.duckdb"),
                *map(str, batch),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        with open_store(tmp / "ref.duckdb", settings) as ref_store:
            ref = ref_store.counts()["positions"]
        print(f"reference ingest of the kept lines: {ref:,} positions (stored {stored:,})")
