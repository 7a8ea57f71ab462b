"""Detector quality: simulate → ingest (detect) → events through the query layer → scored (issue 5).

For each seed and fleet size: ``seawatch simulate`` (the Python API) writes a day of NMEA and
``truth.jsonl`` into a run directory; :func:`seawatch.engine.ingest.ingest` stores it in a fresh
DuckDB file with ``detect=True`` (the pipeline with geography, as ``seawatch ingest --detect``)
and, as ``--zones``, one zone layer of the simulated nations' waters (the boxes in the truth's
``zone_entry`` records: the areas a partner would have loaded);
the events are read back through :class:`seawatch.store.query.Query` with a node-admin reader
(it may read every label) and scored by :func:`seawatch.sim.score.score`.
Out: a Markdown section for bench/RESULTS.md on stdout: per event type truth / detected / true
positives / precision / recall for each run and in total, recall of the injected records,
and whether the goals (precision ≥ 0.95 and recall ≥ 0.9 per type) are met.

    .venv/bin/python bench/quality.py            # seeds 1 2 3 x 100 and 500 vessels, 24 h
    .venv/bin/python bench/quality.py --seeds 4 --vessels 300 --hours 12 --show-misses 3
    .venv/bin/python bench/quality.py --out /tmp/quality    # keep the run directories
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from seawatch.engine.ingest import ingest
from seawatch.engine.ports import derive_ports
from seawatch.geo.anchorages import AnchorageParams
from seawatch.geo.zones import ZoneLayer
from seawatch.labels import Reader
from seawatch.settings import load_settings
from seawatch.sim import SimConfig, simulate
from seawatch.sim.score import TypeScore, read_truth, score
from seawatch.store import open_store
from seawatch.store.query import Query

GOAL_PRECISION, GOAL_RECALL = 0.95, 0.9
TYPES = (
    "gap",
    "suspected_disabling",
    "encounter",
    "loitering",
    "port_visit",
    "zone_entry",
    "zone_present",
    "spoofing",
    "identity_change",
)
RULES = ("jump", "on_land")  # spoofing rules also shown apart (a shared MMSI shows as jumps)


def zone_layer(truth: pa.Table) -> ZoneLayer:
    """The simulated zones (one box per injected zone entry) as a zone layer."""
    boxes: dict[tuple[float, ...], str] = {}
    zone_types = pa.array(["zone_entry", "zone_present"])
    for rec in truth.filter(pc.is_in(truth["event_type"], value_set=zone_types)).to_pylist():
        params = json.loads(rec["params"])
        boxes.setdefault(tuple(params["bbox"]), params["zone_name"])
    geoms = np.array([shapely.box(*b) for b in boxes], dtype=object)
    return ZoneLayer("simwaters", pa.table({"name": list(boxes.values())}), geoms)


def by_rule(truth: pa.Table, events: pa.Table) -> dict[str, TypeScore]:
    """Spoofing scored per rule: ``spoofing:jump`` (truth ``two_places`` included), ..."""
    t_rule = ["jump" if r == "two_places" else r for r in truth["rule"].to_pylist()]
    e_rule = [json.loads(d or "{}").get("rule") for d in events["details"].to_pylist()]
    out = {}
    for rule in RULES:
        t = truth.filter(pa.array([r == rule for r in t_rule]))
        e = events.filter(pa.array([r == rule for r in e_rule]))
        out[f"spoofing:{rule}"] = score(t, e, types=["spoofing"])["spoofing"]
    return out


def run_one(
    seed: int, vessels: int, hours: float, out: Path, derive: AnchorageParams | None = None
) -> tuple[dict[str, TypeScore], dict[str, float]]:
    """One simulate → ingest → query → score; the scores and the seconds of each step.
    ``derive``: first store the positions and derive anchorages from them (issue 16)."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    simulate(SimConfig(seed=seed, vessels=vessels, hours=hours), out)
    t1 = time.perf_counter()
    settings = load_settings(env={})
    db = out / "store.duckdb"
    for old in out.glob("store.duckdb*"):
        old.unlink()
    store = open_store(db, settings)
    try:
        truth = read_truth(out / "truth.jsonl")
        zones = [zone_layer(truth)] if "zone_entry" in truth["event_type"].to_pylist() else []
        inputs = sorted(out.glob("ais-*.nmea"))
        if derive is not None:  # as `seawatch ingest`, `ports derive`, `ingest --detect`
            ingest(store, inputs, settings)
            found = derive_ports(store, derive)
            print(f"  derived {found.stored} anchorages", file=sys.stderr, flush=True)
        ingest(store, inputs, settings, detect=True, zones=zones)
        t2 = time.perf_counter()
        events = Query(store, Reader.node_admin("bench/quality: scoring every event")).events()
    finally:
        store.close()
    scores = score(truth, events, types=list(TYPES))
    scores.update(by_rule(truth, events))
    return scores, {"simulate_s": t1 - t0, "ingest_detect_s": t2 - t1}


def fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def table(scores: dict[str, TypeScore]) -> list[str]:
    lines = [
        "| event type | truth | detected | TP | precision | recall | injected found |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for t in (*TYPES, *(f"spoofing:{r}" for r in RULES)):
        s = scores[t]
        inj = f"{s.injected_found}/{s.injected}" if s.injected else "—"
        name = f"↳ rule {t.split(':')[1]}" if ":" in t else t
        lines.append(
            f"| {name} | {s.truth} | {s.detected} | {s.true_positives} | {fmt(s.precision)} | "
            f"{fmt(s.recall)} | {inj} |"
        )
    return lines


def total(runs: list[dict[str, TypeScore]]) -> dict[str, TypeScore]:
    out = {}
    for t in (*TYPES, *(f"spoofing:{r}" for r in RULES)):
        parts = [r[t] for r in runs]
        out[t] = TypeScore(
            event_type=t,
            truth=sum(p.truth for p in parts),
            detected=sum(p.detected for p in parts),
            true_positives=sum(p.true_positives for p in parts),
            injected=sum(p.injected for p in parts),
            injected_found=sum(p.injected_found for p in parts),
            missed=pa.concat_tables([p.missed for p in parts]),
            false=pa.concat_tables([p.false for p in parts]),
        )
    return out


def goals(scores: dict[str, TypeScore]) -> list[str]:
    lines = [
        f"| event type | precision ≥ {GOAL_PRECISION} | recall ≥ {GOAL_RECALL} |",
        "|---|---|---|",
    ]
    for t in (*TYPES, *(f"spoofing:{r}" for r in RULES)):
        s = scores[t]
        name = f"↳ spoofing rule {t.split(':')[1]}" if ":" in t else t

        def verdict(x: float | None, goal: float) -> str:
            if x is None:
                return "not measured (nothing to score)"
            return f"{'met' if x >= goal else '**not met**'} ({x:.3f})"

        lines.append(
            f"| {name} | {verdict(s.precision, GOAL_PRECISION)} "
            f"| {verdict(s.recall, GOAL_RECALL)} |"
        )
    return lines


def _row(row: dict[str, Any], names: tuple[str, ...]) -> str:
    parts = []
    for n in names:
        v = row.get(n)
        if isinstance(v, datetime):
            v = v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if n in ("params", "details") and v:
            d = json.loads(v)
            d.pop("params", None) if n == "details" else None
            v = json.dumps(d, sort_keys=True)[:160]
        parts.append(f"{n}={v}")
    return " ".join(parts)


def misses(label: str, scores: dict[str, TypeScore], n: int) -> list[str]:
    lines = []
    for t in TYPES:
        s = scores[t]
        if not s.missed.num_rows and not s.false.num_rows:
            continue
        lines.append(f"- {label} `{t}`: {s.missed.num_rows} missed, {s.false.num_rows} false")
        for r in s.missed.slice(0, n).to_pylist():
            lines.append(
                "  - missed: "
                + _row(r, ("mmsi", "other_mmsi", "start_ts", "end_ts", "injected", "params"))
            )
        for r in s.false.slice(0, n).to_pylist():
            lines.append(
                "  - false: " + _row(r, ("mmsi", "other_mmsi", "start_ts", "end_ts", "details"))
            )
    return lines


@contextlib.contextmanager
def workdir(out: str | None) -> Iterator[Path]:
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        yield Path(out)
    else:
        with tempfile.TemporaryDirectory(prefix="seawatch-quality-") as tmp:
            yield Path(tmp)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--vessels", type=int, nargs="+", default=[100, 500])
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--out", help="keep the run directories here (default: a temporary one)")
    ap.add_argument(
        "--show-misses",
        type=int,
        default=0,
        metavar="N",
        help="print up to N unmatched truth records and detections per type and run",
    )
    ap.add_argument(
        "--derive-ports",
        metavar="VESSELS,HOURS,SHORE_KM",
        help="derive anchorages from each run's positions before detecting (seawatch ports "
        "derive --min-vessels --min-stationary-h --max-shore-km), e.g. 2,2,5",
    )
    args = ap.parse_args()
    derive = None
    if args.derive_ports:
        v, h, km = (float(x) for x in args.derive_ports.split(","))
        derive = AnchorageParams(int(v), h * 3600, max_distance_to_shore_km=km)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("seawatch.store.query").setLevel(logging.ERROR)  # one node-admin read a run
    logging.getLogger("seawatch.labels").setLevel(logging.ERROR)
    started = time.perf_counter()
    runs: list[tuple[str, dict[str, TypeScore], dict[str, float]]] = []
    with workdir(args.out) as base:
        for vessels in args.vessels:
            for seed in args.seeds:
                label = f"seed {seed}, {vessels} vessels, {args.hours:g} h"
                print(f"running {label} ...", file=sys.stderr, flush=True)
                scores, secs = run_one(
                    seed, vessels, args.hours, base / f"s{seed}-v{vessels}-h{args.hours:g}", derive
                )
                runs.append((label, scores, secs))
    wall = time.perf_counter() - started
    both = total([s for _, s, _ in runs])
    cmd = " ".join(["bench/quality.py", *sys.argv[1:]])
    out = [
        f"## bench/quality {datetime.now(UTC):%Y-%m-%d}",
        "",
        f"`.venv/bin/python {cmd}` — seeds {' '.join(map(str, args.seeds))}, "
        f"{' and '.join(map(str, args.vessels))} vessels, {args.hours:g} h each; "
        f"{len(runs)} runs in {wall:.0f} s on the shared 2-core machine (nproc {os.cpu_count()}).",
        "",
        "### All runs together",
        "",
        *table(both),
        "",
        *goals(both),
        "",
        "### Per run",
    ]
    for label, scores, secs in runs:
        out += [
            "",
            f"**{label}** (simulate {secs['simulate_s']:.0f} s, ingest + detect "
            f"{secs['ingest_detect_s']:.0f} s)",
            "",
            *table(scores),
        ]
    if args.show_misses:
        out += ["", "### Unmatched (first few per type and run)", ""]
        for label, scores, _ in runs:
            out += misses(label, scores, args.show_misses)
    print("\n".join(out))


if __name__ == "__main__":
    main()
