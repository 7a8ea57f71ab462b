"""A big input cut into byte ranges, each decoded alone, gives what the whole file gives.

The file: the demo feed (static reports of two sentences in tag-block groups), with some
two-sentence messages in the USCG form instead (no tag block: receiver and time after the
checksum), some of them with their fragments apart or the wrong way round, and bad lines
(not NMEA, bad checksums, an orphan fragment). Cut anywhere (hypothesis over the range
size; explicitly, between the two sentences of a message and inside the second), the
ranges' messages and counts (bad lines by reason included) are the whole file's, and the
partitioned engine in this process and on a Dask cluster gives the streaming engine's
canonical outputs and counts byte for byte. Cutting at plain line boundaries would not.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.decode import DecodeStats, decode_stream
from seawatch.engine.canonical import canonical, digests
from seawatch.engine.dask_engine import run_partitioned
from seawatch.engine.decode_plan import plan
from seawatch.engine.detect import detect_files
from seawatch.engine.inputs import Findings
from seawatch.engine.partitions import _lines_after, write_partitions
from seawatch.engine.run import EngineReport
from seawatch.engine.sinks import ParquetDirSink
from seawatch.settings import Settings
from seawatch.sources.ranges import line_ranges

sys.path.insert(0, str(Path(__file__).parent))
from test_partitioned import write_inputs


def _checksum(body: bytes) -> bytes:
    x = 0
    for c in body:
        x ^= c
    return b"%02X" % x


def _uscg(line: bytes) -> bytes:
    r"""``\g:..,s:X,c:T*hh\!AIVDM,...*hh`` as ``!AIVDM,...*hh,rX,T``."""
    tags, sentence = line[1:].split(b"\\", 1)
    fields = dict(t.split(b":", 1) for t in tags.split(b"*")[0].split(b","))
    return sentence + b",r" + fields[b"s"] + b"," + fields[b"c"]


def messy(lines: list[bytes]) -> bytes:
    """The demo feed made harder to cut; see the module docstring."""
    out: list[bytes] = []
    k = n = 0
    while k < len(lines):
        line = lines[k]
        if b",2,1," in line and k + 1 < len(lines):
            n += 1
            first, second = lines[k], lines[k + 1]
            if n % 3 == 1:  # the USCG form, fragments apart or reversed
                first, second = _uscg(first), _uscg(second)
                if n % 2:
                    out += [first, *lines[k + 2 : k + 4], second]
                    k += 4
                else:
                    out += [second, first]
                    k += 2
                continue
        out.append(line)
        k += 1
        if k % 97 == 0:
            out.append(b"some notes that are not NMEA")
        if k % 131 == 0:
            out.append(b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*00")  # bad checksum
    orphan = b"AIVDM,2,1,7,B,55NBoV02>tGl<Hs3;L0l4pn2222222222222221@4p6:=4eE0DhDp8888,0"
    out.insert(len(out) // 2, b"!" + orphan + b"*" + _checksum(orphan))
    return b"".join(x + b"\n" for x in out)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    found = write_inputs(tmp_path_factory.mktemp("inputs"))
    nmea = found[0]
    nmea.write_bytes(messy(nmea.read_bytes().splitlines()))
    return found


@pytest.fixture(scope="module")
def reference(inputs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The streaming engine's canonical digests and counts (and that the file is messy)."""
    out = tmp_path_factory.mktemp("stream")
    report = detect_files(inputs, settings=Settings(), out_dir=out).report
    assert report.decode.rejects.keys() >= {"not_nmea", "bad_checksum", "orphan_fragment"}
    assert report.decode.reordered >= 1
    assert report.decode.by_type[5] >= 20
    return digests(out), report.decode


def _decoded(path: Path, spans: list[tuple[int, int] | None]) -> tuple[dict[str, Any], Any]:
    tables: dict[str, list[pa.Table]] = {}
    total = DecodeStats()
    for span in spans:
        before = total.lines  # a range's line numbers count from its start
        for batch in decode_stream(path, settings=Settings(), span=span):
            total = total.merge(batch.stats)
            for name, t in batch.tables.items():
                tables.setdefault(name, []).append(_lines_after(t, before))
    return {k: canonical(pa.concat_tables(v)) for k, v in tables.items()}, total


def _second_sentences(path: Path) -> list[int]:
    """Byte offsets of the lines that are the second sentence of a message, after its first."""
    data, at, found, prev = path.read_bytes(), 0, [], b""
    for line in data.splitlines(keepends=True):
        if b",2,2," in line and b",2,1," in prev:
            found.append(at)
        at, prev = at + len(line), line
    return found


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_ranges_decoded_alone_give_the_whole_files_messages_and_counts(
    inputs: list[Path], data: st.DataObject
) -> None:
    path = inputs[0]
    size = path.stat().st_size
    whole = _decoded(path, [None])
    range_bytes = data.draw(st.integers(1024, size))
    spans = line_ranges(path, range_bytes)
    assert [spans[0][0], spans[-1][1]] == [0, size]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    got = _decoded(path, list(spans))
    assert got[1] == whole[1]
    assert got[0].keys() == whole[0].keys()
    for name, table in whole[0].items():
        assert got[0][name].equals(table), name


def test_a_cut_between_or_inside_a_messages_sentences_moves_past_it(inputs: list[Path]) -> None:
    path = inputs[0]
    whole = _decoded(path, [None])
    for at in _second_sentences(path)[:10]:
        for nominal in (at, at + 7):
            spans = line_ranges(path, nominal)
            assert spans[0][1] > at  # the message's second sentence went with its first
            assert _decoded(path, list(spans))[1] == whole[1]
    at = _second_sentences(path)[0]
    naive = _decoded(path, [(0, at), (at, path.stat().st_size)])[1]
    assert naive.rejects["orphan_fragment"] > whole[1].rejects["orphan_fragment"]  # lost


def _partitioned(inputs: list[Path], out: Path, range_bytes: int, **kw: Any) -> EngineReport:
    with ParquetDirSink(out) as sink:
        s = Settings(decode_range_bytes=range_bytes)
        return run_partitioned(inputs, s, sinks=[sink], buckets=7, **kw)


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(range_bytes=st.integers(1024, 140_000), seed=st.integers(0, 2**16))
def test_the_partitioned_engine_gives_the_same_answers_whatever_the_ranges(
    inputs: list[Path],
    reference: Any,
    tmp_path_factory: pytest.TempPathFactory,
    range_bytes: int,
    seed: int,
) -> None:
    out = tmp_path_factory.mktemp("ranges")
    report = _partitioned(inputs, out, range_bytes, shuffle=seed)
    assert (digests(out), report.decode) == reference


@pytest.fixture(scope="module")
def cluster(scheduler_one: str) -> Iterator[Any]:
    from distributed import Client

    with Client(scheduler_one) as client:
        yield client


@pytest.mark.parametrize("inside", [0, 7])
def test_cuts_at_a_two_sentence_message_on_the_cluster_give_the_same_answers(
    inputs: list[Path], reference: Any, tmp_path: Path, cluster: Any, inside: int
) -> None:
    at = _second_sentences(inputs[0])[3] + inside
    assert len(plan(inputs, Settings(decode_range_bytes=at), None)) > len(inputs)
    for name, kw in (("here", {}), ("dask", {"engine": "dask", "client": cluster})):
        report = _partitioned(inputs, tmp_path / name, at, **kw)
        assert (digests(tmp_path / name), report.decode) == reference


def test_a_file_whose_sentences_carry_times_is_decoded_whole(tmp_path: Path) -> None:
    """``$GPZDA`` times the untagged AIS sentences after it: its ranges are not alone."""
    lines = []
    for minute in range(60):
        lines.append(b"$GPZDA,10%02d00.00,01,06,2025,00,00*" % minute)
        lines += [b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23"] * 20
    fixed = [x if not x.startswith(b"$") else x + _checksum(x[1 : x.index(b"*")]) for x in lines]
    path = tmp_path / "zda.nmea"
    path.write_bytes(b"".join(x + b"\n" for x in fixed))
    whole, _ = write_partitions([path], Settings(), tmp_path / "whole", buckets=3)
    cut, stats = write_partitions([path], Settings(decode_range_bytes=4096),
                                  tmp_path / "cut", buckets=3)  # fmt: skip
    assert len(line_ranges(path, 4096)) > 3
    assert stats.messages == 60 * 20
    assert cut.files == whole.files


def test_crlf_lines_are_cut_the_same_way(inputs: list[Path], tmp_path: Path) -> None:
    path = tmp_path / "crlf.nmea"
    path.write_bytes(inputs[0].read_bytes().replace(b"\n", b"\r\n"))
    whole = _decoded(path, [None])
    got = _decoded(path, list(line_ranges(path, 5000)))
    assert got[1] == whole[1]
    for name, table in whole[0].items():
        assert got[0][name].equals(table), name


def test_an_input_without_ais_is_told_once_however_many_ranges(tmp_path: Path) -> None:
    prose = tmp_path / "notes.txt"
    prose.write_text("".join(f"line {k} of some notes\n" for k in range(2000)))
    told = []
    for size in (1 << 20, 2048):
        findings, s = Findings(), Settings(decode_range_bytes=size)
        _, stats = write_partitions([prose], s, tmp_path / f"p{size}", buckets=3, findings=findings)
        told.append((findings.notes, findings.errors, stats))
    assert len(told[0][0]) == 1
    assert told[1] == told[0]
    assert len(plan([prose], Settings(decode_range_bytes=2048), None)) > 10
