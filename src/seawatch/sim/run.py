"""The simulation loop: fleet → transmissions → receivers → NMEA files, one time step at a time.

In: a :class:`~.config.SimConfig` and an output directory. Out: hourly files of time-ordered,
tag-blocked NMEA (``ais-YYYYMMDDTHH.nmea``), ``truth.jsonl`` (the injected behaviours),
``zones.geojson`` (the simulated waters, :mod:`.zones`) and ``manifest.json`` (the
configuration and counts). Memory holds the fleet and one step of messages, whatever the
duration; everything is drawn from one seeded generator in a fixed order, so a seed gives
byte-identical files. This module is the time loop; the files are written by :mod:`.output`,
position error comes from :mod:`.gps`, the configuration and counts are in :mod:`.config`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from seawatch.errors import InputError
from seawatch.sim.behaviours import Truth, plan_behaviours
from seawatch.sim.config import DEFAULT_START, SimConfig, SimResult
from seawatch.sim.fleet import KINDS, MIDS, MOORED, Fleet, make_fleet
from seawatch.sim.gps import GpsError
from seawatch.sim.motion import KM_PER_KN_S, Motion, PortCall
from seawatch.sim.output import HourlyWriter, Sink, count_types, write_merged, write_outputs
from seawatch.sim.pack import line_blob, pack_payloads
from seawatch.sim.radio import Receivers, reporting_interval_s
from seawatch.sim.received import Received
from seawatch.sim.routes import Routes, port_coords
from seawatch.sim.statics import StaticCache, _layouts

__all__ = ["DEFAULT_START", "SimConfig", "SimResult", "Sink", "simulate"]

log = logging.getLogger(__name__)
F64 = npt.NDArray[np.float64]
STATIC_INTERVAL_S = 360.0  # ITU-R M.1371: static and voyage data every 6 min


class _Loop:
    """One run's state (fleet, plan, receivers, schedules) and its time steps."""

    def __init__(self, cfg: SimConfig, out: Path, sink: Sink | None) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        self.routes = Routes()
        self.fleet: Fleet = make_fleet(cfg.vessels, self.rng, self.routes)
        self.receivers = Receivers.default(
            self.rng, range_nm=cfg.vhf_range_nm, satellites=cfg.satellites
        )
        self.truth = Truth(cfg.start)
        n = len(self.fleet)
        if cfg.behaviours:
            self.plan = plan_behaviours(self.fleet, self.routes, self.rng, cfg.hours, self.truth)
        else:
            from seawatch.sim.plan import empty_plan

            self.plan = empty_plan(n, self.fleet)
        p = self.plan
        self.motion = Motion(
            self.fleet,
            self.routes,
            self.rng,
            p.slow_from_s,
            p.slow_to_s,
            p.slow_kn,
            scripts=dict(p.scripts),
        )
        self.statics = StaticCache(self.fleet, cfg.start)
        self.gps = GpsError(self.rng, n, cfg.noise_m, cfg.step_s)
        self.start_epoch = int(cfg.start.timestamp())
        self.writer: Sink = sink if sink is not None else HourlyWriter(out, self.start_epoch)
        self.class_a = self.fleet.class_a
        self.class_b_so = self.fleet.class_b_so
        self.fishing = np.array([k.ship_type == 30 for k in KINDS])[self.fleet.kind]
        interval = self._interval(np.arange(n))
        self.next_tx = self.rng.random(n) * interval
        self.next_static = self.rng.random(n) * STATIC_INTERVAL_S
        self.identity = sorted(p.identity)
        mmsis, senders = np.unique(p.tx_mmsi, return_counts=True)
        self.shared = set(mmsis[senders > 1].tolist())
        self.received = Received(
            self.truth,
            dark={int(p.tx_mmsi[i]): d for i, d in p.dark.items()},
            watched=dict(p.watched),
            extra=dict(p.jump_params),
            zones=[
                (int(p.tx_mmsi[i]), box, {k: v for k, v in prm.items() if k != "heads_in_ts_s"})
                for i, (_, box, prm) in sorted(p.zones.items())
            ],
        )
        self.zone_in: dict[int, float] = {}
        self.end_s = cfg.hours * 3600.0  # the end of the data (earlier when stopped)
        self.transmissions = 0
        self.receptions = 0
        self.by_type: dict[str, int] = {}
        self.seq = 0

    def _interval(self, idx: npt.NDArray[np.intp]) -> F64:
        f = self.fleet
        return reporting_interval_s(
            f.sog_kn[idx], self.class_a[idx], self.class_b_so[idx], f.mode[idx] == MOORED
        )

    def _due(self, t1: float) -> tuple[npt.NDArray[np.intp], F64]:
        """Transmissions before ``t1``: (vessel, time), and the next ones scheduled."""
        vs, ts = [], []
        while True:
            idx = np.flatnonzero(self.next_tx < t1)
            if not len(idx):
                break
            vs.append(idx)
            ts.append(self.next_tx[idx].copy())
            jitter = 1.0 + self.rng.uniform(-0.02, 0.02, len(idx))
            self.next_tx[idx] += self._interval(idx) * jitter
        if not vs:
            return np.zeros(0, np.intp), np.zeros(0)
        v, t = np.concatenate(vs), np.concatenate(ts)
        order = np.lexsort((v, t))
        return v[order], t[order]

    def _positions(self, t0: float, v: npt.NDArray[np.intp], t: F64) -> dict[str, Any]:
        f, p, rng = self.fleet, self.plan, self.rng
        ahead_km = f.sog_kn[v] * KM_PER_KN_S * (t - t0)
        cog = f.cog_deg[v]
        lat = f.lat[v] + ahead_km * np.cos(np.radians(cog)) / 111.195
        lon = f.lon[v] + ahead_km * np.sin(np.radians(cog)) / (
            111.195 * np.cos(np.radians(f.lat[v]))
        )
        spoof = (p.spoof_from_s[v] <= t) & (t < p.spoof_to_s[v])
        jump = spoof & np.isfinite(p.spoof_dlat[v])
        lat = np.where(jump, lat + np.nan_to_num(p.spoof_dlat[v]), lat)
        lon = np.where(jump, lon + np.nan_to_num(p.spoof_dlon[v]), lon)
        land = spoof & np.isfinite(p.spoof_lat[v])
        lat, lon = np.where(land, p.spoof_lat[v], lat), np.where(land, p.spoof_lon[v], lon)
        d_lat, d_lon = self.gps.degrees(rng, v, lat)
        lat, lon = lat + d_lat, lon + d_lon
        moored = f.mode[v] == MOORED
        sog = np.where(moored, 0.0, np.clip(f.sog_kn[v] + rng.normal(0, 0.1, len(v)), 0.0, 102.2))
        cog_r = np.clip((cog + rng.normal(0, 1.0, len(v))) % 360.0, 0.0, 359.9)
        second = (self.start_epoch + np.floor(t).astype(np.int64)) % 60
        status = np.where(moored, 5, np.where(self.fishing[v] & (f.sog_kn[v] < 6.5), 7, 0))
        return {
            "mmsi": p.tx_mmsi[v],
            "lat": np.round(lat, 6),
            "lon": np.round(lon, 6),
            "speed_kn": np.round(sog, 1),
            "course_deg": np.round(cog_r, 1),
            "heading_deg": np.where(self.class_a[v], np.round(cog_r).astype(np.int64) % 360, 511),
            "second": second,
            "nav_status": status,
            "accuracy": np.ones(len(v), bool),
            "radio": rng.integers(0, 1 << 19, len(v)),
            "cs_unit": ~self.class_b_so[v],
            "band": np.ones(len(v), bool),
            "msg22": np.ones(len(v), bool),
            "dsc": np.ones(len(v), bool),
            "comm_state_itdma": ~self.class_b_so[v],
        }

    def _apply_changes(self, t0: float, t1: float) -> None:
        f, p, truth = self.fleet, self.plan, self.truth
        while self.identity and self.identity[0][0] < t1:
            t, i, what, _ = self.identity.pop(0)
            before_mmsi = int(p.tx_mmsi[i])
            before: object
            after: object
            if what == "name":
                before, f.name[i] = f.name[i], f"{f.name[i][:14]} II".strip()
                after = f.name[i]
            elif what == "destination":
                before = self.statics.destination.get(i, f.dest[i])
                after = "FOR ORDERS"
                self.statics.destination[i] = after
            elif what == "draught_m":
                draught = float(f.draught_m[i])
                before, f.draught_m[i] = draught, round(draught * 0.6, 1)
                after = float(f.draught_m[i])
            else:  # flag: a new MMSI of another flag, same IMO
                mid = before_mmsi // 1_000_000
                new_mid = next(m for m in MIDS if m != mid and m != 419) if mid != 538 else 636
                before, after = mid, new_mid
                if f.mode[i] == MOORED:  # a port call under two MMSIs: a visit for each
                    self._visit(i, f.port[i], self.motion.calls.get(i, -1.0), t0, open_end=False)
                    self.motion.calls[i] = t0
                self.received.retired.add(before_mmsi)
                p.tx_mmsi[i] = f.mmsi[i] = new_mid * 1_000_000 + before_mmsi % 1_000_000
            truth.add(
                "identity_change",
                p.tx_mmsi[i],
                t0,
                t0,
                field=what,
                before=before,
                after=after,
                before_mmsi=before_mmsi,
                imo=int(f.imo[i]),
            )
        for i, (t, _box, _params) in p.zones.items():
            if t < t1 and f.radius_km[i] > 5.0 and i not in self.zone_in:
                box = p.zones[i][1]
                f.centre_lat[i], f.centre_lon[i] = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
                f.radius_km[i] = 5.0
                self.zone_in[i] = -1.0

    def _port_calls(self, calls: list[PortCall]) -> None:
        f = self.fleet
        for c in calls:
            if c.end_s is None:
                continue
            i = c.vessel
            self._visit(i, c.port, c.start_s, c.end_s)
            # a new voyage: the declared destination changes (an identity change too)
            before = self.statics.destination.pop(i, c.port)
            sails_on = c.end_s < self.cfg.hours * 3600  # leaving at the very end: never heard
            if before != f.dest[i] and sails_on and int(self.plan.tx_mmsi[i]) not in self.shared:
                self.truth.add(
                    "identity_change",
                    self.plan.tx_mmsi[i],
                    c.end_s,
                    c.end_s,
                    field="destination",
                    before=before,
                    after=f.dest[i],
                    before_mmsi=int(self.plan.tx_mmsi[i]),
                    imo=int(f.imo[i]),
                    cause="new voyage",
                )

    def _visit(
        self, i: int, port: str, start_s: float, end_s: float, *, open_end: bool | None = None
    ) -> None:
        name, lat, lon = port_coords()[port]
        self.truth.add(
            "port_visit",
            self.plan.tx_mmsi[i],
            max(start_s, 0.0),
            end_s,
            port_id=port,
            port_name=name,
            lat=lat,
            lon=lon,
            open_start=start_s < 0,
            open_end=end_s >= self.end_s if open_end is None else open_end,
        )

    def run(
        self,
        progress: Callable[[int], None] | None = None,
        stop: threading.Event | None = None,
    ) -> SimResult:
        cfg, f, p, rng = self.cfg, self.fleet, self.plan, self.rng
        end = self.end_s
        lay = _layouts()
        names = self.receivers.names
        t0 = 0.0
        while t0 < end:
            if stop is not None and stop.is_set():  # stopped: the data end here
                log.debug("simulate: stopped at %s", self.truth.iso(t0))
                end = self.end_s = t0
                break
            t1 = min(t0 + cfg.step_s, end)
            self._apply_changes(t0, t1)
            self.gps.step(rng)
            v, t = self._due(t1)
            on = ~((p.silent_from_s[v] <= t) & (t < p.silent_to_s[v]))
            v, t = v[on], t[on]
            self.transmissions += len(v)
            cols = self._positions(t0, v, t)
            rows, rx = self.receivers.hear(rng, t, cols["lat"], cols["lon"])
            order = np.lexsort((rx, rows))
            rows, rx = rows[order], rx[order]
            heard = np.unique(rows)
            vh, th = v[heard], t[heard]
            self.received.positions(
                p.tx_mmsi[vh],
                th,
                vh,
                (p.spoof_from_s[vh] <= th) & (th < p.spoof_to_s[vh]),
                cols["lat"][heard],
                cols["lon"][heard],
            )
            a = self.class_a[v]
            pay = np.zeros((len(v), 28), np.uint8)
            for layout, sel in ((lay["type1"], a), (lay["type18"], ~a)):
                if sel.any():
                    pay[sel] = pack_payloads(
                        layout, {k: c[sel] for k, c in cols.items()}, int(sel.sum())
                    )
            self.by_type["1"] = self.by_type.get("1", 0) + int(a[rows].sum())
            self.by_type["18"] = self.by_type.get("18", 0) + int((~a[rows]).sum())
            c_s = self.start_epoch + np.floor(t[rows]).astype(np.int64)
            blob, lengths = line_blob(pay[rows], 0, rx, names, c_s, rng.random(len(rows)) < 0.5)
            statics = self._statics(t1)
            self.receptions += write_merged(self.writer, c_s, blob, lengths, statics)
            self._port_calls(self.motion.step(t0, t1 - t0))
            if progress is not None:
                progress(int(t1 - t0))
            t0 = t1
        for i, start_s in self.motion.calls.items():
            self._visit(i, f.port[i], start_s, end)
        for k in np.flatnonzero(f.mode == MOORED).tolist():  # in port all along
            if k not in self.motion.calls:
                self._visit(k, f.port[k], -1.0, end)
        self.received.finish()
        self.writer.close()
        return SimResult(
            files=tuple(self.writer.files),
            lines=self.writer.lines,
            transmissions=self.transmissions,
            receptions=self.receptions,
            by_type=dict(sorted(self.by_type.items())),
            behaviours=count_types(self.truth.records),
            simulated_s=end,
            complete=end >= cfg.hours * 3600.0,
        )

    def _statics(self, t1: float) -> list[tuple[int, list[str]]]:
        """Static messages due before ``t1``: (receive second, lines), time-ordered."""
        f, p, rng = self.fleet, self.plan, self.rng
        idx = np.flatnonzero(self.next_static < t1)
        t = self.next_static[idx].copy()
        self.next_static[idx] += STATIC_INTERVAL_S
        on = ~((p.silent_from_s[idx] <= t) & (t < p.silent_to_s[idx]))
        idx, t = idx[on], t[on]
        order = np.lexsort((idx, t))
        idx, t = idx[order], t[order]
        rows, rx = self.receivers.hear(rng, t, f.lat[idx], f.lon[idx])
        order = np.lexsort((rx, rows))
        out = []
        for r, k in zip(rows[order], rx[order], strict=True):
            i = int(idx[r])
            self.seq = (self.seq + 1) % 10
            c_s = self.start_epoch + int(t[r])
            if int(p.tx_mmsi[i]) in self.shared:
                self.received.statics(int(p.tx_mmsi[i]), i, float(t[r]), self.statics.identity(i))
            lines = self.statics.lines(
                i, int(p.tx_mmsi[i]), self.receivers.names[k], c_s, "AB"[self.seq % 2], self.seq
            )
            key = "5" if self.class_a[i] else "24"
            self.by_type[key] = self.by_type.get(key, 0) + (1 if key == "5" else 2)
            out.append((c_s, lines))
        return out


def simulate(
    cfg: SimConfig,
    out: str | Path,
    progress: Callable[[int], None] | None = None,
    sink: Sink | None = None,
    stop: threading.Event | None = None,
) -> SimResult:
    """Run the simulation into directory ``out``: NMEA files, ``truth.jsonl``,
    ``zones.geojson``, ``manifest.json``.

    With a ``sink`` (e.g. :class:`~.live.LiveWriter`) the lines go there instead of files;
    ``truth.jsonl`` and ``manifest.json`` are still written to ``out`` at the end.

    When ``stop`` is set (e.g. by Ctrl-C in the CLI), the run ends after the current time
    step and writes what it has: the files so far (whole lines), the truth of what happened
    before the stop (records that start later are left out; one still under way keeps its
    planned end), ``zones.geojson`` and ``manifest.json``; the result says
    ``complete=False``.
    """
    cfg.check()
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("ais-*.nmea"):
            old.unlink()
    except OSError as exc:
        raise InputError(f"cannot write to {out}: {exc}") from exc
    loop = _Loop(cfg, out, sink)
    try:
        result = loop.run(progress, stop)
    finally:
        loop.writer.close()
    records = loop.truth.sorted()
    if not result.complete:
        until = loop.truth.iso(result.simulated_s)
        records = [r for r in records if r["start_ts"] < until]
        result = replace(result, behaviours=count_types(records))
    write_outputs(
        out,
        records,
        {
            "generator": "seawatch simulate",
            "config": {**asdict(cfg), "start": cfg.start.strftime("%Y-%m-%dT%H:%M:%SZ")},
            **asdict(result),
            "receivers": list(loop.receivers.names),
            "bad_lines": 0,
        },
    )
    return result
