"""Police consent in a real browser at a phone's width (360 px): the reporter's choice on
the form and on the status page, and the admins' exports; no console errors or CSP
violations; screenshots (docs/screenshots/ with REDFLAG_SCREENSHOTS=1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from app.db import make_engine
from moderation import accounts
from moderation.models import Role
from tests.conftest import PASSWORD, LiveServer
from tests.helpers import log_in_page, report_body
from tests.test_console import PHONE, Console

pytestmark = pytest.mark.browser


def test_the_police_choice_and_the_exports_at_a_phones_width(
    make_live_server: Callable[..., LiveServer], browser: Any, shots: Path
) -> None:
    server = make_live_server()
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as session:
            accounts.create(session, username="bob", password=PASSWORD, role=Role.admin)
            session.commit()
    finally:
        engine.dispose()
    filed = httpx.post(
        f"{server.url}/api/v1/reports", json=report_body(police_consent="contact", language="nl")
    )
    code = filed.json()["receipt_code"]
    context = browser.new_context(viewport=PHONE, locale="nl-NL")
    console = Console(context)
    page: Page = context.new_page()
    try:
        page.goto(f"{server.url}/nl/report")
        police = page.locator("#police_consent")
        police.scroll_into_view_if_needed()
        expect(police.get_by_role("radio", name="Niets", exact=False)).to_be_checked()
        police.screenshot(path=shots / "report-police-360.png")

        page.goto(f"{server.url}/nl/status")
        page.fill("#receipt_code", code)
        page.get_by_role("button", name="Status tonen").click()
        expect(page.locator("#police")).to_contain_text("aangifte")
        console.settle(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        log_in_page(page, server, "bob")
        page.get_by_role("link", name="Police").click()
        page.fill("#report_id", "1")
        page.get_by_role("button", name="Prepare an export").click()
        expect(page.locator("#police-exports")).to_contain_text("waiting")
        console.settle(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=shots / "mod-police-360.png", full_page=True)
        assert console.problems == []
    finally:
        context.close()
