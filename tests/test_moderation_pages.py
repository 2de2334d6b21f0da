"""The moderator web pages without a browser: session cookie, CSRF, the whole flow."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from alerts.models import Alert
from app.i18n import LANGUAGES
from app.reports.models import Report
from app.settings import Settings
from moderation import security
from moderation.models import AuditEntry
from tests.conftest import PASSWORD, Outreach, Team
from tests.helpers import all_routes


def login_form(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """The login form as a browser sends it: with the token from the page it came from."""
    page = client.get("/mod/login")
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    return {"username": username, "password": password, "csrf_token": match[1] if match else ""}


def log_in(client: TestClient, username: str) -> None:
    response = client.post("/mod/login", data=login_form(client, username))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/mod"


def csrf(client: TestClient, path: str = "/mod") -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get(path).text)
    assert match
    return match.group(1)


def file_report(client: TestClient) -> None:
    response = client.post(
        "/en/report",
        data={
            "place": "Assen",
            "incident_date": date.today().isoformat(),
            "part_of_day": "night",
            "categories": ["sexual_violence"],
            "what_happened": "My name is Anna. He followed me home from the station.",
            "phones": "0612345678",
        },
    )
    assert response.status_code == 200


def test_logging_in_sets_a_protected_session_cookie(
    browser_like: Callable[[], TestClient], team: Team
) -> None:
    client = browser_like()
    assert client.get("/mod").headers["location"] == "/mod/login"
    response = client.post("/mod/login", data=login_form(client, "alice"))
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("redflag_mod=")
    for flag in ["HttpOnly", "SameSite=strict", "Path=/;", "Max-Age=900"]:
        assert flag.lower() in cookie.lower(), flag
    assert "secure" not in cookie.lower(), "plain http in development"
    queue = client.get("/mod")
    assert queue.status_code == 200 and "alice (moderator)" in queue.text


def test_the_cookie_is_secure_over_https(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Settings], team: Team
) -> None:
    with make_client(
        make_settings(public_url="https://redflag.example.org"),
        follow_redirects=False,
        base_url="https://testserver",  # the login form's cookie is Secure too
    ) as client:
        response = client.post("/mod/login", data=login_form(client, "alice"))
    assert "; secure" in response.headers["set-cookie"].lower()
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_a_failed_login_says_so_on_the_page(
    browser_like: Callable[[], TestClient], team: Team, session: Session
) -> None:
    client = browser_like()
    response = client.post("/mod/login", data=login_form(client, "alice", "nope"))
    assert response.status_code == 401
    assert "Wrong username, password or code" in response.text
    assert "set-cookie" not in response.headers
    session.expire_all()
    logged = session.exec(
        select(AuditEntry.action).where(AuditEntry.moderator_id == team.alice.id)
    ).all()
    assert logged == ["login.failed"], "and audited"


def test_every_page_needs_a_session(browser_like: Callable[[], TestClient]) -> None:
    client = browser_like()
    routes = [
        (m, re.sub(r"\{[^}]+\}", "1", p)) for m, p in all_routes(client.app) if p.startswith("/mod")
    ]
    assert len(routes) >= 15
    for method, path in routes:
        if path == "/mod/login":
            continue
        response = client.request(method, path)
        assert response.status_code == 303, (method, path)
        assert response.headers["location"] == "/mod/login"


def test_forms_need_the_csrf_token_and_this_site(
    browser_like: Callable[[], TestClient], team: Team
) -> None:
    client = browser_like()
    log_in(client, "alice")
    token = csrf(client)
    assert client.post("/mod/queue/next", data={}).status_code == 403
    assert client.post("/mod/queue/next", data={"csrf_token": "0" * 64}).status_code == 403
    cross_site = client.post(
        "/mod/queue/next", data={"csrf_token": token}, headers={"sec-fetch-site": "cross-site"}
    )
    assert cross_site.status_code == 403
    other_origin = client.post(
        "/mod/queue/next", data={"csrf_token": token}, headers={"origin": "https://evil.example"}
    )
    assert other_origin.status_code == 403
    assert client.post("/mod/queue/next", data={"csrf_token": token}).status_code == 303


def test_every_moderator_form_needs_the_csrf_token(
    browser_like: Callable[[], TestClient], team: Team
) -> None:
    """Found by walking the routes, so a new form cannot be left open."""
    client = browser_like()
    log_in(client, "bob")  # an admin: every form is hers to send
    forms = [
        re.sub(r"\{[^}]+\}", "1", path)
        for method, path in all_routes(client.app)
        if method == "POST" and path.startswith("/mod") and path != "/mod/login"
    ]
    assert len(forms) >= 10
    for path in forms:
        for data in ({}, {"csrf_token": "0" * 64}):
            response = client.post(path, data=data)
            assert response.status_code == 403, (path, data, response.status_code)


def test_another_moderators_csrf_token_does_not_work(
    browser_like: Callable[[], TestClient], team: Team
) -> None:
    alice, carol = browser_like(), browser_like()
    log_in(alice, "alice")
    log_in(carol, "carol")
    assert alice.post("/mod/queue/next", data={"csrf_token": csrf(carol)}).status_code == 403


def test_review_publish_and_approve_through_the_pages(
    browser_like: Callable[[], TestClient], team: Team, session: Session
) -> None:
    alice, carol = browser_like(), browser_like()
    file_report(alice)
    log_in(alice, "alice")
    token = csrf(alice)
    opened = alice.post("/mod/queue/next", data={"csrf_token": token})
    review_url = opened.headers["location"]
    page = alice.get(review_url).text
    assert '<mark class="flag" data-kind="name"' in page and ">Anna</mark>" in page
    assert "He followed me home from the station." in page
    assert "Reaches 0 subscribers." in page, "the preview is rendered without JavaScript"
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    rid = review_url.rsplit("/", 1)[1]

    form = {
        "csrf_token": token, "version": version, "decision": "publish",
        "text": "Followed a worker home from the station.", "severity": "critical",
        "regions": ["GM0106"], "categories": ["stalking"], "identifiers": ["phone|+31612345678"],
        "new_kind": "phone", "new_value": "", "extra_regions": "", "expires_in_days": "30",
    }  # fmt: skip
    bad = alice.post(f"/mod/reports/{rid}/decide", data={**form, "extra_regions": "Asen"})
    assert bad.status_code == 422
    assert "More regions: which region is &#34;Asen&#34;? Did you mean Asten or Assen?" in bad.text
    assert "Followed a worker home" in bad.text, "what was typed is kept"
    asked = alice.post(f"/mod/reports/{rid}/decide", data=form)
    assert asked.status_code == 200 and "<h1>Publish this alert?</h1>" in asked.text
    assert "A second moderator must approve it; then it goes to 0 subscribers" in asked.text
    session.expire_all()
    assert session.exec(select(Alert)).all() == [], "nothing is kept before the answer"
    published = alice.post(f"/mod/reports/{rid}/decide", data={**form, "confirmed": "yes"})
    assert published.status_code == 303
    alert_url = published.headers["location"]
    assert re.fullmatch(r"/mod/alerts/RF-[0-9A-Z]{6}\?done=pending_approval", alert_url)
    assert "a colleague must approve it" in alice.get(alert_url).text

    log_in(carol, "carol")
    ref = alert_url.split("/")[3].split("?")[0]
    approved = carol.post(
        f"/mod/alerts/{ref}/approve", data={"csrf_token": csrf(carol), "confirmed": "yes"}
    )
    assert approved.headers["location"] == f"/mod/alerts/{ref}?done=approved"
    page = carol.get(f"/mod/alerts/{ref}").text
    assert 'id="alert-status">published<' in page
    for action in ["alert.submit_for_approval", "alert.approve"]:
        assert action in page, "the alert page shows its history"

    assert 'id="send-update"' in page, "a live alert can be updated"
    empty = carol.post(f"/mod/alerts/{ref}/update", data={"csrf_token": csrf(carol), "text": ""})
    assert empty.status_code == 422 and "Write the update" in empty.text
    update = {"csrf_token": csrf(carol), "text": "Seen again on Friday, in a grey van."}
    asked = carol.post(f"/mod/alerts/{ref}/update", data=update)
    assert asked.status_code == 200 and f"<h1>Send this update on {ref}?</h1>" in asked.text
    assert "Seen again on Friday, in a grey van." in asked.text, "what goes out, once more"
    sent = carol.post(f"/mod/alerts/{ref}/update", data={**update, "confirmed": "yes"})
    assert sent.headers["location"] == f"/mod/alerts/{ref}?done=updated"
    page = carol.get(sent.headers["location"]).text
    assert "The update is on its way" in page
    assert "#1 · " in page and "to 0 recipients" in page
    assert f"redflag: news on alert {ref} (" in page, "what each language received"
    assert "alert.update" in page


@pytest.mark.parametrize(
    "fields",
    [
        {"decision": "publish"},  # no text, nor anything else the composer sends: was a 500
        {"decision": "publish", "text": "Followed a worker home."},
        {"decision": "reject"},
        {"decision": "request_info"},
        {"decision": "duplicate"},
        {"decision": "publish", "version": "abc", "expires_in_days": "abc"},
        {},
    ],
)
def test_a_decision_missing_its_fields_is_a_clear_422(
    fields: dict[str, str], browser_like: Callable[[], TestClient], team: Team, session: Session
) -> None:
    alice = browser_like()
    file_report(alice)
    log_in(alice, "alice")
    token = csrf(alice)
    review_url = alice.post("/mod/queue/next", data={"csrf_token": token}).headers["location"]
    rid = int(review_url.rsplit("/", 1)[1])
    before = session.get(Report, rid)
    assert before is not None
    status, version = before.status, before.version

    response = alice.post(f"/mod/reports/{rid}/decide", data={"csrf_token": token, **fields})
    assert response.status_code == 422, response.text
    if fields:  # a named decision comes back to the review page saying what is wrong
        assert 'id="errors"' in response.text
    session.expire_all()
    after = session.get(Report, rid)
    assert after is not None and (after.status, after.version) == (status, version), "no write"


def test_a_report_you_do_not_hold_is_not_shown(
    browser_like: Callable[[], TestClient], team: Team
) -> None:
    alice, carol = browser_like(), browser_like()
    file_report(alice)
    log_in(alice, "alice")
    log_in(carol, "carol")
    rid = (
        alice.post("/mod/queue/next", data={"csrf_token": csrf(alice)})
        .headers["location"]
        .rsplit("/", 1)[1]
    )
    page = carol.get(f"/mod/reports/{rid}")
    assert page.status_code == 409
    assert "alice is working on this report until" in page.text
    assert "followed me" not in page.text and "Claim this report" not in page.text
    taken = carol.post(f"/mod/reports/{rid}/claim", data={"csrf_token": csrf(carol)})
    assert taken.status_code == 409 and "alice is working on this report until" in taken.text


def test_the_live_preview_needs_the_csrf_header(
    browser_like: Callable[[], TestClient], team: Team
) -> None:
    client = browser_like()
    log_in(client, "alice")
    body = {"text": "x", "severity": "low", "regions": ["GM0106"], "categories": ["other"]}
    assert client.post("/mod/preview", json=body).status_code == 403
    response = client.post("/mod/preview", json=body, headers={"x-csrf-token": csrf(client)})
    assert response.status_code == 200 and set(response.json()["sms"]) == set(LANGUAGES)
    bad = client.post(
        "/mod/preview", json={**body, "regions": ["XX"]}, headers={"x-csrf-token": csrf(client)}
    )
    assert bad.status_code == 422 and bad.json()["errors"] == ["regions.0: unknown region code"]


def test_an_active_session_is_renewed_with_the_same_csrf_token(
    browser_like: Callable[[], TestClient], team: Team, settings: Settings
) -> None:
    client = browser_like()
    # A token issued 10 of its 15 minutes ago: past its half-life.
    token, _ = security.issue_token(
        moderator_id=team.alice.id, role="moderator", settings=settings, session_id="s1"
    )
    from jose import jwt

    claims = jwt.get_unverified_claims(token)
    claims["exp"] -= 600
    old = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")  # type: ignore[union-attr]
    client.cookies.set("redflag_mod", old, path="/")
    response = client.get("/mod")
    assert response.status_code == 200
    renewed = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert renewed != old
    assert jwt.get_unverified_claims(renewed)["sid"] == "s1"
    assert security.csrf_token("s1", settings) in response.text


def test_admin_pages(browser_like: Callable[[], TestClient], team: Team) -> None:
    alice, bob = browser_like(), browser_like()
    log_in(alice, "alice")
    log_in(bob, "bob")
    assert alice.get("/mod/audit").status_code == 403
    assert "Audit log" not in alice.get("/mod").text.split("</nav>")[0]
    audit_page = bob.get("/mod/audit")
    assert audit_page.status_code == 200 and "login" in audit_page.text
    created = bob.post(
        "/mod/moderators",
        data={
            "csrf_token": csrf(bob),
            "action": "create",
            "username": "dave",
            "password": PASSWORD,
            "role": "moderator",
        },
    )
    assert created.headers["location"] == "/mod/moderators?done=saved"
    assert ">dave<" in bob.get("/mod/moderators").text
    newest = bob.get("/mod/audit").text.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert "<td>bob</td><td>moderator.create</td>" in newest, "the admin created it"
    weak = bob.post(
        "/mod/moderators",
        data={
            "csrf_token": csrf(bob),
            "action": "create",
            "username": "eve",
            "password": "short",
            "role": "moderator",
        },
    )
    assert weak.status_code == 422 and "at least 12 characters" in weak.text


def test_logging_out_ends_the_session(browser_like: Callable[[], TestClient], team: Team) -> None:
    client = browser_like()
    log_in(client, "alice")
    response = client.post("/mod/logout", data={"csrf_token": csrf(client)})
    assert response.headers["location"] == "/mod/login"
    assert (
        "redflag_mod=" in response.headers["set-cookie"]
        and "Max-Age=0" in response.headers["set-cookie"]
    )
    assert client.get("/mod").status_code == 303


def test_the_login_form_is_protected_like_every_other_form(
    browser_like: Callable[[], TestClient], team: Team
) -> None:
    """A forged login (say, from a sandboxed frame: `Origin: null`) has neither the login
    page's cookie nor its token, so it cannot log the victim into anyone's account."""
    forged = browser_like().post(
        "/mod/login",
        data={"username": "alice", "password": PASSWORD},
        headers={"origin": "null"},
    )
    assert forged.status_code == 403 and "set-cookie" not in forged.headers

    client = browser_like()
    form = login_form(client, "alice")
    assert client.post("/mod/login", data={**form, "csrf_token": "0" * 64}).status_code == 403
    other = browser_like()
    assert other.post("/mod/login", data=form).status_code == 403, "another browser's token"
    cross_site = client.post("/mod/login", data=form, headers={"sec-fetch-site": "cross-site"})
    assert cross_site.status_code == 403
    assert client.post("/mod/login", data=form).status_code == 303


def test_a_cookie_captured_before_logout_is_dead_after_it(
    browser_like: Callable[[], TestClient], team: Team, settings: Settings
) -> None:
    client, other_device = browser_like(), browser_like()
    log_in(client, "alice")
    log_in(other_device, "alice")
    captured = client.cookies.get("redflag_mod")
    assert captured
    client.post("/mod/logout", data={"csrf_token": csrf(client)})

    thief = browser_like()
    thief.cookies.set("redflag_mod", captured, path="/")
    as_cookie = thief.get("/mod")
    assert as_cookie.status_code == 303 and as_cookie.headers["location"] == "/mod/login"
    assert "Max-Age=0" in as_cookie.headers["set-cookie"], "cleared, not renewed"
    as_bearer = thief.get(
        "/api/v1/moderation/queue", headers={"authorization": f"Bearer {captured}"}
    )
    assert as_bearer.status_code == 401
    assert other_device.get("/mod").status_code == 303, "every session of the account ends"
    log_in(client, "alice")
    assert client.get("/mod").status_code == 200, "a new login works"


def test_a_token_from_before_a_deactivation_stays_dead_after_reactivation(
    browser_like: Callable[[], TestClient], team: Team
) -> None:
    alice, bob = browser_like(), browser_like()
    log_in(alice, "alice")
    log_in(bob, "bob")
    captured = alice.cookies.get("redflag_mod")
    for action in ("deactivate", "activate"):
        response = bob.post(
            "/mod/moderators",
            data={
                "csrf_token": csrf(bob),
                "action": action,
                "moderator_id": str(team.alice.id),
                "confirmed": "yes",
            },
        )
        assert response.status_code == 303
    assert alice.get("/mod").status_code == 303
    as_bearer = alice.get(
        "/api/v1/moderation/queue", headers={"authorization": f"Bearer {captured}"}
    )
    assert as_bearer.status_code == 401


@pytest.mark.parametrize("moderator_id", ["abc", "-1", "1.5", "99999999999999999999", "١"])
def test_a_moderator_id_that_is_not_one_is_a_clear_422(
    browser_like: Callable[[], TestClient], team: Team, moderator_id: str
) -> None:
    bob = browser_like()
    log_in(bob, "bob")
    response = bob.post(
        "/mod/moderators",
        data={"csrf_token": csrf(bob), "action": "deactivate", "moderator_id": moderator_id},
    )
    assert response.status_code == 422 and "No such moderator." in response.text


def test_the_moderators_page_shows_an_account_guessed_at_from_many_clients(
    browser_like: Callable[[], TestClient], team: Team
) -> None:
    bob = browser_like()
    log_in(bob, "bob")
    for n in range(21):
        guesser = TestClient(bob.app, client=(f"198.51.100.{n}", 50000))
        assert guesser.post("/mod/login", data=login_form(guesser, "carol", "x")).status_code == 401
    rows = {
        row.split("</td>", 1)[0]: row
        for row in bob.get("/mod/moderators").text.split("<tr><td>")[1:]
    }
    assert "from many places" in rows["carol"]
    assert "from many places" not in rows["alice"]


def test_an_organisations_person_has_no_make_admin_button(
    browser_like: Callable[[], TestClient], team: Team, outreach: Outreach
) -> None:
    """People of an organisation cannot be made admins (409): the page does not offer it."""
    bob = browser_like()
    log_in(bob, "bob")
    rows = {
        row.split("</td>", 1)[0]: row
        for row in bob.get("/mod/moderators").text.split("<tr><td>")[1:]
    }
    assert "Make admin" not in rows["olga"]
    assert "Make admin" in rows["carol"] and "Make moderator" in rows["bob"]


def change_password(client: TestClient, current: str, new: str, again: str | None = None) -> Any:
    return client.post(
        "/mod/password",
        data={
            "csrf_token": csrf(client, "/mod/password"),
            "current_password": current,
            "new_password": new,
            "confirm_password": new if again is None else again,
        },
    )


def test_changing_your_password_on_the_pages(
    browser_like: Callable[[], TestClient], team: Team
) -> None:
    client, other_device = browser_like(), browser_like()
    log_in(client, "alice")
    log_in(other_device, "alice")
    new = "another long password"
    mismatch = change_password(client, PASSWORD, new, again="something else entirely")
    assert mismatch.status_code == 422 and "the new passwords differ" in mismatch.text
    wrong = change_password(client, "not my password", new)
    assert wrong.status_code == 422 and "that is not your password" in wrong.text
    changed = change_password(client, PASSWORD, new)
    assert changed.status_code == 303 and changed.headers["location"] == "/mod?done=password"
    assert client.get("/mod").status_code == 200, "this browser stays in"
    assert other_device.get("/mod").status_code == 303, "every other session ends"
    fresh = browser_like()
    assert fresh.post("/mod/login", data=login_form(fresh, "alice", new)).status_code == 303


def test_wrong_current_passwords_on_the_page_lock_out_like_logins(
    browser_like: Callable[[], TestClient], session: Session, team: Team, settings: Settings
) -> None:
    """A stolen cookie must not be a way around the lock-out."""
    client = browser_like()
    log_in(client, "alice")
    new = "another long password"
    failures = settings.login_max_failures
    statuses = [change_password(client, f"guess {n}", new).status_code for n in range(failures)]
    assert statuses == [422] * failures
    refused = change_password(client, PASSWORD, new)
    assert refused.status_code == 429 and "Too many wrong tries" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    audited = session.exec(
        select(AuditEntry.moderator_id).where(AuditEntry.action == "password.change_failed")
    ).all()
    assert audited == [team.alice.id] * failures, "each wrong password audited, nothing else"


def test_an_admin_resets_a_password_on_the_pages(
    browser_like: Callable[[], TestClient], team: Team
) -> None:
    alice, bob = browser_like(), browser_like()
    log_in(alice, "alice")
    log_in(bob, "bob")
    response = bob.post(
        "/mod/moderators",
        data={
            "csrf_token": csrf(bob),
            "action": "reset_password",
            "moderator_id": team.alice.id,
            "confirmed": "yes",
        },
    )
    assert response.status_code == 200
    match = re.search(r'id="one-time-password">([^<]+)<', response.text)
    assert match
    one_time = match[1]
    assert one_time not in bob.get("/mod/moderators").text, "shown once"
    assert bob.get("/mod/audit").text.count(one_time) == 0
    assert alice.get("/mod").status_code == 303, "her sessions have ended"

    fresh = browser_like()
    first = fresh.post("/mod/login", data=login_form(fresh, "alice", one_time))
    assert first.status_code == 303 and first.headers["location"] == "/mod/password"
    assert fresh.get("/mod").headers["location"] == "/mod/password", "nothing else until then"
    changed = change_password(fresh, one_time, "alice's very own password")
    assert changed.status_code == 303 and changed.headers["location"] == "/mod?done=password"
    assert fresh.get("/mod").status_code == 200
