"""`seawatch run --federation` (what `make run` does): IND ingests the coast stations, USA
the satellite passes, each releases to the others by sealed courier bundles under its rules,
JPN holds only what is REL TO JPN; the summary's table is what the nodes' stores hold, and
every node's log verifies with its own command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from seawatch.cli.main import cli

pytestmark = pytest.mark.slow
ROW = re.compile(r"^  ([A-Z]{3})   +([A-Z]{3}) +(\S.*?) +([\d,]+)$", re.M)


def test_run_federation(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["run", "--vessels", "20", "--hours", "4", "--seed", "2", "--out", str(out)]
    res = CliRunner().invoke(cli, [*args, "--federation", "--no-serve"])
    assert res.exit_code == 0, res.output
    text = res.stdout
    section = text[text.index("Federation: ") :]
    rows = [(n, o, m, int(c.replace(",", ""))) for n, o, m, c in ROW.findall(section)]
    held = {(n, o, m): c for n, o, m, c in rows}
    assert {n for n, _, _, _ in rows} == {"IND", "USA", "JPN"}
    assert {o for _, o, _, _ in rows} == {"IND", "USA"}  # JPN originates nothing
    for (node, origin, marking), n in held.items():
        assert n > 0
        assert node in marking or marking == "UNCLASSIFIED", (node, marking)  # releasable
        assert held[origin, origin, marking] == n  # the originator's count, nothing lost
    jpn = {m for n, _, m, _ in rows if n == "JPN"}
    assert jpn
    assert all("JPN" in m for m in jpn)
    # what each released to JPN is what JPN holds of it; IND and USA hold all of each other
    for origin in ("IND", "USA"):
        theirs = {m: c for (n, o, m), c in held.items() if n == origin and o == origin}
        assert {m: c for (n, o, m), c in held.items() if n != origin and o == origin and
                n != "JPN"} == theirs  # fmt: skip
    assert "checkpoints verified (signature and root): IND " in section
    assert "Traceback" not in res.output
    for nation, name in (("IND", "ifc-ior"), ("USA", "usa-c2"), ("JPN", "jpn-mof")):
        env = {"SEAWATCH_DATA_DIR": str(out / "federation" / name),
               "SEAWATCH_NODE_NATION": nation, "SEAWATCH_NODE_ID": name}  # fmt: skip
        res = CliRunner().invoke(cli, ["audit", "verify"], env=env)
        assert res.exit_code == 0, res.output
        assert "verified" in res.output
    # the run's own output before the section is unchanged: the summary, then the store
    assert text.index("Store: ") < text.index("Federation: ")
