"""Declarations of AIS message layouts: each field declared once, bit by bit.

Everything else is derived from these declarations: the columnar decoder
(:mod:`seawatch.decode.extract`), the Arrow schemas (:mod:`seawatch.decode.schemas`),
the encoder (:mod:`seawatch.decode.encode`) and the field tables in docs/decoding.md.

A :class:`Layout` lists the fields of one message type (or of one variant of it, such
as type 24 part A, or an IMO application message carried by type 6/8) in bit order,
starting at bit 0 with ``msg_type``, ``repeat`` and ``mmsi``. Field bit offsets are
cumulative widths, so a layout cannot have gaps or overlaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property


class Kind(StrEnum):
    """How a field's bits are interpreted."""

    UINT = "u"  # unsigned integer
    INT = "i"  # two's complement signed integer
    BOOL = "b"  # one bit flag
    TEXT = "t"  # six-bit ASCII text; '@' padding and trailing spaces removed
    BITS = "d"  # opaque binary data (application payloads), kept as bytes
    SPARE = "x"  # reserved bits: checked for width only, not output


@dataclass(frozen=True)
class Field:
    """One field of a message layout.

    ``name`` is the output column name and carries the unit (``speed_kn``, ``draught_m``).
    ``width`` is the number of bits; ``0`` means "the rest of the message" (only allowed
    for the last non-spare field of a layout; ``max_width`` then bounds it).
    ``scale`` divides the raw integer (``lat`` is raw / 600000 degrees); a scaled field
    is output as float64. ``na`` is the raw value that ITU-R M.1371 defines as "not
    available" and becomes null. ``convert`` names a special conversion in
    :data:`seawatch.decode.extract.CONVERTERS` (e.g. ``"rot"``). ``as_float`` makes an
    unscaled field float64 too, so that a column shared with scaled layouts keeps one
    type (type 27 ``speed_kn`` is whole knots, type 1 ``speed_kn`` tenths).
    """

    name: str
    width: int
    kind: Kind = Kind.UINT
    scale: float = 1.0
    na: int | None = None
    doc: str = ""
    max_width: int = 0
    convert: str | None = None
    as_float: bool = False

    @property
    def is_scaled(self) -> bool:
        return self.scale != 1.0 or self.convert is not None or self.as_float


@dataclass(frozen=True)
class Select:
    """A predicate on the raw bits of a message: ``bits[offset:offset+width] == value``.

    With ``upper`` set it is a range instead: ``value <= bits[offset:offset+width] <= upper``
    (type 24 part B of an auxiliary craft, MMSI 98xxxxxxx).
    """

    offset: int
    width: int
    value: int
    upper: int | None = None

    def holds(self, raw: int) -> bool:
        """Whether the unsigned value ``raw`` of the selected bits satisfies the predicate."""
        if self.upper is None:
            return raw == self.value
        return self.value <= raw <= self.upper


@dataclass(frozen=True)
class Layout:
    """The field layout of one message type, or one variant of it.

    A decoded message goes into every layout whose ``msg_type`` matches and whose
    ``select`` predicates all hold: one primary layout per type (written to ``table``),
    plus IMO application layouts for types 6/8 (own tables). ``also`` names tables the
    message is projected into as well (type 4 → ``positions``): only the columns those
    tables declare themselves are taken. ``unless`` excludes messages for which all of
    its predicates hold (type 24 part B with dimensions, unless the sender is an
    auxiliary craft whose part B carries the mothership MMSI instead).
    """

    msg_type: int
    name: str
    table: str
    fields: tuple[Field, ...]
    min_bits: int
    select: tuple[Select, ...] = ()
    also: tuple[str, ...] = ()
    doc: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    unless: tuple[Select, ...] = ()

    @cached_property
    def offsets(self) -> tuple[int, ...]:
        """Bit offset of each field (cumulative widths)."""
        out = []
        pos = 0
        for f in self.fields:
            out.append(pos)
            pos += f.width
        return tuple(out)

    @property
    def nominal_bits(self) -> int:
        """Total bits of the fixed-width part of the layout."""
        return sum(f.width for f in self.fields)

    def field_offset(self, name: str) -> int:
        for f, off in zip(self.fields, self.offsets, strict=True):
            if f.name == name:
                return off
        raise KeyError(name)

    def matches(self, bits: str) -> bool:
        """Whether a message given as a '0'/'1' string belongs to this layout.

        The reference semantics of ``msg_type``, ``select`` and ``unless`` (a predicate
        on bits the message does not have is false).
        """

        def holds(sel: Select) -> bool:
            chunk = bits[sel.offset : sel.offset + sel.width]
            return len(chunk) == sel.width and sel.holds(int(chunk, 2))

        if len(bits) < 6 or int(bits[:6], 2) != self.msg_type:
            return False
        if not all(holds(s) for s in self.select):
            return False
        return not (self.unless and all(holds(s) for s in self.unless))


def header() -> tuple[Field, ...]:
    """The 38-bit header common to every AIS message."""
    return (
        Field("msg_type", 6, doc="Message type, 1-27"),
        Field("repeat", 2, doc="Repeat indicator: 0 = default, 3 = do not repeat"),
        Field("mmsi", 30, doc="Maritime Mobile Service Identity of the sender"),
    )
