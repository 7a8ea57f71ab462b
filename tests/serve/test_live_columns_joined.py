"""The columnar frames, joined by Arrow from each key's value texts, are byte for byte the
frames built value by value in Python before (the reference below: the former
``Chunk._columns``), for any rows chosen; a fan-out whose clients all read the columns form
makes no per-row item texts, and the item texts made when asked are the former ones."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.labels import Policy, parse_label
from seawatch.serve.live_frames import _KEYS, Chunk
from seawatch.serve.live_render import Rendered, json_texts
from seawatch.settings import load_settings

POLICY = Policy.from_settings(load_settings(env={"SEAWATCH_NODE_NATION": "IND"}))
LABELS = {
    1: parse_label("SECRET//REL TO IND", POLICY),
    2: parse_label("CONFIDENTIAL//REL TO IND, USA", POLICY),
    3: parse_label("UNCLASSIFIED", POLICY),
}


def _marking(ids: frozenset[int]) -> str:
    return "/".join(sorted(LABELS[i].marking for i in ids))


def _reference(r: Rendered, idx: np.ndarray[Any, Any]) -> str:
    """The former ``Chunk._columns``: every value a Python text, joined key by key."""
    ids, n, m = r.label_ids[idx], r.rows.num_rows, len(idx)
    label = len(r.names) - 1
    used = sorted(set(np.unique(ids).tolist()))
    first = [int(idx[np.flatnonzero(ids == i)[0]]) for i in used]
    names = [r.values[label * n + k].as_py() for k in first]
    parts = [f', "count": {m}, "labels": [{", ".join(names)}], "columns": {{']
    grid = np.array(r.values.to_pylist(), object).reshape(len(r.names), -1)[:, idx]
    for k, values in enumerate(grid[:label]):
        parts += [", " if k else "", _KEYS[r.names[k]], ",".join(values.tolist()), "]"]
    if len(used) == 1:
        index = ",".join(["0"] * m)
    else:
        lookup = {i: str(k) for k, i in enumerate(used)}
        index = ",".join(map(lookup.__getitem__, ids.tolist()))
    parts.append((", " if label else "") + f'"label": [{index}]}}')
    head = f'{{"type": "{r.kind}", "marking": {json.dumps(_marking(frozenset(used)))}'
    return head + "".join(parts) + "}"


def _rows(n: int, seed: int, labels: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    ts = rng.integers(1_700_000_000, 1_800_000_000, n) * 10**6
    lat = rng.uniform(-60, 60, n)
    lat[rng.random(n) < 0.1] = np.nan  # null in JSON
    return pa.table(
        {
            "mmsi": pa.array(rng.integers(200_000_000, 800_000_000, n), pa.int64()),
            "ts": pa.array(ts, pa.timestamp("us", "UTC")),
            "lat": lat,
            "lon": rng.uniform(-180, 180, n),
            "station": [f'st "é{k % 5}"\\' if k % 7 else None for k in range(n)],
            "label_id": pa.array(rng.integers(1, labels + 1, n), pa.int32()),
        }
    )


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 400),
    seed=st.integers(0, 2**16),
    labels=st.integers(1, 3),
    share=st.floats(0.0, 1.0),
)
def test_columnar_frames_are_the_former_bytes(n: int, seed: int, labels: int, share: float) -> None:
    r = Rendered.of("positions", _rows(n, seed, labels), LABELS)
    rng = np.random.default_rng(seed + 1)
    picks = [np.arange(n), np.flatnonzero(rng.random(n) < share), np.array([n - 1])]
    for idx in (p for p in picks if len(p)):
        assert Chunk(r, idx).frame("columns", _marking) == _reference(r, idx)
    r.forget()  # a batch superseded: the same frames
    assert Chunk(r, picks[0]).frame("columns", _marking) == _reference(r, picks[0])


def test_columns_only_makes_no_item_texts_and_items_are_the_former_texts() -> None:
    rows = _rows(300, 7, 3)
    r = Rendered.of("positions", rows, LABELS)
    Chunk(r, np.arange(300)).frame("columns", _marking)
    assert r.given_texts is None
    assert "texts" not in r._cache  # no per-row text for a columns-only fan-out
    want = json_texts(r.rows, LABELS).to_pylist()  # the former eager texts
    assert r.texts.tolist() == want
    assert r.texts is r.texts  # made once
    items = json.loads(Chunk(r, np.arange(10)).frame("items", _marking))["items"]
    assert items == [json.loads(t) for t in want[:10]]
