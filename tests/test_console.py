"""Every page of the demo flow, in a real browser (Debian's Chromium): none logs a console
error, throws, or breaks its own Content-Security-Policy (an inline `style=""` does, and
loses its layout with it). Public pages at a phone's width, /mod at a laptop's.

Screenshots of the queue, review and alert pages are left in the test's tmp_path, or in
docs/screenshots/ with REDFLAG_SCREENSHOTS=1.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from app.db import make_engine
from app.i18n import catalog
from moderation import accounts
from moderation.models import Role
from tests.conftest import PASSWORD, LiveServer
from tests.helpers import code_sent_by

PHONE = {"width": 360, "height": 740}
LAPTOP = {"width": 1280, "height": 900}
TEXTS = catalog("en")
MEMBER = "+31612340055"
ROOT = Path(__file__).resolve().parent.parent
# Emails are not pages: mail clients need inline styles, and no CSP applies to them.
PAGE_TEMPLATES = [
    path
    for folder in ("app", "alerts", "moderation")
    for path in sorted((ROOT / folder / "templates").glob("*.html"))
    if not path.name.startswith("email_")
]

# Reports each CSP violation to Python; an init script runs before the page's own, and a
# binding is not subject to the page's CSP.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolation(e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


class Console:
    """What went wrong in a browser context's pages: console errors, uncaught exceptions
    and CSP violations, each with the path of the page it happened on."""

    def __init__(self, context: Any) -> None:
        self.problems: list[str] = []
        self.visited: list[str] = []
        context.expose_binding("__cspViolation", self._violation)
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("console", self._message)
        context.on("weberror", lambda error: self.problems.append(f"uncaught: {error.error}"))

    def _violation(self, source: dict[str, Any], what: str) -> None:
        self.problems.append(f"{path_of(source['page'].url)}: CSP {what}")

    def _message(self, message: Any) -> None:
        if message.type == "error":
            where = path_of(message.page.url) if message.page else "?"
            self.problems.append(f"{where}: {message.text}")

    def settle(self, page: Page) -> None:
        """Wait until the page has loaded and its queued events have fired, then note it."""
        page.wait_for_load_state("load")
        page.evaluate("() => new Promise((done) => setTimeout(done))")
        self.visited.append(path_of(page.url))


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.fixture
def contexts(browser: Any) -> Iterator[Callable[[dict[str, int]], tuple[Page, Console]]]:
    opened: list[Any] = []

    def open_page(viewport: dict[str, int]) -> tuple[Page, Console]:
        context = browser.new_context(viewport=viewport, locale="en-GB")
        opened.append(context)
        console = Console(context)
        return context.new_page(), console

    yield open_page
    for context in opened:
        context.close()


def add_moderators(sending_server: LiveServer) -> None:
    engine = make_engine(sending_server.database_url)
    try:
        with Session(engine) as session:
            accounts.create(session, username="alice", password=PASSWORD, role=Role.moderator)
            accounts.create(session, username="bob", password=PASSWORD, role=Role.admin)
            session.commit()
    finally:
        engine.dispose()


def report(page: Page, console: Console, base: str) -> None:
    """Form, receipt, status."""
    page.goto(f"{base}/en/")
    console.settle(page)
    page.locator("#place").press_sequentially("Assen", delay=10)
    page.fill("#incident_date", date.today().isoformat())
    page.locator("input[name=part_of_day][value=evening]").check()
    page.locator("input[name=categories][value=physical_violence]").check()
    page.fill("#what_happened", "My name is Anna. He held me by the throat and took the money.")
    page.fill("#phones", "06 12345678")
    page.fill("#description", "About 40, grey jacket, dark blue car.")
    page.get_by_role("button", name=TEXTS["report.submit"]).click()
    expect(page.locator("h1")).to_have_text(TEXTS["receipt.title"])
    console.settle(page)
    code = page.locator("#receipt-code").inner_text()
    page.get_by_role("link", name=TEXTS["receipt.check"]).click()
    console.settle(page)
    page.fill("#receipt_code", code)
    page.get_by_role("button", name=TEXTS["status.lookup"]).click()
    expect(page.locator("#report-status")).to_be_visible()
    console.settle(page)


def log_in(page: Page, console: Console, base: str, username: str) -> None:
    page.goto(f"{base}/mod")
    console.settle(page)
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_contain_text("Queue")
    console.settle(page)


def publish(page: Page, console: Console, shots: Path) -> str:
    """Review, publish for approval; the alert's reference."""
    page.screenshot(path=shots / "console-queue.png", full_page=True)
    page.locator("#review-next").click()
    expect(page.locator("h1")).to_contain_text("Report #")
    console.settle(page)
    page.fill("#text", "Held a worker by the throat and took the money back.")
    page.select_option("#severity", "critical")
    expect(page.locator("#preview")).to_contain_text("A second moderator must approve")
    expect(page.locator("#preview")).to_contain_text("Held a worker by the throat")
    page.screenshot(path=shots / "console-review.png", full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())  # "Publish this alert? ..."
    page.locator("#publish").click()
    expect(page.locator("#alert-status")).to_have_text("pending approval")
    console.settle(page)
    return page.locator("h1").inner_text().split()[0]


def approve(page: Page, console: Console, ref: str, shots: Path) -> None:
    """Alerts, an alert's page (pending, then published), audit, moderators, members,
    applications, check watch, password."""
    page.get_by_role("link", name="Alerts").click()
    expect(page.locator("h1")).to_have_text("Alerts")
    console.settle(page)
    page.get_by_role("link", name=ref).click()
    console.settle(page)
    page.screenshot(path=shots / "console-alert-pending.png", full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#approve").click()
    expect(page.locator("#alert-status")).to_have_text("published")
    console.settle(page)
    page.screenshot(path=shots / "console-alert.png", full_page=True)
    for link, heading in [
        ("Audit log", "Audit"),
        ("Moderators", "Moderators"),
        ("Members", "Members"),
        ("Applications", "Applications"),
        ("Check watch", "Members checking many numbers"),
    ]:
        page.get_by_role("link", name=link).click()
        expect(page.locator("h1")).to_contain_text(heading)
        console.settle(page)
    page.get_by_title("Change your password").click()
    expect(page.locator("h1")).to_have_text("Your password")
    console.settle(page)
    page.goto(page.url.replace("/mod/password", "/mod/totp"))
    expect(page.locator("h1")).to_have_text("Two-factor authentication")
    console.settle(page)


def subscribe(
    page: Page, console: Console, base: str, sending_server: LiveServer, twilio: Any
) -> None:
    page.goto(f"{base}/en/subscribe")
    console.settle(page)
    page.fill("#phone", MEMBER)
    page.locator("#place").press_sequentially("Assen", delay=10)
    page.locator("h1").click()  # closes the town suggestions, as a finger would
    page.get_by_role("button", name=TEXTS["subscribe.submit"]).click()
    expect(page.locator("h1")).to_have_text(TEXTS["subscribe.code_title"])
    console.settle(page)
    page.fill("#code", code_sent_by(sending_server, twilio, MEMBER))
    page.get_by_role("button", name=TEXTS["subscribe.code_submit"]).click()
    expect(page.locator("h1")).to_have_text(TEXTS["subscribe.done_title"])
    console.settle(page)


def check(page: Page, console: Console, base: str, sending_server: LiveServer, twilio: Any) -> None:
    page.goto(f"{base}/en/check")
    console.settle(page)
    page.fill("#contact", MEMBER)
    page.get_by_role("button", name=TEXTS["check.login_submit"]).click()
    expect(page.locator("#code")).to_be_visible()
    console.settle(page)
    page.fill("#code", code_sent_by(sending_server, twilio, MEMBER))
    page.get_by_role("button", name=TEXTS["subscribe.code_submit"]).click()
    expect(page.locator("#number")).to_be_visible()
    console.settle(page)
    page.fill("#number", "06 1234 5678")
    page.get_by_role("button", name=TEXTS["check.submit"]).click()
    expect(page.locator("#check-result")).to_have_attribute("data-found", "yes")
    console.settle(page)


def leave(page: Page, console: Console, base: str, sending_server: LiveServer, twilio: Any) -> None:
    page.goto(f"{base}/en/leave")
    console.settle(page)
    page.fill("#contact", MEMBER)
    page.get_by_role("button", name=TEXTS["leave.submit"]).click()
    expect(page.locator("#code")).to_be_visible()
    console.settle(page)
    page.fill("#code", code_sent_by(sending_server, twilio, MEMBER))
    page.get_by_role("button", name=TEXTS["leave.confirm"]).click()
    expect(page.locator("h1")).to_have_text(TEXTS["leave.done_title"])
    console.settle(page)


def test_no_page_template_has_an_inline_style_attribute() -> None:
    """The strict CSP blocks them; a page the demo flow does not reach would not show it."""
    assert len(PAGE_TEMPLATES) > 20
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in PAGE_TEMPLATES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\sstyle\s*=", line)
    ]
    assert found == []


@pytest.mark.browser
def test_no_page_of_the_demo_flow_logs_a_console_error(
    sending_server: LiveServer,
    contexts: Callable[[dict[str, int]], tuple[Page, Console]],
    twilio: Any,
    shots: Path,
) -> None:
    base = sending_server.url
    add_moderators(sending_server)
    phone, public = contexts(PHONE)
    report(phone, public, base)

    alice, mod = contexts(LAPTOP)
    log_in(alice, mod, base, "alice")
    ref = publish(alice, mod, shots)
    bob, admin = contexts(LAPTOP)
    log_in(bob, admin, base, "bob")
    approve(bob, admin, ref, shots)

    subscribe(phone, public, base, sending_server, twilio)
    check(phone, public, base, sending_server, twilio)
    leave(phone, public, base, sending_server, twilio)

    assert len(public.visited) == 14 and len(mod.visited) == 4 and len(admin.visited) == 12
    problems = public.problems + mod.problems + admin.problems
    assert problems == [], "\n".join(problems)
