"""The application form and the moderators' queue in a real browser at a phone's width
(360 px): no console errors or CSP violations, and screenshots (docs/screenshots/ with
REDFLAG_SCREENSHOTS=1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from alerts import applications
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.db import make_engine, utcnow
from moderation import accounts
from moderation.models import Role
from tests.conftest import PASSWORD, LiveServer
from tests.test_console import PHONE, Console

pytestmark = pytest.mark.browser

EVIDENCE = "I work at a window in Groningen; the GGD sex work clinic there knows me."


def pending_member_with_a_link(server: LiveServer) -> str:
    """A pending subscriber (confirmed, Assen, English) and a moderator; the form's link."""
    crypto = Crypto.from_settings(server.settings)
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as session:
            accounts.create(session, username="alice", password=PASSWORD, role=Role.moderator)
            subscriber = subscriptions._new_subscriber(
                session, channel="sms", contact="+31687659999", language="en", crypto=crypto
            )
            subscriber.confirmed_at = utcnow()
            subscriptions.set_regions(
                session, subscriber=subscriber, codes=["GM0106"], replace=True
            )
            link = applications.form_link(
                session, subscriber=subscriber, crypto=crypto, settings=server.settings
            )
            session.commit()
    finally:
        engine.dispose()
    return link.replace(server.settings.public_url, server.url)


def test_applying_and_deciding_at_a_phones_width(
    make_live_server: Callable[..., LiveServer], browser: Any, shots: Path
) -> None:
    server = make_live_server(membership="verified", public_url="https://redflag.example.org")
    link = pending_member_with_a_link(server)
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    console = Console(context)
    page: Page = context.new_page()
    try:
        page.goto(link)
        console.settle(page)
        expect(page.locator("h1")).to_have_text("Ask to be verified")
        page.fill("#evidence", EVIDENCE)
        page.fill("#link", "ads.example.net/windows/groningen/4471-a-very-long-path-to-wrap")
        page.screenshot(path=shots / "apply-360.png", full_page=True)
        page.get_by_role("button", name="Send to the moderators").click()
        expect(page.locator("h1")).to_have_text("Thank you")
        console.settle(page)

        page.goto(f"{server.url}/mod")
        page.fill("#username", "alice")
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        console.settle(page)
        page.get_by_role("link", name="Applications").click()
        expect(page.locator("h1")).to_have_text("Applications")
        expect(page.locator("#applications")).to_contain_text(EVIDENCE)
        console.settle(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=shots / "mod-applications-360.png", full_page=True)
        page.once("dialog", lambda dialog: dialog.accept())  # "Verify member 1? ..."
        page.get_by_role("button", name="Verify").click()
        expect(page.locator(".notice")).to_contain_text("Verified")
        expect(page.locator("#applications")).to_have_count(0)
        console.settle(page)
    finally:
        context.close()
    assert console.problems == [], "\n".join(console.problems)
