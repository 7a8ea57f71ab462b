"""Areas of interest, alert rules and alerts through the API of a real server: made over
HTTP, fired by the engine as a feed is ingested, read back per reader (the labels of the
rule, the area and the data all count), acknowledged, deleted; and every bad request a 4xx
saying why."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyarrow.compute as pc
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from apiclient import Served, fetch_all, readable

from seawatch.engine.ingest import ingest
from seawatch.labels import Reader, parse_label
from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample
from seawatch.store import Store, open_store
from seawatch.store.query import Query

DATA = "CONFIDENTIAL//REL TO IND, USA"
READERS = ("IND:SECRET", "USA:SECRET", "USA:UNCLASSIFIED")


@dataclass
class Fired:
    store: Store
    url: str
    tokens: dict[str, str]
    crosser: int  # a vessel whose track crosses the area's west edge
    edge_lon: float
    watched: int
    area: str
    rules: dict[str, str]

    def client(self, reader: str) -> httpx.Client:
        auth = {"Authorization": f"Bearer {self.tokens[reader]}"}
        return httpx.Client(base_url=self.url, headers=auth, timeout=30)


def _poly(ring: list[list[float]]) -> dict[str, object]:
    return {"type": "Polygon", "coordinates": [ring]}


def _crossing(store: Store) -> tuple[int, float, int]:
    """A vessel moving in longitude, a longitude its track crosses, and another vessel."""
    q = Query(store, Reader.node_admin("test: pick vessels"))
    pos = q.positions()
    best = None
    for m in sorted(set(pos.column("mmsi").to_pylist())):
        lon = q.track(m).column("lon")
        lo, hi = pc.min_max(lon).values()
        if best is None or hi.as_py() - lo.as_py() > best[1] - best[0]:
            best = (lo.as_py(), hi.as_py(), m)
    assert best is not None
    assert best[1] - best[0] > 0.01
    other = next(m for m in sorted(set(pos.column("mmsi").to_pylist())) if m != best[2])
    return best[2], (best[0] + best[1]) / 2, other


@pytest.fixture(scope="module")
def fired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fired]:
    tmp = tmp_path_factory.mktemp("alerts")
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_API_RATE_PER_S": "1e6"})
    feed = tmp / "feed.nmea"
    write_sample(feed, vessels=15, minutes=20, seed=1)
    scout = open_store(tmp / "scout.duckdb", settings)  # where the vessels go, to draw the area
    ingest(scout, [feed], settings)
    crosser, edge, watched = _crossing(scout)
    scout.close()
    store = open_store(tmp / "node.duckdb", settings)
    tokens = {r: create_user(store, f"u{i}", r)[1] for i, r in enumerate(READERS)}
    app = create_app(store, settings)
    with Served(app) as url:
        ind = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {tokens['IND:SECRET']}"}
        )
        ring = [[edge, -10.0], [179.0, -10.0], [179.0, 40.0], [edge, 40.0], [edge, -10.0]]
        r = ind.post(
            "/api/v1/areas",
            json={
                "name": "east of the edge",
                "marking": DATA,
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            },
        )
        assert r.status_code == 201, r.text
        area = r.json()["item"]["zone_id"]
        rules = {}
        for name, body in {
            "entry": {"kind": "zone_entry", "zone_id": area},
            "exit": {"kind": "zone_exit", "zone_id": area},
            "watch": {"kind": "watchlist", "mmsi": [watched], "marking": "SECRET//REL TO IND"},
        }.items():
            r = ind.post("/api/v1/alert-rules", json={"name": name, **body})
            assert r.status_code == 201, r.text
            rules[name] = r.json()["item"]["rule_id"]
        ind.close()
        with app.state.seawatch.lock:  # the app's one writer, as live ingest takes it
            ingest(store, [feed], settings, label=parse_label(DATA, store.policy), detect=True)
        yield Fired(store, url, tokens, crosser, edge, watched, area, rules)
    store.close()


def _alerts(f: Fired, reader: str, **params: object) -> list[dict[str, object]]:
    with f.client(reader) as c:
        got = fetch_all(c, "/api/v1/alerts", {"limit": 3, **params})
    readable(got, Reader.parse(reader, f.store.policy), f.store.policy)
    return got


def test_entry_or_exit_fires_where_the_track_crosses(fired: Fired) -> None:
    got = [a for a in _alerts(fired, "IND:SECRET") if a["mmsi"] == fired.crosser]
    crossing = [a for a in got if a["kind"] in ("zone_entry", "zone_exit")]
    assert crossing, got
    track = Query(fired.store, Reader.parse("IND:SECRET", fired.store.policy)).track(fired.crosser)
    lon, ts = track.column("lon").to_pylist(), track.column("ts").to_pylist()
    east = [x >= fired.edge_lon for x in lon]
    expected = [("zone_entry" if east[k] else "zone_exit", ts[k].isoformat().replace("+00:00", "Z"))
                for k in range(1, len(east)) if east[k] != east[k - 1]]  # fmt: skip
    assert sorted((a["kind"], a["ts"]) for a in crossing) == sorted(expected)
    assert all(a["label"] == DATA for a in crossing)


def test_each_reader_gets_the_alerts_its_labels_allow(fired: Fired) -> None:
    ind = _alerts(fired, "IND:SECRET")
    usa = _alerts(fired, "USA:SECRET")
    assert {a["rule_id"] for a in ind} >= {fired.rules["watch"]}
    watch = [a for a in ind if a["rule_id"] == fired.rules["watch"]]
    assert len(watch) == 1  # fired once (6 h rearm)
    assert watch[0]["mmsi"] == fired.watched
    assert watch[0]["label"] == "SECRET//NOFORN"  # REL TO the originator alone
    assert {a["alert_id"] for a in usa} == {a["alert_id"] for a in ind} - {watch[0]["alert_id"]}
    assert _alerts(fired, "USA:UNCLASSIFIED") == []
    with fired.client("USA:SECRET") as c:
        listed = fetch_all(c, "/api/v1/alert-rules", {})
        assert {r["rule_id"] for r in listed} == {fired.rules["entry"], fired.rules["exit"]}
        assert c.get(f"/api/v1/alert-rules/{fired.rules['watch']}").status_code == 404
        assert (
            c.get(f"/api/v1/alert-rules/{fired.rules['entry']}").json()["item"]["zone_id"]
            == fired.area
        )


def test_acknowledge(fired: Fired) -> None:
    ind = _alerts(fired, "IND:SECRET")
    watch = next(a for a in ind if a["rule_id"] == fired.rules["watch"])
    other = next(a for a in ind if a["rule_id"] != fired.rules["watch"])
    with fired.client("USA:SECRET") as c:
        assert c.post(f"/api/v1/alerts/{watch['alert_id']}/ack").status_code == 404
        r = c.post(f"/api/v1/alerts/{other['alert_id']}/ack")
        assert r.status_code == 200, r.text
        assert r.json()["item"]["acked_by"] == "u1"
        assert c.post(f"/api/v1/alerts/{other['alert_id']}/ack").json()["item"]["acked_by"] == "u1"
    acked = _alerts(fired, "IND:SECRET", acked="true")
    assert [a["alert_id"] for a in acked] == [other["alert_id"]]
    assert other["alert_id"] not in {
        a["alert_id"] for a in _alerts(fired, "IND:SECRET", acked="false")
    }


RULES, AREAS = "/api/v1/alert-rules", "/api/v1/areas"
BAD = [
    (RULES, {"name": "x", "kind": "zone_entry", "zone_id": "nowhere"}, "no such zone"),
    (RULES, {"name": "x", "kind": "teleport"}, "kind"),
    (RULES, {"name": "x", "kind": "gap", "colour": "red"}, "colour"),
    (RULES, {"name": "x", "kind": "watchlist"}, "give the vessels"),
    (RULES, {"name": "x", "kind": "gap", "marking": "TOP SECRET"}, "could not read"),
    (RULES, {"name": "x", "kind": "gap", "marking": "PURPLE"}, "unknown classification"),
    (AREAS, {"name": "x", "geometry": {"type": "Point", "coordinates": [1, 2]}}, "Polygon"),
    (AREAS, {"name": "x", "geometry": _poly([[200, 0], [201, 0], [201, 1], [200, 0]])}, "range"),
    (AREAS, {"name": "x", "geometry": {"type": "Polygon", "coordinates": "no"}}, "geometry"),
]


@pytest.mark.parametrize(("path", "body", "says"), BAD)
def test_bad_requests_say_why(fired: Fired, path: str, body: dict[str, object], says: str) -> None:
    with fired.client("USA:SECRET") as c:
        r = c.post(path, json=body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert says in r.json()["detail"]


def test_usa_cannot_use_or_see_an_area_it_may_not_read(fired: Fired) -> None:
    with fired.client("IND:SECRET") as c:
        ring = [[80, 5], [81, 5], [81, 6], [80, 5]]
        body = {"name": "secret", "marking": "SECRET//REL TO IND", "geometry": _poly(ring)}
        r = c.post("/api/v1/areas", json=body)
        secret = r.json()["item"]["zone_id"]
    with fired.client("USA:SECRET") as c:
        r = c.post(
            "/api/v1/alert-rules", json={"name": "x", "kind": "zone_entry", "zone_id": secret}
        )
        assert r.status_code == 400
        assert "no such zone" in r.json()["detail"]
        assert secret not in {a["zone_id"] for a in fetch_all(c, "/api/v1/areas", {})}
        assert c.delete(f"/api/v1/areas/{secret}").status_code == 404
    with fired.client("IND:SECRET") as c:
        assert c.delete(f"/api/v1/areas/{secret}").status_code == 204


def test_delete_rules_then_the_area(fired: Fired) -> None:
    ring = [[60, 5], [61, 5], [61, 6], [60, 5]]
    with fired.client("IND:SECRET") as c:
        r = c.post("/api/v1/areas", json={"name": "short-lived", "geometry": _poly(ring)})
        area = r.json()["item"]["zone_id"]
        rules = [
            c.post("/api/v1/alert-rules", json={"name": k, "kind": k, "zone_id": area}).json()
            for k in ("zone_exit", "loitering")
        ]
        r = c.delete(f"/api/v1/areas/{area}")
        assert r.status_code == 409
        assert "delete them first" in r.json()["detail"]
        for rule in rules:
            rule_id = rule["item"]["rule_id"]
            assert c.delete(f"/api/v1/alert-rules/{rule_id}").status_code == 204
            assert c.get(f"/api/v1/alert-rules/{rule_id}").status_code == 404
        assert c.delete(f"/api/v1/areas/{area}").status_code == 204
        assert c.delete(f"/api/v1/areas/{area}").status_code == 404
