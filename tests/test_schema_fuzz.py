"""Schemathesis against the app's own OpenAPI schema: every public and moderator
operation, with generated input (valid and not), gives no 5xx and answers as its schema
says. Bounded to a few examples per operation so that CI stays quick.

The operations are driven here rather than through schemathesis' pytest plugin, whose
fixture loader does not run under this pytest; the checks are schemathesis' own."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from tests.conftest import Team

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
NEEDS_A_TOKEN = ("/api/v1/moderation", "/api/v1/admin")


def test_no_operation_fails_or_breaks_its_schema(client: TestClient, auth: Any, team: Team) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", client.app)
    admin = auth(team.bob)  # an admin: every moderator route is open to her
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30, "the whole API"

    for operation in operations:
        fuzz(operation, admin if operation.path.startswith(NEEDS_A_TOKEN) else {})


def fuzz(operation: Any, token: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=10,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers={**(case.headers or {}), **token}, checks=CHECKS)

    try:
        check()
    except Exception as exc:
        exc.add_note(f"in {operation.label}")
        raise
