"""The web map's frame times with many vessels, in Debian's headless Chromium.

Serves an empty store with a real ``seawatch serve`` (a subprocess on a loopback port),
signs the map in, then for each ``--vessels`` count puts that many vessels (random
positions in the view, random headings) into the page's vessel layer exactly as the live
stream does (``Vessels.apply`` then the layer's ``setData``), and measures:

- update: the view's features built as the map draws them (``viewFeatures``: lean dots past
  ``DENSE_AT`` vessels) and one ``setData`` until the map is idle again (the cost of a 1 Hz
  live update);
- frame: the mean time between frames while the view pans continuously for
  ``--seconds`` (interaction with every vessel on screen);
- drawn: the vessels MapLibre reports rendered (must equal the count).

The pan's end reloads the view from the API as the map does after any move (the store is
empty, so the synthetic vessels are gone after it; each count starts afresh).

Software rendering (SwiftShader) on 2 shared cores says nothing of a laptop GPU; it shows
how the cost grows with the count. Run on demand (needs ``make web`` and chromium)::

    .venv/bin/python bench/web.py --vessels 1000,10000,100000
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from seawatch.serve.accounts import create_user
from seawatch.settings import load_settings
from seawatch.store import open_store

FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]

_FILL = """async (n) => {
  const {map, vessels, state} = window.seawatch;
  const [w, s, e, nn] = state.box;
  const items = [];
  for (let i = 0; i < n; i++) {
    items.push({mmsi: 200000000 + i, ts: '2025-06-01T00:00:00Z', label: 'UNCLASSIFIED',
      lon: w + Math.random() * (e - w), lat: s + Math.random() * (nn - s),
      heading_deg: Math.floor(Math.random() * 360)});
  }
  vessels.clear();
  vessels.apply(items);
  const t0 = performance.now();
  const fc = window.seawatch.viewFeatures();
  const build = performance.now() - t0;
  map.getSource('vessels').setData(fc);
  await new Promise((r) => map.once('idle', r));
  const update = performance.now() - t0;
  const drawn = new Set(map.queryRenderedFeatures({layers: ['vessels-arrow', 'vessels-dot']})
    .map((f) => f.properties.mmsi)).size;
  return {update, build, drawn};
}"""

_PAN = """async (seconds) => {
  const map = window.seawatch.map;
  const times = [];
  const end = performance.now() + seconds * 1000;
  let dir = 1;
  await new Promise((resolve) => {
    const step = (t) => {
      times.push(t);
      if (t > end) return resolve();
      dir = -dir;
      map.panBy([dir * 3, 0], {animate: false});
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  return gaps.reduce((a, b) => a + b, 0) / gaps.length;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vessels", default="1000,10000,100000", help="comma-separated counts")
    ap.add_argument("--seconds", type=float, default=5.0, help="panning time per count")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="seawatch-bench-web-"))
    env = {**os.environ, "SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DATA_DIR": str(tmp)}
    db = tmp / "web.duckdb"
    store = open_store(db, load_settings(env={"SEAWATCH_NODE_NATION": "IND"}))
    token = create_user(store, "bench", "IND:SECRET")[1]
    store.close()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "seawatch.cli.main", "serve", "--db", str(db), "--port", str(port)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            page.fill("#token", token)
            page.click("#signin-form button[type=submit]")
            page.wait_for_function("() => window.seawatch.state.loads > 0", timeout=60_000)
            print(f"chromium {browser.version}, viewport 1280x800, load {os.getloadavg()[0]:.1f}")
            print(
                f"{'vessels':>8} {'update ms':>10} {'of which build':>15} {'frame ms':>9} "
                f"{'fps':>6} {'drawn':>8}"
            )
            for n in (int(v) for v in args.vessels.split(",")):
                got = page.evaluate(_FILL, n)
                frame = page.evaluate(_PAN, args.seconds)
                # the pan's end reloads the view from the API (which holds none of these
                # vessels): let that finish before the next count
                page.wait_for_timeout(1500)
                page.wait_for_function(
                    "() => document.body.dataset.state === 'ready'", timeout=120_000
                )
                print(
                    f"{n:>8} {got['update']:>10.0f} {got['build']:>15.0f} {frame:>9.1f} "
                    f"{1000 / frame:>6.1f} "
                    f"{got['drawn']:>8}"
                )
            browser.close()
    finally:
        server.terminate()
        server.wait(20)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
