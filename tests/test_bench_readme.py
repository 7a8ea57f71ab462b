"""Every benchmark script is named in bench/README.md, so nobody has to find it by listing
the folder (helpers are not: ``bench/peers/`` and the ``serve_*``/``share_*`` parts that
bench/serve.py and bench/share.py run are named there by their driver)."""

from __future__ import annotations

from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
PARTS = ("serve_", "share_")


def test_every_benchmark_is_in_the_readme() -> None:
    readme = (BENCH / "README.md").read_text(encoding="utf-8")
    scripts = [p.name for p in sorted(BENCH.glob("*.py")) if not p.name.startswith(PARTS)]
    missing = [s for s in scripts if f"bench/{s}" not in readme]
    assert missing == [], f"add these to bench/README.md: {missing}"
