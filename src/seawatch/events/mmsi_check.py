"""A small local MMSI validity check (ITU-R M.585; MID table ITU RR Appendix 43).

The tracks stage owns the MID → flag table; this check only asks whether a number can be a
valid MMSI: 9 digits whose Maritime Identification Digits (MID) fall in 201–775 where the
format carries one. Formats: ship ``MIDxxxxxx`` (first digit 2–7), group ``0MIDxxxxx``,
coast station ``00MIDxxxx``, SAR aircraft ``111MIDxxx``, handheld ``8MIDxxxxx``, craft of a
parent ship ``98MIDxxxx``, AtoN ``99MIDxxxx``, devices ``970``/``972``/``974xxxxxx``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

MID_MIN, MID_MAX = 201, 775
OK, NOT_9_DIGITS, BAD_MID, UNKNOWN_FORMAT = 0, 1, 2, 3
REASONS = {NOT_9_DIGITS: "not_9_digits", BAD_MID: "mid_out_of_range", UNKNOWN_FORMAT: "format"}


def _mid_ok(mid: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    return (mid >= MID_MIN) & (mid <= MID_MAX)


def mmsi_problem(mmsi: npt.NDArray[np.int64]) -> npt.NDArray[np.int8]:
    """Per MMSI: 0 valid, else a code of :data:`REASONS`."""
    m = np.asarray(mmsi, dtype=np.int64)
    out = np.full(m.shape, UNKNOWN_FORMAT, dtype=np.int8)
    d1 = m // 100_000_000
    d3 = m // 1_000_000
    # (mask of the format, MID of the format)
    formats = [
        ((d1 >= 2) & (d1 <= 7), d3),  # ship
        (d1 == 8, (m // 100_000) % 1000),  # handheld VHF
        (d3 == 111, (m // 1000) % 1000),  # SAR aircraft
        ((m // 10_000_000 == 98) | (m // 10_000_000 == 99), (m // 10_000) % 1000),
        ((m >= 1_000_000) & (m < 10_000_000), m // 10_000),  # 00MIDxxxx coast station
        ((m >= 10_000_000) & (m < 100_000_000), m // 100_000),  # 0MIDxxxxx group
    ]
    for mask, mid in formats:
        out[mask] = np.where(_mid_ok(mid[mask]), OK, BAD_MID)
    out[(d3 == 970) | (d3 == 972) | (d3 == 974)] = OK
    out[(m < 1_000_000) | (m > 999_999_999)] = NOT_9_DIGITS
    return out
