"""Operations: Prometheus metrics of the node's server at ``/metrics``.

In: every HTTP request the app answers (through a middleware), and what other parts of the
node count (:class:`Metrics` counters and gauges, e.g. live ingest and subscribers). Out:
``GET /metrics`` in the Prometheus text format for a caller with a token (it holds no
records, but the node serves nothing anonymously except ``/healthz``): requests by route,
method and status, request latency by route, and the node's own counters. Each app has a
registry of its own, so several apps in one process (tests) never mix their figures.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import Depends, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from seawatch.serve.deps import Principal, ServeState, principal
from seawatch.serve.problems import PROBLEM_RESPONSES

__all__ = ["Metrics", "install_metrics"]

_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The app's metrics registry and the figures the node keeps in it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "seawatch_http_requests",
            "HTTP requests answered, by route template, method and status code",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "seawatch_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            ["route"],
            buckets=_BUCKETS_S,
            registry=self.registry,
        )
        self.ingested = Counter(
            "seawatch_ingest_positions",
            "Positions stored by live ingest in this process",
            registry=self.registry,
        )
        self.events = Counter(
            "seawatch_ingest_events",
            "Events stored by live ingest in this process",
            registry=self.registry,
        )
        self.subscribers = Gauge(
            "seawatch_live_subscribers",
            "Live stream subscribers connected",
            registry=self.registry,
        )
        self.alerts = Counter(
            "seawatch_alerts_fired",
            "Alerts fired by the rules as live ingest stored data",
            registry=self.registry,
        )
        self.lag = Gauge(
            "seawatch_ingest_lag_seconds",
            "Wall-clock time minus the newest position's time, as its batch was stored",
            registry=self.registry,
        )
        self.missed = Counter(
            "seawatch_live_missed",
            "Stream items a slow client was not sent (coalesced or dropped), by kind",
            ["kind"],
            registry=self.registry,
        )
        self.dropped = Counter(
            "seawatch_live_dropped",
            "Rows dropped before fan-out because the streams were behind ingest, by kind",
            ["kind"],
            registry=self.registry,
        )

        self.delay = Histogram(
            "seawatch_live_delay_seconds",
            "Where live rows wait, by stage: ingest (the oldest position's time to its rows "
            "told to the streams), of which wait (a live batch cut to its storing begun) and "
            "store (storing begun to its positions told); hub (told to queued for every "
            "client), client (queued to written to the client's connection, the wait for a "
            "slow client included); detect: each detector pass over a live batch",
            ["stage"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10),
            registry=self.registry,
        )

        self.memory = Gauge(
            "seawatch_memory_bytes",
            "Memory of the server's process, by part: rss (resident, all of it), store (the "
            "database engine's own accounting, DuckDB's duckdb_memory()), arrow (Arrow's "
            "allocator), pipeline (the Arrow and NumPy state of the live ingest's tracks and "
            "detectors), live_history (the batches the live streams keep for resuming "
            "clients), at the time of the scrape",
            ["part"],
            registry=self.registry,
        )

        self.parts: dict[str, Callable[[], int]] = {}
        """More parts of :attr:`memory`, measured at each scrape (by the node's parts)."""

    def told(self, kind: str, rows: pa.Table) -> None:
        """What live ingest stored, as told to the streams (alerts, lag)."""
        if kind == "alerts":
            self.alerts.inc(rows.num_rows)
        elif kind == "positions" and rows.num_rows:
            span: Any = pc.min_max(rows.column("ts")).as_py()
            if span["max"] is not None:
                now = datetime.now(UTC)
                self.lag.set((now - span["max"]).total_seconds())
                self.delay.labels("ingest").observe((now - span["min"]).total_seconds())


def _route(request: Request) -> str:
    """The matched route's template (``/api/v1/vessels/{mmsi}``), never the raw path: the
    metric's labels stay few whatever the callers ask for. Built from the path and its
    parameters (a route of an included router knows only its own part of the path)."""
    if request.scope.get("route") is None:
        return "unmatched"
    params = {str(v): k for k, v in request.path_params.items()}
    parts = request.url.path.split("/")
    return "/".join(f"{{{params[p]}}}" if p in params else p for p in parts)


def _measure_memory(metrics: Metrics, state: ServeState) -> None:
    """The process's memory by part, now (:attr:`Metrics.memory`)."""
    with contextlib.suppress(OSError, ValueError):
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        metrics.memory.labels("rss").set(pages * os.sysconf("SC_PAGE_SIZE"))
    metrics.memory.labels("arrow").set(pa.total_allocated_bytes())
    with state.lock:  # the store's own connection (ingest writes on a session of its own)
        found = state.store.backend.memory_bytes()
    if found is not None:
        metrics.memory.labels("store").set(found)
    for part, measure in list(metrics.parts.items()):
        metrics.memory.labels(part).set(measure())


def install_metrics(app: FastAPI) -> Metrics:
    """Count every request of ``app`` and serve ``/metrics``; the metrics, for the node's
    other parts (``app.state.metrics``)."""
    metrics = Metrics()
    app.state.metrics = metrics
    for kind in ("positions", "alerts"):  # what live ingest stores (app.state.subscribers)
        getattr(app.state.subscribers, kind).append(functools.partial(metrics.told, kind))

    @app.middleware("http")
    async def count(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = _route(request)
        metrics.latency.labels(route).observe(time.perf_counter() - started)
        metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        return response

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=Response,
        responses={
            200: {
                "description": "The node's metrics in the Prometheus text format",
                "content": {CONTENT_TYPE_LATEST.split(";")[0]: {}},
            },
            401: PROBLEM_RESPONSES[401],
        },
    )
    def metrics_route(_who: Annotated[Principal, Depends(principal)]) -> Response:
        """Prometheus metrics (a token is needed: nothing but /healthz is anonymous)."""
        _measure_memory(metrics, app.state.seawatch)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
