"""Membership: pending subscribers get no alerts and no check results; invite codes verify
once and expire; moderators verify, suspend, reinstate and remove members, in the audit log
without a contact or a code."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlmodel import Session, col, select

from alerts import membership
from alerts.models import Delivery, Invite, MessageKind, Subscriber
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.db import make_engine, utcnow
from app.migrate import downgrade, upgrade
from app.settings import Settings
from moderation.models import AuditEntry
from tests import helpers
from tests.conftest import LiveServer, PostgresDatabase, Team, TestDatabase
from tests.helpers import deliver
from tests.test_sms_commands import sms

PHONE = "+31687650001"
OTHER = "+31687650002"
REPORTED = "+31612345678"  # named in the alert helpers.publish_alert publishes
UNKNOWN = "+31611110000"  # named in no alert
CODE_FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


@pytest.fixture
def verified_settings(delivery_settings: Callable[..., Settings]) -> Settings:
    return delivery_settings(membership="verified")


@pytest.fixture
def client(
    make_client: Callable[..., TestClient], verified_settings: Settings
) -> Iterator[TestClient]:
    with make_client(verified_settings) as c:
        yield c


@pytest.fixture
def moderator(team: Team, auth: Callable[[Any], dict[str, str]]) -> dict[str, str]:
    """Alice's bearer headers: a moderator, not an admin."""
    return auth(team.alice)


@pytest.fixture
def admin(team: Team, auth: Callable[[Any], dict[str, str]]) -> dict[str, str]:
    """Bob's bearer headers: the admin."""
    return auth(team.bob)


@pytest.fixture
def mod_pages(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Settings], team: Team
) -> Callable[[str], AbstractContextManager[TestClient]]:
    """/mod signed in as one of the team, by username. Over plain http, as TestClient speaks:
    the settings are not the delivery ones, so the login cookie is not marked Secure."""
    from tests.test_moderation_pages import log_in

    @contextmanager
    def signed_in(username: str) -> Iterator[TestClient]:
        settings = make_settings(database_url="sqlite://", membership="verified")
        with make_client(settings, follow_redirects=False) as staff:
            log_in(staff, username)
            yield staff

    return signed_in


@pytest.fixture
def sms_server(
    make_live_server: Callable[..., LiveServer], delivery_settings: Callable[..., Settings]
) -> LiveServer:
    """A real server with membership=verified whose SMS go through the fake Twilio."""
    wanted = delivery_settings()
    names = ["public_url", "sms_provider", "twilio_account_sid", "twilio_auth_token",
             "twilio_from", "twilio_api_base"]  # fmt: skip
    return make_live_server(
        membership="verified", **{name: getattr(wanted, name) for name in names}
    )


def sent_to(client: TestClient, twilio: Any, number: str = PHONE) -> list[dict[str, str]]:
    deliver(client.app.state.settings, client.app.state.session_factory)  # type: ignore[attr-defined]
    return twilio.sent_to(number)  # type: ignore[no-any-return]


def sign_up(
    client: TestClient, twilio: Any, number: str = PHONE, invite: str | None = None
) -> dict[str, Any]:
    """Sign up for Assen through the API and confirm with the code; the confirmation."""
    body: dict[str, Any] = {"channel": "sms", "contact": number, "regions": ["GM0106"]}
    if invite is not None:
        body["invite_code"] = invite
    assert client.post("/api/v1/subscriptions", json=body).status_code == 202
    code = helpers.last_code(sent_to(client, twilio, number))
    confirmed = client.post(
        "/api/v1/subscriptions/confirm", json={"channel": "sms", "contact": number, "code": code}
    )
    assert confirmed.status_code == 200, confirmed.text
    return confirmed.json()  # type: ignore[no-any-return]


def subscribe_on_the_web(
    client: TestClient, twilio: Any, number: str = PHONE, *, lang: str = "en", invite: str = ""
) -> Any:
    """Sign up for Assen on the subscribe page and type in the code; the page that answers."""
    form = {"channel": "sms", "phone": number, "place": "Assen"}
    asked = client.post(f"/{lang}/subscribe", data={**form, "invite": invite} if invite else form)
    assert asked.status_code == 200, asked.text
    code = helpers.last_code(sent_to(client, twilio, number))
    return client.post(
        f"/{lang}/subscribe/code",
        data={"channel": "sms", "contact": number, "code": code, "place": "Assen"},
    )


def member(session: Session, crypto: Crypto, number: str = PHONE) -> Subscriber:
    session.expire_all()
    found = subscriptions.find(session, index=crypto.index, channel="sms", contact=number)
    assert found is not None
    return found


def member_token(client: TestClient, twilio: Any, number: str = PHONE) -> dict[str, str]:
    client.post("/api/v1/members/login", json={"channel": "sms", "contact": number})
    code = helpers.last_code(sent_to(client, twilio, number))
    signed_in = client.post(
        "/api/v1/members/verify", json={"channel": "sms", "contact": number, "code": code}
    )
    assert signed_in.status_code == 200, signed_in.text
    return {"Authorization": f"Bearer {signed_in.json()['access_token']}"}


def alerts_for(session: Session, subscriber_id: int) -> list[Delivery]:
    session.expire_all()
    return list(
        session.exec(
            select(Delivery).where(
                Delivery.subscriber_id == subscriber_id, Delivery.kind == MessageKind.alert
            )
        )
    )


def audit_entries(session: Session, *target_types: str) -> list[AuditEntry]:
    """The audit log's entries about these kinds of rows, oldest first."""
    session.expire_all()
    return list(
        session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.target_type).in_(target_types))
            .order_by(col(AuditEntry.id))
        ).all()
    )


def new_invite(client: TestClient, headers: dict[str, str], **body: Any) -> str:
    made = client.post("/api/v1/invites", json=body, headers=headers)
    assert made.status_code == 201, made.text
    return str(made.json()["code"])


# ---- pending subscribers: no alerts, no check results ------------------------------------------


def test_a_pending_subscriber_gets_no_alert_until_verified(
    client: TestClient,
    twilio: Any,
    session: Session,
    crypto: Crypto,
    team: Team,
    admin: dict[str, str],
) -> None:
    confirmed = sign_up(client, twilio)
    assert (confirmed["membership"], confirmed["invite"]) == ("pending", None)
    pending = member(session, crypto)
    assert pending.confirmed_at is not None and pending.verified_at is None

    helpers.publish_alert(session, crypto)
    assert alerts_for(session, pending.id or 0) == []
    texts = [m["body"] for m in sent_to(client, twilio)]
    assert len(texts) == 1 and "code" in texts[0], "only the sign-up code reached them"

    verified = client.post(f"/api/v1/moderation/members/{pending.id}/verify", headers=admin)
    assert verified.status_code == 200, verified.text
    assert verified.json()["membership"] == "verified"
    assert verified.json()["verified_how"] == "moderator"
    assert verified.json()["verified_by"] == f"moderator:{team.bob.id}"
    helpers.publish_alert(session, crypto, text="Hit a worker again.")
    assert len(alerts_for(session, pending.id or 0)) == 1
    news = [m["body"] for m in sent_to(client, twilio)][1:]
    assert len(news) == 2 and any("Hit a worker again." in body for body in news)
    assert "redflag: je bent bevestigd. Vanaf nu krijg je waarschuwingen voor Assen." in news


def test_a_pending_member_learns_nothing_from_a_check_through_the_api(
    client: TestClient, twilio: Any, session: Session, crypto: Crypto
) -> None:
    sign_up(client, twilio)
    helpers.publish_alert(session, crypto)
    token = member_token(client, twilio)
    known = client.post("/api/v1/check", json={"number": REPORTED}, headers=token)
    unknown = client.post("/api/v1/check", json={"number": UNKNOWN}, headers=token)
    assert known.status_code == unknown.status_code == 403
    assert known.json() == unknown.json()
    assert "not verified yet" in known.json()["detail"]
    assert "invite code" in known.json()["detail"]


def test_a_pending_member_learns_nothing_from_the_check_page(
    client: TestClient, twilio: Any, session: Session, crypto: Crypto
) -> None:
    sign_up(client, twilio)
    helpers.publish_alert(session, crypto)
    client.post("/en/check/login", data={"channel": "sms", "contact": PHONE})
    code = helpers.last_code(sent_to(client, twilio))
    page = client.post("/en/check/verify", data={"channel": "sms", "contact": PHONE, "code": code})
    assert page.status_code == 403
    assert "Not verified yet" in page.text and "invite code" in page.text
    assert 'name="number"' not in page.text

    token = member_token(client, twilio)["Authorization"].removeprefix("Bearer ")
    known = client.post("/en/check", data={"token": token, "number": REPORTED})
    unknown = client.post("/en/check", data={"token": token, "number": UNKNOWN})
    assert known.status_code == unknown.status_code == 403
    assert known.text == unknown.text
    assert "not verified yet" in known.text and "RF-" not in known.text


@pytest.mark.parametrize(
    ("join", "check", "expected"),
    [
        ("JOIN", "CHECK", "redflag: you are not verified yet, so you cannot check numbers."),
        ("AANMELDEN", "CONTROLEER", "redflag: je bent nog niet bevestigd, dus je kunt geen"),
        ("ALTA", "COMPROBAR", "redflag: aun sin verificar, no puedes revisar numeros."),
    ],
)
def test_a_pending_member_learns_nothing_from_a_check_by_sms(
    client: TestClient,
    verified_settings: Settings,
    session: Session,
    crypto: Crypto,
    join: str,
    check: str,
    expected: str,
) -> None:
    joined = sms(client, verified_settings, f"{join} ASSEN")
    assert "Assen" in joined and (
        "verified" in joined or "bevestigd" in joined or "verificar" in joined
    )
    helpers.publish_alert(session, crypto)
    known = sms(client, verified_settings, f"{check} {REPORTED}")
    unknown = sms(client, verified_settings, f"{check} {UNKNOWN}")
    assert known == unknown and known.startswith(expected)
    assert alerts_for(session, member(session, crypto, "+31612121212").id or 0) == []


# ---- invite codes ---------------------------------------------------------------------------


def test_issuing_invites_takes_a_moderator_and_a_sensible_lifetime(
    client: TestClient, session: Session, team: Team, moderator: dict[str, str]
) -> None:
    assert client.post("/api/v1/invites", json={}).status_code == 401
    made = client.post("/api/v1/invites", json={}, headers=moderator)
    assert made.status_code == 201
    assert CODE_FORMAT.match(made.json()["code"])
    invite = session.exec(select(Invite).order_by(Invite.id.desc())).first()  # type: ignore[union-attr]
    assert invite is not None and invite.issued_by == f"moderator:{team.alice.id}"
    assert made.json()["code"].encode() not in invite.code_hash
    lifetime = invite.expires_at - invite.created_at
    assert lifetime == timedelta(days=14)
    week = client.post("/api/v1/invites", json={"valid_days": 7}, headers=moderator)
    assert week.status_code == 201
    for body in ({"valid_days": 0}, {"valid_days": 61}, {"valid_days": "soon"}, {"days": 3}):
        refused = client.post("/api/v1/invites", json=body, headers=moderator)
        assert refused.status_code == 422, body
        assert refused.json()["detail"][0]["field"] in {"valid_days", "days"}


def test_an_invite_verifies_once(
    client: TestClient,
    twilio: Any,
    session: Session,
    crypto: Crypto,
    team: Team,
    moderator: dict[str, str],
) -> None:
    code = new_invite(client, moderator)
    first = sign_up(client, twilio, PHONE, invite=code.lower().replace("-", " "))
    assert (first["membership"], first["invite"]) == ("verified", "accepted")
    verified = member(session, crypto)
    assert (verified.verified_how, verified.verified_by) == ("invite", f"moderator:{team.alice.id}")

    second = sign_up(client, twilio, OTHER, invite=code)
    assert (second["membership"], second["invite"]) == ("pending", "used")
    refused = client.post(
        "/api/v1/subscriptions",
        json={"channel": "sms", "contact": OTHER, "regions": ["GM0106"], "invite_code": "K7QF"},
    )
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "invite_code"


def test_an_invite_expires(
    client: TestClient, twilio: Any, session: Session, moderator: dict[str, str]
) -> None:
    code = new_invite(client, moderator, valid_days=1)
    session.execute(update(Invite).values(expires_at=utcnow() - timedelta(minutes=1)))
    session.commit()
    confirmed = sign_up(client, twilio, invite=code)
    assert (confirmed["membership"], confirmed["invite"]) == ("pending", "expired")


@pytest.mark.parametrize(
    ("join", "used", "expired"),
    [
        ("JOIN", "that invite code was used already", "that invite code has expired"),
        ("AANMELDEN", "die uitnodigingscode is al gebruikt", "die uitnodigingscode is verlopen"),
        ("ALTA", "ese codigo de invitacion ya se uso", "ese codigo de invitacion ha caducado"),
    ],
)
def test_invites_by_sms_in_every_language(
    client: TestClient,
    verified_settings: Settings,
    session: Session,
    crypto: Crypto,
    moderator: dict[str, str],
    join: str,
    used: str,
    expired: str,
) -> None:
    code = new_invite(client, moderator)
    joined = sms(client, verified_settings, f"{join} ASSEN {code}", sender=PHONE)
    assert "Assen" in joined
    assert member(session, crypto).verified_how == "invite"
    again = sms(client, verified_settings, f"{join} ASSEN {code}", sender=OTHER)
    assert used in again and member(session, crypto, OTHER).membership == "pending"

    late = new_invite(client, moderator)
    session.execute(
        update(Invite).where(Invite.used_at.is_(None)).values(expires_at=utcnow())  # type: ignore[union-attr]
    )
    session.commit()
    assert expired in sms(client, verified_settings, f"{join} ASSEN {late}", sender=OTHER)
    # A town whose name reads as a code is still a town.
    assert "Zaanstad" in sms(client, verified_settings, f"{join} ZAANSTAD", sender=OTHER)


def test_the_sign_up_page_takes_an_invite_code(
    client: TestClient, twilio: Any, moderator: dict[str, str]
) -> None:
    form = client.get("/en/subscribe")
    assert "Invite code" in form.text
    bad = client.post(
        "/en/subscribe",
        data={"channel": "sms", "phone": PHONE, "place": "Assen", "invite": "K7QF"},
    )
    assert bad.status_code == 422 and "This is not an invite code" in bad.text
    code = new_invite(client, moderator)
    done = subscribe_on_the_web(client, twilio, invite=code)
    assert done.status_code == 200 and "You will get warnings for Assen" in done.text
    done = subscribe_on_the_web(client, twilio, OTHER, lang="es", invite=code)
    assert "Este código de invitación ya se usó" in done.text
    assert "aún no está verificada" in done.text


def test_two_sign_ups_racing_for_one_invite_one_wins(
    postgres: PostgresDatabase, make_settings: Callable[..., Settings]
) -> None:
    """On PostgreSQL: the second UPDATE waits for the first transaction, then finds the code
    used. The first holds its lock until the second is seen waiting for it."""
    url = postgres.fresh()
    engine = make_engine(url)
    crypto = Crypto.from_settings(make_settings(database_url=url))
    try:
        with Session(engine) as session:
            code, _ = membership.issue_invite(session, index=crypto.index, issued_by="moderator:1")
            session.commit()
        digest = membership.invite_hash(crypto.index, code)
        assert digest is not None
        outcomes: list[membership.InviteOutcome] = []

        def second() -> None:
            with Session(engine) as other:
                outcomes.append(membership.use_invite(other, code_hash=digest)[0])
                other.commit()

        with Session(engine) as first:
            outcomes.append(membership.use_invite(first, code_hash=digest)[0])
            racer = threading.Thread(target=second)
            racer.start()
            with engine.connect() as watcher:
                # pg_stat_activity holds still for a whole transaction: a new one each look.
                while not watcher.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                    )
                ).scalar():
                    watcher.rollback()
                    racer.join(0.01)
                    assert racer.is_alive(), "the second sign-up did not wait for the first"
            first.commit()
        racer.join()
        assert outcomes == [membership.InviteOutcome.accepted, membership.InviteOutcome.used]
    finally:
        engine.dispose()


# ---- open membership ----------------------------------------------------------------------------


def test_open_membership_verifies_at_confirmation(
    make_client: Callable[..., TestClient],
    delivery_settings: Callable[..., Settings],
    twilio: Any,
    session: Session,
    crypto: Crypto,
) -> None:
    settings = delivery_settings(membership="open")
    with make_client(settings) as client:
        assert sign_up(client, twilio)["membership"] == "verified"
        assert member(session, crypto).verified_how == "open"
        assert sms(client, settings, "JOIN ASSEN", sender=OTHER).startswith(
            "redflag: you get warnings for Assen."
        )
        assert member(session, crypto, OTHER).verified_how == "open"
        helpers.publish_alert(session, crypto)
        assert len(alerts_for(session, member(session, crypto).id or 0)) == 1


# ---- moderators' decisions ----------------------------------------------------------------------


def test_suspend_reinstate_and_remove_with_audit_entries(
    client: TestClient,
    twilio: Any,
    session: Session,
    crypto: Crypto,
    moderator: dict[str, str],
    admin: dict[str, str],
) -> None:
    code = new_invite(client, moderator)
    sign_up(client, twilio, invite=code)
    member_id = member(session, crypto).id
    url = f"/api/v1/moderation/members/{member_id}"

    listed = client.get("/api/v1/moderation/members", headers=admin)
    assert listed.status_code == 200
    [row] = [m for m in listed.json() if m["id"] == member_id]
    assert (row["membership"], row["verified_how"], row["regions"]) == (
        "verified",
        "invite",
        ["GM0106"],
    )
    assert PHONE[3:] not in listed.text and "contact" not in row
    assert client.get("/api/v1/moderation/members", headers=moderator).status_code == 403
    refused = client.post(f"{url}/suspend", json={"reason": "abuse"}, headers=moderator)
    assert refused.status_code == 403

    bad = client.post(f"{url}/suspend", json={"reason": "because"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "reason"
    assert client.post(f"{url}/reinstate", headers=admin).status_code == 409
    assert client.post(f"{url}/verify", headers=admin).status_code == 409
    suspended = client.post(f"{url}/suspend", json={"reason": "passed_on_alerts"}, headers=admin)
    assert suspended.status_code == 200 and suspended.json()["membership"] == "suspended"

    helpers.publish_alert(session, crypto)
    assert alerts_for(session, member_id or 0) == []
    token = member_token(client, twilio)
    checked = client.post("/api/v1/check", json={"number": REPORTED}, headers=token)
    assert checked.status_code == 403 and "suspended" in checked.json()["detail"]

    reinstated = client.post(f"{url}/reinstate", headers=admin)
    assert reinstated.json()["membership"] == "verified"
    assert client.post("/api/v1/check", json={"number": REPORTED}, headers=token).json()["found"]

    removed = client.post(f"{url}/remove", json={"reason": "not_a_sex_worker"}, headers=admin)
    assert removed.status_code == 204
    session.expire_all()
    assert session.get(Subscriber, member_id) is None
    assert client.post(f"{url}/remove", json={"reason": "other"}, headers=admin).status_code == 404

    entries = audit_entries(session, "subscriber", "invite")
    assert [e.action for e in entries] == [
        "invite.issue",
        "member.suspended.passed_on_alerts",
        "member.reinstated",
        "member.removed.not_a_sex_worker",
    ]
    assert {e.target_id for e in entries if e.target_type == "subscriber"} == {str(member_id)}
    for entry in entries:
        words = f"{entry.action} {entry.target_id}"
        assert PHONE[3:] not in words and code not in words and code.replace("-", "") not in words


# ---- the migration ------------------------------------------------------------------------------


def test_subscribers_from_before_membership_become_verified(database: TestDatabase) -> None:
    engine = make_engine(database.fresh())
    try:
        downgrade(engine, "0009_one_off_messages")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO subscriber (channel, contact_enc, contact_index, language,"
                    " min_severity_rank, created_at, confirmed_at)"
                    " VALUES ('sms', :c, :i, 'nl', 0, :now, :now)"
                ),
                {"c": b"x" * 40, "i": b"y" * 32, "now": utcnow()},
            )
        upgrade(engine)
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT membership, verified_how, verified_at FROM subscriber")
            ).one()
        assert (row[0], row[1]) == ("verified", "migration") and row[2] is not None
    finally:
        engine.dispose()


# ---- /mod/members -------------------------------------------------------------------------------


def test_the_members_page_verifies_and_suspends_after_asking(
    mod_pages: Callable[[str], AbstractContextManager[TestClient]],
    session: Session,
    crypto: Crypto,
) -> None:
    from tests.test_moderation_pages import csrf

    pending = subscriptions._new_subscriber(
        session, channel="sms", contact=PHONE, language="en", crypto=crypto
    )
    pending.confirmed_at = utcnow()
    subscriptions.set_regions(session, subscriber=pending, codes=["GM0106"], replace=True)
    session.commit()
    member_id = pending.id
    with mod_pages("alice") as alice, mod_pages("bob") as bob:
        assert alice.get("/mod/members").status_code == 403
        page = bob.get("/mod/members?state=pending")
        assert page.status_code == 200 and f"#{member_id}" in page.text
        assert PHONE[3:] not in page.text and "Assen" not in page.text  # codes, not names
        assert "GM0106" in page.text and 'value="verify"' in page.text

        form = {"csrf_token": csrf(bob, "/mod/members"), "member_id": str(member_id)}
        asked = bob.post("/mod/members", data={**form, "action": "verify"})
        assert asked.status_code == 200 and f"Verify member {member_id}?" in asked.text
        assert member(session, crypto).membership == "pending", "asking first changes nothing"
        done = bob.post("/mod/members", data={**form, "action": "verify", "confirmed": "yes"})
        assert done.headers["location"] == "/mod/members?done=saved"
        assert member(session, crypto).verified_how == "moderator"

        no_reason = bob.post(
            "/mod/members", data={**form, "action": "suspend", "reason": "", "confirmed": "yes"}
        )
        assert no_reason.status_code == 422 and "Choose a reason" in no_reason.text
        bob.post(
            "/mod/members",
            data={**form, "action": "suspend", "reason": "abuse", "confirmed": "yes"},
        )
        assert member(session, crypto).membership == "suspended"
        suspended = bob.get("/mod/members?state=suspended").text
        assert f"#{member_id}" in suspended and 'value="reinstate"' in suspended
        actions = [e.action for e in audit_entries(session, "subscriber")]
        assert actions == ["member.verified", "member.suspended.abuse"]


# ---- nothing identifying in the database -------------------------------------------------------


def test_an_invite_code_and_the_member_are_nowhere_in_the_database(
    sms_server: LiveServer,
) -> None:
    """A real server: an invite issued, then spent by `JOIN ASSEN <code>` through Twilio's
    signed webhook; every byte of the database is searched for the code and the number."""
    import httpx

    from moderation.models import Role

    bob = helpers.staff_headers(sms_server, username="bob", role=Role.admin)
    made = httpx.post(f"{sms_server.url}/api/v1/invites", json={"valid_days": 3}, headers=bob)
    assert made.status_code == 201
    code = made.json()["code"]
    reply = helpers.sms_to_server(
        sms_server, f"JOIN ASSEN {code}", sender=PHONE, sid="SM" + "7" * 32
    )
    assert "you get warnings for Assen" in reply.text
    engine = make_engine(sms_server.database_url)
    try:
        with Session(engine) as session:
            found = session.exec(select(Subscriber)).one()
            assert (found.membership, found.verified_how) == ("verified", "invite")
    finally:
        engine.dispose()
    stored = helpers.database_bytes(sms_server.database_url)
    for secret in (code, code.replace("-", ""), PHONE, PHONE[1:], PHONE[3:]):
        assert secret.encode() not in stored, secret


def test_a_suspended_member_gets_no_update_and_no_check_by_sms(
    client: TestClient, verified_settings: Settings, session: Session, crypto: Crypto
) -> None:
    from alerts import service as alerts_service

    sms(client, verified_settings, "JOIN ASSEN")
    joined = member(session, crypto, "+31612121212")
    membership.verify(session, member_id=joined.id or 0, by="moderator:1")
    session.commit()
    alert = helpers.publish_alert(session, crypto)
    deliver(client.app.state.settings, client.app.state.session_factory)  # type: ignore[attr-defined]
    assert [d.status for d in alerts_for(session, joined.id or 0)] == ["sent"]
    membership.suspend(session, member_id=joined.id or 0)
    session.commit()
    alerts_service.add_update(session, alert=alert, text="Seen again.", cipher=crypto.cipher)
    session.commit()
    updates = session.exec(
        select(Delivery).where(
            Delivery.subscriber_id == joined.id, Delivery.kind == MessageKind.update
        )
    ).all()
    assert updates == []
    assert sms(client, verified_settings, f"CHECK {REPORTED}") == (
        "redflag: your membership is suspended: you get no warnings and cannot check numbers."
    )
    assert sms(client, verified_settings, "JOIN ASSEN").startswith(
        "redflag: your membership is suspended"
    ), "joining again does not lift a suspension"
