"""The organisations' pages at /org: the moderators' login, never the moderators' pages."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from alerts.models import Invite
from moderation.models import AuditEntry
from moderation.web.session import ACCOUNT_PAGES
from organisations import service
from tests.conftest import Outreach, Team
from tests.helpers import all_routes
from tests.test_moderation_pages import csrf, login_form


def log_in(client: TestClient, username: str) -> str:
    response = client.post("/mod/login", data=login_form(client, username))
    assert response.status_code == 303, response.text
    return response.headers["location"]


def test_an_organisations_person_logs_in_to_org_and_never_sees_mod(
    browser_like: Callable[[], TestClient], outreach: Outreach
) -> None:
    client = browser_like()
    assert log_in(client, "olga") == "/org"
    home = client.get("/org")
    assert home.status_code == 200
    assert "Outreach Assen" in home.text and "Assen" in home.text
    staff_pages = [
        path.replace("{report_id}", "1").replace("{ref}", "ABCD2345")
        for method, path in all_routes(client.app)
        if method == "GET"
        and path.startswith("/mod")
        and path not in ACCOUNT_PAGES | {"/mod/login"}
    ]
    assert "/mod" in staff_pages and "/mod/members" in staff_pages
    for page in staff_pages:
        response = client.get(page)
        assert response.status_code == 303 and response.headers["location"] == "/org", page
    assert client.get("/mod/password").status_code == 200, "her own account's pages"


def test_staff_are_sent_from_org_to_mod(
    browser_like: Callable[[], TestClient], outreach: Outreach, team: Team
) -> None:
    client = browser_like()
    assert log_in(client, "bob") == "/mod"
    response = client.get("/org")
    assert response.status_code == 303 and response.headers["location"] == "/mod"


def test_without_a_session_org_sends_to_the_login(browser_like: Callable[[], TestClient]) -> None:
    response = browser_like().get("/org")
    assert response.status_code == 303 and response.headers["location"] == "/mod/login"


def test_an_invite_code_is_shown_once_and_counted(
    browser_like: Callable[[], TestClient], outreach: Outreach, session: Session
) -> None:
    client = browser_like()
    log_in(client, "olga")
    page = client.post("/org/invites", data={"csrf_token": csrf(client, "/org"), "valid_days": "3"})
    assert page.status_code == 200
    shown = re.search(r'id="new-invite">([A-Z0-9-]+)<', page.text)
    assert shown and re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", shown[1])
    counts = re.search(r'id="invite-counts">(.*?)</table>', page.text, re.S)
    assert counts and "<th>Issued</th><td>1</td>" in counts[1]
    assert shown[1] not in client.get("/org").text, "shown once"
    invite = session.exec(select(Invite)).one()
    assert invite.issued_by == service.issuer(outreach.organisation.id)
    assert shown[1].encode() not in invite.code_hash
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "invite.issue")).one()
    assert (entry.moderator_id, entry.target_type) == (outreach.olga.id, "invite")


def test_a_bad_lifetime_is_named_and_issues_nothing(
    browser_like: Callable[[], TestClient], outreach: Outreach, session: Session
) -> None:
    client = browser_like()
    log_in(client, "olga")
    token = csrf(client, "/org")
    for typed in ["ninety", "0", "61"]:
        page = client.post("/org/invites", data={"csrf_token": token, "valid_days": typed})
        assert page.status_code == 422 and "valid_days" in page.text, typed
    assert session.exec(select(Invite)).first() is None


def test_the_invite_form_needs_the_csrf_token(
    browser_like: Callable[[], TestClient], outreach: Outreach, session: Session
) -> None:
    client = browser_like()
    log_in(client, "olga")
    assert client.post("/org/invites", data={"valid_days": "3"}).status_code == 403
    assert session.exec(select(Invite)).first() is None


def test_a_deactivated_organisation_is_refused(
    browser_like: Callable[[], TestClient], outreach: Outreach, session: Session
) -> None:
    client = browser_like()
    log_in(client, "olga")
    outreach.organisation.active = False
    session.add(outreach.organisation)
    session.commit()
    assert client.get("/org").status_code == 403
