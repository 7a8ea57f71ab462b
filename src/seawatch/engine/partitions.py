"""Partitioned on write: decoded rows into time-ordered Parquet per (day, MMSI bucket).

In: AIS inputs (anything :func:`seawatch.engine.inputs.pieces` reads), the settings and a
bucket count. Out: under ``root``, ``<kind>/day=YYYY-MM-DD/bucket=NNNN.arrow``
(:mod:`.arrowfile`) for ``positions`` and ``statics`` (each file sorted by
:func:`seawatch.engine.pipeline.time_order`, the order the pipeline's reorder buffer
releases rows in, with the input's
:data:`~seawatch.engine.pipeline.SOURCE_ID`), and ``manifest.json`` (:class:`Manifest`):
the hash, the virtual and actual bucket counts, the days, the files with their row counts
and time span, the inputs by ``source_id`` and the run's global watermark (newest time).

A vessel's bucket is a stable hash of its MMSI (:func:`bucket_of`: splitmix64, never
Python's ``hash()``, which is salted per process) into ``virtual_buckets`` (4096) virtual
buckets, which map onto ``buckets`` contiguous ranges: every run, process and machine puts an
MMSI in the same bucket, and a vessel's rows are all in one bucket. Hashing while writing
costs far less than a shuffle at run time (../shared/docs/SCALE.md §4). Rows without a
time go to the first day (the pipeline releases them at once and cleaning drops them).

Decoding is work for the cluster, not the caller: one :func:`decode_input` task per input
(per range of a big file, :mod:`seawatch.engine.decode_plan`) writes its rows, unsorted,
as pieces by (kind, day, bucket) (a piece: record batches of the task's file of that
kind); then one :func:`merge_bucket` task per bucket joins its pieces in input order
and sorts each partition. Both run through ``run`` (:data:`Run`: in this process, or as
Dask tasks), so with N workers N inputs (or ranges) decode at once.
The partitions do not depend on the task order: rows are sorted by content, and rows of
equal content keep the inputs' order.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.decode import DecodeStats
from seawatch.decode.lacking import Untimed
from seawatch.decode.schemas import SCHEMAS
from seawatch.engine import arrowfile, decode_plan
from seawatch.engine.inputs import Findings, pieces
from seawatch.engine.pipeline import SOURCE_ID, time_order, ts_us
from seawatch.errors import InputError
from seawatch.sources.ranges import carries_time
from seawatch.store.records import vessel_rows

if TYPE_CHECKING:
    from seawatch.settings import Settings

__all__ = [
    "DAY_US",
    "KINDS",
    "BucketPieces",
    "Decoded",
    "Manifest",
    "Run",
    "bucket_of",
    "decode_input",
    "merge_bucket",
    "part_rel",
    "read_part",
    "write_partitions",
]

DAY_US = 86_400 * 1_000_000
KINDS = ("positions", "statics")
VIRTUAL_BUCKETS = 4096
HASH = "splitmix64(mmsi) % virtual_buckets; bucket = virtual * buckets // virtual_buckets"
_SPILL_ROWS = 4_000_000  # rows held in memory (~0.5 GB) before spilling to disk
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def bucket_of(
    mmsi: np.ndarray[Any, Any], buckets: int, virtual: int = VIRTUAL_BUCKETS
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Each MMSI's bucket (0 .. ``buckets`` - 1): the same everywhere, every time."""
    if not 1 <= buckets <= virtual:
        raise InputError(f"buckets must be 1..{virtual}, got {buckets}")
    z = np.asarray(mmsi, np.int64).astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9) & _M64
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB) & _M64
    z = z ^ (z >> np.uint64(31))
    v = (z % np.uint64(virtual)).astype(np.int64)
    return v * buckets // virtual


@dataclass
class Manifest:
    """What a partitioned write holds (``manifest.json`` beside the files)."""

    buckets: int
    virtual_buckets: int = VIRTUAL_BUCKETS
    hash: str = HASH
    version: int = 1
    days: list[int] = field(default_factory=list)
    """Days (since 1970-01-01) with rows, ascending."""
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Path relative to the root → kind, day, bucket, rows, min_ts_us, max_ts_us."""
    sources: list[str] = field(default_factory=list)
    """Input names by ``source_id``."""
    watermark_us: int | None = None
    """The newest time in the run (positions and statics): every task's "now" at the end."""

    def part(self, kind: str, day: int, bucket: int) -> str | None:
        """The relative path of one partition, None when it holds no rows."""
        rel = part_rel(kind, day, bucket)
        return rel if rel in self.files else None

    def save(self, root: Path) -> None:
        tmp = root / ".manifest.json.tmp"
        tmp.write_text(json.dumps(asdict(self), indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, root / "manifest.json")

    @classmethod
    def load(cls, root: Path) -> Manifest:
        return cls(**json.loads((root / "manifest.json").read_text(encoding="utf-8")))


def part_rel(kind: str, day: int, bucket: int) -> str:
    """Where one partition is, relative to the root."""
    date = datetime.fromtimestamp(day * 86_400, UTC).date().isoformat()
    return f"{kind}/day={date}/bucket={bucket:04d}.arrow"


def read_part(root: Path, rel: str | None, kind: str) -> pa.Table:
    """One partition's rows (an empty table of ``kind`` when ``rel`` is None)."""
    if rel is None:
        return SCHEMAS[kind].append(pa.field(SOURCE_ID, pa.int32())).empty_table()
    return arrowfile.read(root / rel)


class _Spool:
    """Rows by (kind, day, bucket), held in memory; beyond ``_SPILL_ROWS`` all spilled to
    unsorted temporary files, read back one partition at a time at the end."""

    def __init__(self, root: Path, compression: str) -> None:
        self.root = root
        self.compression = compression
        self.held: dict[tuple[str, int | None, int], list[pa.Table]] = {}
        self.writers: dict[tuple[str, int | None, int], arrowfile.Appender] = {}
        self.rows = 0

    def tmp(self, key: tuple[str, int | None, int]) -> Path:
        return self.root / ".spool" / f"{key[0]}-{key[1]}-{key[2]}.arrow"

    def add(self, key: tuple[str, int | None, int], table: pa.Table) -> None:
        self.held.setdefault(key, []).append(table)
        self.rows += table.num_rows
        if self.rows >= _SPILL_ROWS:  # memory bound: everything held goes to disk
            for k in list(self.held):
                self.flush(k)
            self.rows = 0

    def flush(self, key: tuple[str, int | None, int]) -> None:
        rows = pa.concat_tables(self.held.pop(key, []))
        if key not in self.writers:
            self.tmp(key).parent.mkdir(parents=True, exist_ok=True)
            self.writers[key] = arrowfile.Appender(self.tmp(key), rows.schema, self.compression)
        self.writers[key].write(rows)

    def tables(self) -> Iterator[tuple[tuple[str, int | None, int], pa.Table]]:
        for key in sorted(set(self.held) | set(self.writers), key=str):
            parts = self.held.pop(key, [])
            if key in self.writers:
                self.writers.pop(key).close()
                parts = [arrowfile.read(self.tmp(key)), *parts]
                self.tmp(key).unlink()
            yield key, pa.concat_tables(parts)


def _split(table: pa.Table, kind: str, buckets: int) -> Iterator[tuple[int | None, int, pa.Table]]:
    """``table``'s rows by (day, bucket); rows without a time under day None."""
    if table.num_rows == 0:
        return
    ts = ts_us(table)
    timed = np.asarray(table.column("ts").is_valid(), bool)
    day = np.where(timed, ts // DAY_US, -1)
    mmsi_col: Any = table.column("mmsi").cast(pa.int64())
    mmsi: Any = pc.fill_null(mmsi_col, pa.scalar(0, pa.int64()))
    bucket = bucket_of(np.asarray(mmsi.to_numpy(), np.int64), buckets)
    code = (day + 1) * buckets + bucket
    order = np.argsort(code, kind="stable")
    code = code[order]
    table = table.take(order)
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    ends = np.r_[starts[1:], len(code)]
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        d, k = divmod(int(code[a]), buckets)
        yield (None if d == 0 else d - 1), k, table.slice(a, b - a)


@dataclass
class Decoded:
    """What one input's decode task wrote (``parts``: the file relative to the root, kind,
    day or None, bucket, rows, and first record batch and batches in the file of each of
    its pieces) and saw."""

    index: int
    parts: list[tuple[str, str, int | None, int, int, int, int]]
    stats: DecodeStats
    findings: Findings
    newest_us: int | None
    carries: bool = False
    """Whether its range of a file holds ``$`` sentences (:func:`carries_time`)."""


Run = Callable[[Callable[..., Any], list[tuple[Any, ...]]], list[Any]]
"""Runs a function over argument tuples, each a task (in this process, or on a cluster);
the results in the arguments' order."""


def _here(fn: Callable[..., Any], args: list[tuple[Any, ...]]) -> list[Any]:
    return [fn(*a) for a in args]


def decode_input(
    source: str | Path,
    index: int,
    task: int,
    settings: Settings,
    root: Path,
    buckets: int,
    chunk_rows: int | None,
    untimed: Untimed | None,
    span: tuple[int, int] | None = None,
) -> Decoded:
    """A task (number ``task``): one input (``index``: its source id), or bytes ``span``
    of it (:mod:`seawatch.sources.ranges`), decoded into unsorted pieces by (kind, day,
    bucket), one file of each kind under ``root/.decoded/<task>/``; an unreadable input
    is told in the findings, what it gave before the damage kept."""
    findings = Findings()
    folder = root / ".decoded" / f"{task:05d}"
    spool = _Spool(folder, settings.work_compression)
    stats = DecodeStats()
    newest = None
    for piece in pieces(source, settings, chunk_rows, None, untimed, findings, span):
        stats = stats.merge(piece.stats)
        for kind in KINDS:
            table: pa.Table = getattr(piece, kind)
            if table.num_rows == 0:
                continue
            table = table.append_column(
                SOURCE_ID, pa.array(np.full(table.num_rows, index, np.int32), pa.int32())
            )
            mm: Any = pc.max(table.column("ts").cast(pa.int64()))
            if mm.is_valid:
                newest = mm.as_py() if newest is None else max(newest, mm.as_py())
            for day, bucket, rows in _split(table, kind, buckets):
                spool.add((kind, day, bucket), rows)
    parts = []
    folder.mkdir(parents=True, exist_ok=True)
    # one file of each kind, its pieces one after another (each its own record batches):
    # not a file per piece (hourly inputs in 16 buckets: 3,072 small files for four days,
    # ~2 CPU-s of the decode tasks' to write and ~0.2 of the client's to remove)
    out: dict[str, tuple[arrowfile.Appender, Path, pa.Schema]] = {}
    at = dict.fromkeys(KINDS, 0)
    try:
        for (kind, day, bucket), rows in spool.tables():
            if kind not in out:
                path = folder / f"{kind}.arrow"
                out[kind] = (arrowfile.Appender(path, rows.schema, settings.work_compression),
                             path, rows.schema)  # fmt: skip
            writer, path, schema = out[kind]
            n = writer.write(rows if rows.schema == schema else rows.cast(schema))
            parts.append(
                (str(path.relative_to(root)), kind, day, bucket, rows.num_rows, at[kind], n)
            )
            at[kind] += n
    finally:
        for writer, _, _ in out.values():
            writer.close()
    carries = span is not None and carries_time(source, *span)
    return Decoded(index, parts, stats, findings, newest, carries)


@dataclass(frozen=True)
class BucketPieces:
    """One bucket's pieces for :func:`merge_bucket` (file, kind, day, the lines of its input
    before it when a range of one, and its record batches in the file), in input order.
    One argument that Dask's graph
    builder takes as it is: a list of tuples it walks element by element (four days of
    hourly files: ~200 pieces a bucket, ~16,000 calls for 16 buckets, ~0.25 CPU-s of the
    client's before the merges start; bench/RESULTS.md, 2026-12-08 session 8 (h-dask))."""

    items: tuple[tuple[str, str, int, int, int, int], ...]


def merge_bucket(
    root: Path, bucket: int, pieces_in_order: BucketPieces, compression: str
) -> dict[str, dict[str, Any]]:
    """A task: one bucket's pieces (:class:`BucketPieces`) made its partitions, each sorted
    by :func:`time_order`; their manifest entries."""
    grouped: dict[tuple[str, int], list[tuple[str, int, int, int]]] = {}
    for rel, kind, day, lines, first, count in pieces_in_order.items:
        grouped.setdefault((kind, day), []).append((rel, lines, first, count))
    files: dict[str, dict[str, Any]] = {}
    for (kind, day), rels in sorted(grouped.items()):
        parts = [_lines_after(arrowfile.read_batches(root / r, first, count), lines)
                 for r, lines, first, count in rels]  # fmt: skip
        rows = time_order(pa.concat_tables(parts), kind)
        rel = part_rel(kind, day, bucket)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        arrowfile.write(rows, root / rel, compression)
        ts = ts_us(rows)
        files[rel] = {"kind": kind, "day": day, "bucket": bucket, "rows": rows.num_rows,
                      "min_ts_us": int(ts.min()), "max_ts_us": int(ts.max())}  # fmt: skip
        if kind == "positions":  # what the store will count as read (it sees the outputs)
            files[rel]["vessel_rows"] = vessel_rows(rows).num_rows
    return files


def _lines_after(table: pa.Table, lines: int) -> pa.Table:
    """``table``'s ``line_no`` (of a range of a file) made the line in the file."""
    if not lines or "line_no" not in table.column_names:
        return table
    at = table.column_names.index("line_no")
    shifted = pc.add(table.column(at), pa.scalar(lines, table.schema.field(at).type))
    return table.set_column(at, table.schema.field(at), shifted)


def write_partitions(
    sources: Sequence[str | Path],
    settings: Settings,
    root: Path,
    *,
    buckets: int,
    chunk_rows: int | None = None,
    untimed: Untimed | None = None,
    findings: Findings | None = None,
    run: Run = _here,
) -> tuple[Manifest, DecodeStats]:
    """Decode ``sources`` into partitions under ``root`` (see the module docstring): one
    :func:`decode_input` task per input (or range of one), then one :func:`merge_bucket`
    task per bucket, both through ``run``. Without ``findings``, an unreadable input raises."""
    root.mkdir(parents=True, exist_ok=True)
    names = [str(s) for s in sources]
    ids = {name: i for i, name in reversed(list(enumerate(names)))}  # a repeated input: one id
    tasks = decode_plan.plan(sources, settings, untimed)
    common = (settings, root, buckets, chunk_rows, untimed)
    decoded = run(decode_input, [(sources[k], ids[names[k]], t, *common, span)
                                 for t, (k, span) in enumerate(tasks)])  # fmt: skip
    whole = decode_plan.redo(tasks, decoded)
    if whole:  # ``$`` sentences time what follows them: those files decoded whole after all
        again = run(decode_input, [(sources[k], ids[names[k]], len(tasks) + j, *common, None)
                                   for j, k in enumerate(whole)])  # fmt: skip
        kept = [(task, d) for task, d in zip(tasks, decoded, strict=True) if task[0] not in whole]
        kept += [((k, None), d) for k, d in zip(whole, again, strict=True)]
        kept.sort(key=lambda td: td[0][0])  # input order; a file's ranges stay in file order
        tasks, decoded = [t for t, _ in kept], [d for _, d in kept]
    stats = DecodeStats()
    for seen, found in decode_plan.per_input(sources, tasks, decoded):
        stats = stats.merge(seen)
        if findings is not None:
            findings.errors += found.errors
            findings.notes += found.notes
            findings.failed |= found.failed
        elif found.errors:
            raise InputError(found.errors[0])
    newest = [d.newest_us for d in decoded if d.newest_us is not None]
    manifest = Manifest(buckets=buckets, sources=names[: max(ids.values(), default=-1) + 1])
    manifest.watermark_us = max(newest) if newest else None
    days = sorted({p[2] for d in decoded for p in d.parts if p[2] is not None})
    first = days[0] if days else 0
    by_bucket: dict[int, list[tuple[str, str, int, int, int, int]]] = {}
    before = [0] * len(sources)  # lines of each input decoded by its ranges so far
    # in input order: rows of equal content keep it (time_order is stable)
    for (k, _), d in zip(tasks, decoded, strict=True):
        for rel, kind, day, bucket, _, at, n in d.parts:
            piece = (rel, kind, first if day is None else day, before[k], at, n)
            by_bucket.setdefault(bucket, []).append(piece)
        before[k] += d.stats.lines
    for files in run(
        merge_bucket,
        [
            (root, b, BucketPieces(tuple(by_bucket[b])), settings.work_compression)
            for b in sorted(by_bucket)
        ],
    ):
        manifest.files.update(files)
    manifest.files = dict(sorted(manifest.files.items()))
    manifest.days = sorted({int(f["day"]) for f in manifest.files.values()})
    shutil.rmtree(root / ".decoded", ignore_errors=True)
    manifest.save(root)
    return manifest, stats
