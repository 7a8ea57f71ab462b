"""The inputs' fingerprints, hashed a few at a time: each file's own SHA-256 in the inputs'
order, an unreadable input told at its place, and an ingest with one among others the
same as without it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from seawatch.decode.lacking import Untimed
from seawatch.engine.fingerprints import fingerprints
from seawatch.engine.ingest import fingerprint, ingest
from seawatch.errors import InputError
from seawatch.settings import Settings
from seawatch.store import open_store
from store.test_ingest import contents, head


def test_each_input_its_own_digest_in_order_and_an_unreadable_one_at_its_place(
    tmp_path: Path,
) -> None:
    # sizes that make the threads end out of order: the first the largest
    sizes = [3 << 20, 1, 0, 70_000, 5 << 20, 12, 1 << 20, 333]
    files = []
    for k, n in enumerate(sizes):
        f = tmp_path / f"in{k}.nmea"
        f.write_bytes(bytes((k * 7 + j) % 251 for j in range(min(n, 4096))) * (n // 4096 + 1))
        files.append(str(f))
    missing, folder = str(tmp_path / "missing.nmea"), str(tmp_path)
    names = [*files[:3], missing, *files[3:6], folder, *files[6:]]
    got = fingerprints(names, None)
    assert len(got) == len(names)
    for name, digest in zip(names, got, strict=True):
        if name in (missing, folder):
            assert isinstance(digest, InputError)
            assert name in str(digest)
        else:
            assert digest == hashlib.sha256(Path(name).read_bytes()).hexdigest()
    assert len(set(got[:3] + got[4:7] + got[8:])) == len(files)
    untimed = Untimed(start_us=1_700_000_000_000_000)
    assert fingerprints(files, untimed) == [fingerprint(Path(f), untimed) for f in files]
    one = hashlib.sha256(Path(files[0]).read_bytes()).hexdigest()
    assert fingerprints(files[:1], None) == [one]
    assert fingerprints([], None) == []


def test_an_unreadable_input_among_others_is_told_and_the_rest_stored(tmp_path: Path) -> None:
    a, b = head(tmp_path, 400, name="a.nmea"), head(tmp_path, 900, station="other", name="b.nmea")
    missing = tmp_path / "missing.nmea"
    with open_store(str(tmp_path / "with.duckdb"), Settings()) as store:
        report = ingest(store, [a, missing, b], Settings())
        with_missing = contents(store)
        logged = sorted(r[0] for r in store.backend.con.execute(
            "SELECT DISTINCT fingerprint FROM ingest_log").fetchall())  # fmt: skip
    assert report.inputs == 2
    assert report.engine.findings.failed == {str(missing)}
    assert str(missing) in report.engine.findings.errors[0]
    assert logged == sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in (a, b))
    with open_store(str(tmp_path / "without.duckdb"), Settings()) as store:
        ingest(store, [a, b], Settings())
        assert contents(store) == with_missing
