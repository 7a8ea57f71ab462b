"""The simulator: its NMEA decodes cleanly, reports at the ITU-R M.1371 intervals, and every
injected behaviour in truth.jsonl is visible in the decoded positions and statics."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from seawatch.decode import decode
from seawatch.errors import ConfigError
from seawatch.events.registry import event_types
from seawatch.geo.land import on_land
from seawatch.sim import SimConfig, simulate
from seawatch.sim.behaviours import RATES
from seawatch.sim.names import check_event_types
from seawatch.sim.score import TOLERANCE_S

EVENT_TYPES = {
    "gap",
    "suspected_disabling",
    "encounter",
    "loitering",
    "zone_entry",
    "spoofing",
    "identity_change",
    "port_visit",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One 18 h run of 60 vessels (long enough for every behaviour), decoded."""
    out = tmp_path_factory.mktemp("sim")
    result = simulate(SimConfig(seed=2, vessels=60, hours=18), out)
    positions, statics, rejects, lines = [], [], Counter[str](), 0
    for name in result.files:
        tables, stats = decode(out / name)
        rejects.update(stats.rejects)
        lines += stats.lines
        positions.append(tables["positions"])
        statics.append(tables["statics"])
    truth = [json.loads(line) for line in (out / "truth.jsonl").read_text().splitlines()]
    return {
        "out": out,
        "result": result,
        "positions": pa.concat_tables(positions),
        "statics": pa.concat_tables(statics),
        "rejects": rejects,
        "lines": lines,
        "truth": truth,
    }


def _ts(s: str) -> np.datetime64:
    return np.datetime64(s.rstrip("Z"), "s")


def _track(run: dict[str, Any], mmsi: int) -> dict[str, np.ndarray]:
    p = run["positions"]
    t = p.filter(pc.equal(p["mmsi"], mmsi))
    return {
        "ts": t["ts"].cast(pa.timestamp("s")).to_numpy(),
        "lat": t["lat"].to_numpy(),
        "lon": t["lon"].to_numpy(),
        "sog": t["speed_kn"].to_numpy(zero_copy_only=False),
        "station": np.array(t["station"].to_pylist()),
    }


def _km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    la1, la2 = np.radians(lat1), np.radians(lat2)
    h = (
        np.sin((la2 - la1) / 2) ** 2
        + np.cos(la1) * np.cos(la2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * np.arcsin(np.sqrt(h))


def end_ts_minus_start_h(r: dict[str, Any]) -> float:
    return float((_ts(r["end_ts"]) - _ts(r["start_ts"])) / np.timedelta64(1, "h"))


def _records(run: dict[str, Any], event_type: str, **params: Any) -> list[dict[str, Any]]:
    out = [r for r in run["truth"] if r["event_type"] == event_type]
    return [r for r in out if all(r["params"].get(k) == v for k, v in params.items())]


def test_decodes_with_zero_rejects_time_ordered(run: dict[str, Any]) -> None:
    assert run["rejects"] == {}
    result = run["result"]
    assert run["lines"] == result.lines
    assert run["positions"].num_rows == result.by_type["1"] + result.by_type["18"]
    ts = run["positions"]["ts"].cast(pa.int64()).to_numpy()
    assert (np.diff(ts) >= 0).all()  # files sorted by name, lines by receive time
    assert set(run["positions"]["msg_type"].to_pylist()) == {1, 18}
    stations = set(run["positions"]["station"].to_pylist())
    assert any(s.startswith("sat-") for s in stations)
    assert any(s.startswith("sw-") for s in stations)
    manifest = json.loads((run["out"] / "manifest.json").read_text())
    assert manifest["bad_lines"] == 0
    assert manifest["lines"] == result.lines


def test_same_message_heard_by_two_stations(run: dict[str, Any]) -> None:
    p = run["positions"]
    keys = Counter(
        zip(p["mmsi"].to_pylist(), p["ts"].to_pylist(), p["lat"].to_pylist(), strict=True)
    )
    dup = [k for k, n in keys.items() if n == 2]
    assert len(dup) > 100
    assert max(keys.values()) == 2


def _expected_interval(sog: np.ndarray, msg_type: int, cs: bool, nav: np.ndarray) -> np.ndarray:
    if msg_type == 1:
        return np.where(nav == 5, 180, np.where(sog > 23, 2, np.where(sog > 14, 6, 10)))
    if cs:
        return np.where(sog <= 2, 180, 30)
    return np.where(sog <= 2, 180, np.where(sog > 23, 5, np.where(sog > 14, 15, 30)))


def test_reporting_intervals_follow_itu_table(run: dict[str, Any]) -> None:
    p = run["positions"]
    shared = {r["mmsi"] for r in _records(run, "spoofing", cause="two_places")}
    checked: Counter[int] = Counter()
    for mmsi in set(p["mmsi"].to_pylist()) - shared:
        t = p.filter(pc.equal(p["mmsi"], mmsi))
        msg_type = t["msg_type"][0].as_py()
        cs = bool(t["cs_unit"][0].as_py())
        nav = np.array(t["nav_status"].fill_null(0).to_pylist())
        expected = _expected_interval(
            t["speed_kn"].to_numpy(zero_copy_only=False), msg_type, cs, nav
        )
        if len(set(expected.tolist())) != 1:
            continue  # crossed a speed band
        ts = np.unique(t["ts"].cast(pa.int64()).to_numpy() // 1_000_000)
        if len(ts) < 15:
            continue
        mode = Counter(np.diff(ts).tolist()).most_common(1)[0][0]
        want = int(expected[0])
        assert abs(mode - want) <= max(1, 0.03 * want), (mmsi, msg_type, cs, mode, want)
        checked[want] += 1
    assert checked[10] >= 10, checked
    assert checked[30] >= 3, checked
    assert (checked[6] + checked[2]) >= 3, checked


def test_statics_every_six_minutes(run: dict[str, Any]) -> None:
    s = run["statics"]
    five = s.filter(pc.equal(s["msg_type"], 5))
    shared = {r["mmsi"] for r in _records(run, "spoofing", cause="two_places")}
    diffs = []
    for mmsi in set(five["mmsi"].to_pylist()) - shared:
        ts = np.unique(five.filter(pc.equal(five["mmsi"], mmsi))["ts"].cast(pa.int64()).to_numpy())
        diffs.append(np.diff(ts) // 1_000_000)
    d = np.concatenate(diffs)
    assert len(d) > 200
    assert Counter(d.tolist()).most_common(1)[0][0] == 360
    off = (d + 180) % 360 - 180  # a lost static makes 720, 1080... s
    assert (np.abs(off) <= 5).all()
    assert set(s["msg_type"].to_pylist()) == {5, 24}


def test_truth_schema(run: dict[str, Any]) -> None:
    truth = run["truth"]
    assert {r["event_type"] for r in truth} == EVENT_TYPES
    for r in truth:
        assert set(r) == {
            "event_type",
            "injected",
            "mmsi",
            "other_mmsi",
            "start_ts",
            "end_ts",
            "params",
        }
        assert isinstance(r["injected"], bool)
        assert 200_000_000 <= r["mmsi"] < 800_000_000
        assert r["other_mmsi"] is None or 200_000_000 <= r["other_mmsi"] < 800_000_000
        start = dt.datetime.strptime(r["start_ts"].replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")
        end = dt.datetime.strptime(r["end_ts"].replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")
        assert dt.datetime(2025, 6, 1, tzinfo=dt.UTC) <= start <= end
        assert end <= dt.datetime(2025, 6, 1, 18, tzinfo=dt.UTC)
        assert isinstance(r["params"], dict)
    assert all(r["other_mmsi"] for r in truth if r["event_type"] == "encounter")
    assert run["result"].behaviours == dict(sorted(Counter(r["event_type"] for r in truth).items()))


def test_truth_names_are_registered_event_types(run: dict[str, Any]) -> None:
    """Every truth record can be scored: its event type is a registered detector's."""
    assert {r["event_type"] for r in run["truth"]} <= set(event_types())
    assert set(TOLERANCE_S) <= set(event_types())
    check_event_types(RATES, "RATES")


def test_an_unregistered_truth_name_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"RATES: 'rendezvous' not a registered event type"):
        check_event_types(["gap", "jump", "rendezvous"], "RATES")


def test_dark_vessels_are_silent_in_their_window(run: dict[str, Any]) -> None:
    """Gap records are reception-based: heard at both ends (or silent to the end of the data),
    nothing in between, ≥ 6 h; the injected ones overlap the transponder's off window."""
    records = _records(run, "gap") + _records(run, "suspected_disabling")
    assert any(r["injected"] for r in _records(run, "gap"))
    assert any(r["injected"] for r in _records(run, "suspected_disabling"))
    for r in records:
        ts = _track(run, r["mmsi"])["ts"]
        start, end = _ts(r["start_ts"]), _ts(r["end_ts"])
        assert not ((ts > start) & (ts < end)).any()
        assert (ts == start).any()
        assert (ts == end).any() or r["params"]["open_end"]
        assert end - start >= np.timedelta64(6, "h")
        if r["injected"]:
            assert _ts(r["params"]["off_ts"]) < end
            assert start < _ts(r["params"]["on_ts"])
            assert r["params"]["duration_h"] >= (
                12 if r["event_type"] == "suspected_disabling" else 6
            )
        else:
            assert r["params"]["cause"] in {"coverage", "mmsi_changed", "suspected_disabling"}
    for r in _records(run, "suspected_disabling"):
        assert r["params"]["distance_from_shore_start_km"] >= 92.6  # 50 nm
        if not r["params"]["open_end"]:
            assert r["params"]["distance_from_shore_end_km"] >= 92.6
        if not r["injected"]:
            assert end_ts_minus_start_h(r) >= 12
            assert r["params"]["positions_in_lookback"] >= 80


def test_rendezvous_pair_within_500_m_and_slow(run: dict[str, Any]) -> None:
    (r,) = _records(run, "encounter")
    a, b = _track(run, r["mmsi"]), _track(run, r["other_mmsi"])
    lo, hi = _ts(r["start_ts"]), _ts(r["end_ts"])
    ina = (a["ts"] >= lo) & (a["ts"] <= hi)
    inb = (b["ts"] >= lo) & (b["ts"] <= hi)
    assert ina.sum() > 20
    assert inb.sum() > 20
    assert (a["sog"][ina] < 2).all()
    assert (b["sog"][inb] < 2).all()
    j = np.searchsorted(b["ts"][inb], a["ts"][ina]).clip(0, inb.sum() - 1)
    close = np.abs(b["ts"][inb][j] - a["ts"][ina]) <= np.timedelta64(30, "s")
    d_km = _km(
        a["lat"][ina][close], a["lon"][ina][close], b["lat"][inb][j][close], b["lon"][inb][j][close]
    )
    assert close.sum() > 10
    assert (d_km < 0.5).all()
    assert (hi - lo) >= np.timedelta64(2, "h")


def test_loitering_is_slow(run: dict[str, Any]) -> None:
    for r in _records(run, "loitering"):
        tr = _track(run, r["mmsi"])
        inside = (tr["ts"] >= _ts(r["start_ts"]) + 60) & (tr["ts"] <= _ts(r["end_ts"]) - 60)
        assert (tr["sog"][inside] < 2).all()
        before = tr["ts"] < _ts(r["start_ts"]) - 120
        if r["params"].get("cause") != "encounter" and before.any():
            assert np.median(tr["sog"][before]) > 5


def test_zone_entry_inside_the_polygon_after_start_only(run: dict[str, Any]) -> None:
    (r,) = [r for r in _records(run, "zone_entry") if r["injected"]]
    w, s, e, n = r["params"]["bbox"]
    tr = _track(run, r["mmsi"])
    inside = (tr["lat"] > s) & (tr["lat"] < n) & (tr["lon"] > w) & (tr["lon"] < e)
    assert not inside[tr["ts"] < _ts(r["start_ts"]) - 60].any()
    assert inside[tr["ts"] > _ts(r["start_ts"]) + 1800].mean() > 0.9
    assert r["params"]["zone_country"]
    assert r["params"]["polygon"][0] == r["params"]["polygon"][-1]
    for z in _records(run, "zone_entry"):  # every entry, the ships passing through too
        w, s, e, n = z["params"]["bbox"]
        tr = _track(run, z["mmsi"])
        inside = (tr["lat"] > s) & (tr["lat"] < n) & (tr["lon"] > w) & (tr["lon"] < e)
        at = np.flatnonzero(tr["ts"] == _ts(z["start_ts"]))
        assert inside[at].any(), z
        before = tr["ts"] < _ts(z["start_ts"])
        if z["params"].get("cause") == "track start":
            assert not before.any()
        else:
            assert before.any(), z
            assert not inside[np.flatnonzero(before)[-1]], z


def test_spoofing_visible(run: dict[str, Any]) -> None:
    """Jump records: after an odd number of jumps the positions at the two ends are far apart
    (after an even number the first place is back)."""
    jumps = _records(run, "spoofing", rule="jump")
    assert {r["params"]["cause"] for r in jumps} == {"jump", "on_land", "two_places"}
    for r in jumps:
        tr = _track(run, r["mmsi"])
        a = np.flatnonzero(tr["ts"] == _ts(r["start_ts"]))
        b = np.flatnonzero(tr["ts"] == _ts(r["end_ts"]))
        assert len(a), r
        assert len(b), r
        far = _km(tr["lat"][a][:, None], tr["lon"][a][:, None], tr["lat"][b], tr["lon"][b])
        if r["params"]["n_jumps"] % 2:
            assert far.max() > 100, r
        assert r["injected"] == (r["params"]["cause"] != "on_land")
    assert 1 <= len([r for r in jumps if r["params"]["cause"] == "jump"]) <= 2  # away, back
    (land,) = _records(run, "spoofing", rule="on_land")
    tr = _track(run, land["mmsi"])
    win = (tr["ts"] >= _ts(land["start_ts"])) & (tr["ts"] < _ts(land["end_ts"]))
    assert win.any()
    assert on_land(tr["lat"][win], tr["lon"][win]).all()
    shared = [r for r in jumps if r["params"]["cause"] == "two_places"]
    assert len({r["mmsi"] for r in shared}) == 1
    tr = _track(run, shared[0]["mmsi"])
    minute = tr["ts"].astype("datetime64[m]")
    far = [
        _km(tr["lat"][minute == m].min(), 0, tr["lat"][minute == m].max(), 0) > 100
        for m in np.unique(minute)[:200]
    ]
    assert sum(far) > 5
    names = set(
        run["statics"]
        .filter(pc.equal(run["statics"]["mmsi"], shared[0]["mmsi"]))["name"]
        .to_pylist()
    )
    assert set(shared[0]["params"]["names"]) <= names


def test_identity_changes_visible_in_statics(run: dict[str, Any]) -> None:
    s = run["statics"]
    records = [r for r in _records(run, "identity_change") if r["injected"]]
    assert {r["params"]["field"] for r in records} == {"name", "destination", "draught_m", "flag"}
    shared = {r["mmsi"] for r in _records(run, "spoofing", cause="two_places")}
    alternating = [r for r in _records(run, "identity_change") if not r["injected"]]
    assert {r["mmsi"] for r in alternating} == shared
    assert {r["params"]["field"] for r in alternating} >= {"name", "callsign", "imo"}
    for r in alternating:  # the new value arrives in a static message at that second
        t = s.filter(pc.equal(s["mmsi"], r["mmsi"]))
        at = t.filter(
            pc.equal(
                t["ts"].cast(pa.timestamp("s")).cast(pa.int64()),
                int(_ts(r["start_ts"]).astype("int64")),
            )
        )
        assert r["params"]["after"] in at.column(r["params"]["field"]).to_pylist()
    for r in records:
        field, before, after = r["params"]["field"], r["params"]["before"], r["params"]["after"]
        if field == "flag":
            old = s.filter(pc.equal(s["mmsi"], r["params"]["before_mmsi"]))
            new = s.filter(pc.equal(s["mmsi"], r["mmsi"]))
            assert r["mmsi"] // 1_000_000 == after
            assert r["params"]["before_mmsi"] // 1_000_000 == before
            assert set(old["imo"].to_pylist()) & set(new["imo"].to_pylist())
            continue
        t = s.filter(pc.and_(pc.equal(s["mmsi"], r["mmsi"]), pc.equal(s["msg_type"], 5)))
        ts = t["ts"].cast(pa.timestamp("s")).to_numpy()
        values = np.array(t[field].to_pylist(), dtype=object)
        at = _ts(r["start_ts"])
        if (ts < at).any():
            assert before in set(values[ts < at])
        # until the field's next change (a later voyage declares a new destination)
        later = [
            _ts(o["start_ts"])
            for o in _records(run, "identity_change")
            if o["mmsi"] == r["mmsi"] and o["params"]["field"] == field and _ts(o["start_ts"]) > at
        ]
        upto = min(later) if later else ts.max() + 1
        window = (ts > at + 400) & (ts < upto)
        if window.any():
            assert set(values[window]) == {after}


def test_port_visits_are_at_the_port(run: dict[str, Any]) -> None:
    # an MMSI two ships share has the other ship's positions too: not one ship's track
    shared = {r["mmsi"] for r in _records(run, "spoofing", cause="two_places")}
    visits = [
        r
        for r in _records(run, "port_visit")
        if _ts(r["end_ts"]) - _ts(r["start_ts"]) > np.timedelta64(3, "h")
        and r["mmsi"] not in shared
    ]
    assert visits
    for r in visits:
        tr = _track(run, r["mmsi"])
        win = (tr["ts"] >= _ts(r["start_ts"]) + 60) & (tr["ts"] <= _ts(r["end_ts"]) - 60)
        assert win.any(), r
        d = _km(tr["lat"][win], tr["lon"][win], r["params"]["lat"], r["params"]["lon"])
        assert (d < 3).all()
        assert (tr["sog"][win] == 0).all()


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    cfg = SimConfig(seed=11, vessels=15, hours=1.5)
    a, b = simulate(cfg, tmp_path / "a"), simulate(cfg, tmp_path / "b")
    assert a.files == b.files
    assert a.lines > 500
    for name in [*a.files, "truth.jsonl", "manifest.json"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    c = simulate(SimConfig(seed=12, vessels=15, hours=1.5), tmp_path / "c")
    assert (tmp_path / "c" / c.files[0]).read_bytes() != (tmp_path / "a" / a.files[0]).read_bytes()
