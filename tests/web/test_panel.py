"""The vessel panel in headless Chromium, on 3 h of simulated traffic with identity
changes and port calls: it lists the vessel's identity history, its port calls, its other
events and where its records came from (originating nation and node), as the API's profile
gives them, each with its record's marking."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import MapPage, require_chromium
from playwright.sync_api import Browser
from webnode import WebNode, all_pages

pytestmark = pytest.mark.slow

require_chromium()


def test_the_panel_shows_history_port_calls_and_origin(
    browser: Browser, simnode: WebNode, tmp_path: Path
) -> None:
    with simnode.client("IND:SECRET") as c:
        latest = {v["mmsi"]: v for v in all_pages(c, "/api/v1/latest", {})}
        visits = all_pages(c, "/api/v1/events", {"type": "port_visit"})
        profiles = {
            m: c.get(f"/api/v1/vessels/{m}").json() for m in sorted({e["mmsi"] for e in visits})
        }
    assert profiles, "the simulation has port calls"
    mmsi, profile = max(
        profiles.items(), key=lambda kv: (len(kv[1]["identities"]), len(kv[1]["events"]))
    )
    mp = MapPage.open(browser, simnode.url)
    mp.goto()
    mp.sign_in(simnode.tokens["IND:SECRET"])
    mp.jump(latest[mmsi]["lon"], latest[mmsi]["lat"], 6)
    mp.page.fill("#filter", str(mmsi))  # only this vessel drawn: the click is its
    mp.page.press("#filter", "Enter")
    mp.page.wait_for_selector(f"#filter[data-applied='{mmsi}']")
    mp.click_vessel(mmsi)
    mp.page.wait_for_selector(f"#panel[data-mmsi='{mmsi}'] .origins")

    def rows(cls: str) -> list[str]:
        got: list[str] = mp.page.eval_on_selector_all(
            f"#panel .{cls} li", "(els) => els.map((e) => e.innerText)"
        )
        return got

    ids = rows("identities")
    assert len(ids) == len(profile["identities"]) >= 1
    for shown, ident in zip(ids, profile["identities"], strict=True):
        assert (ident["name"] or "—") in shown
        assert ident["label"] in shown
    calls = [e for e in profile["events"] if e["event_type"] == "port_visit"]
    assert mp.page.get_attribute("#panel .port-calls", "data-count") == str(len(calls))
    assert len(rows("port-calls")) == min(len(calls), 20) >= 1
    others = [e for e in profile["events"] if e["event_type"] != "port_visit"]
    assert mp.page.get_attribute("#panel .events", "data-count") == str(len(others))
    origins = rows("origins")
    assert len(origins) == len(profile["origins"]) >= 1
    for shown, origin in zip(origins, profile["origins"], strict=True):
        assert origin["originator"] == "IND"
        assert "node local" in shown  # the node's own records (node_id: local)
        assert f"{origin['records']:,} records" in shown
        assert origin["marking"] in shown
    mp.shot(tmp_path / "panel.png")
    assert mp.outside == []
    assert mp.errors == []
