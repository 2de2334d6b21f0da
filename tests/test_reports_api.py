"""The anonymous intake API: submit, look up by receipt code, reply, withdraw."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, func, select

from app.crypto import Crypto
from app.db import make_engine
from app.main import create_app
from app.reports import service
from app.reports.models import (
    PURPOSE_DESCRIPTION,
    PURPOSE_IDENTIFIER,
    PURPOSE_TEXT,
    QuestionPublic,
    Report,
    ReportIdentifier,
    ReportMessage,
    ReportStatus,
    ReportStatusPublic,
)
from app.settings import Settings
from tests.conftest import PostgresDatabase
from tests.helpers import report_body

CODE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


def submit(client: TestClient, **overrides: Any) -> str:
    response = client.post("/api/v1/reports", json=report_body(**overrides))
    assert response.status_code == 201, response.text
    return str(response.json()["receipt_code"])


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def report_for(session: Session, crypto: Crypto, code: str) -> Report:
    return service.find_by_receipt(session, crypto=crypto, receipt_code=code)


# ---- submitting -------------------------------------------------------------------------


def test_submit_returns_a_receipt_code_and_stores_everything_encrypted(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    body = report_body(
        what_happened="He pushed me down the stairs.",
        perpetrator={
            "phones": ["06 12345678", "+61 491 570 156"],
            "emails": ["Client@Example.com"],
            "plates": ["xx-123-y"],
            "handles": ["https://www.instagram.com/bad_client/"],
            "description": "tall, grey coat",
        },
        categories=["refused_to_pay", "sexual_violence"],
    )
    response = client.post("/api/v1/reports", json=body)
    assert response.status_code == 201
    receipt = response.json()
    assert set(receipt) == {"receipt_code", "status"}
    assert CODE.match(receipt["receipt_code"])
    assert receipt["status"] == "submitted"

    report = report_for(session, crypto, receipt["receipt_code"])
    assert report.region_code == "GM0106"
    assert report.urgency == 3, "the worst category decides the urgency"
    assert report.submitted_at.minute == 0
    assert report.submitted_at.second == 0
    assert report.what_happened_enc is not None
    assert b"stairs" not in report.what_happened_enc
    cipher = crypto.cipher
    assert cipher.decrypt(report.what_happened_enc, purpose=PURPOSE_TEXT) == body["what_happened"]
    assert report.perpetrator_description_enc is not None
    assert (
        cipher.decrypt(report.perpetrator_description_enc, purpose=PURPOSE_DESCRIPTION)
        == "tall, grey coat"
    )
    identifiers = session.exec(
        select(ReportIdentifier).where(ReportIdentifier.report_id == report.id)
    ).all()
    stored = {
        (i.kind, cipher.decrypt(i.value_enc, purpose=PURPOSE_IDENTIFIER)) for i in identifiers
    }
    assert stored == {
        ("phone", "+31612345678"),
        ("phone", "+61491570156"),
        ("email", "client@example.com"),
        ("plate", "XX123Y"),
        ("handle", "bad_client"),
    }
    for identifier in identifiers:
        value = cipher.decrypt(identifier.value_enc, purpose=PURPOSE_IDENTIFIER)
        assert identifier.blind_index == crypto.index.digest(identifier.kind, value)


def test_the_same_number_written_differently_matches(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    first = submit(client, perpetrator={"phones": ["06 12345678"]})
    second = submit(client, perpetrator={"phones": ["0031 6-1234 5678"]})
    digests = [
        session.exec(
            select(ReportIdentifier.blind_index).where(
                ReportIdentifier.report_id == report_for(session, crypto, code).id
            )
        ).one()
        for code in (first, second)
    ]
    assert digests[0] == digests[1] == crypto.index.digest("phone", "+31612345678")


def test_a_minimal_report_is_enough(client: TestClient) -> None:
    body = {
        "region": "GM0363",
        "incident_date": date.today().isoformat(),
        "part_of_day": "evening",
        "categories": ["fake_booking"],
    }
    assert client.post("/api/v1/reports", json=body).status_code == 201


TOMORROW_EVERYWHERE = (date.today() + timedelta(days=2)).isoformat()


@pytest.mark.parametrize(
    ("overrides", "field", "kind", "words"),
    [
        ({"region": "GM9999"}, "region", "unknown_region", "unknown municipality"),
        ({"region": "NL-DR"}, "region", "unknown_region", "unknown municipality"),
        ({"incident_date": TOMORROW_EVERYWHERE}, "incident_date", "date_in_future", "future"),
        ({"incident_date": "2001-01-01"}, "incident_date", "date_too_old", "three years"),
        ({"incident_date": "yesterday"}, "incident_date", "date_from_datetime_parsing", "date"),
        ({"what_happened": "x" * 5001}, "what_happened", "string_too_long", "5000"),
        ({"categories": []}, "categories", "too_short", "at least 1"),
        ({"categories": ["kidnapping"]}, "categories.0", "enum", "physical_violence"),
        ({"part_of_day": "dawn"}, "part_of_day", "enum", "morning"),
        ({"language": "de"}, "language", "enum", "nl"),
        ({"name": "Anna"}, "name", "extra_forbidden", "not permitted"),
        ({"perpetrator": {"phones": ["12345"]}}, "perpetrator.phones.0", "invalid_phone", "phone"),
        ({"perpetrator": {"emails": ["nope"]}}, "perpetrator.emails.0", "invalid_email", "email"),
        ({"perpetrator": {"plates": ["-"]}}, "perpetrator.plates.0", "invalid_plate", "plate"),
        ({"perpetrator": {"age": 40}}, "perpetrator.age", "extra_forbidden", "not permitted"),
        ({"perpetrator": {"phones": ["06 12345678"] * 11}}, "perpetrator.phones", "too_long", "10"),
        (
            {"perpetrator": {"description": "y" * 2001}},
            "perpetrator.description",
            "string_too_long",
            "2000",
        ),
    ],
)
def test_bad_input_names_the_field_and_the_problem_and_stores_nothing(
    client: TestClient,
    session: Session,
    overrides: dict[str, Any],
    field: str,
    kind: str,
    words: str,
) -> None:
    before = count(session, Report)
    response = client.post("/api/v1/reports", json=report_body(**overrides))
    assert response.status_code == 422
    errors = response.json()["detail"]
    error = next(e for e in errors if e["field"] == field)
    assert error["type"] == kind
    assert error["msg"].startswith(f"{field}: ")
    assert words in error["msg"]
    assert "input" not in error
    assert "ctx" not in error
    assert count(session, Report) == before


def test_a_municipality_no_longer_in_use_is_refused_and_case_does_not_matter(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    from app.regions.models import Region

    accepted = client.post("/api/v1/reports", json=report_body(region=" gm0106 "))
    assert accepted.status_code == 201
    assert report_for(session, crypto, accepted.json()["receipt_code"]).region_code == "GM0106"

    merged = session.get(Region, "GM0106")
    assert merged is not None
    merged.active = False  # merged into another municipality: no new reports for it
    session.add(merged)
    session.flush()
    before = count(session, Report)
    refused = client.post("/api/v1/reports", json=report_body())
    assert refused.status_code == 422
    assert [e["type"] for e in refused.json()["detail"]] == ["unknown_region"]
    assert count(session, Report) == before


def test_errors_never_repeat_what_was_sent(client: TestClient) -> None:
    response = client.post(
        "/api/v1/reports",
        json=report_body(
            perpetrator={"phones": ["06 999 88 7"], "emails": ["secret-address@@example.com"]},
            incident_date="2099-01-01",
        ),
    )
    assert response.status_code == 422
    assert "999 88" not in response.text
    assert "secret-address" not in response.text
    assert "2099" not in response.text


def test_every_bad_identifier_is_reported_at_once(client: TestClient) -> None:
    body = report_body(region="GM9999", perpetrator={"phones": ["06 12345678", "123", "456"]})
    fields = {e["field"] for e in client.post("/api/v1/reports", json=body).json()["detail"]}
    assert fields == {"region", "perpetrator.phones.1", "perpetrator.phones.2"}


def test_invalid_json_is_a_clear_422(client: TestClient) -> None:
    response = client.post(
        "/api/v1/reports", content=b'{"region": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_bodies_over_64_kb_are_refused_with_413(client: TestClient, session: Session) -> None:
    before = count(session, Report)
    big = report_body(what_happened="x" * (70 * 1024))
    response = client.post("/api/v1/reports", json=big)
    assert response.status_code == 413
    assert "64 KB" in response.json()["detail"]

    def chunks() -> Any:  # no Content-Length: the limit holds for streamed bodies too
        for _ in range(70):
            yield b"x" * 1024

    streamed = client.post(
        "/api/v1/reports", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert count(session, Report) == before


def test_a_failure_half_way_leaves_nothing_behind(
    make_client: Callable[..., TestClient],
    settings: Settings,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The report row is flushed before its identifiers; if those fail, the report goes too."""
    before = (count(session, Report), count(session, ReportIdentifier))
    original = Crypto.from_settings(settings).index.__class__.digest

    def failing_digest(self: Any, kind: str, value: str) -> bytes:
        if kind == "phone":
            raise RuntimeError("disk full")
        return original(self, kind, value)

    monkeypatch.setattr("app.crypto.BlindIndex.digest", failing_digest)
    with make_client(settings, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/reports", json=report_body())
    assert response.status_code == 500
    assert "disk full" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert (count(session, Report), count(session, ReportIdentifier)) == before


# ---- looking a report up ------------------------------------------------------------------


def test_status_by_receipt_code_in_a_header(client: TestClient) -> None:
    code = submit(client)
    response = client.get("/api/v1/reports/status", headers={"X-Receipt-Code": code.lower()})
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "status": "submitted",
        "submitted_on": body["submitted_on"],
        "questions": [],
        "added_on": [],
        "can_reply": False,
        "can_add": True,
        "can_withdraw": True,
        "police_consent": "none",
        "police_shared": False,
    }


@pytest.mark.parametrize("code", ["AAAA-BBBB-CCCC", "not-a-code", "K7QF-3MZP-XW4U", ""])
def test_wrong_codes_get_the_same_404(client: TestClient, code: str) -> None:
    response = client.get("/api/v1/reports/status", headers={"X-Receipt-Code": code})
    assert response.status_code == 404
    assert response.json() == {"detail": "No report matches this receipt code."}


def test_receipt_codes_never_travel_in_urls(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    for path, operations in schema["paths"].items():
        assert "receipt" not in path.lower()
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if "receipt" in parameter["name"].lower():
                    assert parameter["in"] == "header", (path, parameter)
    code = submit(client)
    in_query = client.get("/api/v1/reports/status", params={"receipt_code": code})
    assert in_query.status_code == 422, "a code in the query string is not looked at"


def test_the_status_shows_nothing_that_could_identify_anyone(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    assert set(ReportStatusPublic.model_fields) == {
        "status",
        "submitted_on",
        "questions",
        "added_on",
        "can_reply",
        "can_add",
        "can_withdraw",
        "police_consent",  # what the reporter chose: theirs to see, nothing about them
        "police_shared",
    }
    assert set(QuestionPublic.model_fields) == {"asked_on", "text", "answered"}
    code = submit(client, perpetrator={"phones": ["06 12345678"], "description": "red scarf"})
    added = {"receipt_code": code, "message": "He drives a green van"}
    assert client.post("/api/v1/reports/add", json=added).status_code == 200
    text = client.get("/api/v1/reports/status", headers={"X-Receipt-Code": code}).text
    for leak in ["12345678", "red scarf", "grabbed", "GM0106", "Assen", "night", "green van"]:
        assert leak not in text


# ---- questions and answers ---------------------------------------------------------------


def ask(session: Session, crypto: Crypto, code: str, question: str) -> None:
    report = report_for(session, crypto, code)
    service.transition(report, ReportStatus.in_review)
    service.ask_reporter(session, report=report, question=question, cipher=crypto.cipher)
    session.commit()


def test_reply_answers_an_open_question_and_requeues_the_report(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    code = submit(client)
    refused = client.post("/api/v1/reports/reply", json={"receipt_code": code, "message": "hi"})
    assert refused.status_code == 409
    assert "no open question" in refused.json()["detail"]

    ask(session, crypto, code, "Was there a car?")
    status = client.get("/api/v1/reports/status", headers={"X-Receipt-Code": code}).json()
    assert status["status"] == "needs_info"
    assert status["can_reply"]
    assert [(q["text"], q["answered"]) for q in status["questions"]] == [
        ("Was there a car?", False)
    ]

    answered = client.post(
        "/api/v1/reports/reply", json={"receipt_code": code, "message": "A blue van."}
    )
    assert answered.status_code == 200
    assert answered.json()["status"] == "submitted"
    assert answered.json()["questions"][0]["answered"] is True
    again = client.post("/api/v1/reports/reply", json={"receipt_code": code, "message": "more"})
    assert again.status_code == 409


def test_reply_needs_a_message_and_the_right_code(client: TestClient) -> None:
    code = submit(client)
    empty = client.post("/api/v1/reports/reply", json={"receipt_code": code, "message": ""})
    assert empty.status_code == 422
    assert empty.json()["detail"][0]["field"] == "message"
    wrong = client.post(
        "/api/v1/reports/reply", json={"receipt_code": "AAAA-BBBB-CCCC", "message": "x"}
    )
    assert wrong.status_code == 404


# ---- withdrawing -----------------------------------------------------------------------------


def test_withdrawing_deletes_everything_the_reporter_wrote(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    code = submit(client, perpetrator={"phones": ["06 12345678"], "description": "beard"})
    ask(session, crypto, code, "Which hotel?")
    response = client.post("/api/v1/reports/withdraw", json={"receipt_code": code})
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    assert response.json()["can_withdraw"] is False

    session.expire_all()
    report = report_for(session, crypto, code)
    assert report.status == "withdrawn"
    assert report.what_happened_enc is None
    assert report.perpetrator_description_enc is None
    assert report.text_purged_at is not None
    for model in (ReportIdentifier, ReportMessage):
        rows = session.exec(select(model).where(model.report_id == report.id)).all()  # type: ignore[attr-defined]
        assert rows == []

    again = client.post("/api/v1/reports/withdraw", json={"receipt_code": code})
    assert again.status_code == 409


@pytest.mark.parametrize("final", ["published", "rejected", "duplicate"])
def test_a_decided_report_cannot_be_withdrawn(
    client: TestClient, session: Session, crypto: Crypto, final: str
) -> None:
    code = submit(client)
    report = report_for(session, crypto, code)
    report.status = final
    session.add(report)
    session.commit()
    response = client.post("/api/v1/reports/withdraw", json={"receipt_code": code})
    assert response.status_code == 409
    assert "can no longer be withdrawn" in response.json()["detail"]


def test_transitions_outside_the_workflow_are_refused(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    from app.errors import Conflict

    report = report_for(session, crypto, submit(client))
    with pytest.raises(Conflict, match="submitted cannot become published"):
        service.transition(report, ReportStatus.published)
    report.status = "rejected"
    with pytest.raises(Conflict, match="rejected cannot become published"):
        service.transition(report, ReportStatus.published)


# ---- rate limits --------------------------------------------------------------------------------


def test_submissions_are_rate_limited_per_client(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Settings]
) -> None:
    with make_client(make_settings(rate_limit_submit="2/minute")) as client:
        assert client.post("/api/v1/reports", json=report_body()).status_code == 201
        assert client.post("/api/v1/reports", json=report_body()).status_code == 201
        limited = client.post("/api/v1/reports", json=report_body())
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 60
    assert "Too many requests" in limited.json()["detail"]


def test_receipt_lookups_are_rate_limited(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Settings]
) -> None:
    with make_client(make_settings(rate_limit_lookup="3/minute")) as client:
        codes = [f"AAAA-BBBB-CCC{n}" for n in range(4)]
        statuses = [
            client.get("/api/v1/reports/status", headers={"X-Receipt-Code": c}).status_code
            for c in codes
        ]
        withdraw = client.post("/api/v1/reports/withdraw", json={"receipt_code": codes[0]})
    assert statuses == [404, 404, 404, 429]
    assert withdraw.status_code == 429, "all receipt look-ups share one budget"


def test_openapi_documents_the_intake(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    post = schema["paths"]["/api/v1/reports"]["post"]
    assert {"201", "413", "422", "429"} <= set(post["responses"])
    body = schema["components"]["schemas"]["ReportCreate"]
    assert body["additionalProperties"] is False
    assert {"region", "incident_date", "part_of_day", "categories"} <= set(body["required"])


def test_refused_reports_leave_nothing_behind(client: TestClient, session: Session) -> None:
    """The region's error comes first, each wrong identifier is named, a value the database
    cannot take is a 422 that does not echo it, and nothing of any of them is stored."""
    unknown = client.post("/api/v1/reports", json=report_body(region="GM9999"))
    assert unknown.status_code == 422
    assert [e["type"] for e in unknown.json()["detail"]] == ["unknown_region"]

    both = client.post(
        "/api/v1/reports",
        json=report_body(region="gm9999", perpetrator={"phones": ["06 1234"]}),
    )
    assert both.status_code == 422
    assert [(e["field"], e["type"]) for e in both.json()["detail"]] == [
        ("region", "unknown_region"),
        ("perpetrator.phones.0", "invalid_phone"),
    ]
    bad_phone = client.post("/api/v1/reports", json=report_body(perpetrator={"phones": ["x"]}))
    assert [e["field"] for e in bad_phone.json()["detail"]] == ["perpetrator.phones.0"]
    nul = client.post("/api/v1/reports", json=report_body(region="ZZ12\u000034"))
    assert nul.status_code == 422, nul.text
    assert "\x00" not in nul.text and "ZZ12" not in nul.text

    assert (count(session, Report), count(session, ReportIdentifier)) == (0, 0)


def test_connections_the_server_closed_are_replaced_without_an_error(
    postgres: PostgresDatabase, make_settings: Callable[..., Settings]
) -> None:
    """After a restart of PostgreSQL every pooled connection is dead: the next reports are
    stored all the same (the pool tests a connection before handing it out)."""
    settings = make_settings(database_url=postgres.fresh())
    engine = make_engine(settings.database_url)
    try:
        with TestClient(create_app(settings)) as client:
            assert client.post("/api/v1/reports", json=report_body()).status_code == 201
            with engine.connect() as connection:  # what a restart of the server does to them
                closed = connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            assert closed >= 1
            for _ in range(3):  # and reports that name nobody: no identifier rows
                response = client.post("/api/v1/reports", json=report_body(perpetrator={}))
                assert response.status_code == 201
        with engine.connect() as connection:
            counts = connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM report), (SELECT count(*) FROM report_identifier)"
                )
            ).one()
        assert tuple(counts) == (4, 1)
    finally:
        engine.dispose()
