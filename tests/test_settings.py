"""Settings: precedence, parsing, validation messages, secrets, and the generated docs."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import platformdirs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seawatch.errors import ConfigError, SeawatchError
from seawatch.events.registry import resolve_params
from seawatch.settings import SETTINGS, Secret, Settings, load_settings, resolve_settings
from seawatch.settings import settings_markdown as render_markdown

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    s = load_settings(env={})
    assert s == Settings()
    assert s.data_dir == Path(platformdirs.user_data_dir("seawatch"))
    assert s.log_level == "INFO"
    assert s.decode_chunk_bytes == 4 * 1024 * 1024
    assert s.decode_max_line_bytes == 4096
    assert s.decode_max_pending_fragments == 1024
    assert s.decode_orphan_timeout_s == 60.0
    assert s.decode_keep_raw is False
    assert s.progress is True
    assert s.db == Secret("")
    assert s.node_id == "local"


def test_frozen() -> None:
    s = load_settings(env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.node_id = "other"  # type: ignore[misc]


def test_precedence_option_env_file_default(tmp_path: Path) -> None:
    toml = write(
        tmp_path / "s.toml", 'node_id = "from-file"\nlog_level = "WARNING"\nprogress = false\n'
    )
    env = {"SEAWATCH_NODE_ID": "from-env", "SEAWATCH_DECODE_KEEP_RAW": "yes"}
    s, src = resolve_settings(toml, env, overrides={"log_level": "debug", "progress": None})
    assert s.node_id == "from-env"  # env beats file
    assert s.log_level == "DEBUG"  # option beats file
    assert s.progress is False  # file beats default; a None override is "not given"
    assert s.decode_keep_raw is True
    assert s.decode_chunk_bytes == SETTINGS["decode_chunk_bytes"].default
    assert src["node_id"] == "env SEAWATCH_NODE_ID"
    assert src["log_level"] == "option"
    assert src["progress"] == f"file {toml}"
    assert src["db"] == "default"


def test_settings_file_from_env_and_nested_tables(tmp_path: Path) -> None:
    toml = write(tmp_path / "node.toml", "[decode]\nchunk_bytes = '4 MiB'\nkeep_raw = true\n")
    s = load_settings(env={"SEAWATCH_SETTINGS_FILE": str(toml)})
    assert s.decode_chunk_bytes == 4 * 1024 * 1024
    assert s.decode_keep_raw is True


def test_default_settings_file_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(env={}).node_id == "local"
    write(tmp_path / "seawatch.toml", 'node_id = "ifc-ior"\n')
    assert load_settings(env={}).node_id == "ifc-ior"


def test_data_dir_does_not_depend_on_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    here = load_settings(env={}).data_dir
    monkeypatch.chdir(tmp_path.parent)
    assert load_settings(env={}).data_dir == here
    assert here.is_absolute()
    assert here == Path(platformdirs.user_data_dir("seawatch"))
    assert load_settings(env={"SEAWATCH_DATA_DIR": "d"}).data_dir == Path("d")


def test_per_user_settings_file_read_when_no_other_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    user = Path(platformdirs.user_config_dir("seawatch")) / "seawatch.toml"
    user.parent.mkdir(parents=True)
    write(user, '[node]\nnation = "IND"\nid = "ifc-ior"\n')
    s, src = resolve_settings(env={})
    assert (s.node_nation, s.node_id) == ("IND", "ifc-ior")
    assert src["node_nation"] == f"file {user}"
    # a file given, or ./seawatch.toml, is read instead (one file, the first found)
    write(tmp_path / "seawatch.toml", 'node_id = "here"\n')
    assert load_settings(env={}).node_nation == "XXX"
    other = write(tmp_path / "other.toml", 'node_nation = "USA"\n')
    assert load_settings(env={"SEAWATCH_SETTINGS_FILE": str(other)}).node_nation == "USA"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SEAWATCH_SETTINGS_FILE": "/nonexistent/s.toml"}, "SEAWATCH_SETTINGS_FILE"),
        (
            {"SEAWATCH_DECODE_MAX_LINE_BYTES": "lots"},
            "SEAWATCH_DECODE_MAX_LINE_BYTES: bad value 'lots'",
        ),
        ({"SEAWATCH_DECODE_MAX_LINE_BYTES": "10"}, "must be at least 82"),
        ({"SEAWATCH_PROGRESS": "maybe"}, "not a boolean"),
        ({"SEAWATCH_LOG_LEVEL": "loud"}, "must be one of DEBUG, INFO"),
        ({"SEAWATCH_DECODE_ORPHAN_TIMEOUT_S": "-1"}, "must be at least 0"),
        ({"SEAWATCH_NODE_ID": "two words"}, "SEAWATCH_NODE_ID"),
        ({"SEAWATCH_DATA_DIR": " "}, "empty path"),
    ],
)
def test_bad_env_values_name_variable_and_value(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as info:
        load_settings(env=env)
    assert isinstance(info.value, SeawatchError)
    assert info.value.http_status == 400


def test_bad_file_values(tmp_path: Path) -> None:
    toml = write(tmp_path / "s.toml", "decode_chunk_bytes = true\n")
    with pytest.raises(ConfigError, match=r"settings file '.*s\.toml': bad value True"):
        load_settings(toml, env={})
    write(toml, "node_idd = 'x'\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'node_idd' \(did you mean 'node_id'"):
        load_settings(toml, env={})
    write(toml, "node_id = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(toml, env={})
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "missing.toml", env={})


def test_value_forms() -> None:
    env = {
        "SEAWATCH_LOG_LEVEL": "warning",
        "SEAWATCH_DECODE_CHUNK_BYTES": "2MiB",
        "SEAWATCH_DECODE_MAX_LINE_BYTES": "8_192",
        "SEAWATCH_DECODE_ORPHAN_TIMEOUT_S": "2.5",
        "SEAWATCH_PROGRESS": "Off",
        "SEAWATCH_DATA_DIR": "~/sw",
    }
    s = load_settings(env=env)
    assert s.log_level == "WARNING"
    assert s.decode_chunk_bytes == 2 * 1024 * 1024
    assert s.decode_max_line_bytes == 8192
    assert s.decode_orphan_timeout_s == 2.5
    assert s.progress is False
    assert s.data_dir == Path("~/sw").expanduser()


def test_unknown_env_variable_is_warned_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="seawatch"):
        load_settings(env={"SEAWATCH_NODEID": "x"})
    assert "SEAWATCH_NODEID" in caplog.text


def test_secret_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    dsn = "postgresql://seawatch:hunter2@db.example/sw"
    with caplog.at_level(logging.DEBUG):
        s = load_settings(env={"SEAWATCH_DB": dsn})
        logging.getLogger("seawatch.test").info("settings %s / %r", s, s.db)
    assert s.db.reveal() == dsn
    for text in (repr(s), str(s), str(s.db), repr(s.db), f"{s.db}"):
        assert "hunter2" not in text
    assert "********" in repr(s)
    assert "hunter2" not in caplog.text
    assert SETTINGS["db"].secret


@given(st.integers(min_value=1, max_value=2**40))
def test_int_settings_round_trip(n: int) -> None:
    s = load_settings(env={"SEAWATCH_DECODE_MAX_PENDING_FRAGMENTS": str(n)})
    assert s.decode_max_pending_fragments == n


def test_registry_matches_dataclass() -> None:
    names = [f.name for f in dataclasses.fields(Settings)]
    assert [*SETTINGS, "detectors"] == names  # detectors: declared on the detectors' classes
    for spec in SETTINGS.values():
        assert isinstance(spec.default, spec.type), spec.name
        assert spec.env_var == "SEAWATCH_" + spec.name.upper()
        assert (
            spec.parse(spec.display(spec.default).strip('"'), "test") == spec.default or spec.secret
        )


def test_every_setting_has_help() -> None:
    for spec in SETTINGS.values():
        assert spec.help.strip(), f"setting {spec.name!r} has no help line"
        assert spec.help.strip().endswith("."), f"help of {spec.name!r} should be a sentence"


def test_docs_match_registry() -> None:
    doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert doc == render_markdown(), (
        "docs/settings.md is out of date: run `seawatch settings --markdown > docs/settings.md`"
    )
    for spec in SETTINGS.values():
        assert f"`{spec.env_var}`" in doc


def test_detector_parameters_from_file_and_environment(tmp_path: Path) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text("[detectors.loitering]\nmin_distance_to_shore_km = 0\nmax_speed_kn = 3\n")
    env = {"SEAWATCH_DETECTORS__LOITERING__MAX_SPEED_KN": "1.5"}
    s, sources = resolve_settings(toml, env=env)
    params = resolve_params(s)
    assert params["loitering"].min_distance_to_shore_km == 0.0
    assert params["loitering"].max_speed_kn == 1.5  # environment > file
    assert sources["detectors.loitering.min_distance_to_shore_km"] == f"file {toml}"
    assert sources["detectors.loitering.max_speed_kn"] == (
        "env SEAWATCH_DETECTORS__LOITERING__MAX_SPEED_KN"
    )
    assert set(s.detectors) == {"loitering"}  # the others run with their defaults
    assert "detectors" not in SETTINGS


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("[detectors.nope]\nx = 1\n", {}, r"unknown detector 'nope' \(detectors: gap, "),
        ("[detectors.gap]\nx = 1\n", {}, r"no parameter 'x' \(parameters: min_gap_s, "),
        ('[detectors.gap]\nmin_gap_s = "long"\n', {}, r"s.toml'.*'long'.*not a number"),
        ("[detectors]\ngap = 1\n", {}, r"one table per detector"),
        ("", {"SEAWATCH_DETECTORS__GAP__MIN_GAP_S": "-5"}, r"GAP__MIN_GAP_S: .*at least 0"),
        ("", {"SEAWATCH_DETECTORS__NOPE__X": "1"}, r"unknown detector 'nope'"),
        ("", {"SEAWATCH_DETECTORS__GAP": "1"}, r"expected SEAWATCH_DETECTORS__<DETECTOR>__"),
    ],
)
def test_bad_detector_parameters_are_config_errors(
    tmp_path: Path, toml: str, env: dict[str, str], message: str
) -> None:
    path = tmp_path / "s.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message):  # on loading, or checked against the registry
        resolve_params(resolve_settings(path, env=env)[0])


def test_db_writers_default_is_the_cores_at_most_four() -> None:
    from seawatch.settings import default_db_writers

    assert [default_db_writers(c) for c in (None, 1, 2, 3, 4, 64)] == [1, 1, 2, 3, 4, 4]
    assert load_settings(env={"SEAWATCH_DB_WRITERS": "3"}).db_writers == 3
    with pytest.raises(ConfigError, match="SEAWATCH_DB_WRITERS"):
        load_settings(env={"SEAWATCH_DB_WRITERS": "0"})
