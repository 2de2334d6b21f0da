"""Objecting, and deciding an objection, in a real browser at a phone's width (360 px): no
console errors or CSP violations; screenshots (docs/screenshots/ with REDFLAG_SCREENSHOTS=1)."""

from __future__ import annotations

import re
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
from tests.helpers import log_in_page, publish_alert
from tests.test_console import PHONE, Console

pytestmark = pytest.mark.browser


def test_objecting_and_deciding_at_a_phones_width(
    make_live_server: Callable[..., LiveServer], browser: Any, shots: Path
) -> None:
    server = make_live_server()
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as session:
            accounts.create(session, username="bob", password=PASSWORD, role=Role.admin)
            session.commit()
            publish_alert(session, Crypto.from_settings(server.settings))
    finally:
        engine.dispose()
    context = browser.new_context(viewport=PHONE, locale="nl-NL")
    console = Console(context)
    page: Page = context.new_page()
    try:
        page.goto(f"{server.url}/nl/objection")
        console.settle(page)
        page.fill("#value", "06 1234 5678")
        page.fill("#reason", "Dat is mijn werktelefoon; ik ben nooit in Assen geweest.")
        page.screenshot(path=shots / "objection-360.png", full_page=True)
        page.get_by_role("button", name="Bezwaar versturen").click()
        expect(page.locator("#case-code")).to_have_text(
            re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
        )
        console.settle(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        log_in_page(page, server, "bob")
        page.get_by_role("link", name="Objections").click()
        console.settle(page)
        expect(page.locator("#objections")).to_contain_text("alert RF-")
        page.fill("textarea[name=answer]", "Het nummer is van de lijst gehaald.")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=shots / "mod-objections-360.png", full_page=True)
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Partly uphold").click()
        expect(page.locator(".notice")).to_contain_text("Decided")
        console.settle(page)
        assert console.problems == []
    finally:
        context.close()
