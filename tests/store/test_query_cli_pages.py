"""``seawatch query ... --limit N --after CURSOR``: paging on the command line.

In: a store with the sample's first lines ingested (each backend). Out: following the
``next: CURSOR`` lines on stderr page by page gives the unpaged output (stdout holds only
the data), the last page prints no cursor, and a bad cursor or ``--after`` without
``--limit`` is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_ingest import head

from seawatch.cli.main import cli

ENV = {"SEAWATCH_NODE_NATION": "IND"}
LISTINGS = [
    ["area", "--bbox", "80,5,95,22"],
    ["latest", "--bbox", "80,5,95,22"],
    ["vessels", "--name", "A", "--limit", "1000"],  # unpaged: the default limit is 100
]
PAGE = {"area": 61, "latest": 7, "vessels": 7}
"""Records a page: ~20, 39 and 12 pages (area lists ~1,200 positions: 7 a page were 174
command runs per backend, each opening the store)."""


def _pages(runner: CliRunner, base: list[str], limit: int) -> tuple[list[str], int]:
    """Every page's lines (each page's marking line once), and how many pages there were."""
    lines: list[str] = []
    after: list[str] = []
    for n in range(1, 1000):
        res = runner.invoke(cli, [*base, "--limit", str(limit), *after], env=ENV)
        assert res.exit_code == 0, res.output
        page = res.stdout.splitlines()
        assert "next:" not in res.stdout
        lines += page if n == 1 else page[1:]  # the marking line, then the records
        cursors = [x for x in res.stderr.splitlines() if x.startswith("next: ")]
        if not cursors:
            assert len(page) - 1 <= limit
            return lines, n
        assert len(page) - 1 == limit
        after = ["--after", cursors[0].removeprefix("next: ")]
    raise AssertionError("the pages did not end")


@pytest.mark.parametrize("listing", LISTINGS, ids=lambda a: a[0])
def test_paging_through_the_cli_gives_the_unpaged_output(
    listing: list[str], store_url: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["ingest", str(head(tmp_path, 1500)), "--db", store_url], env=ENV)
    assert res.exit_code == 0, res.output
    base = ["query", *listing[:1], "--reader", "USA:U", "--db", store_url]
    whole = runner.invoke(cli, [*base, *listing[1:]], env=ENV)
    assert whole.exit_code == 0, whole.output
    assert "next:" not in whole.stderr  # no --limit: no page, no cursor
    expected = whole.stdout.splitlines()
    assert len(expected) > 8
    filters = [a for a in listing[1:] if a not in ("--limit", "1000")]
    paged, pages = _pages(runner, [*base, *filters], PAGE[listing[0]])
    assert paged == expected
    assert pages >= 2


def test_bad_cursors_are_refused(store_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["ingest", str(head(tmp_path, 200)), "--db", store_url], env=ENV)
    assert res.exit_code == 0, res.output
    base = ["query", "area", "--reader", "USA:U", "--db", store_url]
    res = runner.invoke(cli, [*base, "--after", "abc"], env=ENV)
    assert res.exit_code != 0
    assert "--after CURSOR needs --limit N" in res.output
    res = runner.invoke(cli, [*base, "--limit", "5", "--after", "abc"], env=ENV)
    assert res.exit_code != 0
    assert "is not a cursor of positions" in res.output
    first = runner.invoke(cli, ["query", "latest", *base[2:], "--limit", "1"], env=ENV)
    (cursor,) = [x[6:] for x in first.stderr.splitlines() if x.startswith("next: ")]
    res = runner.invoke(cli, [*base, "--limit", "5", "--after", cursor], env=ENV)
    assert res.exit_code != 0
    assert "is not a cursor of positions" in res.output
