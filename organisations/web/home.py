"""/org: the organisation's page, and invite codes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.deps import CryptoDep, SessionDep, SettingsDep
from app.errors import FieldError, InvalidInput
from app.i18n import LANGUAGE_NAMES
from app.regions import service as regions_service
from app.web import refuse
from moderation.web.session import FormDep
from organisations import service
from organisations.web.session import OrgSession, OrgSessionDep, render_org

router = APIRouter(prefix="/org")

NOTICES = {"totp": "Two-factor authentication is on.", "password": "Your password is changed."}


def _home(
    request: Request, org: OrgSession, session: SessionDep, *, status: int = 200, **context: Any
) -> HTMLResponse:
    codes = service.region_codes(session, org.organisation_id)
    return render_org(
        request,
        org,
        "org_home.html",
        status=status,
        section="home",
        regions=regions_service.names(session, codes),
        invites=service.invite_counts(session, org.organisation_id),
        notices=NOTICES,
        languages=list(LANGUAGE_NAMES.items()),
        **{"error": None, "new_invite": None, "alert_email_sent": False, **context},
    )


@router.get("")
def home(request: Request, org: OrgSessionDep, session: SessionDep) -> HTMLResponse:
    return _home(request, org, session)


@router.post("/invites")
def issue_invite(
    request: Request, org: OrgSessionDep, form: FormDep, session: SessionDep, crypto: CryptoDep
) -> HTMLResponse:
    """A new invite code, shown on this page once: it is stored as a keyed hash only."""
    try:
        days = _whole_number(str(form.get("valid_days", "")), field="valid_days")
        code, invite = service.issue_invite(
            session,
            organisation=org.organisation,
            person=org.ms.moderator,
            index=crypto.index,
            valid_days=days,
        )
    except InvalidInput as exc:
        refuse(_home(request, org, session, status=422, error=exc.message))
    return _home(request, org, session, new_invite={"code": code, "expires_at": invite.expires_at})


@router.post("/alert-email")
def alert_email(
    request: Request,
    org: OrgSessionDep,
    form: FormDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """The organisation's regions' alerts by email: a confirmation link goes to the address
    (the same answer whatever it is); alerts follow once it is opened."""
    language = str(form.get("language", "en"))
    try:
        if language not in LANGUAGE_NAMES:
            raise InvalidInput([FieldError(("language",), "invalid", "choose a language")])
        service.request_alert_email(
            session,
            organisation=org.organisation,
            person=org.ms.moderator,
            email=str(form.get("email", "")).strip(),
            language=language,
            crypto=crypto,
            settings=settings,
            limiter=request.app.state.limiter,
        )
    except InvalidInput as exc:
        refuse(_home(request, org, session, status=422, error=exc.message))
    return _home(request, org, session, alert_email_sent=True)


def _whole_number(typed: str, *, field: str) -> int:
    if not typed.strip().isdigit():
        raise InvalidInput([FieldError((field,), "not_a_number", "a whole number of days")])
    return int(typed)
