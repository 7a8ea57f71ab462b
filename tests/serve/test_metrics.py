"""``/metrics``: Prometheus text for a caller with a token (401 without), counting requests
by route template (never the raw path), method and status, with their latency."""

from __future__ import annotations

from apiclient import Node
from prometheus_client.parser import text_string_to_metric_families


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_need_a_token(node: Node) -> None:
    with node.client() as anonymous:
        r = anonymous.get("/metrics")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


def test_metrics_count_requests_by_route_template(node: Node) -> None:
    with node.client("IND:SECRET") as c:
        mmsi = c.get("/api/v1/latest", params={"limit": 1}).json()["items"][0]["mmsi"]
        for _ in range(3):
            assert c.get(f"/api/v1/vessels/{mmsi}").status_code == 200
        assert c.get("/api/v1/positions", params={"bbox": "1,2,3"}).status_code == 400
        r = c.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    got = _samples(r.text)
    key = (("method", "GET"), ("route", "/api/v1/vessels/{mmsi}"), ("status", "200"))
    assert got[("seawatch_http_requests_total", key)] >= 3
    bad = (("method", "GET"), ("route", "/api/v1/positions"), ("status", "400"))
    assert got[("seawatch_http_requests_total", bad)] >= 1
    count = ("seawatch_http_request_duration_seconds_count", (("route", "/api/v1/vessels/{mmsi}"),))
    assert got[count] >= 3
    assert not any(str(mmsi) in str(labels) for _, labels in got)  # templates, not paths
    assert ("seawatch_live_subscribers", ()) in got


def test_metrics_give_the_memory_by_part(node: Node) -> None:
    with node.client("IND:SECRET") as c:
        got = _samples(c.get("/metrics").text)
    rss = got[("seawatch_memory_bytes", (("part", "rss"),))]
    store = got.get(("seawatch_memory_bytes", (("part", "store"),)))
    assert rss > 10 << 20  # a Python process with DuckDB and Arrow loaded
    assert ("seawatch_memory_bytes", (("part", "arrow"),)) in got
    assert store is None or 0 <= store < rss  # None: a PostgreSQL store (another process)
