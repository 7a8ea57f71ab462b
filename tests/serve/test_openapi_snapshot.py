"""The OpenAPI document is a reviewed artefact: ``docs/openapi.json`` is its snapshot, and a
change to the API that changes the document fails here until the snapshot is regenerated
(``UPDATE_SNAPSHOTS=1 pytest tests/serve/test_openapi_snapshot.py``) and the diff
reviewed with the change."""

from __future__ import annotations

import json
import os
from pathlib import Path

from seawatch.serve.app import create_app
from seawatch.settings import load_settings
from seawatch.store import open_store

SNAPSHOT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def _document(tmp_path: Path) -> str:
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with open_store(tmp_path / "node.duckdb", settings) as store:
        doc = create_app(store, settings).openapi()
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_openapi_document_matches_its_snapshot(tmp_path: Path) -> None:
    doc = _document(tmp_path)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(doc, encoding="utf-8")
    assert SNAPSHOT.exists(), "docs/openapi.json is missing: run with UPDATE_SNAPSHOTS=1"
    assert doc == SNAPSHOT.read_text(encoding="utf-8"), (
        "the OpenAPI document changed: review it, then regenerate docs/openapi.json with "
        "UPDATE_SNAPSHOTS=1 pytest tests/serve/test_openapi_snapshot.py"
    )


def test_served_document_is_the_snapshot(tmp_path: Path) -> None:
    """What ``/openapi.json`` serves is the same document (FastAPI builds it once)."""
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with open_store(tmp_path / "node.duckdb", settings) as store:
        app = create_app(store, settings)
        assert app.openapi() is app.openapi()
        assert set(json.loads(SNAPSHOT.read_text(encoding="utf-8"))["paths"]) == set(
            app.openapi()["paths"]
        )
