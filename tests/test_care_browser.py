"""Someone who was just hurt, in a real browser at a phone's width (360 px): the call to
112 at the top, whom to call, when to come back, and adding information with the code.

Its pictures are the README's receipt, status and check pictures (from test_browser and
test_alerts_browser), so these stay in a temporary folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from app.i18n import catalog
from tests.conftest import LiveServer
from tests.test_browser import PHONE, fill_report

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="en-GB")
    yield context.new_page()
    context.close()


def no_sideways_scrolling(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_receipt_status_and_check_pages_care_for_someone_just_hurt(
    make_live_server: Callable[..., LiveServer], page: Page, tmp_path: Path
) -> None:
    server = make_live_server(check_access="open")
    en = catalog("en")
    page.goto(f"{server.url}/en/")
    fill_report(page)
    page.get_by_role("button", name=en["report.submit"]).click()

    call = page.locator("#call-emergency")
    expect(call).to_have_text("In danger now? Call 112")
    expect(call).to_have_attribute("href", "tel:112")
    expect(call).to_be_in_viewport()
    box = call.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 300, "big enough to tap"
    expect(page.locator("#care")).to_contain_text(en["care.pep_title"])
    expect(page.locator("#support-orgs a[href='tel:08000188']")).to_have_text("0800-0188")
    expect(page.locator("#wait")).to_have_text(en["care.wait_unknown"])
    no_sideways_scrolling(page)
    page.screenshot(path=tmp_path / "care-receipt.png", full_page=True)
    code = page.locator("#receipt-code").inner_text()

    page.goto(f"{server.url}/en/status")
    page.fill("#receipt_code", code)
    page.get_by_role("button", name=en["status.lookup"]).click()
    expect(page.locator("#call-emergency")).to_be_in_viewport()
    page.fill("#addition", "He drives a green van with a dented door.")
    page.get_by_role("button", name=en["care.add_send"]).click()
    expect(page.locator(".notice")).to_have_text(en["care.add_done"])
    expect(page.locator("#add-information")).to_contain_text("You added information on")
    no_sideways_scrolling(page)
    page.screenshot(path=tmp_path / "care-status.png", full_page=True)

    page.goto(f"{server.url}/en/check")
    expect(page.locator("#call-emergency")).to_be_in_viewport()
    expect(page.locator("#support-orgs")).to_contain_text("Veilig Thuis")
    no_sideways_scrolling(page)
    page.screenshot(path=tmp_path / "care-check.png", full_page=True)
