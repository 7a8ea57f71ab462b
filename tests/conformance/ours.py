"""seawatch's side of the comparison: one file's tables as a sequence of messages.

Reference decoders emit a message when its last fragment arrives; seawatch numbers each
row with the line of its first fragment. :func:`decode_file` finds the line of the last
fragment too (from the ``raw`` column) and orders messages the way the others do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from seawatch.decode import decode
from seawatch.decode.fields import Layout
from seawatch.decode.layouts import LAYOUTS
from seawatch.decode.stats import DecodeStats

#: Table holding the primary layout of each message type.
PRIMARY: dict[int, str] = {lay.msg_type: lay.table for lay in LAYOUTS if "_dac" not in lay.name}
#: Tables of IMO/inland application messages carried by types 6 and 8.
APP_TABLES: frozenset[str] = frozenset(lay.table for lay in LAYOUTS if "_dac" in lay.name)


@dataclass(frozen=True)
class Message:
    """One decoded message: its row in its primary table and where it came from."""

    table: str
    row: int
    msg_type: int
    mmsi: int
    line_no: int  # first fragment
    last_line: int  # last fragment


@dataclass
class Decoded:
    """seawatch's decode of one file, with per-message access to any column."""

    tables: dict[str, pa.Table]
    stats: DecodeStats
    messages: list[Message]
    _columns: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    _app_rows: dict[tuple[str, int], int] = field(default_factory=dict)

    def value(self, msg: Message, column: str) -> Any:
        """Value of ``column`` (``name`` in the message's table, or ``table.name``, or one
        of the values in :data:`DERIVED`).

        Binary columns come back as a string of '0'/'1' (their ``_nbits`` long); a column
        the table lacks, or an application table without a row for the message, is None.
        """
        if column in DERIVED:
            return DERIVED[column](self, msg)
        table, _, name = column.rpartition(".")
        table = table or msg.table
        if table == msg.table:
            row: int | None = msg.row
        else:
            row = self._app_rows.get((table, msg.line_no * 64 + msg.msg_type))
        if row is None or table not in self.tables:
            return None
        return self._column(table, name)[row]

    def values(self, msgs: list[Message], column: str) -> list[Any]:
        """:meth:`value` of ``column`` for each of ``msgs`` (all of one table)."""
        if column in DERIVED or "." in column or not msgs:
            return [self.value(m, column) for m in msgs]
        col = self._column(msgs[0].table, column)
        return [col[m.row] for m in msgs]

    def bits(self, msg: Message) -> str:
        """The message's bits (from its raw sentences)."""
        return payload_bits(self._column(msg.table, "raw")[msg.row])

    def fills(self, msg: Message) -> list[int]:
        """Fill bits each sentence of the message declares."""
        return [_fields(r)[1] for r in self._column(msg.table, "raw")[msg.row].split("\n")]

    def layout(self, msg: Message, column: str) -> Layout | None:
        """The layout that gave ``column`` (``name`` or ``table.name``) of ``msg``."""
        table, _, name = column.rpartition(".")
        bits = self.bits(msg)
        for lay in LAYOUTS:
            has = any(f.name == name for f in lay.fields)
            if has and lay.table == (table or msg.table) and lay.matches(bits):
                return lay
        return None

    def field_end(self, msg: Message, column: str) -> int | None:
        """First bit after ``column`` in ``msg``'s layout (a rest-of-message field: start + 1)."""
        lay = self.layout(msg, column)
        if lay is None:
            return None
        name = column.rpartition(".")[2]
        f = next(f for f in lay.fields if f.name == name)
        return lay.field_offset(name) + max(f.width, 1)

    def _column(self, table: str, name: str) -> list[Any]:
        key = (table, name)
        if key not in self._columns:
            t = self.tables[table]
            if name not in t.column_names:
                self._columns[key] = [None] * t.num_rows
            elif pa.types.is_binary(t.schema.field(name).type):
                nbits = t.column(f"{name}_nbits").to_pylist()
                self._columns[key] = [
                    None if b is None else _bitstring(b, n)
                    for b, n in zip(t.column(name).to_pylist(), nbits, strict=True)
                ]
            else:
                self._columns[key] = t.column(name).to_pylist()
        return self._columns[key]


def _full_name(d: Decoded, msg: Message) -> str | None:
    """Type 21: the name, continued by its extension when it fills its 20 characters
    (ITU-R M.1371-5 Table 74; gpsd and pyais read it so too)."""
    name, ext = d.value(msg, "name"), d.value(msg, "name_extension")
    if name is not None and ext is not None and len(name) == 20:
        return str(name + ext)
    return name  # type: ignore[no-any-return]


def _radio26(d: Decoded, msg: Message) -> int | None:
    """Type 26: the communication state (selector and 19 bits) that ends ``data``."""
    data = d.value(msg, "data")
    return int(data[-20:], 2) if data is not None and len(data) >= 20 else None


def _data26(d: Decoded, msg: Message) -> str | None:
    """Type 26: ``data`` without the communication state it ends with."""
    data = d.value(msg, "data")
    return data[:-20] or None if data is not None and len(data) >= 20 else None


def _ts_iso(d: Decoded, msg: Message) -> str | None:
    ts = d.value(msg, "ts")
    return None if ts is None else str(ts.isoformat())


#: Values seawatch does not have as one column, made from the columns it has.
DERIVED: dict[str, Callable[[Decoded, Message], Any]] = {
    "ts_iso": _ts_iso,
    "full_name": _full_name,
    "data_without_radio": _data26,
    "radio_in_data": _radio26,
}


def _fields(record: str) -> tuple[str, int]:
    """Payload and fill bits of one raw record (tag block + sentence + trailing fields)."""
    fields = record[record.index("!") :].split("*")[0].split(",")
    return fields[5], int(fields[6])


def payload_bits(raw: str) -> str:
    """The message's bits, from its raw sentences (``raw`` column), as seawatch joins
    them: the fill bits of the last sentence removed."""
    chars = []
    fill = 0
    for record in raw.split("\n"):
        payload, fill = _fields(record)
        chars.append(payload)
    bits = "".join(f"{_sixbit(c):06b}" for c in "".join(chars))
    return bits[: len(bits) - fill]


def _sixbit(c: str) -> int:
    v = ord(c) - 48
    return v - 8 if v > 40 else v


def _bitstring(data: bytes, nbits: int) -> str:
    return "".join(f"{b:08b}" for b in data)[:nbits]


def decode_file(data: bytes) -> Decoded:
    """Decode ``data`` with seawatch and order its messages by last fragment."""
    tables, stats = decode(data, keep_raw=True)
    lines = data.decode("latin-1").split("\n")
    messages: list[Message] = []
    for table in sorted({*PRIMARY.values()}):
        t = tables.get(table)
        if t is None:
            continue
        types = t.column("msg_type").to_pylist()
        mmsis = t.column("mmsi").to_pylist()
        line_nos = t.column("line_no").to_pylist()
        raws = t.column("raw").to_pylist()
        for i, (mt, mmsi, ln, raw) in enumerate(zip(types, mmsis, line_nos, raws, strict=True)):
            if PRIMARY[mt] != table:
                continue  # a projection (type 4 in positions, 19 in statics)
            messages.append(Message(table, i, mt, mmsi, ln, _last_line(lines, ln, raw)))
    messages.sort(key=lambda m: (m.last_line, m.line_no))
    decoded = Decoded(tables, stats, messages)
    decoded._app_rows = _app_rows(tables)
    return decoded


def _last_line(lines: list[str], first: int, raw: str | None) -> int:
    """Line of the last fragment: the first line from ``first`` on that holds it."""
    if raw is None or "\n" not in raw:
        return first
    last = raw.rsplit("\n", 1)[1]
    for i in range(first - 1, len(lines)):
        if last in lines[i]:
            return i + 1
    return first


def _app_rows(tables: dict[str, pa.Table]) -> dict[tuple[str, int], int]:
    """(application table, message id) → row, a message being identified by its first
    line and type (a line holds one message of a type, but for freak input)."""
    out: dict[tuple[str, int], int] = {}
    for table in APP_TABLES & tables.keys():
        t = tables[table]
        ids = zip(t.column("line_no").to_pylist(), t.column("msg_type").to_pylist(), strict=True)
        for i, (ln, mt) in enumerate(ids):
            out.setdefault((table, ln * 64 + mt), i)
    return out
