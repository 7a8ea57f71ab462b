"""MMSI classes and flags; the packaged MID table checked against an independent one."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.tracks.mid import (
    _RULES,
    FLAG_SCHEMA,
    _classify,
    flag_of,
    flags,
    mid_table,
    mmsi_class,
)

CASES = [
    (419000001, "ship", 419, "IND"),
    (366999999, "ship", 366, "USA"),
    (41900001, "group", 419, "IND"),  # 041900001
    (4190001, "coast_station", 419, "IND"),  # 004190001
    (111419001, "sar_aircraft", 419, "IND"),
    (994191001, "aton", 419, "IND"),
    (984191001, "auxiliary_craft", 419, "IND"),
    (841900001, "handheld", 419, "IND"),
    (970123456, "sart_mob_epirb", None, None),
    (974123456, "sart_mob_epirb", None, None),
    (971123456, "invalid", None, None),
    (199999999, "invalid", None, None),  # MID 199 is below the allocated range
    (200000000, "ship", 200, None),  # ship form, unallocated MID: no flag
    (800000000, "invalid", None, None),
    (12345, "invalid", None, None),
    (0, "invalid", None, None),
    (1_000_000_000, "invalid", None, None),
]


@pytest.mark.parametrize(("mmsi", "cls", "mid", "flag"), CASES)
def test_class_mid_and_flag(mmsi: int, cls: str, mid: int | None, flag: str | None) -> None:
    row = flags(pa.array([mmsi], pa.int64())).to_pylist()[0]
    assert (row["mmsi_class"], row["mid"], row["flag"]) == (cls, mid, flag)


def test_vectorised_helpers_and_nulls() -> None:
    arr = pa.array([419000001, None, 563000001, 477000001, 416000000], pa.int32())
    assert flag_of(arr).to_pylist() == ["IND", None, "SGP", "HKG", "TWN"]
    assert mmsi_class(arr).to_pylist() == ["ship", None, "ship", "ship", "ship"]
    assert flags(pa.chunked_array([arr])).schema == FLAG_SCHEMA


def test_table_is_well_formed() -> None:
    table = mid_table()
    assert len(table) >= 280
    for mid, e in table.items():
        assert 201 <= mid <= 775
        assert len(e.iso2) == 2 and e.iso2.isupper()  # noqa: PT018
        assert len(e.iso3) == 3 and e.iso3.isupper()  # noqa: PT018
        assert e.name


REFERENCE = (
    Path(__file__).resolve().parents[2].parent
    / "shared/data/geo/mid_itu_maritime_identification_digits/mid_to_flag_merged.csv"
)


# Where we deliberately differ from the reference, and why.
KNOWN_DIFFERENCES = {
    311: "Bahamas: the reference pairs BS with BMU (Bermuda's alpha-3); BS/BHS is right",
    334: "Honduras: ITU allocates 334; the reference has it only from aisdecoder",
    335: "the reference gives Honduras a second MID 335, absent from the ITU table",
    501: "Adelie Land: ISO 3166 has TF/ATF for the French Southern Territories",
    550: "Timor-Leste: allocated by the ITU, missing from the reference",
    607: "Saint Paul and Amsterdam Islands: TF/ATF (see 501)",
    608: "Ascension Island: ISO 3166 SH/SHN covers it",
    618: "Crozet Archipelago: TF/ATF (see 501)",
    635: "Kerguelen Islands: TF/ATF (see 501)",
}


def test_agreement_with_the_independent_mid_table() -> None:
    """Compare with the merged michaeljfazio/MIDs + aisdecoder table in ../shared."""
    if not REFERENCE.is_file():
        pytest.skip("../shared/data not present")
    with REFERENCE.open(encoding="utf-8") as f:
        ref = {int(r["mid"]): (r["iso2"], r["iso3"]) for r in csv.DictReader(f)}
    ours = {m: (e.iso2, e.iso3) for m, e in mid_table().items()}
    only_ours = sorted(set(ours) - set(ref))
    only_ref = sorted(set(ref) - set(ours))
    differ = sorted(m for m in set(ours) & set(ref) if ours[m] != ref[m])
    same = len(set(ours) & set(ref)) - len(differ)
    print(
        f"MID table: ours {len(ours)}, reference {len(ref)}, same ISO codes {same}; "
        f"only ours {only_ours}; only reference {only_ref}; "
        f"differ {[(m, ours[m], ref[m]) for m in differ]}"
    )
    assert same / len(ref) >= 0.97
    assert set(differ) <= set(KNOWN_DIFFERENCES)
    assert set(only_ours) | set(only_ref) <= set(KNOWN_DIFFERENCES)


def _classify_numpy(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rules as numpy masks (the reference the compiled pass must equal)."""
    cls = np.zeros(v.shape[0], np.int8)
    mid = np.full(v.shape[0], -1, np.int64)
    for k, lo, hi, div in _RULES.tolist():
        sel = (v >= lo) & (v <= hi)
        cls[sel] = k
        mid[sel] = v[sel] // div % 1000
    prefix = v // 1_000_000
    cls[(prefix == 970) | (prefix == 972) | (prefix == 974)] = 8
    return cls, mid


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(-2, 1_100_000_000),
            st.sampled_from([-1, 0, 1_999_999, 2_000_000, 111_200_000, 799_999_999, 970_123_456]),
        ),
        max_size=40,
    )
)
def test_compiled_classes_equal_the_rules(values: list[int]) -> None:
    v = np.array(values, dtype=np.int64)
    got, want = _classify(v), _classify_numpy(v)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        assert g.tolist() == w.tolist()
