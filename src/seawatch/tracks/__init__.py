"""Tracks: decoded positions and statics → cleaned positions split into plausible vessels.

In: ``positions`` and ``statics`` tables from :mod:`seawatch.decode`.
Out: cleaned positions (:func:`clean`) with a ``segment_id`` (:func:`segment`), a
``segments`` table (:func:`segments_table`), per-segment identity history
(:func:`identity_history`) and the class and flag of each MMSI (:func:`flags`,
:func:`flag_of`). Output schemas are in :mod:`seawatch.tracks.schemas`. Everything is a
pure function over Arrow tables; chunked runs carry a :class:`CleanState` and a
:class:`SegmenterState` from one time-ordered chunk to the next.
"""

from seawatch.tracks.clean import CleanParams, CleanResult, CleanState, clean
from seawatch.tracks.identity import attribute, identity_history, segments_table
from seawatch.tracks.mid import flag_of, flags, mmsi_class
from seawatch.tracks.segment import SegmenterState, SegmentParams, segment

__all__ = [
    "CleanParams",
    "CleanResult",
    "CleanState",
    "SegmentParams",
    "SegmenterState",
    "attribute",
    "clean",
    "flag_of",
    "flags",
    "identity_history",
    "mmsi_class",
    "segment",
    "segments_table",
]
