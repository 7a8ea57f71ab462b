"""Store benchmark: ingest rate, query latencies and bytes per position (issue 4).

In: the decoded positions of ``data/sample/bay-of-bengal.nmea`` (real AIS), replicated to
``--positions`` rows: copy ``k`` is fleet ``k % fleets`` (MMSIs shifted by ``fleet * 10**6``,
so vessel populations stay bounded) shifted in time by ``k // fleets`` days (the sample
spans a few hours of one day), so each vessel sails for weeks. Out: a Markdown section
for bench/RESULTS.md on stdout.

Timed: the store's write path as ingest runs it (message keys, labels by the settings'
rules, deduplicating insert in (day, cell) order, one transaction per chunk) for chunks of
``--chunk`` rows, without decoding; then, for a reader (``USA:SECRET``), query p95 over
``--repeat`` random windows: a viewport (5 x 5 degrees) + 1 day, one vessel's 30-day track,
latest positions in a viewport (over 1 day). Bytes per position from the database file
after a checkpoint.

PostgreSQL (``--postgres``): the ingest's CPU-seconds too, the client's (this process) and
the server's (the postmaster and its processes, autovacuum included), per million positions
(what the machine's load does not change much), and how many autovacuums and autoanalyzes of
days ran during it.

``--archive``: after the queries, ``seawatch db archive`` of every day but the
newest (timed), the database's size before and after, and the queries again, now reading
the GeoParquet files of the archived days with the table (the same windows: the row
counts must be the same).

The chunks are written in one ``Store.loading()`` (PostgreSQL: new days loaded without
indexes, indexed and attached once complete); ``--indexed``: without it. PostgreSQL:
``--writers`` sets ``db_writers`` (parallel writer connections). ``--maintain``
(both backends) runs ``seawatch db maintain`` after the queries (timed) and the queries
again on the same store (PostgreSQL: closed days rewritten in track order; DuckDB: closed
days copied in vessel order, read by tracks).

    .venv/bin/python bench/store.py --positions 10_000_000 --db /tmp/bench.duckdb
    .venv/bin/python bench/store.py --positions 2_000_000 --postgres   # throwaway server
    .venv/bin/python bench/store.py --positions 10_000_000 --postgres --writers 2 --maintain
    .venv/bin/python bench/store.py --positions 10_000_000 --archive --db /tmp/bench.duckdb

``--pg-socket``: the bench connects to its server through the unix socket instead of TCP on
127.0.0.1 (a database on the reader's host): the same rows, less CPU on both sides to move
them (a viewport's ~7 MB; bench/RESULTS.md, 2026-12-08 session 7 h-pg).

``--warm-up``: before the timed windows, one read of each kind that no window reads (a
viewport south of every window's box, on a day no window reads; a vessel of no window), timed on a
line of its own: the process's first reads (the area read's second connection opened,
first calls) are then not one of the 30 windows, whose p95 lies between the 2nd and 3rd
slowest (bench/RESULTS.md, 2026-12-08 session 8 h-pg).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.decode import decode_stream
from seawatch.decode.keys import message_keys
from seawatch.labels import LabelRules, Reader
from seawatch.settings import load_settings
from seawatch.store import open_store, redact_url
from seawatch.store.query import Query
from seawatch.store.records import Labeller, vessel_rows

# --postgres: durable (fsync on) like production, with memory for a bulk load
PG_BENCH_SETTINGS = ("shared_buffers=1GB", "max_wal_size=4GB", "max_prepared_transactions=16")
INGEST_GOAL = {  # positions/s: the store issue's for DuckDB, issue 17's for PostgreSQL
    "DuckDB": "≥ 500,000/s",
    "PostgreSQL": "≥ 300,000/s",
}
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "bay-of-bengal.nmea"


def sample_positions() -> pa.Table:
    if not SAMPLE.exists():  # what `seawatch demo` writes there
        from seawatch.sim.synth import write_sample

        SAMPLE.parent.mkdir(parents=True, exist_ok=True)
        write_sample(SAMPLE)
    settings = load_settings(env={})
    parts = [
        b.tables["positions"]
        for b in decode_stream(SAMPLE, settings=settings)
        if "positions" in b.tables
    ]
    return vessel_rows(pa.concat_tables(parts)).select(
        [
            "ts",
            "mmsi",
            "msg_type",
            "nav_status",
            "lat",
            "lon",
            "speed_kn",
            "course_deg",
            "heading_deg",
            "accuracy",
            "station",
        ]
    )


def copies(base: pa.Table, total: int, fleets: int, chunk: int):  # type: ignore[no-untyped-def]
    ts = pc.cast(base.column("ts"), pa.int64()).to_numpy()
    span = max(int(ts.max() - ts.min()) + 1_000_000, 86_400_000_000)  # a copy a day
    mmsi = base.column("mmsi").to_numpy()
    made, k, pending = 0, 0, []
    while made < total:
        fleet, shift = k % fleets, k // fleets
        n = min(base.num_rows, total - made)
        t = base.slice(0, n)
        t = t.set_column(0, "ts", pa.array(ts[:n] + shift * span, pa.timestamp("us", tz="UTC")))
        t = t.set_column(
            1, "mmsi", pa.array((mmsi[:n] % 10**6) + (100 + fleet) * 10**6, pa.int32())
        )
        pending.append(t)
        made += n
        k += 1
        if sum(p.num_rows for p in pending) >= chunk or made >= total:
            yield pa.concat_tables(pending)
            pending = []


def socket_url(url: str, directory: Path) -> str:
    """``url`` (``postgresql://user:password@host:port/db``) reaching the same server through
    its unix socket in ``directory`` (libpq's ``host`` parameter)."""
    from urllib.parse import quote, urlsplit

    u = urlsplit(url)
    auth = u.netloc.rsplit("@", 1)[0]
    query = f"host={quote(str(directory), safe='/')}&port={u.port}"
    return f"{u.scheme}://{auth}@{u.path}?{query}"


def server_cpu_s(postmaster: int | None) -> float:
    """CPU-seconds of a PostgreSQL server so far: its postmaster's, the processes it ran
    and reaped (backends, autovacuum workers, parallel workers), and those still running."""
    if postmaster is None:
        return 0.0
    import psutil

    pm = psutil.Process(postmaster)
    t = pm.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in pm.children():
        with contextlib.suppress(psutil.NoSuchProcess):
            c = child.cpu_times()
            total += c.user + c.system
    return float(total)


def autovacuums(store) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Autovacuums and autoanalyzes of positions' days so far (PostgreSQL)."""
    got = store.backend.fetch(
        "SELECT coalesce(sum(autovacuum_count), 0) AS autovacuum, "
        "coalesce(sum(autoanalyze_count), 0) AS autoanalyze FROM pg_stat_user_tables "
        "WHERE relname LIKE 'positions_p%'",
        (),
        pa.schema([("autovacuum", pa.float64()), ("autoanalyze", pa.float64())]),
    )
    return {k: float(v) for k, v in got.to_pylist()[0].items()}


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--positions", type=int, default=10_000_000)
    ap.add_argument("--chunk", type=int, default=1_000_000)
    ap.add_argument("--fleets", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument(
        "--maintain",
        action="store_true",
        help="after the queries, run `db maintain` (timed) and the queries again",
    )
    ap.add_argument(
        "--archive",
        action="store_true",
        help="after the queries, archive every day but the newest (timed; PostgreSQL: to "
        "/tmp/bench-pg.archive), sizes "
        "before and after, and the queries again",
    )
    ap.add_argument(
        "--indexed",
        action="store_true",
        help="write every chunk into indexed partitions (no `Store.loading`: PostgreSQL's "
        "way before its bulk loads of new days)",
    )
    ap.add_argument(
        "--writers",
        type=int,
        default=0,
        help="db_writers: PostgreSQL connections writing a chunk (0: the setting's default)",
    )
    ap.add_argument(
        "--db-memory-limit",
        default=None,
        help="db_memory_limit for DuckDB, e.g. 4GiB (0: DuckDB's own; default: the setting's)",
    )
    ap.add_argument(
        "--db",
        default="/tmp/seawatch-bench-store.duckdb",
        help="DuckDB file (replaced), or an empty PostgreSQL database's postgresql:// URL",
    )
    ap.add_argument(
        "--postgres",
        action="store_true",
        help="start a throwaway local PostgreSQL server (tests/store/pgserver.py, durable "
        f"settings: {', '.join(PG_BENCH_SETTINGS)}) and use it instead of --db",
    )
    ap.add_argument(
        "--pg-dir",
        type=Path,
        default=None,
        help="with --postgres: the server's directory, kept (stopped) after the run; when an "
        "earlier run built its store there, the queries are measured on that store again "
        "without an ingest (--positions, --chunk, --fleets must be the same)",
    )
    ap.add_argument(
        "--pg-socket",
        action="store_true",
        help="with --postgres: connect over the server's unix socket, not TCP on 127.0.0.1 "
        "(a database on the same host; the rows cross no TCP stack)",
    )
    ap.add_argument(
        "--warm-up",
        action="store_true",
        help="before the timed windows, one untimed read of each kind outside them (shown on "
        "its own line): the process's first reads (connections, first calls) not in the p95",
    )
    ap.add_argument(
        "--windows-out",
        type=Path,
        default=None,
        help="write each timed query as a JSON line (queries after, kind, window, rows, ms): "
        "which windows make a p95",
    )
    ap.add_argument(
        "--pg-setting",
        action="append",
        default=[],
        help="with --postgres: another server setting name=value (after the bench's own)",
    )
    args = ap.parse_args()
    args.built = args.postmaster = None
    with contextlib.ExitStack() as stack:
        if args.postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))
            from pgserver import postgres_server  # type: ignore[import-not-found]

            args.server_settings = (*PG_BENCH_SETTINGS, *args.pg_setting)
            server = stack.enter_context(
                postgres_server(settings=args.server_settings, keep=args.pg_dir)
            )
            args.postmaster = int((server.datadir / "postmaster.pid").read_text().split()[0])
            if args.pg_dir is not None and (args.pg_dir / "bench.json").is_file():
                args.built = json.loads((args.pg_dir / "bench.json").read_text())
                same = {k: getattr(args, k) for k in ("positions", "chunk", "fleets")}
                if {k: args.built[k] for k in same} != same:
                    ap.error(f"--pg-dir {args.pg_dir} holds a store built with {args.built}")
                args.db = server.url("bench")
            else:
                args.db = server.create_database("bench")
            if args.pg_socket:
                args.db = socket_url(args.db, server.root)
        elif "://" not in args.db:
            for p in (Path(args.db), Path(args.db + ".wal")):
                p.unlink(missing_ok=True)
            shutil.rmtree(Path(args.db).with_suffix(".archive"), ignore_errors=True)
        run(args)


def run(args: argparse.Namespace) -> None:
    env = {"SEAWATCH_NODE_NATION": "IND"}
    if args.writers:
        env["SEAWATCH_DB_WRITERS"] = str(args.writers)
    if args.db_memory_limit is not None:
        env["SEAWATCH_DB_MEMORY_LIMIT"] = args.db_memory_limit
    settings = load_settings(env=env)
    base = sample_positions()
    store = open_store(args.db, settings)
    postgres = "://" in args.db
    labeller = Labeller(store, LabelRules.from_settings(settings, store.policy))
    cpu: dict[str, float] = {}
    if args.built:  # --pg-dir: the store of an earlier run
        stored, ingest_s = args.built["stored"], args.built["ingest_s"]
        cpu = args.built.get("cpu", {})
    else:
        server0, client0 = server_cpu_s(args.postmaster), time.process_time()
        t0 = time.perf_counter()
        stored = 0
        with contextlib.nullcontext() if args.indexed else store.loading():
            for rows in copies(base, args.positions, args.fleets, args.chunk):
                with store.transaction():
                    rows = rows.append_column("msg_key", message_keys(rows, "positions"))
                    stored += store.write("positions", labeller.records(rows, "bench"))
        ingest_s = time.perf_counter() - t0
        if args.postmaster is not None:
            cpu = {
                "client": time.process_time() - client0,
                "server": server_cpu_s(args.postmaster) - server0,
                **autovacuums(store),
            }
    if postgres and not args.built:  # statistics for the planner, as autovacuum would
        store.backend.execute("ANALYZE positions")
    if args.postgres and args.pg_dir is not None and not args.built:
        built = {k: getattr(args, k) for k in ("positions", "chunk", "fleets")}
        built |= {"stored": stored, "ingest_s": ingest_s, "at": f"{datetime.now(UTC):%H:%M}"}
        built["cpu"] = cpu
        built["load"] = os.getloadavg()[0]
        (args.pg_dir / "bench.json").write_text(json.dumps(built))
    if postgres:
        engine = store.backend.fetch(
            "SELECT version() AS v, (SELECT count(*) FROM pg_extension "
            "WHERE extname = 'postgis') AS postgis",
            (),
            pa.schema([("v", pa.string()), ("postgis", pa.int64())]),
        ).to_pylist()[0]
        engine_text = (
            f"{' '.join(engine['v'].split()[:2])}, PostGIS {bool(engine['postgis'])}, "
            f"db_writers {settings.db_writers}"
        )
        if args.postgres:
            engine_text += f" (throwaway local server: {', '.join(args.server_settings)})"
    else:
        limit = settings.db_memory_limit
        engine_text = (
            f"duckdb {__import__('duckdb').__version__}, db_memory_limit "
            f"{f'{limit >> 20} MiB' if limit else 'DuckDB own'}"
        )
    sizes = store.backend.size_bytes()
    reader = Reader.parse("USA:SECRET", store.policy)
    q = Query(store, reader)
    lo, hi = (
        q.store.backend.fetch(
            "SELECT min(ts) AS lo, max(ts) AS hi FROM positions",
            (),
            pa.schema(
                [
                    pa.field("lo", pa.timestamp("us", tz="UTC")),
                    pa.field("hi", pa.timestamp("us", tz="UTC")),
                ]
            ),
        )
        .to_pylist()[0]
        .values()
    )
    mmsis = sorted(set(base.column("mmsi").to_pylist()))
    load = [os.getloadavg()]
    warm = warm_up(q, lo, hi, mmsis, args) if args.warm_up else None
    measured = {"": queries(q, lo, hi, mmsis, args)}
    load.append(os.getloadavg())
    maintain_s = None
    if args.maintain:
        t = time.perf_counter()
        rewritten = store.backend.maintain()
        maintain_s = time.perf_counter() - t
        measured[f", after `db maintain` ({len(rewritten)} days)"] = queries(q, lo, hi, mmsis, args)
        load.append(os.getloadavg())
    archived = None
    if args.archive:
        from seawatch.store.archive import archive, day_of

        to = Path("/tmp/bench-pg.archive") if postgres else Path(args.db).with_suffix(".archive")
        if postgres:
            shutil.rmtree(to, ignore_errors=True)
        t = time.perf_counter()
        done = archive(store, day_of(hi), to)
        archive_s = time.perf_counter() - t
        after_sizes = store.backend.size_bytes()
        archived = (done, archive_s, after_sizes)
        label = f", {len(done.days)} of {len(done.days) + 1} days archived"
        measured[label] = queries(q, lo, hi, mmsis, args)
        load.append(os.getloadavg())
        first, again = measured[""][0], measured[label][0]
        assert first == again, "archived days answered other row counts"
    store.close()
    if args.windows_out is not None:
        args.windows_out.write_text("".join(json.dumps(x) + "\n" for x in window_lines(measured)))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    backend = "PostgreSQL" if postgres else "DuckDB"
    where = "--postgres" if args.postgres else f"--db {redact_url(args.db)}"
    print(f"## Store ({backend}) — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(f"- Machine: {os.cpu_count()} cores shared with other work; git {commit}; {engine_text}.")
    print(
        f"- Command: `.venv/bin/python bench/store.py --positions {args.positions} "
        f"--chunk {args.chunk} --fleets {args.fleets} --repeat {args.repeat} {where}"
        f"{f' --writers {args.writers}' if args.writers else ''}"
        f"{f' --db-memory-limit {args.db_memory_limit}' if args.db_memory_limit else ''}"
        f"{' --maintain' if args.maintain else ''}{' --archive' if args.archive else ''}"
        f"{f' --pg-dir {args.pg_dir}' if args.pg_dir else ''}"
        f"{' --pg-socket' if args.pg_socket else ''}"
        f"{' --warm-up' if args.warm_up else ''}"
        f"{f' --windows-out {args.windows_out}' if args.windows_out else ''}"
        f"{''.join(f' --pg-setting {s}' for s in args.pg_setting)}`"
    )
    print(
        f"- Input: {base.num_rows:,} decoded positions of {SAMPLE.name} replicated to "
        f"{args.positions:,} ({args.fleets} fleets, {lo:%Y-%m-%d} .. {hi:%Y-%m-%d}).\n"
    )
    print("| measure | value | goal |\n|---|---:|---|")
    built = (
        f"; the build's of {args.built['at']} UTC, load {args.built['load']:.1f}"
        if args.built
        else ""
    )
    print(
        f"| ingest (keys, labels, dedupe insert; no decode) | {stored / ingest_s:,.0f} positions/s "
        f"({stored:,} in {ingest_s:.1f} s{built}) | {INGEST_GOAL[backend]} |"
    )
    if cpu:
        per = 1e6 / max(stored, 1)
        print(
            f"| ingest CPU, client / server (PostgreSQL's processes) | {cpu['client'] * per:.2f} / "
            f"{cpu['server'] * per:.2f} CPU-s per million positions ({cpu['client']:,.1f} / "
            f"{cpu['server']:,.1f} CPU-s; during it {cpu['autovacuum']:.0f} autovacuums, "
            f"{cpu['autoanalyze']:.0f} autoanalyzes of days) | — |"
        )
    if maintain_s is not None:
        print(f"| `db maintain` (rewrite closed days in track order) | {maintain_s:.1f} s | — |")
    if archived is not None:
        done, archive_s, after_sizes = archived
        print(
            f"| `db archive` ({len(done.days)} days, {done.rows:,} positions) | {archive_s:.1f} s"
            f" ({done.rows / archive_s:,.0f} positions/s) | — |"
        )
        print(
            f"| database file before / after archiving | {sizes['total'] / 1e6:,.1f} / "
            f"{after_sizes['total'] / 1e6:,.1f} MB (positions table "
            f"{sizes.get('positions', 0) / 1e6:,.1f} / {after_sizes.get('positions', 0) / 1e6:,.1f}"
            f" MB) | — |"
        )
        if done.reclaimed.partitions or done.reclaimed.waiting_for:
            print(
                f"| space given back after the commit | {len(done.reclaimed.partitions)} "
                f"partitions truncated, {done.reclaimed.bytes / 1e6:,.1f} MB"
                f"{' (an older read still open: not yet)' if done.reclaimed.waiting_for else ''}"
                " | — |"
            )
        print(
            f"| archive (GeoParquet, zstd) | {done.bytes / 1e6:,.1f} MB, "
            f"{done.bytes / max(done.rows, 1):.1f} bytes per position | — |"
        )
    ms = 1000.0
    for after, (rows, secs) in measured.items():
        for what, goal in (
            ("viewport 5°×5° + 1 day", "< 100 ms"),
            ("one vessel, 30 days", "< 50 ms"),
            ("latest per vessel, viewport + 1 day", "< 100 ms"),
        ):
            print(
                f"| {what}{after}, p95 (median rows {statistics.median(rows[what]):,.0f}) | "
                f"{p95(secs[what]) * ms:.0f} ms (median {statistics.median(secs[what]) * ms:.0f})"
                f" | {goal} |"
            )
    if warm is not None:
        print(
            "| the process's first reads, untimed in the p95 (viewport / track / latest "
            f"outside the windows: {WARM_BOX}, a day of no window; a vessel of no window) | "
            + " / ".join(f"{s * ms:.0f} ms" for s in warm)
            + " | — |"
        )
    print(
        f"| bytes per position (positions table / whole file) | "
        f"{sizes.get('positions', 0) / stored:.1f} / {sizes['total'] / stored:.1f} | — |"
    )
    print(
        "\nLoad average (1, 5, 15 min) after ingest, after the queries"
        + (", after those after `db maintain`" if maintain_s is not None else "")
        + (", after those after `db archive`" if archived is not None else "")
        + ": "
        + "; ".join(", ".join(f"{v:.1f}" for v in la) for la in load)
        + "."
    )


# south of every timed window's box (their latitudes start at 5.0): the sample's rows at 3-5
# degrees north are in no window, and the store's 1-degree cells keep them on pages of their own
WARM_BOX = (80.0, 3.0, 95.0, 4.99)


def windows(  # type: ignore[no-untyped-def]
    lo: datetime, hi: datetime, mmsis: list[int], args
) -> list[tuple[datetime, tuple[float, float, float, float], int]]:
    """The ``args.repeat`` random windows (a fixed seed): start, viewport, vessel."""
    rng = random.Random(4)
    days = max(1, (hi - lo).days)
    out = []
    for _ in range(args.repeat):
        start = lo + timedelta(days=rng.uniform(0, max(0, days - 1)))
        x, y = rng.uniform(80, 90), rng.uniform(5, 17)
        m = (rng.choice(mmsis) % 10**6) + (100 + rng.randrange(args.fleets)) * 10**6
        out.append((start, (x, y, x + 5, y + 5), m))
    return out


def warm_up(  # type: ignore[no-untyped-def]
    q: Query, lo: datetime, hi: datetime, mmsis: list[int], args
) -> list[float]:
    """Seconds of one read of each kind that no timed window reads (``--warm-up``): the
    process's first reads open the area read's second connection and make the first calls
    (~+20-60 ms of a first window; bench/RESULTS.md, 2026-12-08 session 8 h-pg)."""
    timed_windows = windows(lo, hi, mmsis, args)
    timed = {m for _, _, m in timed_windows}
    touched = {d for s, _, _ in timed_windows for d in (s.date(), (s + timedelta(days=1)).date())}
    start = next(  # a day no window reads (its BRIN index too), if the store has one
        (
            d
            for d in (lo + timedelta(days=k) for k in range(max(1, (hi - lo).days)))
            if not {d.date(), (d + timedelta(days=1)).date()} & touched
        ),
        lo,
    )
    vessel = next(
        v
        for v in ((m % 10**6) + (100 + f) * 10**6 for m in mmsis for f in range(args.fleets))
        if v not in timed
    )
    out = []
    for read in (
        lambda: q.positions(bbox=WARM_BOX, start=start, end=start + timedelta(days=1)),
        lambda: q.track(vessel, lo, lo + timedelta(days=30)),
        lambda: q.latest(bbox=WARM_BOX, start=start, end=start + timedelta(days=1)),
    ):
        t = time.perf_counter()
        read()
        out.append(time.perf_counter() - t)
    return out


def window_lines(
    measured: dict[str, tuple[dict[str, list[int]], dict[str, list[float]]]],
) -> list[dict[str, object]]:
    """Each timed query of ``measured`` (``--windows-out``): after what, its kind, its
    window (0 first), rows, milliseconds."""
    return [
        {"after": after, "kind": kind, "window": i, "rows": n, "ms": round(s * 1000, 3)}
        for after, (rows, secs) in measured.items()
        for kind in rows
        for i, (n, s) in enumerate(zip(rows[kind], secs[kind], strict=True))
    ]


def queries(  # type: ignore[no-untyped-def]
    q: Query, lo: datetime, hi: datetime, mmsis: list[int], args
) -> tuple[dict[str, list[int]], dict[str, list[float]]]:
    """Rows and seconds of ``args.repeat`` random queries of each kind (the same windows
    each call: a fixed seed)."""
    kinds = ("viewport 5°×5° + 1 day", "one vessel, 30 days", "latest per vessel, viewport + 1 day")
    rows: dict[str, list[int]] = {k: [] for k in kinds}
    secs: dict[str, list[float]] = {k: [] for k in kinds}
    for start, bbox, m in windows(lo, hi, mmsis, args):
        for kind in kinds:
            t = time.perf_counter()
            if kind == kinds[0]:
                n = q.positions(bbox=bbox, start=start, end=start + timedelta(days=1)).num_rows
            elif kind == kinds[1]:
                n = q.track(m, lo, lo + timedelta(days=30)).num_rows
            else:
                n = q.latest(bbox=bbox, start=start, end=start + timedelta(days=1)).num_rows
            secs[kind].append(time.perf_counter() - t)
            rows[kind].append(n)
    return rows, secs


if __name__ == "__main__":
    main()
