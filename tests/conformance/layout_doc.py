"""The generated part of docs/decoding.md: every message layout, field by field.

Rendered from :data:`seawatch.decode.layouts.LAYOUTS` (the declarations the decoder and
the schemas are derived from), so the document cannot drift from the decoder;
``test_decoding_doc.py`` checks it and ``SEAWATCH_UPDATE_DOCS=1`` rewrites it.
"""

from __future__ import annotations

from seawatch.decode.fields import Field, Kind, Layout, Select
from seawatch.decode.layouts import LAYOUTS

BEGIN = "<!-- begin layouts (generated from seawatch.decode.layouts) -->"
END = "<!-- end layouts -->"

_KIND = {
    Kind.UINT: "unsigned",
    Kind.INT: "signed",
    Kind.BOOL: "flag",
    Kind.TEXT: "6-bit text",
    Kind.BITS: "binary",
    Kind.SPARE: "spare",
}


def _bits(off: int, f: Field) -> str:
    if f.width == 0:
        return f"{off}– (≤ {f.max_width})"
    return str(off) if f.width == 1 else f"{off}–{off + f.width - 1}"


def _decoding(f: Field) -> str:
    out = _KIND[f.kind]
    if f.convert == "rot":
        out += ", (raw / 4.733)² with sign"
    elif f.scale != 1.0:
        out += ", ÷ " + f"{f.scale:,.0f}".replace(",", " ")
    return out


def _select(sel: Select) -> str:
    bits = f"bits {sel.offset}–{sel.offset + sel.width - 1}"
    if sel.upper is None:
        return f"{bits} = {sel.value}"
    return f"{sel.value} ≤ {bits} ≤ {sel.upper}"


def _layout(lay: Layout) -> list[str]:
    also = f" (also projected into {', '.join(f'`{t}`' for t in lay.also)})" if lay.also else ""
    when = [_select(s) for s in lay.select]
    when += [f"not ({' and '.join(_select(s) for s in lay.unless)})"] if lay.unless else []
    lines = [
        f"#### `{lay.name}` → `{lay.table}`",
        "",
        f"{lay.doc}{also}. Type {lay.msg_type}"
        + (f", when {'; '.join(when)}" if when else "")
        + f"; accepted from {lay.min_bits} bits (nominal {lay.nominal_bits}).",
        "",
        "| bits | column | decoding | null when raw is | meaning |",
        "|---|---|---|---|---|",
    ]
    for f, off in zip(lay.fields, lay.offsets, strict=True):
        if f.kind == Kind.SPARE:
            lines.append(f"| {_bits(off, f)} | | spare | | |")
            continue
        na = "" if f.na is None else str(f.na)
        doc = f.doc.replace("|", "\\|")
        lines.append(f"| {_bits(off, f)} | `{f.name}` | {_decoding(f)} | {na} | {doc} |")
    return [*lines, ""]


def _tables() -> list[str]:
    by_table: dict[str, list[str]] = {}
    for lay in LAYOUTS:
        by_table.setdefault(lay.table, []).append(f"`{lay.name}`")
        for t in lay.also:
            by_table.setdefault(t, []).append(f"`{lay.name}` (projection)")
    lines = ["| table | layouts |", "|---|---|"]
    lines += [f"| `{t}` | {', '.join(names)} |" for t, names in by_table.items()]
    return [*lines, ""]


def render() -> str:
    """The generated block, markers included."""
    lines = [
        BEGIN,
        "",
        "### Tables and the layouts that fill them",
        "",
        *_tables(),
        "### Layouts",
        "",
        "Bits are numbered from 0, the first bit of the message type. A field the message "
        "is too short to hold is null; text keeps the whole characters present.",
        "",
    ]
    for lay in LAYOUTS:
        lines += _layout(lay)
    return "\n".join([*lines, END]) + "\n"
