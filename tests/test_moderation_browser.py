"""Review, publish and approve entirely in a real browser (Debian's Chromium).

`make screenshots` (REDFLAG_SCREENSHOTS=1) writes the pictures in docs/screenshots/.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from app.crypto import Crypto
from app.db import make_engine
from app.i18n import catalog
from app.reports import service as reports_service
from app.reports.models import ReportCreate
from moderation import accounts
from moderation.models import Role
from tests.conftest import PASSWORD, LiveServer
from tests.helpers import add_sms_subscribers, publish_alert

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
STORY = (
    "My name is Anna, I work from home in Assen. He booked for an hour, then held me by the throat "
    "and took back the money. Call me on 06 11122233 if you need more."
)


def set_up(live_server: LiveServer) -> None:
    """Two moderators, and a few reports already waiting (less urgent than the one to come)."""
    crypto = Crypto.from_settings(live_server.settings)
    engine = make_engine(live_server.database_url)
    try:
        with Session(engine) as session:
            accounts.create(session, username="alice", password=PASSWORD, role=Role.moderator)
            accounts.create(session, username="bob", password=PASSWORD, role=Role.admin)
            for region, categories in [
                ("GM0363", ["fake_booking"]),
                ("GM0599", ["threats", "stalking"]),
            ]:
                data = ReportCreate.model_validate(
                    {"region": region, "incident_date": date.today(), "part_of_day": "night",
                     "categories": categories, "perpetrator": {"phones": ["+61 491 570 157"]}}
                )  # fmt: skip
                reports_service.submit(session, data=data, crypto=crypto, default_region="NL")
            session.commit()
    finally:
        engine.dispose()


def report_from_a_phone(browser: Any, base: str) -> tuple[Any, str]:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(f"{base}/en/")
    page.locator("#place").press_sequentially("Assen", delay=10)
    page.fill("#incident_date", date.today().isoformat())
    page.locator("input[name=part_of_day][value=evening]").check()
    page.locator("input[name=categories][value=physical_violence]").check()
    page.locator("input[name=categories][value=robbery]").check()
    page.fill("#what_happened", STORY)
    page.fill("#phones", "06 12345678")
    page.get_by_role("button", name=catalog("en")["report.submit"]).click()
    return context, page.locator("#receipt-code").inner_text()


def log_in(browser: Any, base: str, username: str) -> tuple[Any, Page]:
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(f"{base}/mod")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_contain_text("Queue")
    return context, page


def test_a_report_is_reviewed_published_and_approved_in_the_browser(
    live_server: LiveServer, browser: Any, shots: Path
) -> None:
    base = live_server.url
    set_up(live_server)
    reporter, code = report_from_a_phone(browser, base)

    alice_context, alice = log_in(browser, base, "alice")
    expect(alice.locator("#queue tbody tr")).to_have_count(3)
    expect(alice.locator("#queue")).not_to_contain_text("throat")
    alice.screenshot(path=shots / "mod-queue.png")

    alice.locator("#review-next").click()
    expect(alice.locator("h1")).to_contain_text("Report #")
    flagged = alice.locator("#report-text mark.flag")
    expect(alice.locator('#report-text mark.flag[data-kind="name"]')).to_have_text("Anna")
    expect(alice.locator('#report-text mark.flag[data-kind="phone"]')).to_have_text("06 11122233")
    assert flagged.count() >= 2
    text = alice.locator("#text")
    assert "Anna" not in text.input_value() and "11122233" not in text.input_value()

    text.fill("Held a worker by the throat and took the money back. Booked by phone for an hour.")
    alice.select_option("#severity", "critical")
    alice.fill("#extra_regions", "Groningen (province)")  # picked from the list of names
    alice.locator("#extra_regions").dispatch_event("change")
    expect(alice.locator('#region-checks input[value="NL-GR"]')).to_be_checked()
    expect(alice.locator("#extra_regions")).to_have_value("")
    expect(alice.locator('#preview .sms[data-lang="en"]')).to_contain_text("Assen, Groningen")
    # The live preview (JavaScript under the page's CSP) shows exactly what goes out.
    expect(alice.locator('#preview .sms[data-lang="en"]')).to_contain_text("redflag URGENT DANGER")
    expect(alice.locator('#preview .sms[data-lang="es"]')).to_contain_text("PELIGRO URGENTE")
    expect(alice.locator("#preview")).to_contain_text("Held a worker by the throat")
    expect(alice.locator("#preview")).to_contain_text("A second moderator must approve")
    alice.screenshot(path=shots / "mod-review.png", full_page=True)
    questions: list[str] = []
    alice.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    alice.locator("#publish").click()
    expect(alice.locator("#alert-status")).to_have_text("pending approval")
    assert questions == [
        "Publish this alert? A second moderator must approve it; then it goes to 0 subscribers."
        " 9 languages without a text of their own get the written text:"
        " NL (no subscribers), EN (no subscribers), ES (no subscribers), RO (no subscribers),"
        " BG (no subscribers), HU (no subscribers), PL (no subscribers), PT (no subscribers),"
        " TH (no subscribers)."
    ], "asked first, with what the live preview found"
    ref = alice.locator("h1").inner_text().split()[0]
    expect(alice.locator("main")).to_contain_text("a colleague must approve it")

    bob_context, bob = log_in(browser, base, "bob")
    expect(bob.locator(".warn")).to_contain_text(ref)
    bob.get_by_role("link", name="Alerts").click()
    bob.get_by_role("link", name=ref).click()
    bob.once("dialog", lambda dialog: dialog.accept())
    bob.locator("#approve").click()
    expect(bob.locator("#alert-status")).to_have_text("published")
    expect(bob.locator(".notice")).to_have_text("Approved and published.")

    bob.get_by_role("link", name="Audit log").click()
    rows = bob.locator("#audit tbody tr")
    logged = [" ".join(rows.nth(i).inner_text().split()[3:]) for i in range(rows.count())]
    for step in [
        "alice login moderator",
        "alice report.claim report",
        "alice report.view report",
        "alice report.publish report",
        f"alice alert.submit_for_approval alert {ref}",
        f"bob alert.approve alert {ref}",
    ]:
        assert any(line.startswith(step) for line in logged), (step, logged)
    expect(bob.locator("#audit")).not_to_contain_text("throat")

    status = reporter.new_page()
    status.goto(f"{base}/en/status")
    status.fill("#receipt_code", code)
    status.get_by_role("button", name=catalog("en")["status.lookup"]).click()
    expect(status.locator("#report-status")).to_have_text(catalog("en")["status.state.published"])
    for context in (reporter, alice_context, bob_context):
        context.close()


def test_update_and_retract_ask_first_with_javascript_and_without(
    live_server: LiveServer, browser: Any, shots: Path
) -> None:
    """Cancelling the dialog sends nothing; accepting it does. Without JavaScript a page
    asks the same question. Both on an alert's page at a phone's width."""
    base = live_server.url
    set_up(live_server)
    crypto = Crypto.from_settings(live_server.settings)
    engine = make_engine(live_server.database_url)
    try:
        with Session(engine) as session:
            add_sms_subscribers(session, crypto, 3)
            ref = publish_alert(session, crypto).ref
            other = publish_alert(session, crypto, text="Threatened a worker.").ref
    finally:
        engine.dispose()

    context, bob = log_in(browser, base, "bob")
    bob.set_viewport_size(PHONE)
    bob.goto(f"{base}/mod/alerts/{ref}")
    expect(bob.locator('#deliveries tr[data-channel="sms"] td').nth(1)).to_have_text("3")
    bob.screenshot(path=shots / "mod-alert-360.png", full_page=True)
    asked: list[str] = []

    def answer(accept: bool) -> None:
        def handle(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        bob.once("dialog", handle)

    bob.locator("summary", has_text="Send an update").click()
    bob.fill("#update-text", "Seen again in a grey van.")
    answer(accept=False)
    bob.locator("#send-update").click()
    assert asked == [
        f"Send this update on {ref}? It goes to 3 recipients of the alert, in their language;"
        " it cannot be unsent."
    ]
    expect(bob.locator("#update-text")).to_have_value("Seen again in a grey van.")
    expect(bob.locator(".update")).to_have_count(0)
    answer(accept=True)
    bob.locator("#send-update").click()
    expect(bob.locator(".notice")).to_contain_text("The update is on its way")
    expect(bob.locator(".update")).to_contain_text("Seen again in a grey van.")

    bob.locator("summary", has_text="Retract").click()
    bob.fill("#reason", "The number was wrong.")
    answer(accept=False)
    bob.locator("#retract").click()
    assert asked[-1].startswith(f"Retract alert {ref}? ")
    expect(bob.locator("#alert-status")).to_have_text("published")
    answer(accept=True)
    bob.locator("#retract").click()
    expect(bob.locator("#alert-status")).to_have_text("retracted")
    context.close()

    no_js = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = no_js.new_page()
    page.goto(f"{base}/mod")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/mod/alerts/{other}")
    page.locator("summary", has_text="Retract").click()
    page.fill("#reason", "A mistake.")
    page.locator("#retract").click()
    expect(page.locator("h1")).to_have_text(f"Retract alert {other}?")
    expect(page.locator("#confirm-detail")).to_have_text(
        "Nobody has received it yet: this cancels 3 messages not sent yet."
        " It cannot be published again."
    )
    page.screenshot(path=shots / "mod-confirm-360.png", full_page=True)
    page.locator("#cancel").click()
    expect(page.locator("#alert-status")).to_have_text("published")
    page.locator("summary", has_text="Retract").click()
    page.fill("#reason", "A mistake.")
    page.locator("#retract").click()
    page.locator("#confirm").click()
    expect(page.locator("#alert-status")).to_have_text("retracted")
    expect(page.locator(".notice")).to_have_text("Retracted.")
    no_js.close()
