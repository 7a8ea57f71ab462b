"""Static and voyage messages (type 5 for Class A, type 24 parts A and B for Class B).

In: a vessel's identity from the :class:`~.fleet.Fleet`. Out: armoured payloads from the
project's encoder (:mod:`seawatch.decode.encode`), cached per vessel until its identity or
voyage changes, and tag-blocked sentences for a receiver and time (multi-sentence messages
carry a ``g:`` group in each fragment's tag block, as IEC 61162-450 feeds send them).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from seawatch.decode.encode import checksum, encode_payload, to_sentences
from seawatch.decode.fields import Layout
from seawatch.sim.fleet import KINDS, Fleet

__all__ = ["StaticCache"]


@functools.cache
def _layouts() -> dict[str, Layout]:
    from seawatch.decode.layouts import LAYOUTS

    return {lay.name: lay for lay in LAYOUTS}


class StaticCache:
    """Payloads of each vessel's static messages, rebuilt when the key changes."""

    def __init__(self, fleet: Fleet, start: dt.datetime) -> None:
        self.fleet = fleet
        self.start = start
        self._cache: dict[int, tuple[tuple[Any, ...], list[tuple[str, int]]]] = {}
        self.destination: dict[int, str] = {}  # declared destination overrides

    def _key(self, i: int, mmsi: int) -> tuple[Any, ...]:
        f = self.fleet
        return (mmsi, f.name[i], self.destination.get(i, f.dest[i]), float(f.draught_m[i]))

    def identity(self, i: int) -> dict[str, Any]:
        """The static values the identity-change detector compares, as broadcast."""
        f = self.fleet
        return {
            "name": f.name[i][:20].strip(),
            "callsign": f.callsign[i][:7].strip(),
            "imo": int(f.imo[i]),
            "ship_type": int(f.ship_type[i]),
            "destination": self.destination.get(i, f.dest[i])[:20].strip(),
            "draught_m": round(float(f.draught_m[i]), 1),
        }

    def payloads(self, i: int, mmsi: int) -> list[tuple[str, int]]:
        key = self._key(i, mmsi)
        hit = self._cache.get(i)
        if hit is not None and hit[0] == key:
            return hit[1]
        f = self.fleet
        lay = _layouts()
        dims = {
            "dim_to_bow_m": int(f.length_m[i]) * 2 // 3,
            "dim_to_stern_m": int(f.length_m[i]) - int(f.length_m[i]) * 2 // 3,
            "dim_to_port_m": int(f.beam_m[i]) // 2,
            "dim_to_starboard_m": int(f.beam_m[i]) - int(f.beam_m[i]) // 2,
        }
        head = {"repeat": 0, "mmsi": mmsi}
        if KINDS[f.kind[i]].ais_class == "A":
            eta = self.start + dt.timedelta(days=2)
            out = [
                encode_payload(
                    lay["type5"],
                    {
                        **head,
                        "ais_version": 2,
                        "imo": int(f.imo[i]) or None,
                        "callsign": f.callsign[i],
                        "name": f.name[i],
                        "ship_type": int(f.ship_type[i]),
                        **dims,
                        "epfd": 1,
                        "eta_month": eta.month,
                        "eta_day": eta.day,
                        "eta_hour": 12,
                        "eta_minute": 0,
                        "draught_m": float(f.draught_m[i]),
                        "destination": key[2],
                        "dte": False,
                    },
                )
            ]
        else:
            out = [
                encode_payload(lay["type24a"], {**head, "part_num": 0, "name": f.name[i]}),
                encode_payload(
                    lay["type24b"],
                    {
                        **head,
                        "part_num": 1,
                        "ship_type": int(f.ship_type[i]),
                        "vendor_id": "SWS",
                        "model": 1,
                        "serial": mmsi % 1_000_000,
                        "callsign": f.callsign[i],
                        **dims,
                        "epfd": 1,
                    },
                ),
            ]
        self._cache[i] = (key, out)
        return out

    def lines(self, i: int, mmsi: int, station: str, c_s: int, channel: str, seq: int) -> list[str]:
        """The tag-blocked sentences of vessel ``i``'s static message(s) heard by ``station``."""
        out = []
        for payload, fill in self.payloads(i, mmsi):
            parts = to_sentences(payload, fill, channel=channel, seq_id=seq)
            for k, sentence in enumerate(parts, 1):
                group = (
                    f"g:{k}-{len(parts)}-{seq + 1000 * (i % 90 + 10)}," if len(parts) > 1 else ""
                )
                tag = f"{group}s:{station},c:{c_s}"
                out.append(f"\\{tag}*{checksum(tag)}\\{sentence}")
        return out
