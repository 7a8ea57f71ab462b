"""The map is served at / from the package (built by `make web`): a strict CSP, its assets,
and a clear page when the assets were not built; the banner's marking comes from the node."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from webnode import WebNode

from seawatch.serve import web


def test_the_map_is_served_at_the_root_with_a_strict_csp(webnode: WebNode) -> None:
    if not (web.WEB_DIST / "index.html").is_file():
        pytest.fail("the map is not built: run `make web`")
    with httpx.Client(base_url=webnode.url, timeout=30) as c:
        page = c.get("/")
        assert page.status_code == 200
        assert "/assets/app.js" in page.text
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "connect-src 'self'" in csp
        for asset in ("/assets/app.js", "/assets/maplibre-gl.css", "/assets/basemap/land.geojson"):
            assert c.get(asset).status_code == 200, asset
        assert c.get("/assets/nope.js").status_code == 404


def test_a_missing_build_says_how_to_build_it(
    webnode: WebNode, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(web, "WEB_DIST", tmp_path)
    with httpx.Client(base_url=webnode.url, timeout=30) as c:
        page = c.get("/")
    assert page.status_code == 503
    assert "make web" in page.text


def test_the_banner_marking_combines_by_the_node_s_policy(webnode: WebNode) -> None:
    with webnode.client("IND:SECRET") as c:
        shown = ["CONFIDENTIAL//REL TO IND, JPN", "SECRET//NOFORN"]
        both = c.get("/api/v1/marking", params=[("of", m) for m in shown])
        assert both.json()["marking"] == "SECRET//NOFORN"
        assert c.get("/api/v1/marking").json()["marking"] == "UNCLASSIFIED"
        bad = c.get("/api/v1/marking", params={"of": "SEKRIT"})
        assert bad.status_code == 400
        assert c.get("/api/v1/marking", params={"nope": 1}).status_code == 400
    with httpx.Client(base_url=webnode.url, timeout=30) as c:
        assert c.get("/api/v1/marking").status_code == 401


def test_docs_state_the_basemap_s_size_as_built() -> None:
    manifest = web.WEB_DIST / "assets" / "basemap" / "manifest.json"
    if not manifest.is_file():
        pytest.fail("the map is not built: run `make web`")
    built = json.loads(manifest.read_text())
    doc = (Path(__file__).parents[2] / "docs" / "map.md").read_text()
    for name, got in built.items():
        row = re.search(
            rf"`assets/basemap/{name}\.geojson` \| ([\d.]+) MB \| .*?(\d[\d,]*) (?:polygons|lines)",
            doc,
        )
        assert row, f"docs/map.md has no size row for {name}"
        assert float(row.group(1)) == round(got["bytes"] / 1e6, 2), name
        assert int(row.group(2).replace(",", "")) == got["features"], name
