"""Alerts in each subscriber's language, in a real browser (Debian's Chromium): the email as a
Romanian, Bulgarian and Thai subscriber receives it, and the composer's texts per language
with the phrase book and the question before publishing with fallbacks.

`make screenshots` (REDFLAG_SCREENSHOTS=1) writes the pictures in docs/screenshots/.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import Connection
from sqlmodel import Session, select

from alerts import service as alerts_service
from alerts.models import Alert, Severity
from app.crypto import Crypto
from app.db import make_engine, make_session_factory, utcnow
from app.settings import Settings
from tests.conftest import LiveServer
from tests.helpers import add_sms_subscribers, deliver
from tests.test_delivery import subscriber
from tests.test_moderation_browser import PHONE, log_in, report_from_a_phone, set_up

pytestmark = pytest.mark.browser

WRITTEN = "Hield een collega bij de keel vast en nam het geld terug. Ongeveer 40, kaal."
TEXTS = {
    "ro": "A ținut o colegă de gât și a luat banii înapoi. Cam 40 de ani, chel.",
    "bg": "Държа колежка за гърлото и си взе парите обратно. Около 40 години, плешив.",
    "th": "บีบคอเพื่อนร่วมงานและใช้กำลังเอาเงินคืนไป อายุประมาณ 40 ปี หัวล้าน",
}
# What the frame says in each language, from the alert's data: never from the moderator's text.
FRAME = {
    "ro": ["PERICOL", "Violență fizică", "Jaf", "Assen"],
    "bg": ["ОПАСНОСТ", "Физическо насилие", "Грабеж", "Assen"],
    "th": ["อันตราย", "ทำร้ายร่างกาย", "ปล้น", "Assen"],
}


def test_the_alert_by_email_in_romanian_bulgarian_and_thai(
    browser: Any,
    session: Session,
    connection: Connection,
    crypto: Crypto,
    delivery_settings: Callable[..., Settings],
    mailbox: Any,
    shots: Path,
) -> None:
    for lang in TEXTS:
        subscriber(session, crypto, "email", f"{lang}@example.org", ["GM0106"], lang)
    alerts_service.create(
        session,
        draft=alerts_service.AlertDraft(
            text=WRITTEN,
            texts=TEXTS,
            severity=Severity.high,
            region_codes=["GM0106"],
            categories=["physical_violence", "robbery"],
            identifiers=[("phone", "+31612345678"), ("plate", "12XKL3")],
            incident_date=date.today() - timedelta(days=1),
            part_of_day="evening",
            expires_at=utcnow() + timedelta(days=30),
        ),
        crypto=crypto,
        needs_approval=False,
    )
    session.commit()
    factory = make_session_factory(connection, join_transaction_mode="create_savepoint")
    deliver(delivery_settings(), factory)

    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    for lang, text in TEXTS.items():
        [mail] = mailbox.to(f"{lang}@example.org")
        html = mail.get_body(preferencelist=("html",)).get_content()
        page.set_content(html)
        body = page.locator("body")
        expect(body).to_contain_text(text)
        expect(body).not_to_contain_text("Hield een collega")
        for words in FRAME[lang]:
            expect(body).to_contain_text(words)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=shots / f"alert-{lang}.png", full_page=True)
    context.close()


def test_the_composer_takes_texts_per_language_and_asks_before_fallbacks(
    live_server: LiveServer, browser: Any, shots: Path
) -> None:
    base = live_server.url
    set_up(live_server)
    engine = make_engine(live_server.database_url)
    try:
        with Session(engine) as session:  # in Assen: two each reading NL, EN, ES, and HU
            crypto = Crypto.from_settings(live_server.settings)
            add_sms_subscribers(session, crypto, 6)
            for number in ("+31611111111", "+31622222222"):
                subscriber(session, crypto, "sms", number, ["GM0106"], "hu")
    finally:
        engine.dispose()
    reporter, _ = report_from_a_phone(browser, base)
    reporter.close()

    context, alice = log_in(browser, base, "alice")
    alice.set_viewport_size(PHONE)
    alice.locator("#review-next").click()
    alice.fill("#text", WRITTEN)
    alice.locator("#languages > summary").click()
    alice.fill("#text_ro", TEXTS["ro"])
    alice.fill("#text_bg", TEXTS["bg"])
    # The Thai text from the phrase book: its buttons add each sentence (JavaScript).
    thai = alice.locator('.language[data-lang="th"]')
    thai.locator("details.phrases > summary").click()
    thai.locator('button[data-phrase="อายุประมาณ 40 ปี"]').click()
    thai.locator('button[data-phrase="หัวล้าน"]').click()
    expect(alice.locator("#text_th")).to_have_value("อายุประมาณ 40 ปี หัวล้าน")

    preview = alice.locator("#preview")
    expect(preview.locator('.sms[data-lang="th"]')).to_contain_text("อายุประมาณ 40 ปี หัวล้าน")
    expect(preview.locator('.sms[data-lang="th"]')).to_contain_text("UCS-2")
    expect(preview.locator('.sms[data-lang="ro"]')).to_contain_text(TEXTS["ro"])
    expect(preview.locator('.sms[data-lang="ro"] .fallback-note')).to_have_count(0)
    expect(preview.locator('.sms[data-lang="hu"] .fallback-note')).to_have_text(
        "Falls back to the written text — reaches 2 subscribers."
    )
    expect(preview.locator('.sms[data-lang="hu"]')).to_contain_text(WRITTEN)
    thai.locator("details.phrases > summary").click()  # closed again, for the picture
    alice.locator("#languages").screenshot(path=shots / "mod-composer-languages-360.png")

    asked: list[str] = []

    def answer(accept: bool) -> None:
        def handle(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        alice.once("dialog", handle)

    answer(False)
    alice.locator("#publish").click()
    expect(alice.locator("#composer")).to_be_visible()
    answer(True)
    alice.locator("#publish").click()
    expect(alice.locator("#alert-status")).to_be_visible()
    fallbacks = (
        "6 languages without a text of their own get the written text: NL (2 subscribers),"
        " EN (2 subscribers), ES (2 subscribers), HU (2 subscribers), PL (no subscribers),"
        " PT (no subscribers)."
    )
    assert len(asked) == 2 and all(q.endswith(fallbacks) for q in asked), asked
    context.close()

    engine = make_engine(live_server.database_url)
    try:
        with Session(engine) as session:
            [alert] = session.exec(select(Alert)).all()
            crypto = Crypto.from_settings(live_server.settings)
            view = alerts_service.view(session, alert=alert, cipher=crypto.cipher)
            assert view.texts == {
                "ro": TEXTS["ro"],
                "bg": TEXTS["bg"],
                "th": "อายุประมาณ 40 ปี หัวล้าน",
            }
    finally:
        engine.dispose()
