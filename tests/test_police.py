"""Police only by consent: what the reporter allows, an export only of a consenting report,
readable only after a second admin approves it, and a consent taken back until then."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.reports.models import Report
from app.tally import Tally
from moderation import accounts
from moderation.models import AuditEntry, Role
from moderation.police.models import PoliceExport
from tests.conftest import PASSWORD, Outreach, Team
from tests.helpers import report_body
from tests.test_moderation_pages import csrf
from tests.test_org_pages import log_in

CLIENT_PHONE = "+61 491 570 156"  # report_body's
WORDS = "He grabbed my arm and would not let me leave."  # report_body's


def file(client: TestClient, **fields: Any) -> str:
    body = report_body(**fields)
    if "police_consent" not in fields:
        del body["police_consent"]  # only the old field, as older apps send it
    response = client.post("/api/v1/reports", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["receipt_code"])


def consent_of(session: Session) -> list[str]:
    session.expire_all()
    return [r.police_consent for r in session.exec(select(Report).order_by(col(Report.id)))]


def test_the_reporter_chooses_what_the_police_may_have(
    client: TestClient, session: Session
) -> None:
    for choice in ("none", "intelligence", "contact"):
        file(client, police_consent=choice)
    file(client, consent_police=True)  # the old field, for one release: intelligence
    file(client, consent_police=False)
    file(client, police_consent="contact", consent_police=None)
    assert consent_of(session) == [
        "none", "intelligence", "contact", "intelligence", "none", "contact",
    ]  # fmt: skip
    disagree = client.post(
        "/api/v1/reports", json=report_body(police_consent="none", consent_police=True)
    )  # fmt: skip
    assert disagree.status_code == 422 and "police_consent" in str(disagree.json()["detail"])
    assert (
        client.post(
            "/api/v1/reports", json=report_body(police_consent="intelligence", consent_police=True)
        ).status_code
        == 201
    ), "agreeing is fine"
    wrong = client.post("/api/v1/reports", json=report_body(police_consent="everything"))
    assert wrong.status_code == 422 and "police_consent" in str(wrong.json()["detail"])


def test_the_web_form_asks_the_three_choices(client: TestClient, session: Session) -> None:
    form = client.get("/nl/report").text
    for value in ("none", "intelligence", "contact"):
        assert f'name="police_consent" value="{value}"' in form
    assert "Ik wil hulp om aangifte te doen" in form


def second_admin(session: Session) -> Any:
    dora = accounts.create(session, username="dora", password=PASSWORD, role=Role.admin)
    session.commit()
    return dora


def report_id(session: Session) -> int:
    return session.exec(select(Report.id).order_by(col(Report.id).desc())).first() or 0


def test_an_export_without_consent_is_refused(
    client: TestClient, session: Session, team: Team, auth: Callable[[Any], dict[str, str]]
) -> None:
    file(client, police_consent="none")
    url = f"/api/v1/moderation/reports/{report_id(session)}/police-export"
    refused = client.post(url, headers=auth(team.bob))
    assert refused.status_code == 409 and "did not consent" in refused.json()["detail"]
    assert session.exec(select(PoliceExport)).first() is None


def test_with_consent_a_second_admin_must_approve_before_anyone_reads_it(
    client: TestClient, session: Session, team: Team, auth: Callable[[Any], dict[str, str]]
) -> None:
    code = file(client, police_consent="contact")
    dora = second_admin(session)
    prepared = client.post(
        f"/api/v1/moderation/reports/{report_id(session)}/police-export", headers=auth(team.bob)
    )
    assert prepared.status_code == 201 and prepared.json()["status"] == "waiting"
    export_id = prepared.json()["id"]
    url = f"/api/v1/moderation/police-exports/{export_id}"
    early = client.get(f"{url}/package", headers=auth(dora))
    assert early.status_code == 409 and "second admin" in early.json()["detail"]
    same = client.post(f"{url}/approve", headers=auth(team.bob))
    assert same.status_code == 409 and "second admin" in same.json()["detail"]
    approved = client.post(f"{url}/approve", headers=auth(dora))
    assert approved.status_code == 200 and approved.json()["approved_by"] == "dora"
    package = client.get(f"{url}/package", headers=auth(team.bob))
    assert package.status_code == 200
    body = package.json()
    assert body["identifiers"] == [{"kind": "phone", "value": "+61491570156"}]
    assert body["description"] == "tall, grey coat"
    assert body["what_happened"] == WORDS, "with consent `contact` the reporter's own words"
    assert body["contact"] and "through the service" in body["contact"]
    assert code not in json.dumps(body) and code.replace("-", "") not in json.dumps(body)
    # Shared now: the reporter can no longer take it back, and is told so.
    late = client.post("/api/v1/reports/police-consent/withdraw", json={"receipt_code": code})
    assert late.status_code == 409
    status = client.get("/api/v1/reports/status", headers={"X-Receipt-Code": code}).json()
    assert (status["police_consent"], status["police_shared"]) == ("contact", True)
    entries = session.exec(
        select(AuditEntry).where(col(AuditEntry.action).startswith("police_export"))
    ).all()
    assert [e.action for e in entries] == [
        "police_export.prepare", "police_export.approve", "police_export.download",
    ]  # fmt: skip
    for entry in entries:
        assert entry.target_id == str(export_id)
    assert session.exec(select(Tally.count).where(Tally.name == "police.exports")).one() == 1


def test_anonymous_intelligence_leaves_the_reporters_words_out(
    client: TestClient, session: Session, team: Team, auth: Callable[[Any], dict[str, str]]
) -> None:
    file(client, police_consent="intelligence")
    dora = second_admin(session)
    export_id = client.post(
        f"/api/v1/moderation/reports/{report_id(session)}/police-export", headers=auth(team.bob)
    ).json()["id"]
    url = f"/api/v1/moderation/police-exports/{export_id}"
    assert client.post(f"{url}/approve", headers=auth(dora)).status_code == 200
    body = client.get(f"{url}/package", headers=auth(dora)).json()
    assert body["what_happened"] is None and body["contact"] is None
    assert WORDS not in json.dumps(body)
    assert body["municipality"] == "Assen" and body["categories"] == ["physical_violence"]


def test_the_reporter_takes_consent_back_before_approval(
    client: TestClient, session: Session, team: Team, auth: Callable[[Any], dict[str, str]]
) -> None:
    code = file(client, police_consent="intelligence")
    dora = second_admin(session)
    export_id = client.post(
        f"/api/v1/moderation/reports/{report_id(session)}/police-export", headers=auth(team.bob)
    ).json()["id"]
    taken_back = client.post("/api/v1/reports/police-consent/withdraw", json={"receipt_code": code})
    assert taken_back.status_code == 200 and taken_back.json()["police_consent"] == "none"
    url = f"/api/v1/moderation/police-exports/{export_id}"
    refused = client.post(f"{url}/approve", headers=auth(dora))
    assert refused.status_code == 409 and "withdrew" in refused.json()["detail"]
    listed = client.get("/api/v1/moderation/police-exports", headers=auth(dora)).json()
    assert [e["status"] for e in listed] == ["withdrawn"]
    assert client.get(f"{url}/package", headers=auth(dora)).status_code == 409


def test_only_admins_handle_police_exports(
    client: TestClient,
    session: Session,
    team: Team,
    outreach: Outreach,
    auth: Callable[[Any], dict[str, str]],
) -> None:
    file(client, police_consent="contact")
    url = f"/api/v1/moderation/reports/{report_id(session)}/police-export"
    assert client.post(url).status_code == 401
    for account in (team.alice, outreach.olga):
        assert client.post(url, headers=auth(account)).status_code == 403
        assert (
            client.get("/api/v1/moderation/police-exports", headers=auth(account)).status_code
            == 403
        )


def test_the_status_page_takes_the_consent_back(client: TestClient, session: Session) -> None:
    code = file(client, police_consent="contact")
    page = client.post("/nl/status", data={"receipt_code": code})
    assert 'id="police"' in page.text and "Ik wil hulp om aangifte te doen" in page.text
    done = client.post("/nl/status/police", data={"receipt_code": code})
    assert done.status_code == 200 and "de politie krijgt niets van deze melding" in done.text
    assert consent_of(session) == ["none"]
    assert 'id="police"' not in done.text


PATH = "/mod/police-exports"


def client_file_none(client: TestClient, session: Session) -> int:
    file(client, police_consent="none")
    return report_id(session)


def test_the_admins_pages_prepare_approve_after_asking_and_print(
    browser_like: Callable[[], TestClient], session: Session, team: Team
) -> None:
    reporter = browser_like()
    file(reporter, police_consent="contact")
    second_admin(session)
    bob, dora = browser_like(), browser_like()
    log_in(bob, "bob")
    log_in(dora, "dora")
    none = client_file_none(reporter, session)
    refused = bob.post(
        "/mod/police-exports", data={"csrf_token": csrf(bob, PATH), "report_id": str(none)}
    )
    assert refused.status_code == 422 and "did not consent" in refused.text
    prepared = bob.post(
        "/mod/police-exports",
        data={"csrf_token": csrf(bob, PATH), "report_id": str(report_id(session) - 1)},
    )
    assert prepared.status_code == 303
    export_id = session.exec(select(PoliceExport.id)).one()
    token = csrf(dora, PATH)
    asked = dora.post(f"{PATH}/{export_id}/approve", data={"csrf_token": token})
    assert asked.status_code == 200 and f"Approve police export {export_id}?" in asked.text
    assert dora.get(f"{PATH}/{export_id}").status_code == 409, "not approved yet"
    done = dora.post(f"{PATH}/{export_id}/approve", data={"csrf_token": token, "confirmed": "yes"})
    assert done.status_code == 303
    printed = bob.get(f"{PATH}/{export_id}")
    assert printed.status_code == 200 and "+61491570156" in printed.text and WORDS in printed.text

    moderator = browser_like()
    log_in(moderator, "alice")
    assert moderator.get(PATH).status_code == 403
