"""``GET /api/v1/me``: the caller's own rights: its user, reader and the labels it may read."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from seawatch.export.common import collection_label
from seawatch.serve.deps import Principal, ServeState, principal, session, state
from seawatch.serve.render import json_answer
from seawatch.serve.routes import api_router
from seawatch.serve.routes.models import Me
from seawatch.store import Store
from seawatch.store.query import Query

router = api_router("me")


@router.get("/me", response_model=Me)
def me(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    store: Annotated[Store, Depends(session)],
    st: Annotated[ServeState, Depends(state)],
) -> Response:
    """Who the token belongs to, the reader it reads as, and the stored labels it may read
    (holds no records)."""
    r = who.reader
    readable = [lb.marking for lb in Query(store, r).labels().values()]
    body = {
        "user": who.user.name,
        "reader": str(r),
        "nation": r.nation,
        "clearance": r.clearance,
        "caveats": sorted(r.caveats),
        "expires_at": who.user.expires_at,
        "labels": readable,
    }
    return json_answer(request, st, who, body, collection_label([], store.policy).marking, 0)
