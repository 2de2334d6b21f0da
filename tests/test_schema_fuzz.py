"""Schemathesis against the app's own OpenAPI schema: every public and moderator
operation, with generated input (valid and not), gives no 5xx and answers as its schema
says. Bounded to a few examples per operation so that CI stays quick.

The operations are driven here rather than through schemathesis' pytest plugin, whose
fixture loader does not run under this pytest; the checks are schemathesis' own."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyotp
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.settings import Settings
from tests.conftest import Outreach, Team

# Every conformance check, none left out: each route documents the answers it really gives.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
NEEDS_A_TOKEN = ("/api/v1/moderation", "/api/v1/admin", "/api/v1/invites")


def test_no_operation_fails_or_breaks_its_schema(client: TestClient, auth: Any, team: Team) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", client.app)
    admin = auth(team.bob)  # an admin: every moderator route is open to her
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda op: op.path == "/api/v1/auth/logout",  # it ends the admin's tokens: last
    )
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


# Answered before a route runs, so the fuzzing above seldom sees them: (body, type, status).
UNREADABLE_BODIES = [
    (b'{"text": "\xff"}', "application/json", 400),  # not UTF-8
    (b"text=hello", "application/x-www-form-urlencoded", 415),  # not JSON
]


def test_every_json_route_documents_what_a_body_it_cannot_read_gets(
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Settings],
    auth: Any,
    team: Team,
    outreach: Outreach,
) -> None:
    with make_client(make_settings(check_access="open")) as client:  # /check: no token first
        paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
        admin = auth(team.bob)
        routes = [
            (method, path, operation["responses"])
            for path, operations in paths.items()
            for method, operation in operations.items()
            if "application/json" in operation.get("requestBody", {}).get("content", {})
        ]
        assert len(routes) >= 19, "every route that takes JSON"
        for method, path, documented in routes:
            url = re.sub(r"\{[^}]+\}", "1", path)
            for body, content_type, status in UNREADABLE_BODIES:
                token = admin if path.startswith((*NEEDS_A_TOKEN, "/api/v1/auth")) else {}
                if path.startswith("/api/v1/org"):  # an organisation's person, not staff
                    token = auth(outreach.olga)
                if path == "/api/v1/members/application":  # a bearer first, checked after
                    token = {"Authorization": "Bearer an-application-link-token"}
                headers = {**token, "content-type": content_type}
                response = client.request(method.upper(), url, content=body, headers=headers)
                assert response.status_code == status, (method, path, content_type)
                assert str(status) in documented, (method, path, status)


def test_the_second_factors_conflicts_are_documented(
    client: TestClient, auth: Any, team: Team
) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    token = auth(team.bob)
    nothing_waiting = client.post(
        "/api/v1/auth/totp/confirm", headers=token, json={"code": "123456"}
    )
    assert nothing_waiting.status_code == 409
    assert "409" in paths["/api/v1/auth/totp/confirm"]["post"]["responses"]

    secret = client.post("/api/v1/auth/totp/setup", headers=token).json()["secret"]
    confirmed = client.post(
        "/api/v1/auth/totp/confirm", headers=token, json={"code": pyotp.TOTP(secret).now()}
    )
    assert confirmed.status_code == 200
    fresh = {"Authorization": f"Bearer {confirmed.json()['access_token']}"}
    assert client.post("/api/v1/auth/totp/setup", headers=fresh).status_code == 409
    assert "409" in paths["/api/v1/auth/totp/setup"]["post"]["responses"]
