"""The moderator's browser session, and rendering a page within it.

The session is a cookie holding the moderator's token (HttpOnly, SameSite=Strict, Secure
over https), renewed while the moderator is active and gone after 15 idle minutes. The
same login serves organisations' people at /org (organisations/web), so the cookie's path
is the whole site; an organisation's account is sent from /mod to /org.
Every form carries a CSRF token bound to the login session, and every POST must come
from this site (Origin / Sec-Fetch-Site).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app import tokens
from app.crypto import Crypto
from app.db import utcnow
from app.deps import MAX_ROW_ID, CryptoDep, SessionDep, SettingsDep
from app.errors import Forbidden, RedflagError
from app.settings import Settings
from app.web import Pages
from moderation import accounts, security
from moderation.models import Moderator, Role

COOKIE = "redflag_mod"
# Before logging in there is no session to bind a form to: the login form's CSRF token is
# bound to a random value in this cookie instead (SameSite=Strict: a forged form has none).
LOGIN_COOKIE = "redflag_mod_login"
LOGIN_COOKIE_SECONDS = 12 * 3600
COOKIE_PATH = "/"
# The one page a token with less than the full scope may use (besides logging out).
LIMITED_SCOPES = {security.SCOPE_TOTP_SETUP: "/mod/totp", security.SCOPE_PASSWORD: "/mod/password"}
# The /mod pages about one's own account, which organisations' people use too.
ACCOUNT_PAGES = {"/mod/totp", "/mod/password", "/mod/logout"}


def make_pages(settings: Settings) -> Pages:
    """The /mod pages' renderer, kept in app.state.mod_pages (read by `render` only)."""
    return Pages(
        settings,
        packages=("moderation", "organisations", "app"),
        css="mod.css",
        js="mod.js",
        connect_self=True,
    )


class SeeOther(RedflagError):
    """Sends the browser elsewhere (used for "log in first")."""

    status_code = 303

    def __init__(self, location: str, *, clear_cookie: bool = False) -> None:
        super().__init__("See other")
        self.response_headers = {"Location": location}
        if clear_cookie:
            self.response_headers["Set-Cookie"] = (
                f"{COOKIE}=; Max-Age=0; Path={COOKIE_PATH}; HttpOnly; SameSite=Strict"
            )


class FormRejected(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "This form has expired or did not come from this site: reload the page and try again."
        )


@dataclass
class ModSession:
    moderator: Moderator
    token: security.TokenClaims
    csrf: str
    renewed: tuple[str, int] | None

    @property
    def is_admin(self) -> bool:
        return self.moderator.role == Role.admin


def home_of(account: Moderator) -> str:
    """Where an account starts: organisations' people at /org, staff at /mod."""
    return "/org" if account.role == Role.organisation else "/mod"


def cookie_is_secure(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def set_cookie(response: Response, token: str, lifetime: int, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=lifetime,
        path=COOKIE_PATH,
        httponly=True,
        secure=cookie_is_secure(settings),
        samesite="strict",
    )


def same_origin(request: Request) -> bool:
    """Browsers say where a request comes from in Sec-Fetch-Site. Origin is a fallback
    only: under `Referrer-Policy: no-referrer` Chromium sends `Origin: null`."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in {"same-origin", "none"}
    origin = request.headers.get("origin")
    return origin in {None, "null"} or urlsplit(origin).netloc == request.headers.get("host")


def mod_session(request: Request, session: SessionDep, settings: SettingsDep) -> ModSession:
    token = request.cookies.get(COOKIE)
    if not token:
        raise SeeOther("/mod/login")
    try:
        claims = security.decode_token(token, settings)
    except tokens.InvalidToken:
        raise SeeOther("/mod/login", clear_cookie=True) from None
    moderator = accounts.get_signed_in(
        session, moderator_id=claims.moderator_id, token_version=claims.version
    )
    if moderator is None:  # deactivated, or the token was ended by a logout
        raise SeeOther("/mod/login", clear_cookie=True)
    limited_to = LIMITED_SCOPES.get(claims.scope)
    if claims.scope != security.SCOPE_FULL and request.url.path not in {limited_to, "/mod/logout"}:
        raise SeeOther(limited_to or "/mod/login", clear_cookie=limited_to is None)
    path = request.url.path
    staff_only = path.startswith("/mod") and path not in ACCOUNT_PAGES
    if moderator.role == Role.organisation and staff_only:
        raise SeeOther("/org")  # the role is read from the database: never the queue
    renewed = None
    if claims.expires_at - utcnow().timestamp() < settings.token_minutes * 30:  # past half-life
        renewed = security.token_for(
            moderator, settings=settings, scope=claims.scope, session_id=claims.session_id
        )
    return ModSession(moderator, claims, security.csrf_token(claims.session_id, settings), renewed)


ModSessionDep = Annotated[ModSession, Depends(mod_session)]


@dataclass(frozen=True)
class ModPage:
    """What a page about one alert or report needs to show itself again: the request, the
    moderator's session, and the database, crypto and settings to read it with."""

    request: Request
    ms: ModSession
    session: Session
    crypto: Crypto
    settings: Settings


def mod_page(
    request: Request,
    ms: ModSessionDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> ModPage:
    return ModPage(request, ms, session, crypto, settings)


ModPageDep = Annotated[ModPage, Depends(mod_page)]


def login_form_key(request: Request) -> str | None:
    """The value the login form's CSRF token is bound to, if the browser has one."""
    value = request.cookies.get(LOGIN_COOKIE, "")
    return value if len(value) == 32 and value.isalnum() else None


def login_form_ok(request: Request, presented: str, settings: Settings) -> bool:
    key = login_form_key(request)
    return (
        key is not None
        and same_origin(request)
        and security.csrf_ok(f"login:{key}", presented, settings)
    )


def set_login_cookie(response: Response, key: str, settings: Settings) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        key,
        max_age=LOGIN_COOKIE_SECONDS,
        path="/mod/login",
        httponly=True,
        secure=cookie_is_secure(settings),
        samesite="strict",
    )


async def posted_form(request: Request, ms: ModSessionDep, settings: SettingsDep) -> FormData:
    if not same_origin(request):
        raise FormRejected()
    form = await request.form()
    if not security.csrf_ok(ms.token.session_id, str(form.get("csrf_token", "")), settings):
        raise FormRejected()
    return form


FormDep = Annotated[FormData, Depends(posted_form)]


def render(
    request: Request,
    ms: ModSession | None,
    template: str,
    *,
    status: int = 200,
    lang: str = "en",  # the staff pages are in English; a printed digest is not
    **context: Any,
) -> HTMLResponse:
    pages: Pages = request.app.state.mod_pages
    response = pages.render(
        template,
        lang=lang,
        status_code=status,
        me=ms.moderator if ms else None,
        is_admin=ms.is_admin if ms else False,
        csrf=ms.csrf if ms else "",
        notice=request.query_params.get("done"),
        **context,
    )
    return _finish(response, ms, request.app.state.settings)


def redirect(request: Request, ms: ModSession, location: str) -> Response:
    return _finish(RedirectResponse(location, status_code=303), ms, request.app.state.settings)


R = TypeVar("R", bound=Response)


def _finish(response: R, ms: ModSession | None, settings: Settings) -> R:
    if ms is not None and ms.renewed is not None:
        set_cookie(response, *ms.renewed, settings)
    return response


def admin_only(ms: ModSession) -> None:
    """For the pages only admins may see (the role is read from the database)."""
    if not ms.is_admin:
        raise Forbidden("Only an admin can see this page.")


def row_id(value: object) -> int | None:
    """A form's row id; None for anything that is not one ("abc", -1, 10**20). A form that
    sends none gives 0, as no row is meant."""
    text = str(value or "0").strip()
    if not text.isascii() or not text.isdigit() or int(text) > MAX_ROW_ID:
        return None
    return int(text)
