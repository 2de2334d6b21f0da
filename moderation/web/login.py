"""Logging in and out of /mod, and setting up the second factor."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.deps import CryptoDep, RateLimit, SessionDep, SettingsDep
from app.errors import Conflict, FieldError, InvalidInput, RateLimited
from app.settings import Settings
from app.web import refuse
from moderation import accounts, security
from moderation.deps import LoginAttemptsDep
from moderation.models import Moderator
from moderation.web.session import (
    COOKIE,
    COOKIE_PATH,
    LIMITED_SCOPES,
    FormDep,
    FormRejected,
    ModSessionDep,
    cookie_is_secure,
    home_of,
    login_form_key,
    login_form_ok,
    render,
    set_cookie,
    set_login_cookie,
)

router = APIRouter(prefix="/mod")
TOO_MANY = "Too many wrong tries from here for this account: wait a while and try again."


@router.get("/login")
def login_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    key = login_form_key(request) or secrets.token_hex(16)
    response = _login_form(request, key, settings, status=200, error=None, username="")
    set_login_cookie(response, key, settings)
    return response


def _login_form(
    request: Request, key: str, settings: Settings, *, status: int, error: str | None, username: str
) -> HTMLResponse:
    return render(
        request,
        None,
        "mod_login.html",
        status=status,
        error=error,
        username=username,
        login_csrf=security.csrf_token(f"login:{key}", settings),
    )


@router.post("/login", dependencies=[Depends(RateLimit("login"))])
def login(
    request: Request,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    attempts: LoginAttemptsDep,
    username: Annotated[str, Form(max_length=40)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    otp: Annotated[str, Form(max_length=8)] = "",
    csrf_token: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    key = login_form_key(request)
    if key is None or not login_form_ok(request, csrf_token, settings):
        raise FormRejected()
    try:
        result = accounts.authenticate(
            session,
            username=username,
            password=password,
            otp=otp or None,
            settings=settings,
            cipher=crypto.cipher,
            attempts=attempts,
        )
    except accounts.LoginFailed as exc:
        page = _login_form(request, key, settings, status=401, error=exc.message, username=username)
        refuse(page, keeps_writes=True)  # the audit entries stay
    except RateLimited as exc:
        page = _login_form(request, key, settings, status=429, error=TOO_MANY, username=username)
        page.headers["Retry-After"] = str(exc.retry_after)
        refuse(page)
    return _signed_in(result.moderator, result.scope, settings, done=None)


def _signed_in(
    moderator: Moderator, scope: str, settings: Settings, *, done: str | None
) -> Response:
    """A new session cookie, and on to the one page the scope allows (or the queue)."""
    token, lifetime = security.token_for(moderator, settings=settings, scope=scope)
    home = home_of(moderator)
    location = LIMITED_SCOPES.get(scope) or (f"{home}?done={done}" if done else home)
    response = RedirectResponse(location, status_code=303)
    set_cookie(response, token, lifetime, settings)
    return response


@router.post("/logout")
def logout(request: Request, ms: ModSessionDep, form: FormDep, session: SessionDep) -> Response:
    """Ends every token of the account, so a copied cookie is worthless after this."""
    accounts.log_out(session, moderator=ms.moderator)
    response = RedirectResponse("/mod/login", status_code=303)
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=cookie_is_secure(request.app.state.settings),
    )
    return response


@router.get("/password")
def password_page(request: Request, ms: ModSessionDep) -> HTMLResponse:
    return render(request, ms, "mod_password.html", error=None)


@router.post("/password", dependencies=[Depends(RateLimit("login"))])
def change_password(
    request: Request,
    ms: ModSessionDep,
    form: FormDep,
    session: SessionDep,
    settings: SettingsDep,
    attempts: LoginAttemptsDep,
) -> Response:
    """Ends every token of the account (other devices too); this browser gets a new one.
    Wrong current passwords count like failed logins (accounts.change_password)."""
    new = str(form.get("new_password", ""))
    try:
        if new != str(form.get("confirm_password", "")):
            raise InvalidInput(
                [FieldError(("confirm_password",), "mismatch", "the new passwords differ")]
            )
        accounts.change_password(
            session,
            moderator=ms.moderator,
            current=str(form.get("current_password", "")),
            new=new,
            attempts=attempts,
        )
    except InvalidInput as exc:
        page = render(request, ms, "mod_password.html", status=422, error=exc.message)
        refuse(page, keeps_writes=exc.keeps_writes)  # a wrong password stays audited
    except RateLimited as exc:
        page = render(request, ms, "mod_password.html", status=429, error=TOO_MANY)
        page.headers["Retry-After"] = str(exc.retry_after)
        refuse(page)
    scope = accounts.token_scope(ms.moderator, settings=settings)
    return _signed_in(ms.moderator, scope, settings, done="password")


@router.get("/totp")
def totp_page(
    request: Request, ms: ModSessionDep, session: SessionDep, crypto: CryptoDep
) -> HTMLResponse:
    secret = None
    if not ms.moderator.totp_confirmed:
        secret = accounts.begin_totp_setup(session, moderator=ms.moderator, cipher=crypto.cipher)
    return render(
        request,
        ms,
        "mod_totp.html",
        secret=secret,
        uri=security.totp_uri(secret, ms.moderator.username) if secret else None,
        error=None,
    )


@router.post("/totp")
def totp_confirm(
    request: Request,
    ms: ModSessionDep,
    form: FormDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> Response:
    try:
        accounts.confirm_totp(
            session, moderator=ms.moderator, code=str(form.get("code", "")), cipher=crypto.cipher
        )
    except (InvalidInput, Conflict) as exc:
        refuse(
            render(
                request, ms, "mod_totp.html", status=422, secret=None, uri=None, error=exc.message
            )
        )
    token, lifetime = security.token_for(
        ms.moderator, settings=settings, session_id=ms.token.session_id
    )
    response = RedirectResponse(f"{home_of(ms.moderator)}?done=totp", status_code=303)
    set_cookie(response, token, lifetime, settings)
    return response
