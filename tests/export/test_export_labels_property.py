"""Property (issue 4): an export for reader R holds every record R may read and no record
whose label denies R, in every format, whoever built the table handed to it.

The table given to :func:`seawatch.export.export` is deliberately unfiltered (records of
every label, unknown and null label ids too); the files written are read back and their
records compared with an independent statement of the access rule.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesis.strategies as st
import pytest
from exportprops import (
    BASE_MMSI,
    LEVELS,
    POLICY,
    allowed,
    banner,
    labels,
    readers,
    table_of,
    written,
)
from hypothesis import HealthCheck, given, settings

from seawatch.export import FORMATS, export
from seawatch.labels import Label, Reader


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    label_list=st.lists(labels(), min_size=1, max_size=6),
    picks=st.lists(st.integers(-1, 7), max_size=16),
    reader=readers(),
)
def test_export_never_holds_a_denied_record(
    fmt: str, label_list: list[Label], picks: list[int], reader: Reader
) -> None:
    by_id = dict(enumerate(label_list))
    ids: list[int | None] = [None if p < 0 else p for p in picks]  # 6, 7: unknown ids
    table = table_of(ids)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"out.{fmt}"
        result = export(
            table,
            by_id,
            out,
            fmt=fmt,
            kind="latest",
            reader=reader,
            policy=POLICY,  # type: ignore[arg-type]
        )
        found = written(fmt, out)
        marked = banner(fmt, out)
    expect = {
        BASE_MMSI + i: by_id[j].marking
        for i, j in enumerate(ids)
        if j is not None and j in by_id and allowed(reader, by_id[j])
    }
    assert found == expect
    assert result.rows == len(expect)
    assert marked in (None, result.marking)  # the file states the banner, where it can
    levels = [
        LEVELS.index(by_id[j].classification)
        for j in ids
        if j in by_id and BASE_MMSI + ids.index(j) in expect
    ]
    top = LEVELS[max(levels)] if expect else LEVELS[0]
    assert result.marking.split("//")[0] == top
