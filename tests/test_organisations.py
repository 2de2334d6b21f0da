"""Organisations' people: their organisation, invites, third-party reports, checks and the
alert address, under /api/v1/org; never the moderators' queue. Audited without contents."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from alerts.models import Invite
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.reports.models import Report
from app.settings import Settings
from moderation import accounts, security
from moderation.models import AuditEntry
from organisations import service
from tests import helpers
from tests.conftest import PASSWORD, Outreach, Team
from tests.helpers import report_body
from tests.test_membership import sign_up
from tests.test_moderation_pages import csrf
from tests.test_routes import concrete

Auth = Callable[[Any], dict[str, str]]
ORG = "/api/v1/org"
ADDRESS = "alerts@outreach-assen.example.org"
REPORTED = "+31612345678"  # named in the alert helpers.publish_alert publishes
UNKNOWN = "+31611110000"  # named in no alert
STORY = "He would not let her leave the car. Her name is Mila, she lives at Kerkstraat 4."


@pytest.fixture
def verified_settings(delivery_settings: Callable[..., Settings]) -> Settings:
    return delivery_settings(membership="verified")


@pytest.fixture
def client(
    make_client: Callable[..., TestClient], verified_settings: Settings
) -> Iterator[TestClient]:
    # https: the /mod cookies are Secure under an https public URL
    with make_client(verified_settings, follow_redirects=False, base_url="https://testserver") as c:
        yield c


def third_party_report(client: TestClient, headers: dict[str, str], **overrides: Any) -> str:
    body = report_body(what_happened=STORY, worker_consent=True, **overrides)
    sent = client.post(f"{ORG}/reports", json=body, headers=headers)
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "submitted"
    return str(sent.json()["receipt_code"])


def audit_rows(session: Session) -> list[AuditEntry]:
    session.expire_all()
    return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))))


def log_in(client: TestClient, username: str) -> Any:
    page = client.get("/mod/login")
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert token
    return client.post(
        "/mod/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token[1]},
    )


# ---- never the moderators' work ----------------------------------------------------------------


def test_an_organisation_cannot_use_any_moderation_route(
    client: TestClient, outreach: Outreach, auth: Auth
) -> None:
    routes = [
        (method, path)
        for method, path in helpers.all_routes(client.app)
        if path.startswith(("/api/v1/moderation", "/api/v1/admin"))
    ]
    assert ("GET", "/api/v1/moderation/queue") in routes
    assert len(routes) >= 30, "the whole moderation API"
    for method, path in routes:
        answer = client.request(method, concrete(path), json={}, headers=auth(outreach.olga))
        assert answer.status_code == 403, (method, path, answer.status_code)


def test_an_organisation_never_gets_the_mod_queue(
    client: TestClient, outreach: Outreach, team: Team, auth: Auth
) -> None:
    third_party_report(client, auth(outreach.olga))
    signed_in = log_in(client, "olga")
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/org")
    for path in ("/mod", "/mod/", "/mod/reports/1"):
        page = client.get(path)
        assert (page.status_code, page.headers["location"]) == (303, "/org"), path
    refused = client.post("/mod/queue/next", data={"csrf_token": csrf(client, "/org")})
    assert refused.status_code == 303 and refused.headers["location"] == "/org"


# ---- the organisation and its invites ---------------------------------------------------------


def test_a_person_sees_the_organisation_and_its_invites_counted(
    client: TestClient,
    twilio: Any,
    session: Session,
    crypto: Crypto,
    outreach: Outreach,
    team: Team,
    auth: Auth,
) -> None:
    olga = auth(outreach.olga)
    own = client.get(ORG, headers=olga)
    assert own.status_code == 200, own.text
    assert own.json() == {
        "id": outreach.organisation.id,
        "name": "Outreach Assen",
        "regions": ["GM0106"],
        "region_names": ["Assen"],
        "invites": {"issued": 0, "used": 0, "expired": 0, "open": 0},
    }

    made = client.post("/api/v1/invites", json={}, headers=olga)
    assert made.status_code == 201, made.text
    assert set(made.json()) == {"code", "expires_at"}
    week = client.post("/api/v1/invites", json={"valid_days": 7}, headers=olga)
    assert week.status_code == 201
    refused = client.post("/api/v1/invites", json={"valid_days": 61}, headers=olga)
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "valid_days"
    issuers = set(session.exec(select(Invite.issued_by)))
    assert issuers == {f"organisation:{outreach.organisation.id}"}, "in the organisation's name"

    confirmed = sign_up(client, twilio, invite=made.json()["code"])
    assert (confirmed["membership"], confirmed["invite"]) == ("verified", "accepted")
    members = client.get(
        "/api/v1/moderation/members", params={"state": "verified"}, headers=auth(team.bob)
    ).json()
    assert [(m["verified_how"], m["verified_by"]) for m in members] == [
        ("invite", f"organisation:{outreach.organisation.id}")
    ]

    counts = client.get(f"{ORG}/invites", headers=olga)
    assert counts.json() == {"issued": 2, "used": 1, "expired": 0, "open": 1}
    assert client.get(ORG, headers=olga).json()["invites"] == counts.json()
    assert client.get(f"{ORG}/invites", headers=auth(team.bob)).status_code == 403

    # A moderator's invites stay the moderator's, and are not counted as the organisation's.
    theirs = client.post("/api/v1/invites", json={}, headers=auth(team.alice))
    assert theirs.status_code == 201
    session.expire_all()
    assert (
        session.exec(
            select(func.count()).where(Invite.issued_by == f"moderator:{team.alice.id}")
        ).one()
        == 1
    )
    assert client.get(f"{ORG}/invites", headers=olga).json()["issued"] == 2
    actions = [(e.action, e.moderator_id) for e in audit_rows(session) if "invite" in e.action]
    assert actions == [
        ("invite.issue", outreach.olga.id),
        ("invite.issue", outreach.olga.id),
        ("invite.issue", team.alice.id),
    ]


# ---- reports for a worker ------------------------------------------------------------------------


def test_a_third_party_report_reaches_the_queue_marked_and_is_followed_by_its_code(
    client: TestClient, session: Session, outreach: Outreach, team: Team, auth: Auth
) -> None:
    code = third_party_report(client, auth(outreach.olga))
    public = client.post("/api/v1/reports", json=report_body())
    assert public.status_code == 201

    queue = client.get("/api/v1/moderation/queue", headers=auth(team.alice)).json()
    marks = {item["id"]: item["third_party"] for item in queue}
    session.expire_all()
    mine = session.exec(select(Report).where(Report.third_party == True)).one()  # noqa: E712
    assert marks == {mine.id: True, mine.id + 1: False}  # type: ignore[operator]

    status = client.get("/api/v1/reports/status", headers={"X-Receipt-Code": code})
    assert status.status_code == 200 and status.json()["status"] == "submitted"

    claimed = client.post(f"/api/v1/moderation/reports/{mine.id}/claim", headers=auth(team.alice))
    assert claimed.status_code == 200, claimed.text
    review = client.get(f"/api/v1/moderation/reports/{mine.id}", headers=auth(team.alice))
    assert review.json()["third_party"] is True and review.json()["what_happened"] == STORY

    assert log_in(client, "carol").status_code == 303
    page = client.get("/mod")
    row = re.search(rf'<tr data-report="{mine.id}">.*?</tr>', page.text, re.S)
    assert row and "third party" in row[0]
    other = re.search(rf'<tr data-report="{mine.id + 1}">.*?</tr>', page.text, re.S)  # type: ignore[operator]
    assert other and "third party" not in other[0]

    client.cookies.clear()
    assert log_in(client, "alice").status_code == 303
    reviewed = client.get(f"/mod/reports/{mine.id}")
    assert reviewed.status_code == 200
    assert "sent by an organisation with the worker's consent" in reviewed.text
    assert 'id="third-party"' in reviewed.text

    entry = next(e for e in audit_rows(session) if e.action == "report.third_party")
    assert (entry.moderator_id, entry.target_type, entry.target_id) == (
        outreach.olga.id,
        "report",
        str(mine.id),
    )


@pytest.mark.parametrize("consent", [False, None])
def test_a_report_without_the_workers_consent_is_refused_and_nothing_stored(
    client: TestClient, session: Session, outreach: Outreach, auth: Auth, consent: bool | None
) -> None:
    body = report_body(what_happened=STORY)
    if consent is not None:
        body["worker_consent"] = consent
    refused = client.post(f"{ORG}/reports", json=body, headers=auth(outreach.olga))
    assert refused.status_code == 422
    [problem] = refused.json()["detail"]
    assert problem["field"] == "worker_consent"
    assert problem["msg"] == "worker_consent: the worker must agree to this report"
    assert "Mila" not in refused.text
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Report)).one() == 0
    assert [e for e in audit_rows(session) if e.action == "report.third_party"] == []

    wrong = client.post(
        f"{ORG}/reports",
        json={**body, "worker_consent": True, "region": "GM9999"},
        headers=auth(outreach.olga),
    )
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["field"] == "region"


# ---- checks ------------------------------------------------------------------------------------


def test_an_organisation_checks_a_number_and_the_audit_keeps_no_number(
    client: TestClient, session: Session, crypto: Crypto, outreach: Outreach, auth: Auth
) -> None:
    helpers.publish_alert(session, crypto)
    olga = auth(outreach.olga)
    hit = client.post(f"{ORG}/check", json={"number": "06 1234 5678"}, headers=olga)
    assert hit.status_code == 200, hit.text
    assert hit.json()["found"] is True and hit.json()["number"] == REPORTED
    assert [a["text"] for a in hit.json()["alerts"]] == ["Hit a worker."]
    miss = client.post(f"{ORG}/check", json={"number": UNKNOWN}, headers=olga)
    assert miss.json()["found"] is False and miss.json()["alerts"] == []
    bad = client.post(f"{ORG}/check", json={"number": "call me"}, headers=olga)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "number"
    assert "call me" not in bad.text

    checks = [e for e in audit_rows(session) if e.action == "organisation.check"]
    assert [(e.moderator_id, e.target_type, e.target_id) for e in checks] == [
        (outreach.olga.id, "organisation", str(outreach.organisation.id))
    ] * 2
    for entry in checks:
        values = " ".join(str(v) for v in entry.model_dump().values())
        assert "1234" not in values and "5678" not in values and "1111" not in values


def test_rate_limits_count_the_account_not_the_address(
    make_client: Callable[..., TestClient],
    delivery_settings: Callable[..., Settings],
    session: Session,
    outreach: Outreach,
    team: Team,
    auth: Auth,
) -> None:
    assert outreach.organisation.id is not None
    otto = service.add_person(
        session,
        organisation_id=outreach.organisation.id,
        username="otto",
        password=PASSWORD,
        admin=team.bob,
    )
    session.commit()
    tight = delivery_settings(rate_limit_submit="1/minute", rate_limit_check="2/minute")
    with make_client(tight) as client:
        olga = auth(outreach.olga)
        third_party_report(client, olga)
        again = client.post(f"{ORG}/reports", json=report_body(worker_consent=True), headers=olga)
        assert again.status_code == 429 and "retry-after" in again.headers
        third_party_report(client, auth(otto))
        assert client.post("/api/v1/reports", json=report_body()).status_code == 201

        for _ in range(2):
            ok = client.post(f"{ORG}/check", json={"number": UNKNOWN}, headers=olga)
            assert ok.status_code == 200
        over = client.post(f"{ORG}/check", json={"number": UNKNOWN}, headers=olga)
        assert over.status_code == 429
        other = client.post(f"{ORG}/check", json={"number": UNKNOWN}, headers=auth(otto))
        assert other.status_code == 200


# ---- alerts by email ---------------------------------------------------------------------------


def test_the_alert_address_is_confirmed_by_link_and_then_gets_the_regions_alerts(
    client: TestClient,
    mailbox: Any,
    session: Session,
    crypto: Crypto,
    outreach: Outreach,
    auth: Auth,
) -> None:
    olga = auth(outreach.olga)
    asked = client.post(
        f"{ORG}/alert-email", json={"email": ADDRESS, "language": "en"}, headers=olga
    )
    assert asked.status_code == 202, asked.text
    other = client.post(
        f"{ORG}/alert-email",
        json={"email": "nobody@example.org", "language": "nl"},
        headers=olga,
    )
    assert other.status_code == 202 and other.json() == asked.json()

    helpers.deliver(client.app.state.settings, client.app.state.session_factory)  # type: ignore[attr-defined]
    [mail] = mailbox.to(ADDRESS)
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Assen" in body
    link = re.search(r"https://redflag\.example\.org(/en/subscribe/confirm\?t=[\w-]+)", body)
    assert link, body
    page = client.get(link[1])
    assert page.status_code == 200
    token = re.search(r'name="token" value="([\w-]+)"', page.text)
    assert token
    assert client.post("/en/subscribe/confirm", data={"token": token[1]}).status_code == 200

    session.expire_all()
    member = subscriptions.find(session, index=crypto.index, channel="email", contact=ADDRESS)
    assert member is not None and member.membership == "verified"
    assert member.verified_by == f"organisation:{outreach.organisation.id}/alerts"
    assert subscriptions.region_codes(session, member.id or 0) == ["GM0106"]
    counts = client.get(f"{ORG}/invites", headers=olga).json()
    assert counts == {"issued": 0, "used": 0, "expired": 0, "open": 0}, "not a worker's invite"

    helpers.publish_alert(session, crypto, text="Grey van near the station.")
    helpers.publish_alert(session, crypto, regions=["GM0363"], text="Elsewhere.")
    helpers.deliver(client.app.state.settings, client.app.state.session_factory)  # type: ignore[attr-defined]
    texts = [m.get_body(preferencelist=("plain",)).get_content() for m in mailbox.to(ADDRESS)[1:]]
    assert len(texts) == 1 and "Grey van near the station." in texts[0]

    entries = [e for e in audit_rows(session) if e.action == "organisation.alert_email"]
    assert [(e.moderator_id, e.target_id) for e in entries] == [
        (outreach.olga.id, str(outreach.organisation.id))
    ] * 2


def test_the_alert_address_must_be_an_address_in_a_language(
    client: TestClient, session: Session, outreach: Outreach, auth: Auth
) -> None:
    olga = auth(outreach.olga)
    for body, field in [
        ({"email": "not an address", "language": "en"}, "email"),
        ({"email": ADDRESS}, "language"),
        ({"email": ADDRESS, "language": "de"}, "language"),
        ({"language": "en"}, "email"),
    ]:
        refused = client.post(f"{ORG}/alert-email", json=body, headers=olga)
        assert refused.status_code == 422, body
        assert refused.json()["detail"][0]["field"] == field, body
        assert "not an address" not in refused.text
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Invite)).one() == 0


# ---- the audit log, and a deactivated organisation --------------------------------------------


def test_the_audit_log_holds_no_code_number_address_or_text(
    client: TestClient,
    mailbox: Any,
    twilio: Any,
    session: Session,
    crypto: Crypto,
    outreach: Outreach,
    auth: Auth,
) -> None:
    helpers.publish_alert(session, crypto)
    olga = auth(outreach.olga)
    receipt = third_party_report(client, olga)
    invite = client.post("/api/v1/invites", json={}, headers=olga).json()["code"]
    sign_up(client, twilio, invite=invite)
    client.post(f"{ORG}/check", json={"number": REPORTED}, headers=olga)
    client.post(f"{ORG}/alert-email", json={"email": ADDRESS, "language": "nl"}, headers=olga)

    rows = audit_rows(session)
    assert {e.action for e in rows} >= {
        "report.third_party",
        "invite.issue",
        "organisation.check",
        "organisation.alert_email",
    }
    stored = " ".join(str(value) for entry in rows for value in entry.model_dump().values()).lower()
    for secret in (
        receipt,
        receipt.replace("-", ""),
        invite,
        invite.replace("-", ""),
        REPORTED,
        REPORTED[3:],
        ADDRESS,
        "outreach-assen",
        "Mila",
        "Kerkstraat",
        "grabbed",
    ):
        assert secret.lower() not in stored, secret


def test_a_deactivated_organisations_person_is_refused_everywhere(
    client: TestClient,
    verified_settings: Settings,
    session: Session,
    outreach: Outreach,
    team: Team,
    auth: Auth,
) -> None:
    assert outreach.organisation.id is not None
    service.set_active(
        session, organisation_id=outreach.organisation.id, active=False, admin=team.bob
    )
    session.commit()
    assert client.get(ORG, headers=auth(outreach.olga)).status_code == 401, "her token ended"

    # Her account back, her organisation still off: every organisation route says 403.
    olga = accounts.set_active(session, admin=team.bob, moderator_id=outreach.olga.id, active=True)
    session.commit()
    session.refresh(olga)
    token, _ = security.token_for(olga, settings=verified_settings)
    headers = {"Authorization": f"Bearer {token}"}
    calls = [
        ("GET", ORG, None),
        ("GET", f"{ORG}/invites", None),
        ("POST", "/api/v1/invites", {}),
        ("POST", f"{ORG}/reports", report_body(worker_consent=True)),
        ("POST", f"{ORG}/check", {"number": REPORTED}),
        ("POST", f"{ORG}/alert-email", {"email": ADDRESS, "language": "en"}),
        ("GET", f"{ORG}/digest", None),
    ]
    routes = {(m, p) for m, p in helpers.all_routes(client.app) if p.startswith(ORG)}
    assert routes == {(m, p) for m, p, _ in calls if p.startswith(ORG)}, "every route tried"
    for method, path, body in calls:
        answer = client.request(method, path, json=body, headers=headers)
        assert answer.status_code == 403, (method, path, answer.status_code)
        assert "not active" in answer.json()["detail"]
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Report)).one() == 0
    assert session.exec(select(func.count()).select_from(Invite)).one() == 0


# ---- the /org pages ----------------------------------------------------------------------------


def report_form(client: TestClient, **overrides: str) -> dict[str, Any]:
    """The /org/report form as a browser posts it, with its tokens from the page."""
    page = client.get("/org/report")
    assert page.status_code == 200
    token = re.search(r'name="form_token" value="([\w-]+)"', page.text)
    assert token
    form: dict[str, Any] = {
        "csrf_token": csrf(client, "/org/report"),
        "form_token": token[1],
        "place": "Assen",
        "incident_date": date.today().isoformat(),
        "part_of_day": "night",
        "categories": ["physical_violence"],
        "what_happened": STORY,
        "phones": "0612345678",
        "language": "nl",
        "worker_consent": "yes",
    }
    form.update(overrides)
    return form


def test_the_report_page_sends_a_marked_report_and_shows_its_code_once(
    client: TestClient, session: Session, crypto: Crypto, outreach: Outreach
) -> None:
    log_in(client, "olga")
    home = client.get("/org")
    assert 'href="/org/report"' in home.text and 'href="/org/check"' in home.text
    form = report_form(client)
    sent = client.post("/org/report", data=form)
    assert sent.status_code == 200, sent.text
    shown = re.search(r'id="receipt-code">([A-Z0-9-]+)<', sent.text)
    assert shown

    session.expire_all()
    report = session.exec(select(Report)).one()
    assert (report.third_party, report.language, report.region_code) == (True, "nl", "GM0106")
    status = client.get("/api/v1/reports/status", headers={"X-Receipt-Code": shown[1]})
    assert status.status_code == 200 and status.json()["status"] == "submitted"
    assert shown[1] not in client.get("/org/report").text, "shown once"
    entry = next(e for e in audit_rows(session) if e.action == "report.third_party")
    assert (entry.moderator_id, entry.target_id) == (outreach.olga.id, str(report.id))

    again = client.post("/org/report", data=form)
    assert again.status_code == 409, "a double tap files one report"
    assert session.exec(select(func.count()).select_from(Report)).one() == 1


def test_the_report_page_wants_consent_and_names_each_wrong_field(
    client: TestClient, session: Session, outreach: Outreach
) -> None:
    log_in(client, "olga")
    form = report_form(client)
    del form["worker_consent"]
    refused = client.post("/org/report", data=form)
    assert refused.status_code == 422
    assert 'id="worker_consent-error">The worker must agree to this report' in refused.text
    assert STORY in refused.text, "what was typed stays in the form"

    wrong = client.post(
        "/org/report", data=report_form(client, place="Nowhere at all", language="de")
    )
    assert wrong.status_code == 422
    assert 'id="place-error"' in wrong.text and 'id="language-error"' in wrong.text
    assert 'id="worker_consent-error"' not in wrong.text
    no_csrf = client.post("/org/report", data={**report_form(client), "csrf_token": "0" * 32})
    assert no_csrf.status_code == 403
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Report)).one() == 0


def test_the_check_page_answers_as_the_members_check(
    client: TestClient, session: Session, crypto: Crypto, outreach: Outreach
) -> None:
    helpers.publish_alert(session, crypto, text="Hit a worker, grey van.")
    log_in(client, "olga")
    assert client.get("/org/check").status_code == 200
    hit = client.post(
        "/org/check", data={"csrf_token": csrf(client, "/org/check"), "number": "06 1234 5678"}
    )
    assert hit.status_code == 200, hit.text
    assert 'data-found="yes"' in hit.text and "Hit a worker, grey van." in hit.text
    assert "5678" not in hit.text, "the number is shown masked"
    miss = client.post(
        "/org/check", data={"csrf_token": csrf(client, "/org/check"), "number": UNKNOWN}
    )
    assert 'data-found="no"' in miss.text and "Hit a worker" not in miss.text
    bad = client.post(
        "/org/check", data={"csrf_token": csrf(client, "/org/check"), "number": "not a number"}
    )
    assert bad.status_code == 422 and 'id="number-error"' in bad.text
    checks = [e for e in audit_rows(session) if e.action == "organisation.check"]
    assert [(e.moderator_id, e.target_id) for e in checks] == [
        (outreach.olga.id, str(outreach.organisation.id))
    ] * 2


def test_staff_are_sent_from_the_org_pages_to_mod(
    client: TestClient, outreach: Outreach, team: Team
) -> None:
    log_in(client, "alice")
    for path in ("/org/report", "/org/check"):
        page = client.get(path)
        assert (page.status_code, page.headers["location"]) == (303, "/mod"), path
