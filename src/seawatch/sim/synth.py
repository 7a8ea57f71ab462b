"""Synthetic AIS traffic for ``seawatch demo`` and tests: a Bay of Bengal hour.

In: a vessel count, a duration and a seed. Out: NMEA lines (tag-blocked ``!AIVDM``
sentences with receive times and stations, time-ordered), including a few deliberately
bad lines of every common kind, so the decoder's counters have something to show;
:func:`write_sample` writes them to a file. The older, simpler generator beside
:mod:`seawatch.sim.run` (no sea lanes, no ground truth).
Message values are dicts keyed by the layout field names; :func:`_sentences` turns them
into sentences with :mod:`seawatch.decode.encode` (the one encoder, derived from the
same layout declarations the decoder uses).
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import math
import os
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seawatch.errors import InputError, SeawatchError

if TYPE_CHECKING:
    from seawatch.decode.fields import Layout

__all__ = ["SAMPLE_NAME", "START", "generate", "write_sample"]

START = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
SAMPLE_NAME = "bay-of-bengal.nmea"  # the file name ``seawatch demo`` writes by default
#: MID (flag) -> share of the fleet: flags seen in the Bay of Bengal, India (419) first.
_MIDS = {419: 30, 417: 6, 405: 6, 506: 4, 563: 10, 538: 10, 636: 10, 477: 8, 412: 6, 533: 4}
#: Receiving coast stations (tag block s:) and the base station each runs (type 4).
_STATIONS = {
    "chennai": (13.08, 80.30, 4190101),
    "visakhapatnam": (17.69, 83.30, 4190102),
    "paradip": (20.26, 86.67, 4190103),
    "port_blair": (11.67, 92.74, 4190104),
    "colombo": (6.95, 79.84, 4170101),
}
_NAMES = ("JAL", "SAGAR", "BENGAL", "OCEAN", "STAR", "PEARL", "GANGA", "LANKA", "KAVERI")
_PORTS = ("INMAA", "INVTZ", "INPRT", "INHAL", "LKCMB", "BDCGP", "MMRGN", "SGSIN", "MYPKG")
_KN_TO_DEG_PER_S = 1 / 3600 / 60  # one knot is one arc minute of latitude per hour


@dataclass
class _Vessel:
    mmsi: int
    kind: str  # "cargo", "tanker", "fishing", "pleasure", "anchored"
    class_b: bool
    lat: float
    lon: float
    speed_kn: float
    course_deg: float
    name: str
    callsign: str
    ship_type: int
    length_m: int
    beam_m: int
    imo: int | None
    destination: str

    def move(self, seconds: float, rng: random.Random) -> None:
        """Dead-reckon ``seconds`` ahead; wander a little, turn back from the box edges."""
        step = self.speed_kn * _KN_TO_DEG_PER_S * seconds
        self.lat += step * math.cos(math.radians(self.course_deg))
        self.lon += (
            step * math.sin(math.radians(self.course_deg)) / math.cos(math.radians(self.lat))
        )
        if not (2.0 < self.lat < 20.0 and 80.5 < self.lon < 95.0):
            self.course_deg = (self.course_deg + 180) % 360
        self.course_deg = (
            self.course_deg + rng.gauss(0, 0.3 if self.kind != "fishing" else 4)
        ) % 360

    def interval_s(self) -> float:
        """Reporting interval (ITU-R M.1371): Class A 3 min at anchor, 10/6/2 s by speed;
        Class B SO 3 min / 30 / 15 / 5 s."""
        v = self.speed_kn
        if self.class_b:
            return 180 if v <= 2 else 30 if v <= 14 else 15 if v <= 23 else 5
        if self.kind == "anchored":
            return 180
        return 10 if v <= 14 else 6 if v <= 23 else 2


def _vessel(i: int, rng: random.Random) -> _Vessel:
    mid = rng.choices(list(_MIDS), list(_MIDS.values()))[0]
    kind = rng.choices(
        ["cargo", "tanker", "fishing", "pleasure", "anchored"], [45, 20, 15, 10, 10]
    )[0]
    speed = {
        "cargo": (10, 17),
        "tanker": (9, 14),
        "fishing": (0.5, 8),
        "pleasure": (3, 18),
        "anchored": (0, 0.3),
    }[kind]
    ship_type = {"cargo": 70, "tanker": 80, "fishing": 30, "pleasure": 37, "anchored": 70}[kind]
    big = kind in ("cargo", "tanker", "anchored")
    if kind == "anchored":  # off a port: anchorages of Chennai, Vizag, Paradip
        lat0, lon0, _ = rng.choice(list(_STATIONS.values())[:3])
        lat, lon = lat0 + rng.uniform(-0.1, 0.1), lon0 + 0.15 + rng.uniform(0, 0.15)
    else:
        lat, lon = rng.uniform(4.0, 19.0), rng.uniform(81.5, 92.0)
    return _Vessel(
        mmsi=mid * 1_000_000 + rng.randrange(100_000, 999_999),
        kind=kind,
        class_b=kind in ("pleasure",) or (kind == "fishing" and rng.random() < 0.5),
        lat=lat,
        lon=lon,
        speed_kn=round(rng.uniform(*speed), 1),
        course_deg=rng.uniform(0, 360),
        name=f"{rng.choice(_NAMES)} {rng.choice(_NAMES)} {i % 97}"[:20],
        callsign=f"{rng.choice('AVS9')}{rng.choice('TUW')}{rng.randrange(1000, 9999)}",
        ship_type=ship_type,
        length_m=rng.randrange(120, 330) if big else rng.randrange(8, 40),
        beam_m=rng.randrange(20, 60) if big else rng.randrange(3, 10),
        imo=9_000_000 + rng.randrange(100_000, 999_999) if big else None,
        destination=rng.choice(_PORTS),
    )


def _position(v: _Vessel, t: dt.datetime, rng: random.Random) -> dict[str, Any]:
    common = {
        "repeat": 0,
        "mmsi": v.mmsi,
        "speed_kn": round(v.speed_kn + rng.gauss(0, 0.05), 1) if v.speed_kn > 0.1 else 0.0,
        "accuracy": True,
        "lon": round(v.lon, 5),
        "lat": round(v.lat, 5),
        "course_deg": round(v.course_deg, 1),
        "heading_deg": int(v.course_deg) % 360,
        "second": t.second,
        "raim": False,
        "radio": rng.randrange(0, 1 << 19),
    }
    if v.class_b:
        return {
            "msg_type": 18,
            **common,
            "cs_unit": True,
            "display": False,
            "dsc": True,
            "band": True,
            "msg22": True,
            "assigned": False,
            "comm_state_itdma": True,
        }
    status = 1 if v.kind == "anchored" else 7 if v.kind == "fishing" and v.speed_kn < 4 else 0
    return {
        "msg_type": 1 if rng.random() < 0.95 else 3,
        **common,
        "nav_status": status,
        "rate_of_turn_degpm": 0.0,
        "maneuver": 1,
    }


def _statics(v: _Vessel, t: dt.datetime) -> list[dict[str, Any]]:
    dims = {
        "dim_to_bow_m": v.length_m * 2 // 3,
        "dim_to_stern_m": v.length_m - v.length_m * 2 // 3,
        "dim_to_port_m": v.beam_m // 2,
        "dim_to_starboard_m": v.beam_m - v.beam_m // 2,
    }
    head = {"repeat": 0, "mmsi": v.mmsi}
    if v.class_b:
        return [
            {"msg_type": 24, **head, "part_num": 0, "name": v.name},
            {
                "msg_type": 24,
                **head,
                "part_num": 1,
                "ship_type": v.ship_type,
                "vendor_id": "SWD",
                "model": 1,
                "serial": v.mmsi % 1_000_000,
                "callsign": v.callsign,
                **dims,
                "epfd": 1,
            },
        ]
    eta = t + dt.timedelta(hours=30)
    return [
        {
            "msg_type": 5,
            **head,
            "ais_version": 2,
            "imo": v.imo,
            "callsign": v.callsign,
            "name": v.name,
            "ship_type": v.ship_type,
            **dims,
            "epfd": 1,
            "eta_month": eta.month,
            "eta_day": eta.day,
            "eta_hour": eta.hour,
            "eta_minute": 0,
            "draught_m": round(v.length_m / 25, 1),
            "destination": v.destination,
            "dte": False,
        }
    ]


def _base_station(mmsi: int, lat: float, lon: float, t: dt.datetime) -> dict[str, Any]:
    return {
        "msg_type": 4,
        "repeat": 0,
        "mmsi": mmsi,
        "year": t.year,
        "month": t.month,
        "day": t.day,
        "hour": t.hour,
        "minute": t.minute,
        "second": t.second,
        "accuracy": True,
        "lon": lon,
        "lat": lat,
        "epfd": 7,
        "long_range_tx": False,
        "raim": False,
        "radio": 0,
    }


def _nearest_station(lat: float, lon: float) -> str:
    return min(_STATIONS, key=lambda s: (_STATIONS[s][0] - lat) ** 2 + (_STATIONS[s][1] - lon) ** 2)


def _sentences(
    msg: Mapping[str, Any], seq: int, channel: str, station: str, t: dt.datetime
) -> list[str]:
    """The NMEA sentences of one message, via the project's encoder.

    Every fragment gets a tag block with the station and receive time, and multi-sentence
    messages a ``g:`` group (sentence-total-id), as IEC 61162-450 feeds send them.
    """
    from seawatch.decode.encode import checksum, encode_payload, to_sentences

    name = f"type{msg['msg_type']}"
    if msg["msg_type"] == 24:
        name += "ab"[msg["part_num"]]
    payload, fill = encode_payload(_layouts()[name], msg)
    parts = to_sentences(payload, fill, channel=channel, seq_id=seq)
    out = []
    for i, sentence in enumerate(parts, 1):
        group = f"g:{i}-{len(parts)}-{msg['mmsi'] % 9000 + 1000 + seq}," if len(parts) > 1 else ""
        tag = f"{group}s:{station},c:{int(t.timestamp())}"
        out.append(f"\\{tag}*{checksum(tag)}\\{sentence}")
    return out


@functools.cache
def _layouts() -> dict[str, Layout]:
    from seawatch.decode.layouts import LAYOUTS

    return {lay.name: lay for lay in LAYOUTS}


def _corrupt(kind: str, good: str, t: dt.datetime) -> str:
    """One bad line of ``kind`` made from a good tag-blocked sentence."""
    cut = good.rfind("\\") + 1
    tag, sentence = good[:cut], good[cut:]
    if kind == "bad_checksum":
        return f"{tag}{sentence[:-2]}{'00' if sentence[-2:] != '00' else '01'}"
    if kind == "truncated":
        return f"{tag}{sentence[: len(sentence) // 2]}"
    if kind == "noise":
        return "@#~" + "".join(chr(33 + (ord(c) * 7) % 90) for c in sentence[:40])
    from seawatch.decode.encode import checksum

    body = f"GPZDA,{t:%H%M%S}.00,{t:%d,%m,%Y},00,00"
    return f"${body}*{checksum(body)}"


def generate(
    vessels: int = 300, minutes: int = 60, seed: int = 7, bad_every: int = 400
) -> Iterator[str]:
    """Time-ordered NMEA lines of ``vessels`` ships over ``minutes`` from :data:`START`.

    About one line in ``bad_every`` is deliberately bad (bad checksum, truncated, noise),
    some type 5 messages lose their second fragment (orphans), and a few non-AIS
    sentences ($GPZDA) are mixed in.
    """
    rng = random.Random(seed)
    fleet = [_vessel(i, rng) for i in range(vessels)]
    end = minutes * 60
    events: list[tuple[float, int, str]] = []  # (second, order, line)
    seq = 0
    for n, v in enumerate(fleet):
        t_s = rng.uniform(0, v.interval_s())
        next_static = rng.uniform(0, 360)
        while t_s < end:
            t = START + dt.timedelta(seconds=t_s)
            station = _nearest_station(v.lat, v.lon)
            channel = rng.choice("AB")
            msgs = [_position(v, t, rng)]
            if t_s >= next_static:
                msgs += _statics(v, t)
                next_static += 360
            for msg in msgs:
                seq = (seq + 1) % 10
                lines = _sentences(msg, seq, channel, station, t)
                if len(lines) > 1 and rng.random() < 0.02:
                    lines = lines[:1]  # the second fragment was not received: an orphan
                for k, line in enumerate(lines):
                    events.append((t_s + k * 0.001, n, line))
            step = v.interval_s() * rng.uniform(
                1.5, 4.0
            )  # far from the coast, many reports are lost
            v.move(step, rng)
            t_s += step
    for name, (lat, lon, mmsi) in _STATIONS.items():
        for t_s in range(0, end, 60):
            t = START + dt.timedelta(seconds=t_s)
            for line in _sentences(_base_station(mmsi, lat, lon, t), 0, "A", name, t):
                events.append((float(t_s), -1, line))
    events.sort(key=lambda e: (e[0], e[1]))
    kinds = ("bad_checksum", "truncated", "noise", "other_sentence")
    for i, (t_s, _, line) in enumerate(events):
        if i % bad_every == bad_every - 1:
            yield _corrupt(
                kinds[(i // bad_every) % len(kinds)], line, START + dt.timedelta(seconds=t_s)
            )
        yield line


def write_sample(path: Path, *, vessels: int = 300, minutes: int = 60, seed: int = 7) -> int:
    """Write :func:`generate`'s lines to ``path`` atomically; returns the number of lines."""
    try:  # the feed is encoded with the project's encoder, from the layout declarations
        importlib.import_module("seawatch.decode.encode")
        importlib.import_module("seawatch.decode.layouts")
    except ImportError as exc:
        raise SeawatchError(
            f"the AIS encoder is not available ({exc}); reinstall seawatch with `make venv`"
        ) from exc
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        n = 0
        with tmp.open("w", encoding="ascii", newline="\n") as fh:
            for line in generate(vessels=vessels, minutes=minutes, seed=seed):
                fh.write(line + "\n")
                n += 1
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(
            f"cannot write sample '{path}': {exc.strerror} (choose another --sample)"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return n
