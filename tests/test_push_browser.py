"""The site as an app in a real browser (Debian's Chromium) at a phone's width: the
install manifest resolves and parses, the service worker registers under the pages' own
policy, and the subscribe page offers notifications (or says they need JavaScript).

Headless Chromium has no push service to subscribe with, and none is faked here: the
whole way from a subscription to a decrypted notification is tests/test_push.py's (API,
worker and a fake push service). `make screenshots` (REDFLAG_SCREENSHOTS=1) writes
docs/screenshots/subscribe-push.png.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Page, expect

from app.i18n import catalog
from tests.conftest import LiveServer
from tests.test_console import PHONE, Console

pytestmark = pytest.mark.browser


@pytest.fixture
def server(make_live_server: Callable[..., LiveServer], vapid_keys: tuple[str, str]) -> LiveServer:
    return make_live_server(
        sms_provider="console",
        email_provider="console",
        vapid_private_key=vapid_keys[0],
        vapid_public_key=vapid_keys[1],
        vapid_subject="mailto:ops@example.org",
    )


def test_the_site_installs_and_registers_its_service_worker(
    server: LiveServer, browser: Any, shots: Path
) -> None:
    texts = catalog("en")
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="en-GB")
    console = Console(context)
    page: Page = context.new_page()
    try:
        page.goto(f"{server.url}/en/subscribe")
        console.settle(page)

        href = page.locator("link[rel=manifest]").get_attribute("href")
        assert href is not None
        answer = context.request.get(urljoin(page.url, href))
        assert answer.ok
        assert answer.headers["content-type"].startswith("application/manifest+json")
        manifest = answer.json()
        assert manifest["name"] == manifest["short_name"] == "Info", "discreet, not 'redflag'"
        assert manifest["start_url"] == "/"
        [icon] = manifest["icons"]
        picture = context.request.get(urljoin(page.url, icon["src"]))
        assert picture.ok and picture.headers["content-type"].startswith("image/svg+xml")

        registered = page.evaluate(
            """async () => {
                await navigator.serviceWorker.register("/sw.js");
                const ready = await navigator.serviceWorker.ready;
                return {scope: ready.scope, script: ready.active.scriptURL};
            }"""
        )
        assert registered == {"scope": f"{server.url}/", "script": f"{server.url}/sw.js"}
        # What Chromium itself says: the page, its manifest, the icon it loads under the
        # page's policy and the worker make an installable app.
        page.reload()
        console.settle(page)
        cdp = context.new_cdp_session(page)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        # A test's browser context is a private one, which never installs anything.
        assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []

        page.get_by_label(texts["subscribe.by_push"]).check()
        expect(page.locator("#push-status")).to_have_text(texts["push.hint"])
        expect(page.locator("#phone")).to_be_hidden()
        page.fill("#place", "Assen")
        page.screenshot(path=shots / "subscribe-push.png", full_page=True)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "nothing wider than the phone"
        assert console.problems == []
    finally:
        context.close()


def test_without_javascript_the_push_choice_says_it_needs_it(
    server: LiveServer, browser: Any
) -> None:
    texts = catalog("nl")
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="nl-NL")
    page: Page = context.new_page()
    try:
        page.goto(f"{server.url}/nl/subscribe")
        expect(page.locator("#push-status")).to_have_text(texts["push.needs_js"])
        page.get_by_label(texts["subscribe.by_push"]).check()
        page.fill("#place", "Assen")
        page.get_by_role("button", name=texts["subscribe.submit"]).click()
        expect(page.locator("#error-summary")).to_contain_text(texts["push.needs_js"])
    finally:
        context.close()
