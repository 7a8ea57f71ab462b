"""AIS decode throughput benchmark: seawatch vs aiscat, pyais, libais and gpsdecode.

Decodes the real AISHub sample log (shared/data/ais/aishub_gpsd_contrib/ais-nmea-sample.log,
85,182 sentences / 82,752 messages per copy) repeated ``--repeat`` times (default 25, i.e.
2,129,550 sentences), each peer in its own subprocess pinned to one core, one peer at a
time, and prints messages, seconds, msg/s, seawatch's ratio to each peer and peak RSS.

    .venv/bin/python bench/decode.py                       # all peers
    .venv/bin/python bench/decode.py --peers seawatch,aiscat-json --runs 3
    .venv/bin/python bench/decode.py --output-md           # also update bench/RESULTS.md

See bench/README.md for what each peer's timing includes and licensing notes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "_work"
RUNNER = BENCH / "peers" / "runner.py"
DEFAULT_SAMPLE = REPO.parent / "shared/data/ais/aishub_gpsd_contrib/ais-nmea-sample.log"
DEFAULT_MD = BENCH / "RESULTS.md"

# Per copy of ais-nmea-sample.log (shared/.../stats.jsonl, pyais 3.3.1 assembly).
SENTENCES_PER_COPY = 85_182
MESSAGES_PER_COPY = 82_752
# Peers legitimately disagree by a few percent (gpsd merges type-24 A/B parts, libais
# rejects bad bit counts, ...); outside this band something is wrong.
SANE_LOW, SANE_HIGH = 0.95, 1.02

PEERS = ["seawatch", "aiscat-dict", "aiscat-json", "pyais", "libais", "gpsdecode"]
ALIASES = {"aiscat": ["aiscat-dict", "aiscat-json"], "all": PEERS}
SLOW_PEERS = "pyais,libais"
SEAWATCH_GOAL = 2_000_000  # msg/s into Arrow columns, one core
# Figures measured on this project's machine before this harness existed (issue text).
REFERENCE = {"aiscat-dict": 196_000, "aiscat-json": 909_000}
BUSY_LIMIT = 0.15  # cores' worth of CPU used by other processes before we call it noisy
MD_MARK = "<!-- bench-decode-data: "


@dataclass
class Input:
    path: Path
    lines: int
    sentences: int
    label: str  # "full" or "first N lines"

    @property
    def expected_messages(self) -> int:
        return round(self.sentences * MESSAGES_PER_COPY / SENTENCES_PER_COPY)


def die(msg: str) -> None:
    print(f"bench/decode: {msg}", file=sys.stderr)
    sys.exit(2)


def _count(path: Path) -> tuple[int, int]:
    lines = sentences = 0
    with path.open("rb") as fh:
        for line in fh:
            lines += 1
            sentences += line.startswith((b"!", b"\\"))
    return lines, sentences


def build_inputs(sample: Path, repeat: int, sample_lines: int) -> tuple[Input, Input | None, Path]:
    """Create bench/_work/{repeated, first-N-lines, warm-up} files; reuse them when current."""
    WORK.mkdir(parents=True, exist_ok=True)
    src = sample.read_bytes()
    if not src.endswith(b"\n"):
        src += b"\n"
    full = WORK / f"{sample.stem}.x{repeat}.log"
    if not full.exists() or full.stat().st_size != len(src) * repeat:
        tmp = full.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            for _ in range(repeat):
                fh.write(src)
        tmp.replace(full)
    src_lines, src_sentences = _count(sample)
    full_in = Input(full, src_lines * repeat, src_sentences * repeat, "full")

    def head(n: int, name: str) -> Path:
        out = WORK / name
        with full.open("rb") as fh:
            want = b"".join(itertools.islice(fh, n))
        if not out.exists() or out.read_bytes() != want:
            out.write_bytes(want)
        return out

    sub_in = None
    if 0 < sample_lines < full_in.lines:
        p = head(sample_lines, f"{full.stem}.head{sample_lines}.log")
        lines, sentences = _count(p)
        sub_in = Input(p, lines, sentences, f"first {sample_lines:,} lines")
    # Warm-up = one copy of the sample: every message type in the input gets decoded
    # (numba JIT, lazy imports, caches) before the timed runs.
    return full_in, sub_in, sample


def warm_page_cache(path: Path) -> None:
    with path.open("rb") as fh:
        while fh.read(1 << 24):
            pass


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs from /proc/stat (steal counted as busy)."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            f = [int(x) for x in fh.readline().split()[1:9]]
    except OSError:
        return 0, 0
    user, nice, system, idle, iowait, irq, softirq, steal = f
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def other_load(seconds: float = 1.0) -> float:
    """Average number of busy cores over ``seconds`` (this process sleeps meanwhile)."""
    b0, t0 = cpu_ticks()
    time.sleep(seconds)
    b1, t1 = cpu_ticks()
    ncpu = len(os.sched_getaffinity(0)) or 1
    return (b1 - b0) / max(t1 - t0, 1) * ncpu


def wait_idle(limit: float, max_wait: float) -> float:
    """Wait until other processes use < ``limit`` cores; returns the last load seen."""
    deadline = time.monotonic() + max_wait
    load = other_load()
    if load < limit:
        return load
    print(f"(others busy: {load:.2f} cores; waiting", end="", flush=True)
    while load >= limit and time.monotonic() < deadline:
        print(".", end="", flush=True)
        load = other_load(2.0)
    print(f" {'idle' if load < limit else f'gave up at {load:.2f} cores'})", end=" ", flush=True)
    return load


def source_state() -> str:
    """git commit of this checkout, flagged when src/ has uncommitted changes."""

    def git(*a: str) -> str:
        r = subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, check=False)
        return r.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD") or "?"
        dirty = git("status", "--porcelain", "--", "src")
    except OSError:
        return "?"
    return f"{head} + uncommitted changes in src/" if dirty else head


def machine_info() -> dict[str, Any]:
    model = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        m = re.search(r"^Model name:\s*(.+)$", out, re.M)
        model = m.group(1).strip() if m else model
    except OSError:
        pass
    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout)
    except (OSError, ValueError):
        nproc = os.cpu_count() or 0
    return {"cpu_model": model, "nproc": nproc, "kernel": platform.release()}


def run_peer(
    peer: str, inp: Input, warm: Path, core: int, runs: int, python: str, timeout: float
) -> dict[str, Any]:
    cmd = [
        python,
        str(RUNNER),
        "--peer",
        peer,
        "--input",
        str(inp.path),
        "--core",
        str(core),
        "--runs",
        str(runs),
        "--warmup",
        str(warm),
    ]
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    base = {
        "peer": peer,
        "input_label": inp.label,
        "input_lines": inp.lines,
        "input_sentences": inp.sentences,
        "expected_messages": inp.expected_messages,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    if not Path(python).exists():
        return {**base, "status": "skipped", "reason": f"interpreter {python} not found"}
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0, j0 = cpu_ticks()
    w0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**base, "status": "failed", "reason": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - w0
    b1, j1 = cpu_ticks()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime
    hz = os.sysconf("SC_CLK_TCK")
    # Cores' worth of CPU used by anything other than this peer while it ran.
    base["other_load_cores"] = max(0.0, ((b1 - b0) / hz - child_cpu) / wall) if j1 > j0 else None
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            res = json.loads(line.removeprefix("BENCH_RESULT "))
            if res.get("status") == "failed" and proc.stderr.strip():
                res["stderr_tail"] = proc.stderr.strip().splitlines()[-5:]
            return {**base, **res}
    tail = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-3:]
    return {
        **base,
        "status": "failed",
        "reason": f"runner exit {proc.returncode}: " + " | ".join(tail),
    }


def rate(r: dict[str, Any]) -> float | None:
    if r.get("status") == "ok" and r.get("seconds"):
        return float(r["messages"]) / float(r["seconds"])
    return None


def cpu_rate(r: dict[str, Any]) -> float | None:
    """Messages per CPU-second of the run with the least CPU time (robust to time-slicing)."""
    cpus = [c for c in (r.get("cpu_seconds_all") or [r.get("cpu_seconds")]) if c]
    if r.get("status") == "ok" and cpus:
        return float(r["messages"]) / min(cpus)
    return None


def count_warning(r: dict[str, Any]) -> str | None:
    if r.get("status") != "ok":
        return None
    exp = r["expected_messages"]
    lo, hi = round(exp * SANE_LOW), round(exp * SANE_HIGH)
    if not lo <= r["messages"] <= hi:
        return (
            f"{r['peer']}: {r['messages']:,} messages, expected about {exp:,} "
            f"(sane range {lo:,}..{hi:,})"
        )
    return None


def contention_warning(r: dict[str, Any]) -> str | None:
    if r.get("status") != "ok":
        return None
    why = []
    if r.get("seconds") and r.get("cpu_seconds") is not None:
        util = r["cpu_seconds"] / r["seconds"]
        if util < 0.9:
            why.append(f"it got only {util:.0%} of its core in the reported run")
    # Others on the spare cores do not take this peer's core; more than that means they
    # must have shared it at some point (time-slicing, visible in the CPU share above).
    other = r.get("other_load_cores")
    spare = max(len(os.sched_getaffinity(0)) - 1, 0)
    if other is not None and other > spare + BUSY_LIMIT:
        why.append(f"other processes used {other:.2f} cores on average while it ran")
    if why:
        return f"{r['peer']}: machine not quiet ({'; '.join(why)}); its msg/s may be low"
    return None


def spread(r: dict[str, Any]) -> str:
    return "/".join(f"{x:.3f}" for x in r.get("seconds_all") or []) + " s"


def fmt_int(v: float | None) -> str:
    return "—" if v is None else f"{v:,.0f}"


def table_rows(results: list[dict[str, Any]]) -> tuple[list[str], list[list[str]], list[str]]:
    sw = next((rate(r) for r in results if r["peer"] == "seawatch"), None)
    sw_cpu = next((cpu_rate(r) for r in results if r["peer"] == "seawatch"), None)
    head = [
        "peer",
        "input",
        "messages",
        "seconds",
        "msg/s",
        "seawatch ratio",
        "msg/CPU-s",
        "ratio (CPU)",
        "peak RSS MiB",
        "RSS before timing MiB",
    ]
    rows, notes = [], []
    for r in results:
        msgs = rate(r)
        if r.get("status") != "ok":
            state = "not available yet" if r.get("status") == "unavailable" else r.get("status")
            rows.append([r["peer"], "—", "—", "—", "—", "—", "—", "—", "—", state])
            reason = r.get("reason", "")
            notes.append(
                f"{r['peer']}: {reason if reason.startswith(state) else state + ' — ' + reason}"
            )
            continue
        label = r["input_label"]
        if label != "full":
            label += " *"
        ratio = "—" if sw is None or msgs is None else f"{sw / msgs:.2f}×"
        per_cpu = cpu_rate(r)
        ratio_cpu = "—" if sw_cpu is None or per_cpu is None else f"{sw_cpu / per_cpu:.2f}×"
        peak = r.get("peak_rss_kib")
        base = r.get("base_rss_kib")
        rows.append(
            [
                r["peer"],
                label,
                fmt_int(r["messages"]),
                f"{r['seconds']:.3f}",
                fmt_int(msgs),
                ratio,
                fmt_int(per_cpu),
                ratio_cpu,
                "—" if peak is None else f"{peak / 1024:,.0f}",
                "—" if base is None else f"{base / 1024:,.0f}",
            ]
        )
    return head, rows, notes


def print_table(results: list[dict[str, Any]], full: Input) -> None:
    head, rows, notes = table_rows(results)
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=True)]
    right = set(range(2, len(head)))

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print()
    print(line(head))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    print()
    if any(r.get("input_label", "full") != "full" for r in results if r.get("status") == "ok"):
        print(
            "* measured on a prefix of the input; msg/s is extrapolated to the full "
            f"{full.sentences:,}-sentence input (throughput is per message, so it is "
            "independent of input length up to noise)."
        )
    for n in notes:
        print("note:", n)
    for r in results:
        if w := count_warning(r):
            print("WARNING: message count out of range:", w)
        if w := contention_warning(r):
            print("WARNING:", w)
    sw = next((r for r in results if r["peer"] == "seawatch"), None)
    if sw is not None and (v := rate(sw)) is not None:
        verdict = "met" if v >= SEAWATCH_GOAL else "NOT met"
        print(f"seawatch goal ≥ {SEAWATCH_GOAL:,} msg/s on one core: {verdict} ({v:,.0f} msg/s)")
    for peer, ref in REFERENCE.items():
        r = next((x for x in results if x["peer"] == peer), None)
        if r is not None and (v := rate(r)) is not None:
            print(f"{peer}: {v:,.0f} msg/s here vs {ref:,} msg/s earlier reference figure")


# ----------------------------------------------------------------------------- RESULTS.md


def render_section(meta: dict[str, Any], results: list[dict[str, Any]]) -> str:
    head, rows, notes = table_rows(results)
    m = meta["machine"]
    commands = meta.get("commands") or [meta["command"]]
    runs = meta["runs"] if len(commands) == 1 else "see the runs listed per peer"
    out = [
        f"## {meta['date']}",
        "",
        f"- Machine: {m['cpu_model']}, {m['nproc']} cores (`nproc`), Linux {m['kernel']}; "
        "each peer in its own subprocess pinned to one core, peers run one after another.",
        f"- Input: `{meta['input_name']}` = ais-nmea-sample.log × {meta['repeat']} "
        f"({meta['sentences']:,} sentences, ~{meta['expected']:,} messages).",
        "- Command: "
        + "; then ".join(f"`{c}`" for c in commands)
        + (" (merged: each row shows when it was measured)" if len(commands) > 1 else "")
        + f"; seawatch source: git {meta.get('source', '?')}.",
        f"- Timed runs per peer: {runs} (best reported), after an untimed warm-up "
        "pass over one copy of the sample.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" if i < 2 else "---:" for i in range(len(head))) + "|",
    ]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    out.append("")
    if any(r.get("input_label", "full") != "full" for r in results if r.get("status") == "ok"):
        out.append(
            "\\* measured on a prefix of the input (`--sample-lines`); msg/s is the "
            "rate on that prefix, i.e. extrapolated to the full input."
        )
        out.append("")
    sw = next((r for r in results if r["peer"] == "seawatch"), None)
    if sw is not None and (v := rate(sw)) is not None:
        verdict = "met" if v >= SEAWATCH_GOAL else "not met"
        out.append(f"seawatch goal (≥ {SEAWATCH_GOAL:,} msg/s on one core): **{verdict}**.")
        if "uncommitted" in str(meta.get("source", "")):
            out.append(
                "The seawatch row was measured on an uncommitted working tree "
                f"(git {meta['source']}); rerun once the decoder has landed."
            )
        out.append("")
    out.append("Per peer (version; what the timing includes; decode errors):")
    out.append("")
    for r in results:
        if r.get("status") == "ok":
            extra = "".join(f", {k}={v:,}" for k, v in (r.get("extra") or {}).items())
            out.append(
                f"- **{r['peer']}** {r.get('version', '?')}, Python {r.get('python', '?')}: "
                f"{r['timing']}. Errors/rejected: {r.get('errors', 0):,}{extra}; "
                f"CPU {r.get('cpu_seconds', 0):.3f} s; runs {spread(r)}; other processes "
                f"{r.get('other_load_cores') or 0:.2f} cores; measured {r['measured_at']}."
            )
    for n in notes:
        out.append(f"- {n}")
    for r in results:
        if w := count_warning(r):
            out.append(f"- WARNING (message count): {w}")
        if w := contention_warning(r):
            out.append(f"- WARNING (noise): {w}")
    out.append("")
    blob = {"meta": meta, "results": results}
    out.append(MD_MARK + json.dumps(blob, separators=(",", ":")) + " -->")
    out.append("")
    return "\n".join(out)


MD_HEADER = """# Decode benchmark results

Produced by `bench/decode.py --output-md` (see bench/README.md). One section per date;
rerunning on the same date updates that date's section (peers measured in the new run
replace their rows, the others are kept and show their own measurement time).
"""


def update_md(path: Path, meta: dict[str, Any], results: list[dict[str, Any]]) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else MD_HEADER
    parts = re.split(r"(?m)^(?=## )", text)
    prefix, sections = parts[0], parts[1:]
    idx = next((i for i, s in enumerate(sections) if s.startswith(f"## {meta['date']}\n")), None)
    if idx is not None:
        m = re.search(re.escape(MD_MARK) + r"(.*) -->", sections[idx])
        if m:
            blob = json.loads(m.group(1))
            old, old_meta = blob["results"], blob["meta"]
            new_peers = {r["peer"] for r in results}
            if any(r["peer"] not in new_peers for r in old):
                cmds = old_meta.get("commands") or [old_meta["command"]]
                meta = {**meta, "commands": [*cmds, meta["command"]]}
            merged = [r for r in old if r["peer"] not in new_peers] + results
            results = sorted(merged, key=lambda r: PEERS.index(r["peer"]))
        sections[idx] = render_section(meta, results) + "\n"
    else:
        sections.insert(0, render_section(meta, results) + "\n")
    path.write_text(
        prefix.rstrip("\n") + "\n\n" + "".join(sections).rstrip("\n") + "\n", encoding="utf-8"
    )


# ----------------------------------------------------------------------------- main


def parse_peers(spec: str) -> list[str]:
    out: list[str] = []
    for name in (s.strip() for s in spec.split(",") if s.strip()):
        for p in ALIASES.get(name, [name]):
            if p not in PEERS:
                die(f"unknown peer {p!r}; choose from {', '.join(PEERS)} (or aiscat, all)")
            if p not in out:
                out.append(p)
    return sorted(out, key=PEERS.index)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="AIS decode throughput: seawatch vs aiscat, pyais, libais, gpsdecode.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("--repeat", type=int, default=25, help="copies of the sample log")
    ap.add_argument("--peers", default="all", help=f"comma list of {', '.join(PEERS)}, aiscat, all")
    ap.add_argument(
        "--sample-lines",
        type=int,
        default=300_000,
        help="measure the --sample-peers on the first N lines only (0 = full input)",
    )
    ap.add_argument(
        "--sample-peers", default=SLOW_PEERS, help="peers that --sample-lines applies to"
    )
    ap.add_argument("--runs", type=int, default=3, help="timed runs per peer; best is reported")
    ap.add_argument("--core", type=int, default=None, help="CPU to pin peers to (default: last)")
    ap.add_argument(
        "--libais-python",
        default="/usr/bin/python3",
        help="interpreter that has libais (`import ais`)",
    )
    ap.add_argument("--input", type=Path, default=DEFAULT_SAMPLE, help="the sample log")
    ap.add_argument("--timeout", type=float, default=1800, help="per-peer timeout, seconds")
    ap.add_argument(
        "--output-md",
        nargs="?",
        type=Path,
        const=DEFAULT_MD,
        default=None,
        help="append/update today's section in this markdown file",
    )
    ap.add_argument(
        "--date",
        default=datetime.now(UTC).strftime("%Y-%m-%d"),
        help="section date for --output-md",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write raw results as JSON")
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=60,
        help="before each peer, wait up to this many seconds for other processes to go "
        f"below {BUSY_LIMIT} cores of load (0 = don't wait)",
    )
    args = ap.parse_args(argv)

    if not args.input.is_file():
        die(
            f"sample log not found: {args.input}\n"
            "  This benchmark needs the project's shared data directory next to the repo "
            "(../shared/data/ais/aishub_gpsd_contrib/ais-nmea-sample.log), or pass --input."
        )
    if args.repeat < 1 or args.runs < 1:
        die("--repeat and --runs must be >= 1")
    peers = parse_peers(args.peers)
    sample_peers = set(parse_peers(args.sample_peers)) if args.sample_lines else set()
    cpus = sorted(os.sched_getaffinity(0))
    core = cpus[-1] if args.core is None else args.core
    if core not in cpus:
        die(f"--core {core} not in this process's CPU set {cpus}")

    t0 = time.perf_counter()
    full, sub, warm = build_inputs(args.input, args.repeat, args.sample_lines)
    warm_page_cache(full.path)
    machine = machine_info()
    print(
        f"input: {full.path.relative_to(REPO)}: {full.lines:,} lines, {full.sentences:,} "
        f"sentences, ~{full.expected_messages:,} messages "
        f"(ais-nmea-sample.log × {args.repeat}); built in {time.perf_counter() - t0:.1f} s"
    )
    if full.sentences < 2_000_000:
        print(f"note: fewer than 2 M sentences (--repeat {args.repeat}); use --repeat >= 24")
    print(
        f"machine: {machine['cpu_model']}, nproc={machine['nproc']}; peers pinned to core "
        f"{core}, one at a time"
    )

    results = []
    for peer in peers:
        inp = sub if (peer in sample_peers and sub is not None) else full
        python = args.libais_python if peer == "libais" else sys.executable
        print(f"  {peer:<12} on {inp.label} ...", end=" ", flush=True)
        if args.wait_idle > 0:
            wait_idle(BUSY_LIMIT, args.wait_idle)
        r = run_peer(peer, inp, warm, core, args.runs, python, args.timeout)
        v = rate(r)
        print(f"{v:,.0f} msg/s" if v is not None else f"{r['status']}: {r.get('reason', '')}")
        results.append(r)

    print_table(results, full)

    cmd = " ".join([".venv/bin/python", "bench/decode.py", *map(shlex.quote, sys.argv[1:])])
    meta = {
        "date": args.date,
        "machine": machine,
        "command": cmd,
        "repeat": args.repeat,
        "input_name": str(full.path.relative_to(REPO)),
        "sentences": full.sentences,
        "expected": full.expected_messages,
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
