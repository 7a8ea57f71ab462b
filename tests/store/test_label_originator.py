"""Issue 12 end to end: the originator's exemption covers releasability only.

A feed ingested as ``SECRET//REL TO USA`` with originator USA reaches a ``USA:SECRET``
reader and not a ``USA:CONFIDENTIAL`` one, through ``seawatch ingest`` and ``seawatch
query latest`` on a real store (each backend).
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from seawatch.cli.main import cli


def test_own_nation_reader_below_the_classification_gets_nothing(
    store_url: str, tmp_path: Path
) -> None:
    from seawatch.sim.synth import write_sample

    feed = tmp_path / "small.nmea"
    write_sample(feed, vessels=5, minutes=5, seed=3)
    runner = CliRunner()
    env = {"SEAWATCH_NODE_NATION": "USA"}
    label = ["--label", "SECRET//REL TO USA", "--originator", "USA"]
    res = runner.invoke(cli, ["ingest", str(feed), "--db", store_url, *label], env=env)
    assert res.exit_code == 0, res.output

    def latest(reader: str) -> list[dict[str, object]]:
        args = ["query", "latest", "--db", store_url, "--reader", reader, "--format", "jsonl"]
        out = runner.invoke(cli, args, env=env)
        assert out.exit_code == 0, out.output
        rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
        return [row for row in rows if "seawatch" not in row]  # not the header line

    assert latest("USA:CONFIDENTIAL") == []
    assert latest("USA:CONFIDENTIAL:ORCON,PROPIN,LIMDIS") == []
    assert len(latest("USA:SECRET")) == 5
    assert latest("IND:TOP SECRET") == []  # not releasable to IND
