"""Vessel names and colours on the map, in headless Chromium: the labels' font is served
by the node (nothing from outside), a known vessel's name is rendered as its label at
zoom, and every vessel is drawn in the colour its ship type's class has in the one table
the page declares (web/src/types.js), which the legend counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser import SETTLE, MapPage, require_chromium
from playwright.sync_api import Browser
from webnode import WebNode, all_pages

pytestmark = pytest.mark.slow

require_chromium()

# the colour drawn at a canvas pixel: [r, g, b] (the map keeps its drawing buffer)
PIXEL = """([x, y]) => {
  const src = window.seawatch.map.getCanvas();
  const c = document.createElement('canvas');
  c.width = src.width; c.height = src.height;
  const ctx = c.getContext('2d');
  ctx.drawImage(src, 0, 0);
  return Array.from(ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data.slice(0, 3));
}"""


def _identities(node: WebNode, reader: str) -> dict[int, dict[str, Any]]:
    """Each vessel's name (its naming report's, else call sign) and ship type, per the API."""
    out: dict[int, dict[str, Any]] = {}
    with node.client(reader) as c:
        for it in all_pages(c, "/api/v1/identities", {}):
            had = out.setdefault(it["mmsi"], {"name": None, "ship_type": None})
            if had["name"] is None and (it["name"] or it["callsign"]):
                had["name"] = it["name"] or it["callsign"]
            if had["ship_type"] is None and it["ship_type"] is not None:
                had["ship_type"] = it["ship_type"]
    return out


def _class_of(classes: list[dict[str, Any]], code: int | None) -> dict[str, Any]:
    """The class of ``code`` in the page's own table (the last class: unknown)."""
    for c in classes[:-1]:
        if code is not None and any(lo <= code <= hi for lo, hi in c["codes"]):
            return c
    return classes[-1]


def _hex(rgb: list[int]) -> str:
    return "#" + "".join(f"{v:02x}" for v in rgb)


def test_names_at_zoom_and_colours_by_type_from_one_table(
    browser: Browser, webnode: WebNode, tmp_path: Path
) -> None:
    mp = MapPage.open(browser, webnode.url)
    mp.goto()
    mp.sign_in(webnode.tokens["IND:SECRET"])
    ident = _identities(webnode, "IND:SECRET")
    classes: list[dict[str, Any]] = mp.page.evaluate("window.seawatch.classes")
    assert classes[-1]["key"] == "unknown"

    # colours: every vessel drawn has the class of its API ship type, and is painted so
    drawn = mp.rendered()
    assert drawn
    kinds = {f["mmsi"]: f["kind"] for f in drawn}
    for mmsi, kind in kinds.items():
        assert kind == _class_of(classes, ident.get(mmsi, {}).get("ship_type"))["key"], mmsi
    assert len(set(kinds.values())) >= 3  # the sample has cargo, tankers, fishing, pleasure
    dot_paint = mp.page.evaluate(
        "window.seawatch.map.getPaintProperty('vessels-dot', 'circle-color')"
    )
    want = ["match", ["get", "kind"]]
    for c in classes[:-1]:
        want += [c["key"], c["colour"]]
    assert dot_paint == [*want, classes[-1]["colour"]]
    # the pixel at an arrow's centre is its class's colour (vessels far from any other)
    checked = 0
    points = mp.page.evaluate(
        """() => window.seawatch.map.queryRenderedFeatures({layers: ['vessels-arrow']})
             .map(f => { const p = window.seawatch.map.project(f.geometry.coordinates);
                         return {mmsi: f.properties.mmsi, kind: f.properties.kind,
                                 x: p.x, y: p.y}; })"""
    )
    colour = {c["key"]: c["colour"] for c in classes}
    for p in points:
        others = [q for q in points if q is not p]
        alone = all((p["x"] - q["x"]) ** 2 + (p["y"] - q["y"]) ** 2 > 30**2 for q in others)
        if not alone:
            continue
        got = mp.page.evaluate(PIXEL, [p["x"], p["y"]])
        want_rgb = [int(colour[p["kind"]][i : i + 2], 16) for i in (1, 3, 5)]
        assert max(abs(a - b) for a, b in zip(got, want_rgb, strict=True)) <= 40, (
            p,
            _hex(got),
            colour[p["kind"]],
        )
        checked += 1
    assert checked >= 3
    # the legend: each class with the count drawn
    legend = mp.page.eval_on_selector_all(
        "#legend li", "(els) => els.map((e) => [e.dataset.kind, Number(e.dataset.count)])"
    )
    assert [k for k, _ in legend] == [c["key"] for c in classes]
    counts = {k: n for k, n in legend}
    for c in classes:
        assert counts[c["key"]] == sum(1 for k in kinds.values() if k == c["key"])
    assert not mp.rendered(["vessels-label"])  # no names at zoom 4
    mp.shot(tmp_path / "colours.png")

    # names: a known vessel's name is rendered as its label at zoom 9
    with webnode.client("IND:SECRET") as c:
        latest = all_pages(c, "/api/v1/latest", {})
    named = [v for v in latest if (ident.get(v["mmsi"]) or {}).get("name")]

    def room(v: dict[str, Any]) -> float:  # to the nearest other vessel (no label collision)
        return min(
            (v["lon"] - w["lon"]) ** 2 + (v["lat"] - w["lat"]) ** 2 for w in latest if w is not v
        )

    target = max(named, key=room)
    mp.jump(target["lon"], target["lat"], 9)
    labels = {f["mmsi"]: f["name"] for f in mp.rendered(["vessels-label"])}
    assert labels.get(target["mmsi"]) == ident[target["mmsi"]]["name"]
    for mmsi, name in labels.items():
        assert name == ident[mmsi]["name"]
    mp.page.evaluate(SETTLE)
    mp.shot(tmp_path / "names.png")

    # the font: the node's own (OFL-1.1 Noto Sans), loaded before any glyph is drawn
    assert mp.page.evaluate("document.fonts.check('600 12px \"Noto Sans SemiBold\"')")
    fonts = mp.page.evaluate(
        "performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.includes('/fonts/'))"
    )
    assert fonts == [f"{webnode.url}/assets/fonts/noto-sans-latin-600-normal.woff2"]
    assert mp.outside == []
    assert mp.errors == []


def test_past_dense_at_every_vessel_is_a_lean_dot_and_still_drawn(
    browser: Browser, webnode: WebNode, tmp_path: Path
) -> None:
    mp = MapPage.open(browser, webnode.url)
    mp.goto()
    mp.sign_in(webnode.tokens["IND:SECRET"])
    n = int(mp.page.evaluate("window.seawatch.denseAt")) + 5_000
    mp.page.evaluate(
        """async (n) => {
             const {vessels, state} = window.seawatch;
             const [w, s, e, nn] = state.box;
             const items = [];
             for (let i = 0; i < n; i++) {
               items.push({mmsi: 200000000 + i, ts: '2025-06-01T00:00:00Z', label: 'SECRET',
                 lon: w + (e - w) * ((i * 7919) % n) / n, lat: s + (nn - s) * (i % 997) / 997,
                 heading_deg: i % 360});
             }
             vessels.apply(items);
             await window.seawatch.redraw();
           }""",
        n,
    )
    mp.page.evaluate(SETTLE)
    total = len({v["mmsi"] for v in mp.shown()})  # the node's vessels stay too
    assert total > n
    assert mp.count() == total
    drawn = mp.rendered()
    assert len({f["mmsi"] for f in drawn}) == total
    assert {f["layer"] for f in drawn} == {"vessels-dot"}  # no arrows past DENSE_AT
    assert all("heading" not in f for f in drawn)
    mp.shot(tmp_path / "dense.png")
    assert mp.errors == []
