"""The review workflow through the API: queue, claims, every decision, four eyes, audit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, func, select

from alerts.models import Delivery, Subscriber, SubscriberRegion
from app.db import utcnow
from app.i18n import LANGUAGES
from app.reports.models import Report
from app.settings import Settings
from moderation.audit import AppendOnlyError
from moderation.models import AuditEntry
from tests.conftest import Team
from tests.helpers import report_body

Auth = Callable[[Any], dict[str, str]]
M = "/api/v1/moderation"
STORY = "He grabbed me. My name is Anna, call 06 11122233 if you need me. His number: 0612345678."


def submit(client: TestClient, **overrides: Any) -> str:
    body = report_body(what_happened=STORY, perpetrator={"phones": ["0612345678"]}, **overrides)
    response = client.post("/api/v1/reports", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["receipt_code"])


def report_id(session: Session, nth: int = -1) -> int:
    ids = session.exec(select(Report.id).order_by(Report.id)).all()
    return int(ids[nth])  # type: ignore[arg-type]


def claim(client: TestClient, headers: dict[str, str], rid: int) -> dict[str, Any]:
    response = client.post(f"{M}/reports/{rid}/claim", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def publish_body(version: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": version,
        "text": "Grabbed a worker and would not let her leave.",
        "severity": "high",
        "regions": ["GM0106"],
        "categories": ["physical_violence"],
        "identifiers": [{"kind": "phone", "value": "06 12345678"}],
        "expires_in_days": 30,
    }
    body.update(overrides)
    return body


def preview_body(**overrides: Any) -> dict[str, Any]:
    body = publish_body(0, **overrides)
    del body["version"], body["expires_in_days"]
    return body


def claimed_report(client: TestClient, session: Session, auth: Auth, who: Any) -> tuple[int, int]:
    submit(client)
    rid = report_id(session)
    return rid, int(claim(client, auth(who), rid)["version"])


def pending_alert(client: TestClient, session: Session, auth: Auth, team: Team) -> str:
    """A critical alert by alice, waiting for a second moderator: its reference."""
    rid, version = claimed_report(client, session, auth, team.alice)
    decision = client.post(
        f"{M}/reports/{rid}/publish",
        headers=auth(team.alice),
        json=publish_body(version, severity="critical"),
    ).json()
    assert decision["alert_status"] == "pending_approval"
    return str(decision["alert_ref"])


# ---- the queue -----------------------------------------------------------------------------


def test_queue_is_most_urgent_first_then_oldest_and_never_shows_text(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    submit(client, categories=["fake_booking"])
    submit(client, categories=["sexual_violence"])
    submit(client, categories=["threats"])
    submit(client, categories=["physical_violence"])
    response = client.get(f"{M}/queue", headers=auth(team.alice))
    assert response.status_code == 200
    items = response.json()
    assert [i["urgency"] for i in items] == [3, 3, 2, 1]
    assert items[0]["id"] < items[1]["id"], "equally urgent: the older one first"
    assert items[0]["region"] == {"code": "GM0106", "name": "Assen", "level": "municipality"}
    for leak in ["grabbed", "Anna", "11122233", "12345678"]:
        assert leak not in response.text


def test_queue_shows_reports_and_alerts_naming_the_same_person(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    first, version = claimed_report(client, session, auth, team.alice)
    submit(client)
    items = {i["id"]: i for i in client.get(f"{M}/queue", headers=auth(team.alice)).json()}
    assert items[first]["matching_reports"] == 1
    client.post(
        f"{M}/reports/{first}/publish", headers=auth(team.alice), json=publish_body(version)
    )
    [waiting] = client.get(f"{M}/queue", headers=auth(team.alice)).json()
    assert (waiting["matching_reports"], waiting["matching_alerts"]) == (1, 1)


# ---- claims ---------------------------------------------------------------------------------


def test_a_claim_keeps_colleagues_out_and_can_be_renewed(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    submit(client)
    rid = report_id(session)
    first = claim(client, auth(team.alice), rid)
    assert first["status"] == "in_review" and first["claimed_by"] == "alice"

    taken = client.post(f"{M}/reports/{rid}/claim", headers=auth(team.carol))
    assert taken.status_code == 409
    assert taken.json()["detail"].startswith("alice is working on this report until ")
    assert client.get(f"{M}/reports/{rid}", headers=auth(team.carol)).status_code == 409

    renewed = claim(client, auth(team.alice), rid)
    assert renewed["claim_expires_at"] >= first["claim_expires_at"]
    [item] = client.get(f"{M}/queue", headers=auth(team.carol)).json()
    assert item["claimed_by"] == "alice"


def test_a_lapsed_claim_can_be_taken_over(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    rid, version = claimed_report(client, session, auth, team.alice)
    report = session.get(Report, rid)
    assert report is not None
    report.claim_expires_at = utcnow() - timedelta(minutes=1)
    session.add(report)
    session.commit()
    assert claim(client, auth(team.carol), rid)["claimed_by"] == "carol"
    late = client.post(
        f"{M}/reports/{rid}/publish", headers=auth(team.alice), json=publish_body(version)
    )
    assert late.status_code == 409, "alice's claim lapsed; she cannot decide any more"


def test_release_gives_the_report_back(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    rid, _ = claimed_report(client, session, auth, team.alice)
    assert client.post(f"{M}/reports/{rid}/release", headers=auth(team.carol)).status_code == 409
    released = client.post(f"{M}/reports/{rid}/release", headers=auth(team.alice))
    assert released.status_code == 200
    assert released.json()["status"] == "submitted"
    assert claim(client, auth(team.carol), rid)["claimed_by"] == "carol"


def test_claim_next_takes_the_most_urgent_free_report(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    submit(client, categories=["fake_booking"])
    submit(client, categories=["robbery"])
    submit(client, categories=["sexual_violence"])
    ids = session.exec(select(Report.id).order_by(Report.id)).all()
    first = client.post(f"{M}/queue/next", headers=auth(team.alice)).json()
    second = client.post(f"{M}/queue/next", headers=auth(team.carol)).json()
    third = client.post(f"{M}/queue/next", headers=auth(team.bob)).json()
    assert [first["report_id"], second["report_id"], third["report_id"]] == [ids[2], ids[1], ids[0]]
    empty = client.post(f"{M}/queue/next", headers=auth(team.bob))
    assert empty.status_code == 404


# ---- reading --------------------------------------------------------------------------------


def test_the_claimant_reads_the_report_with_redaction_help(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    rid, _ = claimed_report(client, session, auth, team.alice)
    review = client.get(f"{M}/reports/{rid}", headers=auth(team.alice)).json()
    assert review["what_happened"] == STORY
    flags = {
        (f["kind"], f["text"], f["reported_identifier"]) for f in review["what_happened_flags"]
    }
    assert ("name", "Anna", False) in flags
    assert ("phone", "06 11122233", False) in flags
    assert ("phone", "0612345678", True) in flags, "the client's own number is marked as such"
    assert "Anna" not in review["suggested_text"] and "11122233" not in review["suggested_text"]
    assert "0612345678" not in review["suggested_text"], "shown masked from the identifiers"
    assert review["identifiers"] == [
        {"kind": "phone", "value": "+31612345678", "other_reports": [], "live_alerts": []}
    ]


# ---- decisions ----------------------------------------------------------------------------------


def test_publishing_creates_a_live_alert(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    code = submit(client)
    rid = report_id(session)
    version = claim(client, auth(team.alice), rid)["version"]
    response = client.post(
        f"{M}/reports/{rid}/publish", headers=auth(team.alice), json=publish_body(version)
    )
    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["status"] == "published" and decision["alert_status"] == "published"
    assert decision["alert_ref"].startswith("RF-")

    alert = client.get(f"{M}/alerts/{decision['alert_ref']}", headers=auth(team.carol)).json()
    assert alert["text"] == "Grabbed a worker and would not let her leave."
    assert alert["regions"] == ["Assen"] and alert["published_by"] == "alice"
    assert alert["identifiers"] == [{"kind": "phone", "value": "+31612345678"}]
    assert "+31 6 1234**78" in alert["sms"]["nl"]["text"], "identifiers are masked in messages"
    assert alert["reports"] == [rid]
    status = client.get("/api/v1/reports/status", headers={"X-Receipt-Code": code}).json()
    assert status["status"] == "published"


def test_critical_alerts_need_a_second_moderator(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    ref = pending_alert(client, session, auth, team)

    own = client.post(f"{M}/alerts/{ref}/approve", headers=auth(team.alice))
    assert own.status_code == 403
    assert "different moderator" in own.json()["detail"]
    approved = client.post(f"{M}/alerts/{ref}/approve", headers=auth(team.carol))
    assert approved.json() == {"ref": ref, "status": "published"}
    again = client.post(f"{M}/alerts/{ref}/approve", headers=auth(team.bob))
    assert again.status_code == 409
    alert = client.get(f"{M}/alerts/{ref}", headers=auth(team.bob)).json()
    assert (alert["published_by"], alert["approved_by"]) == ("alice", "carol")


def subscribers_in_assen_drenthe_and_amsterdam(session: Session) -> None:
    for n, region in enumerate(["GM0106", "NL-DR", "GM0363"]):
        subscriber = Subscriber(
            channel="sms", contact_enc=b"x" * 40, contact_index=bytes([n]) * 32, language="nl",
            created_at=utcnow(), confirmed_at=utcnow(), membership="verified",
        )  # fmt: skip
        session.add(subscriber)
        session.flush()
        session.add(SubscriberRegion(subscriber_id=subscriber.id, region_code=region))  # type: ignore[arg-type]
    session.commit()


def test_alerts_reaching_many_subscribers_need_a_second_moderator(
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Settings],
    session: Session,
    team: Team,
    auth: Auth,
) -> None:
    subscribers_in_assen_drenthe_and_amsterdam(session)
    with make_client(make_settings(four_eyes_threshold=1)) as client:
        rid, version = claimed_report(client, session, auth, team.alice)
        preview = client.post(f"{M}/preview", headers=auth(team.alice), json=preview_body()).json()
        assert preview["recipients"] == 2, "Assen's and Drenthe's subscribers, not Amsterdam's"
        assert preview["needs_approval"] is True
        decision = client.post(
            f"{M}/reports/{rid}/publish", headers=auth(team.alice), json=publish_body(version)
        )
    assert decision.json()["alert_status"] == "pending_approval"


def test_a_decision_on_a_stale_version_is_refused(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    code = submit(client)
    rid = report_id(session)
    version = claim(client, auth(team.alice), rid)["version"]
    stale = client.post(
        f"{M}/reports/{rid}/reject",
        headers=auth(team.alice),
        json={"version": version - 1, "reason": "x"},
    )
    assert stale.status_code == 409
    assert "changed since you opened it" in stale.json()["detail"]
    client.post("/api/v1/reports/withdraw", json={"receipt_code": code})
    gone = client.post(
        f"{M}/reports/{rid}/publish", headers=auth(team.alice), json=publish_body(version)
    )
    assert gone.status_code == 409, "the reporter withdrew it meanwhile"


def test_decisions_need_your_claim(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    submit(client)
    rid = report_id(session)
    unclaimed = client.post(
        f"{M}/reports/{rid}/publish", headers=auth(team.alice), json=publish_body(1)
    )
    assert unclaimed.status_code == 409
    version = claim(client, auth(team.alice), rid)["version"]
    theirs = client.post(
        f"{M}/reports/{rid}/reject",
        headers=auth(team.carol),
        json={"version": version, "reason": "x"},
    )
    assert theirs.status_code == 409


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("reject", "publish"),
        ("publish", "reject"),
        ("reject", "duplicate"),
        ("publish", "request-info"),
    ],
)
def test_a_decided_report_cannot_be_decided_again(
    client: TestClient, session: Session, team: Team, auth: Auth, first: str, second: str
) -> None:
    rid, version = claimed_report(client, session, auth, team.alice)
    bodies = {
        "reject": {"version": version, "reason": "not credible"},
        "publish": publish_body(version),
        "duplicate": {"version": version, "alert_ref": "RF-000000"},
        "request-info": {"version": version, "question": "?"},
    }
    assert (
        client.post(
            f"{M}/reports/{rid}/{first}", headers=auth(team.alice), json=bodies[first]
        ).status_code
        == 200
    )
    again = client.post(
        f"{M}/reports/{rid}/{second}", headers=auth(team.alice), json=bodies[second]
    )
    assert again.status_code == 409
    assert client.post(f"{M}/reports/{rid}/claim", headers=auth(team.carol)).status_code == 409


def test_asking_the_reporter_and_their_answer(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    code = submit(client)
    rid = report_id(session)
    version = claim(client, auth(team.alice), rid)["version"]
    asked = client.post(
        f"{M}/reports/{rid}/request-info",
        headers=auth(team.alice),
        json={"version": version, "question": "Which hotel?"},
    )
    assert asked.json()["status"] == "needs_info"
    assert client.get(f"{M}/queue", headers=auth(team.alice)).json() == [], (
        "it waits for the reporter"
    )
    status = client.get("/api/v1/reports/status", headers={"X-Receipt-Code": code}).json()
    assert status["questions"][0]["text"] == "Which hotel?"

    client.post(
        "/api/v1/reports/reply", json={"receipt_code": code, "message": "The one by the station."}
    )
    [back] = client.get(f"{M}/queue", headers=auth(team.alice)).json()
    assert back["id"] == rid and back["claimed_by"] is None
    claim(client, auth(team.carol), rid)
    review = client.get(f"{M}/reports/{rid}", headers=auth(team.carol)).json()
    assert [(m["author"], m["text"]) for m in review["messages"]] == [
        ("moderator", "Which hotel?"),
        ("reporter", "The one by the station."),
    ]


def test_duplicates_join_an_existing_alert(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    first, version = claimed_report(client, session, auth, team.alice)
    ref = client.post(
        f"{M}/reports/{first}/publish", headers=auth(team.alice), json=publish_body(version)
    ).json()["alert_ref"]
    second, version = claimed_report(client, session, auth, team.carol)
    review = client.get(f"{M}/reports/{second}", headers=auth(team.carol)).json()
    assert [a["ref"] for a in review["related_alerts"]] == [ref]
    assert review["identifiers"][0]["live_alerts"] == [ref]

    unknown = client.post(
        f"{M}/reports/{second}/duplicate",
        headers=auth(team.carol),
        json={"version": version, "alert_ref": "RF-ZZZZZZ"},
    )
    assert unknown.status_code == 422
    linked = client.post(
        f"{M}/reports/{second}/duplicate",
        headers=auth(team.carol),
        json={"version": version, "alert_ref": ref.lower()},
    )
    assert linked.json()["status"] == "duplicate"
    alert = client.get(f"{M}/alerts/{ref}", headers=auth(team.carol)).json()
    assert alert["report_count"] == 2 and alert["reports"] == [first, second]


def test_retracting(client: TestClient, session: Session, team: Team, auth: Auth) -> None:
    rid, version = claimed_report(client, session, auth, team.alice)
    ref = client.post(
        f"{M}/reports/{rid}/publish", headers=auth(team.alice), json=publish_body(version)
    ).json()["alert_ref"]
    assert (
        client.post(
            f"{M}/alerts/{ref}/retract", headers=auth(team.carol), json={"reason": ""}
        ).status_code
        == 422
    )
    retracted = client.post(
        f"{M}/alerts/{ref}/retract", headers=auth(team.carol), json={"reason": "wrong number"}
    )
    assert retracted.json()["status"] == "retracted"
    assert (
        client.post(
            f"{M}/alerts/{ref}/retract", headers=auth(team.carol), json={"reason": "x"}
        ).status_code
        == 409
    )
    assert client.post(f"{M}/alerts/{ref}/approve", headers=auth(team.bob)).status_code == 409
    detail = client.get(f"{M}/alerts/{ref}", headers=auth(team.bob)).json()
    assert detail["notes"][0]["text"] == "wrong number"


def test_an_update_goes_to_everyone_the_alert_went_to(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    subscribers_in_assen_drenthe_and_amsterdam(session)
    rid, version = claimed_report(client, session, auth, team.alice)
    ref = client.post(
        f"{M}/reports/{rid}/publish", headers=auth(team.alice), json=publish_body(version)
    ).json()["alert_ref"]
    sent_to = session.exec(select(func.count()).where(Delivery.kind == "alert")).one()
    assert sent_to == 2, "the alert is for Assen: Assen's and Drenthe's subscribers"
    news = "Seen again near the station on Friday night, now in a grey van."

    empty = client.post(f"{M}/alerts/{ref}/updates", headers=auth(team.bob), json={"text": " "})
    assert empty.status_code == 422
    assert [(e["field"], e["type"]) for e in empty.json()["detail"]] == [
        ("text", "string_too_short")
    ]
    first = client.post(f"{M}/alerts/{ref}/updates", headers=auth(team.bob), json={"text": news})
    assert first.status_code == 201
    assert first.json() == {
        "ref": ref,
        "number": 1,
        "recipients": sent_to,
        "fallback_languages": list(LANGUAGES),  # text alone: every language gets it
    }
    second = client.post(f"{M}/alerts/{ref}/updates", headers=auth(team.bob), json={"text": "x"})
    assert second.json()["number"] == 2

    detail = client.get(f"{M}/alerts/{ref}", headers=auth(team.alice)).json()
    [one, _] = detail["updates"]
    assert (one["number"], one["text"], one["recipients"]) == (1, news, sent_to)
    assert one["sms"]["en"]["text"].startswith(f"redflag: news on alert {ref} (")
    assert one["sms"]["nl"]["text"].endswith(f"{news} Afmelden: STOP")

    audit_log = client.get(f"{M}/audit", headers=auth(team.bob)).json()
    updates = [e for e in audit_log if e["action"] == "alert.update"]
    assert [(e["moderator"], e["target_id"]) for e in updates] == [("bob", ref), ("bob", ref)]
    assert "grey van" not in str(audit_log)

    client.post(f"{M}/alerts/{ref}/retract", headers=auth(team.carol), json={"reason": "wrong"})
    late = client.post(f"{M}/alerts/{ref}/updates", headers=auth(team.bob), json={"text": news})
    assert late.status_code == 409
    assert "retracted" in str(late.json()["detail"])


@pytest.mark.parametrize(
    ("change", "field", "kind"),
    [
        ({"regions": ["GM9999"]}, "regions.0", "unknown_region"),
        (
            {"identifiers": [{"kind": "phone", "value": "123"}]},
            "identifiers.0.value",
            "invalid_phone",
        ),
        ({"severity": "apocalyptic"}, "severity", "enum"),
        ({"text": ""}, "text", "string_too_short"),
        ({"text": "x" * 481}, "text", "string_too_long"),
        ({"expires_in_days": 0}, "expires_in_days", "greater_than_equal"),
        ({"regions": []}, "regions", "too_short"),
    ],
)
def test_publishing_bad_content_names_the_field(
    client: TestClient,
    session: Session,
    team: Team,
    auth: Auth,
    change: dict[str, Any],
    field: str,
    kind: str,
) -> None:
    rid, version = claimed_report(client, session, auth, team.alice)
    response = client.post(
        f"{M}/reports/{rid}/publish", headers=auth(team.alice), json=publish_body(version, **change)
    )
    assert response.status_code == 422
    error = next(e for e in response.json()["detail"] if e["field"] == field)
    assert error["type"] == kind
    assert session.get(Report, rid).status == "in_review"  # type: ignore[union-attr]


def test_preview_shows_every_language_with_its_length(
    client: TestClient, team: Team, auth: Auth
) -> None:
    short = client.post(f"{M}/preview", headers=auth(team.alice), json=preview_body(text="Short."))
    body = short.json()
    assert set(body["sms"]) == set(LANGUAGES)
    assert body["sms"]["en"]["encoding"] == "GSM-7" and body["sms"]["en"]["segments"] == 1
    # Bulgarian and Thai are always UCS-2: what that costs shows, part by part.
    assert {body["sms"][lang]["encoding"] for lang in ("bg", "th")} == {"UCS-2"}
    assert body["sms"]["th"]["segments"] > body["sms"]["en"]["segments"]
    assert body["sms"]["en"]["text"].startswith("redflag DANGER: violence.")
    assert (body["recipients"], body["needs_approval"]) == (0, False)

    long_text = client.post(
        f"{M}/preview", headers=auth(team.alice), json=preview_body(text="Ω ¡pelígro! " * 40)
    )
    sms = long_text.json()["sms"]["es"]
    assert sms["encoding"] == "UCS-2" and sms["too_long"] is True


# ---- audit -------------------------------------------------------------------------------------


def test_every_step_is_in_the_audit_log_without_content(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    rid, version = claimed_report(client, session, auth, team.alice)
    client.get(f"{M}/reports/{rid}", headers=auth(team.alice))
    ref = client.post(
        f"{M}/reports/{rid}/publish",
        headers=auth(team.alice),
        json=publish_body(version, severity="critical"),
    ).json()["alert_ref"]
    client.post(f"{M}/alerts/{ref}/approve", headers=auth(team.carol))

    assert client.get(f"{M}/audit", headers=auth(team.alice)).status_code == 403
    response = client.get(f"{M}/audit", headers=auth(team.bob))
    steps = [
        (e["moderator"], e["action"], e["target_type"], e["target_id"])
        for e in reversed(response.json())
    ]
    created = [
        (None, "moderator.create", "moderator", str(m.id))  # the team, made by no admin
        for m in (team.alice, team.carol, team.bob)
    ]
    assert steps == [
        *created,
        ("alice", "report.claim", "report", str(rid)),
        ("alice", "report.view", "report", str(rid)),
        ("alice", "report.publish", "report", str(rid)),
        ("alice", "alert.submit_for_approval", "alert", ref),
        ("carol", "alert.approve", "alert", ref),
    ]
    for leak in ["grabbed", "Anna", "12345678", "Grabbed a worker"]:
        assert leak not in response.text


def test_the_audit_log_is_append_only(session: Session, team: Team) -> None:
    from moderation import audit

    audit.record(
        session, moderator_id=team.bob.id, action="test", target_type="report", target_id=1
    )
    session.commit()
    entry = session.exec(select(AuditEntry)).first()
    assert entry is not None
    entry.action = "something else"
    with pytest.raises(AppendOnlyError):
        session.flush()
    session.rollback()
    session.delete(session.exec(select(AuditEntry)).first())
    with pytest.raises(AppendOnlyError):
        session.flush()
    session.rollback()
    for statement in ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"]:
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.exec(text(statement))  # type: ignore[call-overload]
    kept = session.exec(select(AuditEntry.action).order_by(col(AuditEntry.id))).all()
    assert kept == ["moderator.create"] * 3 + ["test"]  # the team's accounts, then ours


def test_an_alert_longer_than_the_sms_cap_is_refused(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    rid, version = claimed_report(client, session, auth, team.alice)
    long_text = "He followed a worker home and waited outside her door for hours. " * 6
    refused = client.post(
        f"{M}/reports/{rid}/publish",
        headers=auth(team.alice),
        json=publish_body(version, text=long_text[:480]),
    )
    assert refused.status_code == 422
    [error] = refused.json()["detail"]
    assert error["field"] == "text" and error["type"] == "sms_too_long"
    assert (
        "SMS would be 4 messages (GSM-7); the limit is 3: shorten the text by about" in error["msg"]
    )
    assert session.get(Report, rid).status == "in_review"  # type: ignore[union-attr]
