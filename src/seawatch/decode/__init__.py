"""Decode: raw vessel-tracking input → columnar Arrow tables.

In: NMEA 0183 AIVDM/AIVDO text (files, streams, lines; tag blocks and receive times in
the common forms) or already-decoded tables (NOAA/DMA CSV, gpsd JSON, seawatch Parquet).
Out: :class:`Batch` es of Arrow tables with the schemas in :data:`schemas.SCHEMAS`
(``positions``, ``statics``, ``base_stations``, ...) and :class:`DecodeStats` counting
messages per type and rejected input per reason.
"""

from seawatch.decode.stats import DecodeStats
from seawatch.decode.stream import Batch, NmeaDecoder, decode, decode_stream

__all__ = ["Batch", "DecodeStats", "NmeaDecoder", "decode", "decode_stream"]
