"""The REST API's latency through HTTP, against the store's own query layer as the peer.

Serves a store (default: the one `make run` builds, ``data/run/seawatch.duckdb``) with a real
uvicorn server on a loopback port in a subprocess (``seawatch serve``), makes a token, then
times each request kind ``--repeat`` times with a real HTTP client (httpx, one connection):

- viewport: ``/api/v1/positions`` in a 10° box over one day (first page, ``--limit`` rows);
- track: ``/api/v1/vessels/{mmsi}/track`` of the busiest vessel over the whole store;
- latest: ``/api/v1/latest`` in the viewport;
- events: ``/api/v1/events`` first page.

The peer is the same read through :class:`seawatch.store.query.Query` in this process (the
layer every route reads through): the ratio says what HTTP, JSON and the label filter add.
Prints p50/p95 per kind, the ratio of p95s, and the load average. Run on demand:

    .venv/bin/python bench/serve.py --db data/run/seawatch.duckdb --repeat 30

``--windows random`` serves an existing big store (bench/store.py's, e.g. 100 M positions)
and picks its requests the way bench/store.py does: ``--repeat`` random 5x5-degree viewports
inside the data's extent, each with a random day, a random vessel's 30-day track, latest
positions in the viewport over that day, and an events page (a first page over the whole
store and one in the viewport + day). A store without events gets some first: the
detectors run over its first ``--detect-days`` days (bench/serve_store.py). ``--in-place``
adds the bench user (and those events) to the store itself instead of a copy::

    .venv/bin/python bench/serve.py --windows random --db /tmp/bench100/bench100.duckdb \
        --in-place --repeat 50 --limit 1000

``--live SCENARIO`` measures the live streams instead (bench/serve_live.py says how):
``ingest`` (20,000 msg/s, 50 WebSocket subscribers of mixed readers and bboxes: loss,
latency p99, errors), ``latency`` (1,000 msg/s: NMEA line in -> client frame p99),
``fanout`` (200 clients, each its own user and bbox) and ``idle`` (1,000 idle subscribers
held: the server's memory and CPU)::

    .venv/bin/python bench/serve.py --live ingest --duration-s 600
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from seawatch.labels import Reader
from seawatch.serve.accounts import create_user
from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.query import Query

sys.path.insert(0, str(Path(__file__).parent))
from serve_live_run import add_live_options, live_main
from serve_store import add_store_options, store_main

READER = "IND:TOP SECRET"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def _time(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=Path("data/run/seawatch.duckdb"))
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--bbox", default="80,5,90,15", help="the viewport")
    add_live_options(ap)
    add_store_options(ap)
    args = ap.parse_args()
    if args.live:
        live_main(args)
        return
    if args.windows == "random":
        store_main(args)
        return
    if not args.db.exists():
        sys.exit(f"no store at {args.db}: run `make run` first or give --db")
    env = {**os.environ, "SEAWATCH_NODE_NATION": os.environ.get("SEAWATCH_NODE_NATION", "IND")}
    settings = load_settings(env={"SEAWATCH_NODE_NATION": env["SEAWATCH_NODE_NATION"]})
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        db = Path(tmp) / "store.duckdb"
        shutil.copy(args.db, db)  # the user table is added to a copy, never to the original
        with open_store(db, settings) as store:
            token = create_user(store, "bench", READER)[1]
            q = Query(store, Reader.parse(READER, store.policy))
            t0 = q.latest().column("ts").to_pylist()
            day_end = max(t for t in t0 if t is not None)
            day = (day_end - dt.timedelta(days=1), day_end)
            pos = q.positions()
            counts = (
                pos.group_by("mmsi")
                .aggregate([("ts", "count")])
                .sort_by([("ts_count", "descending")])
            )
            mmsi = int(counts.column("mmsi")[0].as_py())
            box = tuple(float(v) for v in args.bbox.split(","))
            peers: dict[str, Callable[[], Any]] = {
                "viewport": lambda: q.page(
                    "positions", limit=args.limit, bbox=box, start=day[0], end=day[1]
                ),
                "track": lambda: q.track(mmsi),
                "latest": lambda: q.latest(bbox=box),
                "events": lambda: q.page("events", limit=args.limit),
            }
            direct = {name: _time(fn, args.repeat) for name, fn in peers.items()}
        port = _free_port()
        # the access log to a file: an undrained pipe fills and blocks the server
        log = (Path(tmp) / "serve.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(port),
             "--db", str(db)],
            env=env, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if c.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline or server.poll() is not None:
                        sys.exit("the server did not start")
                    time.sleep(0.1)
                window = f"{day[0].isoformat()}/{day[1].isoformat()}"
                calls: dict[str, Callable[[], Any]] = {
                    "viewport": lambda: c.get(
                        "/api/v1/positions",
                        params={"bbox": args.bbox, "datetime": window, "limit": args.limit},
                    ).raise_for_status(),
                    "track": lambda: c.get(
                        f"/api/v1/vessels/{mmsi}/track", params={"limit": 10000}
                    ).raise_for_status(),
                    "latest": lambda: c.get(
                        "/api/v1/latest", params={"bbox": args.bbox, "limit": 10000}
                    ).raise_for_status(),
                    "events": lambda: c.get(
                        "/api/v1/events", params={"limit": args.limit}
                    ).raise_for_status(),
                }
                http = {name: _time(fn, args.repeat) for name, fn in calls.items()}
        finally:
            server.terminate()
            server.wait(30)
    print(f"bench/serve: {args.db} ({READER}), {args.repeat} requests each after a warm-up")
    print(
        f"{'request':<10} {'HTTP p50 ms':>12} {'HTTP p95 ms':>12} {'Query p95 ms':>13} {'ratio':>7}"
    )
    for name in calls:
        h95, d95 = _pct(http[name], 0.95) * 1e3, _pct(direct[name], 0.95) * 1e3
        h50 = statistics.median(http[name]) * 1e3
        print(f"{name:<10} {h50:>12.1f} {h95:>12.1f} {d95:>13.1f} {h95 / d95:>6.2f}x")
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
