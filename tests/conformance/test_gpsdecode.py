"""seawatch against gpsd's ``gpsdecode`` on every real NMEA file in ../shared/data/ais.

Every field both decoders produce must agree on 99.9 % of its values in each file (all of
them below 20 values), disagreements with a documented cause (``gpsd.KNOWN``) aside, and
seawatch must decode the messages gpsd decodes. The agreement table is written to the
test's tmp dir and printed; ``SEAWATCH_UPDATE_DOCS=1`` rewrites docs/conformance.md.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from . import agreement, data, gpsd, report
from .ours import decode_file

FILES = {data.label(f): f for f in data.nmea_files()}
LABELS = sorted(FILES) or [
    pytest.param("", marks=pytest.mark.skip(reason="../shared/data not present"))
]

pytestmark = [
    pytest.mark.skipif(not FILES, reason="../shared/data not present"),
    pytest.mark.skipif(
        gpsd.GPSDECODE is None,
        reason="gpsdecode not on PATH (Debian package gpsd-clients; `make deps` installs it)",
    ),
]


@pytest.fixture(scope="module")
def results() -> dict[str, agreement.FileResult]:
    """Each file decoded by seawatch and by gpsdecode (two at a time beside), compared."""
    out = {}
    with ThreadPoolExecutor(2) as pool:
        contents = {label: data.read_bytes(path) for label, path in FILES.items()}
        theirs = {label: pool.submit(gpsd.run, b) for label, b in contents.items()}
        for label, content in contents.items():
            out[label] = agreement.compare(
                agreement.FileResult(label, "gpsd"),
                decode_file(content),
                theirs[label].result(),
                our_key=gpsd.our_key,
                their_key=gpsd.their_key,
                pairs_for=gpsd.pairs_for,
                known=gpsd.KNOWN,
            )
    return out


@pytest.mark.parametrize("label", LABELS)
def test_fields_agree_with_gpsdecode(results: dict[str, agreement.FileResult], label: str) -> None:
    failures = results[label].failures()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("label", LABELS)
def test_messages_gpsdecode_decodes_are_decoded(
    results: dict[str, agreement.FileResult], label: str
) -> None:
    """gpsd's few extra messages are documented (decoding.md#messages-only-one-side-decodes)."""
    r = results[label]
    paired = r.matched / r.theirs_records if r.theirs_records else 1.0
    need = agreement.THRESHOLD if r.theirs_records >= agreement.MIN_COMPARED else 1.0
    assert paired >= need, (
        f"{label}: only {r.matched} of gpsd's {r.theirs_records} messages "
        f"paired; gpsd only: {r.unmatched_theirs[:10]}"
    )


def test_agreement_table(results: dict[str, agreement.FileResult], tmp_path: Path) -> None:
    done = subprocess.run([str(gpsd.GPSDECODE), "-V"], capture_output=True, text=True, check=False)
    version = (done.stdout + done.stderr).strip()  # "gpsdecode revision 3.22", on stderr
    section = report.render(
        "gpsd",
        results.values(),
        f"`gpsdecode {' '.join(gpsd.ARGS)}` ({version}). *Their records*: AIS records "
        "gpsdecode wrote; *paired*: aligned with a seawatch message of the same type, MMSI "
        "(and type 24 part).",
    )
    out = report.write("gpsdecode", section, tmp_path, agreement.THRESHOLD, agreement.MIN_COMPARED)
    print(out.read_text())
    assert all(f"| {label} |" in section for label in FILES)
