"""Issue 13's /mod review work through the API: sending a pending alert back to its author
and resubmitting it, an alert's deliveries by channel, and the live alerts a report may be
a duplicate of."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from alerts.models import Delivery
from app.crypto import Crypto
from moderation.models import AuditEntry, ModerationNote
from tests.conftest import Team
from tests.helpers import add_sms_subscribers, publish_alert
from tests.test_moderation_api import Auth, M, claimed_report, pending_alert, publish_body

NOTE = "Leave out the station's name: only the reporter was there."


def test_an_approver_sends_a_pending_alert_back_and_its_author_resubmits_it(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    ref = pending_alert(client, session, auth, team)
    own = client.post(f"{M}/alerts/{ref}/send-back", headers=auth(team.alice), json={"note": "x"})
    assert own.status_code == 403, "not by its own author"
    empty = client.post(f"{M}/alerts/{ref}/send-back", headers=auth(team.carol), json={"note": ""})
    assert empty.status_code == 422 and empty.json()["detail"][0]["field"] == "note"

    sent = client.post(f"{M}/alerts/{ref}/send-back", headers=auth(team.carol), json={"note": NOTE})
    assert sent.json() == {"ref": ref, "status": "pending_approval"}
    alert = client.get(f"{M}/alerts/{ref}", headers=auth(team.alice)).json()
    assert alert["sent_back"] is True
    assert (alert["sent_back_note"]["text"], alert["sent_back_note"]["by"]) == (NOTE, "carol")
    listed = client.get(
        f"{M}/alerts", params={"status": "pending_approval"}, headers=auth(team.alice)
    )
    assert [a["sent_back"] for a in listed.json()] == [True]
    stored = session.exec(select(ModerationNote.body_enc)).all()
    assert stored and all(NOTE.encode() not in blob for blob in stored), "encrypted at rest"

    blocked = client.post(f"{M}/alerts/{ref}/approve", headers=auth(team.carol))
    assert blocked.status_code == 409 and "sent back to its author" in blocked.json()["detail"]
    changed = {
        **publish_body(0, severity="critical", text="Grabbed a worker and would not let go."),
        "regions": ["GM0106", "NL-GR"],
    }
    del changed["version"], changed["expires_in_days"]
    by_other = client.post(f"{M}/alerts/{ref}/resubmit", headers=auth(team.carol), json=changed)
    assert by_other.status_code == 403
    resubmitted = client.post(f"{M}/alerts/{ref}/resubmit", headers=auth(team.alice), json=changed)
    assert resubmitted.json() == {"ref": ref, "status": "pending_approval"}, resubmitted.text

    alert = client.get(f"{M}/alerts/{ref}", headers=auth(team.carol)).json()
    assert alert["text"] == "Grabbed a worker and would not let go."
    assert alert["region_codes"] == ["GM0106", "NL-GR"]
    assert alert["sent_back"] is False and alert["sent_back_note"] is None
    session.expire_all()
    assert session.exec(select(ModerationNote)).all() == [], "the note goes at resubmission"
    again = client.post(f"{M}/alerts/{ref}/resubmit", headers=auth(team.alice), json=changed)
    assert again.status_code == 409, "nothing to resubmit now"
    approved = client.post(f"{M}/alerts/{ref}/approve", headers=auth(team.carol))
    assert approved.json() == {"ref": ref, "status": "published"}

    logged = session.exec(
        select(AuditEntry.action, AuditEntry.target_id).where(
            col(AuditEntry.action).in_(["alert.send_back", "alert.resubmit"])
        )
    ).all()
    assert sorted(logged) == [("alert.resubmit", ref), ("alert.send_back", ref)]
    every_cell = " ".join(
        f"{e.action} {e.target_type} {e.target_id}" for e in session.exec(select(AuditEntry))
    )
    assert "station" not in every_cell, "never the note's text"


def test_only_a_pending_alert_can_be_sent_back(
    client: TestClient, session: Session, team: Team, auth: Auth, crypto: Crypto
) -> None:
    ref = publish_alert(session, crypto).ref
    response = client.post(
        f"{M}/alerts/{ref}/send-back", headers=auth(team.carol), json={"note": NOTE}
    )
    assert response.status_code == 409 and "only an alert waiting for approval" in response.text


def test_an_alert_counts_its_deliveries_by_channel(
    client: TestClient, session: Session, team: Team, auth: Auth, crypto: Crypto
) -> None:
    add_sms_subscribers(session, crypto, 4)
    alert = publish_alert(session, crypto)
    rows = session.exec(select(Delivery.id).where(Delivery.alert_id == alert.id)).all()
    assert len(rows) == 4
    for row_id, status in zip(rows, ["delivered", "failed", "sent"], strict=False):
        session.execute(update(Delivery).where(col(Delivery.id) == row_id).values(status=status))
    session.commit()

    detail = client.get(f"{M}/alerts/{alert.ref}", headers=auth(team.carol)).json()
    assert detail["deliveries"] == [
        {"kind": "alert", "channel": "sms", "waiting": 1, "sent": 1, "delivered": 1,
         "failed": 1, "cancelled": 0},
    ]  # fmt: skip
    client.post(f"{M}/alerts/{alert.ref}/retract", headers=auth(team.carol), json={"reason": "x"})
    detail = client.get(f"{M}/alerts/{alert.ref}", headers=auth(team.carol)).json()
    by_kind = {d["kind"]: d for d in detail["deliveries"]}
    assert by_kind["alert"]["cancelled"] == 1 and by_kind["alert"]["waiting"] == 0
    assert by_kind["retraction"]["waiting"] == 2, "to those it went out to"


def test_a_report_lists_the_live_alerts_it_may_repeat(
    client: TestClient, session: Session, team: Team, auth: Auth, crypto: Crypto
) -> None:
    same_number = publish_alert(session, crypto, ["GM0363"], text="Hit a worker in Amsterdam.")
    same_town = publish_alert(session, crypto, ["GM0106"], identifiers=[], text="Robbed a worker.")
    province = publish_alert(session, crypto, ["NL-DR"], identifiers=[], text="Drenthe-wide.")
    elsewhere = publish_alert(session, crypto, ["GM0363"], identifiers=[], text="Elsewhere.")
    retracted = publish_alert(session, crypto, ["GM0106"], text="Taken back.")
    retracted.status = "retracted"
    session.add(retracted)
    session.commit()

    rid, _ = claimed_report(client, session, auth, team.alice)  # Assen, +31612345678
    review = client.get(f"{M}/reports/{rid}", headers=auth(team.alice)).json()
    found = {c["ref"]: c for c in review["duplicate_candidates"]}
    assert set(found) == {same_number.ref, same_town.ref, province.ref}
    assert elsewhere.ref not in found and retracted.ref not in found
    assert review["duplicate_candidates"][0]["ref"] == same_number.ref, "a shared number first"
    assert (found[same_number.ref]["same_identifier"], found[same_number.ref]["same_region"]) == (
        True,
        False,
    )
    assert found[same_town.ref]["text"] == "Robbed a worker."
    assert found[province.ref]["regions"] == ["Drenthe"]
