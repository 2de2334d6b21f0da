"""Subscribing and checking a number in a real browser (Debian's Chromium), at phone size.

`make screenshots` (REDFLAG_SCREENSHOTS=1) writes the pictures in docs/screenshots/.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from alerts import service as alerts_service
from alerts.models import Severity
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.db import make_engine, utcnow
from app.i18n import LANGUAGES, catalog
from tests.conftest import LiveServer
from tests.helpers import code_sent_by

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def page(browser: Any) -> Any:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_subscribing_by_sms_in_each_language(
    sending_server: LiveServer, page: Page, twilio: Any, lang: str, shots: Path
) -> None:
    texts = catalog(lang)
    number = f"+3161234{LANGUAGES.index(lang):04d}"
    page.goto(f"{sending_server.url}/{lang}/subscribe")
    expect(page.locator("h1")).to_have_text(texts["subscribe.title"])
    page.fill("#phone", number)
    page.locator("#place").press_sequentially("Assen", delay=10)
    page.fill("#place2", f"Fryslân ({texts['subscribe.province_word']})")
    page.locator("h1").click()  # closes the town suggestions, as a finger would
    if lang == "en":
        page.screenshot(path=shots / "subscribe.png", full_page=True)
    page.get_by_role("button", name=texts["subscribe.submit"]).click()
    expect(page.locator("h1")).to_have_text(texts["subscribe.code_title"])
    page.fill("#code", code_sent_by(sending_server, twilio, number))
    page.get_by_role("button", name=texts["subscribe.code_submit"]).click()
    expect(page.locator("h1")).to_have_text(texts["subscribe.done_title"])
    expect(page.locator("main")).to_contain_text("Assen, Fryslân")


def test_subscribing_works_without_javascript(
    sending_server: LiveServer, browser: Any, twilio: Any
) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{sending_server.url}/nl/subscribe")
        page.fill("#phone", "0612349999")
        page.fill("#place", "Den Haag")
        page.get_by_role("button", name=catalog("nl")["subscribe.submit"]).click()
        expect(page.locator("h1")).to_have_text(catalog("nl")["subscribe.code_title"])
        page.fill("#code", code_sent_by(sending_server, twilio, "+31612349999"))
        page.get_by_role("button", name=catalog("nl")["subscribe.code_submit"]).click()
        expect(page.locator("h1")).to_have_text(catalog("nl")["subscribe.done_title"])
    finally:
        context.close()


def test_checking_a_number_as_a_member(
    sending_server: LiveServer, page: Page, twilio: Any, shots: Path
) -> None:
    crypto = Crypto.from_settings(sending_server.settings)
    engine = make_engine(sending_server.database_url)
    with Session(engine) as session:
        member = subscriptions._new_subscriber(
            session, channel="sms", contact="+31612340077", language="en", crypto=crypto
        )
        member.confirmed_at = utcnow()
        member.membership = "verified"
        subscriptions.set_regions(session, subscriber=member, codes=["GM0106"], replace=True)
        alerts_service.create(
            session,
            draft=alerts_service.AlertDraft(
                text="Took the money back by force and threatened to come back.",
                severity=Severity.high,
                region_codes=["GM0106"],
                categories=["robbery", "threats"],
                identifiers=[("phone", "+31612345678")],
                incident_date=date.today() - timedelta(days=2),
                part_of_day="evening",
                expires_at=utcnow() + timedelta(days=30),
            ),
            crypto=crypto,
            needs_approval=False,
        )
        session.commit()
    engine.dispose()

    texts = catalog("en")
    page.goto(f"{sending_server.url}/en/check")
    page.fill("#contact", "06 12340077")
    page.get_by_role("button", name=texts["check.login_submit"]).click()
    expect(page.locator("#code")).to_be_visible()  # the code is asked for: now it is sent
    page.fill("#code", code_sent_by(sending_server, twilio, "+31612340077"))
    page.get_by_role("button", name=texts["subscribe.code_submit"]).click()
    page.fill("#number", "06 1234 5678")
    page.get_by_role("button", name=texts["check.submit"]).click()
    result = page.locator("#check-result")
    expect(result).to_have_attribute("data-found", "yes")
    expect(result).to_contain_text("Took the money back by force")
    expect(result).to_contain_text(texts["words.check.found_advice"])
    expect(result).not_to_contain_text(texts["check.not_guarantee"])
    page.screenshot(path=shots / "check.png", full_page=True)

    page.fill("#number", "06 11223344")
    page.get_by_role("button", name=texts["check.again"]).click()
    expect(page.locator("#check-result")).to_have_attribute("data-found", "no")
