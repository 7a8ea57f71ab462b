"""Readers for AIS that arrives already decoded, as tables, so a node ingests it like NMEA.

In: a binary stream (already decompressed) of one of

- CSV in one of the dialects of :mod:`seawatch.decode.tabular_dialects`: ``noaa_csv``
  (NOAA MarineCadastre), ``dma_csv`` (Danish Maritime Authority), ``argenni_csv``,
  ``marinetraffic_csv`` and ``vesselsvalue_csv``, told apart by their header, or ``csv``:
  any other CSV, its columns found by common names or the user's ``--columns`` mapping;
- ``gpsd_json``: newline-delimited gpsd (``gpsdecode -j``, scaled or ``-u``) or gpsdio JSON;
- ``parquet``: a table seawatch wrote itself (``seawatch decode --out DIR``).

Out: batches (:class:`TabularBatch`) whose tables conform to
:data:`seawatch.decode.schemas.SCHEMAS` (``positions`` and ``statics`` for CSV and JSON;
the file's own table for Parquet), with bad rows counted by reason and never mixed up
with the good rows next to them.
:func:`sniff_format` tells these formats (and NMEA) apart from the first bytes of a file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import PurePath
from typing import BinaryIO, Final

import pyarrow as pa
import pyarrow.parquet as pq

from seawatch.decode.schemas import SCHEMAS, conform
from seawatch.decode.tabular_csv import looks_like_header, read_csv, sniff_dialect
from seawatch.decode.tabular_dialects import SPECS
from seawatch.decode.tabular_json import read_gpsd_json
from seawatch.decode.tabular_norm import TabularBatch
from seawatch.errors import DecodeError

__all__ = ["FORMATS", "TABLE_METADATA_KEY", "TabularBatch", "read_tabular", "sniff_format"]

FORMATS: Final = ("nmea", *SPECS, "gpsd_json", "parquet", "unknown")
# Schema metadata key naming the table (set by seawatch.decode.schemas); the file name is
# the fallback for files written without it.
TABLE_METADATA_KEY: Final = b"table"

_NMEA: Final = re.compile(rb"[!$][A-Z]{2}VD[MO],|\\[a-z]:[^\\]*\*[0-9A-Fa-f]{2}\\")
_JSON_AIS: Final = re.compile(rb'"(mmsi|ssvid)"\s*:')


def sniff_format(head: bytes, name: str = "") -> str:
    """Guess the format of a file from its first bytes (``head``, ~64 KiB, decompressed).

    Returns one of :data:`FORMATS`. Content decides; ``name`` only breaks a tie for an
    empty or truncated head (``x.parquet``).
    """
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    first = text.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    dialect = sniff_dialect(first)
    if dialect is not None:
        return dialect[0]
    if text.startswith(b"{") and _JSON_AIS.search(head):
        return "gpsd_json"
    if _NMEA.search(head):
        return "nmea"
    if looks_like_header(first):  # a CSV; its reader names what it cannot map
        return "csv"
    if PurePath(name).suffix.lower() in (".parquet", ".pq"):
        return "parquet"
    return "unknown"


def read_tabular(
    stream: BinaryIO,
    fmt: str,
    *,
    chunk_rows: int = 262_144,
    name: str = "",
    columns: str = "",
) -> Iterator[TabularBatch]:
    """Read ``stream`` (format ``fmt``, as :func:`sniff_format` names it) in batches of at
    most ``chunk_rows`` input rows. ``name`` is the file name, for messages and for
    finding a Parquet file's table. ``columns`` maps a CSV's headers to our columns
    (``mmsi=MMSI,ts=Time,lat=Latitude,lon=Longitude``, the ``csv_columns`` setting).

    Raises :class:`~seawatch.errors.DecodeError` for a format this module does not read
    or a CSV whose header lacks a needed column (MMSI, time; and position for ``csv``),
    :class:`~seawatch.errors.ConfigError` for a malformed ``columns``.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
    if fmt in SPECS:
        return read_csv(stream, fmt, chunk_rows=chunk_rows, name=name, columns=columns)
    if fmt == "gpsd_json":
        return read_gpsd_json(stream, chunk_rows=chunk_rows)
    if fmt == "parquet":
        return _read_parquet(stream, chunk_rows=chunk_rows, name=name)
    raise DecodeError(
        f"{name or 'input'}: format {fmt!r} is not a table format "
        f"(expected one of {', '.join(f for f in FORMATS if f not in ('nmea', 'unknown'))}); "
        "NMEA goes to the decoder"
    )


def table_name(metadata: dict[bytes, bytes] | None, name: str) -> str:
    """The seawatch table a Parquet file holds: schema metadata, else the file name
    (``positions.parquet``, ``out/statics/part-0.parquet``, ``positions-0003.parquet``).
    """
    if metadata and TABLE_METADATA_KEY in metadata:
        return metadata[TABLE_METADATA_KEY].decode()
    path = PurePath(name)
    stem = path.name.split(".", 1)[0]
    candidates = [stem, re.sub(r"[-_.]?\d+$", "", stem), *reversed(path.parent.parts)]
    for candidate in candidates:
        if candidate in SCHEMAS:
            return candidate
    return stem


def _read_parquet(stream: BinaryIO, *, chunk_rows: int, name: str) -> Iterator[TabularBatch]:
    source = stream if stream.seekable() else io.BytesIO(stream.read())
    try:
        file = pq.ParquetFile(source, pre_buffer=False)  # pre-buffering keeps every chunk read
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DecodeError(f"{name or 'input'}: not a readable Parquet file ({exc})") from exc
    table = table_name(file.schema_arrow.metadata, name)
    for batch in file.iter_batches(batch_size=chunk_rows, use_threads=False):
        out = pa.Table.from_batches([batch])
        if table in SCHEMAS:
            out = conform(out, table)
        yield TabularBatch({table: out}, {}, batch.num_rows)
