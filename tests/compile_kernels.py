"""Compile seawatch's numba kernels into their on-disk cache before the test suite runs.

``make test`` runs this in the background beside the linters and waits for it before
pytest: in a fresh checkout every compiled kernel (``cache=True``) is compiled on first
use, and without this both pytest-xdist workers, and the ``seawatch`` processes the tests
start, compile the same kernels at the same time (~140 CPU-s each for decode, tracks and
the detectors). Here they are compiled once, by a small generated run through the
streaming and the partitioned engines; later processes load them from the cache.

It is only a warm-up: if it fails, it says so and the suite runs anyway (compiling as
before, and the tests report what is wrong).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _seawatch(*args: str, env: dict[str, str]) -> None:
    cmd = [sys.executable, "-m", "seawatch.cli.main", *args]
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)


def main() -> int:
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="seawatch-warm-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "SEAWATCH_DATA_DIR": str(root / "data")}
        env["SEAWATCH_NODE_NATION"] = "IND"
        sim = root / "sim"
        try:
            # long enough for every injected behaviour (gaps, loitering, encounters, ...)
            _seawatch("simulate", "--hours", "16", "--vessels", "40", "--seed", "5",
                      "--out", str(sim), env=env)  # fmt: skip
            inputs = [str(p) for p in sorted(sim.glob("*.nmea"))]
            _seawatch("ingest", *inputs, "--detect", "--db", str(root / "a.duckdb"), env=env)
            _seawatch("ingest", *inputs, "--detect", "--engine", "partitioned",
                      "--buckets", "4", "--db", str(root / "b.duckdb"), env=env)  # fmt: skip
        except subprocess.CalledProcessError as exc:
            why = (exc.stderr or "").strip().splitlines()[-1:] or [f"exit {exc.returncode}"]
            print(f"compile_kernels: warm-up failed ({why[0]}); the suite compiles as it goes")
            return 0
    print(f"compile_kernels: kernels compiled and cached in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
