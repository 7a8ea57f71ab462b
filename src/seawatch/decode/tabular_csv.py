"""CSV reader for AIS tables others already decoded, in any dialect of
:mod:`seawatch.decode.tabular_dialects` (NOAA MarineCadastre, DMA, Argenni,
MarineTraffic-style, VesselsValue).

In: a binary stream of CSV, header first, separated by ``,``, ``;`` or tabs (whichever
splits the header into the dialect's columns). Out: batches (:class:`TabularBatch`) of
seawatch ``positions`` and ``statics``. Columns are found by header name,
case-insensitively, so older MarineCadastre files (``TranscieverClass``, fewer columns)
read too. The file is parsed by :func:`pyarrow.csv.open_csv` with every column as text,
then converted column-wise; a row with the wrong number of fields is counted as
``bad_row`` and skipped without disturbing its neighbours.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, Final, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as _compute
import pyarrow.csv as pcsv

from seawatch.decode.tabular_columns import SYNONYMS, parse_columns, squash, user_name
from seawatch.decode.tabular_dialects import GENERIC, SPECS, CsvSpec, convert
from seawatch.decode.tabular_norm import Array, TabularBatch, finish
from seawatch.errors import DecodeError

# The stubs' overloads refuse the Python scalars these functions take; check calls by test.
pc: Any = _compute

log = logging.getLogger(__name__)

_BYTES_PER_ROW: Final = 160  # sizes the parser's blocks from chunk_rows
DELIMITERS: Final = (",", ";", "\t")
_NAME: Final = re.compile(r"[^\W\d_]")  # a header name starts with a letter


def normalize_header(name: str) -> str:
    """``'# Timestamp '`` → ``'timestamp'``; ``'"TranscieverClass"'`` → ``'transcieverclass'``."""
    return " ".join(name.replace("\ufeff", "").strip().strip('"').lstrip("#").split()).lower()


def split_header(line: str, delimiter: str) -> list[str]:
    """The field names of a header line (CSV quoting honoured)."""
    return next(csv.reader([line.lstrip("\ufeff").rstrip("\r\n")], delimiter=delimiter), [])


def sniff_dialect(line: str) -> tuple[str, str] | None:
    """``(format, delimiter)`` of the first :data:`SPECS` dialect whose signature a header
    ``line`` holds, trying each of :data:`DELIMITERS`; then ``csv`` (generic) when the
    header names the MMSI, time and position in common words; None otherwise."""
    for delimiter in DELIMITERS:
        if delimiter not in line:
            continue
        fields = {normalize_header(f) for f in split_header(line, delimiter)}
        for fmt, spec in SPECS.items():
            if spec.signature and spec.signature <= fields:
                return fmt, delimiter
    for delimiter in DELIMITERS:
        if delimiter in line:
            index = _column_index(GENERIC, split_header(line, delimiter), {})
            if all(c in index for c in GENERIC.required):
                return "csv", delimiter
    return None


def looks_like_header(line: str) -> bool:
    """A first line that is a CSV header, though not one :func:`sniff_dialect` can map:
    names (each starting with a letter) split by a delimiter, at least three of them or
    one that a column is known by (``MMSI,When``: yes; ``hello, world``: no)."""
    for delimiter in DELIMITERS:
        names = [normalize_header(f) for f in split_header(line, delimiter)]
        if len(names) < 2 or not all(_NAME.match(n) for n in names):
            continue
        known = {s for aliases in SYNONYMS.values() for s in aliases}
        if len(names) >= 3 or any(squash(n) in known for n in names):
            return True
    return False


def _column_index(spec: CsvSpec, names: list[str], given: Mapping[str, str]) -> dict[str, int]:
    """Our column → field index: the user's mapping (``given``, our name → header name)
    first, then the spec's header names (for the generic spec, squashed synonyms)."""
    normalized = [normalize_header(h) for h in names]
    squashed = [squash(h) for h in names]
    index: dict[str, int] = {}
    for ours, header in given.items():
        want = normalize_header(header)
        hits = [i for i, h in enumerate(normalized) if h == want]
        hits = hits or [i for i, h in enumerate(squashed) if h == squash(header)]
        if hits:
            index[ours] = hits[0]
    taken = set(index.values())
    for ours, aliases in spec.columns.items():
        if ours in index:
            continue
        if spec.signature:
            hits = [i for i, h in enumerate(normalized) if h in aliases]
        else:  # generic: the first header of the first synonym that has one
            hits = [i for a in aliases for i, h in enumerate(squashed) if h == a]
        hits = [i for i in hits if i not in taken]
        if hits:
            index[ours] = hits[0]
            taken.add(hits[0])
    return index


def _header(
    spec: CsvSpec, line: str, name: str, given: Mapping[str, str]
) -> tuple[list[str], dict[str, int], str]:
    """Field names, our column → field index, and the delimiter of a header line."""
    best: tuple[list[str], dict[str, int], str] | None = None
    for delimiter in DELIMITERS:
        names = split_header(line, delimiter)
        index = _column_index(spec, names, given)
        if all(c in index for c in (*spec.required, *given)):
            return names, index, delimiter
        if best is None or len(index) > len(best[1]):
            best = names, index, delimiter
    assert best is not None
    names, index, _ = best
    where, found = name or "input", ", ".join(names)
    for ours, header in given.items():
        if ours not in index:
            raise DecodeError(
                f"{where}: --columns {user_name(ours)}={header}: the header has no column "
                f"{header!r} (found: {found})"
            )
    missing = [c for c in spec.required if c not in index]
    if spec.signature:
        raise DecodeError(
            f"{where}: not a {spec.label} CSV: the header has no "
            f"{', '.join(spec.columns[c][0] for c in missing)} column (found: {found}); "
            "check the file or pass the right format"
        )
    unused = iter([h for i, h in enumerate(names) if i not in index.values()])
    example = ",".join(
        f"{user_name(c)}={names[index[c]] if c in index else next(unused, 'HEADER')}"
        for c in spec.required
    )
    lacking = "" if len(missing) == len(spec.required) else f": no column for {', '.join(missing)}"
    raise DecodeError(
        f"{where}: cannot tell which columns hold {', '.join(spec.required)}{lacking} "
        f"(found: {found}); name them with --columns {example} (or SEAWATCH_CSV_COLUMNS)"
    )


def _good_lines(start: int, n: int, skipped: np.ndarray) -> tuple[np.ndarray, int]:
    """Line numbers of ``n`` parsed rows from ``start`` on, stepping over ``skipped``."""
    lo = int(np.searchsorted(skipped, start))
    k = 0
    while True:
        end = start + n + k
        k2 = int(np.searchsorted(skipped, end)) - lo
        if k2 == k:
            break
        k = k2
    cand = np.arange(start, end, dtype=np.int64)
    return cand[~np.isin(cand, skipped[lo : lo + k])], end


def read_csv(
    stream: BinaryIO, fmt: str, *, chunk_rows: int, name: str = "", columns: str = ""
) -> Iterator[TabularBatch]:
    """Read a CSV stream of dialect ``fmt`` (a key of :data:`SPECS`) in batches of at most
    ``chunk_rows`` rows. ``line_no`` is the 1-based line in the file (header = 1).
    ``columns`` maps our columns to header names (``mmsi=MMSI,ts=Time``; see
    :func:`~seawatch.decode.tabular_columns.parse_columns`), winning over the dialect's.
    """
    spec = SPECS[fmt]
    given = parse_columns(columns)
    try:
        header = stream.readline()
    except io.UnsupportedOperation:  # e.g. a zstandard stream reader
        stream = io.BufferedReader(stream)  # type: ignore[arg-type,type-var]
        header = stream.readline()
    if not header.strip():
        return
    text = header.decode("utf-8-sig", errors="replace")
    names, index, delimiter = _header(spec, text, name, given)
    raw = [f"c{i}" for i in range(len(names))]
    include = sorted({raw[i] for i in index.values()})
    skipped: list[int] = []

    def on_invalid(row: pcsv.InvalidRow) -> Literal["skip"]:
        skipped.append(row.number or 0)  # always known when the parser is single-threaded
        return "skip"

    reader = pcsv.open_csv(
        stream,
        read_options=pcsv.ReadOptions(
            column_names=raw,
            use_threads=False,
            block_size=min(max(chunk_rows * _BYTES_PER_ROW, 1 << 20), 1 << 26),
        ),
        parse_options=pcsv.ParseOptions(
            delimiter=delimiter, invalid_row_handler=on_invalid, ignore_empty_lines=False
        ),
        convert_options=pcsv.ConvertOptions(
            column_types={c: pa.string() for c in include},
            include_columns=include,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    next_line, bad_counted = 1, 0
    for batch in reader:
        skipped_arr = np.asarray(skipped, dtype=np.int64)
        lines, next_line = _good_lines(next_line, batch.num_rows, skipped_arr)
        cols = {ours: batch.column(raw[i]) for ours, i in index.items()}
        # Blank lines (every field empty) are not rows.
        filled = pa.repeat(False, batch.num_rows)
        for col in cols.values():
            filled = pc.or_(filled, pc.greater(pc.utf8_length(col), 0))
        if not pc.all(filled).as_py():
            cols = {k: pc.filter(v, filled) for k, v in cols.items()}
            lines = lines[np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)]
        bad_rows = int(np.searchsorted(skipped_arr, next_line)) - bad_counted
        bad_counted += bad_rows
        yield from _emit(spec, cols, lines, chunk_rows, bad_rows)
    if len(skipped) > bad_counted:
        yield from _emit(spec, {}, np.zeros(0, np.int64), chunk_rows, len(skipped) - bad_counted)
    if skipped:
        log.info(
            "%s: %d CSV rows with the wrong number of fields skipped (first at line %d)",
            name or "input",
            len(skipped),
            skipped[0] + 1,
        )


def _emit(
    spec: CsvSpec, cols: Mapping[str, Array], lines: np.ndarray, chunk_rows: int, bad_rows: int
) -> Iterator[TabularBatch]:
    n = len(lines)
    if n == 0 and bad_rows == 0:
        return
    for start in range(0, max(n, 1), chunk_rows):
        stop = min(start + chunk_rows, n)
        part = {k: v.slice(start, stop - start) for k, v in cols.items()}
        frame = convert(spec, part, pa.array(lines[start:stop] + 1))
        if bad_rows:
            frame.extra_rejects["bad_row"] += bad_rows
        yield finish(frame, stop - start + bad_rows)
        bad_rows = 0
