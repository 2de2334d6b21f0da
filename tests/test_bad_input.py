"""Malformed requests get a clear 4xx and leave nothing behind: wrong content types,
broken UTF-8, characters a database cannot store, numbers no row can have, huge headers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.middleware import MAX_HEADER_BYTES
from app.reports.models import Report
from tests.conftest import Team
from tests.helpers import report_body


def reports(session: Session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(Report)).one()


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_a_body_that_is_not_json_is_named_as_such(
    client: TestClient, session: Session, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(
        "/api/v1/reports", content=json.dumps(report_body()).encode(), headers=headers
    )
    assert response.status_code == 415
    assert "Content-Type: application/json" in response.json()["detail"]
    assert reports(session) == 0


def test_broken_utf8_is_refused(client: TestClient, session: Session) -> None:
    body = json.dumps(report_body()).encode().replace(b"grabbed", b"gr\xff\xfebbed")
    api = client.post("/api/v1/reports", content=body, headers={"content-type": "application/json"})
    assert api.status_code == 400
    assert "UTF-8" in api.json()["detail"]
    page = client.post(
        "/en/report",
        content=b"region=GM0106&what_happened=%FF%FE",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert page.status_code == 422
    assert reports(session) == 0


def test_a_nul_character_where_it_cannot_be_stored_is_a_422(
    client: TestClient, session: Session, auth: Any, team: Team
) -> None:
    """PostgreSQL cannot store NUL in a text column: a region code with one is refused
    with the same shape as every other 422, on both databases, nothing written."""
    body = {"text": "x", "severity": "low", "regions": ["GM01\u000006"], "categories": ["other"]}
    response = client.post("/api/v1/moderation/preview", headers=auth(team.alice), json=body)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] in {"regions.0", "body"}
    assert reports(session) == 0


def test_ids_no_row_can_have_are_refused(client: TestClient, auth: Any, team: Team) -> None:
    for report_id in ["9223372036854775808", "0", "-1"]:
        response = client.post(
            f"/api/v1/moderation/reports/{report_id}/claim", headers=auth(team.alice)
        )
        assert response.status_code == 422, report_id
        assert response.json()["detail"][0]["field"] == "report_id"


def test_huge_headers_are_refused_before_anything_runs(
    client: TestClient, session: Session
) -> None:
    big = {"x-padding": "a" * (MAX_HEADER_BYTES + 1)}
    api = client.post("/api/v1/reports", json=report_body(), headers=big)
    assert api.status_code == 431
    assert "16 KB" in api.json()["detail"]
    page = client.get("/en/", headers=big)
    assert page.status_code == 431
    assert "<html" in page.text and page.headers["cache-control"] == "no-store"
    assert reports(session) == 0
    assert client.post("/api/v1/reports", json=report_body()).status_code == 201
