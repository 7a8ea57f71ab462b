"""The detector registry: adding a detector is one module plus one entry, and every list of
detectors (pipeline, situation ranking, parameters) reads the registry."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import toy_detector
from seawatch.decode.schemas import SCHEMAS
from seawatch.engine.pipeline import DETECTORS, Pipeline
from seawatch.errors import ConfigError
from seawatch.events import registry
from seawatch.events.registry import Detector, EventType, registered, resolve_params
from tracks.helpers import pos, positions

TOY = Detector(
    name="toy",
    detect=toy_detector.detect,
    reads="positions",
    params=toy_detector.ToyParams,
    emits=(EventType("toy_fast", rank=0),),
)


@pytest.fixture
def toy() -> Iterator[Detector]:
    with registered(TOY) as entry:
        yield entry
    assert "toy" not in registry.REGISTRY


def _run(pipe: Pipeline) -> pa.Table:
    rows = [pos(h / 6, 10.0, speed_kn=float(h)) for h in range(12)]  # 0 .. 11 kn
    first = pipe.feed(positions(rows), SCHEMAS["statics"].empty_table())
    return pa.concat_tables([first.events, pipe.finish().events])


def test_a_registered_detector_runs_in_the_pipeline_with_its_params(toy: Detector) -> None:
    events = _run(Pipeline(geography=False))
    fast = events.filter(pc.equal(events["event_type"], "toy_fast"))
    assert fast.num_rows == 6  # 6 .. 11 kn: faster than the default 5 kn
    params = resolve_params(None, ["toy.min_speed_kn=9.5"])
    events = _run(Pipeline(geography=False, params=params))
    fast = events.filter(pc.equal(events["event_type"], "toy_fast"))
    assert fast.num_rows == 2
    assert json.loads(fast["details"][0].as_py())["params"] == {"min_speed_kn": 9.5}


def test_a_registered_detector_is_ranked_and_listed(toy: Detector) -> None:
    assert registry.priority()[0] == "toy_fast"  # rank 0: before suspected_disabling
    assert "toy_fast" in registry.event_types()
    assert "toy" in resolve_params(None)


def test_unregistered_detectors_are_gone() -> None:
    assert "toy" not in resolve_params(None)
    with pytest.raises(ConfigError, match="unknown detector 'toy'"):
        resolve_params(None, ["toy.min_speed_kn=1"])


def test_names_and_event_types_are_declared_once() -> None:
    with pytest.raises(ConfigError, match="already registered"):
        registry.register(registry.REGISTRY["gap"])
    clash = Detector("gap2", TOY.detect, "positions", TOY.params, (EventType("gap", 1),))
    with pytest.raises(ConfigError, match="already emitted"):
        registry.register(clash)


def test_the_pipeline_runs_the_built_in_detectors_in_registry_order() -> None:
    assert tuple((d.name, d.reads) for d in registry.detectors()) == DETECTORS
    assert Pipeline(geography=False).params == resolve_params(None)


def test_pipeline_params_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"unknown detector 'nope'.*loitering"):
        Pipeline(geography=False, params={"nope": object()})
    with pytest.raises(ConfigError, match="must be a LoiteringParams"):
        Pipeline(geography=False, params={"loitering": registry.REGISTRY["gap"].params()})


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("nope.x=1", r"unknown detector 'nope' \(detectors: gap, .*identity_change\)"),
        ("loitering.x=1", r"no parameter 'x' \(parameters: max_speed_kn, .*track_expiry_s\)"),
        ("loitering.max_speed_kn=fast", r"'fast' for parameter 'max_speed_kn': not a number"),
        ("loitering.max_speed_kn=-1", r"must be at least 0"),
        ("gap.open_confidence=2", r"must be at most 1"),
        ("port_visit.min_confidence=1.5", r"not an integer"),
        ("zone_entry.rules=x", r"'rules' .* cannot be set"),
        ("loitering", r"expected DETECTOR.PARAMETER=VALUE"),
    ],
)
def test_bad_overrides_name_what_is_valid(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_params(None, [override])


def test_overrides_parse_every_settable_type() -> None:
    got = resolve_params(
        None,
        [
            "port_visit.min_confidence=3",
            "encounter.step_s=300",
            "identity_change.fields=name, imo",
            "loitering.min_distance_to_shore_km=0",
        ],
    )
    assert got["port_visit"].min_confidence == 3
    assert got["encounter"].step_s == 300
    assert got["identity_change"].fields == ("name", "imo")
    assert got["loitering"].min_distance_to_shore_km == 0.0
    assert got["gap"] == registry.REGISTRY["gap"].params()
