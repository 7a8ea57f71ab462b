"""``--param``, ``[detectors.*]`` settings and ``SEAWATCH_DETECTORS__*`` change what
``seawatch detect`` finds, with the same result each way; bad ones are usage errors."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from seawatch.cli.main import cli

SUEZ = (
    Path(__file__).resolve().parents[1].parent
    / "shared/data/ais/movingpandas_evergiven/boat-positions.csv"
)
NO_SHORE = "loitering.min_distance_to_shore_km=0"


def _detect(*args: str, env: dict[str, str] | None = None) -> Result:
    """``seawatch ARGS`` on the Suez data (skipped when ../shared is absent)."""
    if not SUEZ.is_file():
        pytest.skip("../shared/data/ais/movingpandas_evergiven not present")
    return CliRunner().invoke(cli, list(args), env=env)


def _loitering(out: Path) -> list[str]:
    events = pq.read_table(out / "events.parquet")
    return sorted(
        events.filter(pc.equal(events["event_type"], "loitering"))["event_id"].to_pylist()
    )


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("default")
    res = _detect("detect", str(SUEZ), "--out", str(out))
    assert res.exit_code == 0, res.output
    return _loitering(out)


@pytest.fixture(scope="module")
def param_run(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("param")
    res = _detect("detect", str(SUEZ), "--out", str(out), "--param", NO_SHORE)
    assert res.exit_code == 0, res.output
    return _loitering(out)


def test_param_changes_the_loitering_events(default_run: list[str], param_run: list[str]) -> None:
    # the Suez anchorages and the canal are near shore: the default 20 nm filter keeps few
    assert len(param_run) != len(default_run)
    assert len(param_run) > len(default_run)


def test_settings_file_gives_the_same_as_param(tmp_path: Path, param_run: list[str]) -> None:
    toml = tmp_path / "seawatch.toml"
    toml.write_text("[detectors.loitering]\nmin_distance_to_shore_km = 0\n")
    out = tmp_path / "out"
    res = _detect("--settings", str(toml), "detect", str(SUEZ), "--out", str(out))
    assert res.exit_code == 0, res.output
    assert _loitering(out) == param_run


def test_environment_gives_the_same_as_param(tmp_path: Path, param_run: list[str]) -> None:
    env = {"SEAWATCH_DETECTORS__LOITERING__MIN_DISTANCE_TO_SHORE_KM": "0"}
    out = tmp_path / "out"
    res = _detect("detect", str(SUEZ), "--out", str(out), env=env)
    assert res.exit_code == 0, res.output
    assert _loitering(out) == param_run


def test_param_wins_over_environment_and_file(tmp_path: Path, param_run: list[str]) -> None:
    toml = tmp_path / "seawatch.toml"
    toml.write_text("[detectors.loitering]\nmin_distance_to_shore_km = 500\n")
    env = {"SEAWATCH_DETECTORS__LOITERING__MIN_DISTANCE_TO_SHORE_KM": "300"}
    out = tmp_path / "out"
    args = ["--settings", str(toml), "detect", str(SUEZ), "--out", str(out), "--param", NO_SHORE]
    res = _detect(*args, env=env)
    assert res.exit_code == 0, res.output
    assert _loitering(out) == param_run


@pytest.mark.parametrize("command", ["detect", "ingest", "run"])
@pytest.mark.parametrize(
    ("param", "valid"),
    [
        ("nope.x=1", "detectors: gap, suspected_disabling, loitering"),
        ("loitering.nope=1", "parameters: max_speed_kn, min_duration_s, min_distance_to_shore_km"),
        ("loitering.max_speed_kn=fast", "not a number (expected float"),
        ("loitering.max_speed_kn=-2", "must be at least 0"),
    ],
)
def test_bad_params_are_usage_errors(tmp_path: Path, command: str, param: str, valid: str) -> None:
    nmea = tmp_path / "in.nmea"
    nmea.write_text("")
    args = [command, str(nmea), "--param", param]
    if command == "detect":
        args += ["--out", str(tmp_path / "out")]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert valid in res.output


def test_settings_shows_detector_parameters_and_their_sources(tmp_path: Path) -> None:
    toml = tmp_path / "seawatch.toml"
    toml.write_text("[detectors.loitering]\nmin_distance_to_shore_km = 0\n")
    env = {"SEAWATCH_DETECTORS__GAP__MIN_GAP_S": "3600"}
    res = CliRunner().invoke(cli, ["--settings", str(toml), "settings"], env=env)
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert "[detectors.loitering]" in lines
    assert any(
        ln.startswith("min_distance_to_shore_km = 0.0") and ln.endswith(f"# file {toml}")
        for ln in lines
    )
    assert any(
        ln.startswith("min_gap_s = 3600.0")
        and ln.endswith("# env SEAWATCH_DETECTORS__GAP__MIN_GAP_S")
        for ln in lines
    )
    assert any(ln.startswith("max_speed_kn = 2.0") and ln.endswith("# default") for ln in lines)


def test_bad_detector_settings_are_reported(tmp_path: Path) -> None:
    toml = tmp_path / "seawatch.toml"
    toml.write_text("[detectors.loitering]\nnope = 0\n")
    res = CliRunner().invoke(cli, ["--settings", str(toml), "settings"])
    assert res.exit_code == 1
    assert "no parameter 'nope'" in res.output
    assert "min_distance_to_shore_km" in res.output
