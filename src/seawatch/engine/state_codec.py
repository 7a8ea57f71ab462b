"""The engine's carried state as bytes and back: one Arrow IPC file, never pickle.

In: a tree of the stages' state objects (:class:`seawatch.engine.pipeline.Pipeline`'s
reorder buffers, cleaning and segmenter state, each detector's state, the segments'
accumulator): dataclasses and a few plain classes of seawatch holding numpy arrays, Arrow
arrays, tables and schemas, dicts, lists, numbers and strings. Out: the bytes of an Arrow
IPC file (:func:`dumps`) whose rows are the arrays and tables (each an IPC stream of its
own, column ``blob``) and whose schema metadata holds the format name, its version and the
tree as JSON naming each blob by row; :func:`loads` gives the tree back.

Loading builds only classes of seawatch's own stage packages (``seawatch.tracks``,
``seawatch.events``, ``seawatch.engine``) by setting their fields, never by running code
named in the file; anything else, a damaged file or another version is a
:class:`StateFileError` naming the file and what to do.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from typing import Any

import numpy as np
import pyarrow as pa

from seawatch.errors import SeawatchError

__all__ = ["FORMAT", "FORMAT_VERSION", "StateFileError", "dumps", "loads"]

FORMAT = "seawatch-state"
FORMAT_VERSION = 3
# 2: the segmenter keeps each segment's last points (lookback); 3: the encounter state's
# laid_out (its buffer thinned inside a grid step)
"""Raised when the layout of the tree or of a stage's state changes: an older file is then
refused (run the period again from its start, or from an older state) rather than misread."""

_PACKAGES = ("seawatch.tracks.", "seawatch.events.", "seawatch.engine.")
_BLOBS = pa.schema([pa.field("blob", pa.large_binary())])


class StateFileError(SeawatchError):
    """A state file cannot be read (damaged, another format version) or a state written."""


def _ipc(table: pa.Table, compress: bool = False) -> bytes:
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd" if compress else None)
    with pa.ipc.new_stream(sink, table.schema, options=options) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


class _Writer:
    def __init__(self, compress: bool = False) -> None:
        self.blobs: list[bytes] = []
        self.compress = compress

    def blob(self, table: pa.Table) -> int:
        self.blobs.append(_ipc(table, self.compress))
        return len(self.blobs) - 1

    def tree(self, v: Any) -> Any:
        if v is None or isinstance(v, bool | str):
            return v
        if isinstance(v, int | np.integer):
            return int(v)
        if isinstance(v, float | np.floating):
            return {"$": "float", "v": repr(float(v))}  # NaN and inf too
        if isinstance(v, np.ndarray):
            flat = v.reshape(-1)
            arr = pa.array(flat.tolist() if v.dtype == object else flat)
            i = self.blob(pa.table({"v": arr}))
            return {"$": "ndarray", "i": i, "dtype": v.dtype.str, "shape": list(v.shape)}
        if isinstance(v, pa.ChunkedArray | pa.Array):
            kind = "chunked" if isinstance(v, pa.ChunkedArray) else "array"
            return {"$": kind, "i": self.blob(pa.table({"v": v}))}
        if isinstance(v, pa.Table):
            return {"$": "table", "i": self.blob(v)}
        if isinstance(v, pa.Schema):
            return {"$": "schema", "i": self.blob(v.empty_table())}
        if isinstance(v, tuple | list):
            return {"$": type(v).__name__, "v": [self.tree(x) for x in v]}
        if isinstance(v, set | frozenset):
            return {"$": "set", "v": [self.tree(x) for x in sorted(v, key=repr)]}
        if isinstance(v, dict):
            keys, values = [self.tree(k) for k in v], [self.tree(x) for x in v.values()]
            return {"$": "dict", "k": keys, "v": values}
        cls = type(v)
        if not cls.__module__.startswith(_PACKAGES) or not hasattr(v, "__dict__"):
            raise StateFileError(
                f"cannot keep state of type {cls.__module__}.{cls.__qualname__}: only seawatch's "
                "stage objects are kept between runs (a detector registered at run time keeps "
                "its state in arrays, tables and dataclasses of its own package?)"
            )
        fields = vars(v)
        return {"$": "obj", "cls": f"{cls.__module__}:{cls.__qualname__}",
                "f": {k: self.tree(x) for k, x in fields.items()}}  # fmt: skip


def dumps(tree: Any, compress: bool = False) -> bytes:
    """``tree`` as the bytes of a state file (see the module docstring); ``compress``: the
    arrays and tables zstd-compressed (read back the same way)."""
    w = _Writer(compress)
    body = json.dumps(w.tree(tree), separators=(",", ":"))
    meta = {"format": FORMAT, "version": str(FORMAT_VERSION), "tree": body}
    table = pa.table({"blob": pa.array(w.blobs, pa.large_binary())}, schema=_BLOBS)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema.with_metadata(meta)) as f:
        f.write_table(table)
    return sink.getvalue().to_pybytes()


class _Reader:
    def __init__(self, blobs: pa.ChunkedArray[Any], name: str) -> None:
        self.blobs = blobs
        self.name = name

    def table(self, i: int) -> pa.Table:
        buf = self.blobs[i].as_buffer()
        return pa.ipc.open_stream(buf).read_all()

    def cls(self, name: str) -> type:
        module, _, qual = name.partition(":")
        if not module.startswith(_PACKAGES):
            raise StateFileError(f"{self.name}: names a type outside seawatch's stages ({name})")
        obj: Any = importlib.import_module(module)
        for part in qual.split("."):
            obj = getattr(obj, part, None)
        if not isinstance(obj, type):
            raise StateFileError(f"{self.name}: unknown type {name} (written by another version?)")
        return obj

    def tree(self, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        kind = v["$"]
        if kind == "float":
            return float(v["v"])
        if kind == "ndarray":
            col = self.table(v["i"]).column("v")
            dtype = np.dtype(v["dtype"])
            if dtype.kind == "O":
                out = np.empty(len(col), dtype=object)
                out[:] = col.to_pylist()
                return out.reshape(v["shape"])
            flat = col.to_numpy() if len(col) else np.empty(0, dtype)
            return np.asarray(flat, dtype=dtype).reshape(v["shape"]).copy()
        if kind == "array":
            return self.table(v["i"]).column("v").combine_chunks()
        if kind == "chunked":
            return self.table(v["i"]).column("v")
        if kind == "table":
            return self.table(v["i"])
        if kind == "schema":
            return self.table(v["i"]).schema
        if kind in ("list", "tuple", "set"):
            items = [self.tree(x) for x in v["v"]]
            return items if kind == "list" else tuple(items) if kind == "tuple" else set(items)
        if kind == "dict":
            return {self.tree(k): self.tree(x) for k, x in zip(v["k"], v["v"], strict=True)}
        if kind == "obj":
            cls = self.cls(v["cls"])
            obj: Any = object.__new__(cls)
            fields = {k: self.tree(x) for k, x in v["f"].items()}
            if dataclasses.is_dataclass(cls):
                names = {f.name for f in dataclasses.fields(cls)}
                if set(fields) != names:
                    raise StateFileError(f"{self.name}: {v['cls']} has other fields here")
            obj.__dict__.update(fields)
            return obj
        raise StateFileError(f"{self.name}: unknown entry {kind!r}")


def loads(data: bytes, name: str) -> Any:
    """The tree kept in ``data`` (the bytes of the state file ``name``, named in errors)."""
    try:
        reader = pa.ipc.open_file(pa.py_buffer(data))
        meta = {k.decode(): v.decode() for k, v in (reader.schema.metadata or {}).items()}
        blobs = reader.read_all().column("blob")
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise StateFileError(
            f"state file '{name}' is damaged ({exc}); remove it to start that partition afresh "
            "(its history is then run again from the start)"
        ) from None
    if meta.get("format") != FORMAT:
        raise StateFileError(f"'{name}' is not a seawatch state file")
    if meta.get("version") != str(FORMAT_VERSION):
        raise StateFileError(
            f"state file '{name}' has format version {meta.get('version')}, this seawatch reads "
            f"version {FORMAT_VERSION}: run the period again from its start with this version"
        )
    try:
        return _Reader(blobs, name).tree(json.loads(meta["tree"]))
    except (KeyError, IndexError, TypeError, ValueError, pa.ArrowException) as exc:
        why = f"{type(exc).__name__}: {exc}"
        raise StateFileError(f"state file '{name}' is damaged ({why})") from None
