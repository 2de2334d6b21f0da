"""Applications: a pending subscriber tells moderators what lets them see that they work;
moderators verify or reject in a queue; the evidence is deleted at the decision (or after
REDFLAG_APPLICATION_DAYS), the applicant is told in their language, and the audit log holds
who decided and when, never the evidence or a contact."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from alerts.models import Application, Subscriber
from app.crypto import Crypto
from app.db import make_engine, utcnow
from app.settings import Settings
from moderation import retention
from moderation.models import AuditEntry
from tests import helpers
from tests.conftest import LiveServer, Team
from tests.test_membership import (
    alerts_for,
    audit_entries,
    client,
    member,
    member_token,
    mod_pages,
    moderator,
    sent_to,
    sign_up,
    sms_server,
    subscribe_on_the_web,
    verified_settings,
)
from tests.test_sms_commands import sms

PHONE = "+31687650001"  # tests.test_membership's: signs up through the API or the web
JOINER = "+31612121212"  # tests.test_sms_commands' sender: joins by SMS
EVIDENCE = "Known at the Prostitutie Maatschappelijk Werk drop-in on Tuesdays, ask for Zora"
AD = "https://ads.example.net/zora-7731"
LINK = re.compile(r"https://redflag\.example\.org(/(?:nl|en|es)/apply\?t=[\w-]+)")

# test_membership's fixtures, for the tests below
__all__ = ["client", "mod_pages", "moderator", "sms_server", "verified_settings"]


def link_in(text: str) -> str:
    """The application link's path in a page or a message."""
    found = LINK.search(html.unescape(text))
    assert found, text
    return found.group(1)


def join_and_get_link(client: TestClient, settings: Settings, keyword: str = "JOIN") -> str:
    reply = sms(client, settings, f"{keyword} ASSEN")
    return link_in(reply)


def apply_by_link(client: TestClient, path: str, evidence: str = EVIDENCE, link: str = AD) -> Any:
    lang = path.split("/")[1]
    token = path.split("t=", 1)[1]
    return client.post(f"/{lang}/apply", data={"token": token, "evidence": evidence, "link": link})


def join_and_apply(client: TestClient, settings: Settings, keyword: str = "JOIN") -> None:
    """JOIN ASSEN by SMS (in the keyword's language), then apply through the reply's link."""
    applied = apply_by_link(client, join_and_get_link(client, settings, keyword))
    assert applied.status_code == 200, applied.text


def queue(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    listed = client.get("/api/v1/moderation/members/pending", headers=headers)
    assert listed.status_code == 200, listed.text
    return listed.json()  # type: ignore[no-any-return]


def audit_words(session: Session) -> list[str]:
    """The audit log's entries about members."""
    return [
        f"{e.action} {e.target_type} {e.target_id}" for e in audit_entries(session, "subscriber")
    ]


# ---- applying -----------------------------------------------------------------------------------


def test_a_pending_subscriber_applies_on_the_web_after_confirming(
    client: TestClient, twilio: Any, session: Session, crypto: Crypto, moderator: dict[str, str]
) -> None:
    done = subscribe_on_the_web(client, twilio)
    assert done.status_code == 200 and "Not verified yet" in done.text
    assert 'id="apply-link"' in done.text and "Ask to be verified" in done.text
    path = link_in(done.text)
    assert PHONE[3:] not in path

    form = client.get(path)
    assert form.status_code == 200 and "How can we see that you work?" in form.text
    empty = apply_by_link(client, path, evidence="  ", link="not a link")
    assert empty.status_code == 422
    assert "Tell us in a few words how we can see that you work" in empty.text
    assert "This is not a web address" in empty.text
    too_long = apply_by_link(client, path, evidence="x" * 1001)
    assert too_long.status_code == 422 and "at most 1,000 characters" in too_long.text

    sent = apply_by_link(client, path)
    assert sent.status_code == 200 and "A moderator will read your application" in sent.text
    assert apply_by_link(client, path).status_code == 404, "the link is spent"
    assert client.get(path).status_code == 404

    [waiting] = queue(client, moderator)  # every moderator works the queue
    pending = member(session, crypto)
    assert waiting["id"] == pending.id
    assert (waiting["evidence"], waiting["link"]) == (EVIDENCE, AD)
    assert (waiting["regions"], waiting["language"]) == (["GM0106"], "en")
    assert waiting["received_at"]
    assert PHONE[3:] not in str(waiting)
    assert client.get("/api/v1/moderation/members/pending").status_code == 401
    assert audit_words(session) == [f"application.view subscriber {pending.id}"]


def test_applying_through_the_api_with_a_member_token(
    client: TestClient, twilio: Any, moderator: dict[str, str]
) -> None:
    sign_up(client, twilio)
    token = member_token(client, twilio)
    url = "/api/v1/members/application"
    assert client.post(url, json={"evidence": EVIDENCE}).status_code == 401
    forged = client.post(url, json={"evidence": EVIDENCE}, headers={"Authorization": "Bearer x"})
    assert forged.status_code == 401
    for body, field in [({}, "evidence"), ({"evidence": "x" * 1001}, "evidence"),
                        ({"evidence": EVIDENCE, "link": "javascript:alert(1)"}, "link"),
                        ({"evidence": EVIDENCE, "name": "Zora"}, "name")]:  # fmt: skip
        refused = client.post(url, json=body, headers=token)
        assert refused.status_code == 422, body
        assert refused.json()["detail"][0]["field"] == field
        assert "Zora" not in refused.text and "javascript" not in refused.text

    made = client.post(url, json={"evidence": EVIDENCE, "link": "ads.example.net/z"}, headers=token)
    assert made.status_code == 201, made.text
    again = client.post(url, json={"evidence": "Once more"}, headers=token)
    assert again.status_code == 409 and "waiting" in again.json()["detail"]
    [waiting] = queue(client, moderator)
    assert waiting["link"] == "https://ads.example.net/z"


def test_the_reply_to_join_links_to_the_form_in_the_senders_language(
    client: TestClient, verified_settings: Settings
) -> None:
    reply = sms(client, verified_settings, "ALTA ASSEN")
    assert reply.startswith("redflag: suscripcion para Assen, pero aun sin verificar")
    path = link_in(reply)
    assert path.startswith("/es/apply?t=") and JOINER[3:] not in path
    assert "¿Cómo podemos ver que trabajas?" in client.get(path).text
    # The link works through the API too (its token as the bearer), once.
    token = {"Authorization": f"Bearer {path.split('t=', 1)[1]}"}
    url = "/api/v1/members/application"
    assert client.post(url, json={"evidence": EVIDENCE}, headers=token).status_code == 201
    assert client.post(url, json={"evidence": EVIDENCE}, headers=token).status_code == 401
    # While it waits, JOIN again offers no new link.
    assert "http" not in sms(client, verified_settings, "ALTA ASSEN")


def test_only_a_pending_subscriber_can_apply(
    client: TestClient,
    twilio: Any,
    verified_settings: Settings,
    session: Session,
    crypto: Crypto,
    moderator: dict[str, str],
) -> None:
    path = join_and_get_link(client, verified_settings)
    joined = member(session, crypto, JOINER)
    verified = client.post(f"/api/v1/moderation/members/{joined.id}/verify", headers=moderator)
    assert verified.status_code == 200
    late = apply_by_link(client, path)
    assert late.status_code == 409 and "no longer pending" in late.text
    assert session.exec(select(Application)).all() == []

    sign_up(client, twilio)  # pending, then gone: their token names nobody
    token = member_token(client, twilio)
    gone = member(session, crypto)
    session.delete(gone)
    session.commit()
    url = "/api/v1/members/application"
    assert client.post(url, json={"evidence": EVIDENCE}, headers=token).status_code == 401
    assert client.get("/en/apply?t=no-such-token").status_code == 404
    unknown = client.post(
        "/en/apply", data={"token": "no-such-token", "evidence": EVIDENCE, "link": ""}
    )
    assert unknown.status_code == 404 and "wrong or has expired" in unknown.text


# ---- the moderators' decision ------------------------------------------------------------------


def test_verified_the_member_is_told_in_their_language_and_gets_the_next_alert(
    client: TestClient,
    verified_settings: Settings,
    twilio: Any,
    session: Session,
    crypto: Crypto,
    team: Team,
    moderator: dict[str, str],
) -> None:
    join_and_apply(client, verified_settings, "ALTA")
    [waiting] = queue(client, moderator)
    applicant = member(session, crypto, JOINER)
    helpers.publish_alert(session, crypto)
    assert alerts_for(session, applicant.id or 0) == [], "pending: no alert while waiting"

    decided = client.post(f"/api/v1/moderation/members/{waiting['id']}/verify", headers=moderator)
    assert decided.status_code == 200
    assert decided.json()["verified_how"] == "application"
    assert decided.json()["verified_by"] == f"moderator:{team.alice.id}"
    assert session.exec(select(Application)).all() == [], "the evidence went at the decision"
    assert queue(client, moderator) == []
    assert sent_to(client, twilio, JOINER)[-1]["body"] == (
        "redflag: tu membresia esta verificada. Desde ahora recibes avisos para Assen."
    )

    helpers.publish_alert(session, crypto, text="Hit a worker again.")
    assert len(alerts_for(session, applicant.id or 0)) == 1
    assert "Hit a worker again." in sent_to(client, twilio, JOINER)[-1]["body"]
    assert audit_words(session) == [
        f"application.view subscriber {applicant.id}",
        f"application.verified subscriber {applicant.id}",
    ]


def test_rejected_the_member_is_told_kindly_and_gets_no_alerts(
    client: TestClient,
    verified_settings: Settings,
    twilio: Any,
    session: Session,
    crypto: Crypto,
    moderator: dict[str, str],
) -> None:
    join_and_apply(client, verified_settings, "AANMELDEN")
    applicant = member(session, crypto, JOINER)
    url = f"/api/v1/moderation/members/{applicant.id}"
    rejected = client.post(f"{url}/reject", headers=moderator)
    assert rejected.status_code == 200 and rejected.json()["membership"] == "pending"
    assert session.exec(select(Application)).all() == []
    assert sent_to(client, twilio, JOINER)[-1]["body"] == (
        "redflag: dank je voor je aanvraag. We konden je deze keer niet bevestigen. Een project"
        " dat je kent, kan je een uitnodigingscode geven."
    )
    again = client.post(f"{url}/reject", headers=moderator)
    assert again.status_code == 409 and "no application waiting" in again.json()["detail"]
    unknown = client.post("/api/v1/moderation/members/999999/reject", headers=moderator)
    assert unknown.status_code == 404

    helpers.publish_alert(session, crypto)
    assert alerts_for(session, applicant.id or 0) == []
    # Still pending: JOIN offers a new link, and they may apply again.
    join_and_apply(client, verified_settings)
    assert [a["id"] for a in queue(client, moderator)] == [applicant.id]
    for words in audit_words(session):
        assert EVIDENCE not in words and "Zora" not in words and JOINER[3:] not in words


def test_undecided_applications_go_after_the_retention_period(
    client: TestClient, verified_settings: Settings, session: Session, crypto: Crypto
) -> None:
    join_and_apply(client, verified_settings)
    day29 = retention.run(session, verified_settings, now=utcnow() + timedelta(days=29))
    assert day29["undecided applications deleted"] == 0
    day31 = retention.run(session, verified_settings, now=utcnow() + timedelta(days=31))
    assert day31["undecided applications deleted"] == 1
    session.commit()
    assert session.exec(select(Application)).all() == []
    assert member(session, crypto, JOINER).membership == "pending"


def test_suspending_or_removing_an_applicant_deletes_the_application_at_once(
    client: TestClient,
    verified_settings: Settings,
    session: Session,
    crypto: Crypto,
    team: Team,
    auth: Callable[[Any], dict[str, str]],
    moderator: dict[str, str],
) -> None:
    """A suspension or removal decides the application too: its evidence goes then, not
    when the retention would take it."""
    admin = auth(team.bob)
    join_and_apply(client, verified_settings)
    applicant = member(session, crypto, JOINER)
    reason = {"reason": "not_a_sex_worker"}
    url = f"/api/v1/moderation/members/{applicant.id}"
    assert client.post(f"{url}/suspend", json=reason, headers=admin).status_code == 200
    session.expire_all()
    assert session.exec(select(Application)).all() == []
    assert queue(client, moderator) == []
    assert client.post(f"{url}/reinstate", headers=admin).status_code == 200

    join_and_apply(client, verified_settings)  # pending again: may apply again
    assert client.post(f"{url}/remove", json=reason, headers=admin).status_code == 204
    session.expire_all()
    assert session.exec(select(Application)).all() == []


# ---- /mod/applications --------------------------------------------------------------------------


def test_the_queue_page_verifies_and_rejects_after_asking(
    client: TestClient,
    verified_settings: Settings,
    mod_pages: Callable[[str], AbstractContextManager[TestClient]],
    twilio: Any,
    session: Session,
    crypto: Crypto,
) -> None:
    from tests.test_moderation_pages import csrf

    join_and_apply(client, verified_settings)
    sign_up(client, twilio)
    client.post(
        "/api/v1/members/application",
        json={"evidence": "I work at a club in Assen."},
        headers=member_token(client, twilio),
    )
    first, second = member(session, crypto, JOINER), member(session, crypto)
    with mod_pages("alice") as alice:
        page = alice.get("/mod/applications")
        assert page.status_code == 200
        assert page.text.index(f"Member #{first.id}") < page.text.index(f"Member #{second.id}")
        assert EVIDENCE in page.text and f'href="{AD}"' in page.text
        assert 'rel="noreferrer noopener"' in page.text and JOINER[3:] not in page.text

        form = {"csrf_token": csrf(alice, "/mod/applications"), "member_id": str(first.id)}
        asked = alice.post("/mod/applications", data={**form, "action": "verify"})
        assert asked.status_code == 200 and f"Verify member {first.id}?" in asked.text
        assert EVIDENCE not in asked.text
        assert member(session, crypto, JOINER).membership == "pending", "asking changes nothing"
        done = alice.post(
            "/mod/applications", data={**form, "action": "verify", "confirmed": "yes"}
        )
        assert done.headers["location"] == "/mod/applications?done=verify"
        assert member(session, crypto, JOINER).verified_how == "application"

        form["member_id"] = str(second.id)
        alice.post("/mod/applications", data={**form, "action": "reject", "confirmed": "yes"})
        assert member(session, crypto).membership == "pending"
        assert "No applications waiting." in alice.get("/mod/applications").text
        twice = alice.post(
            "/mod/applications", data={**form, "action": "reject", "confirmed": "yes"}
        )
        assert twice.status_code == 422 and "no application waiting" in twice.text
    actions = [w for w in audit_words(session) if not w.startswith("application.view")]
    assert actions == [
        f"application.verified subscriber {first.id}",
        f"application.rejected subscriber {second.id}",
    ]


# ---- nothing left in the database ------------------------------------------------------------


@pytest.mark.parametrize("decision", ["verify", "reject", "nobody"])
def test_the_evidence_is_nowhere_in_the_database_after_the_decision(
    sms_server: LiveServer, decision: str
) -> None:
    """A real server: JOIN through Twilio's signed webhook, an application through the link
    in the reply, a moderator's decision (or 31 days of none); then every byte of the
    database is searched for the evidence, its ciphertext and the number."""
    import httpx

    from moderation.models import Role

    reply = helpers.sms_to_server(sms_server, "JOIN ASSEN", sender=JOINER, sid="SM" + "5" * 32)
    token = link_in(reply.text).split("t=", 1)[1]
    applied = httpx.post(
        f"{sms_server.url}/en/apply", data={"token": token, "evidence": EVIDENCE, "link": AD}
    )
    assert applied.status_code == 200
    alice = helpers.staff_headers(sms_server, username="alice", role=Role.moderator)
    engine = make_engine(sms_server.database_url)
    try:
        with Session(engine) as session:
            [application] = session.exec(select(Application)).all()
            sealed = application.evidence_enc
            subscriber_id = application.subscriber_id
        base = f"{sms_server.url}/api/v1/moderation/members"
        assert httpx.get(f"{base}/pending", headers=alice).json()[0]["evidence"] == EVIDENCE
        if decision == "nobody":
            with Session(engine) as session:
                retention.run(session, sms_server.settings, now=utcnow() + timedelta(days=31))
                session.commit()
        else:
            decided = httpx.post(f"{base}/{subscriber_id}/{decision}", headers=alice)
            assert decided.status_code == 200
        with Session(engine) as session:
            assert session.exec(select(Application)).all() == []
            assert session.get(Subscriber, subscriber_id) is not None
            entries = session.exec(select(AuditEntry)).all()
            for entry in entries:
                words = f"{entry.action} {entry.target_type} {entry.target_id}"
                assert "Zora" not in words and "ads.example" not in words
                assert JOINER[3:] not in words
    finally:
        engine.dispose()
    stored = helpers.database_bytes(sms_server.database_url)
    for secret in (EVIDENCE, "Zora", AD, "zora-7731", JOINER, JOINER[3:]):
        assert secret.encode() not in stored, secret
    assert sealed not in stored, "the encrypted evidence is gone too, not just unreadable"
    assert sealed[-16:] not in stored
