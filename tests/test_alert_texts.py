"""Alerts in each subscriber's language: the moderator's texts per language, the written text
for the languages left empty, and the frame (severity, categories, place, date) always from
the alert's data in the subscriber's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlmodel import Session, select

from alerts import service as alerts_service
from alerts.models import Alert, AlertUpdate, Delivery, Subscriber
from app.crypto import Crypto
from app.db import make_session_factory
from app.i18n import LANGUAGES
from app.reports.models import Report
from app.settings import Settings
from moderation.phrasebook import phrases
from tests.conftest import Team
from tests.helpers import deliver
from tests.test_delivery import subscriber
from tests.test_moderation_api import M, claimed_report, preview_body, publish_body

Auth = Callable[[Any], dict[str, str]]
ASSEN, AMSTERDAM = "GM0106", "GM0363"
WRITTEN = "Sloeg een collega en nam het geld terug."  # Dutch, as the moderator typed it
RO = "A lovit o colegă și a luat banii înapoi."
TH = "ทำร้ายเพื่อนร่วมงานและเอาเงินคืนไป"
BG = "Удари колежка и си взе парите обратно."


@pytest.fixture
def readers(session: Session, crypto: Crypto) -> dict[str, Subscriber]:
    """Subscribers in Assen reading Romanian, Thai, Hungarian and Bulgarian (one by email),
    and one in Amsterdam, whom an alert for Assen does not reach."""
    return {
        "ro": subscriber(session, crypto, "sms", "+31611111111", [ASSEN], "ro"),
        "th": subscriber(session, crypto, "sms", "+31622222222", [ASSEN], "th"),
        "hu": subscriber(session, crypto, "sms", "+31633333333", [ASSEN], "hu"),
        "hu2": subscriber(session, crypto, "sms", "+31644444444", [ASSEN], "hu"),
        "bg": subscriber(session, crypto, "email", "ana@example.org", [ASSEN], "bg"),
        "far": subscriber(session, crypto, "sms", "+31655555555", [AMSTERDAM], "pl"),
    }


def run_worker(connection: Connection, settings: Settings) -> None:
    deliver(settings, make_session_factory(connection, join_transaction_mode="create_savepoint"))


def publish(client: TestClient, session: Session, auth: Auth, team: Team, **body: Any) -> Any:
    rid, version = claimed_report(client, session, auth, team.alice)
    response = client.post(
        f"{M}/reports/{rid}/publish",
        headers=auth(team.alice),
        json=publish_body(version, text=WRITTEN, **body),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_each_subscriber_receives_the_text_written_for_their_language(
    client: TestClient,
    session: Session,
    connection: Connection,
    team: Team,
    auth: Auth,
    readers: dict[str, Subscriber],
    delivery_settings: Callable[..., Settings],
    twilio: Any,
    mailbox: Any,
) -> None:
    decision = publish(client, session, auth, team, texts={"ro": RO, "th": TH, "bg": BG})
    assert decision["fallback_languages"] == ["nl", "en", "es", "hu", "pl", "pt"]
    run_worker(connection, delivery_settings())

    [ro] = twilio.sent_to("+31611111111")
    [th] = twilio.sent_to("+31622222222")
    [hu] = twilio.sent_to("+31633333333")
    assert RO in ro["body"] and WRITTEN not in ro["body"]
    assert TH in th["body"] and WRITTEN not in th["body"]
    assert WRITTEN in hu["body"], "Hungarian was left empty: the written text"
    # The frame comes from the data, in the reader's language, whatever the text's language.
    assert ro["body"].startswith("redflag PERICOL: violenta.")
    assert th["body"].startswith("redflag อันตราย: ทำร้ายร่างกาย.")
    assert hu["body"].startswith("redflag VESZÉLY: eröszak.")
    assert twilio.sent_to("+31655555555") == []

    [mail] = mailbox.to("ana@example.org")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert BG in text and BG in html and WRITTEN not in text
    assert "ОПАСНОСТ" in mail["Subject"]

    detail = client.get(f"{M}/alerts/{decision['alert_ref']}", headers=auth(team.carol)).json()
    assert detail["text"] == WRITTEN
    assert detail["texts"] == {"ro": RO, "th": TH, "bg": BG}
    assert detail["sms"]["ro"]["text"] == ro["body"], "the preview is what was sent"
    assert detail["sms"]["hu"]["fallback"] is True and detail["sms"]["th"]["fallback"] is False


def test_the_texts_are_stored_encrypted(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    publish(client, session, auth, team, texts={"ro": RO, "th": TH})
    [alert] = session.exec(select(Alert)).all()
    assert alert.texts_enc is not None
    for plain in (RO, TH, "ro", "th"):
        assert plain.encode() not in alert.texts_enc


def test_text_alone_stays_valid_and_every_language_falls_back(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    decision = publish(client, session, auth, team)
    assert decision["fallback_languages"] == list(LANGUAGES)
    [alert] = session.exec(select(Alert)).all()
    assert alert.texts_enc is None


def test_the_preview_counts_the_subscribers_of_each_fallback_language(
    client: TestClient, team: Team, auth: Auth, readers: dict[str, Subscriber]
) -> None:
    body = preview_body(text=WRITTEN, texts={"ro": RO, "th": TH})
    response = client.post(f"{M}/preview", headers=auth(team.alice), json=body)
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["fallbacks"] == {"nl": 0, "en": 0, "es": 0, "bg": 1, "hu": 2, "pl": 0, "pt": 0}
    assert preview["recipients"] == 5
    sms = preview["sms"]
    assert [lang for lang, s in sms.items() if s["fallback"]] == list(preview["fallbacks"])
    # Each language's length is measured on its own text: Thai is UCS-2, its own text too.
    assert TH in sms["th"]["text"] and sms["th"]["encoding"] == "UCS-2"
    assert sms["th"]["characters"] == len(sms["th"]["text"])
    assert WRITTEN in sms["hu"]["text"] and RO not in sms["hu"]["text"]
    assert sms["nl"]["encoding"] == "GSM-7"


def test_the_structured_parts_come_from_the_data_in_the_readers_language(
    client: TestClient, team: Team, auth: Auth
) -> None:
    body = preview_body(text=WRITTEN, categories=["physical_violence", "robbery"])
    sms = client.post(f"{M}/preview", headers=auth(team.alice), json=body).json()["sms"]
    assert sms["th"]["text"].startswith("redflag อันตราย: ทำร้ายร่างกาย, ปล้น.")
    assert "Assen" in sms["th"]["text"] and WRITTEN in sms["th"]["text"]
    assert sms["bg"]["text"].startswith("redflag ОПАСНОСТ: насилие, грабеж.")


@pytest.mark.parametrize(
    ("texts", "field", "kind"),
    [
        ({"xx": "Hello."}, "texts.xx.[key]", "enum"),
        ({"ro": ""}, "texts.ro", "string_too_short"),
        ({"ro": " \u200b "}, "texts.ro", "string_too_short"),
        ({"th": "ก" * 481}, "texts.th", "string_too_long"),
    ],
)
def test_a_bad_language_text_names_its_language(
    client: TestClient,
    session: Session,
    team: Team,
    auth: Auth,
    texts: dict[str, str],
    field: str,
    kind: str,
) -> None:
    rid, version = claimed_report(client, session, auth, team.alice)
    response = client.post(
        f"{M}/reports/{rid}/publish",
        headers=auth(team.alice),
        json=publish_body(version, texts=texts),
    )
    assert response.status_code == 422, response.text
    [error] = [e for e in response.json()["detail"] if e["field"] == field]
    assert error["type"] == kind and field in error["msg"]
    assert session.get(Report, rid).status == "in_review"  # type: ignore[union-attr]
    assert session.exec(select(Alert)).all() == []


def test_a_language_too_long_for_the_sms_cap_is_named(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    rid, version = claimed_report(client, session, auth, team.alice)
    response = client.post(
        f"{M}/reports/{rid}/publish",
        headers=auth(team.alice),
        json=publish_body(version, texts={"bg": "Удари колежка. " * 28}),
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["field"], error["type"]) == ("texts.bg", "sms_too_long")
    assert "BG SMS" in error["msg"]


def test_what_may_be_the_reporters_own_is_flagged_in_every_language(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    rid, version = claimed_report(client, session, auth, team.alice)
    flagged = {"ro": "A lovit-o pe Anna și a luat banii."}  # a name, in the Romanian text only
    refused = client.post(
        f"{M}/reports/{rid}/publish",
        headers=auth(team.alice),
        json=publish_body(version, texts=flagged),
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["detail"]] == ["checked_flags"]
    assert "Anna" not in refused.text
    done = client.post(
        f"{M}/reports/{rid}/publish",
        headers=auth(team.alice),
        json=publish_body(version, texts=flagged, checked_flags=True),
    )
    assert done.status_code == 200, done.text


def test_updates_take_texts_per_language(
    client: TestClient,
    session: Session,
    connection: Connection,
    team: Team,
    auth: Auth,
    readers: dict[str, Subscriber],
    delivery_settings: Callable[..., Settings],
    twilio: Any,
    mailbox: Any,
) -> None:
    ref = publish(client, session, auth, team)["alert_ref"]
    settings = delivery_settings()
    run_worker(connection, settings)  # the alert itself went out
    news = {"ro": "Văzut din nou la gară.", "th": "พบอีกครั้งที่สถานีรถไฟ"}
    bad = client.post(
        f"{M}/alerts/{ref}/updates",
        headers=auth(team.bob),
        json={"text": "Weer gezien bij het station.", "texts": {"ro": "x" * 321}},
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["detail"]] == ["texts.ro"]
    sent = client.post(
        f"{M}/alerts/{ref}/updates",
        headers=auth(team.bob),
        json={"text": "Weer gezien bij het station.", "texts": news},
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["fallback_languages"] == ["nl", "en", "es", "bg", "hu", "pl", "pt"]
    assert len(session.exec(select(AlertUpdate)).all()) == 1
    run_worker(connection, settings)

    updates = {
        d.subscriber_id for d in session.exec(select(Delivery).where(Delivery.kind == "update"))
    }
    assert readers["ro"].id in updates and readers["th"].id in updates
    [_, ro] = twilio.sent_to("+31611111111")
    [_, th] = twilio.sent_to("+31622222222")
    [_, hu] = twilio.sent_to("+31633333333")
    assert news["ro"] in ro["body"] and "Weer gezien" not in ro["body"]
    assert news["th"] in th["body"]
    assert "Weer gezien bij het station." in hu["body"]

    detail = client.get(f"{M}/alerts/{ref}", headers=auth(team.alice)).json()
    [update] = detail["updates"]
    assert update["texts"] == news and update["sms"]["ro"]["text"] == ro["body"]


def test_the_phrase_book_has_every_sentence_in_every_language(
    client: TestClient, team: Team, auth: Auth
) -> None:
    assert client.get(f"{M}/phrasebook").status_code == 401
    response = client.get(f"{M}/phrasebook", headers=auth(team.alice))
    assert response.status_code == 200
    book = response.json()
    assert 15 <= len(book) <= 30
    for phrase in book:
        assert list(phrase["texts"]) == list(LANGUAGES), phrase["key"]
        assert all(text.strip() for text in phrase["texts"].values()), phrase["key"]
    by_key = {p["key"]: p["texts"] for p in book}
    assert by_key["age_40"]["en"] == "About 40." and by_key["bald"]["nl"] == "Kaal."
    assert by_key["grey_car"]["th"] == "ขับรถสีเทา"
    assert by_key["no_condom"]["bg"] == "Иска секс без презерватив."
    # Thai in Thai script, Bulgarian in Cyrillic: never a transliteration.
    assert all(any("\u0e00" <= ch <= "\u0e7f" for ch in p["texts"]["th"]) for p in book)
    assert all(any("\u0400" <= ch <= "\u04ff" for ch in p["texts"]["bg"]) for p in book)
    assert [p.key for p in phrases()] == list(by_key)


def test_a_resubmitted_alert_takes_its_texts_anew(
    client: TestClient, session: Session, crypto: Crypto, team: Team, auth: Auth
) -> None:
    ref = publish(client, session, auth, team, severity="critical", texts={"ro": RO})["alert_ref"]
    sent_back = client.post(
        f"{M}/alerts/{ref}/send-back", headers=auth(team.carol), json={"note": "Thai too."}
    )
    assert sent_back.status_code == 200, sent_back.text
    body = preview_body(text=WRITTEN, severity="critical", texts={"th": TH})
    again = client.post(f"{M}/alerts/{ref}/resubmit", headers=auth(team.alice), json=body)
    assert again.status_code == 200, again.text
    session.expire_all()
    [alert] = session.exec(select(Alert)).all()
    view = alerts_service.view(session, alert=alert, cipher=crypto.cipher)
    assert view.texts == {"th": TH}, "the texts as resubmitted, Romanian left out"


def test_a_resubmitted_text_that_looks_like_the_reporters_needs_the_check(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    ref = publish(client, session, auth, team, severity="critical")["alert_ref"]
    client.post(f"{M}/alerts/{ref}/send-back", headers=auth(team.carol), json={"note": "RO?"})
    body = preview_body(text=WRITTEN, severity="critical", texts={"ro": "Sunt Ioana, camera 12."})
    refused = client.post(f"{M}/alerts/{ref}/resubmit", headers=auth(team.alice), json=body)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["detail"]] == ["checked_flags"]
    checked = {**body, "checked_flags": True}
    again = client.post(f"{M}/alerts/{ref}/resubmit", headers=auth(team.alice), json=checked)
    assert again.status_code == 200, again.text


def alert_with_texts(session: Session, crypto: Crypto) -> Alert:
    """A live alert about +31612345678 in Assen, written in Dutch, with ro and th texts."""
    from datetime import date, timedelta

    from alerts.models import Severity
    from app.db import utcnow

    alert = alerts_service.create(
        session,
        draft=alerts_service.AlertDraft(
            text=WRITTEN,
            texts={"ro": RO, "th": TH},
            severity=Severity.high,
            region_codes=[ASSEN],
            categories=["physical_violence"],
            identifiers=[("phone", "+31612345678")],
            incident_date=date(2026, 11, 20),
            part_of_day="night",
            expires_at=utcnow() + timedelta(days=30),
        ),
        crypto=crypto,
        needs_approval=False,
    )
    alerts_service.add_update(
        session,
        alert=alert,
        text="Weer gezien.",
        texts={"ro": "Văzut din nou."},
        cipher=crypto.cipher,
    )
    session.commit()
    return alert


def test_a_number_check_shows_the_text_of_the_readers_language(
    make_client: Callable[..., TestClient],
    delivery_settings: Callable[..., Settings],
    session: Session,
    crypto: Crypto,
) -> None:
    alert_with_texts(session, crypto)
    with make_client(delivery_settings(check_access="open")) as client:
        found = client.post("/api/v1/check", json={"number": "0612345678"}).json()
        ro = client.post("/ro/check", data={"number": "0612345678"}).text
        nl = client.post("/nl/check", data={"number": "0612345678"}).text
    [checked] = found["alerts"]
    assert (checked["text"], checked["texts"]) == (WRITTEN, {"ro": RO, "th": TH})
    assert checked["updates"][0]["texts"] == {"ro": "Văzut din nou."}
    assert RO in ro and "Văzut din nou." in ro and WRITTEN not in ro
    assert WRITTEN in nl and "Weer gezien." in nl and RO not in nl


def test_the_digest_is_in_the_language_asked_for_texts_included(
    browser_like: Callable[[], TestClient], outreach: Any, session: Session, crypto: Crypto
) -> None:
    from tests.test_org_digest import digest_of
    from tests.test_org_pages import log_in

    alert_with_texts(session, crypto)
    client = browser_like()
    log_in(client, "olga")
    assert RO in digest_of(client, "ro") and "Văzut din nou." in digest_of(client, "ro")
    assert TH in digest_of(client, "th") and "Weer gezien." in digest_of(client, "th")
    assert WRITTEN in digest_of(client, "hu") and RO not in digest_of(client, "hu")


def test_rotating_the_data_key_reencrypts_the_texts_per_language(
    session: Session, crypto: Crypto, settings: Settings
) -> None:
    import os

    from app.crypto import FieldCipher
    from app.rotation import reencrypt_all

    alert = alert_with_texts(session, crypto)
    [update] = alerts_service.updates(session, alert_id=alert.id)  # type: ignore[arg-type]
    new_key = os.urandom(32)
    old_key = settings.key_bytes("data_key")
    counts = reencrypt_all(session, cipher=FieldCipher(new_key, old=[old_key]))
    assert counts["alert.texts_enc"] == 1 and counts["alert_update.texts_enc"] == 1
    only_new = FieldCipher(new_key)
    session.refresh(alert)
    session.refresh(update)
    assert alerts_service.view(session, alert=alert, cipher=only_new).texts == {"ro": RO, "th": TH}
    assert alerts_service.update_text(update, cipher=only_new).texts == {"ro": "Văzut din nou."}


def test_an_update_whose_texts_look_like_the_reporters_needs_the_check(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    """As when publishing: a name or a street in any language's text of an update is
    flagged, and goes out only when the moderator says they checked it."""
    from moderation.models import AuditEntry

    ref = publish(client, session, auth, team)["alert_ref"]
    news = {"text": "Seen again near the station.", "texts": {"ro": "Mă numesc Ioana, l-am văzut."}}
    refused = client.post(f"{M}/alerts/{ref}/updates", headers=auth(team.bob), json=news)
    assert refused.status_code == 422
    [error] = refused.json()["detail"]
    assert error["field"] == "checked_flags" and "(name)" in error["msg"]
    assert "Ioana" not in refused.text, "never the flagged part itself"
    assert session.exec(select(AlertUpdate)).all() == []
    sent = client.post(
        f"{M}/alerts/{ref}/updates", headers=auth(team.bob), json={**news, "checked_flags": True}
    )
    assert sent.status_code == 201, sent.text
    actions = [
        e.action for e in session.exec(select(AuditEntry).where(AuditEntry.target_id == ref))
    ]
    assert actions[-2:] == ["alert.update", "alert.flags_checked"]
