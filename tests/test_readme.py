"""The README cannot drift: its quick start is exactly two commands, its examples run."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from seawatch.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of the README section ``## title`` up to the next ``## ``."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def code_blocks(text: str) -> list[list[str]]:
    """Non-empty lines of each fenced code block in ``text``."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", text, re.M | re.S)
    return [[ln.strip() for ln in b.splitlines() if ln.strip()] for b in blocks]


def test_quick_start_is_exactly_make_run_and_make_test() -> None:
    blocks = code_blocks(section("Quick start"))
    assert blocks, "the quick start has no code block"
    assert blocks[0] == ["make run", "make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^run:", makefile, re.M)
    assert re.search(r"^test:", makefile, re.M)


def test_ci_runs_the_readme_test_command() -> None:
    assert "exec make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_links_exist() -> None:
    for target in re.findall(r"\]\(([^)#:]+)\)", README):
        assert (ROOT / target).exists(), f"README links to missing {target}"


def decode_examples() -> list[list[str]]:
    return [
        shlex.split(line)
        for block in code_blocks(section("Decoding AIS"))
        for line in block
        if line.startswith("seawatch decode ")
    ]


def test_decode_example_present() -> None:
    assert decode_examples(), "the 'Decoding AIS' section shows no `seawatch decode` example"


def test_decode_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from seawatch.sim.synth import write_sample

    monkeypatch.chdir(tmp_path)
    for argv in decode_examples():
        inputs = [Path(a) for a in argv[2:] if a.endswith(".nmea")]
        for path in inputs:  # the README's sample, generated small
            write_sample(path, vessels=20, minutes=5)
        result = CliRunner().invoke(cli, argv[1:])
        assert result.exit_code == 0, result.output
        if "--summary" in argv:
            assert "messages by type" in result.stdout
        if "--out" in argv:
            out = Path(argv[argv.index("--out") + 1])
            positions = pq.read_table(out / "positions.parquet")
            assert positions.num_rows > 0


# --- the quick start's sample of `make run`'s output -------------------------------------

_ITEM = re.compile(r"^  (\d+)\. ([a-z_]+): .+ \(.+, MMSI \d{9}\)$")
_COUNT = re.compile(r"^  ([a-z_]+) +[\d,]+  [\d,]+ vessels?(  .+)?$")


def run_sample() -> list[str]:
    """The quick start's ```text block: what `make run` printed, trimmed with `  ...`."""
    blocks = re.findall(r"^```text\n(.*?)^```", section("Quick start"), re.M | re.S)
    assert blocks, "the quick start shows no output of `make run`"
    return str(blocks[0]).splitlines()


def shape(line: str) -> str:
    """A line with its numbers and runs of spaces made neutral."""
    line = re.sub(r"\d[\d,.]*", "#", line)
    line = re.sub(r"# ([a-z]+?)s\b", r"# \1", line)  # 1 incident, 2 incidents
    return re.sub(r"vessels?", "vessels", re.sub(r" +", " ", line)).strip()


def test_run_sample_has_the_shape_of_a_real_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every line of the sample is a line a real `seawatch run` prints (numbers aside), in
    the same sections and order; its counts add up; its incidents have the real form."""
    from seawatch.events.registry import event_types

    monkeypatch.chdir(tmp_path)  # `make run`'s --out and --federation, as in the sample
    args = ["run", "--out", "data/run", "--vessels", "25", "--hours", "6", "--seed", "3",
            "--federation"]  # fmt: skip
    real = CliRunner().invoke(cli, args)
    assert real.exit_code == 0, real.output
    out = real.stdout.splitlines()
    sample = run_sample()
    heads = [shape(ln) for ln in sample if ln and not ln.startswith(" ")]
    assert heads == [shape(ln) for ln in out if ln and not ln.startswith(" ")]
    shapes = {shape(ln) for ln in out}
    types = set(event_types())
    counted = items = k = 0
    while k < len(sample):
        line = sample[k]
        k += 1
        if not line.strip() or line.strip() == "...":
            continue
        if m := _COUNT.match(line):
            assert m.group(1) in types, line
            counted += int(line.split()[1].replace(",", ""))
        elif _ITEM.match(line):  # an incident: what, when, where on the next three lines
            items += 1
            what, when, where = sample[k : k + 3]
            k += 3
            assert what.startswith("     ")
            assert not what.startswith("      ")
            assert re.match(r"^     2025-06-0\d \d\d:\d\d( -> [\d: -]+)? UTC$", when), when
            assert re.match(
                r"^     [\d.]+°[NS] [\d.]+°[EW], .+ \([A-Z]{5}\), [\d,]+ km offshore$", where
            ), where
        else:
            assert shape(line) in shapes, f"the README's sample line is not a real one: {line!r}"
    total = next(ln for ln in sample if ln.startswith("Events: "))
    assert counted == int(total.split()[1].replace(",", ""))
    assert items >= 3


# --- the layout table and the detectors -------------------------------------------------


def test_layout_table_names_every_package_and_nothing_else() -> None:
    """Each package under src/seawatch has its row; each path the table names exists."""
    rows = re.findall(r"^\| (`[^|]+`) \|", section("Repository layout"), re.M)
    named: set[str] = set()
    for cell in rows:
        paths = re.findall(r"`([^`]+)`", cell)
        base = ""
        for path in paths:
            if "/" in path:
                base = path.rsplit("/", 1)[0] if not path.endswith("/") else path.rstrip("/")
                full = path
            else:  # `errors.py` after `src/seawatch/settings.py`: same folder
                full = f"{base}/{path}"
            assert (ROOT / full).exists(), f"README's layout names {full}, which is missing"
            named.add(full.rstrip("/"))
    src = ROOT / "src" / "seawatch"
    for entry in sorted(src.iterdir()):
        if entry.is_dir() and (entry / "__init__.py").exists():
            assert f"src/seawatch/{entry.name}" in named, f"README's layout misses {entry.name}/"
        elif entry.suffix == ".py" and entry.stem != "__init__":
            assert f"src/seawatch/{entry.name}" in named, f"README's layout misses {entry.name}"


def test_readme_names_every_registered_detector() -> None:
    from seawatch.events.registry import detectors

    text = section("Tracks and events")
    for d in detectors():
        assert f"`{d.name}`" in text, f"README's 'Tracks and events' does not name {d.name}"
