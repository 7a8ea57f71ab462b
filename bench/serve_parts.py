"""Where a REST request's time goes: each step a record route takes, timed in-process.

In: a big store (bench/store.py's, e.g. 100 M positions; events detected by
``bench/serve.py --windows random`` first) and the requests bench/serve_store.py draws
(``random.Random(4)``). Out: per request kind, p50 / p95 wall and mean CPU of each step a
route runs, in the order it runs them:

- ``session``: a read session of the store (``deps.session``);
- ``auth``: the bearer token checked (``accounts.authenticate``; scrypt once, then cached);
- ``query``: ``Query.page`` (the SQL, with the label filter; rows as Arrow);
- ``labels``: ``Query.labels`` and the page's combined marking;
- ``render``: the page as JSON text (``render_json.items_json``, written by Arrow; where
  that module is missing, an older seawatch: ``render.items`` and ``json.dumps``);
- ``audit``: the request's audit row written and committed (``audit.record``).

The HTTP figures (``bench/serve.py --windows random``) less these give what uvicorn,
FastAPI and the transfer add. One thread, nothing else running in this process::

    .venv/bin/python bench/serve_parts.py --db /tmp/hrest/bench100.duckdb --repeat 21
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from seawatch.export.common import marking_of
from seawatch.serve import render
from seawatch.serve.accounts import authenticate, create_user
from seawatch.serve.audit import record
from seawatch.serve.deps import Principal, ServeState
from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.query import Query

try:
    from seawatch.serve.render_json import items_json
except ImportError:  # an older seawatch (a worktree of a commit before it)
    items_json = None

sys.path.insert(0, str(Path(__file__).parent))
from serve_store import KINDS, _plan

STEPS = ("session", "auth", "query", "labels", "render", "audit")


class _Timer:
    """``with timer("step"):`` records the block's wall and CPU seconds under its name."""

    def __init__(self, took: dict[str, tuple[float, float]]) -> None:
        self.took = took

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0, c0 = time.perf_counter(), time.process_time()
        yield
        self.took[name] = (time.perf_counter() - t0, time.process_time() - c0)


def _render(rows: Any, labels: Any, marking: str, nxt: str | None) -> bytes:
    """The page's JSON document as the record routes write it."""
    text = None if items_json is None else items_json(rows, labels)
    if text is None:
        body = {"marking": marking, "items": render.items(rows, labels), "next": nxt}
        return render.json.dumps(body).encode()
    head = f'{{"marking": {render.json.dumps(marking)}, "items": '.encode()
    return head + text + b', "next": null}'


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--reader", default="USA:SECRET")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--kinds", default=",".join(KINDS))
    args = ap.parse_args()
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with open_store(args.db, settings) as store:
        token = create_user(store, f"parts-{os.getpid()}-{int(time.time())}", args.reader)[1]
        st = ServeState(store, settings)
        plan = _plan(store, args)
        wall: dict[tuple[str, str], list[float]] = {}
        cpu: dict[tuple[str, str], list[float]] = {}
        sizes: dict[str, list[int]] = {}
        load = [os.getloadavg()[0]]
        for kind in args.kinds.split(","):
            sizes[kind] = []
            for i, p in enumerate(plan[kind]):
                listing, filters = p["query"]
                lim = p.get("limit", args.limit)
                took: dict[str, tuple[float, float]] = {}
                timer = _Timer(took)
                with st.lock, timer("session"):
                    cm = store.read_session()
                    session = cm.__enter__()
                try:
                    with timer("auth"):
                        user, reader = authenticate(session, token)
                    q = Query(session, reader)
                    with timer("query"):
                        page = q.page(listing, limit=lim, **filters)
                    with timer("labels"):
                        labels = q.labels()
                        marking = marking_of(page.rows, labels, store.policy).overall.marking
                    with timer("render"):
                        text = _render(page.rows, labels, marking, page.next)
                    with timer("audit"):
                        who = Principal(user, reader)
                        record(st, who, p["path"], "bench", page.rows.num_rows, marking)
                finally:
                    cm.__exit__(None, None, None)
                if i == 0:
                    continue  # a warm-up
                sizes[kind].append(len(text))
                for name, (w, c) in took.items():
                    wall.setdefault((kind, name), []).append(w)
                    cpu.setdefault((kind, name), []).append(c)
            load.append(os.getloadavg()[0])
    print(
        f"bench/serve_parts: {args.db}, reader {args.reader}, {args.repeat - 1} requests per "
        "kind after a warm-up; per step p50 / p95 wall and mean CPU, ms"
    )
    print(f"{'kind':<12} {'KB':>6} " + " ".join(f"{s:>17}" for s in (*STEPS, "total")))
    for kind in sizes:
        cells = []
        tot_w = np.sum([wall[kind, s] for s in STEPS], axis=0)
        tot_c = np.sum([cpu[kind, s] for s in STEPS], axis=0)
        for s in STEPS:
            w, c = wall[kind, s], cpu[kind, s]
            cells.append(
                f"{np.percentile(w, 50) * 1e3:5.1f}/{np.percentile(w, 95) * 1e3:5.1f}/"
                f"{np.mean(c) * 1e3:5.1f}"
            )
        cells.append(
            f"{np.percentile(tot_w, 50) * 1e3:5.1f}/{np.percentile(tot_w, 95) * 1e3:5.1f}/"
            f"{np.mean(tot_c) * 1e3:5.1f}"
        )
        print(
            f"{kind:<12} {np.median(sizes[kind]) / 1e3:>6,.0f} "
            + " ".join(f"{x:>17}" for x in cells)
        )
    print(
        f"load average (1 min) during: {min(load):.2f}-{max(load):.2f}, now (1, 5, 15 min) "
        "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    )


if __name__ == "__main__":
    main()
