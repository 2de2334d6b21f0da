"""An admin manages organisations at /mod/organisations in a real browser at a phone's width
(360 px): no console errors or CSP violations, nothing wider than the screen, and a
screenshot (docs/screenshots/ with REDFLAG_SCREENSHOTS=1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from app.db import make_engine
from moderation import accounts
from moderation.models import Role
from organisations import service
from tests.conftest import PASSWORD, LiveServer
from tests.test_console import PHONE, Console

pytestmark = pytest.mark.browser


def an_admin_and_an_organisation(server: LiveServer) -> None:
    """The admin bob, and one organisation already working in Assen with its person olga."""
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as session:
            bob = accounts.create(session, username="bob", password=PASSWORD, role=Role.admin)
            outreach = service.create(session, name="Outreach Assen", regions=["GM0106"], admin=bob)
            service.add_person(
                session,
                organisation_id=outreach.id or 0,
                username="olga",
                password=PASSWORD,
                admin=bob,
            )
            session.commit()
    finally:
        engine.dispose()


def test_an_admin_creates_an_organisation_and_adds_a_person_at_a_phones_width(
    live_server: LiveServer, browser: Any, shots: Path
) -> None:
    an_admin_and_an_organisation(live_server)
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    console = Console(context)
    page: Page = context.new_page()
    try:
        page.goto(f"{live_server.url}/mod")
        page.fill("#username", "bob")
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("h1")).to_contain_text("Queue")
        console.settle(page)
        page.get_by_role("link", name="Organisations").click()
        expect(page.locator("h1")).to_have_text("Organisations")
        console.settle(page)

        page.fill("#new-name", "GGD Groningen")
        page.fill("#new-regions", "Groningen (province), Emmen")
        page.get_by_role("button", name="Create").click()
        expect(page.locator(".notice")).to_contain_text("Organisation created")
        console.settle(page)
        created = page.locator("#organisations > li", has_text="GGD Groningen")
        expect(created).to_contain_text("Regions: Emmen, Groningen")
        expect(created).to_contain_text("People: none yet")

        created.get_by_text("Add a person").click()
        created.get_by_label("Username").fill("greet")
        created.get_by_label("Password").fill(PASSWORD)
        created.get_by_role("button", name="Add person").click()
        expect(page.locator(".notice")).to_contain_text("Person added")
        console.settle(page)
        created = page.locator("#organisations > li", has_text="GGD Groningen")
        expect(created).to_contain_text("People (1 active): greet")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=shots / "mod-organisations-360.png", full_page=True)

        questions: list[str] = []
        page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
        created.get_by_role("button", name="Deactivate").click()
        expect(page.locator(".notice")).to_contain_text("Organisation deactivated")
        console.settle(page)
        assert questions and questions[0].startswith("Deactivate GGD Groningen?")
        created = page.locator("#organisations > li", has_text="GGD Groningen")
        expect(created).to_contain_text("greet (inactive)")
        expect(created.get_by_role("button", name="Activate")).to_be_visible()
    finally:
        context.close()
    assert console.problems == [], "\n".join(console.problems)
