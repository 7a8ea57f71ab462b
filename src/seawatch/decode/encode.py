"""Encoding AIS messages from the layout declarations: values → bits → payload → ``!AIVDM``.

The inverse of the decoder, derived from the same :class:`~seawatch.decode.fields.Layout`
declarations (so the two cannot drift apart): it builds test fixtures and lets a node
re-publish messages as NMEA. Pure Python; speed is not a goal.

Values are given as the decoder outputs them, by column name:

- numbers in output units (degrees, knots, metres); ``raw = round(value * scale)``,
  and the named converters are inverted (``rate_of_turn_degpm`` → ROT_AIS);
- ``None`` or a missing name → the field's "not available" raw value, or 0 if it has none
  (``msg_type`` defaults to the layout's type, and fields that a ``select`` predicate
  pins, such as ``part_num``, ``dac``/``fi`` or the type 25 flags, to the selected value);
- booleans for flags;
- text as a string of six-bit ASCII characters (upper case, digits, space and
  ``@[\\]^_!"#$%&'()*+,-./:;<=>?``), padded with ``@`` to a fixed-width field;
- binary data (BITS fields) as ``bytes`` (every bit), ``(bytes, nbits)`` (the first
  ``nbits`` bits, most significant first, as the decoder's ``data`` and ``data_nbits``
  columns hold them) or a ``'0'``/``'1'`` string. A fixed-width field is zero-padded.

A field that runs to the end of the message (``width == 0``) takes exactly what is given.
``nbits`` cuts or zero-extends the result, e.g. to send a type 7 with one acknowledgement.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from seawatch.decode.fields import Field, Kind, Layout
from seawatch.decode.layouts.common import SIXBIT
from seawatch.errors import InputError

__all__ = [
    "EncodeError",
    "armor",
    "checksum",
    "encode_bits",
    "encode_payload",
    "encode_sentences",
    "to_sentences",
    "unarmor",
]

BitsValue = bytes | tuple[bytes, int] | str

_SIXBIT_CODE = {c: i for i, c in enumerate(SIXBIT)}


class EncodeError(InputError, ValueError):
    """A value cannot be encoded in its field (out of range, bad character, too long)."""


def _rot_raw(value: float) -> int:
    """Inverse of the ``rot`` converter: degrees per minute → ROT_AIS (±127 at most)."""
    raw = min(127, round(4.733 * math.sqrt(abs(value))))
    return -raw if value < 0 else raw


INVERSE_CONVERTERS: dict[str, Callable[[float], int]] = {"rot": _rot_raw}


def _fail(layout: Layout, f: Field, why: str) -> EncodeError:
    return EncodeError(f"cannot encode {f.name!r} of layout {layout.name!r}: {why}")


def _int_bits(layout: Layout, f: Field, value: object) -> str:
    if value is None:
        raw = f.na if f.na is not None else 0
    elif f.kind == Kind.BOOL:
        raw = int(bool(value))
    elif isinstance(value, int | float):
        if f.convert is not None:
            raw = INVERSE_CONVERTERS[f.convert](float(value))
        elif f.scale != 1.0 or isinstance(value, float):
            raw = round(float(value) * f.scale)
        else:
            raw = int(value)
    else:
        raise _fail(layout, f, f"expected a number, got {type(value).__name__}")
    lo, hi = (
        (-(1 << (f.width - 1)), 1 << (f.width - 1)) if f.kind == Kind.INT else (0, 1 << f.width)
    )
    if not lo <= raw < hi:
        raise _fail(layout, f, f"{value!r} is raw {raw}, outside [{lo}, {hi - 1}]")
    return format(raw & ((1 << f.width) - 1), f"0{f.width}b")


def _text_bits(layout: Layout, f: Field, value: object) -> str:
    s = "" if value is None else value
    if not isinstance(s, str):
        raise _fail(layout, f, f"expected text, got {type(s).__name__}")
    limit = (f.width or f.max_width) // 6
    if len(s) > limit:
        raise _fail(layout, f, f"{len(s)} characters, at most {limit} fit")
    bad = sorted({c for c in s if c not in _SIXBIT_CODE})
    if bad:
        raise _fail(layout, f, f"characters {bad} are not six-bit ASCII (use upper case)")
    if f.width:
        s = s.ljust(limit, "@")
    out = "".join(format(_SIXBIT_CODE[c], "06b") for c in s)
    return out.ljust(f.width, "0")  # a width that is not a multiple of 6 ends in zero bits


def _binary_bits(layout: Layout, f: Field, value: object) -> str:
    if value is None:
        bits = ""
    elif isinstance(value, str):
        if set(value) - {"0", "1"}:
            raise _fail(layout, f, "a bit string holds only '0' and '1'")
        bits = value
    elif isinstance(value, bytes):
        bits = "".join(format(b, "08b") for b in value)
    elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], bytes):
        data, n = value
        bits = "".join(format(b, "08b") for b in data)
        if not isinstance(n, int) or not 0 <= n <= len(bits):
            raise _fail(layout, f, f"bit count {n!r} does not fit {len(data)} bytes")
        bits = bits[:n]
    else:
        raise _fail(layout, f, "expected bytes, (bytes, nbits) or a '0'/'1' string")
    limit = f.width or f.max_width
    if len(bits) > limit:
        raise _fail(layout, f, f"{len(bits)} bits, at most {limit} fit")
    return bits.ljust(f.width, "0")


def _defaults(layout: Layout) -> dict[str, int]:
    """Values implied by the layout: its type and the fields its predicates pin."""
    out = {"msg_type": layout.msg_type}
    for sel in layout.select:
        for f, off in zip(layout.fields, layout.offsets, strict=True):
            if off == sel.offset and f.width == sel.width and sel.upper is None:
                out[f.name] = sel.value
    return out


def encode_bits(layout: Layout, values: Mapping[str, object], *, nbits: int | None = None) -> str:
    """The message as a '0'/'1' string: ``values`` (by column name) encoded field by field."""
    unknown = set(values) - {f.name for f in layout.fields if f.kind != Kind.SPARE}
    if unknown:
        raise EncodeError(f"layout {layout.name!r} has no fields {sorted(unknown)}")
    merged: dict[str, object] = {**_defaults(layout), **values}
    parts = []
    for f in layout.fields:
        value = merged.get(f.name)
        if f.kind == Kind.SPARE:
            parts.append("0" * f.width)
        elif f.kind == Kind.TEXT:
            parts.append(_text_bits(layout, f, value))
        elif f.kind == Kind.BITS:
            parts.append(_binary_bits(layout, f, value))
        else:
            parts.append(_int_bits(layout, f, value))
    bits = "".join(parts)
    if nbits is not None:
        bits = bits[:nbits].ljust(nbits, "0")
    return bits


def armor(bits: str) -> tuple[str, int]:
    """Six-bit armouring: a '0'/'1' string → (payload characters, fill bits)."""
    fill = -len(bits) % 6
    padded = bits + "0" * fill
    chars = []
    for i in range(0, len(padded), 6):
        v = int(padded[i : i + 6], 2)
        chars.append(chr(v + 48 if v < 40 else v + 56))
    return "".join(chars), fill


def unarmor(payload: str, fill: int = 0) -> str:
    """Inverse of :func:`armor`: payload characters and fill bits → '0'/'1' string."""
    out = []
    for c in payload:
        o = ord(c)
        if 48 <= o <= 87:
            v = o - 48
        elif 96 <= o <= 119:
            v = o - 56
        else:
            raise EncodeError(f"{c!r} is not a six-bit payload character")
        out.append(format(v, "06b"))
    bits = "".join(out)
    return bits[: len(bits) - fill] if fill else bits


def encode_payload(
    layout: Layout, values: Mapping[str, object], *, nbits: int | None = None
) -> tuple[str, int]:
    """Values → armoured payload and fill bits (see :func:`encode_bits`)."""
    return armor(encode_bits(layout, values, nbits=nbits))


def checksum(body: str) -> str:
    """NMEA checksum of the characters between the start character and ``*``: two hex digits."""
    x = 0
    for c in body:
        x ^= ord(c)
    return f"{x:02X}"


def _tag_block(tag: str | Mapping[str, object]) -> str:
    content = tag if isinstance(tag, str) else ",".join(f"{k}:{v}" for k, v in tag.items())
    if "*" in content or "\\" in content:
        raise EncodeError(f"tag block {content!r}: give the fields only, without \\ or *hh")
    return f"\\{content}*{checksum(content)}\\"


def to_sentences(
    payload: str,
    fill: int,
    *,
    channel: str = "A",
    talker: str = "AI",
    seq_id: int | None = None,
    tag_block: str | Mapping[str, object] | None = None,
    max_payload_chars: int = 60,
    sentence: str = "VDM",
) -> list[str]:
    """Wrap a payload in checksummed ``!AIVDM`` sentences, split into fragments if long.

    Only the last fragment carries the fill bits. A multi-fragment message gets the
    sequential message id ``seq_id`` (0 when not given). ``tag_block`` is the content of
    an IEC 61162-450 tag block (``"s:station,c:1700000000"`` or ``{"s": ..., "c": ...}``);
    it is prepended, with its checksum, to the first fragment.
    """
    if max_payload_chars < 1:
        raise EncodeError(f"max_payload_chars must be positive, not {max_payload_chars}")
    if not 0 <= fill <= 5:
        raise EncodeError(f"fill bits must be 0-5, not {fill}")
    chunks = [payload[i : i + max_payload_chars] for i in range(0, len(payload), max_payload_chars)]
    chunks = chunks or [""]
    count = len(chunks)
    if count > 9:
        raise EncodeError(
            f"payload needs {count} fragments; NMEA allows 9 (raise max_payload_chars)"
        )
    seq = "" if count == 1 and seq_id is None else str(seq_id or 0)
    out = []
    for i, chunk in enumerate(chunks, 1):
        body = f"{talker}{sentence},{count},{i},{seq},{channel},{chunk},{fill if i == count else 0}"
        line = f"!{body}*{checksum(body)}"
        if i == 1 and tag_block is not None:
            line = _tag_block(tag_block) + line
        out.append(line)
    return out


def encode_sentences(
    layout: Layout,
    values: Mapping[str, object],
    *,
    nbits: int | None = None,
    channel: str = "A",
    talker: str = "AI",
    seq_id: int | None = None,
    tag_block: str | Mapping[str, object] | None = None,
    max_payload_chars: int = 60,
) -> list[str]:
    """Values → NMEA sentences in one step (:func:`encode_payload` + :func:`to_sentences`)."""
    payload, fill = encode_payload(layout, values, nbits=nbits)
    return to_sentences(
        payload,
        fill,
        channel=channel,
        talker=talker,
        seq_id=seq_id,
        tag_block=tag_block,
        max_payload_chars=max_payload_chars,
    )
