"""The map is served at / from the package (built by `make web`): a strict CSP, its assets,
and a clear page when the assets were not built; the banner's marking comes from the node."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from apiclient import Served
from webnode import WebNode

from seawatch.engine.ingest import ingest
from seawatch.labels import parse_label
from seawatch.serve import web
from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample
from seawatch.store import open_store


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


def test_the_banner_marking_equals_the_api_s_for_labels_of_other_originators(
    tmp_path: Path,
) -> None:
    """Markings are looked up as the stored labels (with their originators), not re-parsed
    under the node's nation: here none is set (XXX), as on `make run`'s store."""
    settings = load_settings(env={"SEAWATCH_API_RATE_PER_S": "1e6"})
    store = open_store(tmp_path / "s.duckdb", settings)
    for seed, (marking, originator) in enumerate(
        (("UNCLASSIFIED", "IND"), ("CONFIDENTIAL//REL TO USA, IND", "USA")), start=1
    ):
        feed = tmp_path / f"feed{seed}.nmea"
        write_sample(feed, vessels=5, minutes=5, seed=seed)
        label = parse_label(marking, store.policy, originator=originator)
        ingest(store, [feed], settings, label=label, detect=False)
    token = create_user(store, "u", "IND:SECRET")[1]
    headers = {"Authorization": f"Bearer {token}"}
    with (
        Served(create_app(store, settings)) as url,
        httpx.Client(base_url=url, headers=headers, timeout=30) as c,
    ):
        latest = c.get("/api/v1/latest", params={"limit": 10000}).json()
        shown = sorted({i["label"] for i in latest["items"]})
        assert len(shown) == 2
        combined = c.get("/api/v1/marking", params=[("of", m) for m in shown]).json()
    store.close()
    assert combined["marking"] == latest["marking"]
