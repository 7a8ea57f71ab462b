"""Released positions carry no geography: the detectors' pass adds it. A live batch's
positions are stored and told as released (the store's table has no geography column), so
``seawatch.geo.enrich`` is no longer between a batch's cut and its frames; the detectors,
and every :class:`~seawatch.engine.chunks.ChunkResult`, still get the geography columns,
one enrichment per pass (several releases joined, each piece its own rows of it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seawatch.decode.schemas import SCHEMAS
from seawatch.engine.chunks import ChunkResult
from seawatch.engine.inputs import Piece
from seawatch.engine.pipeline import Pipeline
from seawatch.engine.run import Engine
from seawatch.geo import ENRICH_SCHEMA, enrich
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample
from tracks.helpers import pos, positions

GEOGRAPHY = set(ENRICH_SCHEMA.names)


def test_positions_are_released_without_geography_and_detected_with_it() -> None:
    rows = [pos(h / 6, 1.2 + h / 100, 103.8 + h / 50, speed_kn=float(h)) for h in range(24)]
    empty = SCHEMAS["statics"].empty_table()
    pipe = Pipeline()
    assert pipe.geography  # the packages and data are there: enrich runs
    for part in (rows[:12], rows[12:]):
        released = pipe.release(positions(part), empty)
        assert released.positions.num_rows
        assert not GEOGRAPHY & set(released.positions.column_names)  # stored and told so
        got = pipe.detect(released)
        assert set(got.positions.column_names) >= GEOGRAPHY  # what the detectors read
        assert got.positions.equals(enrich(released.positions, ports=pipe.ports))
    pipe.finish()


class _Kept:
    """A sink keeping each piece's result, in order."""

    def __init__(self) -> None:
        self.results: list[ChunkResult] = []

    def chunk(self, piece: Piece, result: ChunkResult | None) -> None:
        assert result is not None
        self.results.append(result)

    def finish(self, final: Any) -> None:
        del final


def test_a_joined_pass_gives_each_piece_its_own_rows_with_geography(tmp_path: Path) -> None:
    """Batches detected in one pass (a live feed behind) get, each, their own positions
    with geography: the same as when each batch's detectors ran at once."""
    feed = tmp_path / "feed.nmea"
    write_sample(feed, vessels=20, minutes=30)
    lines = feed.read_bytes().splitlines(keepends=True)
    batches = [tmp_path / f"batch-{i}.nmea" for i in range(5)]
    for i, path in enumerate(batches):
        path.write_bytes(b"".join(lines[i * len(lines) // 5 : (i + 1) * len(lines) // 5]))
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_REORDER_WINDOW_S": "0"})
    got: dict[bool, _Kept] = {}
    for later in (False, True):
        kept = got[later] = _Kept()
        engine = Engine(settings, sinks=[kept])
        for path in batches:
            engine.add([path], detect_later=later)
        if later:
            assert engine.waiting == len(batches)
            assert engine.detect_next() is not None  # every batch in one pass
            assert engine.waiting == 0
        engine.finish()
    one, joined = got[False].results, got[True].results
    assert len(one) == len(joined) == len(batches)
    for a, b in zip(one, joined, strict=True):
        assert a.positions.num_rows
        assert set(b.positions.column_names) >= GEOGRAPHY
        assert b.positions.equals(a.positions)


def test_the_store_sink_knows_every_geography_column() -> None:
    from seawatch.engine import chunks

    assert set(ENRICH_SCHEMA.names) == chunks._GEOGRAPHY
