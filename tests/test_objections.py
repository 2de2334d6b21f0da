"""Objections by a reported person: nothing said before a decision, and an upheld one takes
the identifier out of checks and tells the alert's recipients."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from alerts import service as alerts_service
from alerts.models import Alert, AlertIdentifier, Delivery
from alerts.render import render_update_sms
from app.crypto import Crypto
from app.db import utcnow
from app.i18n import LANGUAGES
from app.reports.models import Report
from app.tally import Tally
from moderation.models import AuditEntry
from moderation.objections.models import Objection
from tests.conftest import Outreach, Team
from tests.helpers import add_sms_subscribers, publish_alert, report_body
from tests.test_moderation_pages import csrf
from tests.test_org_pages import log_in

LISTED = "+31612345678"  # publish_alert's client
UNLISTED = "+31687654321"
REASON = "That is my work phone; I never met anyone in Assen."
CONTACT = "objector@example.net"


def sent(session: Session) -> None:
    """The alert went out to its recipients (as the worker would have marked it)."""
    session.execute(update(Delivery).values(status="sent", sent_at=utcnow()))
    session.commit()


def objection(client: TestClient, value: str = LISTED, **fields: Any) -> Any:
    body = {"kind": "phone", "value": value, "reason": REASON, "language": "nl", **fields}
    return client.post("/api/v1/objections", json=body)


def case_status(client: TestClient, code: str) -> Any:
    return client.get("/api/v1/objections/status", headers={"X-Case-Code": code})


def test_the_objector_learns_nothing_before_a_decision(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    publish_alert(session, crypto)
    answers = []
    for value in (LISTED, UNLISTED):
        sent = objection(client, value, contact=CONTACT)
        assert sent.status_code == 201
        read = case_status(client, sent.json()["case_code"])
        assert read.status_code == 200
        answers.append(
            (
                sent.status_code,
                sorted(sent.json()),
                sent.json()["status"],
                read.status_code,
                {k: v for k, v in read.json().items() if k != "deadline"},
            )
        )
    assert answers[0] == answers[1]
    assert answers[0][4] == {"status": "received", "answer": None}


def test_an_objection_is_stored_without_the_identifier_or_readable_words(
    client: TestClient, session: Session
) -> None:
    code = objection(client, LISTED, contact=CONTACT).json()["case_code"]
    row = session.exec(select(Objection)).one()
    stored = b"".join(
        v if isinstance(v, bytes) else str(v).encode() for v in row.model_dump().values()
    )
    for secret in (LISTED, "612345678", REASON, CONTACT, code):
        assert secret.encode() not in stored


def test_bad_input_is_named_and_nothing_is_stored(client: TestClient, session: Session) -> None:
    for fields, named in [
        ({"value": "call me"}, "value"),
        ({"kind": "fax"}, "kind"),
        ({"reason": ""}, "reason"),
        ({"language": "de"}, "language"),
    ]:
        response = objection(client, **fields)
        assert response.status_code == 422, fields
        assert named in str(response.json()["detail"]), fields
    assert session.exec(select(Objection)).first() is None
    assert case_status(client, "K7QF-3MZP-XW4D").status_code == 404


def test_one_identifier_takes_only_a_few_objections_a_day(client: TestClient) -> None:
    for _ in range(3):
        assert objection(client, UNLISTED).status_code == 201
    refused = objection(client, UNLISTED)
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert objection(client, "+31687650000").status_code == 201, "another identifier"


def test_the_admins_queue_shows_where_it_is_listed_and_audits_the_reading(
    client: TestClient,
    session: Session,
    crypto: Crypto,
    team: Team,
    auth: Callable[[Any], dict[str, str]],
) -> None:
    alert = publish_alert(session, crypto)
    filed = client.post("/api/v1/reports", json=report_body(perpetrator={"phones": ["0612345678"]}))
    assert filed.status_code == 201
    report_id = session.exec(select(Report.id)).one()
    objection(client, LISTED, contact=CONTACT)
    queue = client.get("/api/v1/moderation/objections", headers=auth(team.bob))
    assert queue.status_code == 200
    [item] = queue.json()
    assert (item["status"], item["kind"], item["late"]) == ("received", "phone", False)
    assert item["reason"] == REASON and item["contact"] == CONTACT
    assert {"alert_ref": alert.ref, "report_id": None} in item["matches"]
    assert {"alert_ref": None, "report_id": report_id} in item["matches"]
    assert "value" not in item, "the admins see where, never the identifier itself"
    views = session.exec(select(AuditEntry).where(AuditEntry.action == "objection.view")).all()
    assert [(v.moderator_id, v.target_id) for v in views] == [(team.bob.id, str(item["id"]))]


def decide(client: TestClient, headers: dict[str, str], outcome: str, answer: str) -> Any:
    objection_id = client.get("/api/v1/moderation/objections", headers=headers).json()[0]["id"]
    return client.post(
        f"/api/v1/moderation/objections/{objection_id}/decide",
        json={"outcome": outcome, "reason": answer},
        headers=headers,
    )


def test_upheld_the_identifier_leaves_checks_and_the_alert_is_updated_to_its_recipients(
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Any],
    settings: Any,
    session: Session,
    crypto: Crypto,
    team: Team,
    auth: Callable[[Any], dict[str, str]],
) -> None:
    add_sms_subscribers(session, crypto, 3)
    alert = publish_alert(session, crypto, identifiers=[("phone", LISTED), ("plate", "XK-123-B")])
    alone = publish_alert(session, crypto, identifiers=[("phone", LISTED)])
    sent(session)
    open_checks = settings.model_copy(update={"check_access": "open"})
    with make_client(open_checks) as client:
        assert client.post("/api/v1/check", json={"number": LISTED}).json()["found"] is True
        code = objection(client, LISTED, contact=CONTACT).json()["case_code"]
        answer = "We removed the number: the report did not hold up."
        decided = decide(client, auth(team.bob), "upheld", answer)
        assert decided.status_code == 200, decided.text
        assert client.post("/api/v1/check", json={"number": LISTED}).json()["found"] is False
        read = case_status(client, code).json()
        assert (read["status"], read["answer"]) == ("upheld", answer)
    session.expire_all()
    assert session.exec(select(AlertIdentifier.kind)).all() == ["plate"]
    # The alert with something else to recognise the client by stays, corrected for all;
    # the one that named only this number is withdrawn from all.
    assert session.get(Alert, alert.id).status == "published"  # type: ignore[union-attr]
    [update] = alerts_service.updates(session, alert_id=alert.id)  # type: ignore[arg-type]
    assert "Correction" in crypto.cipher.decrypt(update.text_enc, purpose="alert_update.text")
    updates = session.exec(select(Delivery).where(Delivery.kind == "update")).all()
    assert {d.alert_id for d in updates} == {alert.id} and len(updates) == 3
    assert session.get(Alert, alone.id).status == "retracted"  # type: ignore[union-attr]
    retractions = session.exec(select(Delivery).where(Delivery.kind == "retraction")).all()
    assert {d.alert_id for d in retractions} == {alone.id} and len(retractions) == 3
    row = session.exec(select(Objection)).one()
    assert row.reason_enc is None and row.contact_enc is None, "evidence goes at the decision"
    counted = {t.name: t.count for t in session.exec(select(Tally))}
    assert counted == {
        "checks": 2,
        "checks.hit": 1,
        "objections.received": 1,
        "objections.upheld": 1,
    }
    entries = session.exec(
        select(AuditEntry).where(col(AuditEntry.action).startswith("objection"))
    ).all()
    audit_text = " ".join(f"{e.action} {e.target_type} {e.target_id}" for e in entries)
    assert "objection.upheld" in audit_text
    for secret in (LISTED, "612345678", REASON, CONTACT, answer, code):
        assert secret not in audit_text


def test_partly_upheld_an_alert_stays_even_with_nothing_else_and_gets_a_correction(
    client: TestClient,
    session: Session,
    crypto: Crypto,
    team: Team,
    auth: Callable[[Any], dict[str, str]],
) -> None:
    add_sms_subscribers(session, crypto, 2)
    alert = publish_alert(session, crypto, identifiers=[("phone", LISTED)])
    sent(session)
    objection(client, LISTED)
    assert decide(client, auth(team.bob), "partly_upheld", "The number is out.").status_code == 200
    session.expire_all()
    assert session.exec(select(AlertIdentifier)).first() is None
    assert session.get(Alert, alert.id).status == "published"  # type: ignore[union-attr]
    [update] = alerts_service.updates(session, alert_id=alert.id)  # type: ignore[arg-type]
    news = alerts_service.update_text(update, cipher=crypto.cipher)
    view = alerts_service.view(session, alert=alert, cipher=crypto.cipher)
    sms = {
        lang: render_update_sms(view, lang, text=news.text, texts=news.texts) for lang in LANGUAGES
    }
    # Each subscriber reads the one sentence in their own language, not three languages.
    assert "Correctie: een van de kenmerken" in sms["nl"] and "Correction" not in sms["nl"]
    assert "แก้ไข: ลบรายละเอียด" in sms["th"] and "Correction" not in sms["th"]
    assert "Поправка:" in sms["bg"] and "Corectare:" in sms["ro"]
    assert [lang for lang, s in sms.items() if "Correction" in s] == ["en"]
    assert len(session.exec(select(Delivery).where(Delivery.kind == "update")).all()) == 2


def test_rejected_nothing_changes_but_the_answer(
    client: TestClient,
    session: Session,
    crypto: Crypto,
    team: Team,
    auth: Callable[[Any], dict[str, str]],
) -> None:
    publish_alert(session, crypto)
    code = objection(client, LISTED).json()["case_code"]
    assert decide(client, auth(team.bob), "rejected", "Several reports name it.").status_code == 200
    again = decide(client, auth(team.bob), "upheld", "Changed my mind.")
    assert again.status_code == 409, "decided once"
    session.expire_all()
    assert len(session.exec(select(AlertIdentifier)).all()) == 1
    assert case_status(client, code).json()["status"] == "rejected"


def test_a_late_objection_is_marked_and_only_admins_see_the_queue(
    client: TestClient,
    session: Session,
    team: Team,
    outreach: Outreach,
    auth: Callable[[Any], dict[str, str]],
) -> None:
    objection(client, UNLISTED)
    row = session.exec(select(Objection)).one()
    row.deadline_at = utcnow() - timedelta(days=1)
    session.add(row)
    session.commit()
    [item] = client.get("/api/v1/moderation/objections", headers=auth(team.bob)).json()
    assert item["late"] is True
    assert client.get("/api/v1/moderation/objections").status_code == 401
    for account in (team.alice, outreach.olga):
        response = client.get("/api/v1/moderation/objections", headers=auth(account))
        assert response.status_code == 403


def page_without_code(text: str) -> str:
    return re.sub(r'id="case-code">[^<]+<', "", text)


def test_the_objection_page_in_dutch_answers_the_same_for_listed_and_unlisted(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    publish_alert(session, crypto)
    form = client.get("/nl/objection")
    assert form.status_code == 200 and "Bezwaar maken tegen een waarschuwing" in form.text
    pages = []
    for value in (LISTED, UNLISTED):
        sent = client.post(
            "/nl/objection", data={"kind": "phone", "value": value, "reason": REASON}
        )
        assert sent.status_code == 201
        assert re.search(r'id="case-code">[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}<', sent.text)
        pages.append(page_without_code(sent.text))
    assert pages[0] == pages[1]
    code = re.search(r'id="case-code">([^<]+)<', sent.text)
    assert code
    read = client.post("/nl/objection/status", data={"case_code": code[1].lower()})
    assert read.status_code == 200 and 'data-status="received"' in read.text
    assert "Ontvangen: een beheerder antwoordt uiterlijk" in read.text
    wrong = client.post("/nl/objection/status", data={"case_code": "K7QF-3MZP-XW4D"})
    assert wrong.status_code == 404 and "Er is geen bezwaar met deze zaakcode" in wrong.text


def test_the_objection_page_names_each_problem_and_keeps_nothing(
    client: TestClient, session: Session
) -> None:
    page = client.post("/en/objection", data={"kind": "phone", "value": "call me", "reason": ""})
    assert page.status_code == 422
    assert "This is not a phone number we can use" in page.text
    assert "Please fill this in." in page.text
    assert 'value="call me"' in page.text, "what was typed stays in the form"
    assert session.exec(select(Objection)).first() is None


def test_the_admins_page_decides_after_asking(
    browser_like: Callable[[], TestClient],
    session: Session,
    crypto: Crypto,
    team: Team,
) -> None:
    publish_alert(session, crypto)
    client = browser_like()
    assert objection(client, LISTED, contact=CONTACT).status_code == 201
    log_in(client, "bob")
    page = client.get("/mod/objections")
    assert page.status_code == 200 and REASON in page.text and CONTACT in page.text
    objection_id = session.exec(select(Objection.id)).one()
    fields = {
        "csrf_token": csrf(client, "/mod/objections"),
        "objection_id": str(objection_id),
        "answer": "Removed.",
        "outcome": "upheld",
    }
    asked = client.post("/mod/objections", data=fields)
    assert asked.status_code == 200 and f"Uphold objection {objection_id}?" in asked.text
    session.expire_all()
    assert session.get(Objection, objection_id).status == "received"  # type: ignore[union-attr]
    missing = client.post("/mod/objections", data={**fields, "answer": " "})
    assert missing.status_code == 422 and "write the answer" in missing.text
    done = client.post("/mod/objections", data={**fields, "confirmed": "yes"})
    assert done.status_code == 303
    session.expire_all()
    assert session.get(Objection, objection_id).status == "upheld"  # type: ignore[union-attr]
    assert session.exec(select(AlertIdentifier)).first() is None

    moderator = browser_like()
    log_in(moderator, "alice")
    assert moderator.get("/mod/objections").status_code == 403
