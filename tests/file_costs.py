"""The suite's test files, most expensive first: how pytest-xdist gets them.

``make test`` runs the suite on three workers that take a whole file at a time
(``--dist loadfile``). pytest-xdist hands the files out in collection order when told
``--no-loadscope-reorder``; its own default order is by number of tests, which leaves the
few-test, slow files (a served node with a live feed, a Dask cluster, a browser) to the end,
where one worker runs them while the others wait. Handing out the most expensive files first
(longest processing time first) leaves only short files to balance the end.

``file_costs.json`` holds each file's seconds (setup, call and teardown of its tests) from a
run's JUnit XML (with ``make test``'s worker count: a file's seconds include its waits for
the cores the other workers share); a file it does not name counts as the median. Refresh
it after a change of the suite's shape::

    PYTEST_ADDOPTS=--junitxml=/tmp/junit.xml make test
    .venv/bin/python tests/file_costs.py /tmp/junit.xml

The order only changes when files run, never whether they pass.
"""

from __future__ import annotations

import json
import statistics
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

COSTS = Path(__file__).with_name("file_costs.json")


def load() -> dict[str, float]:
    """Seconds by test file (``tests/...py``); empty if the file is missing."""
    try:
        return {str(k): float(v) for k, v in json.loads(COSTS.read_text("utf-8")).items()}
    except FileNotFoundError:
        return {}


def order(items: list[pytest.Item], costs: dict[str, float]) -> None:
    """Sort ``items`` in place: their files by cost, descending; within a file as collected."""
    default = statistics.median(costs.values()) if costs else 0.0
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        first.setdefault(item.nodeid.split("::", 1)[0], i)

    def key(item: pytest.Item) -> tuple[float, int]:
        path = item.nodeid.split("::", 1)[0]
        return (-costs.get(path, default), first[path])

    items.sort(key=key)


def from_junit(path: Path) -> dict[str, float]:
    """Seconds by test file from a JUnit XML report (its ``classname`` is a dotted path)."""
    seconds: Counter[str] = Counter()
    for case in ET.parse(path).getroot().iter("testcase"):
        parts = case.get("classname", "").split(".")
        for n, part in enumerate(parts):
            if part.startswith("test_"):
                seconds["/".join(parts[: n + 1]) + ".py"] += float(case.get("time", 0))
                break
    return dict(seconds)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/file_costs.py JUNIT.xml", file=sys.stderr)
        return 2
    seconds = from_junit(Path(argv[0]))
    ranked = dict(sorted(((k, round(v, 1)) for k, v in seconds.items()), key=lambda kv: -kv[1]))
    COSTS.write_text(json.dumps(ranked, indent=1) + "\n", encoding="utf-8")
    print(f"{COSTS.name}: {len(ranked)} files, {sum(ranked.values()):.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
