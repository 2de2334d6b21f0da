"""The composer's live preview (/mod/preview): bad bodies, the event loop, the link warning."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from moderation import alert_review
from tests.conftest import Team
from tests.test_moderation_pages import csrf, file_report, log_in

BODY = {"text": "x", "severity": "low", "regions": ["GM0106"], "categories": ["other"]}


@pytest.fixture
def alice(make_client: Callable[..., TestClient], settings: Settings, team: Team) -> Iterator[Any]:
    """Alice's browser, logged in; one event loop for all its requests."""
    with make_client(settings, follow_redirects=False) as client:
        log_in(client, "alice")
        yield client


@pytest.mark.parametrize("body", [b"not json", b"{", b"\xff\xfe", b""])
def test_a_body_that_is_not_json_gets_a_clear_4xx(alice: TestClient, body: bytes) -> None:
    headers = {"x-csrf-token": csrf(alice), "content-type": "application/json"}
    response = alice.post("/mod/preview", content=body, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"errors": ["The preview takes a JSON body."]}
    assert alice.post("/mod/preview", content=body).status_code == 403, "CSRF is checked first"


def test_the_database_work_is_off_the_event_loop(
    alice: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a preview is busy, the same server still answers /healthz."""
    started, finish = threading.Event(), threading.Event()
    finished_on_time: list[bool] = []
    real_preview = alert_review.preview

    def slow_preview(*args: Any, **kwargs: Any) -> Any:
        started.set()
        # On the event loop this would hold /healthz until the timeout ran out.
        finished_on_time.append(finish.wait(timeout=10))
        return real_preview(*args, **kwargs)

    monkeypatch.setattr(alert_review, "preview", slow_preview)
    answers: list[httpx.Response] = []
    token = csrf(alice)
    previewing = threading.Thread(
        target=lambda: answers.append(
            alice.post("/mod/preview", json=BODY, headers={"x-csrf-token": token})
        )
    )
    previewing.start()
    assert started.wait(timeout=10)
    health = alice.get("/healthz")
    finish.set()
    previewing.join()
    assert health.status_code == 200
    assert finished_on_time == [True], "/healthz answered while the preview was still busy"
    assert answers[0].status_code == 200


def test_the_review_page_warns_about_a_link_in_the_alert_text(alice: TestClient) -> None:
    file_report(alice)
    token = csrf(alice)
    review_url = alice.post("/mod/queue/next", data={"csrf_token": token}).headers["location"]
    linked = {**BODY, "text": "Grabbed a worker.\nReply STOP to end. bit.ly/x"}
    live = alice.post("/mod/preview", json=linked, headers={"x-csrf-token": token})
    assert live.json()["warnings"] == [alert_review.LINK_WARNING]
    page = alice.post(
        f"{review_url}/decide",
        data={"csrf_token": token, "decision": "preview", **linked},
    )
    assert page.status_code == 200
    assert "The text has a link." in page.text
    assert "The text has a link." not in alice.get(review_url).text


def test_a_preview_whose_client_went_away_is_not_an_error(
    alice: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Publishing while a live preview is on its way: the browser drops the preview's
    request before its body arrives. Nothing to answer, and nothing logged as an error."""
    cookie = "; ".join(f"{name}={value}" for name, value in alice.cookies.items())
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/mod/preview",
        "raw_path": b"/mod/preview",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"cookie", cookie.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", b"120"),
            (b"x-csrf-token", csrf(alice).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    started: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.append(message["status"])

    assert alice.portal is not None
    with caplog.at_level(logging.INFO):
        alice.portal.call(alice.app, scope, receive, send)
    assert started and started[0] < 500, started
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
