"""Properties of the columnar decoder, checked with hypothesis on generated input.

1. encode → decode is the identity for every layout: the row of each message holds the
   drawn values (and its tag-block time, station, channel, talker), whether the message
   is one sentence or several, full length or cut short.
2. No input makes the decoder raise, and its counts add up: random bytes, noise, and
   valid sentences broken in the ways real feeds break them. Good sentences next to
   broken ones decode exactly as they do alone.
3. Chunk boundaries do not matter: feeding a stream in pieces split at any line
   boundaries, or with a small ``decode_chunk_bytes``, gives the same tables and counts.
4. The quarantine file holds exactly the rejected input, one line per reject.

Two decoder bugs these found are fixed and pinned by tests at the end of the file:
``unknown_subtype`` rejects now reach the quarantine file, and bytes that are not ASCII
reject their record instead of reaching the string columns.
"""

from __future__ import annotations

import io
import itertools
import math
from collections import Counter
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.decode import NmeaDecoder, decode
from seawatch.decode.encode import encode_sentences
from seawatch.decode.fields import Layout
from seawatch.decode.layouts import BY_NAME, LAYOUTS
from seawatch.decode.nmea import REASONS
from seawatch.decode.schemas import SCHEMAS
from seawatch.decode.stats import DecodeStats
from seawatch.decode.stream import Batch
from seawatch.decode.tables import min_bits_by_type
from seawatch.settings import Settings
from strategies import (
    Message,
    junk_lines,
    messages,
    mutated_lines,
    nmea,
    time_lines,
)
from strategies import interleave as interleave_lines

DEFAULTS = Settings()  # the defaults, whatever the environment or a seawatch.toml says
#: Tables a message's own layout writes to: not the IMO application tables (layouts of
#: types 6/8 selected by DAC/FI), which hold a second copy of a message, and not the rows
#: a table takes by projection (type 4 in ``positions``).
PRIMARY = {lay.table for lay in LAYOUTS if not (lay.msg_type in (6, 8) and lay.select)}
PROJECTED = {t: {lay.msg_type for lay in LAYOUTS if t in lay.also} for t in SCHEMAS}
MIN_BITS = min_bits_by_type()


def examples(n: int) -> settings:
    """Hypothesis settings of these tests: ``n`` examples, no deadline (numba compiles)."""
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ---------------------------------------------------------------- helpers


def lines_of(data: bytes) -> list[bytes]:
    """Input lines as the scanner counts them (a last line without newline counts)."""
    lines = data.split(b"\n")
    return lines[:-1] if data.endswith(b"\n") or not data else lines


def blank_or_comment(line: bytes) -> bool:
    s = line.rstrip(b"\r \t").lstrip(b" \t")
    return not s or s.startswith(b"#")


def quarantine_entries(data: bytes) -> list[tuple[int, str, bytes]]:
    out = []
    for entry in data.split(b"\n")[:-1]:
        line_no, reason, raw = entry.split(b"\t", 2)
        out.append((int(line_no), reason.decode(), raw))
    return out


def same_value(got: object, want: object) -> bool:
    if isinstance(want, float) and isinstance(got, float):
        return math.isclose(got, want, rel_tol=1e-9)
    return type(got) is type(want) and got == want


Rows = dict[str, list[dict[str, Any]]]


def run(settings: Settings, pieces: list[bytes], **kwargs: Any) -> tuple[Rows, dict[str, Any]]:
    """Feed ``pieces`` to one decoder, then finish: tables (as lists of rows) and counts."""
    dec = NmeaDecoder(settings, **kwargs)
    batches = [dec.feed(p) for p in pieces]
    batches.append(dec.finish())
    return collect(batches)


def collect(batches: list[Batch]) -> tuple[Rows, dict[str, Any]]:
    tables: dict[str, list[pa.Table]] = {}
    stats = DecodeStats()
    for b in batches:
        stats = stats.merge(b.stats)
        for name, t in b.tables.items():
            assert t.schema.equals(SCHEMAS[name], check_metadata=True), name
            tables.setdefault(name, []).append(t)
    rows = {name: rows_of(pa.concat_tables(ts)) for name, ts in tables.items()}
    return rows, stats.as_dict()


def rows_of(t: pa.Table) -> list[dict[str, Any]]:
    """All rows, with string columns as bytes: broken input can put bytes that are not
    UTF-8 into them (see test_string_columns_are_valid_utf8), and the properties here
    compare the bytes exactly either way."""
    binary = [f.with_type(pa.binary()) if pa.types.is_string(f.type) else f for f in t.schema]
    rows: list[dict[str, Any]] = t.cast(pa.schema(binary)).to_pylist()
    return rows


def check_accounting(
    data: bytes, tables: dict[str, pa.Table], stats: DecodeStats, q: bytes
) -> None:
    """Every line is accounted for: decoded, rejected (and quarantined), other, or skipped.

    ``tables`` must be decoded with ``keep_raw`` (``raw`` tells how many sentences a
    message took) and ``q`` is the quarantine file written meanwhile."""
    lines = lines_of(data)
    assert stats.bytes == len(data)
    assert stats.lines == len(lines)
    assert sum(map(blank_or_comment, lines)) <= stats.skipped_lines <= stats.lines
    unknown = stats.rejects.get("unknown_subtype", 0)
    assert set(stats.rejects) <= set(REASONS)
    assert sum(stats.by_type.values()) == stats.messages + unknown
    fragments = 0
    rows = 0
    for name, t in tables.items():
        assert t.schema.equals(SCHEMAS[name]), name
        if name not in PRIMARY:
            continue
        raws = t["raw"].cast(pa.binary()).to_pylist()
        for msg_type, raw in zip(t["msg_type"].to_pylist(), raws, strict=True):
            if msg_type not in PROJECTED[name]:
                assert raw is not None
                rows += 1
                fragments += raw.count(b"\n") + 1
    assert rows == stats.messages, "each decoded message has one row in its own table"
    entries = quarantine_entries(q)
    assert len(entries) == stats.rejected
    assert Counter(r for _, r, _ in entries) == stats.rejects
    for line_no, reason, raw in entries:
        assert 1 <= line_no <= stats.lines
        # a message no layout decodes is one entry: its sentences joined by a literal \\n
        parts = raw.split(b"\\n") if reason == "unknown_subtype" else [raw]
        assert all(part in data for part in parts)
    # each non-skipped line yields at least one outcome; each outcome is one record
    outcomes = stats.rejected - unknown + stats.other_sentences + fragments
    records = sum(data.count(c) for c in (b"!", b"$", b"\\")) + stats.lines
    assert stats.lines - stats.skipped_lines <= outcomes + 9 * unknown
    assert outcomes + unknown <= records


def expected_row(m: Message, line_no: int, table: str) -> dict[str, object]:
    values = m.values.expected()
    source = m.source(line_no)
    row: dict[str, object] = {}
    for name in SCHEMAS[table].names:
        if name in source:
            row[name] = source[name]
        elif name == "is_base_station":
            row[name] = m.layout.msg_type == 4
        elif name == "is_aton":
            row[name] = m.layout.msg_type == 21
        else:
            row[name] = values.get(name)  # columns of other layouts are null
    return row


def assert_row(got: dict[str, object], m: Message, line_no: int, table: str) -> None:
    want = expected_row(m, line_no, table)
    assert list(got) == list(want)
    wrong = {k: (got[k], want[k]) for k in want if not same_value(got[k], want[k])}
    assert not wrong, f"{table} row of {m.sentences}: (got, expected) {wrong}"


# ---------------------------------------------------------------- 1. round trip


@st.composite
def batches_of(draw: st.DrawFn, layout: Layout) -> tuple[list[Message], list[int], bytes]:
    """1-8 messages of one layout, with blank and comment lines between some of them."""
    msgs = draw(st.lists(messages(layout), min_size=1, max_size=8))
    lines: list[str] = []
    firsts = []
    for m in msgs:
        lines += draw(st.lists(st.sampled_from(["", "# note", "  "]), max_size=1))
        firsts.append(len(lines) + 1)
        lines += m.sentences
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    return msgs, firsts, (eol.join(lines) + eol).encode()


@pytest.mark.parametrize("layout", LAYOUTS, ids=[lay.name for lay in LAYOUTS])
@examples(25)
@given(data=st.data())
def test_round_trip_through_the_engine(layout: Layout, data: st.DataObject) -> None:
    msgs, firsts, blob = data.draw(batches_of(layout))
    tables, stats = decode(blob, keep_raw=True, settings=DEFAULTS)
    assert stats.rejects == {}
    assert stats.messages == len(msgs)
    assert stats.by_type == {layout.msg_type: len(msgs)}
    assert stats.sentences == sum(len(m.sentences) for m in msgs)
    assert stats.lines == blob.count(b"\n")
    for table in (layout.table, *layout.also):
        rows = {r["line_no"]: r for r in tables[table].to_pylist()}
        assert sorted(rows) == firsts, table
        for m, line_no in zip(msgs, firsts, strict=True):
            assert_row(rows[line_no], m, line_no, table)


# ---------------------------------------------------------------- 2. never raises


ANY_LAYOUT = st.sampled_from(LAYOUTS)


@st.composite
def broken_streams(draw: st.DrawFn) -> bytes:
    """Valid messages and time lines, some of them broken, with junk lines between."""
    msgs = draw(st.lists(messages(ANY_LAYOUT, seq_ids=st.integers(0, 2)), max_size=8))
    groups = [list(m.sentences) for m in msgs]
    groups += [[draw(time_lines())] for _ in range(draw(st.integers(0, 2)))]
    lines = draw(mutated_lines(draw(interleave_lines(groups)))) if groups else []
    for junk in draw(st.lists(junk_lines(), max_size=4)):
        lines.insert(draw(st.integers(0, len(lines))), junk)
    end = draw(st.sampled_from([b"\n", b"\r\n", b""]))
    return b"\n".join(lines) + end


@examples(150)
@given(
    data=st.one_of(
        st.binary(max_size=3000),
        st.lists(junk_lines(), max_size=30).map(b"\n".join),
        broken_streams(),
    )
)
def test_no_input_makes_the_decoder_raise(data: bytes) -> None:
    q = io.BytesIO()
    tables, stats = decode(data, keep_raw=True, quarantine=q, settings=DEFAULTS)
    check_accounting(data, tables, stats, q.getvalue())


@st.composite
def good_bad_good(draw: st.DrawFn) -> tuple[bytes, bytes, int, int]:
    """Two blocks of valid messages (channels A, B) around broken lines (channels 1, 2,
    so that a broken fragment can never be the missing part of a good message).

    Returns (good blocks alone, good + bad + good, lines of the first block, bad lines)."""
    good = messages(ANY_LAYOUT, channels=("A", "B"))
    first = [s for m in draw(st.lists(good, max_size=5)) for s in m.sentences]
    second = [s for m in draw(st.lists(good, min_size=1, max_size=5)) for s in m.sentences]
    bad_msgs = draw(st.lists(messages(ANY_LAYOUT, channels=("1", "2")), min_size=1, max_size=4))
    bad = draw(mutated_lines([s for m in bad_msgs for s in m.sentences]))
    for junk in draw(st.lists(junk_lines(), max_size=4)):
        bad.insert(draw(st.integers(0, len(bad))), junk)
    head = "".join(s + "\n" for s in first).encode()
    tail = "".join(s + "\n" for s in second).encode()
    middle = b"".join(b + b"\n" for b in bad)
    return head + tail, head + middle + tail, len(first), middle.count(b"\n")


@examples(100)
@given(case=good_bad_good())
def test_good_lines_decode_the_same_next_to_bad_ones(case: tuple[bytes, bytes, int, int]) -> None:
    alone, mixed, n_first, n_bad = case
    want, _ = run(DEFAULTS, [alone], keep_raw=True)
    got, _ = run(DEFAULTS, [mixed], keep_raw=True)
    for name, rows in want.items():
        kept = []
        for row in got.get(name, []):
            if row["line_no"] <= n_first:
                kept.append(row)
            elif row["line_no"] > n_first + n_bad:
                kept.append({**row, "line_no": row["line_no"] - n_bad})
        assert kept == rows, name


# ---------------------------------------------------------------- 3. chunk invariance


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    """Single and multi-sentence messages of any layout, fragments of different messages
    interleaved, tag blocks, $PGHP/$GPRMC time lines, and some broken lines."""
    msgs = draw(st.lists(messages(ANY_LAYOUT, seq_ids=st.integers(0, 3)), min_size=1, max_size=25))
    groups = [list(m.sentences) for m in msgs]
    groups += [[draw(time_lines())] for _ in range(draw(st.integers(0, 4)))]
    lines = [s.encode() for s in draw(interleave_lines(groups))]
    if draw(st.booleans()):
        broken = draw(st.lists(messages(ANY_LAYOUT), min_size=1, max_size=3))
        bad = draw(mutated_lines([s for m in broken for s in m.sentences]))
        bad += draw(st.lists(junk_lines(), max_size=3))
        for b in bad:
            lines.insert(draw(st.integers(0, len(lines))), b)
    end = draw(st.sampled_from([b"\n", b""]))
    return b"\n".join(lines) + end


def cuts(data: st.DataObject, stream: bytes) -> list[bytes]:
    """``stream`` split at random line boundaries (sometimes an empty piece)."""
    starts = [0] + [i + 1 for i, c in enumerate(stream) if c == 10]
    at = sorted(data.draw(st.lists(st.sampled_from(starts), max_size=12), label="cuts"))
    bounds = [0, *at, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


@examples(60)
@given(stream=streams(), data=st.data())
def test_chunk_boundaries_do_not_change_the_result(stream: bytes, data: st.DataObject) -> None:
    # small limits make fragments wait, time out and get evicted across chunk boundaries
    s = replace(
        DEFAULTS,
        decode_max_pending_fragments=data.draw(st.sampled_from([1, 2, 4, 1024]), label="pending"),
        decode_orphan_timeout_s=data.draw(st.sampled_from([0.0, 1.0, 60.0]), label="timeout"),
        decode_max_line_bytes=data.draw(st.sampled_from([82, 200, 4096]), label="max_line"),
    )
    whole = run(s, [stream], keep_raw=True)
    pieces = cuts(data, stream)
    assert run(s, pieces, keep_raw=True) == whole
    small = replace(s, decode_chunk_bytes=1024)  # the reader splits the stream itself
    tables, stats = decode(stream, keep_raw=True, settings=small)
    assert ({k: rows_of(t) for k, t in tables.items()}, stats.as_dict()) == whole


# ---------------------------------------------------------------- 4. quarantine


BREAKS = (
    "bad_checksum", "drop", "non_ascii", "nul", "fill", "fragment", "too_long", "duplicate",
)  # fmt: skip


@st.composite
def quarantine_cases(draw: st.DrawFn) -> tuple[bytes, Counter[tuple[int, str, bytes]]]:
    """Valid messages with broken ones between them, and the quarantine entries that
    the broken lines must give: (line, reason, bytes)."""
    good = messages(ANY_LAYOUT, channels=("A", "B"))
    # each broken message has its own reassembly key, so their leftovers never combine
    keys = draw(st.permutations([(c, s) for c in "12" for s in range(10)]))
    blocks: list[tuple[list[bytes], list[tuple[int, str, int]]]] = []  # lines, rejects
    for m in draw(st.lists(good, max_size=6)):
        blocks.append(([s.encode() for s in m.sentences], []))
    for channel, seq in keys[: draw(st.integers(1, 6))]:
        m = draw(messages(ANY_LAYOUT, channels=(channel,), seq_ids=st.just(seq)))
        blocks.insert(draw(st.integers(0, len(blocks))), broken(draw, m))
    for junk, reason in draw(st.lists(st.sampled_from(BAD_LINES), max_size=4)):
        blocks.insert(draw(st.integers(0, len(blocks))), ([junk], [(0, reason, 0)]))
    lines: list[bytes] = []
    want: Counter[tuple[int, str, bytes]] = Counter()
    for block, rejects in blocks:
        base = len(lines)
        for k, reason, on in rejects:
            line = block[k]
            if reason == "line_too_long":
                line = line[: DEFAULTS.decode_max_line_bytes]
            want[(base + on + 1, reason, line)] += 1
        lines += block
    return b"".join(b + b"\n" for b in lines), want


def broken(draw: st.DrawFn, m: Message) -> tuple[list[bytes], list[tuple[int, str, int]]]:
    """Break one sentence of ``m``. Returns its lines, and the rejects they must give:
    (index of the rejected line, reason, index of the line the reject is reported on)."""
    orphan = "orphan_fragment"  # reported on the first line of its (incomplete) message
    lines = [s.encode() for s in m.sentences]
    k = draw(st.integers(0, len(lines) - 1))
    how = draw(st.sampled_from(BREAKS))
    if len(lines) == 1 and how in ("drop", "duplicate"):
        how = "bad_checksum"
    if how == "drop":
        del lines[k]
        return lines, [(i, orphan, 0) for i in range(len(lines))]
    line = lines[k]
    if how == "duplicate":
        lines.insert(k, line)
        if k == len(lines) - 2:  # a second last fragment, after the message completed
            return lines, [(k + 1, orphan, k + 1)]
        # the second copy restarts the message: fragments up to the first copy are orphans,
        # and the restarted message lacks the fragments before k
        restarted = [(i, orphan, k + 1) for i in range(k + 1, len(lines))] if k else []
        return lines, [(i, orphan, 0) for i in range(k + 1)] + restarted
    star = line.rindex(b"*")
    bang = line.rindex(b"!")
    parts = line[bang + 1 : star].decode().split(",")
    reason = how
    if how == "bad_checksum":
        lines[k] = line[:-2] + (b"00" if line[-2:] != b"00" else b"01")
    elif how in ("non_ascii", "nul"):
        at = star - 2 - len(parts[-1])  # inside the payload
        lines[k] = line[:at] + ("é" if how == "non_ascii" else "\x00").encode() + line[at:]
        reason = "non_ascii"
    elif how == "fill":
        parts[6] = "7"
        lines[k] = line[:bang] + nmea(",".join(parts)).encode()
        reason = "bad_fill_bits"
    elif how == "fragment":
        parts[2] = "0"
        lines[k] = line[:bang] + nmea(",".join(parts)).encode()
        reason = "bad_fragment"
    else:  # too long
        lines[k] = line + b"," + b"9" * DEFAULTS.decode_max_line_bytes
        reason = "line_too_long"
    rest = [i for i in range(len(lines)) if i != k]
    return lines, [(i, orphan, rest[0]) for i in rest] + [(k, reason, k)]


def _single(layout: str, values: dict[str, object], payload: str | None = None) -> str:
    s = encode_sentences(BY_NAME[layout], values)[0]
    if payload is None:
        return s
    parts = s[1 : s.rindex("*")].split(",")
    parts[5] = payload
    return nmea(",".join(parts))


_TYPE1 = encode_sentences(BY_NAME["type1"], {"mmsi": 366053209})[0]
_PAYLOAD = _TYPE1.split(",")[5]
BAD_LINES: list[tuple[bytes, str]] = [
    (b"\\s:station,c:1700000000*00\\", "malformed_sentence"),
    (b"not an AIS line at all", "not_nmea"),
    (_TYPE1[: _TYPE1.rindex("*")].encode(), "no_checksum"),
    (_single("type1", {}, _PAYLOAD[: (int(MIN_BITS[1]) - 1) // 6]).encode(), "short_message"),
    (_single("type1", {}, "0" + _PAYLOAD[1:]).encode(), "unknown_msg_type"),
    (_single("type1", {}, "").encode(), "empty_payload"),
    (_single("type1", {}, _PAYLOAD[:5] + "X" + _PAYLOAD[6:]).encode(), "bad_payload_char"),
]


@examples(60)
@given(case=quarantine_cases())
def test_quarantine_holds_every_rejected_line(
    case: tuple[bytes, Counter[tuple[int, str, bytes]]],
) -> None:
    data, want = case
    q = io.BytesIO()
    tables, stats = decode(data, keep_raw=True, quarantine=q, settings=DEFAULTS)
    got = Counter(quarantine_entries(q.getvalue()))
    assert got == want
    assert sum(got.values()) == stats.rejected
    check_accounting(data, tables, stats, q.getvalue())


def test_unknown_subtype_is_quarantined() -> None:
    line = _single("type24a", {"mmsi": 366053209, "part_num": 2})
    q = io.BytesIO()
    _, stats = decode([line], quarantine=q, settings=DEFAULTS)
    assert stats.rejects == {"unknown_subtype": 1}
    assert quarantine_entries(q.getvalue()) == [(1, "unknown_subtype", line.encode())]


def _with_checksum(body: bytes) -> bytes:
    x = 0
    for c in body:
        x ^= c
    return b"!%s*%02X" % (body, x)


_POSITION = nmea("AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0").encode()


@pytest.mark.parametrize(
    "line",
    [
        b"\\s:Troms\xf8*00\\" + _POSITION,  # station from the tag block
        _POSITION + b",r\xe9x",  # station from a USCG-style trailing field
        b"\\\x80:1*00\\" + _POSITION,  # unknown tag-block field: only in raw
        _with_checksum(b"AIVDM,1,1,,\xe9,13u?etPv2;0n:dDPwUM1U1Cb069D,0"),  # channel
        _with_checksum(b"A\xe9VDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0"),  # talker
    ],
    ids=["tag_station", "trailing_station", "tag_raw", "channel", "talker"],
)
def test_text_that_is_not_ascii_is_rejected_not_stored(line: bytes) -> None:
    # tag blocks and trailing fields carry no checksum: bytes that are not ASCII there (or
    # anywhere in the sentence) reject the record, so every string column stays valid UTF-8
    good = _POSITION + b"\n"
    tables, stats = decode(good + line + b"\n" + good, keep_raw=True, settings=DEFAULTS)
    assert stats.rejects == {"non_ascii": 1}
    assert tables["positions"].num_rows == 2
    for table in tables.values():
        table.validate(full=True)
