"""The engine: where the stages meet their drivers.

In: inputs (AIS files of any supported format, a live feed's batches, decoded Parquet, the
simulator's output), merged in time order across inputs within ``reorder_window_s``. Then
decode → clean/segment/enrich → detectors (:mod:`seawatch.engine.pipeline`) → sinks (the
store, a Parquet directory, subscribers). Every entry point (``seawatch detect``,
``ingest``, ``run``, the server) calls the engine; none has its own loop.
"""

from seawatch.engine.pipeline import DETECTORS, ChunkResult, Pipeline, ReorderBuffer, ts_us

__all__ = ["DETECTORS", "ChunkResult", "Pipeline", "ReorderBuffer", "ts_us"]
