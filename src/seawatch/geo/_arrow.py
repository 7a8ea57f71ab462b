"""Arrow helpers shared by the geo modules: documented fields."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

__all__ = ["doc_field"]


def doc_field(name: str, typ: pa.DataType, doc: str, *, nullable: bool = True) -> pa.Field[Any]:
    """A field whose metadata ``doc`` describes it (units in the name, meaning in the doc)."""
    return pa.field(name, typ, nullable=nullable, metadata={"doc": doc})
