"""Subscribing and leaving (API and pages), members, and the client check."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, select

from alerts import service as alerts_service
from alerts.models import Delivery, OneTimeCode, Severity, Subscriber
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.db import utcnow
from app.settings import Settings
from tests import helpers
from tests.helpers import deliver

PHONE = "+31687654321"
EMAIL = "ana@example.org"
ACCEPTED = {"detail": "If this number or address can be used, a message is on its way."}


@pytest.fixture
def client(
    make_client: Callable[..., TestClient], delivery_settings: Callable[..., Settings]
) -> Iterator[TestClient]:
    with make_client(delivery_settings()) as c:
        yield c


def sent_to(client: TestClient, twilio: Any, number: str = PHONE) -> list[dict[str, str]]:
    """What reached this number, once the delivery worker has sent all that is due: codes
    go through the outbox, never inside the request that asks for them."""
    deliver(client.app.state.settings, client.app.state.session_factory)  # type: ignore[attr-defined]
    return twilio.sent_to(number)  # type: ignore[no-any-return]


def last_code(client: TestClient, twilio: Any, number: str = PHONE) -> str:
    """The code in the last message to `number` with one."""
    return helpers.last_code(sent_to(client, twilio, number))


def last_link(client: TestClient, mailbox: Any, address: str = EMAIL) -> str:
    deliver(client.app.state.settings, client.app.state.session_factory)  # type: ignore[attr-defined]
    body = mailbox.to(address)[-1].get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"https://redflag\.example\.org(/\w\w/subscribe/confirm\?t=[\w-]+)", body)
    assert match, body
    return match.group(1)


def find(
    session: Session, crypto: Crypto, channel: str = "sms", contact: str = PHONE
) -> Subscriber | None:
    session.expire_all()
    return subscriptions.find(session, index=crypto.index, channel=channel, contact=contact)


# ---- subscribing by SMS -----------------------------------------------------------------------


def test_subscribing_by_sms_takes_the_code(
    client: TestClient, session: Session, crypto: Crypto, twilio: Any
) -> None:
    response = client.post(
        "/api/v1/subscriptions",
        json={
            "channel": "sms",
            "contact": "06 8765 4321",
            "regions": ["GM0106", "NL-FR"],
            "language": "es",
        },
    )
    assert response.status_code == 202
    assert response.json() == ACCEPTED
    body = sent_to(client, twilio)[-1]["body"]
    assert body.startswith("Tu codigo de redflag: ") and "15 minutos" in body
    pending = find(session, crypto)
    assert pending is not None and pending.confirmed_at is None

    confirmed = client.post(
        "/api/v1/subscriptions/confirm",
        json={"channel": "sms", "contact": PHONE, "code": last_code(client, twilio)},
    )
    assert confirmed.status_code == 200
    assert confirmed.json() == {
        "channel": "sms",
        "regions": [
            {"code": "GM0106", "name": "Assen", "level": "municipality"},
            {"code": "NL-FR", "name": "Fryslân", "level": "province"},
        ],
        "language": "es",
        "min_severity": "low",
        "membership": "verified",  # REDFLAG_MEMBERSHIP=open: confirming is enough
        "invite": None,
    }
    assert find(session, crypto).confirmed_at is not None  # type: ignore[union-attr]


def test_wrong_codes_run_out(client: TestClient, twilio: Any, settings: Settings) -> None:
    client.post(
        "/api/v1/subscriptions", json={"channel": "sms", "contact": PHONE, "regions": ["GM0106"]}
    )
    right = last_code(client, twilio)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(settings.code_attempts - 1):
        refused = client.post(
            "/api/v1/subscriptions/confirm",
            json={"channel": "sms", "contact": PHONE, "code": wrong},
        )
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["field"] == "code"
    last = client.post(
        "/api/v1/subscriptions/confirm", json={"channel": "sms", "contact": PHONE, "code": wrong}
    )
    assert "too many wrong codes" in last.json()["detail"][0]["msg"]
    too_late = client.post(
        "/api/v1/subscriptions/confirm", json={"channel": "sms", "contact": PHONE, "code": right}
    )
    assert too_late.status_code == 422, "the right code no longer works either"


def test_codes_expire(client: TestClient, twilio: Any, session: Session) -> None:
    client.post(
        "/api/v1/subscriptions", json={"channel": "sms", "contact": PHONE, "regions": ["GM0106"]}
    )
    session.execute(update(OneTimeCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    response = client.post(
        "/api/v1/subscriptions/confirm",
        json={"channel": "sms", "contact": PHONE, "code": last_code(client, twilio)},
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        ({"channel": "sms", "contact": "12345", "regions": ["GM0106"]}, "contact", "invalid_phone"),
        (
            {"channel": "sms", "contact": "+31 20 123 4567", "regions": ["GM0106"]},
            "contact",
            "not_mobile",
        ),
        (
            {"channel": "email", "contact": "nope", "regions": ["GM0106"]},
            "contact",
            "invalid_email",
        ),
        (
            {"channel": "sms", "contact": PHONE, "regions": ["GM9999"]},
            "regions.0",
            "unknown_region",
        ),
        ({"channel": "sms", "contact": PHONE, "regions": []}, "regions", "too_short"),
        ({"channel": "fax", "contact": PHONE, "regions": ["GM0106"]}, "channel", "enum"),
        (
            {"channel": "sms", "contact": PHONE, "regions": ["GM0106"], "name": "Ana"},
            "name",
            "extra_forbidden",
        ),
    ],
)
def test_bad_subscriptions_name_the_problem(
    client: TestClient, twilio: Any, body: dict[str, Any], field: str, kind: str
) -> None:
    response = client.post("/api/v1/subscriptions", json=body)
    assert response.status_code == 422
    error = next(e for e in response.json()["detail"] if e["field"] == field)
    assert error["type"] == kind
    assert body["contact"] not in response.text
    sent_to(client, twilio)
    assert twilio.messages == []


def test_a_channel_that_is_not_offered(
    make_client: Callable[..., TestClient], delivery_settings: Callable[..., Settings]
) -> None:
    with make_client(delivery_settings(email_provider="none")) as client:
        response = client.post(
            "/api/v1/subscriptions",
            json={"channel": "email", "contact": EMAIL, "regions": ["GM0106"]},
        )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "channel_unavailable"


def test_a_provider_outage_is_no_concern_of_the_request(
    client: TestClient, twilio: Any, session: Session, crypto: Crypto
) -> None:
    """The code goes through the outbox: the answer is the usual 202 while the provider is
    down, and the worker sends the code once the provider answers again."""
    twilio.fail_next(1, 500)
    response = client.post(
        "/api/v1/subscriptions", json={"channel": "sms", "contact": PHONE, "regions": ["GM0106"]}
    )
    assert (response.status_code, response.json()) == (202, ACCEPTED)
    assert sent_to(client, twilio) == [], "the provider failed: the code waits for a retry"
    session.execute(update(Delivery).values(due_at=utcnow()))  # the retry is due now
    session.commit()
    confirmed = client.post(
        "/api/v1/subscriptions/confirm",
        json={"channel": "sms", "contact": PHONE, "code": last_code(client, twilio)},
    )
    assert confirmed.status_code == 200
    assert find(session, crypto).confirmed_at is not None  # type: ignore[union-attr]


def test_asking_again_does_not_tell_whether_a_number_is_subscribed(
    client: TestClient, twilio: Any, session: Session, crypto: Crypto
) -> None:
    body = {"channel": "sms", "contact": PHONE, "regions": ["GM0106"]}
    first = client.post("/api/v1/subscriptions", json=body)
    client.post(
        "/api/v1/subscriptions/confirm",
        json={"channel": "sms", "contact": PHONE, "code": last_code(client, twilio)},
    )
    again = client.post("/api/v1/subscriptions", json={**body, "regions": ["GM0363"]})
    assert (first.status_code, first.json()) == (again.status_code, again.json())
    assert subscriptions.region_codes(session, find(session, crypto).id) == ["GM0106"], (
        "nothing changes yet"
    )  # type: ignore[arg-type, union-attr]
    client.post(
        "/api/v1/subscriptions/confirm",
        json={"channel": "sms", "contact": PHONE, "code": last_code(client, twilio)},
    )
    assert subscriptions.region_codes(session, find(session, crypto).id) == ["GM0363"]  # type: ignore[arg-type, union-attr]


# ---- subscribing by email ---------------------------------------------------------------------


def test_subscribing_by_email_takes_a_click_on_the_link(
    client: TestClient, mailbox: Any, session: Session, crypto: Crypto
) -> None:
    response = client.post(
        "/api/v1/subscriptions",
        json={
            "channel": "email",
            "contact": "Ana@Example.org",
            "regions": ["NL-DR"],
            "language": "nl",
        },
    )
    assert response.status_code == 202
    link = last_link(client, mailbox)
    [mail] = mailbox.to(EMAIL)
    assert mail["Subject"] == "Bevestig je redflag-waarschuwingen"
    assert link.startswith("/nl/subscribe/confirm?t=")

    page = client.get(link)
    assert page.status_code == 200
    assert find(session, crypto, "email", EMAIL).confirmed_at is None, (
        "opening the link is not enough"
    )  # type: ignore[union-attr]
    token = re.search(r'name="token" value="([\w-]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = client.post("/nl/subscribe/confirm", data={"token": token})
    assert done.status_code == 200
    assert "Je krijgt waarschuwingen voor Drenthe" in done.text
    assert "link onderaan elke e-mail" in done.text
    assert "STOP" not in done.text and "sms" not in done.text.lower(), "no SMS to answer"
    assert find(session, crypto, "email", EMAIL).confirmed_at is not None  # type: ignore[union-attr]
    again = client.post("/nl/subscribe/confirm", data={"token": token})
    assert again.status_code == 404, "a link works once"


# ---- leaving ----------------------------------------------------------------------------------


def subscribed(client: TestClient, twilio: Any) -> None:
    client.post(
        "/api/v1/subscriptions", json={"channel": "sms", "contact": PHONE, "regions": ["GM0106"]}
    )
    client.post(
        "/api/v1/subscriptions/confirm",
        json={"channel": "sms", "contact": PHONE, "code": last_code(client, twilio)},
    )


def test_leaving_through_the_api_takes_a_code(
    client: TestClient, twilio: Any, session: Session, crypto: Crypto
) -> None:
    subscribed(client, twilio)
    stranger = client.post(
        "/api/v1/subscriptions/unsubscribe", json={"channel": "sms", "contact": "+31611223344"}
    )
    asked = client.post(
        "/api/v1/subscriptions/unsubscribe", json={"channel": "sms", "contact": PHONE}
    )
    assert stranger.json() == asked.json() == ACCEPTED, "the same answer either way"
    assert sent_to(client, twilio, "+31611223344") == []
    guessed = client.post(
        "/api/v1/subscriptions/unsubscribe",
        json={"channel": "sms", "contact": PHONE, "code": "123456"},
    )
    if last_code(client, twilio) != "123456":
        assert guessed.status_code == 422
        assert find(session, crypto) is not None, (
            "knowing the number is not enough to silence someone"
        )
    left = client.post(
        "/api/v1/subscriptions/unsubscribe",
        json={"channel": "sms", "contact": PHONE, "code": last_code(client, twilio)},
    )
    assert left.status_code == 200
    assert find(session, crypto) is None


def test_the_link_in_every_email_unsubscribes_in_one_click(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    subscriber = subscriptions._new_subscriber(
        session, channel="email", contact=EMAIL, language="es", crypto=crypto
    )
    subscriber.confirmed_at = utcnow()
    session.commit()
    token = subscriptions.unsubscribe_token(crypto.index, subscriber.id)  # type: ignore[arg-type]
    page = client.get(f"/u/{token}")
    assert page.status_code == 200 and "¿Dejar de recibir avisos por correo?" in page.text
    forged = token[:-1] + ("1" if token.endswith("0") else "0")  # never the token itself
    assert client.get(f"/u/{forged}").status_code == 404, "a forged token does nothing"
    one_click = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    assert find(session, crypto, "email", EMAIL) is None


def test_leaving_through_the_pages(
    client: TestClient, twilio: Any, session: Session, crypto: Crypto
) -> None:
    subscribed(client, twilio)
    page = client.post("/en/leave", data={"channel": "sms", "contact": "06 87654321"})
    assert page.status_code == 200 and "If this number or address gets warnings" in page.text
    wrong = client.post(
        "/en/leave/code", data={"channel": "sms", "contact": "06 87654321", "code": "x"}
    )
    assert wrong.status_code == 422
    done = client.post(
        "/en/leave/code",
        data={"channel": "sms", "contact": "06 87654321", "code": last_code(client, twilio)},
    )
    assert "You will get no more warnings" in done.text
    assert find(session, crypto) is None


@pytest.mark.parametrize(
    ("ask", "take"),
    [
        ("/en/subscribe", "/en/subscribe/code"),
        ("/en/leave", "/en/leave/code"),
        ("/en/check/login", "/en/check/verify"),
    ],
)
def test_wrong_codes_run_out_on_the_pages_too(
    client: TestClient, twilio: Any, settings: Settings, ask: str, take: str
) -> None:
    """A page that shows the code form again still keeps the wrong attempt it counted."""
    if ask != "/en/subscribe":
        subscribed(client, twilio)
    asked = client.post(ask, data={"channel": "sms", "contact": PHONE, "place": "Assen"})
    assert asked.status_code == 200 and 'name="code"' in asked.text
    right = last_code(client, twilio)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(settings.code_attempts):
        refused = client.post(take, data={"channel": "sms", "contact": PHONE, "code": wrong})
        assert refused.status_code == 422 and 'name="code"' in refused.text
    too_late = client.post(take, data={"channel": "sms", "contact": PHONE, "code": right})
    assert too_late.status_code == 422, "the right code no longer works either"


# ---- the subscribe page -----------------------------------------------------------------------


def test_subscribing_through_the_page(
    client: TestClient, twilio: Any, session: Session, crypto: Crypto
) -> None:
    form = client.get("/es/subscribe").text
    assert "Drenthe (provincia)" in form and "Spijkenisse (Nissewaard)" in form
    bad = client.post(
        "/es/subscribe",
        data={"channel": "sms", "contact": "06 8765 4321", "place": "Atlantis", "place2": "Bergen"},
    )
    assert bad.status_code == 422
    assert "No conocemos este lugar" in bad.text and "Bergen (L.)" in bad.text
    assert 'value="06 8765 4321"' in bad.text
    step = client.post(
        "/es/subscribe",
        data={
            "channel": "sms",
            "contact": "06 8765 4321",
            "place": "Den Haag",
            "place2": "Utrecht (provincia)",
            "severity": "serious",
        },
    )
    assert step.status_code == 200 and "Escribe el código" in step.text
    done = client.post(
        "/es/subscribe/code",
        data={"channel": "sms", "contact": "06 8765 4321", "code": last_code(client, twilio)},
    )
    assert "Recibirás avisos para 's-Gravenhage, Utrecht" in html.unescape(done.text)
    assert "responde BAJA a cualquier SMS" in done.text
    subscriber = find(session, crypto)
    assert subscriber is not None and subscriber.min_severity_rank == Severity.high.rank


# ---- members and the client check -------------------------------------------------------------


def alert_about(session: Session, crypto: Crypto, number: str) -> str:
    alert = alerts_service.create(
        session,
        draft=alerts_service.AlertDraft(
            text="Took the money back with force.",
            severity=Severity.critical,
            region_codes=["NL-DR", "GM0106"],
            categories=["robbery"],
            identifiers=[("phone", number)],
            incident_date=date(2026, 11, 19),
            part_of_day="evening",
            expires_at=utcnow() + timedelta(days=30),
        ),
        crypto=crypto,
        needs_approval=False,
    )
    session.commit()
    return alert.ref


def test_members_check_a_number_through_the_api(
    client: TestClient, twilio: Any, session: Session, crypto: Crypto
) -> None:
    assert client.post("/api/v1/check", json={"number": "0612345678"}).status_code == 401
    stranger = client.post(
        "/api/v1/members/login", json={"channel": "sms", "contact": "+31611223344"}
    )
    assert stranger.json() == ACCEPTED and sent_to(client, twilio, "+31611223344") == []

    subscribed(client, twilio)
    client.post("/api/v1/members/login", json={"channel": "sms", "contact": PHONE})
    verified = client.post(
        "/api/v1/members/verify",
        json={"channel": "sms", "contact": PHONE, "code": last_code(client, twilio)},
    )
    assert verified.status_code == 200
    token = {"Authorization": f"Bearer {verified.json()['access_token']}"}
    assert 0 < verified.json()["expires_in"] <= 30 * 60

    nothing = client.post("/api/v1/check", json={"number": "06 1234 5678"}, headers=token).json()
    assert (nothing["found"], nothing["alerts"]) == (False, [])
    assert "not a guarantee" in nothing["notice"]
    ref = alert_about(session, crypto, "+31612345678")
    found = client.post("/api/v1/check", json={"number": "0031612345678"}, headers=token).json()
    assert found["found"] is True
    assert found["number_masked"] == "+31 6 1234**78"
    assert "not a guarantee" not in found["notice"] and "warned" in found["notice"]
    [alert] = found["alerts"]
    assert (alert["ref"], alert["severity"]) == (ref, "critical")
    assert alert["regions"] == ["Assen", "Drenthe"]
    assert alert["text"] == "Took the money back with force."
    bad = client.post("/api/v1/check", json={"number": "12"}, headers=token)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "number"


def test_a_moderator_token_is_not_a_member_token_and_back(
    client: TestClient, twilio: Any, settings: Settings
) -> None:
    from alerts.check import members
    from moderation import security

    moderator_token, _ = security.issue_token(
        moderator_id=1, role="admin", settings=client.app.state.settings
    )  # type: ignore[attr-defined]
    assert (
        client.post(
            "/api/v1/check",
            json={"number": "0612345678"},
            headers={"Authorization": f"Bearer {moderator_token}"},
        ).status_code
        == 401
    )
    member_token, _ = members.issue(1, client.app.state.settings)  # type: ignore[attr-defined]
    assert (
        client.post(
            "/api/v1/auth/totp/setup", headers={"Authorization": f"Bearer {member_token}"}
        ).status_code
        == 401
    )


def test_open_checks_need_no_membership(
    make_client: Callable[..., TestClient],
    delivery_settings: Callable[..., Settings],
    session: Session,
    crypto: Crypto,
) -> None:
    alert_about(session, crypto, "+31612345678")
    with make_client(delivery_settings(check_access="open")) as client:
        assert client.post("/api/v1/check", json={"number": "0612345678"}).json()["found"] is True
        page = client.post("/nl/check", data={"number": "0612345678"})
    assert 'data-found="yes"' in page.text and "Took the money back with force." in page.text


def test_checking_through_the_pages(
    client: TestClient, twilio: Any, session: Session, crypto: Crypto
) -> None:
    subscribed(client, twilio)
    alert_about(session, crypto, "+31612345678")
    assert "Primero te enviamos un código" in client.get("/es/check").text
    step = client.post("/es/check/login", data={"channel": "sms", "contact": PHONE})
    assert 'name="code"' in step.text and "le enviamos un código" in step.text
    form = client.post(
        "/es/check/verify",
        data={"channel": "sms", "contact": PHONE, "code": last_code(client, twilio)},
    )
    token = re.search(r'name="token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    found = client.post("/es/check", data={"token": token, "number": "06 12345678"})
    assert 'data-found="yes"' in found.text and "Avisos sobre +31 6 1234**78" in found.text
    assert "Robo" in found.text
    assert "no significa que el cliente sea seguro" not in found.text, "only said without a hit"
    none = client.post("/es/check", data={"token": token, "number": "06 11223344"})
    assert 'data-found="no"' in none.text
    assert "no significa que el cliente sea seguro" in none.text
    expired = client.post("/es/check", data={"token": "not-a-token", "number": "06 12345678"})
    assert expired.status_code == 401 and "pide un código nuevo" in expired.text


def test_pending_and_confirmed_codes_are_keyed_hashes(
    client: TestClient, twilio: Any, session: Session
) -> None:
    client.post(
        "/api/v1/subscriptions", json={"channel": "sms", "contact": PHONE, "regions": ["GM0106"]}
    )
    code = last_code(client, twilio)
    row = session.exec(select(OneTimeCode)).one()
    assert code.encode() not in row.code_hash and len(row.code_hash) == 32


# ---- whose checks count against whose limit ---------------------------------------------------


def from_address(client: TestClient, address: str) -> TestClient:
    """The same test client, its next requests coming from `address`."""
    client._transport.client = (address, 50000)  # type: ignore[attr-defined]
    return client


def confirmed_subscriber(session: Session, crypto: Crypto, number: str = PHONE) -> None:
    """A subscriber made without sending anything, so that no code is counted yet."""
    subscriber = subscriptions._new_subscriber(
        session, channel="sms", contact=number, language="en", crypto=crypto
    )
    subscriber.confirmed_at = utcnow()
    subscriber.membership = "verified"
    session.commit()


@pytest.mark.parametrize("page", [False, True])
def test_open_checks_count_per_client_not_for_everyone(
    make_client: Callable[..., TestClient],
    delivery_settings: Callable[..., Settings],
    page: bool,
) -> None:
    """With checks open to all, one person running out of checks does not switch
    checking off for everybody else."""
    settings = delivery_settings(check_access="open", rate_limit_check="2/hour")

    def check(client: TestClient) -> int:
        if page:
            return client.post("/en/check", data={"number": "0612345678"}).status_code
        return client.post("/api/v1/check", json={"number": "0612345678"}).status_code

    with make_client(settings) as client:
        greedy = from_address(client, "192.0.2.1")
        assert [check(greedy) for _ in range(3)] == [200, 200, 429]
        assert check(from_address(client, "192.0.2.2")) == 200
        assert check(from_address(client, "198.51.100.7")) == 200


def test_a_members_checks_count_wherever_they_check_from(
    make_client: Callable[..., TestClient],
    delivery_settings: Callable[..., Settings],
    session: Session,
    crypto: Crypto,
) -> None:
    from alerts.check import members

    confirmed_subscriber(session, crypto)
    member = subscriptions.find(session, index=crypto.index, channel="sms", contact=PHONE)
    assert member is not None and member.id is not None
    settings = delivery_settings(rate_limit_check="2/hour")
    token, _ = members.issue(member.id, settings)
    bearer = {"Authorization": f"Bearer {token}"}
    with make_client(settings) as client:
        statuses = [
            from_address(client, f"192.0.2.{i}")
            .post("/api/v1/check", json={"number": "0612345678"}, headers=bearer)
            .status_code
            for i in range(3)
        ]
    assert statuses == [200, 200, 429]


# ---- SMS pumping: codes per destination, and countries ----------------------------------------

# Every route that sends a code to a number: (path, whether it is a page, whether the number
# must already be a confirmed subscriber for a code to go).
CODE_ROUTES = [
    ("/api/v1/subscriptions", False, False),
    ("/api/v1/subscriptions/unsubscribe", False, True),
    ("/api/v1/members/login", False, True),
    ("/en/subscribe", True, False),
    ("/en/leave", True, True),
    ("/en/check/login", True, True),
]


def ask_for_code(client: TestClient, path: str, page: bool, number: str) -> Any:
    body = {"channel": "sms", "contact": number}
    if page:
        return client.post(path, data={**body, "place": "Assen"})
    if path == "/api/v1/subscriptions":
        return client.post(path, json={**body, "regions": ["GM0106"]})
    return client.post(path, json=body)


@pytest.mark.parametrize(("path", "page", "needs_subscriber"), CODE_ROUTES)
def test_a_number_gets_three_codes_an_hour_whoever_asks(
    client: TestClient,
    twilio: Any,
    session: Session,
    crypto: Crypto,
    path: str,
    page: bool,
    needs_subscriber: bool,
) -> None:
    """One client sent 30 codes to one number in a minute: now the fourth and fifth go
    nowhere, whichever client asks, and their answers are the same as the first's."""
    if needs_subscriber:
        confirmed_subscriber(session, crypto)
    answers = [
        ask_for_code(from_address(client, f"192.0.2.{i}"), path, page, PHONE) for i in range(5)
    ]
    assert len(sent_to(client, twilio)) == 3
    assert answers[0].status_code in {200, 202}
    assert {(a.status_code, a.text) for a in answers} == {(answers[0].status_code, answers[0].text)}


def test_a_number_gets_five_codes_a_day_and_the_last_one_still_works(
    make_client: Callable[..., TestClient],
    delivery_settings: Callable[..., Settings],
    twilio: Any,
    session: Session,
    crypto: Crypto,
) -> None:
    assert Settings().rate_limit_codes == "3/hour;5/day"
    with make_client(delivery_settings(rate_limit_codes="100/hour;5/day")) as client:
        for _ in range(7):  # each code sent before the next is asked for: the last one counts
            ask_for_code(client, "/api/v1/subscriptions", False, PHONE)
            sent_to(client, twilio)
        assert len(twilio.sent_to(PHONE)) == 5
        confirmed = client.post(
            "/api/v1/subscriptions/confirm",
            json={"channel": "sms", "contact": PHONE, "code": last_code(client, twilio)},
        )
    assert confirmed.status_code == 200, "asking past the limit changed nothing"


def test_the_code_limit_is_per_number(client: TestClient, twilio: Any) -> None:
    for _ in range(4):
        ask_for_code(client, "/api/v1/subscriptions", False, PHONE)
    ask_for_code(client, "/api/v1/subscriptions", False, "+31611223344")
    assert (len(sent_to(client, twilio)), len(twilio.sent_to("+31611223344"))) == (3, 1)


# Mobile numbers of three countries that are not the default (NL): all were accepted.
ABROAD = ["+25271123456", "+12015550123", "+37251234567"]


@pytest.mark.parametrize("number", ABROAD)
@pytest.mark.parametrize(("path", "page", "needs_subscriber"), CODE_ROUTES)
def test_numbers_of_other_countries_are_refused(
    client: TestClient,
    twilio: Any,
    session: Session,
    crypto: Crypto,
    number: str,
    path: str,
    page: bool,
    needs_subscriber: bool,
) -> None:
    if needs_subscriber:
        confirmed_subscriber(session, crypto, number)
    response = ask_for_code(client, path, page, number)
    assert response.status_code == 422
    if page:
        assert "We cannot send SMS to numbers from this country." in response.text
    else:
        assert number not in response.text and number[1:] not in response.text
        [error] = response.json()["detail"]
        assert (error["field"], error["type"]) == ("contact", "country_not_served")
    assert sent_to(client, twilio, number) == []


def test_the_countries_served_are_a_setting(
    make_client: Callable[..., TestClient],
    delivery_settings: Callable[..., Settings],
    twilio: Any,
) -> None:
    assert Settings(default_country="BE").sms_country_codes == {"BE"}
    problems = Settings(sms_countries="NL,XX").secret_problems()
    assert any(p.startswith("REDFLAG_SMS_COUNTRIES") and "XX" in p for p in problems)
    with make_client(delivery_settings(sms_countries="nl, ee")) as client:
        estonian = ask_for_code(client, "/api/v1/subscriptions", False, "+37251234567")
        somali = ask_for_code(client, "/api/v1/subscriptions", False, "+25271123456")
        assert len(sent_to(client, twilio, "+37251234567")) == 1
    assert (estonian.status_code, somali.status_code) == (202, 422)
