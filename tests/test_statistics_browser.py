"""The statistics in a real browser: charts at a phone's width (360 px) and the yearly
evaluation printed on A4; no console errors or CSP violations; screenshots
(docs/screenshots/ with REDFLAG_SCREENSHOTS=1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from app.crypto import Crypto
from app.db import make_engine
from moderation import accounts
from moderation.models import Role
from tests.conftest import PASSWORD, LiveServer
from tests.helpers import log_in_page
from tests.test_console import PHONE, Console
from tests.test_org_browser import A4
from tests.test_statistics import a_quarter_of_reports

pytestmark = pytest.mark.browser


def an_admin_and_reports(server: LiveServer) -> None:
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as session:
            accounts.create(session, username="bob", password=PASSWORD, role=Role.admin)
            session.commit()
            a_quarter_of_reports(session, Crypto.from_settings(server.settings))
    finally:
        engine.dispose()


def log_in(page: Page, server: LiveServer) -> None:
    log_in_page(page, server, "bob")
    expect(page.locator("h1")).to_contain_text("Queue")


def test_statistics_at_a_phones_width_public_too_and_the_evaluation_on_a4(
    make_live_server: Callable[..., LiveServer], browser: Any, shots: Path
) -> None:
    server = make_live_server(statistics_public=True)
    an_admin_and_reports(server)
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    console = Console(context)
    page: Page = context.new_page()
    try:
        log_in(page, server)
        page.get_by_role("link", name="Statistics").click()
        page.fill("#from", "2026-01")
        page.fill("#to", "2026-03")
        page.get_by_role("button", name="Show").click()
        console.settle(page)
        expect(page.locator("svg.chart")).to_have_count(4)
        expect(page.get_by_role("img", name="Reports received, by region")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=shots / "mod-statistics-360.png", full_page=True)

        page.goto(f"{server.url}/nl/statistics?year=2026")
        console.settle(page)
        expect(page.locator("svg.chart")).to_have_count(4)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=shots / "statistics-360.png", full_page=True)

        page.set_viewport_size(A4)
        page.goto(f"{server.url}/mod/statistics/evaluation?year=2026")
        console.settle(page)
        page.emulate_media(media="print")
        expect(page.locator("header.top")).to_be_hidden()
        expect(page.locator("h1")).to_contain_text("evaluation of 2026")
        page.screenshot(path=shots / "mod-evaluation-a4.png", full_page=True)
        assert console.problems == []
    finally:
        context.close()
