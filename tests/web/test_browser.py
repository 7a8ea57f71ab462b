"""The map in a real headless Chromium: it loads with nothing from outside the node, signs
in, shows exactly the API's vessels for the view (counted, drawn and picked), opens a
vessel's panel on click, never shows a JPN reader a record its labels deny, and its banner
shows the combined marking of the screen. Screenshots are saved in each test's tmp dir."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import SETTLE, MapPage, require_chromium
from playwright.sync_api import Browser
from webnode import WebNode

from seawatch.engine.ingest import Ingest
from seawatch.export.common import collection_label
from seawatch.labels import parse_label
from seawatch.serve.sessions import create_link
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample

pytestmark = pytest.mark.slow

require_chromium()


def _pages(client: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a listing, through every page (as the map reads)."""
    items: list[dict[str, Any]] = []
    url: str | None = path
    query: dict[str, Any] | None = {"limit": 10000, **params}
    while url:
        page = client.get(url, params=query).json()
        items += page["items"]
        url, query = page["next"], None
    return items


def _latest(client: httpx.Client, box: list[float] | None = None) -> list[dict[str, Any]]:
    """Every vessel's latest position in ``box``."""
    params = {} if box is None else {"bbox": ",".join(str(v) for v in box)}
    return _pages(client, "/api/v1/latest", params)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _expected_marking(node: WebNode, markings: set[str]) -> str:
    labels = [parse_label(m, node.store.policy) for m in sorted(markings)]
    return collection_label(labels, node.store.policy).marking


def _check_view(mp: MapPage, node: WebNode, reader: str) -> list[dict[str, Any]]:
    """The page shows exactly the API's vessels for its view: held, counted, drawn."""
    box = mp.box()
    with node.client(reader) as c:
        api = _latest(c, box)
    want = sorted(i["mmsi"] for i in api)
    assert sorted(v["mmsi"] for v in mp.shown()) == want
    assert mp.count() == len(want)
    drawn = mp.rendered()
    assert sorted(f["mmsi"] for f in drawn) == want  # each drawn once
    return api


def test_sign_in_count_click_and_banner_offline(
    browser: Browser, webnode: WebNode, tmp_path: Path
) -> None:
    mp = MapPage.open(browser, webnode.url)
    mp.goto()
    mp.page.wait_for_selector("#signin-form", state="visible")
    mp.shot(tmp_path / "signin.png")
    mp.sign_in(webnode.tokens["IND:SECRET"])
    assert "IND" in mp.page.inner_text("#who")
    assert "SECRET" in mp.page.inner_text("#who")
    api = _check_view(mp, webnode, "IND:SECRET")
    assert len(api) == 30  # both feeds' vessels are in the first view
    marking = _expected_marking(webnode, {i["label"] for i in api})
    assert marking == "SECRET//NOFORN"
    assert mp.banners() == (marking, marking)
    mp.shot(tmp_path / "map.png")

    mp.jump(84.5, 17.0, 7)  # a closer view: fewer vessels, the same rule
    closer = _check_view(mp, webnode, "IND:SECRET")
    assert 0 < len(closer) < len(api)
    assert mp.banners()[0] == _expected_marking(webnode, {i["label"] for i in closer})

    target = closer[0]["mmsi"]
    mp.click_vessel(target)
    mp.page.wait_for_selector("#panel:not([hidden])")
    with webnode.client("IND:SECRET") as c:
        profile = c.get(f"/api/v1/vessels/{target}").json()
    names = [i["name"] for i in profile["identities"] if i["name"]]
    assert mp.page.inner_text("#panel .vessel-name") == names[-1]
    assert str(target) in mp.page.inner_text("#panel")
    assert mp.page.inner_text("#panel .record-marking") == profile["marking"]

    # its track over the last 24 h (of its latest report) is drawn and marked
    mp.page.wait_for_selector("#panel .track-info[data-count]")
    end = datetime.fromisoformat(profile["latest"]["ts"])
    since = (end - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with webnode.client("IND:SECRET") as c:
        track = _pages(c, f"/api/v1/vessels/{target}/track", {"datetime": f"{since}/.."})
    assert int(mp.page.get_attribute("#panel .track-info", "data-count") or -1) == len(track)
    mp.page.evaluate(SETTLE)
    assert len(track) >= 2
    assert mp.rendered(["track"])
    shown = {i["label"] for i in closer} | {profile["marking"]} | {p["label"] for p in track}
    mp.page.wait_for_function(
        "(m) => document.body.dataset.marking === m", arg=_expected_marking(webnode, shown)
    )
    mp.shot(tmp_path / "panel.png")

    # the filter box: a name searched through the API narrows the vessels in view
    name = names[-1]
    with webnode.client("IND:SECRET") as c:
        hits = {v["mmsi"] for v in _pages(c, "/api/v1/vessels", {"q": name})}
    mp.page.fill("#filter", name)
    mp.page.press("#filter", "Enter")
    mp.page.wait_for_selector(f"#filter[data-applied='{name}']")
    assert mp.count() == len(hits & {i["mmsi"] for i in closer}) >= 1
    mp.page.fill("#filter", "")
    mp.page.press("#filter", "Enter")
    mp.page.wait_for_selector("#filter[data-applied='']")
    assert mp.count() == len(closer)
    assert mp.outside == []
    assert mp.errors == []


def test_a_jpn_reader_never_sees_what_its_labels_deny(
    browser: Browser, webnode: WebNode, tmp_path: Path
) -> None:
    with webnode.app.state.seawatch.lock:  # the served node's writer lock, as its routes take
        code, _ = create_link(webnode.store, webnode.users["JPN:SECRET"])
    mp = MapPage.open(browser, webnode.url)
    mp.goto(f"/#signin={code}")
    mp.wait_loaded()
    assert "#signin" not in mp.page.url  # the code left the address bar
    assert "JPN" in mp.page.inner_text("#who")
    with webnode.client("IND:SECRET") as c:
        denied = {i["mmsi"] for i in _latest(c) if "JPN" not in i["label"]}
    assert denied  # the node holds vessels JPN may not read
    for lon, lat, zoom in ((84.0, 14.0, 4), (0.0, 0.0, 0.5), (86.0, 16.0, 6)):
        mp.jump(lon, lat, zoom)
        api = _check_view(mp, webnode, "JPN:SECRET")
        shown = mp.shown()
        assert {v["mmsi"] for v in shown}.isdisjoint(denied)
        assert {v["label"] for v in shown} <= {"CONFIDENTIAL//REL TO IND, JPN"}
        if api:
            assert mp.banners() == ("CONFIDENTIAL//REL TO IND, JPN",) * 2
    mp.shot(tmp_path / "jpn.png")

    # the view's exports, fetched as the browser downloads them (with the session cookie)
    expected = mp.box()
    with webnode.client("JPN:SECRET") as c:
        want = _latest(c, expected)
    for fmt in ("geojson", "kml", "csv"):
        href = mp.page.get_attribute(f"#export-{fmt}", "href") or ""
        assert f"bbox={','.join(str(v) for v in expected)}" in href
        got = mp.page.evaluate(
            """async (href) => {
                 const r = await fetch(href);
                 return {status: r.status, marking: r.headers.get('x-seawatch-marking'),
                         body: await r.text()};
               }""",
            href,
        )
        assert got["status"] == 200, (fmt, got["body"][:200])
        assert got["marking"] == "CONFIDENTIAL//REL TO IND, JPN"
        if fmt == "geojson":
            features = json.loads(got["body"])["features"]
            assert sorted(f["properties"]["mmsi"] for f in features) == sorted(
                i["mmsi"] for i in want
            )
    again = MapPage.open(browser, webnode.url)  # the link worked once
    again.goto(f"/#signin={code}")
    again.page.wait_for_selector("#signin-form", state="visible")
    assert "already used" in again.page.inner_text("#signin-error")
    assert mp.outside == again.outside == []
    assert mp.errors == []


def test_every_zoom_level_of_the_basemap_has_features(
    browser: Browser, webnode: WebNode, tmp_path: Path
) -> None:
    mp = MapPage.open(browser, webnode.url, size=(640, 600))  # features drawn, not room
    mp.goto()
    mp.sign_in(webnode.tokens["IND:SECRET"])
    seen = {}
    for zoom in range(0, 15):
        mp.jump(80.27, 13.08, zoom)  # the coast at Chennai
        land = mp.rendered(["land"])
        coast = mp.rendered(["coastline"])
        seen[zoom] = (len(land), len(coast))
        assert land, f"no land drawn at zoom {zoom}"
        assert coast, f"no coastline drawn at zoom {zoom}"
        if zoom <= 4:
            assert mp.rendered(["borders"]), f"no borders drawn at zoom {zoom}"
        if zoom <= 8:  # India's territorial sea ends ~22 km off Chennai
            assert mp.rendered(["maritime"]), f"no maritime boundary drawn at zoom {zoom}"
    mp.jump(88.1, 26.9, 10)  # a land border at a high zoom (India, Nepal, Bhutan)
    assert mp.rendered(["borders"])
    mp.jump(80.50, 13.05, 11)  # on the maritime boundary off Chennai
    drawn = mp.rendered(["maritime"])
    assert drawn
    assert all(f["iso"] == "IND" for f in drawn)
    mp.shot(tmp_path / "zoom10.png")
    assert mp.outside == []


def test_live_positions_reach_the_map_for_what_the_reader_may_read(
    browser: Browser, livenode: WebNode, tmp_path: Path
) -> None:
    pages = {}
    for reader in ("IND:SECRET", "JPN:SECRET"):
        mp = MapPage.open(browser, livenode.url)
        mp.goto()
        mp.sign_in(livenode.tokens[reader])
        mp.jump(84.0, 14.0, 3.5)
        assert mp.count() == 0
        pages[reader] = mp
    for seed, marking in enumerate(("CONFIDENTIAL//REL TO IND, JPN", "SECRET//REL TO IND"), 1):
        feed = tmp_path / f"feed{seed}.nmea"
        write_sample(feed, vessels=10, minutes=10, seed=seed)
        _ingest_live(livenode, feed, marking)
    for reader, mp in pages.items():
        with livenode.client(reader) as c:
            want = sorted(i["mmsi"] for i in _latest(c, mp.box()))
        assert want
        mp.page.wait_for_function(
            "(n) => document.getElementById('count').dataset.count === String(n)",
            arg=len(want),
            timeout=60_000,
        )
        held = {v["mmsi"]: v for v in mp.shown()}
        assert sorted(held) == want
        with livenode.client(reader) as c:
            latest = {i["mmsi"]: i for i in _latest(c, mp.box())}
        assert {m: held[m]["ts"] for m in held} == {m: latest[m]["ts"] for m in latest}
        # the vessels the stream brought are looked up and named (GET /identities?mmsi=)
        with livenode.client(reader) as c:
            named = {
                i["mmsi"]: i["name"] or i["callsign"]
                for i in reversed(_pages(c, "/api/v1/identities", {}))
                if i["name"] or i["callsign"]
            }
        assert named
        mp.page.wait_for_function(
            "(named) => Object.entries(named).every(([m, name]) =>"
            " window.seawatch.identities.props(Number(m)).name === name)",
            arg={str(m): n for m, n in named.items()},
            timeout=30_000,
        )
        mp.shot(tmp_path / f"live-{reader.split(':')[0]}.png")
        assert mp.outside == []
        assert mp.errors == []


def test_incidents_are_listed_and_one_click_shows_its_evidence(
    browser: Browser, simnode: WebNode, tmp_path: Path
) -> None:
    mp = MapPage.open(browser, simnode.url)
    mp.goto()
    mp.sign_in(simnode.tokens["IND:SECRET"])
    mp.jump(70.0, 12.0, 2)
    box = ",".join(str(v) for v in mp.box())
    with simnode.client("IND:SECRET") as c:
        situation = c.get("/api/v1/situation", params={"bbox": box}).json()
    notable = situation["notable"]
    assert notable
    buttons = mp.page.locator("#incidents button")
    assert buttons.count() == len(notable)
    for i, inc in enumerate(notable):
        assert inc["what"] in buttons.nth(i).inner_text()
    mp.shot(tmp_path / "incidents.png")
    inc = notable[0]
    before = mp.loads()
    buttons.first.click()
    mp.page.wait_for_selector(f"#panel[data-incident='{inc['rank']}'] .track-info[data-count]")
    mp.wait_loaded(before)
    center = mp.page.evaluate("(() => window.seawatch.map.getCenter().toArray())()")
    assert center == pytest.approx([inc["lon"], inc["lat"]], abs=1e-6)
    assert str(inc["vessel"]["mmsi"]) in mp.page.inner_text("#panel")
    start = datetime.fromisoformat(inc["start"]) - timedelta(hours=1)
    end = datetime.fromisoformat(inc["end"]) + timedelta(hours=1)
    window = f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"
    mmsis = [inc["vessel"]["mmsi"]] + ([inc["other"]["mmsi"]] if inc["other"] else [])
    with simnode.client("IND:SECRET") as c:
        track = [
            p for m in mmsis for p in _pages(c, f"/api/v1/vessels/{m}/track", {"datetime": window})
        ]
    assert int(mp.page.get_attribute("#panel .track-info", "data-count") or -1) == len(track)
    mp.page.evaluate(SETTLE)
    assert mp.rendered(["track"])
    mp.shot(tmp_path / "incident.png")
    assert mp.outside == []
    assert mp.errors == []


def test_the_replay_slider_moves_a_vessel_along_its_recorded_track(
    browser: Browser, webnode: WebNode, tmp_path: Path
) -> None:
    mp = MapPage.open(browser, webnode.url)
    mp.goto()
    mp.sign_in(webnode.tokens["IND:SECRET"])
    mp.page.click("#replay-toggle")
    mp.page.wait_for_selector("#replay-time[data-t]")
    lo = int(mp.page.get_attribute("#replay-slider", "min") or 0)
    hi = int(mp.page.get_attribute("#replay-slider", "max") or 0)
    box = ",".join(str(v) for v in mp.box())
    with webnode.client("IND:SECRET") as c:
        positions = _pages(
            c, "/api/v1/positions", {"bbox": box, "datetime": f"{_iso(lo)}/{_iso(hi)}"}
        )
    by_vessel: dict[int, list[dict[str, Any]]] = {}
    for p in positions:
        by_vessel.setdefault(p["mmsi"], []).append(p)
    mmsi, track = max(by_vessel.items(), key=lambda kv: len(kv[1]))
    track.sort(key=lambda p: p["ts"])

    def ms(ts: str) -> int:
        return int(datetime.fromisoformat(ts).timestamp() * 1000)

    seen = []
    for p in (track[len(track) // 4], track[3 * len(track) // 4]):
        t = ms(p["ts"])
        mp.page.evaluate(
            """(t) => { const s = document.getElementById('replay-slider');
                        s.value = String(t); s.dispatchEvent(new Event('input')); }""",
            t,
        )
        mp.page.wait_for_selector(f"#replay-time[data-t='{t}']")
        mp.page.evaluate(SETTLE)
        # every vessel reported by then is drawn once, at its last report
        reported = {m for m, ps in by_vessel.items() if min(ms(q["ts"]) for q in ps) <= t}
        assert mp.count() == len(reported)
        drawn = {f["mmsi"]: f for f in mp.rendered()}
        assert set(drawn) == reported
        at = mp.page.evaluate(
            "([m, t]) => window.seawatch.state.replay.replay.at(t).find((p) => p.mmsi === m)",
            [mmsi, t],
        )
        last = [q for q in track if ms(q["ts"]) <= t][-1]
        assert (at["lon"], at["lat"], at["ts"]) == (last["lon"], last["lat"], last["ts"])
        seen.append((at["lon"], at["lat"]))
        mp.shot(tmp_path / f"replay-{len(seen)}.png")
    assert seen[0] != seen[1]  # it moved along its track
    mp.page.click("#replay-play")  # plays forward
    t0 = int(mp.page.get_attribute("#replay-time", "data-t") or 0)
    mp.page.wait_for_function(
        "(t0) => Number(document.getElementById('replay-time').dataset.t) > t0", arg=t0
    )
    mp.page.click("#replay-play")
    mp.page.click("#replay-toggle")  # back to live
    mp.page.wait_for_function("() => window.seawatch.state.replay === null")
    assert mp.outside == []
    assert mp.errors == []


def test_drawing_an_area_makes_a_rule_visible_through_the_api(
    browser: Browser, livenode: WebNode, tmp_path: Path
) -> None:
    mp = MapPage.open(browser, livenode.url)
    mp.goto()
    mp.sign_in(livenode.tokens["IND:SECRET"])
    mp.page.click("#area-draw")
    box = mp.page.evaluate(
        "(() => { const r = window.seawatch.map.getCanvas().getBoundingClientRect();"
        " return [r.left, r.top, r.width, r.height]; })()"
    )
    left, top, width, height = box
    pixels = [(0.3, 0.3), (0.6, 0.3), (0.6, 0.6), (0.3, 0.6)]
    corners = []
    for fx, fy in pixels:
        x, y = width * fx, height * fy
        corners.append(
            mp.page.evaluate("([x, y]) => window.seawatch.map.unproject([x, y]).toArray()", [x, y])
        )
        mp.page.mouse.click(left + x, top + y)
    mp.page.fill("#area-name", "Test box")
    mp.page.select_option("#area-kind", "zone_entry")
    mp.page.fill("#area-flags", "chn")
    mp.page.click("#area-form button[type=submit]")
    mp.page.wait_for_selector("#area-message[data-rule]")
    rule_id = mp.page.get_attribute("#area-message", "data-rule")
    with livenode.client("IND:SECRET") as c:
        rules = {r["rule_id"]: r for r in _pages(c, "/api/v1/alert-rules", {})}
        areas = {a["zone_id"]: a for a in _pages(c, "/api/v1/areas", {})}
    rule = rules[rule_id]
    assert (rule["name"], rule["kind"], rule["filters"]) == (
        "Test box: zone entry",
        "zone_entry",
        {"flags": ["CHN"]},
    )
    area = areas[rule["zone_id"]]
    assert area["name"] == "Test box"
    ring = [
        [float(v) for v in pair.split()]
        for pair in area["geometry_wkt"].removeprefix("POLYGON ((").removesuffix("))").split(",")
    ]
    flat = [v for pair in ring[:-1] for v in pair]
    # where each click landed, within a pixel (0.05° at this zoom)
    assert flat == pytest.approx([v for pair in corners for v in pair], abs=0.05)
    assert ring[0] == ring[-1]
    mp.page.evaluate(SETTLE)
    assert mp.rendered(["areas-fill"])  # drawn back from the API
    assert not mp.rendered(["draft-points"])
    mp.shot(tmp_path / "area.png")
    assert mp.outside == []
    assert mp.errors == []


def _ingest_live(node: WebNode, feed: Path, marking: str) -> None:
    """Store ``feed`` as live ingest does, telling the app's subscribers (/live)."""
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with node.app.state.seawatch.lock:
        session = Ingest(
            node.store,
            settings,
            detect=False,
            label=parse_label(marking, node.store.policy),
            sinks=[node.app.state.subscribers],
        )
        session.add([feed])
        session.finish()


def test_fired_alerts_arrive_live_and_are_acknowledged(
    browser: Browser, livenode: WebNode, tmp_path: Path
) -> None:
    write_sample(tmp_path / "before.nmea", vessels=5, minutes=10, seed=3)
    _ingest_live(livenode, tmp_path / "before.nmea", "SECRET//REL TO IND")
    with livenode.client("IND:SECRET") as c:
        watched = sorted(i["mmsi"] for i in _latest(c))[:2]
        made = c.post(
            "/api/v1/alert-rules", json={"name": "Watch", "kind": "watchlist", "mmsi": watched}
        )
        assert made.status_code == 201, made.text
    pages = {}
    for reader in ("IND:SECRET", "JPN:SECRET"):
        mp = MapPage.open(browser, livenode.url)
        mp.goto()
        mp.sign_in(livenode.tokens[reader])
        assert mp.page.get_attribute("#alerts", "data-count") == "0"
        pages[reader] = mp
    write_sample(tmp_path / "after.nmea", vessels=5, minutes=20, seed=3)
    _ingest_live(livenode, tmp_path / "after.nmea", "SECRET//REL TO IND")
    with livenode.client("IND:SECRET") as c:
        fired = _pages(c, "/api/v1/alerts", {"acked": "false"})
    assert {a["mmsi"] for a in fired} == set(watched)
    mp = pages["IND:SECRET"]
    mp.page.wait_for_function(
        "(n) => document.getElementById('alerts').dataset.count === String(n)",
        arg=len(fired),
        timeout=60_000,
    )
    listed = mp.page.eval_on_selector_all("#alerts li", "(els) => els.map((e) => e.dataset.alert)")
    assert sorted(listed) == sorted(a["alert_id"] for a in fired)
    mp.page.wait_for_function(
        "(m) => document.body.dataset.marking === m", arg="SECRET//NOFORN", timeout=30_000
    )
    mp.shot(tmp_path / "alerts.png")
    first = listed[0]
    mp.page.click(f"#alerts li[data-alert='{first}'] button")
    mp.page.wait_for_function(
        "(n) => document.getElementById('alerts').dataset.count === String(n)",
        arg=len(fired) - 1,
    )
    with livenode.client("IND:SECRET") as c:
        acked = _pages(c, "/api/v1/alerts", {"acked": "true"})
    assert [a["alert_id"] for a in acked] == [first]
    assert acked[0]["acked_by"] == livenode.users["IND:SECRET"]
    # the JPN reader may read none of them (the firing records are SECRET//REL TO IND)
    jpn = pages["JPN:SECRET"]
    jpn.page.wait_for_timeout(2000)
    assert jpn.page.get_attribute("#alerts", "data-count") == "0"
    for p in pages.values():
        assert p.outside == []
        assert p.errors == []
