"""Per-token rate limits (429 with Retry-After, as problem+json) and the longest datetime
window an API query may ask for (400 naming the limit), on a real server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from apiclient import Served

from seawatch.errors import RateLimited
from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app
from seawatch.serve.limits import RateLimiter
from seawatch.settings import load_settings
from seawatch.store import open_store


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A node allowing a burst of 3 requests, then one every 10 s; windows up to 2 days."""
    settings = load_settings(
        env={
            "SEAWATCH_NODE_NATION": "IND",
            "SEAWATCH_API_RATE_PER_S": "0.1",
            "SEAWATCH_API_BURST": "3",
            "SEAWATCH_API_MAX_WINDOW_DAYS": "2",
        }
    )
    store = open_store(tmp_path / "node.duckdb", settings)
    tokens = [create_user(store, f"u{i}", "IND:SECRET")[1] for i in range(2)]
    with Served(create_app(store, settings)) as url:
        yield url, {"a": tokens[0], "b": tokens[1]}
    store.close()


def test_a_token_over_its_rate_gets_429_with_retry_after(
    strict: tuple[str, dict[str, str]],
) -> None:
    url, tokens = strict
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['a']}"}) as c:
        assert [c.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
        r = c.get("/api/v1/me")
    assert r.status_code == 429
    assert r.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(r.headers["retry-after"]) <= 10
    assert "api_rate_per_s" in r.json()["detail"]
    # another token has its own bucket; the health check has none
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['b']}"}) as c:
        assert c.get("/api/v1/me").status_code == 200
    assert httpx.get(f"{url}/healthz").status_code == 200


def test_a_window_over_the_limit_is_a_400_naming_it(strict: tuple[str, dict[str, str]]) -> None:
    url, tokens = strict
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['b']}"}) as c:
        r = c.get("/api/v1/positions", params={"datetime": "2025-06-01T00:00Z/2025-06-05T00:00Z"})
        assert r.status_code == 400
        assert "over the limit of 2 days (api_max_window_days)" in r.json()["detail"]
        ok = c.get("/api/v1/positions", params={"datetime": "2025-06-01T00:00Z/2025-06-02T00:00Z"})
        assert ok.status_code == 200, ok.text


def test_the_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate_per_s=2.0, burst=2, clock=lambda: now[0])
    limiter.take("x")
    limiter.take("x")
    with pytest.raises(RateLimited, match=r"retry in 0\.50 s"):
        limiter.take("x")
    now[0] += 0.5
    limiter.take("x")  # one request refilled
    assert RateLimiter.header(0.2) == {"Retry-After": "1"}
    assert dt.timedelta(seconds=float(RateLimiter.header(2.1)["Retry-After"])).seconds == 3
