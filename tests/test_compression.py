"""Public pages come compressed when the browser takes gzip; nothing that holds a secret
that repeats (moderators' pages, answers to posts) ever is (BREACH)."""

from __future__ import annotations

import gzip
import re

import pytest
from fastapi.testclient import TestClient

from app.middleware import accepts_gzip
from tests.helpers import report_body

GZIP = {"accept-encoding": "gzip, deflate, br"}
ONE_ROUND_TRIP = 14 * 1024  # ten TCP segments: what a server sends before the first ACK


def raw(
    client: TestClient, method: str, path: str, **kwargs: object
) -> tuple[bytes, dict[str, str], int]:
    """The body as it crossed the wire (httpx would decompress it), its headers and the
    size of the status line and headers."""
    with client.stream(method, path, **kwargs) as response:  # type: ignore[arg-type]
        body = b"".join(response.iter_raw())
        head = len(f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n") + sum(
            len(name) + len(value) + 4 for name, value in response.headers.raw
        )
        return body, dict(response.headers), head + 2


@pytest.mark.parametrize("path", ["/nl/", "/nl/report", "/en/", "/es/report"])
def test_the_report_form_arrives_compressed_in_one_round_trip(
    client: TestClient, path: str
) -> None:
    body, headers, head = raw(client, "GET", path, headers=GZIP)
    assert headers["content-encoding"] == "gzip"
    assert "accept-encoding" in headers["vary"].lower()
    page = gzip.decompress(body).decode()
    assert 'name="what_happened"' in page
    assert head + len(body) < ONE_ROUND_TRIP, f"{head} + {len(body)} bytes"


def test_a_token_on_a_compressed_page_is_new_in_every_response(client: TestClient) -> None:
    tokens = []
    for _ in range(3):
        body, headers, _head = raw(client, "GET", "/en/report", headers=GZIP)
        assert headers["content-encoding"] == "gzip"
        match = re.search(r'name="form_token" value="([^"]+)"', gzip.decompress(body).decode())
        assert match
        tokens.append(match.group(1))
    assert len(set(tokens)) == 3, "a token repeated across responses could be guessed (BREACH)"
    assert all(len(token) >= 32 for token in tokens)


def test_moderators_pages_are_never_compressed(client: TestClient) -> None:
    body, headers, _head = raw(client, "GET", "/mod/login", headers=GZIP)
    assert len(body) > 1024, "big enough to be worth compressing"
    assert "content-encoding" not in headers
    assert 'name="csrf_token"' in body.decode()


def test_answers_to_posts_are_never_compressed(client: TestClient) -> None:
    code = client.post("/api/v1/reports", json=report_body()).json()["receipt_code"]
    body, headers, _head = raw(
        client, "POST", "/en/status", data={"receipt_code": code}, headers=GZIP
    )
    assert len(body) > 1024
    assert "content-encoding" not in headers
    assert code in body.decode(), "the status page carries the receipt code"


@pytest.mark.parametrize("accept", ["", "identity", "gzip;q=0", "br", "*;q=0", "deflate"])
def test_a_browser_that_does_not_take_gzip_gets_the_page_plain(
    client: TestClient, accept: str
) -> None:
    body, headers, _head = raw(client, "GET", "/en/", headers={"accept-encoding": accept})
    assert "content-encoding" not in headers
    assert 'name="what_happened"' in body.decode()
    assert "accept-encoding" in headers["vary"].lower(), "a cache must not mix the two"


def test_small_answers_go_as_they_are(client: TestClient) -> None:
    body, headers, _head = raw(client, "GET", "/healthz", headers=GZIP)
    assert body == b'{"status":"ok"}'
    assert "content-encoding" not in headers


def test_reading_accept_encoding() -> None:
    assert accepts_gzip("gzip")
    assert accepts_gzip("deflate, GZIP;q=0.5")
    assert accepts_gzip("*")
    assert accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1")
    assert not accepts_gzip("")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("gzip;q=0.000, *")
    assert not accepts_gzip("*;q=0")
    assert not accepts_gzip("br, deflate")
    assert not accepts_gzip("gzip;q=nonsense")


def test_a_response_marked_no_transform_or_streamed_goes_as_it_is() -> None:
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, StreamingResponse
    from starlette.routing import Route

    from app.middleware import Compression

    page = "<p>" + "a secret that repeats " * 200 + "</p>"

    def marked(request: object) -> HTMLResponse:
        return HTMLResponse(page, headers={"cache-control": "no-store, no-transform"})

    def plain(request: object) -> HTMLResponse:
        return HTMLResponse(page)

    def streamed(request: object) -> StreamingResponse:
        return StreamingResponse(iter([page.encode(), page.encode()]), media_type="text/html")

    app = Starlette(
        routes=[Route("/marked", marked), Route("/plain", plain), Route("/streamed", streamed)]
    )
    with TestClient(Compression(app)) as client:
        for path, compressed in [("/marked", False), ("/streamed", False), ("/plain", True)]:
            body, headers, _head = raw(client, "GET", path, headers=GZIP)
            assert ("content-encoding" in headers) is compressed, path
            assert (gzip.decompress(body) if compressed else body).startswith(page.encode())
