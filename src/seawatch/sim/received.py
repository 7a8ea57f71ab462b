"""Ground truth from what was received: gaps, jumps and identity alternations a feed really shows.

In: per time step, the transmissions some receiver heard (broadcast MMSI, time, vessel,
whether the position was spoofed), and the static messages heard. Out: truth records for
the events that the definitions in docs/events.md make of that reception, whether or not a
behaviour was injected on purpose (``injected`` says which):

- ``gap``: an MMSI with no received position for at least 6 h (DOMAIN.md §5), from its
  last received position to the next one; still silent at the end of the data (the latest
  received time) it is an open gap (``params.open_end``). A silence that overlaps an injected
  transponder switch-off is that behaviour (``gap``, or ``suspected_disabling`` with an
  incidental ``gap`` beside it); any other is incidental (``cause``: ``coverage``, or
  ``mmsi_changed`` for the old MMSI of a reflagged ship).
- ``suspected_disabling``: besides the injected ones, any such silence that meets the
  definition (≥ 12 h, starting and, if it ends, ending ≥ 50 nm from shore, after ≥ 80
  received positions in the 48 h before, counted by the hour): the old MMSI of a ship
  reflagged at sea falls silent far out for good.
- ``spoofing`` rule ``jump``: consecutive received positions of one MMSI that come from two
  different places — another transmitter sharing the MMSI, or a spoofed position next to a
  true one. Consecutive such pairs form one record, as the detector merges consecutive
  flagged pairs. (The simulator's spoof offsets are ≥ 1.5° and ships sharing an MMSI start
  ≥ 5° apart, far beyond the detector's jump bound.)
- ``spoofing`` rule ``on_land``: besides the injected inland positions, a run of received
  positions of a ``jump`` spoof whose offset track lies on land (the land mask the detector
  reads): the spoof leapt onto the land, which is what that rule reports.
- ``zone_entry``: an MMSI's received position inside a simulated zone (the boxes of the
  injected zone entries) after one outside. The fishing vessel's first entry into its own
  zone is the injected record; ships passing through are incidental.
- ``zone_present``: an MMSI's first received position inside such a zone (nobody saw it
  enter; the detector reports it at the track's start), ``cause`` ``track start``; it is
  the injected record (with the box) if it is the fishing vessel in its own zone.
- ``identity_change``: on an MMSI two ships share, each received static value that differs
  from the last one received on that MMSI, from either ship (per field, as the detector
  compares); such an MMSI gets no other identity records.

Memory is a few numbers per MMSI; the per-step work is numpy except for the few watched MMSIs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from seawatch.geo.land import on_land
from seawatch.sim.behaviours import Truth

__all__ = ["GAP_S", "Received"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

GAP_S = 6 * 3600  # DOMAIN.md §5: an AIS gap is no position for ≥ 6 h (pipe-gaps)
# DOMAIN.md §5, suspected AIS disabling (GFW Gaps.md): a gap ≥ 12 h that starts and ends
# ≥ 50 nm from shore, after ≥ 20 positions / 12 h on average in the 48 h before
DISABLING_S = 12 * 3600
DISABLING_SHORE_KM = 50 * 1.852
LOOKBACK_H = 48
LOOKBACK_POSITIONS = 20 * LOOKBACK_H // 12
ZONE_CELL_DEG = 0.5  # grid that finds the few positions near a zone


def _cells(lat: F64, lon: F64) -> I64:
    """Grid cell id of each position."""
    row = np.floor(lat / ZONE_CELL_DEG).astype(np.int64) + 1000
    return row * 10_000 + np.floor(lon / ZONE_CELL_DEG).astype(np.int64) + 1000


def _cells_of_box(s: float, w: float, n: float, e: float) -> list[int]:
    rows = range(math.floor(s / ZONE_CELL_DEG), math.floor(n / ZONE_CELL_DEG) + 1)
    cols = range(math.floor(w / ZONE_CELL_DEG), math.floor(e / ZONE_CELL_DEG) + 1)
    return [(i + 1000) * 10_000 + j + 1000 for i in rows for j in cols]


@dataclass
class _Run:
    """Consecutive received positions of one MMSI from different places."""

    start_s: float
    end_s: float
    pairs: int
    causes: set[str]


@dataclass
class _Chain:
    """The last received position of a watched MMSI: where from, and the open jump run."""

    source: int
    t_s: float
    run: _Run | None = None


@dataclass
class Received:
    """Collects reception-based truth during a run; :meth:`finish` writes the records."""

    truth: Truth
    dark: dict[int, tuple[str, float, float, dict[str, Any]]]  # mmsi -> injected silence
    watched: dict[int, str]  # vessel -> cause of its discontinuities (jump, on_land, two_places)
    extra: dict[int, dict[str, Any]]  # MMSI -> parameters of its jump records (offsets, names)
    zones: list[tuple[int, tuple[float, float, float, float], dict[str, Any]]] = field(
        default_factory=list
    )  # (MMSI sent in, (south, west, north, east), truth parameters)
    in_zones: dict[int, set[int]] = field(default_factory=dict)  # MMSI -> zones it is inside
    _cell_zones: dict[int, list[int]] = field(default_factory=dict)  # grid cell -> zones
    entered: set[int] = field(default_factory=set)  # zones whose planned entry was recorded
    known: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    last_s: F64 = field(default_factory=lambda: np.zeros(0))
    last_lat: F64 = field(default_factory=lambda: np.zeros(0))
    last_lon: F64 = field(default_factory=lambda: np.zeros(0))
    hourly: npt.NDArray[np.int32] = field(
        default_factory=lambda: np.zeros((0, LOOKBACK_H), np.int32)
    )  # per MMSI, received positions per hour (ring), up to its last received hour
    hour: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    gaps: list[tuple[int, float, float, tuple[float, float, float, float, int]]] = field(
        default_factory=list
    )  # (MMSI, silent from, to, (lat, lon before, lat, lon after, positions in lookback))
    latest_s: float = -math.inf
    chains: dict[int, _Chain] = field(default_factory=dict)
    statics_seen: dict[int, dict[str, tuple[int, Any]]] = field(default_factory=dict)
    retired: set[int] = field(default_factory=set)  # MMSIs a reflagged ship stopped using
    landed: dict[int, list[float]] = field(default_factory=dict)  # MMSI -> [from, to] on land

    def positions(
        self,
        mmsi: I64,
        t_s: F64,
        vessel: I64,
        spoofed: npt.NDArray[np.bool_],
        lat: F64,
        lon: F64,
    ) -> None:
        """Received transmissions of one step (as sent: spoofed, noisy), each once, in time
        order."""
        if not len(mmsi):
            return
        self._zones(mmsi, t_s, lat, lon, ~np.isin(mmsi, self.known))
        self.latest_s = max(self.latest_s, float(t_s[-1]))
        um, first = np.unique(mmsi, return_index=True)
        last = len(mmsi) - 1 - np.unique(mmsi[::-1], return_index=True)[1]
        pos = np.searchsorted(self.known, um)
        new = ~np.isin(um, self.known)
        if new.any():
            at = pos[new]
            self.known = np.insert(self.known, at, um[new])
            self.last_s = np.insert(self.last_s, at, np.nan)
            self.last_lat = np.insert(self.last_lat, at, np.nan)
            self.last_lon = np.insert(self.last_lon, at, np.nan)
            self.hourly = np.insert(self.hourly, at, 0, axis=0)
            self.hour = np.insert(self.hour, at, -(2**40))
            pos = np.searchsorted(self.known, um)
        prev = self.last_s[pos]
        first_t = t_s[first]
        silent = np.isfinite(prev) & (np.floor(first_t) - np.floor(prev) >= GAP_S)
        for k in np.flatnonzero(silent).tolist():
            j = int(pos[k])
            ends = (
                float(self.last_lat[j]),
                float(self.last_lon[j]),
                float(lat[first[k]]),
                float(lon[first[k]]),
                int(self.hourly[j].sum()),  # the 48 h up to the silence: not advanced since
            )
            self.gaps.append((int(um[k]), float(prev[k]), float(first_t[k]), ends))
        self._count(pos[np.searchsorted(um, mmsi)], t_s)
        self.last_s[pos] = t_s[last]
        self.last_lat[pos], self.last_lon[pos] = lat[last], lon[last]
        watch = np.isin(vessel, np.fromiter(self.watched, np.int64, len(self.watched)))
        rows = np.flatnonzero(watch)
        ashore = on_land(lat[rows], lon[rows]) if len(rows) else np.zeros(0, bool)
        for k, land in zip(rows.tolist(), ashore.tolist(), strict=True):
            self._chain(int(mmsi[k]), float(t_s[k]), int(vessel[k]), bool(spoofed[k]))
            if self.watched[int(vessel[k])] == "jump":
                self._landed(int(mmsi[k]), float(t_s[k]), bool(spoofed[k]) and land)

    def _landed(self, mmsi: int, t_s: float, ashore: bool) -> None:
        """A jump spoof's received positions on land: one ``on_land`` record per run."""
        run = self.landed.get(mmsi)
        if ashore:
            if run is None:
                self.landed[mmsi] = [t_s, t_s]
            else:
                run[1] = t_s
        elif run is not None:
            self._ashore(mmsi)

    def _ashore(self, mmsi: int) -> None:
        start_s, end_s = self.landed.pop(mmsi)
        self.truth.add("spoofing", mmsi, start_s, end_s, rule="on_land", cause="jump onto land")

    def _count(self, slot: npt.NDArray[np.intp], t_s: F64) -> None:
        """Add received positions to their MMSI's hourly ring, clearing the hours it skipped."""
        hour = np.floor(t_s / 3600.0).astype(np.int64)
        newest = np.full(len(self.hour), -(2**40), np.int64)
        np.maximum.at(newest, slot, hour)
        moved = np.flatnonzero(newest > self.hour)
        step = newest[moved] - self.hour[moved]
        one = moved[step == 1]
        self.hourly[one, newest[one] % LOOKBACK_H] = 0
        for j in moved[step > 1].tolist():  # after a silence (or new): clear what was skipped
            for h in range(
                max(int(self.hour[j]) + 1, int(newest[j]) - LOOKBACK_H + 1), int(newest[j]) + 1
            ):
                self.hourly[j, h % LOOKBACK_H] = 0
        self.hour[moved] = newest[moved]
        np.add.at(self.hourly, (slot, hour % LOOKBACK_H), 1)

    def _zones(
        self, mmsi: I64, t_s: F64, lat: F64, lon: F64, unseen: npt.NDArray[np.bool_]
    ) -> None:
        """Zone entries among received positions: only rows in a zone's grid cells, or of an
        MMSI inside a zone, are looked at (a few per step, however large the fleet)."""
        if not self.zones:
            return
        if not self._cell_zones:
            for k, (_, (s, w, n, e), _) in enumerate(self.zones):
                for cell in _cells_of_box(s, w, n, e):
                    self._cell_zones.setdefault(cell, []).append(k)
        cells = _cells(lat, lon)
        look = np.isin(cells, np.fromiter(self._cell_zones, np.int64, len(self._cell_zones)))
        if self.in_zones:
            look |= np.isin(mmsi, np.fromiter(self.in_zones, np.int64, len(self.in_zones)))
        _, first = np.unique(mmsi, return_index=True)
        fresh = set(first[unseen[first]].tolist())  # an MMSI's first position ever
        for r in np.flatnonzero(look).tolist():
            m, la, lo = int(mmsi[r]), float(lat[r]), float(lon[r])
            here = set()
            for k in self._cell_zones.get(int(cells[r]), ()):
                s, w, n, e = self.zones[k][1]
                if s < la < n and w < lo < e:
                    here.add(k)
            for k in sorted(here - self.in_zones.get(m, set())):
                self._entry(k, m, float(t_s[r]), r in fresh)
            if here:
                self.in_zones[m] = here
            else:
                self.in_zones.pop(m, None)

    def _entry(self, k: int, mmsi: int, t_s: float, first: bool) -> None:
        owner, _, params = self.zones[k]
        planned = mmsi == owner and k not in self.entered
        kind = "zone_present" if first else "zone_entry"
        if planned:
            self.entered.add(k)
            self.truth.add(kind, mmsi, t_s, t_s, injected=True, **params)
            return
        zone = {x: params[x] for x in ("zone_name", "zone_country", "bbox", "polygon")}
        cause = "track start" if first else "passing"
        self.truth.add(kind, mmsi, t_s, t_s, injected=False, cause=cause, **zone)

    def _chain(self, mmsi: int, t_s: float, vessel: int, spoofed: bool) -> None:
        source = 2 * vessel + int(spoofed)
        chain = self.chains.get(mmsi)
        if chain is None:
            self.chains[mmsi] = _Chain(source, t_s)
            return
        if source != chain.source:
            cause = self.watched[vessel]
            if chain.run is not None and chain.run.end_s == chain.t_s:  # consecutive pair
                chain.run.end_s, chain.run.pairs = t_s, chain.run.pairs + 1
                chain.run.causes.add(cause)
            else:
                self._close(mmsi, chain)
                chain.run = _Run(chain.t_s, t_s, 1, {cause})
        elif chain.run is not None:
            self._close(mmsi, chain)
        chain.source, chain.t_s = source, t_s

    def _close(self, mmsi: int, chain: _Chain) -> None:
        run, chain.run = chain.run, None
        if run is None:
            return
        cause = "two_places" if "two_places" in run.causes else sorted(run.causes)[0]
        self.truth.add(
            "spoofing",
            mmsi,
            run.start_s,
            run.end_s,
            injected=cause != "on_land",
            rule="jump",
            cause=cause,
            n_jumps=run.pairs,
            **self.extra.get(mmsi, {}),
        )

    def statics(self, mmsi: int, vessel: int, t_s: float, values: dict[str, Any]) -> None:
        """A received static message of a shared MMSI: each value that differs from the last
        one received on the MMSI (from either ship) is a change, as the detector sees it."""
        seen = self.statics_seen.setdefault(mmsi, {})
        for name, value in values.items():
            if value is None or value == "" or value == 0:
                continue
            old = seen.get(name)
            if old is not None and old[1] != value:
                self.truth.add(
                    "identity_change",
                    mmsi,
                    t_s,
                    t_s,
                    injected=False,
                    cause="shared MMSI" if old[0] != vessel else "new voyage",
                    field=name,
                    before=old[1],
                    after=value,
                    before_mmsi=mmsi,
                )
            seen[name] = (vessel, value)

    def finish(self) -> None:
        """Write the gap records (closed and open) and the open jump runs."""
        for mmsi in sorted(self.chains):
            self._close(mmsi, self.chains[mmsi])
        for mmsi in sorted(self.landed):
            self._ashore(mmsi)
        end = self.latest_s
        still = np.isfinite(self.last_s) & (math.floor(end) - np.floor(self.last_s) >= GAP_S)
        silences = [(m, a, b, False, ends) for m, a, b, ends in self.gaps]
        for j in np.flatnonzero(still).tolist():
            ends = (
                float(self.last_lat[j]),
                float(self.last_lon[j]),
                math.nan,
                math.nan,
                int(self.hourly[j].sum()),
            )
            silences.append((int(self.known[j]), float(self.last_s[j]), end, True, ends))
        bracketed: set[int] = set()
        for mmsi, a, b, open_end, ends in sorted(silences):
            dark = self.dark.get(mmsi)
            if dark is not None and a < dark[2] and dark[1] < b:
                name, off_s, on_s, params = dark
                bracketed.add(mmsi)
                behaviour = {
                    **params,
                    "off_ts": self.truth.iso(off_s),
                    "on_ts": self.truth.iso(on_s),
                }
                self._gap(name, mmsi, a, b, open_end, True, behaviour)
                if name != "gap":
                    self._gap("gap", mmsi, a, b, open_end, False, {"cause": name})
                continue
            cause = "mmsi_changed" if mmsi in self.retired else "coverage"
            self._gap("gap", mmsi, a, b, open_end, False, {"cause": cause})
            far = _disabling(a, b, open_end, ends)
            if far is not None:
                self._gap(
                    "suspected_disabling", mmsi, a, b, open_end, False, {"cause": cause, **far}
                )
        for mmsi, (name, off_s, on_s, params) in sorted(self.dark.items()):
            if mmsi not in bracketed:  # never heard on one side: no gap a feed could show
                self.truth.add(name, mmsi, off_s, on_s, heard_around=False, **params)

    def _gap(
        self,
        name: str,
        mmsi: int,
        a: float,
        b: float,
        open_end: bool,
        injected: bool,
        params: dict[str, Any],
    ) -> None:
        self.truth.add(name, mmsi, a, b, injected=injected, open_end=open_end, **params)


def _disabling(
    a: float, b: float, open_end: bool, ends: tuple[float, float, float, float, int]
) -> dict[str, Any] | None:
    """The parameters of a silence that is a suspected disabling by definition, else None."""
    from seawatch.geo.shore import distance_to_shore_km

    lat0, lon0, lat1, lon1, lookback = ends
    if math.floor(b) - math.floor(a) < DISABLING_S or lookback < LOOKBACK_POSITIONS:
        return None
    d0 = float(distance_to_shore_km(lat0, lon0)[0])
    d1 = math.nan if open_end else float(distance_to_shore_km(lat1, lon1)[0])
    if d0 < DISABLING_SHORE_KM or (not open_end and not d1 >= DISABLING_SHORE_KM):
        return None
    out: dict[str, Any] = {"distance_from_shore_start_km": d0, "positions_in_lookback": lookback}
    if not open_end:
        out["distance_from_shore_end_km"] = d1
    return out
