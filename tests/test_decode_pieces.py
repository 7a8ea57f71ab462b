"""A decode task's pieces: one file of each kind, each piece its own record batches in it.

:func:`~seawatch.engine.partitions.decode_input` writes its (kind, day, bucket) pieces one
after another into one file of each kind and tells each piece's first record batch and
count; :func:`~seawatch.engine.partitions.merge_bucket` reads a piece back by them. Every
piece read back holds exactly its rows (its bucket's vessels, its day), and the pieces of a
kind together hold every decoded row once, whether the task held its rows in memory or
spilled them. (The engines' answers with these pieces: tests/test_partitioned.py.)
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from seawatch.decode import decode
from seawatch.engine import arrowfile, partitions
from seawatch.engine.partitions import DAY_US, bucket_of, decode_input
from seawatch.settings import Settings

BUCKETS = 5


def _keys(t: pa.Table) -> list[tuple[object, ...]]:
    cols = [c for c in ("mmsi", "ts", "line_no") if c in t.column_names]
    return sorted(zip(*(t.column(c).to_pylist() for c in cols), strict=True))  # type: ignore[arg-type]


@pytest.mark.parametrize("spill", [False, True])
def test_each_piece_reads_back_its_rows_and_the_pieces_every_row_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spill: bool
) -> None:
    from seawatch.sim.synth import write_sample

    source = tmp_path / "sample.nmea"
    write_sample(source, vessels=30, minutes=20, seed=5)
    if spill:  # rows spilled to the spool's files, read back at the end
        monkeypatch.setattr(partitions, "_SPILL_ROWS", 500)
    root = tmp_path / "root"
    got = decode_input(source, 0, 3, Settings(), root, BUCKETS, 400, None)
    folder = root / ".decoded" / "00003"
    kinds = sorted({p[1] for p in got.parts})
    assert kinds == ["positions", "statics"]
    assert sorted(f.name for f in folder.glob("*.arrow")) == ["positions.arrow", "statics.arrow"]
    whole = decode(source)[0]
    for kind in kinds:
        mine = [p for p in got.parts if p[1] == kind]
        assert len({p[3] for p in mine}) > 1  # several buckets
        assert any(p[6] > 1 for p in mine)  # pieces of more than one batch
        seen = []
        for rel, _, day, bucket, rows, first, count in mine:
            piece = arrowfile.read_batches(root / rel, first, count)
            assert piece.num_rows == rows
            mmsi = np.asarray(piece.column("mmsi").to_numpy(zero_copy_only=False))
            assert (bucket_of(mmsi, BUCKETS) == bucket).all()
            ts = np.asarray(piece.column("ts").cast(pa.int64()).to_numpy(zero_copy_only=False))
            assert (ts // DAY_US == day).all()
            seen.append(piece)
        # the batches of the pieces tile the file: none shared, none left over
        spans = sorted((p[5], p[5] + p[6]) for p in mine)
        assert spans[0][0] == 0
        assert all(a[1] == b[0] for a, b in pairwise(spans))
        with pa.memory_map(str(root / mine[0][0])) as f:
            assert spans[-1][1] == pa.ipc.open_file(f).num_record_batches
        expected = whole[kind].filter(
            pa.compute.and_(pa.compute.is_valid(whole[kind].column("ts")),
                            pa.compute.is_valid(whole[kind].column("mmsi")))
        )  # fmt: skip
        assert _keys(pa.concat_tables(seen)) == _keys(expected)
