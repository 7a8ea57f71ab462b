"""Sea lanes: port-to-port routes on searoute's maritime network, packed for vectorised lookup.

In: pairs of UN/LOCODE ports of :data:`PORTS` (coordinates from searoute's port list via
:func:`seawatch.geo.ports.default_ports`). Out: a :class:`Routes` table that computes each
route once (``searoute.searoute``, Apache-2.0), lays all routes end to end on one line of
kilometres, and answers position and course for arrays of (route, distance along it).
"""

from __future__ import annotations

import functools
import logging

import numpy as np
import numpy.typing as npt

from seawatch.errors import ConfigError

__all__ = ["PORTS", "Routes", "port_coords"]

log = logging.getLogger(__name__)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Ports the fleet sails between (UN/LOCODE, weight): the Indian Ocean rim, then the Gulf,
#: Red Sea, East Africa, South-East Asia and beyond; India's ports weigh most.
PORTS: dict[str, int] = {
    "INNSA": 8,
    "INMUN": 6,
    "INCOK": 4,
    "INMAA": 6,
    "INVTZ": 5,
    "INPRT": 4,
    "INHAL": 3,
    "INTUT": 3,
    "INMRM": 2,
    "INENR": 2,
    "INKAK": 2,
    "LKCMB": 7,
    "BDCGP": 4,
    "MMRGN": 2,
    "SGSIN": 8,
    "MYPKG": 5,
    "MYTPP": 3,
    "IDJKT": 3,
    "THLCH": 2,
    "AEJEA": 6,
    "AEFJR": 4,
    "OMSLL": 3,
    "OMSOH": 2,
    "SAJED": 3,
    "PKKHI": 4,
    "IRBND": 2,
    "DJJIB": 2,
    "KEMBA": 2,
    "TZDAR": 2,
    "ZADUR": 2,
    "MUPLU": 1,
    "MVMLE": 1,
    "AUFRE": 1,
    "QAHMD": 2,
    "CNSHA": 2,
}


@functools.cache
def port_coords() -> dict[str, tuple[str, float, float]]:
    """``{locode: (name, lat, lon)}`` for :data:`PORTS`, from searoute's port list."""
    from seawatch.geo.ports import default_ports

    rows = {r["port_id"]: r for r in default_ports().table.to_pylist()}
    missing = [p for p in PORTS if p not in rows]
    if missing:
        raise ConfigError(f"searoute's port list lacks {missing}; update seawatch or searoute")
    return {
        p: (str(rows[p]["port_name"]), float(rows[p]["lat"]), float(rows[p]["lon"])) for p in PORTS
    }


def _segment_km(lat: F64, lon: F64) -> F64:
    la, lo = np.radians(lat), np.radians(lon)
    dla, dlo = np.diff(la), np.diff(lo)
    h = np.sin(dla / 2) ** 2 + np.cos(la[:-1]) * np.cos(la[1:]) * np.sin(dlo / 2) ** 2
    km: F64 = 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    return km


class Routes:
    """Routes by (origin, destination) locode, each computed once, packed end to end."""

    GAP_KM = 1.0  # space between two routes on the packed line

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], int] = {}
        self._pieces: list[tuple[F64, F64]] = []  # (lat, lon) vertices per route
        self._dirty = True
        self.base_km: F64 = np.zeros(0)
        self.length_km: F64 = np.zeros(0)
        self._cum: F64 = np.zeros(0)
        self._lat: F64 = np.zeros(0)
        self._lon: F64 = np.zeros(0)
        self._first: I64 = np.zeros(0, np.int64)
        self._last: I64 = np.zeros(0, np.int64)

    def route(self, origin: str, dest: str) -> int:
        """Id of the route from ``origin`` to ``dest`` (searoute's network, computed once)."""
        key = (origin, dest)
        if key in self._ids:
            return self._ids[key]
        import searoute  # type: ignore[import-untyped]

        ports = port_coords()
        _, la0, lo0 = ports[origin]
        _, la1, lo1 = ports[dest]
        line = searoute.searoute([lo0, la0], [lo1, la1])
        coords = np.asarray(line["geometry"]["coordinates"], dtype=np.float64)
        lat = np.concatenate([[la0], coords[:, 1], [la1]])
        lon = np.concatenate([[lo0], coords[:, 0], [lo1]])
        keep = np.concatenate([[True], _segment_km(lat, lon) > 0.01])
        self._ids[key] = len(self._pieces)
        self._pieces.append((lat[keep], lon[keep]))
        self._dirty = True
        return self._ids[key]

    def _pack(self) -> None:
        if not self._dirty:
            return
        cums, lats, lons, firsts, lasts, bases, lengths = [], [], [], [], [], [], []
        base, vertex = 0.0, 0
        for lat, lon in self._pieces:
            cum = np.concatenate([[0.0], np.cumsum(_segment_km(lat, lon))])
            cums.append(base + cum)
            lats.append(lat)
            lons.append(lon)
            firsts.append(vertex)
            lasts.append(vertex + len(lat) - 1)
            bases.append(base)
            lengths.append(cum[-1])
            base += cum[-1] + self.GAP_KM
            vertex += len(lat)
        self._cum, self._lat, self._lon = (
            np.concatenate(cums),
            np.concatenate(lats),
            np.concatenate(lons),
        )
        self._first, self._last = np.array(firsts, np.int64), np.array(lasts, np.int64)
        self.base_km, self.length_km = np.array(bases), np.array(lengths)
        self._dirty = False

    def lengths(self, route: I64) -> F64:
        self._pack()
        return self.length_km[route]

    def locate(self, route: I64, along_km: F64) -> tuple[F64, F64, F64]:
        """``(lat, lon, course_deg)`` at ``along_km`` from each route's origin (clamped)."""
        self._pack()
        x = self.base_km[route] + np.clip(along_km, 0.0, self.length_km[route])
        i = np.searchsorted(self._cum, x, side="right") - 1
        i = np.clip(i, self._first[route], self._last[route] - 1)
        seg = self._cum[i + 1] - self._cum[i]
        frac = np.clip((x - self._cum[i]) / np.where(seg > 0, seg, 1.0), 0.0, 1.0)
        la0, la1, lo0, lo1 = self._lat[i], self._lat[i + 1], self._lon[i], self._lon[i + 1]
        lat = la0 + frac * (la1 - la0)
        lon = lo0 + frac * (lo1 - lo0)
        course = np.degrees(np.arctan2((lo1 - lo0) * np.cos(np.radians(lat)), la1 - la0)) % 360.0
        return lat, lon, course
