"""Inbound SMS through Twilio's signed webhook: JOIN, STOP, HELP, CHECK, LANG."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator

from alerts import service as alerts_service
from alerts.models import Delivery, Severity, Subscriber
from alerts.subscriptions import commands
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.db import utcnow
from app.i18n import LANGUAGES, catalog
from app.settings import Settings
from tests.fakes import AUTH_TOKEN

PHONE = "+31612121212"


@pytest.mark.parametrize(
    ("body", "action", "argument", "language"),
    [
        ("JOIN ASSEN", "join", "ASSEN", "en"),
        ("join assen", "join", "assen", "en"),
        ("Aanmelden Súdwest-Fryslân", "join", "Súdwest-Fryslân", "nl"),
        ("  ALTA   Amsterdam ", "join", "Amsterdam", "es"),
        ("STOP", "stop", "", None),
        ("afmelden", "stop", "", "nl"),
        ("Baja", "stop", "", "es"),
        ("HELP", "help", "", "en"),
        ("hulp", "help", "", "nl"),
        ("AYÚDA", "help", "", "es"),
        ("CHECK 06 12345678", "check", "06 12345678", None),
        ("comprobar +31612345678", "check", "+31612345678", "es"),
        ("TAAL EN", "language", "EN", "nl"),
        ("idioma español", "language", "español", "es"),
        ("hello there", "unknown", "", None),
        ("", "unknown", "", None),
    ],
)
def test_parsing_commands(body: str, action: str, argument: str, language: str | None) -> None:
    assert commands.parse(body) == commands.Command(action, argument, language)


def test_every_keyword_in_every_catalogue_is_understood_as_written() -> None:
    """Each language's own words, as the README lists them: Thai vowel and tone marks and
    Cyrillic letters included (a Thai mark once split "ยกเลิก", cancel, into two words).
    STOP, CHECK...: every language's, so they say no language."""
    misread = [
        (lang, word, commands.parse(f"{word} x"))
        for lang in LANGUAGES
        for action in commands.ACTIONS
        for word in str(catalog(lang)[f"sms.words.{action}"]).split()
        if commands.parse(f"{word} x")
        != commands.Command(action, "x", None if word in commands.EVERY_LANGUAGE else lang)
    ]
    assert misread == []


@pytest.mark.parametrize(
    ("body", "action", "argument", "language"),
    [
        ("ยกเลิก", "stop", "", "th"),  # cancel
        ("ยกเลก", "stop", "", "th"),  # typed without the vowel mark
        ("ช่วยเหลือ", "help", "", "th"),
        ("ชวยเหลอ", "help", "", "th"),  # without tone and vowel marks
        ("เช็ค 0612345678", "check", "0612345678", "th"),
        ("ภาษา ไทย", "language", "ไทย", "th"),
        ("СТОП", "stop", "", "bg"),
        ("Език RO", "language", "RO", "bg"),
        ("LIMBĂ ro", "language", "ro", "ro"),
        ("limba RO", "language", "RO", "ro"),
        ("Nyelv HU", "language", "HU", "hu"),
        ("język pl", "language", "pl", "pl"),
        ("STOP", "stop", "", None),  # in Latin letters, whatever the language
    ],
)
def test_thai_cyrillic_and_accented_keywords(
    body: str, action: str, argument: str, language: str | None
) -> None:
    assert commands.parse(body) == commands.Command(action, argument, language)


@pytest.fixture
def sms_settings(delivery_settings: Callable[..., Settings]) -> Settings:
    return delivery_settings()


@pytest.fixture
def client(make_client: Callable[..., TestClient], sms_settings: Settings) -> Iterator[TestClient]:
    with make_client(sms_settings) as c:
        yield c


def sign(settings: Settings, path: str, params: dict[str, str]) -> str:
    return RequestValidator(AUTH_TOKEN).compute_signature(settings.public_url + path, params)


def sms(
    client: TestClient,
    settings: Settings,
    body: str,
    *,
    sender: str = PHONE,
    sid: str | None = None,
) -> str:
    params = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "From": sender,
        "To": "+3197010000001",
        "Body": body,
    }
    response = client.post(
        "/webhooks/twilio/sms",
        data=params,
        headers={"X-Twilio-Signature": sign(settings, "/webhooks/twilio/sms", params)},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    match = re.search(r"<Message>(.*)</Message>", response.text, re.S)
    return match.group(1) if match else ""


def find(session: Session, crypto: Crypto, phone: str = PHONE) -> Subscriber | None:
    session.expire_all()
    return subscriptions.find(session, index=crypto.index, channel="sms", contact=phone)


def test_joining_by_sms_needs_no_code(
    client: TestClient, sms_settings: Settings, session: Session, crypto: Crypto
) -> None:
    reply = sms(client, sms_settings, "JOIN ASSEN")
    assert reply == "redflag: you get warnings for Assen. STOP to end, HELP for help."
    subscriber = find(session, crypto)
    assert subscriber is not None and subscriber.confirmed_at is not None
    assert (subscriber.language, subscriber.channel) == ("en", "sms")
    assert subscriptions.region_codes(session, subscriber.id) == ["GM0106"]  # type: ignore[arg-type]

    reply = sms(client, sms_settings, "aanmelden drenthe")
    assert (
        reply == "redflag: je krijgt waarschuwingen voor Assen, Drenthe. "
        "STOP om te stoppen, HULP voor hulp."
    )
    assert find(session, crypto).language == "nl"  # type: ignore[union-attr]


def test_the_number_is_stored_encrypted(
    client: TestClient, sms_settings: Settings, session: Session, crypto: Crypto
) -> None:
    sms(client, sms_settings, "JOIN ASSEN")
    subscriber = find(session, crypto)
    assert subscriber is not None
    assert (
        b"612121212" not in subscriber.contact_enc and b"612121212" not in subscriber.contact_index
    )
    assert subscriptions.contact_of(subscriber, crypto) == PHONE


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("JOIN", "redflag does not know that place. Send JOIN and your town, e.g. JOIN ASSEN."),
        (
            "JOIN ATLANTIS",
            "redflag does not know that place. Send JOIN and your town, e.g. JOIN ASSEN.",
        ),
        (
            "JOIN BERGEN",
            "redflag: which place? Send JOIN and one of: "
            "Bergen (L.) (GM0893), Bergen (NH.) (GM0373), Bergen op Zoom (GM0748)",
        ),
        ("JOIN NL-GR", "redflag: you get warnings for Groningen. STOP to end, HELP for help."),
    ],
)
def test_joining_an_unclear_place(
    client: TestClient, sms_settings: Settings, body: str, expected: str
) -> None:
    assert sms(client, sms_settings, body) == expected


def test_stop_removes_the_subscriber(
    client: TestClient, sms_settings: Settings, session: Session, crypto: Crypto
) -> None:
    sms(client, sms_settings, "ALTA ASSEN")
    assert sms(client, sms_settings, "BAJA") == (
        "redflag: no recibiras mas mensajes. Envia ALTA y tu ciudad para empezar de nuevo."
    )
    assert find(session, crypto) is None
    assert sms(client, sms_settings, "STOP").startswith("redflag:"), "STOP always works, even twice"


@pytest.mark.parametrize(
    ("body", "start"),
    [
        ("HELP", "redflag warns"),
        ("HULP", "redflag waarschuwt"),
        ("AYUDA", "redflag avisa"),
        ("what?", "redflag waarschuwt"),
    ],
)
def test_help_and_anything_unknown(
    client: TestClient, sms_settings: Settings, body: str, start: str
) -> None:
    reply = sms(client, sms_settings, body)
    assert reply.startswith(start)
    from alerts.render import measure

    assert measure(reply).segments == 1, "one SMS"


def test_changing_language(
    client: TestClient, sms_settings: Settings, session: Session, crypto: Crypto
) -> None:
    sms(client, sms_settings, "AANMELDEN ASSEN")
    assert sms(client, sms_settings, "LANG ES") == "redflag: los mensajes ahora van en español."
    assert find(session, crypto).language == "es"  # type: ignore[union-attr]
    assert sms(client, sms_settings, "TAAL klingon").startswith("redflag waarschuwt")


def publish_about(session: Session, crypto: Crypto, number: str, *, days: int = 30) -> str:
    alert = alerts_service.create(
        session,
        draft=alerts_service.AlertDraft(
            text="Violent when asked to pay.",
            severity=Severity.high,
            region_codes=["GM0106"],
            categories=["physical_violence", "refused_to_pay"],
            identifiers=[("phone", number)],
            incident_date=date(2026, 11, 20),
            part_of_day="night",
            expires_at=utcnow() + timedelta(days=days),
        ),
        crypto=crypto,
        needs_approval=False,
    )
    session.commit()
    return alert.ref


def test_checking_a_number_by_sms(
    client: TestClient, sms_settings: Settings, session: Session, crypto: Crypto
) -> None:
    # An unknown sender with a keyword of every language: the deployment's language (NL).
    assert sms(client, sms_settings, "CHECK 0612345678") == (
        "redflag: alleen aangemelde sekswerkers kunnen nummers checken. "
        "Stuur eerst AANMELDEN en je plaats."
    )
    sms(client, sms_settings, "JOIN ASSEN")
    assert sms(client, sms_settings, "CHECK 0612345678") == (
        "redflag: no reports about +31 6 1234**78. That is no guarantee: trust your instincts."
    )
    ref = publish_about(session, crypto, "+31612345678")
    found = sms(client, sms_settings, "CHECK 06-1234 5678")
    assert (
        found
        == f"redflag: +31 6 1234**78: {ref} redflag DANGER 20/11 Assen: violence, refused to pay."
    )
    assert sms(client, sms_settings, "CHECK 12") == "redflag: that is not a valid phone number."
    assert (
        sms(client, sms_settings, "CHECK")
        == "redflag: send CHECK and the client's number, e.g. CHECK 0612345678."
    )


def test_expired_alerts_no_longer_match(
    client: TestClient, sms_settings: Settings, session: Session, crypto: Crypto
) -> None:
    sms(client, sms_settings, "JOIN ASSEN")
    publish_about(session, crypto, "+31612345678", days=-1)
    assert "no reports" in sms(client, sms_settings, "CHECK 0612345678")


def test_checks_are_rate_limited(
    make_client: Callable[..., TestClient], delivery_settings: Callable[..., Settings]
) -> None:
    settings = delivery_settings(rate_limit_check="2/hour")
    with make_client(settings) as client:
        sms(client, settings, "JOIN ASSEN")
        replies = [sms(client, settings, "CHECK 0612345678") for _ in range(3)]
    assert replies[2] == "redflag: too many checks. Try again later."


def test_a_replayed_message_changes_nothing(
    client: TestClient, sms_settings: Settings, session: Session, crypto: Crypto
) -> None:
    sms(client, sms_settings, "JOIN ASSEN", sid="SMreplay0001")
    sms(client, sms_settings, "STOP", sid="SMreplay0002")
    assert find(session, crypto) is None
    assert sms(client, sms_settings, "JOIN ASSEN", sid="SMreplay0001") == "", "no second reply"
    assert find(session, crypto) is None, "the old JOIN is not carried out again"


@pytest.mark.parametrize("signature", [None, "wrong", "sign the other url"])
def test_unsigned_requests_are_refused(
    client: TestClient,
    sms_settings: Settings,
    session: Session,
    crypto: Crypto,
    signature: str | None,
) -> None:
    params = {"MessageSid": "SM1", "From": PHONE, "Body": "JOIN ASSEN"}
    headers = {}
    if signature == "wrong":
        headers["X-Twilio-Signature"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
    elif signature:
        headers["X-Twilio-Signature"] = RequestValidator(AUTH_TOKEN).compute_signature(
            "https://evil.example/webhooks/twilio/sms", params
        )
    response = client.post("/webhooks/twilio/sms", data=params, headers=headers)
    assert response.status_code == 403
    assert find(session, crypto) is None


# ---- delivery reports --------------------------------------------------------------------------


def status(client: TestClient, settings: Settings, params: dict[str, str]) -> int:
    signature = sign(settings, "/webhooks/twilio/status", params)
    return client.post(
        "/webhooks/twilio/status", data=params, headers={"X-Twilio-Signature": signature}
    ).status_code


def sent_delivery(
    session: Session, crypto: Crypto, client: TestClient, settings: Settings
) -> Delivery:
    sms(client, settings, "JOIN ASSEN")
    publish_about(session, crypto, "+31699999999")
    row = session.exec(select(Delivery)).one()
    row.status, row.provider_id = "sent", "SM" + "a" * 32
    session.add(row)
    session.commit()
    return row


def test_delivery_reports_move_a_delivery_on_and_replays_change_nothing(
    client: TestClient, sms_settings: Settings, session: Session, crypto: Crypto
) -> None:
    row = sent_delivery(session, crypto, client, sms_settings)
    params = {"MessageSid": row.provider_id or "", "MessageStatus": "delivered"}
    assert status(client, sms_settings, params) == 204
    session.refresh(row)
    assert row.status == "delivered"
    assert (
        status(
            client, sms_settings, {**params, "MessageStatus": "undelivered", "ErrorCode": "30003"}
        )
        == 204
    )
    session.refresh(row)
    assert row.status == "delivered", "a late, older report does not undo delivery"
    assert status(client, sms_settings, params) == 204


@pytest.mark.parametrize(
    ("code", "subscribed"),
    # 21211 means "invalid number" only in the answer to a send (the worker's to act on)
    [("21610", False), ("30006", True), ("30003", True), ("21211", True)],
)
def test_delivery_reports_about_the_number(
    client: TestClient,
    sms_settings: Settings,
    session: Session,
    crypto: Crypto,
    code: str,
    subscribed: bool,
) -> None:
    row = sent_delivery(session, crypto, client, sms_settings)
    params = {
        "MessageSid": row.provider_id or "",
        "MessageStatus": "undelivered",
        "ErrorCode": code,
    }
    assert status(client, sms_settings, params) == 204
    subscriber = find(session, crypto)
    assert (subscriber is not None) is subscribed
    if subscriber is not None:
        assert (subscriber.unreachable_at is not None) is (code == "30006")


def test_unsigned_delivery_reports_are_refused(client: TestClient) -> None:
    assert (
        client.post(
            "/webhooks/twilio/status", data={"MessageSid": "SM1", "MessageStatus": "failed"}
        ).status_code
        == 403
    )


def test_open_checks_by_sms_count_per_sender_not_per_number_checked(
    make_client: Callable[..., TestClient], delivery_settings: Callable[..., Settings]
) -> None:
    """A stranger's CHECKs were counted against the number checked: anyone could use up
    the checks of a client's number for everybody, and check other numbers without end."""
    settings = delivery_settings(check_access="open", rate_limit_check="2/hour")
    limited = "redflag: te veel checks. Probeer het later opnieuw."  # strangers: in Dutch
    with make_client(settings) as client:
        first = [sms(client, settings, "CHECK 0612345678", sender=PHONE) for _ in range(3)]
        assert first[:2] != [limited] * 2 and first[2] == limited
        assert sms(client, settings, "CHECK 0687654321", sender=PHONE) == limited
        other = sms(client, settings, "CHECK 0612345678", sender="+31613131313")
    assert other.startswith("redflag: geen meldingen over +31 6 1234**78."), other
