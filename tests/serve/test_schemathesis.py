"""schemathesis over every operation of the OpenAPI document, on the live node's app with a
reader's token: generated requests, valid and not. Checked: no server error, and every
response's status code, media type, headers and body are ones the document declares.

Not checked: schemathesis's ``positive_data_acceptance`` (a request the schema allows must
succeed). A cursor is opaque, and a bbox or datetime is a string whose rules (latitude
within ±90, an interval in order) the server checks and answers with a 400 problem naming
the rule; the document cannot express all of them, so a schema-valid request can rightly be
refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from apiclient import Node
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks

DOCUMENT = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text(encoding="utf-8")
)
OPERATIONS = [(path, method.upper()) for path, item in DOCUMENT["paths"].items() for method in item]
CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_schema(node: Node) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", node.app)


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_every_operation_answers_as_documented(
    api_schema: Any, node: Node, path: str, method: str
) -> None:
    operation = api_schema[path][method]
    token = node.tokens["IND:SECRET"]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        case.call_and_validate(checks=CHECKS)

    run()


def test_every_operation_is_fuzzed() -> None:
    assert {p for p, _ in OPERATIONS} >= {p for p in DOCUMENT["paths"] if p.startswith("/api/")}
    assert len(OPERATIONS) >= 10
