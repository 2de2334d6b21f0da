"""/api/docs works without internet: Swagger UI comes from this server, under a strict CSP
(Debian's Chromium, every other host blocked)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.conftest import LiveServer
from tests.test_console import Console

pytestmark = pytest.mark.browser


def test_the_docs_show_every_operation_with_no_other_host_reachable(
    live_server: LiveServer, browser: Any, shots: Any
) -> None:
    own = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []

    def only_this_server(route: Any) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 360, "height": 740})
    console = Console(context)
    context.route("**/*", only_this_server)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/api/docs")
        page.locator(".opblock").first.wait_for()
        console.settle(page)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        page.screenshot(path=shots / "api-docs-360.png", full_page=False)
    finally:
        context.close()
    assert elsewhere == []
    assert console.problems == []
    assert any("/api/v1/reports" in p for p in paths), paths
    assert len(paths) >= 20, "every operation of the API"


def test_the_docs_page_allows_scripts_from_this_server_only(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert "<script>" not in page.text, "no inline script"
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "api-docs.js"):
        assert client.get(f"/api/docs/{asset}").status_code == 200, asset
    assert client.get("/api/docs/secrets.env").status_code == 404
    assert client.get("/api/redoc").status_code == 404, "no second docs page"
