"""Hypothesis strategies for AIS input: valid messages of any layout, wrapped in NMEA, and
the ways real feeds break them.

- :func:`messages` draws a message of a layout (values that respect every field's width,
  signedness, scale and "not available" value, the layout's ``select``/``unless``
  predicates, sometimes cut short) wrapped in one or more ``!AIVDM``/``!AIVDO`` sentences
  (random talker, channel, sequence id, tag block). :meth:`Message.expected` is what the
  decoder must output for it, column by column, computed from the drawn values.
- :func:`time_lines` draws ``$PGHP`` and ``$GPRMC`` lines; :func:`junk_lines` and
  :func:`mutated_lines` draw the broken input a decoder meets.

Everything is built with :mod:`seawatch.decode.encode`, the encoder derived from the
layout declarations, so these strategies cover every layout without a table per type.
"""

from __future__ import annotations

import functools
import math
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from seawatch.decode.encode import armor, checksum, encode_bits, to_sentences
from seawatch.decode.fields import Field, Kind, Layout
from seawatch.decode.layouts.common import SIXBIT
from seawatch.decode.reassembly import FRAGMENT_CHARS, MAX_FRAGMENTS, STATION_BYTES

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Epoch seconds the decoder accepts as times (timeparse: [1980, 2100)).
MIN_EPOCH_S, MAX_EPOCH_S = 315_532_800, 4_102_444_799
CHANNELS = ("A", "B", "1", "2", "")
STATION_CHARS = string.ascii_letters + string.digits + "-_."


def rot(raw: int) -> float:
    """The ``rot`` converter in plain Python: ROT_AIS → degrees per minute."""
    return math.copysign((raw / 4.733) ** 2, raw)


def pack_bits(bits: str) -> bytes:
    """'0'/'1' string → bytes, most significant bit first, last byte zero-padded."""
    n = (len(bits) + 7) // 8
    return int(bits.ljust(8 * n, "0"), 2).to_bytes(n, "big") if n else b""


def nmea(body: str, start: str = "!") -> str:
    """A sentence with its checksum."""
    return f"{start}{body}*{checksum(body)}"


def us_to_datetime(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


# ---------------------------------------------------------------- field values


@dataclass(frozen=True)
class Values:
    """Drawn values of one message: what the encoder gets and what the decoder must give."""

    layout: Layout
    encoder: dict[str, object]  # by column name, as encode_bits takes them
    full: dict[str, object]  # decoded value of each field of the complete message
    bits: str  # the message's bits, cut to ``nbits`` when drawn short

    def expected(self) -> dict[str, object]:
        """Decoded value of every field column (and ``<bits>_nbits``) of ``bits``."""
        nbits = len(self.bits)
        out: dict[str, object] = {}
        for f, off in zip(self.layout.fields, self.layout.offsets, strict=True):
            if f.kind == Kind.SPARE:
                continue
            if f.kind == Kind.TEXT:
                avail = max(0, min(f.width or f.max_width, nbits - off))
                chars = _text_string(f, self.encoder.get(f.name))[: avail // 6]
                out[f.name] = decoded_text(chars)
            elif f.kind == Kind.BITS:
                avail = max(0, min(f.width or f.max_width, nbits - off))
                data = self.bits[off : off + avail]
                out[f.name] = pack_bits(data) if avail else None
                out[f"{f.name}_nbits"] = avail if avail else None
            else:
                out[f.name] = self.full[f.name] if off + f.width <= nbits else None
        return out


def _text_string(f: Field, value: object) -> str:
    """The characters a text field holds once encoded ('@'-padded when fixed width)."""
    s = value if isinstance(value, str) else ""
    return s.ljust(f.width // 6, "@") if f.width else s


def _int_range(f: Field) -> tuple[int, int]:
    if f.kind == Kind.INT:
        return -(1 << (f.width - 1)), (1 << (f.width - 1)) - 1
    return 0, (1 << f.width) - 1


def _pinned(layout: Layout) -> dict[str, st.SearchStrategy[int]]:
    """Raw values of the fields that the layout's ``select`` predicates fix or bound."""
    out: dict[str, st.SearchStrategy[int]] = {}
    for sel in layout.select:
        names = [
            f.name
            for f, off in zip(layout.fields, layout.offsets, strict=True)
            if off == sel.offset and f.width == sel.width
        ]
        assert len(names) == 1, f"{layout.name}: select {sel} is not one field"
        hi = sel.value if sel.upper is None else sel.upper
        out[names[0]] = st.integers(sel.value, hi)
    return out


def _decoded_int(f: Field, raw: int) -> object:
    """What the decoder outputs for the raw value of an integer/flag field."""
    if raw == f.na:
        return None
    if f.kind == Kind.BOOL:
        return bool(raw)
    if f.convert == "rot":
        return rot(raw)
    if f.is_scaled:
        return raw / f.scale
    return raw


def _encoder_int(f: Field, raw: int) -> object:
    """A value in output units that the encoder turns back into ``raw``."""
    if f.kind == Kind.BOOL:
        return bool(raw)
    if f.convert is not None:
        return None if raw == f.na else rot(raw)
    if f.is_scaled:
        return raw / f.scale
    return raw


@functools.cache
def integers(lo: int, hi: int) -> st.SearchStrategy[int]:
    """``st.integers``, built once per range (building and validating strategies is slow)."""
    return st.integers(lo, hi)


@functools.cache
def _binary(size: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=size, max_size=size)


@st.composite
def _bits(draw: st.DrawFn, lo: int, hi: int) -> tuple[bytes, int]:
    """Binary field data as the encoder takes it: (bytes, number of bits used)."""
    n = draw(integers(lo, hi))
    return draw(_binary((n + 7) // 8)), n


def decoded_text(chars: str) -> str | None:
    """Six-bit characters as the decoder returns them: up to the first '@' (the padding),
    without trailing spaces; null when nothing is left (docs/decoding.md)."""
    return chars.split("@", 1)[0].rstrip(" ") or None


_CUT = st.integers(0, 3)


@functools.cache
def _field_strategies(layout: Layout) -> tuple[tuple[Field, st.SearchStrategy[Any]], ...]:
    """One strategy per non-spare field, built once per layout (building is the slow part).

    Integer fields draw the raw value (``None`` = not given), text fields the characters,
    binary fields ``(bytes, nbits)``.
    """
    pinned = _pinned(layout)
    rest_min = max(0, layout.min_bits - layout.nominal_bits)  # type 26: 20 radio bits at least
    out: list[tuple[Field, st.SearchStrategy[Any]]] = []
    for f in layout.fields:
        if f.kind == Kind.SPARE:
            continue
        strategy: st.SearchStrategy[Any]
        if f.name == "msg_type":
            strategy = st.just(layout.msg_type)
        elif f.name in pinned:
            strategy = pinned[f.name]
        elif f.kind == Kind.TEXT:
            # no layout needs text to reach min_bits; the strategy would have to ensure it
            assert f.width or not rest_min, layout.name
            limit = (f.width or f.max_width) // 6
            strategy = st.text(SIXBIT, max_size=limit)  # an '@' inside ends the text
        elif f.kind == Kind.BITS:
            strategy = _bits(f.width, f.width) if f.width else _bits(rest_min, f.max_width)
        else:
            ints = st.integers(*_int_range(f))
            strategy = ints if f.na is None else st.one_of(st.none(), st.just(f.na), ints)
        out.append((f, strategy))
    return tuple(out)


@st.composite
def values(draw: st.DrawFn, layout: Layout, *, allow_short: bool = True) -> Values:
    """Valid values for every field of ``layout``; sometimes the message is cut short
    (between ``min_bits`` and its full length), as real senders do with types 7, 15, 20."""
    enc: dict[str, object] = {}
    full: dict[str, object] = {}
    for f, strategy in _field_strategies(layout):
        value = draw(strategy)
        if f.kind == Kind.TEXT:
            enc[f.name] = value
            full[f.name] = decoded_text(value)
        elif f.kind == Kind.BITS:
            data, n = value
            enc[f.name] = (data, n)
            full[f.name] = pack_bits("".join(format(b, "08b") for b in data)[:n]) if n else None
        elif value is None:
            enc[f.name] = full[f.name] = None
        else:
            enc[f.name] = _encoder_int(f, value)
            full[f.name] = _decoded_int(f, value)
    bits = encode_bits(layout, enc)
    if allow_short and len(bits) > layout.min_bits and draw(_CUT) == 0:
        bits = bits[: draw(integers(layout.min_bits, len(bits) - 1))]
    assume(layout.matches(bits))  # the unless predicates: type 24 B of an auxiliary craft
    return Values(layout, enc, full, bits)


@functools.cache
def values_of(layout: Layout, allow_short: bool = True) -> st.SearchStrategy[Values]:
    """:func:`values`, built once per layout."""
    return values(layout, allow_short=allow_short)


# ---------------------------------------------------------------- sentences


@dataclass(frozen=True)
class Message:
    """One message wrapped in NMEA sentences, and what its row must hold."""

    values: Values
    sentences: tuple[str, ...]
    channel: str
    talker: str
    own_ship: bool
    station: str | None
    ts: datetime | None

    @property
    def layout(self) -> Layout:
        return self.values.layout

    def source(self, line_no: int) -> dict[str, object]:
        """The row's source columns, when its first sentence is on ``line_no``."""
        return {
            "ts": self.ts,
            "station": self.station,
            "channel": self.channel or None,
            "talker": self.talker,
            "own_ship": self.own_ship,
            "line_no": line_no,
            "raw": "\n".join(self.sentences),
        }


_EPOCH_S = st.integers(MIN_EPOCH_S, MAX_EPOCH_S)
_TIME_FORMS = st.sampled_from(("s", "ms", "frac"))
_MS = st.integers(0, 999)
_FRACTION = st.text("0123456789", min_size=1, max_size=6)
_TAG_KINDS = st.sampled_from(("none", "c", "s", "sc", "cs"))
_STATIONS = st.text(STATION_CHARS, min_size=1, max_size=STATION_BYTES + 8)
_TALKERS = st.text(string.ascii_uppercase, min_size=2, max_size=2)
_SEQ_IDS = st.integers(0, 9)
_BOOLS = st.booleans()


@st.composite
def tag_times(draw: st.DrawFn) -> tuple[str, int]:
    """A ``c:`` time as written by receivers: seconds, milliseconds or seconds.fraction.
    Returns the text and the time in microseconds."""
    s = draw(_EPOCH_S)
    form = draw(_TIME_FORMS)
    if form == "s":
        return str(s), s * 1_000_000
    if form == "ms":
        ms = draw(_MS)
        return f"{s}{ms:03d}", s * 1_000_000 + ms * 1000
    digits = draw(_FRACTION)
    return f"{s}.{digits}", s * 1_000_000 + int(digits.ljust(6, "0"))


_TAG_TIMES = tag_times()


@st.composite
def tag_blocks(draw: st.DrawFn) -> tuple[str | None, str | None, int | None]:
    """(tag block content or None, station, time in µs)."""
    kind = draw(_TAG_KINDS)
    if kind == "none":
        return None, None, None
    station = draw(_STATIONS)
    text, us = draw(_TAG_TIMES)
    parts = {"c": f"c:{text}", "s": f"s:{station}"}
    content = ",".join(parts[k] for k in kind)
    return (
        content,
        station[:STATION_BYTES] if "s" in kind else None,
        us if "c" in kind else None,
    )


_TAG_BLOCKS = tag_blocks()


def wrap(
    draw: st.DrawFn,
    vals: Values,
    *,
    channels: st.SearchStrategy[str],
    seq_ids: st.SearchStrategy[int],
    tags: bool = True,
) -> Message:
    """Wrap drawn values in sentences: one, or several fragments (at most nine)."""
    payload, fill = armor(vals.bits)
    multi = draw(_BOOLS)
    if multi:
        lo = max(1, -(-len(payload) // MAX_FRAGMENTS))
        size = draw(integers(lo, max(lo, min(len(payload), FRAGMENT_CHARS))))
        seq: int | None = draw(seq_ids)
    else:
        size = len(payload)
        seq = draw(seq_ids) if draw(_BOOLS) else None
    channel = draw(channels)
    talker = draw(_TALKERS)
    own_ship = draw(_BOOLS)
    content, station, us = draw(_TAG_BLOCKS) if tags else (None, None, None)
    sentences = to_sentences(
        payload,
        fill,
        channel=channel,
        talker=talker,
        seq_id=seq,
        tag_block=content,
        max_payload_chars=size,
        sentence="VDO" if own_ship else "VDM",
    )
    return Message(
        vals,
        tuple(sentences),
        channel,
        talker,
        own_ship,
        station,
        None if us is None else us_to_datetime(us),
    )


def messages(
    layout: Layout | st.SearchStrategy[Layout],
    *,
    channels: tuple[str, ...] = CHANNELS,
    seq_ids: st.SearchStrategy[int] = _SEQ_IDS,
    tags: bool = True,
    allow_short: bool = True,
) -> st.SearchStrategy[Message]:
    """Messages of one layout (or of layouts drawn from a strategy), wrapped in NMEA."""
    layouts = layout if isinstance(layout, st.SearchStrategy) else st.just(layout)
    channel = st.sampled_from(channels)

    @st.composite
    def draw_message(draw: st.DrawFn) -> Message:
        vals = draw(values_of(draw(layouts), allow_short))
        return wrap(draw, vals, channels=channel, seq_ids=seq_ids, tags=tags)

    return draw_message()


@st.composite
def interleave(draw: st.DrawFn, groups: list[list[str]]) -> list[str]:
    """Merge lists of lines in random order, keeping each list's own order."""
    queues = [list(g) for g in groups if g]
    out: list[str] = []
    while queues:
        i = draw(st.integers(0, len(queues) - 1))
        out.append(queues[i].pop(0))
        if not queues[i]:
            queues.pop(i)
    return out


# ---------------------------------------------------------------- other lines


@st.composite
def time_lines(draw: st.DrawFn) -> str:
    """A ``$PGHP`` (times the next sentence) or ``$GPRMC`` (times what follows) line."""
    t = us_to_datetime(draw(st.integers(MIN_EPOCH_S, MAX_EPOCH_S)) * 1_000_000)
    if draw(st.booleans()):
        ms = draw(st.integers(0, 999))
        body = (
            f"PGHP,1,{t.year},{t.month},{t.day},{t.hour},{t.minute},{t.second},{ms},"
            "219,,2190047,1,4A"
        )
        return nmea(body, "$")
    date = f"{t.day:02d}{t.month:02d}{t.year % 100:02d}"  # two-digit year: 1980-2079
    body = f"GPRMC,{t:%H%M%S}.00,A,5000.0,N,00100.0,E,0.0,0.0,{date},,,A"
    return nmea(body, "$")


#: A fragment 1 of 2 that never gets its second part (channel A, sequence id 9).
LONELY_FRAGMENT = nmea("AIVDM,2,1,9,A,55NBjP01mtGIL@CW;SM<D60P5Ld000000000000P0`<3557l0<50@kk,0")


@functools.cache
def junk_lines() -> st.SearchStrategy[bytes]:
    """Lines that are not AIS: random bytes, printable noise, NMEA-looking noise."""
    nmea_chars = string.ascii_uppercase + string.digits + "!$\\*,:.-@`wpo "
    return st.one_of(
        st.binary(max_size=120).map(lambda b: b.replace(b"\n", b"")),
        st.text(string.printable.replace("\n", ""), max_size=120).map(str.encode),
        st.text(nmea_chars, max_size=120).map(str.encode),
        st.sampled_from(
            [
                b"",
                b"   ",
                b"# a comment",
                b",1541030400",
                b"\\s:lonely,c:1700000000*00\\",
                b"\\g:1-2-3*00\\",
                b"!",
                b"!AIVDM",
                b"!AIVDM,1,1,,A,,0*",
                b"\\\\\\",
                b"\x00\x00",
                "caf\u00e9 \u2603".encode(),
                b"\r",
                LONELY_FRAGMENT.encode(),
            ]
        ),
    )


def _fields(line: str) -> tuple[str, list[str]]:
    """A sentence line → (what precedes its body, the comma fields of the body)."""
    start = line.rfind("!") + 1
    star = line.rfind("*")
    if star < start:
        star = len(line)
    return line[:start], line[start:star].split(",")


def _with_field(line: str, index: int, value: str) -> bytes:
    """Replace comma field ``index`` of the sentence (0 = talker+VDM), checksum fixed."""
    head, parts = _fields(line)
    if index < len(parts):
        parts[index] = value
    body = ",".join(parts)
    return f"{head}{body}*{checksum(body)}".encode()


def _payload(line: str) -> str:
    parts = _fields(line)[1]
    return parts[5] if len(parts) > 5 else ""


_MUTATIONS = st.sampled_from(
    (
        "flip", "insert", "delete", "truncate", "duplicate", "drop", "bad_checksum",
        "lower_checksum", "fill", "fragment", "payload_char", "empty_payload", "type",
        "short", "non_ascii", "nul", "long", "crlf", "spaces", "tag_only", "split", "join",
    )
)  # fmt: skip
_BYTES = st.integers(0, 255).map(lambda i: bytes([i]))
_HEX = st.sampled_from([f"{x:02X}".encode() for x in range(256)])
_FILLS = st.sampled_from(["6", "9", "", "x", "-1", "00"])
_FRAGMENT_FIELDS = st.sampled_from([1, 2, 3])  # fragment count, number, sequence id
_FRAGMENT_VALUES = st.sampled_from(["0", "10", "", "a", "3", "1", "2", "99999999999"])
_BAD_PAYLOAD_CHARS = st.sampled_from(list("XYZ[]^_xyz~!$\\*"))
_TYPE_CHARS = st.sampled_from(["0", "L", "M", "w", "K"])  # types 0, 28, 29, 63 and 27
_NON_ASCII = st.sampled_from(["é", "\u2603", "\x80"])


@st.composite
def mutate(draw: st.DrawFn, line: bytes) -> list[bytes]:
    """One way of breaking a sentence line (a list: some mutations drop or add lines).

    Some keep the checksum valid on purpose (``fill``, ``fragment``, ``payload_char``,
    ``empty_payload``, ``type``, ``short``), so that the checks behind it are reached."""
    b = line
    text = line.decode("utf-8", "replace")
    i = draw(st.integers(0, len(b)))
    kind = draw(_MUTATIONS)
    if kind == "flip":
        return [b[:i] + draw(_BYTES) + b[i + 1 :]]
    if kind == "insert":
        return [b[:i] + draw(_BYTES) + b[i:]]
    if kind == "delete":
        return [b[:i] + b[i + 1 :]]
    if kind == "truncate":
        return [b[:i]]
    if kind == "duplicate":
        return [b, b]
    if kind == "drop":
        return []
    if kind == "bad_checksum":
        return [b[:-2] + draw(_HEX.filter(lambda h: h != b[-2:]))]
    if kind == "lower_checksum":
        return [b[:-2] + b[-2:].lower()]
    if kind == "fill":
        return [_with_field(text, 6, draw(_FILLS))]
    if kind == "fragment":
        return [_with_field(text, draw(_FRAGMENT_FIELDS), draw(_FRAGMENT_VALUES))]
    pay = _payload(text)
    k = draw(st.integers(0, max(0, len(pay) - 1)))
    if kind == "payload_char":
        return [_with_field(text, 5, pay[:k] + draw(_BAD_PAYLOAD_CHARS) + pay[k + 1 :])]
    if kind == "empty_payload":
        return [_with_field(text, 5, "")]
    if kind == "type":
        return [_with_field(text, 5, draw(_TYPE_CHARS) + pay[1:])]
    if kind == "short":
        return [_with_field(text, 5, pay[: k + 1])]
    if kind == "non_ascii":
        return [b[:i] + draw(_NON_ASCII).encode() + b[i:]]
    if kind == "nul":
        return [b[:i] + b"\x00" + b[i:]]
    if kind == "long":  # longer than the default decode_max_line_bytes
        return [b + b"," + b"9" * draw(st.integers(4096, 5000))]
    if kind == "crlf":
        return [b + b"\r"]
    if kind == "spaces":
        return [b" \t" + b + b"\t "]
    if kind == "tag_only":
        end = b.rfind(b"\\")
        return [b[: end + 1] if end > 0 else b"\\c:1700000000*00\\"]
    if kind == "split":
        return [b[:i], b[i:]]
    return [b + b]  # join: two records on one line


@st.composite
def mutated_lines(draw: st.DrawFn, lines: list[str], max_mutations: int = 6) -> list[bytes]:
    """``lines`` with up to ``max_mutations`` of them broken, and sometimes a few swapped."""
    out = [line.encode() for line in lines]
    for _ in range(draw(st.integers(1, max_mutations))):
        if not out:
            break
        k = draw(st.integers(0, len(out) - 1))
        out[k : k + 1] = draw(mutate(out[k]))
    if len(out) > 1 and draw(st.integers(0, 4)) == 0:  # fragments out of order
        i = draw(st.integers(0, len(out) - 2))
        j = draw(st.integers(i + 1, min(len(out) - 1, i + 4)))
        out[i : j + 1] = draw(st.permutations(out[i : j + 1]))
    return out
