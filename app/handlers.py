"""Turning errors into responses: JSON under /api, a short translated page elsewhere.

No response ever repeats what was submitted. FastAPI's own validation errors include
the offending input; here only the field, the kind of problem and a message remain.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Scope

from app.errors import InvalidInput, RateLimited, RedflagError
from app.i18n import LANGUAGES, Translator, negotiate
from app.middleware import SECURITY_HEADERS
from app.web import FormRefused

_PAGE_MESSAGES = {
    404: "error.page_not_found",
    405: "error.page_not_found",
    413: "error.too_large",
    431: "error.too_large",
    422: "error.unstorable",
    429: "error.rate_limited",
    503: "error.unavailable",
}
UNAVAILABLE = (
    "The service cannot reach its database for a moment. Nothing was saved; try again in a minute."
)
UNSTORABLE = (
    "A value in the request cannot be stored: too long, too large, or holding a character"
    " such as NUL. Nothing was saved."
)
log = logging.getLogger("redflag.errors")


def _is_api(path: str) -> bool:
    return path.startswith("/api/") or path in {"/healthz", "/readyz", "/metrics"}


def _language(path: str, accept_language: str | None) -> str:
    first = path.strip("/").split("/", 1)[0]
    return first if first in LANGUAGES else negotiate(accept_language)


def _page(app: Any, path: str, accept_language: str | None, status: int) -> Response:
    lang = _language(path, accept_language)
    _ = Translator(lang)
    return app.state.pages.message(  # type: ignore[no-any-return,unused-ignore]
        lang=lang,
        title=_("error.title"),
        message=_(_PAGE_MESSAGES.get(status, "error.server")),
        status_code=status,
    )


def _respond(
    request: Request, status: int, detail: Any, headers: dict[str, str] | None = None
) -> Response:
    if _is_api(request.url.path):
        response: Response = JSONResponse({"detail": detail}, status_code=status)
    else:
        response = _page(
            request.app, request.url.path, request.headers.get("accept-language"), status
        )
    response.headers.update(headers or {})
    return response


async def redflag_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RedflagError)
    detail: Any = exc.message
    if isinstance(exc, InvalidInput):
        detail = [e.as_json() for e in exc.errors]
    headers = dict(exc.response_headers)
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return _respond(request, exc.status_code, detail, headers)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not _is_api(request.url.path):
        return _respond(request, 404, "Not Found")  # e.g. /xx/report: no such language
    content_type = request.headers.get("content-type", "")
    body_not_json = any(
        tuple(e["loc"]) == ("body",) and e["type"] == "model_attributes_type" for e in exc.errors()
    )
    if body_not_json and "json" not in content_type.lower():
        return JSONResponse(
            {"detail": "This API takes JSON: send the body with Content-Type: application/json."},
            status_code=415,
        )
    detail = []
    for error in exc.errors():
        loc = list(error["loc"])
        field = ".".join(str(p) for p in loc[1:]) or str(loc[0])
        detail.append(
            {"loc": loc, "field": field, "type": error["type"], "msg": f"{field}: {error['msg']}"}
        )
    return JSONResponse({"detail": detail}, status_code=422)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    if exc.status_code == 400 and detail == "There was an error parsing the body":
        detail = "The body could not be read: it must be JSON (or a form) in UTF-8."
    return _respond(request, exc.status_code, detail, dict(exc.headers or {}))


async def database_unavailable(request: Request, exc: Exception) -> Response:
    """The database is down, restarting or unreachable: a clear 503, never a stack trace.
    Nothing half-written stays: the request's transaction was rolled back."""
    assert isinstance(exc, DBAPIError)
    log.warning("database unavailable (%s); answered 503", _driver_error_name(exc))
    return _secured(_respond(request, 503, UNAVAILABLE, {"Retry-After": "30"}))


async def unstorable_value(request: Request, exc: Exception) -> Response:
    """The database refused a value the validation let through (a NUL character, a string
    longer than its column, a number out of range): the sender's problem, nothing kept."""
    assert isinstance(exc, DataError)
    log.info("a value could not be stored (%s); answered 422", _driver_error_name(exc))
    problem = {"loc": ["body"], "field": "body", "type": "unstorable_value", "msg": UNSTORABLE}
    return _respond(request, 422, [problem])  # the shape of every other 422


def _driver_error_name(exc: Exception) -> str:
    """The class of the driver's error (never its message, which may quote values)."""
    return type(exc.orig if isinstance(exc, DBAPIError) else exc).__name__


def is_unavailable(exc: BaseException) -> bool:
    """An error of the database's reachability, not of the statement."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


async def server_error(request: Request, exc: Exception) -> Response:
    if is_unavailable(exc):
        return await database_unavailable(request, exc)
    # Outside the other middleware, so the security headers are added here. uvicorn logs
    # the traceback through the redacting formatter (app/logs.py).
    return _secured(_respond(request, 500, "Internal error. Nothing was saved; please try again."))


def _secured(response: Response) -> Response:
    """The security headers, on an answer given from outside the middleware that adds them."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def too_large_response(scope: Scope, status: int, detail: str) -> Response:
    """413 (body) or 431 (headers), before the app has seen the request."""
    path = scope.get("path", "")
    if _is_api(path):
        return JSONResponse({"detail": detail}, status_code=status)
    accept = dict(scope.get("headers") or []).get(b"accept-language", b"").decode("latin-1")
    return _page(scope["app"], path, accept, status)


async def form_refused(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FormRefused)
    return exc.response


async def client_gone(_request: Request, _exc: Exception) -> Response:
    """The client went away before its request was read (a page left while a preview was on
    its way): nobody will read the answer, nothing was done, and it is not an error."""
    log.info("a client went away before its request was read; nothing was done")
    return Response(status_code=400)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ClientDisconnect, client_gone)
    app.add_exception_handler(FormRefused, form_refused)
    app.add_exception_handler(RedflagError, redflag_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DataError, unstorable_value)
    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(InterfaceError, database_unavailable)
    app.add_exception_handler(Exception, server_error)
