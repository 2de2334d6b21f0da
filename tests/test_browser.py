"""The report form in a real browser (Debian's Chromium) at a phone's size.

`make screenshots` (REDFLAG_SCREENSHOTS=1) writes the pictures in docs/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from app.i18n import LANGUAGES, catalog, phone_examples, translate
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="en-GB")
    yield context.new_page()
    context.close()


def fill_report(page: Page, *, place: str = "Assen", phone: str = "06 12345678") -> None:
    page.locator("#place").press_sequentially(place, delay=10)
    page.fill("#incident_date", date.today().isoformat())
    page.locator("input[name=part_of_day][value=night]").check()
    page.locator("input[name=categories][value=physical_violence]").check()
    page.locator("input[name=categories][value=refused_to_pay]").check()
    page.fill("#what_happened", "Would not pay, then pushed me against the door when I asked.")
    page.fill("#phones", phone)
    page.fill("#description", "About 40, grey jacket, dark blue car.")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_report_and_look_it_up_in_each_language(
    live_server: LiveServer, page: Page, lang: str, shots: Path
) -> None:
    texts = catalog(lang)
    page.goto(f"{live_server.url}/{lang}/")
    expect(page.locator("h1")).to_have_text(texts["report.title"])
    if lang in {"ro", "bg", "th"}:  # new languages, in three scripts: the top of the form
        page.screenshot(path=shots / f"report-form-{lang}.png")
    fill_report(page)
    if lang == "en":
        page.screenshot(path=shots / "report-form.png", full_page=True)
    page.get_by_role("button", name=texts["report.submit"]).click()

    expect(page.locator("h1")).to_have_text(texts["receipt.title"])
    code = page.locator("#receipt-code").inner_text()
    assert len(code) == 14
    assert code.count("-") == 2
    assert code not in page.url
    if lang == "en":
        page.screenshot(path=shots / "receipt.png", full_page=True)
    if lang in {"ro", "bg", "th"}:
        page.screenshot(path=shots / f"receipt-{lang}.png")

    page.get_by_role("link", name=texts["receipt.check"]).click()
    page.fill("#receipt_code", code.lower())
    page.get_by_role("button", name=texts["status.lookup"]).click()
    expect(page.locator("#report-status")).to_have_text(texts["status.state.submitted"])
    assert code not in page.url
    if lang == "en":
        page.screenshot(path=shots / "status.png", full_page=True)


def test_a_bad_phone_number_is_explained_next_to_the_field(
    live_server: LiveServer, page: Page, shots: Path
) -> None:
    texts = catalog("nl")
    page.goto(f"{live_server.url}/nl/")
    fill_report(page, phone="0612")
    page.get_by_role("button", name=texts["report.submit"]).click()

    expect(page.locator("#phones-error")).to_have_text(
        translate("nl", "error.invalid_phone", **phone_examples("NL"))
    )
    expect(page.locator("#phones")).to_have_value("0612")
    expect(page.locator("#phones")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#what_happened")).to_have_value(
        "Would not pay, then pushed me against the door when I asked."
    )
    expect(page.locator("input[name=part_of_day][value=night]")).to_be_checked()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    page.locator("#phones").scroll_into_view_if_needed()
    page.screenshot(path=shots / "form-error.png")

    page.fill("#phones", "06 12345678")
    page.get_by_role("button", name=texts["report.submit"]).click()
    expect(page.locator("h1")).to_have_text(texts["receipt.title"])


def test_the_receipt_code_is_copied_with_one_tap(live_server: LiveServer, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    texts = catalog("en")
    try:
        page.goto(f"{live_server.url}/en/")
        fill_report(page)
        page.get_by_role("button", name=texts["report.submit"]).click()
        code = page.locator("#receipt-code").inner_text()
        page.get_by_role("button", name=texts["receipt.copy"]).click()
        expect(page.locator("#copy-code")).to_have_text(texts["receipt.copied"])
        assert page.evaluate("navigator.clipboard.readText()") == code
    finally:
        context.close()


def test_everything_works_with_javascript_off(live_server: LiveServer, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    texts = catalog("es")
    try:
        page.goto(f"{live_server.url}/es/")
        fill_report(page, place="Den Haag")
        page.get_by_role("button", name=texts["report.submit"]).click()
        expect(page.locator("h1")).to_have_text(texts["receipt.title"])
        code = page.locator("#receipt-code").inner_text()
        expect(page.locator("#copy-code")).to_be_hidden()  # it needs JavaScript; a tap selects
        page.goto(f"{live_server.url}/es/status")
        page.fill("#receipt_code", code)
        page.get_by_role("button", name=texts["status.lookup"]).click()
        expect(page.locator("#report-status")).to_have_text(texts["status.state.submitted"])
        expect(page.locator("#quick-exit")).to_have_attribute("href", "about:blank")
    finally:
        context.close()


def test_quick_exit_leaves_and_replaces_the_history_entry(
    live_server: LiveServer, page: Page
) -> None:
    page.goto(f"{live_server.url}/en/")
    page.goto(f"{live_server.url}/en/status")
    page.locator("#quick-exit").click()
    page.wait_for_url("about:blank")
    page.go_back()
    assert page.url == f"{live_server.url}/en/", "the status page is no longer in the history"

    page.goto(f"{live_server.url}/nl/status")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url("about:blank")


def test_phone_sized_tap_targets_and_no_sideways_scrolling(
    live_server: LiveServer, page: Page, shots: Path
) -> None:
    for path in ["/en/", "/es/status"]:
        page.goto(f"{live_server.url}{path}")
        page.locator("details.langs summary").click()  # the language list, opened
        if path == "/en/":
            page.screenshot(path=shots / "languages-360.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        selector = (
            "a, button, textarea, label.choice, summary, "
            "input:not([type=hidden]):not([type=radio]):not([type=checkbox])"
        )
        for element in page.locator(selector).all():
            box = element.bounding_box()
            assert box is not None
            html = element.evaluate("e => e.outerHTML")
            assert box["height"] >= 44, (path, html)
            assert box["width"] >= 44, (path, html)


def test_the_form_page_loads_in_under_60_kb_from_this_server_only(
    live_server: LiveServer, page: Page
) -> None:
    transfers: list[tuple[str, int]] = []
    page.on(
        "requestfinished",
        lambda request: transfers.append(
            (
                request.url,
                request.sizes()["responseBodySize"] + request.sizes()["responseHeadersSize"],
            )
        ),
    )
    page.goto(f"{live_server.url}/en/", wait_until="networkidle")
    assert transfers, "the page was loaded"
    assert all(url.startswith(live_server.url) for url, _ in transfers), transfers
    assert sum(size for _, size in transfers) <= 60 * 1024
