"""The benchmarks that time the engine's own functions name functions that exist.

bench/phases.py, bench/project.py and bench/task_stream.py wrap engine functions by name
to add up their CPU time; a rename in the engine (the loader moved to
:mod:`seawatch.engine.loader`) broke two of them silently until someone ran them.
Benchmarks are run on demand, not in the suite, so the names they reach for are checked
here.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def bench() -> Iterator[dict[str, ModuleType]]:
    sys.path.insert(0, str(BENCH))
    try:
        names = ("phases", "project", "task_stream")
        yield {name: importlib.import_module(name) for name in names}
    finally:
        sys.path.remove(str(BENCH))


def test_phases_times_functions_that_exist(bench: dict[str, ModuleType]) -> None:
    phases = bench["phases"]
    for module, name, _label in phases.TIMED:
        assert callable(getattr(module, name, None)), f"{module.__name__}.{name}"


def test_project_times_functions_that_exist(bench: dict[str, ModuleType]) -> None:
    from seawatch.engine import dask_engine

    for name in bench["project"].STAGES:
        assert callable(getattr(dask_engine, name, None)), f"dask_engine.{name}"


def test_task_stream_times_functions_that_exist(bench: dict[str, ModuleType]) -> None:
    from seawatch.engine import dask_engine

    task_stream = bench["task_stream"]
    for module, name in task_stream.TIMED:
        assert callable(getattr(module, name, None)), f"{module.__name__}.{name}"
    for name in ("write_partitions", "load", "run_partitioned"):  # the client's marks
        assert callable(getattr(dask_engine, name, None)), f"dask_engine.{name}"
