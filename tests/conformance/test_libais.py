"""seawatch against libais' expected JSON for its test files (../shared/data/ais/libais).

libais decodes one message of each type 1-27 (typeexamples) and tag-blocked sentences
(tagblock); each of its records must pair with a seawatch message, and every field both
produce must agree, disagreements with a documented cause (``libais.KNOWN``) aside.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import agreement, data, libais, report
from .ours import decode_file

FOLDER = data.SHARED_AIS / "libais"

pytestmark = pytest.mark.skipif(not FOLDER.is_dir(), reason="../shared/data not present")


@pytest.fixture(scope="module")
def results() -> dict[str, agreement.FileResult]:
    out = {}
    for nmea, expected in libais.EXPECTED.items():
        label = data.label(FOLDER / nmea)
        out[label] = agreement.compare(
            agreement.FileResult(label, "libais"),
            decode_file(data.read_bytes(FOLDER / nmea)),
            libais.load(FOLDER / expected),
            our_key=libais.our_key,
            their_key=libais.their_key,
            pairs_for=libais.pairs_for,
            known=libais.KNOWN,
        )
    return out


@pytest.mark.parametrize("nmea", sorted(libais.EXPECTED))
def test_fields_agree_with_libais(results: dict[str, agreement.FileResult], nmea: str) -> None:
    r = results[f"libais/{nmea}"]
    assert r.matched == r.theirs_records, f"libais only: {r.unmatched_theirs}"
    failures = r.failures()
    assert not failures, "\n".join(failures)


def test_every_message_type_compared(results: dict[str, agreement.FileResult]) -> None:
    """typeexamples holds each type 1-27 but 19: none may go uncompared."""
    types = {mt for mt, _ in results["libais/typeexamples.nmea"].fields}
    assert types == set(range(1, 28)) - {19}


def test_agreement_table(results: dict[str, agreement.FileResult], tmp_path: Path) -> None:
    section = report.render(
        "libais",
        results.values(),
        "libais' expected decodes (`typeexamples.json`, `tagblock.json`, scaled values, "
        "float32), shipped with its test data.",
    )
    out = report.write("libais", section, tmp_path, agreement.THRESHOLD, agreement.MIN_COMPARED)
    print(out.read_text())
    assert all(f"| {label} |" in section for label in results)
