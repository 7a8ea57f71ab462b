"""The live streams of ``seawatch serve``, measured through real processes on loopback.

``bench/serve.py --live SCENARIO`` runs this. Every part is a process of its own, as in use:

- a **feed** (``serve_live.py feed``): a loopback TCP server sending the lines of a
  ``seawatch simulate`` run (cached in ``--sim-dir``) at ``--rate`` lines/s, each line's tag
  block ``c:`` rewritten to the wall-clock time it is sent (milliseconds), so a position's
  ``ts`` is the moment its NMEA line went out;
- the **server**: ``seawatch serve --tcp`` reading that feed (``--batch-s``; the engine's
  ``--reorder-window-s`` ``--window-s``), labels by a rule
  (east of 60° E ``SECRET//REL TO IND``, the rest the default ``UNCLASSIFIED``);
- **WebSocket clients** (``serve_live.py clients``, ``--client-procs`` processes of asyncio
  clients of the ``websockets`` package), each with its own token and subscription.

Each client times its handshake (the server checks the token during it: a new token's slow
KDF), its subscription's acknowledgement, the two together (connect -> first ack) and the
same subscription's again. A client times every position it receives: latency = arrival of
the frame − the item's ``ts`` (the line's send time: the same clock, loopback), in 1 ms
bins, except in the fan-out and idle scenarios, where each frame's items are counted and all
given the latency of its first item, the oldest queued (parsing a million items a second
would cost the clients more than the server): the frame's worst. There each client also
parses one columnar frame in :data:`SAMPLE_EVERY` whole and times each of its items by its
own ``ts`` (frames chosen by their order alone, so a sample of every position's own
latency). Loss is counted three ways: lines sent vs lines the server kept (its batch files),
positions stored vs a reference ``seawatch ingest --detect`` of those batch files, and per
client, positions received vs :class:`~seawatch.store.query.Query` for its reader and bbox
over the same seconds (the last ``--window-s`` + 2 s are left out: the reorder buffer
releases them only when the session finishes).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

HIST_MS = 120_000
_C = re.compile(rb"c:\d+(?:\.\d+)?")
_TS = re.compile(rb'"ts": ?"([^"]+)"')
_COUNT = re.compile(rb'"count": (\d+)')
_TS_COLUMN = re.compile(rb'"ts": \[([^\]]*)\]')
_TS_AT = b'"ts": ['
SAMPLE_EVERY = 20
"""A light client parses one columnar frame in this many whole (the frames' order staggered
by client): each of its items timed by its own ``ts``."""


def _item_latencies_ms(data: bytes, now: float) -> np.ndarray[Any, np.dtype[np.int64]] | None:
    """Each item's latency (ms, clipped to the histogram) of a columnar frame received at
    ``now`` (epoch seconds): ``now`` - its own ``ts``; None without a ``ts`` column."""
    columns = _TS_COLUMN.search(data)
    if columns is None or not columns.group(1):
        return None
    secs = _epoch_s(columns.group(1).replace(b'"', b"").split(b","))
    return np.clip(((now - secs) * 1e3).astype(np.int64), 0, HIST_MS)


def _first_ts(data: bytes) -> bytes | None:
    """The first value of a columnar frame's ``ts`` column (its oldest item), unquoted; the
    rest of the frame is not looked at (a light client's whole parse: ~40 us a 70 kB frame
    less than splitting the column, bench/RESULTS.md 2026-12-08 session 8, h-fan)."""
    at = data.find(_TS_AT)
    if at < 0:
        return None
    at += len(_TS_AT)
    ends = [e for e in (data.find(b",", at), data.find(b"]", at)) if e >= 0]
    return data[at : min(ends)].strip(b'"') if ends else None


# --- the feed ---------------------------------------------------------------------------
def _lines(files: list[Path]) -> Iterator[bytes]:
    """Blocks of whole lines of ``files``, over and over."""
    while True:
        for path in files:
            with path.open("rb") as f:
                rest = b""
                while block := f.read(1 << 20):
                    block = rest + block
                    cut = block.rfind(b"\n") + 1
                    rest = block[cut:]
                    yield block[:cut]


def feed_main(rate: float, duration_s: float, files: list[Path]) -> None:
    """Listen on a free loopback port (printed), accept the server, wait for ``go`` on
    stdin, send ``rate`` lines/s for ``duration_s``, print what was sent, wait for EOF."""
    server = socket.create_server(("127.0.0.1", 0))
    print(json.dumps({"port": server.getsockname()[1]}), flush=True)
    conn, _ = server.accept()
    sys.stdin.readline()  # "go"
    blocks = _lines(files)
    pending: list[bytes] = []
    sent = 0
    t0 = time.time()
    end = t0 + duration_s
    while True:
        now = time.time()
        if now >= end:
            break
        due = int((now - t0) * rate) - sent
        if due > 0:
            while len(pending) < due:
                pending += next(blocks).splitlines(keepends=True)
            chunk, pending = b"".join(pending[:due]), pending[due:]
            stamp = b"c:%.3f" % time.time()
            conn.sendall(_C.sub(stamp, chunk))
            sent += due
        time.sleep(0.005)
    print(json.dumps({"sent": sent, "t0": t0, "t1": time.time()}), flush=True)
    sys.stdin.read()  # until the bench closes stdin
    conn.close()


# --- the clients ------------------------------------------------------------------------
def _epoch_s(ts: list[bytes]) -> np.ndarray[Any, np.dtype[np.float64]]:
    arr = np.array([t.rstrip(b"Z") for t in ts], dtype="datetime64[us]")
    return arr.astype(np.int64) / 1e6  # type: ignore[no-any-return]


async def _client(spec: dict[str, Any], url: str, light: bool, out: dict[str, Any]) -> None:
    from websockets.asyncio.client import connect

    hist = np.zeros(HIST_MS + 1, np.int64)
    own = np.zeros(HIST_MS + 1, np.int64)  # sampled frames' items, each by its own ts
    per_s: Counter[int] = Counter()
    out.update(frames=0, positions=0, events=0, missed=0, errors=[], bytes=0)
    try:
        began = time.monotonic()
        async with connect(
            f"{url}/live",
            additional_headers={"Authorization": f"Bearer {spec['token']}"},
            max_size=None,
            open_timeout=60,
            ping_interval=None,
        ) as ws:
            out["connect_ms"] = (time.monotonic() - began) * 1e3  # the handshake alone
            for key in ("ack_ms", "again_ms"):  # the token checked (KDF), then not again
                t0 = time.monotonic()
                await ws.send(json.dumps(spec["sub"]))
                ack = json.loads(await ws.recv())
                out[key] = (time.monotonic() - t0) * 1e3
                if key == "ack_ms":  # connect -> first ack: the token's check wherever it is
                    out["open_ack_ms"] = (time.monotonic() - began) * 1e3
                if ack.get("type") != "subscribed":
                    out["errors"].append(ack)
                    return
            spec["ready"].set()
            every = spec.get("resub_s")  # the same subscription again while frames come
            out["feed_ack_ms"], asked, last_frame, next_ask = [], 0.0, 0.0, 0.0
            while True:
                data = await ws.recv(decode=False)
                now = time.time()
                mono = time.monotonic()
                out["frames"] += 1
                out["bytes"] += len(data)
                head = data[:40]
                if asked and b"subscribed" in head:
                    out["feed_ack_ms"].append((mono - asked) * 1e3)
                    asked = 0.0
                    continue
                if every and not asked and mono - last_frame < 0.3 and mono >= next_ask:
                    await ws.send(json.dumps(spec["sub"]))  # frames came lately: under feed
                    asked, next_ask = time.monotonic(), mono + every
                last_frame = mono
                if b'"type": "positions"' in head:
                    columnar = b'"columns": ' in data[:300]
                    if light and columnar:  # the first ts and the count: nothing else parsed
                        oldest, count = _first_ts(data), _COUNT.search(data[:200])
                        if oldest and count is not None:
                            n = int(count.group(1))
                            out["positions"] += n
                            lat = now - _epoch_s([oldest])[0]
                            hist[min(HIST_MS, max(0, int(lat * 1e3)))] += n
                        if out["frames"] % SAMPLE_EVERY == spec["sample_at"]:
                            lat_ms = _item_latencies_ms(data, now)
                            if lat_ms is not None:
                                own += np.bincount(lat_ms, minlength=HIST_MS + 1)
                        continue
                    columns = _TS_COLUMN.search(data) if columnar else None
                    if columns is not None:  # the columnar form: the ts column, in item order
                        ts = columns.group(1).replace(b'"', b"").split(b",")
                    elif light:  # no parsing: count items, time the first (oldest queued)
                        n = data.count(b'"mmsi": ')
                        first = _TS.search(data)
                        if not n or first is None:
                            continue
                        out["positions"] += n
                        lat = now - _epoch_s([first.group(1)])[0]
                        hist[min(HIST_MS, max(0, int(lat * 1e3)))] += n
                        continue
                    ts = ts if columns is not None else _TS.findall(data)
                    if not ts:
                        continue
                    out["positions"] += len(ts)
                    secs = _epoch_s(ts)
                    lat_ms = np.clip(((now - secs) * 1e3).astype(np.int64), 0, HIST_MS)
                    hist += np.bincount(lat_ms, minlength=HIST_MS + 1)
                    per_s.update(secs.astype(np.int64).tolist())
                elif b'"type": "events"' in head:
                    out["events"] += data.count(b'"event_type"')
                elif b'"type": "missed"' in head:
                    msg = json.loads(data)
                    out["missed"] += int(msg.get("positions", 0)) + int(msg.get("events", 0))
                elif b'"type": "error"' in head:
                    out["errors"].append(json.loads(data))
    except Exception as exc:  # counted, reported
        if not spec["stopping"]:
            out["errors"].append(repr(exc))
    finally:
        spec["ready"].set()
        out["hist"], out["own_hist"] = hist, own
        out["per_s"] = per_s


async def _clients(specs: list[dict[str, Any]], url: str, light: bool) -> list[dict[str, Any]]:
    outs: list[dict[str, Any]] = [{} for _ in specs]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    threading.Thread(
        target=lambda: (sys.stdin.readline(), loop.call_soon_threadsafe(stop.set)), daemon=True
    ).start()
    tasks = []
    for i, (spec, out) in enumerate(zip(specs, outs, strict=True)):
        spec["ready"], spec["stopping"] = asyncio.Event(), False
        spec["sample_at"] = i % SAMPLE_EVERY
        tasks.append(asyncio.create_task(_client(spec, url, light, out)))
        await asyncio.sleep(0.002)
    for spec in specs:
        await spec["ready"].wait()
    print(json.dumps({"ready": len(specs)}), flush=True)
    await stop.wait()
    for spec in specs:
        spec["stopping"] = True
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return outs


def clients_main() -> None:
    """Read ``{"url", "light", "clients": [{"token", "sub"}]}`` on stdin's first line;
    connect and subscribe them all, print ``ready``, then receive until a line on stdin;
    print each client's figures as JSON."""
    job = json.loads(sys.stdin.readline())
    outs = asyncio.run(_clients(job["clients"], job["url"], job["light"]))
    for out in outs:
        for key in ("hist", "own_hist"):
            hist = out.pop(key)
            nz = np.flatnonzero(hist)
            out[key] = {"ms": nz.tolist(), "n": hist[nz].tolist()}
        out["per_s"] = {str(k): v for k, v in out["per_s"].items()}
    print(json.dumps(outs), flush=True)


def percentile_ms(hists: list[dict[str, list[int]]], q: float) -> float:
    """The ``q`` quantile of the merged 1 ms histograms (NaN when empty)."""
    total = np.zeros(HIST_MS + 1, np.int64)
    for h in hists:
        np.add.at(total, np.asarray(h["ms"], np.int64), np.asarray(h["n"], np.int64))
    n = int(total.sum())
    if not n:
        return float("nan")
    return float(np.searchsorted(np.cumsum(total), q * n))


if __name__ == "__main__":
    if sys.argv[1] == "feed":
        feed_main(float(sys.argv[2]), float(sys.argv[3]), [Path(p) for p in sys.argv[4:]])
    elif sys.argv[1] == "clients":
        clients_main()
    else:
        sys.exit(f"usage: {sys.argv[0]} feed RATE DURATION FILE... | clients")
    os._exit(0)
