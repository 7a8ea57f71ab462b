"""Which header names mean which column, for CSV files in no known dialect.

In: the header names of a CSV file, and optionally the user's mapping
(``--columns mmsi=MMSI,ts=Time,lat=Latitude,lon=Longitude`` or ``SEAWATCH_CSV_COLUMNS``).
Out: the column each header feeds. :data:`SYNONYMS` declares, once, the common names of
each column (``Lat``, ``Latitude``, ``y``; ``Time``, ``# Timestamp``, ``BaseDateTime`` ...);
names are compared by :func:`squash` (case, spaces, underscores, dashes and other
punctuation ignored: ``Call-Sign`` = ``call_sign`` = ``CALLSIGN``).
:func:`parse_columns` reads the user's mapping, whose keys are seawatch's own column names
(:data:`COLUMN_NAMES`: ``mmsi``, ``ts``, ``lat``, ``lon``, ``speed_kn`` ...).
"""

from __future__ import annotations

import re
from typing import Final

from seawatch.errors import ConfigError

__all__ = ["COLUMN_NAMES", "NEEDED", "SYNONYMS", "parse_columns", "squash", "user_name"]

# Our column (as the dialects' specs name it) → squashed header names that mean it.
SYNONYMS: Final = {
    "mmsi": ("mmsi", "userid", "mmsinumber", "vesselmmsi"),
    "ts": (
        "ts", "time", "timestamp", "basedatetime", "datetime", "datetimeutc", "timeutc",
        "timestamputc", "utctime", "utc", "postime", "positiontime",
    ),
    "lat": ("lat", "latitude", "y", "latdeg", "latitudedeg"),
    "lon": ("lon", "long", "longitude", "lng", "x", "londeg", "longitudedeg"),
    "sog": ("sog", "speed", "speedkn", "speedknots", "speedoverground"),
    "cog": ("cog", "course", "coursedeg", "courseoverground"),
    "heading": ("heading", "headingdeg", "trueheading", "hdg"),
    "status": ("status", "navstatus", "navigationalstatus", "navigationstatus"),
    "name": ("name", "vesselname", "shipname"),
    "imo": ("imo", "imonumber", "imono"),
    "callsign": ("callsign",),
    "ship_type": ("shiptype", "vesseltype", "typeofship"),
    "draught": ("draught", "draft", "draughtm", "draftm"),
    "destination": ("destination", "dest"),
}  # fmt: skip
# The user's names for our columns (seawatch's output names) → the specs' names.
COLUMN_NAMES: Final = {
    "mmsi": "mmsi", "ts": "ts", "lat": "lat", "lon": "lon", "speed_kn": "sog",
    "course_deg": "cog", "heading_deg": "heading", "nav_status": "status", "name": "name",
    "imo": "imo", "callsign": "callsign", "ship_type": "ship_type", "draught_m": "draught",
    "destination": "destination",
}  # fmt: skip
NEEDED: Final = ("mmsi", "ts", "lat", "lon")  # without these a row is no position


def squash(name: str) -> str:
    """A header name as the synonyms are written: ``'# Time_UTC'`` → ``'timeutc'``."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def parse_columns(text: str) -> dict[str, str]:
    """``"mmsi=MMSI,ts=Time"`` → ``{"mmsi": "MMSI", "ts": "Time"}`` in the specs' names
    (``speed_kn=Knots`` → ``{"sog": "Knots"}``). Empty text is no mapping.

    Raises :class:`~seawatch.errors.ConfigError` naming the first bad entry.
    """
    out: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, header = (p.strip() for p in item.partition("="))
        if not sep or not key or not header:
            raise ConfigError(
                f"--columns: {item.strip()!r} is not COLUMN=HEADER "
                "(e.g. --columns mmsi=MMSI,ts=Time,lat=Latitude,lon=Longitude)"
            )
        ours = COLUMN_NAMES.get(key.lower())
        if ours is None:
            raise ConfigError(f"--columns: unknown column {key!r} (use {', '.join(COLUMN_NAMES)})")
        if ours in out:
            raise ConfigError(f"--columns: {key.lower()} given twice")
        out[ours] = header
    return out


def user_name(ours: str) -> str:
    """The user's name of one of our columns: ``'sog'`` → ``'speed_kn'``."""
    return next((k for k, v in COLUMN_NAMES.items() if v == ours), ours)
