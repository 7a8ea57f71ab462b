"""Tracks + events throughput benchmark: seawatch vs MovingPandas.

Builds >= 10 M positions by replicating real AIS data (the Ever Given / Suez positions of
movingpandas_evergiven and the two argenni samples, Baltic and Gibraltar) with shifted
MMSIs, times and longitudes into bench/_work/ (cached), then runs, each in its own
subprocess pinned to one core, one after another:

- seawatch: ``tracks.clean`` + ``tracks.segment`` + every detector of
  ``seawatch.cli.detect.DETECTORS`` in chunks of ``--chunk`` rows, carrying every state
  (no geography: the geography columns are absent, as in ``seawatch detect`` without geo);
- movingpandas: ``TrajectoryCollection`` + ``ObservationGapSplitter(gap=6 h)`` +
  ``TrajectoryStopDetector.get_stop_segments`` on the first ``--mp-positions`` rows (it
  holds everything in GeoDataFrames and is far slower), positions/s extrapolated.

    .venv/bin/python bench/tracks.py                      # 10 M positions, both peers
    .venv/bin/python bench/tracks.py --positions 2000000 --peers seawatch
    .venv/bin/python bench/tracks.py --output-md          # also append to bench/RESULTS.md
    .venv/bin/python bench/tracks.py --allocator default  # freed memory back to the OS

seawatch's child keeps freed memory for the next chunk as ``seawatch detect`` does
(:func:`seawatch.engine.memory.keep_freed_memory`); ``--allocator default`` leaves glibc and
Arrow's pool as they come, where each chunk faults its pages in again (system time).

See bench/README.md ("bench/tracks") for what is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "_work"
SHARED = REPO.parent / "shared/data/ais"
EVERGIVEN = SHARED / "movingpandas_evergiven/boat-positions.csv"
ARGENNI = SHARED / "argenni_ais_reconstruction"
BALTIC = ARGENNI / "decoded_reports_baltic_all_ships_april_2018_micro_20k_sample_ais_data.csv"
GIBRALTAR = (
    ARGENNI / "decoded_traffic_Gibraltar_Straight_all_ships_2016A_micro_20k_sample_ais_data.csv"
)
DEFAULT_MD = BENCH / "RESULTS.md"
PEERS = ["seawatch", "movingpandas"]
GOAL_RATE = 1_000_000  # positions/s on one core
GOAL_RATIO = 20.0  # x MovingPandas
BASE_TS = "2024-01-01T00:00:00+00:00"  # every source rebased to start here
COPY_STEP_S = 6 * 3600  # copy k starts k x 6 h after copy 0 of its source
LON_SHIFT = 0.05  # degrees per copy (mod 40): overlapping copies do not meet
FLEET_CYCLE = 40  # copy k sails as fleet k mod 40: a bounded population of vessels that
# repeat their voyages (same place 10 days later), as in a feed of any length
# Valid ship MIDs (ITU) for the shifted MMSIs: 201-279 Europe, 303-375 Americas, ...
MIDS = [201, 205, 209, 211, 219, 224, 229, 235, 244, 255, 257, 265, 303, 311, 316, 338]
MIDS += [351, 352, 353, 355, 356, 357, 370, 371, 372, 412, 413, 431, 440, 477, 525, 533]
MIDS += [538, 548, 563, 564, 565, 566, 576, 636, 710, 725]

sys.path.insert(0, str(BENCH))
from decode import BUSY_LIMIT, machine_info, source_state, wait_idle  # noqa: E402


def die(msg: str) -> None:
    print(f"bench/tracks: {msg}", file=sys.stderr)
    sys.exit(2)


# ----------------------------------------------------------------------------- input


def _sources() -> list[tuple[str, Any]]:
    """The real tables, normalised to ts, mmsi, lat, lon, speed, course and static fields."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    ts_t = pa.timestamp("us", tz="UTC")
    out = []
    opts = pcsv.ConvertOptions(timestamp_parsers=["%d/%m/%Y %H:%M"])
    t = pcsv.read_csv(EVERGIVEN, convert_options=opts)
    out.append(
        (
            "evergiven",
            pa.table(
                {
                    "ts": t["ais_pos_timestamp"].cast(pa.timestamp("us")).cast(ts_t),
                    "mmsi": t["ID"].cast(pa.int64()),
                    "lat": t["latitude"],
                    "lon": t["longitude"],
                }
            ),
        )
    )
    t = pcsv.read_csv(BALTIC, parse_options=pcsv.ParseOptions(delimiter=";"))
    out.append(
        (
            "baltic",
            pa.table(
                {
                    "ts": pc.multiply(t["timestamp"].cast(pa.int64()), 1000).cast(ts_t),
                    "mmsi": t["mmsi"].cast(pa.int64()),
                    "lat": t["lat"],
                    "lon": t["long"],
                    "speed_kn": t["sog"].cast(pa.float64()),
                    "course_deg": t["cog"].cast(pa.float64()),
                    "name": t["name"],
                    "imo": t["imo"].cast(pa.int32()),
                    "callsign": t["callsign"],
                    "draught_m": t["draught"].cast(pa.float64()),
                }
            ),
        )
    )
    t = pcsv.read_csv(
        GIBRALTAR,
        parse_options=pcsv.ParseOptions(delimiter=";"),
        convert_options=pcsv.ConvertOptions(null_values=["NULL"], strings_can_be_null=True),
    )
    out.append(
        (
            "gibraltar",
            pa.table(
                {
                    "ts": t["TIMESTAMP_UTC"].cast(pa.timestamp("us")).cast(ts_t),
                    "mmsi": t["MMSI"].cast(pa.int64()),
                    "lat": t["LAT"],
                    "lon": t["LON"],
                    "speed_kn": pc.divide(t["SPEED_KNOTSx10"].cast(pa.float64()), 10.0),
                    "course_deg": t["COURSE"].cast(pa.float64()),
                    "draught_m": pc.divide(t["DRAUGHT_METERSx10"].cast(pa.float64()), 10.0),
                }
            ),
        )
    )
    return out


def build_input(positions: int) -> tuple[Path, dict[str, Any]]:
    """bench/_work/tracks.<N>.parquet: >= ``positions`` rows sorted by ts (reused if present)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    for p in (EVERGIVEN, BALTIC, GIBRALTAR):
        if not p.is_file():
            die(f"{p} not found (needs ../shared next to the checkout)")
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"tracks.v3.{positions}.parquet"
    info_path = path.with_suffix(".json")
    if path.exists() and info_path.exists():
        return path, json.loads(info_path.read_text())
    srcs = _sources()
    cols = ["ts", "mmsi", "lat", "lon", "speed_kn", "course_deg"]
    cols += ["name", "imo", "callsign", "draught_m"]
    types = {
        "ts": pa.timestamp("us", tz="UTC"),
        "mmsi": pa.int64(),
        "lat": pa.float64(),
        "lon": pa.float64(),
        "speed_kn": pa.float64(),
        "course_deg": pa.float64(),
        "name": pa.string(),
        "imo": pa.int32(),
        "callsign": pa.string(),
        "draught_m": pa.float64(),
    }
    per_copy = sum(t.num_rows for _, t in srcs)
    copies = -(-positions // per_copy)
    parts = []
    next_vessel = 0
    for _name, t in srcs:
        t = t.filter(pc.and_(pc.is_valid(t["ts"]), pc.is_valid(t["mmsi"])))
        for c in cols:
            if c not in t.column_names:
                t = t.append_column(c, pa.nulls(t.num_rows, types[c]))
        t = t.select(cols)
        uniq, inv = np.unique(t["mmsi"].to_numpy(), return_inverse=True)
        ts0 = t["ts"].cast(pa.int64()).to_numpy()
        base_us = int(datetime.fromisoformat(BASE_TS).timestamp()) * 1_000_000
        ts0 = ts0 - ts0.min() + base_us  # the sources are years apart: rebase them
        lon0 = t["lon"].to_numpy(zero_copy_only=False)
        for k in range(copies):
            v = next_vessel + (k % FLEET_CYCLE) * len(uniq) + inv
            mids = np.asarray(MIDS, dtype=np.int64)[v % len(MIDS)]
            mmsi = mids * 1_000_000 + v // len(MIDS)
            shifted = {
                "ts": pa.array(ts0 + k * COPY_STEP_S * 1_000_000).cast(types["ts"]),
                "mmsi": pa.array(mmsi, pa.int32()),
                "lon": pa.array(lon0 + (k % FLEET_CYCLE) * LON_SHIFT),
            }
            parts.append(
                pa.table({c: shifted.get(c, t[c]) for c in cols}).cast(
                    pa.schema([(c, pa.int32() if c == "mmsi" else types[c]) for c in cols])
                )
            )
        next_vessel += FLEET_CYCLE * len(uniq)
    table = pa.concat_tables(parts).sort_by("ts").slice(0, positions)
    table = table.append_column("msg_type", pa.array(np.ones(table.num_rows, np.int8)))
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, row_group_size=250_000, compression="zstd")
    tmp.replace(path)
    info = {
        "positions": table.num_rows,
        "mmsis": int(pc.count_distinct(table["mmsi"]).as_py()),
        "copies": copies,
        "base_rows": {n: t.num_rows for n, t in srcs},
        "start": str(pc.min(table["ts"]).as_py()),
        "end": str(pc.max(table["ts"]).as_py()),
    }
    info_path.write_text(json.dumps(info))
    return path, info


# ----------------------------------------------------------------------------- children


def _peak_rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child_seawatch(
    path: Path, chunk: int, runs: int, limit: int, allocator: str = "keep"
) -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "src"))
    import importlib

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from seawatch import __version__, tracks
    from seawatch.engine.pipeline import DETECTORS

    kept = False
    if allocator == "keep":  # as seawatch detect / ingest run
        from seawatch.engine.memory import keep_freed_memory

        kept = keep_freed_memory()

    modules = {name: importlib.import_module(f"seawatch.events.{name}") for name, _ in DETECTORS}
    static_cols = ["ts", "mmsi", "name", "imo", "callsign", "draught_m"]

    stage_s: dict[str, float] = {}
    stage_cpu: dict[str, float] = {}  # CPU seconds: what a shared machine can measure
    cpu_mark = [0.0]

    def start() -> float:
        cpu_mark[0] = time.process_time()
        return time.perf_counter()

    def lap(name: str, t0: float) -> float:
        t1, c1 = time.perf_counter(), time.process_time()
        stage_s[name] = stage_s.get(name, 0.0) + t1 - t0
        stage_cpu[name] = stage_cpu.get(name, 0.0) + c1 - cpu_mark[0]
        cpu_mark[0] = c1
        return t1

    def one_pass(n_rows: int) -> tuple[int, dict[str, int]]:
        stage_s.clear()
        stage_cpu.clear()
        cstate = sstate = None
        dstate: dict[str, Any] = dict.fromkeys(modules)
        events: dict[str, int] = dict.fromkeys(modules, 0)
        rows = 0
        pf = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering keeps every chunk read
        for batch in pf.iter_batches(batch_size=chunk):
            if rows >= n_rows:
                break
            t = start()
            raw = pa.Table.from_batches([batch]).slice(0, n_rows - rows)
            rows += raw.num_rows
            t = lap("read", t)
            res = tracks.clean(raw, state=cstate)
            cstate = res.state
            t = lap("clean", t)
            pos, sstate = tracks.segment(res.positions, sstate, order=res.order)
            t = lap("segment", t)
            st = raw.select(static_cols)
            has = pc.or_(pc.is_valid(st["name"]), pc.is_valid(st["draught_m"]))
            inputs = {"positions": pos, "statics": st.filter(has)}
            t = lap("read", t)  # the statics table is input, not the first detector's work
            for name, table in DETECTORS:
                ev, dstate[name] = modules[name].detect(
                    inputs[table], state=dstate[name], open_events=False
                )
                events[name] += ev.num_rows
                t = lap(name, t)
        t = start()
        for name, table in DETECTORS:  # the end of the data: events still open
            empty = inputs[table].schema.empty_table()
            ev, dstate[name] = modules[name].detect(empty, state=dstate[name])
            events[name] += ev.num_rows
            t = lap(name, t)
        return rows, events

    w0 = time.perf_counter()
    one_pass(min(limit, 200_000))  # warm-up: imports, numba JIT
    warm = time.perf_counter() - w0
    base = _rss_kib()
    secs, cpus, last, stages, stages_cpu = [], [], None, {}, {}
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        last = one_pass(limit)
        secs.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        if secs[-1] == min(secs):
            stages = {k: round(v, 3) for k, v in stage_s.items()}
        if cpus[-1] == min(cpus):
            stages_cpu = {k: round(v, 3) for k, v in stage_cpu.items()}
    assert last is not None
    rows, events = last
    return {
        "status": "ok",
        "version": __version__,
        "positions": rows,
        "seconds": min(secs),
        "seconds_all": secs,
        "cpu_seconds": min(cpus),
        "warmup_seconds": warm,
        "peak_rss_kib": _peak_rss_kib(),
        "base_rss_kib": base,
        "events": events,
        "stage_seconds": stages,
        "stage_cpu_seconds": stages_cpu,
        "timing": (
            f"read {chunk:,}-row chunks from the Parquet file, tracks.clean + tracks.segment + "
            f"{len(DETECTORS)} detectors ({', '.join(n for n, _ in DETECTORS)}) per chunk, "
            "every state carried to the next chunk; no geography columns; freed memory "
            + ("kept (seawatch.engine.memory)" if kept else "returned (default allocators)")
        ),
    }


def child_movingpandas(path: Path, runs: int, limit: int) -> dict[str, Any]:
    from datetime import timedelta

    try:
        import movingpandas as mpd
        import pandas as pd
    except ImportError as exc:
        return {
            "status": "skipped",
            "reason": f"{exc} (.venv/bin/pip install -e '.[bench]')",
        }
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["ts", "mmsi", "lat", "lon"]).slice(0, limit)
    df = table.to_pandas()
    df["ts"] = df["ts"].dt.tz_localize(None)
    df = df.sort_values(["mmsi", "ts"], kind="stable").reset_index(drop=True)
    base = _rss_kib()

    def one_pass(frame: pd.DataFrame) -> tuple[int, int, int]:
        tc = mpd.TrajectoryCollection(frame, traj_id_col="mmsi", t="ts", x="lon", y="lat", crs=4326)
        split = mpd.ObservationGapSplitter(tc).split(gap=timedelta(hours=6))
        stops = mpd.TrajectoryStopDetector(split).get_stop_segments(
            max_diameter=1000, min_duration=timedelta(hours=2)
        )
        return len(frame), len(split.trajectories), len(stops.trajectories)

    w0 = time.perf_counter()
    one_pass(df.head(20_000))  # warm-up: lazy imports
    warm = time.perf_counter() - w0
    secs, cpus, last = [], [], None
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        last = one_pass(df)
        secs.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    assert last is not None
    rows, trajs, stops = last
    return {
        "status": "ok",
        "version": mpd.__version__,
        "positions": rows,
        "seconds": min(secs),
        "seconds_all": secs,
        "cpu_seconds": min(cpus),
        "warmup_seconds": warm,
        "peak_rss_kib": _peak_rss_kib(),
        "base_rss_kib": base,
        "events": {"trajectories_after_gap_split": trajs, "stop_segments": stops},
        "timing": (
            "TrajectoryCollection(df, traj_id_col='mmsi', crs=4326) from an in-memory pandas "
            "DataFrame sorted by mmsi, ts + ObservationGapSplitter.split(gap=6 h) + "
            "TrajectoryStopDetector.get_stop_segments(max_diameter=1000 m, min_duration=2 h)"
        ),
    }


def child_main(args: argparse.Namespace) -> int:
    os.sched_setaffinity(0, {args.core})
    try:
        if args.child == "seawatch":
            res = child_seawatch(args.input, args.chunk, args.runs, args.limit, args.allocator)
        else:
            res = child_movingpandas(args.input, args.runs, args.limit)
    except Exception as exc:
        res = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    res["affinity"] = sorted(os.sched_getaffinity(0))
    res["python"] = f"{sys.version.split()[0]} ({sys.executable})"
    print("BENCH_RESULT " + json.dumps(res), flush=True)
    return 0


# ----------------------------------------------------------------------------- parent


def run_peer(peer: str, path: Path, limit: int, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", peer, "--input", str(path), "--core"]
    cmd += [str(args.core), "--runs", str(args.runs), "--limit", str(limit)]
    cmd += ["--chunk", str(args.chunk), "--allocator", args.allocator]
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    env["OPENBLAS_NUM_THREADS"] = "1"
    base = {"peer": peer, "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=args.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {**base, "status": "failed", "reason": f"timed out after {args.timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return {**base, **json.loads(line.removeprefix("BENCH_RESULT "))}
    tail = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-3:]
    return {**base, "status": "failed", "reason": f"exit {proc.returncode}: " + " | ".join(tail)}


def rate(r: dict[str, Any]) -> float | None:
    return r["positions"] / r["seconds"] if r.get("status") == "ok" and r["seconds"] else None


def table_rows(results: list[dict[str, Any]], total: int) -> list[list[str]]:
    sw = next((rate(r) for r in results if r["peer"] == "seawatch"), None)
    rows = []
    for r in results:
        v = rate(r)
        if v is None:
            rows.append([r["peer"], r["status"], r.get("reason", ""), "", "", "", ""])
            continue
        star = " *" if r["positions"] < total else ""
        ratio = f"{sw / v:.1f}×" if sw else "—"
        cpu = r["positions"] / r["cpu_seconds"] if r["cpu_seconds"] else 0.0
        rows.append(
            [
                r["peer"],
                f"{r['positions']:,}{star}",
                f"{r['seconds']:.2f}",
                f"{v:,.0f}",
                ratio,
                f"{cpu:,.0f}",
                f"{r['peak_rss_kib'] / 1024:,.0f}",
            ]
        )
    return rows


HEAD = [
    "peer",
    "positions",
    "seconds",
    "positions/s",
    "seawatch ratio",
    "pos/CPU-s",
    "peak RSS MiB",
]


def print_table(results: list[dict[str, Any]], total: int) -> None:
    rows = [HEAD, *table_rows(results, total)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEAD))]
    for r in rows:
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    if any(r.get("status") == "ok" and r["positions"] < total for r in results):
        print("* measured on a prefix of the input; positions/s extrapolated to the full input")
    for r in results:
        if r.get("status") == "ok":
            print(f"{r['peer']}: {json.dumps(r['events'])}")
            if r.get("stage_seconds"):
                print(f"{r['peer']} seconds per stage: {json.dumps(r['stage_seconds'])}")
            if r.get("stage_cpu_seconds"):
                print(f"{r['peer']} CPU seconds per stage: {json.dumps(r['stage_cpu_seconds'])}")


def verdict(results: list[dict[str, Any]]) -> str:
    sw = next((rate(r) for r in results if r["peer"] == "seawatch"), None)
    mp = next((rate(r) for r in results if r["peer"] == "movingpandas"), None)
    if sw is None:
        return "seawatch not measured"
    parts = [
        f"≥ {GOAL_RATE:,} positions/s on one core: **{'met' if sw >= GOAL_RATE else 'not met'}**"
    ]
    if mp:
        ok = sw / mp >= GOAL_RATIO
        parts.append(f"≥ {GOAL_RATIO:.0f}× MovingPandas: **{'met' if ok else 'not met'}**")
    return "; ".join(parts)


def render_section(meta: dict[str, Any], results: list[dict[str, Any]]) -> str:
    m, info = meta["machine"], meta["input"]
    lines = [
        f"## bench/tracks {meta['date']}",
        "",
        f"- Machine: {m['cpu_model']}, {m['nproc']} cores (`nproc`), Linux {m['kernel']}; each "
        "peer in its own subprocess pinned to one core, peers run one after another.",
        f"- Input: `{meta['input_name']}` = {info['positions']:,} positions of "
        f"{info['mmsis']:,} MMSIs, {info['start']} – {info['end']}: {info['copies']} copies of "
        f"the real samples ({', '.join(f'{k} {v:,} rows' for k, v in info['base_rows'].items())})"
        f", each source rebased to start {BASE_TS[:10]}, copy k shifted by k × 6 h, "
        f"(k mod 40) × {LON_SHIFT}° of longitude and sailing as fleet k mod {FLEET_CYCLE} (a "
        "bounded population repeating its voyages).",
        f"- Command: `{meta['command']}`; seawatch source: git {meta['source']}; chunk "
        f"{meta['chunk']:,} rows; best of {meta['runs']} timed run(s) after an untimed warm-up.",
        "",
        "| " + " | ".join(HEAD) + " |",
        "|---|" + "---:|" * (len(HEAD) - 1),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(results, info["positions"])]
    lines += [
        "",
        "\\* measured on a prefix of the input (`--mp-positions`); positions/s is the rate on "
        "that prefix, i.e. extrapolated to the full input.",
        "",
        f"Goals: {verdict(results)}.",
        "",
    ]
    for r in results:
        if r.get("status") != "ok":
            continue
        runs = "/".join(f"{s:.2f}" for s in r["seconds_all"])
        lines.append(
            f"- **{r['peer']}** {r['version']}, Python {r['python']}: {r['timing']}. Output: "
            f"{json.dumps(r['events'])}; "
            + (
                f"seconds per stage (best run) {json.dumps(r['stage_seconds'])}; "
                + (
                    f"CPU seconds per stage (run of least CPU) "
                    f"{json.dumps(r['stage_cpu_seconds'])}; "
                    if r.get("stage_cpu_seconds")
                    else ""
                )
                if r.get("stage_seconds")
                else ""
            )
            + f"runs {runs} s; CPU {r['cpu_seconds']:.2f} s; RSS "
            f"before timing {r['base_rss_kib'] / 1024:,.0f} MiB; other processes "
            f"{r.get('other_load', 0):.2f} cores before the run; measured {r['measured_at']}."
        )
    return "\n".join(lines) + "\n"


def update_md(path: Path, meta: dict[str, Any], results: list[dict[str, Any]]) -> None:
    """Replace this date's "## bench/tracks DATE" section, or append one at the end."""
    import re

    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    parts = re.split(r"(?m)^(?=## )", text)
    head = f"## bench/tracks {meta['date']}\n"
    section = render_section(meta, results) + "\n"
    idx = next((i for i, s in enumerate(parts) if s.startswith(head)), None)
    if idx is None:
        parts[-1] = parts[-1].rstrip("\n") + "\n\n"
        parts.append(section)
    else:
        parts[idx] = section
    path.write_text("".join(parts).rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Tracks + events throughput: seawatch vs MovingPandas.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("--positions", type=int, default=10_000_000, help="rows in the input")
    ap.add_argument("--chunk", type=int, default=1_000_000, help="seawatch chunk rows")
    ap.add_argument("--peers", default="seawatch,movingpandas", help="comma list")
    ap.add_argument(
        "--mp-positions",
        type=int,
        default=100_000,
        help="MovingPandas runs on the first N positions (0 = all)",
    )
    ap.add_argument("--runs", type=int, default=3, help="timed runs per peer (best reported)")
    ap.add_argument(
        "--allocator",
        choices=["keep", "default"],
        default="keep",
        help="seawatch: keep freed memory as seawatch detect does (seawatch.engine.memory), "
        "or the default allocators",
    )
    ap.add_argument("--core", type=int, default=max(os.sched_getaffinity(0)))
    ap.add_argument("--wait-idle", type=float, default=60.0, help="max seconds to wait")
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--date", default=datetime.now(UTC).strftime("%Y-%m-%d"))
    ap.add_argument("--output-md", nargs="?", const=DEFAULT_MD, type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="raw results")
    ap.add_argument("--child", choices=PEERS, help=argparse.SUPPRESS)
    ap.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child_main(args)

    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    for p in peers:
        if p not in PEERS:
            die(f"unknown peer {p!r}; choose from {', '.join(PEERS)}")
    t0 = time.perf_counter()
    path, info = build_input(args.positions)
    print(
        f"input: {path.relative_to(REPO)}: {info['positions']:,} positions, "
        f"{info['mmsis']:,} MMSIs ({time.perf_counter() - t0:.1f} s to build/load)"
    )
    if args.positions < 10_000_000:
        print(f"note: fewer than 10 M positions (--positions {args.positions:,})")
    machine = machine_info()
    results = []
    for peer in peers:
        limit = info["positions"]
        if peer == "movingpandas" and 0 < args.mp_positions < limit:
            limit = args.mp_positions
        print(f"  {peer:<12} on {limit:,} positions ...", end=" ", flush=True)
        load = wait_idle(BUSY_LIMIT, args.wait_idle) if args.wait_idle > 0 else 0.0
        r = run_peer(peer, path, limit, args)
        r["other_load"] = load
        v = rate(r)
        print(f"{v:,.0f} positions/s" if v else f"{r['status']}: {r.get('reason', '')}")
        results.append(r)
    print_table(results, info["positions"])
    print(verdict(results).replace("**", ""))
    cmd = " ".join([".venv/bin/python", "bench/tracks.py", *map(shlex.quote, sys.argv[1:])])
    meta = {
        "date": args.date,
        "machine": machine,
        "command": cmd,
        "input_name": str(path.relative_to(REPO)),
        "input": info,
        "chunk": args.chunk,
        "runs": args.runs,
        "source": source_state(),
    }
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    if args.output_md:
        update_md(args.output_md, meta, results)
        print(f"updated {args.output_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
