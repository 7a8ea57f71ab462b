"""Child process for bench/decode.py: runs ONE decoder ("peer") pinned to one core.

Usage (normally called by bench/decode.py, not by hand):

    python bench/peers/runner.py --peer NAME --input FILE --core N [--runs K] [--warmup FILE]

It pins itself to ``--core`` before importing anything heavy, loads the input into
memory where the peer's API allows, does one untimed warm-up pass over ``--warmup``
(imports, numba JIT, caches), then times ``--runs`` decode passes over the input and
prints exactly one line ``BENCH_RESULT {json}`` on stdout.

This file must stay runnable by a plain system ``python3`` (the libais peer runs under
Debian's /usr/bin/python3, which has ``python3-ais``), so it uses only the standard
library at module level and imports each peer lazily.

Licensing: aiscat (GPL-3.0-or-later) and gpsd (BSD-2) are only *benchmark references*
here; nothing in ``src/seawatch`` imports or links them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH_RESULT "
REPO = Path(__file__).resolve().parents[2]
AISCAT_CHUNK = 64 * 1024  # same chunk size as aiscat.from_file()'s default
PIPE_CHUNK = 1 << 20


class PeerSkippedError(Exception):
    """The peer cannot run on this machine (missing package/binary); reason in args[0]."""


class PeerUnavailableError(Exception):
    """The peer's code does not exist yet (seawatch before seawatch.decode lands)."""


def _proc_status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


# A peer is (prepare, run, info):
#   prepare(path) -> in-memory input (untimed)
#   run(input) -> (messages, errors, extra)   (timed)
#   info: dict with "version" and "timing" (what the timed section includes)
Peer = tuple[Callable[[str], Any], Callable[[Any], tuple[int, int, dict[str, Any]]], dict[str, Any]]


def peer_aiscat(fmt: str) -> Peer:
    try:
        import aiscat
    except ImportError as exc:
        raise PeerSkippedError(
            f"aiscat not importable ({exc}); install: .venv/bin/pip install aiscat"
        ) from exc

    def run(data: bytes) -> tuple[int, int, dict[str, Any]]:
        dec = aiscat.Decoder(format=fmt)
        feed = dec.feed
        nxt = dec.next
        n = 0
        for off in range(0, len(data), AISCAT_CHUNK):
            feed(data[off : off + AISCAT_CHUNK])
            m = nxt()
            while m is not None:
                n += 1
                m = nxt()
        return n, 0, {}

    kind = "a Python dict per message" if fmt == "dictionary" else "a JSON bytes object per message"
    timing = (
        f"aiscat.Decoder(format={fmt!r}): feed() of 64 KiB slices of the in-memory file, "
        f"next() until None after each feed; output is {kind} (discarded)"
    )
    return _read_bytes, run, {"version": aiscat.__version__, "timing": timing}


def peer_pyais() -> Peer:
    try:
        import pyais
        from pyais.stream import IterMessages
    except ImportError as exc:
        raise PeerSkippedError(
            f"pyais not importable ({exc}); install: .venv/bin/pip install pyais"
        ) from exc

    def prepare(path: str) -> list[bytes]:
        return _read_bytes(path).splitlines()

    def run(lines: list[bytes]) -> tuple[int, int, dict[str, Any]]:
        n = err = 0
        for msg in IterMessages(lines):
            try:
                msg.decode().asdict()
            except Exception:
                err += 1
                continue
            n += 1
        return n, err, {}

    timing = (
        "pyais.stream.IterMessages over the in-memory list of lines (NMEA parse, checksum, "
        "multi-part assembly) + msg.decode().asdict() per message"
    )
    return prepare, run, {"version": pyais.__version__, "timing": timing}


def peer_libais() -> Peer:
    try:
        import ais
    except ImportError as exc:
        raise PeerSkippedError(
            f"`import ais` failed under {sys.executable} ({exc}); "
            "install: apt-get install python3-ais"
        ) from exc
    decode = ais.decode

    def prepare(path: str) -> list[str]:
        return _read_bytes(path).decode("ascii", "replace").splitlines()

    def run(lines: list[str]) -> tuple[int, int, dict[str, Any]]:
        # Manual reassembly (what ais.nmea_queue does, minus its per-line regexes):
        # !AIVDM,total,num,seq_id,channel,payload,fill*cs
        n = err = orphans = 0
        pending: dict[tuple[str, str, str], list[str]] = {}
        for line in lines:
            if not line.startswith("!"):
                continue
            f = line.split(",")
            if len(f) < 7:
                err += 1
                continue
            total = f[1]
            if total == "1":
                payload = f[5]
            else:
                key = (f[3], f[4], total)
                num = f[2]
                if num == "1":
                    pending[key] = [f[5]]
                    continue
                parts = pending.get(key)
                if parts is None or len(parts) != int(num) - 1:
                    pending.pop(key, None)
                    orphans += 1
                    continue
                parts.append(f[5])
                if num != total:
                    continue
                del pending[key]
                payload = "".join(parts)
            try:
                decode(payload, int(f[6][:1] or 0))
            except Exception:
                err += 1
                continue
            n += 1
        return n, err, {"orphan_fragments": orphans}

    timing = (
        "Python split(',') + multi-part reassembly by (seq_id, channel) over the in-memory "
        "list of str lines + ais.decode(payload, fill) -> dict per message (C++ decoder)"
    )
    return prepare, run, {"version": getattr(ais, "__version__", "?"), "timing": timing}


def peer_seawatch() -> Peer:
    src = str(REPO / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    try:
        from seawatch.decode import decode_stream
    except ImportError as exc:
        raise PeerUnavailableError(
            f"not available yet: `from seawatch.decode import decode_stream` failed ({exc})"
        ) from exc
    try:
        import seawatch

        version = getattr(seawatch, "__version__", "?")
    except ImportError:
        version = "?"

    def run(path: str) -> tuple[int, int, dict[str, Any]]:
        n = rows = batches = 0
        for batch in decode_stream(path):
            n += int(batch.stats.messages)
            rows += sum(t.num_rows for t in batch.tables.values())
            batches += 1
        return n, 0, {"table_rows": rows, "batches": batches}

    timing = (
        "decode_stream(path) over the whole file (file pre-read into the page cache by "
        "the harness; read syscalls are inside the timing) into pyarrow Tables; "
        "count = sum(batch.stats.messages)"
    )
    return str, run, {"version": version, "timing": timing}


def run_gpsdecode(args: argparse.Namespace, home_cpus: set[int]) -> dict[str, Any]:
    exe = shutil.which("gpsdecode")
    if exe is None:
        raise PeerSkippedError("gpsdecode not found on PATH; install: apt-get install gpsd-clients")
    ver = subprocess.run([exe, "-V"], capture_output=True, text=True, check=False)
    version = (ver.stdout or ver.stderr).strip().replace("gpsdecode revision ", "")
    # gpsdecode runs pinned to --core (taskset); this process (spawner / line counter)
    # moves to another core when there is one, so it does not steal the decoder's time.
    others = home_cpus - {args.core}
    if others:
        os.sched_setaffinity(0, others)
    taskset = shutil.which("taskset")
    pin = [taskset, "-c", str(args.core)] if taskset else []
    preexec = None if taskset else (lambda: os.sched_setaffinity(0, {args.core}))
    # ru_maxrss of a direct child includes the spawning Python image (vfork/fork + exec
    # keeps the old mm's high-water mark), so measure gpsdecode's own peak RSS with
    # GNU time, which forks it from a tiny process.  Fallback: ru_maxrss (upper bound).
    gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    work = Path(args.input).parent
    err_path = work / f"gpsdecode.{os.getpid()}.stderr"
    rss_path = work / f"gpsdecode.{os.getpid()}.maxrss"

    def spawn(path: str, stdout: Any, measure_rss: bool) -> tuple[subprocess.Popen[bytes], Any]:
        cmd = [*pin, exe, "-u", "-j"]
        if measure_rss and gnu_time:
            cmd = [gnu_time, "-f", "%M", "-o", str(rss_path), *cmd]
        stdin = open(path, "rb")  # noqa: SIM115 - closed by the caller
        with open(err_path, "wb") as stderr:
            proc = subprocess.Popen(
                cmd, stdin=stdin, stdout=stdout, stderr=stderr, preexec_fn=preexec
            )
        return proc, stdin

    def timed(path: str) -> tuple[float, int | None]:
        """Decode with JSON going to /dev/null; returns (wall seconds, peak RSS KiB)."""
        with open(os.devnull, "wb") as devnull:
            t0 = time.perf_counter()
            proc, stdin = spawn(path, devnull, measure_rss=True)
            rc = proc.wait()
            dt = time.perf_counter() - t0
            stdin.close()
        if rc != 0:
            raise RuntimeError(f"gpsdecode exited with {rc}: {err_path.read_text()[-300:]}")
        rss = None
        if gnu_time and rss_path.exists():
            rss = int(rss_path.read_text().split()[-1])
            rss_path.unlink()
        return dt, rss

    def counted(path: str) -> tuple[int, int]:
        """Untimed run through a pipe: (JSON lines = messages, stderr lines = errors)."""
        proc, stdin = spawn(path, subprocess.PIPE, measure_rss=False)
        assert proc.stdout is not None
        lines = 0
        while chunk := proc.stdout.read(PIPE_CHUNK):
            lines += chunk.count(b"\n")
        rc = proc.wait()
        stdin.close()
        errs = err_path.read_bytes().count(b"\n")
        if rc != 0:
            raise RuntimeError(f"gpsdecode exited with {rc}")
        return lines, errs

    try:
        warm = timed(args.warmup)[0] if args.warmup else None
        times: list[float] = []
        cpus: list[float] = []
        rss: list[int] = []
        for _ in range(args.runs):
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            dt, r = timed(args.input)
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            times.append(dt)
            cpus.append(ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime)
            if r is not None:
                rss.append(r)
        n, errs = counted(args.input)
    finally:
        err_path.unlink(missing_ok=True)
        rss_path.unlink(missing_ok=True)
    best = min(range(len(times)), key=times.__getitem__)
    return {
        "status": "ok",
        "messages": n,
        "errors": errs,
        "seconds": times[best],
        "seconds_all": times,
        "cpu_seconds": cpus[best],
        "cpu_seconds_all": cpus,
        "warmup_seconds": warm,
        "peak_rss_kib": max(rss) if rss else ru1.ru_maxrss,
        "base_rss_kib": None,
        "version": version,
        "timing": (
            "wall time of `taskset -c CORE gpsdecode -u -j < FILE > /dev/null` from spawn "
            "to exit (gpsdecode reads the file itself, from the page cache; JSON text "
            "formatting included); messages = JSON lines of a separate untimed run through "
            "a pipe; errors = its stderr lines; peak RSS from "
            + ("GNU time %M" if gnu_time else "ru_maxrss (upper bound: includes the spawner)")
        ),
        "extra": {},
        "affinity": [args.core],  # set on the gpsdecode child by taskset / preexec_fn
    }


PEERS: dict[str, Callable[[], Peer]] = {
    "seawatch": peer_seawatch,
    "aiscat-dict": lambda: peer_aiscat("dictionary"),
    "aiscat-json": lambda: peer_aiscat("json"),
    "pyais": peer_pyais,
    "libais": peer_libais,
}
ALL_PEERS = [*PEERS, "gpsdecode"]


def run_in_process(args: argparse.Namespace) -> dict[str, Any]:
    prepare, run, info = PEERS[args.peer]()
    warm = None
    if args.warmup:
        w_in = prepare(args.warmup)
        t0 = time.perf_counter()
        run(w_in)
        warm = time.perf_counter() - t0
        del w_in
    data = prepare(args.input)
    base_rss = _proc_status_kib("VmRSS")
    times: list[float] = []
    cpus: list[float] = []
    n = err = 0
    extra: dict[str, Any] = {}
    for _ in range(args.runs):
        c0 = time.process_time()
        t0 = time.perf_counter()
        n, err, extra = run(data)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    best = min(range(len(times)), key=times.__getitem__)
    return {
        "status": "ok",
        "messages": n,
        "errors": err,
        "seconds": times[best],
        "seconds_all": times,
        "cpu_seconds": cpus[best],
        "cpu_seconds_all": cpus,
        "warmup_seconds": warm,
        "peak_rss_kib": _proc_status_kib("VmHWM"),
        "base_rss_kib": base_rss,
        "version": info["version"],
        "timing": info["timing"],
        "extra": extra,
        "affinity": sorted(os.sched_getaffinity(0)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peer", required=True, choices=ALL_PEERS)
    ap.add_argument("--input", required=True)
    ap.add_argument("--core", type=int, required=True)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--warmup", default=None, help="small file decoded once, untimed")
    args = ap.parse_args()

    home_cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {args.core})
    base = {
        "peer": args.peer,
        "python": f"{platform.python_version()} ({sys.executable})",
        "core": args.core,
        "input": args.input,
    }
    try:
        if args.peer == "gpsdecode":
            res = run_gpsdecode(args, home_cpus)
        else:
            res = run_in_process(args)
    except PeerSkippedError as exc:
        res = {"status": "skipped", "reason": str(exc)}
    except PeerUnavailableError as exc:
        res = {"status": "unavailable", "reason": str(exc)}
    except Exception as exc:
        traceback.print_exc()
        res = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    print(RESULT_PREFIX + json.dumps({**base, **res}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
