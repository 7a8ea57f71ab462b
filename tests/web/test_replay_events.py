"""Events in replay, in headless Chromium: as the replay clock advances (the slider, then
Play), each event of the view's window appears on the map at its start, exactly the API's
events for the view and window, and the banner takes in their markings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from browser import SETTLE, MapPage, require_chromium
from playwright.sync_api import Browser
from webnode import WebNode, all_pages

pytestmark = pytest.mark.slow

require_chromium()


def _ms(ts: str) -> int:
    return int(datetime.fromisoformat(ts).timestamp() * 1000)


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _drawn(mp: MapPage) -> set[str]:
    mp.page.evaluate(SETTLE)
    return {f["event_id"] for f in mp.rendered(["replay-events"])}


def test_events_appear_at_their_time_as_the_replay_advances(
    browser: Browser, simnode: WebNode, tmp_path: Path
) -> None:
    mp = MapPage.open(browser, simnode.url)
    mp.goto()
    mp.sign_in(simnode.tokens["IND:SECRET"])
    mp.jump(70.0, 12.0, 2)
    mp.page.click("#replay-toggle")
    mp.page.wait_for_selector("#replay-time[data-t]")
    mp.page.select_option("#replay-hours", "6")  # the whole 3 h simulated
    lo0 = mp.page.get_attribute("#replay-slider", "min")
    mp.page.wait_for_function(
        "(lo) => document.getElementById('replay-slider').min !== lo", arg=lo0
    )
    lo = int(mp.page.get_attribute("#replay-slider", "min") or 0)
    hi = int(mp.page.get_attribute("#replay-slider", "max") or 0)
    box = ",".join(str(v) for v in mp.box())
    window = f"{_utc(lo)}/{_utc(hi)}"
    with simnode.client("IND:SECRET") as c:
        events = all_pages(c, "/api/v1/events", {"bbox": box, "datetime": window})
        marked = c.get("/api/v1/events", params={"bbox": box, "datetime": window}).json()
    placed = [e for e in events if e["lon"] is not None and e["lat"] is not None]
    starts = sorted({_ms(e["start_ts"]) for e in placed})
    inside = [t for t in starts if lo < t < hi]
    assert len(inside) >= 3, "the simulated day has events to replay"

    def expected(t: int) -> set[str]:
        return {e["event_id"] for e in placed if _ms(e["start_ts"]) <= t}

    def slide(t: int) -> None:
        mp.page.evaluate(
            """(t) => { const s = document.getElementById('replay-slider');
                        s.value = String(t); s.dispatchEvent(new Event('input')); }""",
            t,
        )
        mp.page.wait_for_selector(f"#replay-time[data-t='{t}']")

    seen = []
    for t in (inside[0] - 1000, inside[0], inside[len(inside) // 2], hi):
        slide(t)
        want = expected(t)
        assert _drawn(mp) == want, _utc(t)
        assert mp.page.get_attribute("#replay-events", "data-count") == str(len(want))
        seen.append(len(want))
    assert seen == sorted(seen)
    assert seen[0] < seen[1] < seen[-1]
    # one label on this node: the banner is the events' marking
    assert {e["label"] for e in placed} == {marked["marking"]}
    mp.page.wait_for_function("(m) => document.body.dataset.marking === m", arg=marked["marking"])
    mp.shot(tmp_path / "replay-events.png")

    # Play runs the clock forward and the events appear as it passes their starts: from
    # 5 minutes before the window's first event start (2 ticks of the clock at 600x; from
    # the window's start, the ~3 empty hours before the simulated ones were ~70 redraws)
    start = max(lo, inside[0] - 5 * 60_000)
    slide(start)
    before = int(mp.page.get_attribute("#replay-events", "data-count") or -1)
    assert before == len(expected(start))
    mp.page.select_option("#replay-speed", "600")
    mp.page.click("#replay-play")
    mp.page.wait_for_function(
        "(n) => Number(document.getElementById('replay-events').dataset.count) > n",
        arg=before,
        timeout=90_000,
    )
    mp.page.click("#replay-play")  # pause
    mp.page.wait_for_function(
        "() => document.getElementById('replay-time').dataset.t"
        " === String(window.seawatch.state.replay.t)"
    )
    t = int(mp.page.evaluate("window.seawatch.state.replay.t"))
    assert _drawn(mp) == expected(t)
    mp.page.click("#replay-toggle")  # back to live: no replay events drawn
    mp.page.wait_for_function("() => window.seawatch.state.replay === null")
    assert _drawn(mp) == set()
    assert mp.outside == []
    assert mp.errors == []


def test_any_window_can_be_replayed_by_its_end(
    browser: Browser, simnode: WebNode, tmp_path: Path
) -> None:
    """The end field moves the window back in time: the slider spans exactly the chosen
    window and the events drawn at its end are the API's for that window."""
    mp = MapPage.open(browser, simnode.url)
    mp.goto()
    mp.sign_in(simnode.tokens["IND:SECRET"])
    mp.jump(70.0, 12.0, 2)
    mp.page.click("#replay-toggle")
    mp.page.wait_for_selector("#replay-time[data-t]")
    newest = int(mp.page.get_attribute("#replay-slider", "max") or 0)
    shown = mp.page.input_value("#replay-end")
    assert shown == _utc(newest)[:16], "the end field shows the window's end (UTC)"
    end = (newest - 90 * 60 * 1000) // 60_000 * 60_000  # 90 minutes earlier, whole minute
    mp.page.fill("#replay-end", _utc(end)[:16])
    mp.page.dispatch_event("#replay-end", "change")
    mp.page.wait_for_function(
        "(m) => document.getElementById('replay-slider').max === m", arg=str(end)
    )
    lo = int(mp.page.get_attribute("#replay-slider", "min") or 0)
    assert lo == end - 3600 * 1000  # the 1 h window, ending there
    assert mp.page.input_value("#replay-end") == _utc(end)[:16]
    mp.page.evaluate(
        """(t) => { const s = document.getElementById('replay-slider');
                    s.value = String(t); s.dispatchEvent(new Event('input')); }""",
        end,
    )
    mp.page.wait_for_selector(f"#replay-time[data-t='{end}']")
    box = ",".join(str(v) for v in mp.box())
    with simnode.client("IND:SECRET") as c:
        events = all_pages(
            c, "/api/v1/events", {"bbox": box, "datetime": f"{_utc(lo)}/{_utc(end)}"}
        )
    want = {e["event_id"] for e in events if e["lon"] is not None and e["lat"] is not None}
    assert want, "the chosen hour has events"
    assert _drawn(mp) == want
    assert mp.page.get_attribute("#replay-events", "data-count") == str(len(want))
    # a longer window keeps the chosen end
    mp.page.select_option("#replay-hours", "6")
    mp.page.wait_for_function(
        "(lo) => document.getElementById('replay-slider').min === lo",
        arg=str(end - 6 * 3600 * 1000),
    )
    assert mp.page.get_attribute("#replay-slider", "max") == str(end)
    mp.shot(tmp_path / "replay-window.png")
    assert mp.outside == []
    assert mp.errors == []
