"""The map in a real headless Chromium (Debian's, driven by Playwright through its
executable path: no browser download), with every request outside the node blocked and
recorded, and helpers reading what the page shows."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
VESSEL_LAYERS = ["vessels-arrow", "vessels-dot"]


def require_chromium() -> None:
    """Skip the calling test module without Debian's chromium (fail instead under
    ``REQUIRE_CHROMIUM=1``: `make test` as root installed it)."""
    if Path(CHROMIUM).is_file():
        return
    if os.environ.get("REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"no chromium at {CHROMIUM}, though `make deps` should have installed it")
    pytest.skip("no chromium: `make deps` (as root) installs Debian's", allow_module_level=True)


# resolves once the map has drawn everything it has (sources loaded, nothing moving)
SETTLE = """() => new Promise((resolve) => {
  const map = window.seawatch.map;
  map.once('idle', () => resolve(true));
  map.triggerRepaint();
})"""


@dataclass
class MapPage:
    page: Page
    node_url: str
    outside: list[str] = field(default_factory=list)  # requests not to the node: blocked
    errors: list[str] = field(default_factory=list)  # uncaught errors in the page

    @classmethod
    def open(cls, browser: Browser, node_url: str, size: tuple[int, int] = (1200, 800)) -> MapPage:
        """A new page (its own context: cookies, storage) of ``size`` CSS pixels; software
        WebGL's cost follows the pixels, so checks that need no room take a smaller one."""
        context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        page = context.new_page()
        mp = cls(page, node_url)

        def route(r: Route) -> None:
            url = r.request.url
            if url.startswith(node_url + "/") or url.startswith(node_url.replace("http", "ws")):
                r.continue_()
            else:
                mp.outside.append(url)
                r.abort()

        context.route("**/*", route)
        page.on("pageerror", lambda exc: mp.errors.append(str(exc)))
        page.on("console", mp._console)
        return mp

    def _console(self, msg: Any) -> None:
        # the browser logs the 401 of /api/v1/me before sign-in: that is the sign-in form
        if msg.type == "error" and "status of 401" not in msg.text:
            self.errors.append(msg.text)

    def goto(self, path: str = "/") -> None:
        self.page.goto(self.node_url + path)

    def loads(self) -> int:
        return int(self.page.evaluate("window.seawatch.state.loads"))

    def wait_loaded(self, after: int = 0, timeout_ms: int = 90_000) -> None:
        """Until a view has loaded (the ``after``-th load done) and the map is drawn."""
        self.page.wait_for_function(
            "(after) => document.body.dataset.state === 'ready' "
            "&& window.seawatch.state.loads > after",
            arg=after,
            timeout=timeout_ms,
        )
        self.page.evaluate(SETTLE)

    def sign_in(self, token: str) -> None:
        self.page.wait_for_selector("#signin-form", state="visible")
        self.page.fill("#token", token)
        self.page.click("#signin-form button[type=submit]")
        self.wait_loaded()

    def jump(self, lon: float, lat: float, zoom: float) -> None:
        """Move the view and wait for it to load."""
        before = self.loads()
        self.page.evaluate(
            "([lon, lat, zoom]) => { window.seawatch.map.jumpTo({center: [lon, lat], zoom}); }",
            [lon, lat, zoom],
        )
        self.wait_loaded(before)

    def box(self) -> list[float]:
        box: list[float] = self.page.evaluate("window.seawatch.state.box")
        return box

    def count(self) -> int:
        return int(self.page.get_attribute("#count", "data-count") or -1)

    def shown(self) -> list[dict[str, Any]]:
        """The vessel records the page holds (mmsi, position, label)."""
        got: list[dict[str, Any]] = self.page.evaluate(
            "[...window.seawatch.vessels.byMmsi.values()]"
            ".map(v => ({mmsi: v.mmsi, lon: v.lon, lat: v.lat, ts: v.ts, label: v.label}))"
        )
        return got

    def rendered(self, layers: list[str] | None = None) -> list[dict[str, Any]]:
        """Features drawn on the canvas now: one per feature and layer."""
        got: list[dict[str, Any]] = self.page.evaluate(
            """(layers) => window.seawatch.map.queryRenderedFeatures({layers})
                 .map(f => ({layer: f.layer.id, ...f.properties}))""",
            layers or VESSEL_LAYERS,
        )
        return got

    def banners(self) -> tuple[str, str]:
        return (
            self.page.inner_text("#banner-top").strip(),
            self.page.inner_text("#banner-bottom").strip(),
        )

    def click_vessel(self, mmsi: int) -> None:
        """Click where vessel ``mmsi`` is drawn."""
        xy = self.page.evaluate(
            """(mmsi) => {
                 const v = window.seawatch.vessels.get(mmsi);
                 const p = window.seawatch.map.project([v.lon, v.lat]);
                 const r = window.seawatch.map.getCanvas().getBoundingClientRect();
                 return [r.left + p.x, r.top + p.y];
               }""",
            mmsi,
        )
        self.page.mouse.click(xy[0], xy[1])

    def shot(self, path: Path) -> None:
        self.page.screenshot(path=str(path))
