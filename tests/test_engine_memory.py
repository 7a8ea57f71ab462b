"""keep_freed_memory: glibc keeps freed blocks, Arrow allocates through it, numpy gives no
huge-page advice; run in a child process since it changes the process."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHILD = """
import numpy as np, pyarrow as pa
from seawatch.engine.memory import keep_freed_memory
first = keep_freed_memory()
again = keep_freed_memory()
t = pa.table({"x": np.arange(2_000_000)})
kept = t.filter(pa.array(np.arange(2_000_000) % 3 == 0))
from numpy._core import multiarray
advice = multiarray._set_madvise_hugepage(True)  # returns the setting it replaces
print(first, again, pa.default_memory_pool().backend_name, kept.num_rows, advice)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc settings")
def test_keep_freed_memory_switches_arrow_to_the_kept_heap() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out == ["True", "True", "system", "666667", "False"]
