"""Words and forms in Chromium at 360 px: the report form's errors, the sign-up's fields and
the code page. `make screenshots` (REDFLAG_SCREENSHOTS=1) keeps the pictures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from app.i18n import catalog
from tests.conftest import LiveServer
from tests.helpers import code_sent_by

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
TEXTS = catalog("en")


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    yield context.new_page()
    context.close()


def test_the_report_forms_errors_name_their_fields(
    live_server: LiveServer, page: Page, shots: Path
) -> None:
    page.goto(f"{live_server.url}/en/")
    page.fill("#place", "Asen")
    page.fill("#phones", "12")
    page.get_by_role("button", name=TEXTS["report.submit"]).click()
    summary = page.locator("#error-summary li")
    expect(summary.first).to_have_text(
        "Town or municipality: We don't know this place. Did you mean Asten or Assen?"
    )
    expect(summary.last).to_contain_text("Phone number: This is not a phone number we can use.")
    expect(summary.last).to_contain_text("+40 712 034 567")
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page).to_have_title(live_server.settings.site_name)
    page.screenshot(path=shots / "report-form-errors.png", full_page=True)
    summary.last.locator("a").click()
    expect(page.locator("#phones")).to_be_visible()


def test_the_sign_up_shows_the_chosen_channels_field_and_the_code_page_its_ways_out(
    sending_server: LiveServer, page: Page, twilio: Any, shots: Path
) -> None:
    page.goto(f"{sending_server.url}/en/subscribe")
    expect(page.locator("#phone")).to_be_visible()
    expect(page.locator("#email")).to_be_hidden()
    page.get_by_label(TEXTS["subscribe.by_email"]).check()
    expect(page.locator("#email")).to_be_visible()
    expect(page.locator("#phone")).to_be_hidden()
    page.get_by_label(TEXTS["subscribe.by_sms"]).check()
    page.fill("#phone", "06 1234 0101")
    page.fill("#place", "Assen")
    page.locator("h1").click()  # closes the town suggestions, as a finger would
    page.get_by_role("button", name=TEXTS["subscribe.submit"]).click()

    expect(page.locator("h1")).to_have_text(TEXTS["subscribe.code_title"])
    first = code_sent_by(sending_server, twilio, "+31612340101")
    page.get_by_role("button", name=TEXTS["words.code.again"]).click()
    expect(page.locator(".notice")).to_have_text(TEXTS["words.code.again_done"])
    page.screenshot(path=shots / "code.png", full_page=True)
    code_sent_by(sending_server, twilio, "+31612340101")
    sent = twilio.sent_to("+31612340101")
    assert len(sent) == 2 and first in sent[0]["body"], "a second code went out"

    page.get_by_role("button", name=TEXTS["words.code.wrong_sms"]).click()
    expect(page.locator("h1")).to_have_text(TEXTS["subscribe.title"])
    expect(page.locator("#phone")).to_have_value("06 1234 0101")
    expect(page.locator("#place")).to_have_value("Assen")
    page.get_by_role("button", name=TEXTS["subscribe.submit"]).click()
    page.fill("#code", code_sent_by(sending_server, twilio, "+31612340101"))
    page.get_by_role("button", name=TEXTS["subscribe.code_submit"]).click()
    expect(page.locator("h1")).to_have_text(TEXTS["subscribe.done_title"])
