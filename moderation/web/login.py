"""Logging in and out of /mod, and setting up the second factor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.deps import CryptoDep, RateLimit, SessionDep, SettingsDep
from app.errors import Conflict, InvalidInput
from app.web import refuse
from moderation import accounts, audit, security
from moderation.web.session import (
    COOKIE,
    FormDep,
    FormRejected,
    ModSessionDep,
    cookie_is_secure,
    render,
    same_origin,
    set_cookie,
)

router = APIRouter(prefix="/mod")


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return render(request, None, "mod_login.html", error=None, username="")


@router.post("/login", dependencies=[Depends(RateLimit("login"))])
def login(
    request: Request,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=40)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    otp: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    if not same_origin(request):
        raise FormRejected()
    try:
        result = accounts.authenticate(
            session,
            username=username,
            password=password,
            otp=otp or None,
            settings=settings,
            cipher=crypto.cipher,
        )
    except accounts.LoginFailed as exc:
        page = render(
            request, None, "mod_login.html", status=401, error=exc.message, username=username
        )
        refuse(page, keeps_writes=True)  # the failure count and the audit entry stay
    scope = security.SCOPE_TOTP_SETUP if result.needs_totp_setup else security.SCOPE_FULL
    token, lifetime = security.issue_token(
        moderator_id=result.moderator.id or 0,
        role=result.moderator.role,
        settings=settings,
        scope=scope,
    )
    response = RedirectResponse("/mod/totp" if result.needs_totp_setup else "/mod", status_code=303)
    set_cookie(response, token, lifetime, settings)
    return response


@router.post("/logout")
def logout(request: Request, ms: ModSessionDep, form: FormDep, session: SessionDep) -> Response:
    audit.record(
        session,
        moderator_id=ms.moderator.id,
        action="logout",
        target_type="moderator",
        target_id=ms.moderator.id,
    )
    response = RedirectResponse("/mod/login", status_code=303)
    response.delete_cookie(
        COOKIE,
        path="/mod",
        httponly=True,
        samesite="strict",
        secure=cookie_is_secure(request.app.state.settings),
    )
    return response


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
    token, lifetime = security.issue_token(
        moderator_id=ms.moderator.id or 0,
        role=ms.moderator.role,
        settings=settings,
        session_id=ms.token.session_id,
    )
    response = RedirectResponse("/mod?done=totp", status_code=303)
    set_cookie(response, token, lifetime, settings)
    return response
