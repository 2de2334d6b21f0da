"""The organisations' pages in a real browser: at a phone's width (360 px), and the digest
printed on A4. No console errors or CSP violations; screenshots (docs/screenshots/ with
REDFLAG_SCREENSHOTS=1)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from alerts import service as alerts_service
from app.crypto import Crypto
from app.db import make_engine
from moderation import accounts
from moderation.models import Role
from organisations import service
from tests.conftest import PASSWORD, LiveServer
from tests.helpers import log_in_page, publish_alert
from tests.test_console import PHONE, Console

pytestmark = pytest.mark.browser

A4 = {"width": 794, "height": 1123}  # CSS pixels at 96 dpi


def an_organisation_with_alerts(server: LiveServer) -> None:
    """Outreach Assen (Assen and the province of Drenthe), its person olga, three alerts."""
    crypto = Crypto.from_settings(server.settings)
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as session:
            admin = accounts.create(session, username="bob", password=PASSWORD, role=Role.admin)
            organisation = service.create(
                session, name="Outreach Assen", regions=["GM0106", "NL-DR"], admin=admin
            )
            assert organisation.id is not None
            service.add_person(
                session,
                organisation_id=organisation.id,
                username="olga",
                password=PASSWORD,
                admin=admin,
            )
            session.commit()
            first = publish_alert(
                session,
                crypto,
                ["GM0106"],
                severity="critical",
                text="Grey Volkswagen, about 40, bald. Took the money back with a knife.",
                identifiers=[("phone", "+31612345678"), ("plate", "XK-123-B")],
            )
            alerts_service.add_update(
                session, alert=first, text="Seen again near the station.", cipher=crypto.cipher
            )
            session.commit()
            publish_alert(session, crypto, ["NL-DR"], severity="medium", text="Asks for no condom.")
            publish_alert(
                session,
                crypto,
                ["GM0106"],
                severity="high",
                text="Books by WhatsApp, then does not pay.",
                identifiers=[("handle", "@lovely.anna.assen")],
            )
    finally:
        engine.dispose()


def log_in(page: Page, server: LiveServer) -> None:
    log_in_page(page, server, "olga")
    expect(page.locator("h1")).to_have_text("Outreach Assen")


def test_the_organisations_pages_at_a_phones_width(
    make_live_server: Callable[..., LiveServer], browser: Any, shots: Path
) -> None:
    server = make_live_server()
    an_organisation_with_alerts(server)
    context = browser.new_context(viewport=PHONE, locale="nl-NL")
    console = Console(context)
    page: Page = context.new_page()
    try:
        log_in(page, server)
        console.settle(page)
        page.get_by_role("button", name="New invite code").click()
        expect(page.locator("#new-invite")).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$"))
        console.settle(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=shots / "org-home-360.png", full_page=True)

        page.get_by_role("link", name="Digest").click()
        page.get_by_role("link", name="Nederlands").click()
        expect(page.locator("#digest h1")).to_have_text("Waarschuwingen voor Assen, Drenthe")
        expect(page.locator("#digest .digest-alert")).to_have_count(3)
        expect(page.locator("#digest")).to_contain_text("Seen again near the station.")
        console.settle(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=shots / "org-digest-360.png", full_page=True)
        assert console.problems == []
    finally:
        context.close()


def test_the_digest_prints_on_a4_without_the_screens_parts(
    make_live_server: Callable[..., LiveServer], browser: Any, shots: Path
) -> None:
    server = make_live_server()
    an_organisation_with_alerts(server)
    context = browser.new_context(viewport=A4, locale="en-GB")
    console = Console(context)
    page: Page = context.new_page()
    try:
        log_in(page, server)
        page.goto(f"{server.url}/org/digest?lang=es")
        console.settle(page)
        page.emulate_media(media="print")
        expect(page.locator("header.top")).to_be_hidden()
        expect(page.locator(".no-print")).to_be_hidden()
        expect(page.locator("#digest h1")).to_have_text("Avisos para Assen, Drenthe")
        assert page.evaluate("document.documentElement.scrollWidth") <= A4["width"]
        page.screenshot(path=shots / "org-digest-a4.png", full_page=True)
        pdf = page.pdf(format="A4", print_background=False)
        assert (
            pdf.startswith(b"%PDF")
            and pdf.count(b"/Type /Page\n")
            + pdf.count(b"/Type /Page>")
            + pdf.count(b"/Type /Page/")
            >= 1
        )
        assert console.problems == []
    finally:
        context.close()
