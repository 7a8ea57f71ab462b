"""``bench/serve.py --windows random``: the REST API's p95 on a big existing store.

The store is bench/store.py's (``--positions 100000000``: the bay-of-bengal sample replicated
as 10 fleets, a copy a day). Requests are picked the way bench/store.py picks its queries
(``random.Random(4)``): ``--repeat`` viewports of 5 x 5 degrees inside the data's extent, each
with a random day, a random vessel's track over the first 30 days, latest positions in the
viewport over the day. Events: that store has none, so the detectors (tracks, gap, encounter,
loitering, ...; no geography) first run over its first ``--detect-days`` days and their events
are stored with labels combined from the positions', as ingest does. Then:

- viewport: ``GET /api/v1/positions?bbox=..&datetime=day&limit=L`` (the first page);
- track: ``GET /api/v1/vessels/{mmsi}/track?datetime=30 days&limit=10000`` (all of it);
- latest: ``GET /api/v1/latest?bbox=..&datetime=day&limit=10000``;
- events: ``GET /api/v1/events?limit=L`` (first page of all events);
- events_area: ``GET /api/v1/events?bbox=..&datetime=day&limit=L`` over the detected days.

Each through a real ``seawatch serve`` (uvicorn, loopback) with one httpx connection, JSON,
with the same read through :class:`~seawatch.store.query.Query` in this process as the peer.
The server runs with ``SEAWATCH_API_RATE_PER_S=100000`` so the per-token rate limit (20/s by
default) does not throttle the bench.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa

from seawatch.decode.schemas import SCHEMAS
from seawatch.engine import Pipeline
from seawatch.labels import Reader
from seawatch.labels.rules import LabelRules
from seawatch.serve.accounts import create_user
from seawatch.settings import Settings, load_settings
from seawatch.store import Store, open_store
from seawatch.store.query import Query
from seawatch.store.records import Labeller

READER = "USA:SECRET"  # bench/store.py's reader
GOAL_MS = 100.0
UTC_TS = pa.timestamp("us", tz="UTC")


def add_store_options(ap: argparse.ArgumentParser) -> None:
    g = ap.add_argument_group("a big store (--windows random)")
    g.add_argument(
        "--windows",
        choices=("fixed", "random"),
        default="fixed",
        help="fixed: the make-run store's windows (default); random: bench/store.py's way",
    )
    g.add_argument("--in-place", action="store_true", help="add user/events to --db itself")
    g.add_argument("--detect-days", type=int, default=7, help="days to detect events over")
    g.add_argument("--reader", default=READER)
    g.add_argument("--seed", type=int, default=4)


def _sql(store: Store, sql: str, *params: object) -> pa.Table:
    """A DuckDB query's result as Arrow (the bench is for DuckDB stores)."""
    con = store.backend.con  # type: ignore[attr-defined]
    return con.sql(sql, params=list(params) or None).to_arrow_table()


def detect_events(store: Store, settings: Settings, days: int) -> int:
    """Run the detectors over the store's first ``days`` days; store their events."""
    labeller = Labeller(store, LabelRules.from_settings(settings, store.policy))
    lo = _sql(store, "SELECT min(ts) AS lo FROM positions").column("lo")[0].as_py()
    stored_cols = set(_sql(store, "SELECT * FROM positions LIMIT 0").column_names)
    want = SCHEMAS["positions"]
    pipe = Pipeline(geography=False)
    statics = SCHEMAS["statics"].empty_table()
    stored = 0
    t0 = time.perf_counter()
    for d in range(days + 1):
        if d < days:
            got = _sql(
                store,
                "SELECT * FROM positions WHERE ts >= ? AND ts < ? ORDER BY ts, mmsi",
                lo + timedelta(days=d),
                lo + timedelta(days=d + 1),
            )
            labeller.vessels.add(got)
            n = got.num_rows
            table = pa.Table.from_arrays(
                [
                    got.column(f.name).cast(f.type)
                    if f.name in stored_cols
                    else pa.nulls(n, f.type)
                    for f in want
                ],
                schema=want,
            )
            result = pipe.feed(table, statics)
        else:
            result = pipe.finish()
        if result.events.num_rows:
            with store.transaction():
                stored += store.write("events", labeller.derived(result.events, kind="events"))
    print(
        f"detected and stored {stored:,} events over {days} days in "
        f"{time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
    )
    return stored


def _pct_ms(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) * 1e3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) process ``pid`` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _plan(store: Store, args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    """Each request kind's ``--repeat`` parameter sets, drawn like bench/store.py's."""
    ext = _sql(
        store,
        "SELECT min(ts) AS lo, max(ts) AS hi, min(lon) AS x0, max(lon) AS x1, "
        "min(lat) AS y0, max(lat) AS y1 FROM positions",
    ).to_pylist()[0]
    ev = _sql(store, "SELECT min(start_ts) AS a, max(start_ts) AS b FROM events").to_pylist()[0]
    mmsis = _sql(store, "SELECT DISTINCT mmsi FROM positions ORDER BY mmsi").column("mmsi")
    mmsis = mmsis.to_pylist()
    lo, hi = ext["lo"], ext["hi"]
    rng = random.Random(args.seed)
    days = max(1, (hi - lo).days)
    ev_days = max(1, ((ev["b"] or lo) - (ev["a"] or lo)).days)
    plan: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}

    def iso(a: datetime, b: datetime) -> str:
        return f"{a.isoformat()}/{b.isoformat()}"

    for _ in range(args.repeat):
        start = lo + timedelta(days=rng.uniform(0, max(0, days - 1)))
        x = rng.uniform(ext["x0"], max(ext["x0"], ext["x1"] - 5))
        y = rng.uniform(ext["y0"], max(ext["y0"], ext["y1"] - 5))
        bbox = (x, y, x + 5, y + 5)
        window = (start, start + timedelta(days=1))
        m = rng.choice(mmsis)
        ev_start = (ev["a"] or lo) + timedelta(days=rng.uniform(0, max(0, ev_days - 1)))
        ev_window = (ev_start, ev_start + timedelta(days=1))
        box = ",".join(f"{v:.4f}" for v in bbox)
        bbox = tuple(float(v) for v in box.split(","))  # the same box both ways
        plan["viewport"].append(
            {
                "path": "/api/v1/positions",
                "params": {"bbox": box, "datetime": iso(*window), "limit": args.limit},
                "query": ("positions", {"bbox": bbox, "start": window[0], "end": window[1]}),
            }
        )
        month = (lo, lo + timedelta(days=30))
        plan["track"].append(
            {
                "path": f"/api/v1/vessels/{m}/track",
                "params": {"datetime": iso(*month), "limit": 10_000},
                "query": ("positions", {"mmsi": m, "start": month[0], "end": month[1]}),
                "limit": 10_000,
            }
        )
        plan["latest"].append(
            {
                "path": "/api/v1/latest",
                "params": {"bbox": box, "datetime": iso(*window), "limit": 10_000},
                "query": ("latest", {"bbox": bbox, "start": window[0], "end": window[1]}),
                "limit": 10_000,
            }
        )
        plan["events"].append(
            {"path": "/api/v1/events", "params": {"limit": args.limit}, "query": ("events", {})}
        )
        plan["events_area"].append(
            {
                "path": "/api/v1/events",
                "params": {"bbox": box, "datetime": iso(*ev_window), "limit": args.limit},
                "query": ("events", {"bbox": bbox, "start": ev_window[0], "end": ev_window[1]}),
            }
        )
    return plan


KINDS = ("viewport", "track", "latest", "events", "events_area")
AUTHS = ("bearer", "session")  # Authorization: Bearer (scrypt per request); the map's cookie


def store_main(args: argparse.Namespace) -> None:
    if not args.db.exists():
        sys.exit(f"no store at {args.db}: build it with bench/store.py --db {args.db}")
    env = {**os.environ, "SEAWATCH_NODE_NATION": "IND", "SEAWATCH_API_RATE_PER_S": "100000",
           "SEAWATCH_API_BURST": "100000"}  # fmt: skip
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with tempfile.TemporaryDirectory(prefix="bench-serve-", dir=args.db.parent) as tmp:
        db = args.db
        if not args.in_place:
            db = Path(tmp) / "store.duckdb"
            shutil.copy(args.db, db)
        with open_store(db, settings) as store:
            n_events = _sql(store, "SELECT count(*) AS n FROM events").column("n")[0].as_py()
            if n_events == 0:
                n_events = detect_events(store, settings, args.detect_days)
            n_pos = _sql(store, "SELECT count(*) AS n FROM positions").column("n")[0].as_py()
            name = f"bench-{os.getpid()}-{int(time.time())}"
            token = create_user(store, name, args.reader)[1]
            plan = _plan(store, args)
            q = Query(store, Reader.parse(args.reader, store.policy))
            direct: dict[str, list[float]] = {}
            direct_cpu: dict[str, float] = dict.fromkeys(KINDS, 0.0)
            rows: dict[str, list[int]] = {}
            for kind in KINDS:
                direct[kind], rows[kind] = [], []
                for i, p in enumerate(plan[kind]):
                    listing, filters = p["query"]
                    lim = p.get("limit", args.limit)
                    t0, c0 = time.perf_counter(), time.process_time()
                    n = q.page(listing, limit=lim, **filters).rows.num_rows
                    s = time.perf_counter() - t0
                    if i:  # the first is a warm-up
                        direct[kind].append(s)
                        direct_cpu[kind] += time.process_time() - c0
                    rows[kind].append(n)
        port = _free_port()
        # the access log to a file: an undrained pipe fills and blocks the server
        log = (Path(tmp) / "serve.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(port),
             "--db", str(db)],
            env=env, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        http: dict[tuple[str, str], list[float]] = {}
        cpu: dict[tuple[str, str], float] = {}  # the server's CPU seconds per request
        nbytes: dict[str, list[int]] = {k: [] for k in KINDS}
        load: list[float] = []
        try:
            url = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=url, timeout=120) as c:
                deadline = time.monotonic() + 120
                while True:
                    try:
                        if c.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline or server.poll() is not None:
                        sys.exit("the server did not start")
                    time.sleep(0.1)
                for auth in AUTHS:
                    c.cookies.clear()
                    c.headers.pop("Authorization", None)
                    if auth == "bearer":
                        c.headers["Authorization"] = f"Bearer {token}"
                    else:  # the web map's way: a session cookie from the token
                        c.post("/api/v1/session", json={"token": token}).raise_for_status()
                    for kind in ("me", *KINDS):
                        load.append(os.getloadavg()[0])
                        http[auth, kind] = []
                        reqs = (
                            plan[kind]
                            if kind in plan
                            else [{"path": "/api/v1/me", "params": {}}] * args.repeat
                        )
                        for i, p in enumerate(reqs):
                            t0 = time.perf_counter()
                            r = c.get(p["path"], params=p["params"])
                            body = r.raise_for_status().content
                            took = time.perf_counter() - t0
                            if i:
                                http[auth, kind].append(took)
                                if kind in nbytes and auth == "bearer":
                                    nbytes[kind].append(len(body))
                            else:
                                cpu0 = _cpu_s(server.pid)
                        cpu[auth, kind] = (_cpu_s(server.pid) - cpu0) / (len(reqs) - 1)
        finally:
            server.terminate()
            server.wait(60)
    print(
        f"bench/serve --windows random: {args.db} ({n_pos:,} positions, {n_events:,} events), "
        f"reader {args.reader}, {args.repeat - 1} requests each after a warm-up, JSON, "
        f"page limit {args.limit} (track and latest 10,000); auth: bearer token, session cookie"
    )
    print(
        f"{'request':<12} {'rows':>6} {'KB':>6} {'Query p95':>10} {'Query CPU':>10} "
        + " ".join(f"{a + ' p50':>12} {a + ' p95':>12} {a[:6] + ' CPU':>11}" for a in AUTHS)
    )
    for kind in ("me", *KINDS):
        cells = " ".join(
            f"{_pct_ms(http[a, kind], 50):>10.1f}ms {_pct_ms(http[a, kind], 95):>10.1f}ms "
            f"{cpu[a, kind] * 1e3:>9.1f}ms"
            for a in AUTHS
        )
        if kind == "me":
            print(f"{'me (auth)':<12} {'-':>6} {'-':>6} {'-':>10} {'-':>10} {cells}")
            continue
        print(
            f"{kind:<12} {statistics.median(rows[kind]):>6,.0f} "
            f"{statistics.median(nbytes[kind]) / 1e3:>6,.0f} {_pct_ms(direct[kind], 95):>8.1f}ms "
            f"{direct_cpu[kind] / len(direct[kind]) * 1e3:>8.1f}ms {cells}"
        )
    print(
        "rows, KB: medians; CPU: the server's CPU time per request (user + system, all its "
        "threads: what the request costs whatever else runs), Query CPU: this process's per "
        "Query.page"
    )
    print(
        f"goal: p95 < {GOAL_MS:.0f} ms each; load average (1 min) during the HTTP runs "
        f"{min(load):.2f}-{max(load):.2f}, now (1, 5, 15 min) "
        "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    )
