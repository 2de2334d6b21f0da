"""ASGI middleware: security headers, the body-size limit, compression, and an access log
without clients."""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("redflag.access")

# Every response: nothing cached on a shared phone, no referrer leaking where someone was.
SECURITY_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), browsing-topics=()",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
HSTS = "max-age=63072000; includeSubDomains"


class SecurityHeaders:
    """SECURITY_HEADERS (and HSTS) on every response, unless the route set its own."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        headers = {**SECURITY_HEADERS, **({"strict-transport-security": HSTS} if hsts else {})}
        self.raw = [(name.encode(), value.encode()) for name, value in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [h for h in self.raw if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


MAX_HEADER_BYTES = 16 * 1024  # uvicorn takes far more; a phone's browser sends about 1 KB


class BodyLimit:
    """Refuses bodies over `max_bytes` with 413, whether declared or streamed, and
    headers over MAX_HEADER_BYTES in all with 431. `respond(scope, status, detail)` makes
    the answer (JSON or a page: app.handlers.too_large_response)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        respond: Callable[[Scope, int, str], Response],
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if sum(len(name) + len(value) for name, value in scope["headers"]) > MAX_HEADER_BYTES:
            limit = f"Request headers too large: the limit is {MAX_HEADER_BYTES // 1024} KB"
            await self._refuse(scope, send, 431, limit)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, send)
            return

        received = 0
        too_large = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    return {"type": "http.disconnect"}  # the app stops reading here
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if too_large:
                return  # whatever the app says about a cut-off body is replaced below
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not response_started:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send, status: int = 413, detail: str = "") -> None:
        detail = detail or f"Request body too large: the limit is {self.max_bytes // 1024} KB"
        response = self.respond(scope, status, detail)
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def route_template(scope: Scope) -> str:
    """The matched route with its prefix, e.g. "/api/v1/reports/status": never the values.

    FastAPI resolves included routers lazily, so the route knows only its path below its
    router's prefix; the prefix is the part of the request path before where it matches.
    """
    route: Any = scope.get("route")
    template = getattr(route, "path", None)
    regex = getattr(route, "path_regex", None)
    if template is None or regex is None:
        return "(no route)"
    path: str = scope["path"]
    for i, char in enumerate(path):
        if char == "/" and regex.fullmatch(path[i:]):
            return path[:i] + template
    return str(template)


class AccessLog:
    """One line per request: method, route template, status, duration. No client, no query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            path = route_template(scope)
            elapsed_ms = (time.perf_counter() - started) * 1000
            access_log.info(
                "%s %s status=%s duration_ms=%.0f", scope["method"], path, status, elapsed_ms
            )


COMPRESSIBLE_TYPES = ("text/", "application/json", "text/javascript", "image/svg+xml")


class Compression:
    """gzip for what a browser fetches (GET), when it accepts gzip: the public pages, the
    API's answers, the docs. A page then loads in one round trip on a slow phone network.

    Against BREACH (a secret guessed from compressed sizes, the guesses sent by the victim's
    own browser), only what holds no secret that repeats is compressed:
    - never under /mod: the moderators' session cookie rides along and every form carries
      the session's CSRF token;
    - never an answer to a POST: it reflects what was posted beside a receipt code, a code,
      a contact or a token;
    - never a response that says `Cache-Control: no-transform`.
    The public GET pages carry no such secret: the report form's `form_token` is new random
    bytes in every response (nothing to guess across responses), and the links' tokens on
    the confirm and unsubscribe pages are in the URL the page was asked for.

    Bodies under `minimum_size` and streamed bodies (more than one message) go as they are.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        minimum_size: int = 1024,
        level: int = 6,
        never_under: tuple[str, ...] = ("/mod",),
        thread_above: int = 256 * 1024,  # compressing more than this would hold up the loop
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.level = level
        self.never_under = never_under
        self.thread_above = thread_above

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or any(_under(scope["path"], prefix) for prefix in self.never_under)
        ):
            await self.app(scope, receive, send)
            return
        accepted = accepts_gzip(Headers(scope=scope).get("accept-encoding", ""))
        held: Message | None = None

        async def compressing_send(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                held = message  # until the body shows whether it is worth compressing
                return
            if held is None:
                await send(message)
                return
            start, held = held, None
            headers = MutableHeaders(scope=start)
            if message["type"] == "http.response.body" and _compressible(start, headers):
                headers.add_vary_header("Accept-Encoding")
                body = message.get("body", b"")
                if accepted and not message.get("more_body") and len(body) >= self.minimum_size:
                    body = await self._compress(body)
                    headers["content-encoding"] = "gzip"
                    headers["content-length"] = str(len(body))
                    message = {**message, "body": body}
            await send(start)
            await send(message)

        await self.app(scope, receive, compressing_send)

    async def _compress(self, body: bytes) -> bytes:
        if len(body) > self.thread_above:
            return await anyio.to_thread.run_sync(self._gzip, body)
        return self._gzip(body)

    def _gzip(self, body: bytes) -> bytes:
        return gzip.compress(body, compresslevel=self.level, mtime=0)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _compressible(start: Message, headers: MutableHeaders) -> bool:
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    return (
        start["status"] not in {204, 206, 304}
        and "content-encoding" not in headers
        and "no-transform" not in headers.get("cache-control", "").lower()
        and media_type.startswith(COMPRESSIBLE_TYPES)
    )


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip: named (or `*`) with a quality above 0."""
    qualities: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding:
            qualities[coding.strip()] = quality
    return qualities.get("gzip", qualities.get("*", 0.0)) > 0
