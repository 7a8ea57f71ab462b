"""The API's routes, one module per resource; each reads through
:class:`~seawatch.store.query.Query` for the request's reader.

In: the dependencies of :mod:`seawatch.serve.deps`. Out: :data:`ROUTERS` (mounted under
``/api/v1`` by :func:`seawatch.serve.app.create_app`) and the response models, which are
the OpenAPI document's schemas.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from seawatch.export.formats import OUTPUT_FORMATS
from seawatch.serve.deps import known_params
from seawatch.serve.problems import PROBLEM_RESPONSES

__all__ = ["FORMAT_RESPONSES", "RecordPage", "api_router"]


class RecordPage(BaseModel):
    """A page of records: their combined marking, the records (each with its ``label``), and
    the URL of the next page (null on the last)."""

    marking: str = Field(description="Combined marking of every record in the page")
    items: list[dict[str, Any]]
    next: str | None = Field(description="URL of the next page; null when this is the last")


FORMAT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The records (JSON, or the format asked for with ?f= or Accept); "
        "header X-Seawatch-Marking: their combined marking",
        "content": {f.media_type: {} for f in OUTPUT_FORMATS.values()},
    }
}


def api_router(tag: str) -> APIRouter:
    """A router of the API: unknown query parameters refused, problems documented."""
    return APIRouter(
        tags=[tag], dependencies=[Depends(known_params)], responses=dict(PROBLEM_RESPONSES)
    )
