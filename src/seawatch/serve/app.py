"""The HTTP application: ``create_app(store, settings)``, served by uvicorn (``seawatch serve``).

In: an open store (migrated) and the node's settings. Out: a FastAPI app with the REST
API under ``/api/v1`` (routes in :mod:`seawatch.serve.routes`, one module per resource),
``/healthz`` (the only anonymous route), ``/metrics`` (Prometheus, :mod:`seawatch.serve.metrics`),
``/openapi.json`` and ``/docs``; errors as problem+json (:mod:`seawatch.serve.problems`).
``app.state.subscribers`` is the engine's :class:`~seawatch.engine.sinks.Subscribers` sink of
the live ingest (``seawatch serve --tcp``), for the streams: ``/live`` (WebSocket,
:mod:`seawatch.serve.live`). See docs/serve.md.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

from seawatch import __version__
from seawatch.engine.sinks import Subscribers
from seawatch.serve.access_log import AccessLog
from seawatch.serve.deps import ServeState
from seawatch.serve.federation import install_federation
from seawatch.serve.live import install_live
from seawatch.serve.live_sse import install_sse
from seawatch.serve.metrics import install_metrics
from seawatch.serve.ogc import router as ogc_router
from seawatch.serve.problems import install_problems
from seawatch.serve.routes import (
    alerts,
    events,
    identities,
    latest,
    me,
    positions,
    situation,
    vessels,
    zones,
)
from seawatch.serve.web import install_web
from seawatch.settings import Settings
from seawatch.store import Store

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"
_ROUTERS = (vessels, identities, positions, latest, events, zones, alerts, situation, me)


class Health(BaseModel):
    status: str
    version: str


def create_app(store: Store, settings: Settings) -> FastAPI:
    """The app serving ``store``; each request reads on a session of its own."""
    store.require_current()
    app = FastAPI(
        title="seawatch",
        version=__version__,
        description="A seawatch node's API: every answer is filtered for the caller's "
        "reader and carries the combined marking of what it holds (X-Seawatch-Marking).",
    )
    app.state.seawatch = ServeState(store, settings)
    app.state.subscribers = Subscribers()  # told of what live ingest releases (the streams)
    install_problems(app)
    install_metrics(app)
    app.add_middleware(AccessLog)  # one JSON line per request on the seawatch.access logger
    install_live(app)  # the WebSocket /live stream of what live ingest stores
    install_sse(app)  # the same as Server-Sent Events, /live/sse

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> Health:
        """Liveness; anonymous, holds no records."""
        return Health(status="ok", version=__version__)

    for module in _ROUTERS:
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(ogc_router)  # /ogc: OGC API - Features
    install_federation(app)  # /federation/v1: node-to-node sync, signed by node keys
    install_web(app, API_PREFIX)  # the map at /, its sign-in (docs/map.md)
    return app
